//! The `gilsim` command line: parses arguments and hands over to the library.

use clap::{Args, Parser, Subcommand};

/// `println!` that ignores a closed or full stdout (`| head -0`, `> /dev/full`):
/// the run's results are written by then, and a CLI must not panic there.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `eprintln!` that ignores a closed stderr.
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}
use gilsim::script::Limits;
use gilsim::support::interrupt::Interrupt;
use gilsim::RunOptions;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

const MAIN_EXAMPLES: &str = "\
Examples:
  gilsim run experiments/e4_convoy.rhai                 write out/e4_convoy/*.csv and manifest.json
  gilsim run sweep.rhai --jobs 2 --seed 7 --set threads=8
  gilsim check experiments/e4_convoy.rhai               parse, resolve imports, check calls; run nothing

Scripts are Rhai; the API is documented in docs/scripting.md.";

const RUN_EXAMPLES: &str = "\
Examples:
  gilsim run convoy.rhai                       outputs go to out/convoy/
  gilsim run convoy.rhai --out results/c1      outputs go to results/c1/
  gilsim run scaling.rhai --jobs 1 --seed 42   same CSV bytes as with any other --jobs
  gilsim run convoy.rhai --set interval=500us --set cores=4
      (the script reads them with param(\"interval\", ms(5)) and param(\"cores\", 2))
  gilsim run convoy.rhai --trace convoy.json   open convoy.json in ui.perfetto.dev
      (the trace of the script's first machine.run outside a sweep)
  gilsim run big.rhai --limit ops=1G --limit threads=500000
  gilsim run sweep.rhai --resume               after Ctrl-C: reuse the finished sweep runs
  gilsim run sweep.rhai --shard 2/8            only shard 2 of 8 of the first sweep's runs
      (into out/sweep.shard-2-of-8/; `gilsim merge` assembles the 8 shards; docs/cluster.md)

Outputs are written only when the whole script succeeds: each CSV, figure and
trace atomically, then manifest.json (script hash, seed, parameters, version,
wall time, files, findings).
Ctrl-C or SIGTERM stops the run: no output is written, manifest.json says
\"status\": \"interrupted\", and the sweep runs already finished stay in
<out>/.gilsim-journal/ for --resume.
Exit status: 0 on success, 1 if the script or a write failed, 2 on a usage error,
130 after Ctrl-C (SIGINT), 143 after SIGTERM.";

/// Help of `--limit`: every limit with its default (checked by tests/cli/cli.rs).
const LIMIT_HELP: &str = "\
Raise or lower a limit on what the script may do; repeatable. VALUE is a count:
digits, optionally with _ separators and a k, M or G suffix (2_000_000, 2M).
Each error caused by a limit names it. Limits and defaults:
  ops=100000000          script operations (a sweep point gets what is left)
  call-depth=64          nested function calls (at most 1000)
  expr-depth=64          nesting of expressions and blocks (at most 1000)
  string=1048576         bytes in one string
  array=1000000          items in one array (bytes in one BLOB)
  map=10000              properties in one map
  modules=256            modules imported
  threads=100000         threads in one program, pool workers included
  processes=10000        processes and interpreters in one program
  events=100000000       events of one machine.run (default and cap of max_events)
  trace-events=10000000  events in one trace (file or kept in memory)
  sweep-runs=1000000     runs of one sweep (points × replicates)
  script-time=600        seconds the script computes and compiles by itself (machine.run not counted)
  memory=2147483648      bytes the run holds in memory (tables, strings, prints, modules, models)";

const CHECK_EXAMPLES: &str = "\
Examples:
  gilsim check convoy.rhai
  for f in experiments/*.rhai; do gilsim check \"$f\" || exit 1; done

Checks that the script parses (variables must be declared before use), that
every `import \"...\"` resolves and compiles, and that every call matches the API:
function and method names (with \"did you mean\"), numbers of arguments, the option
keys of python(), machine() and plot(), and the columns of t.add(...) for a table
declared with literal columns. No code runs, not even a module's top-level code;
nothing is simulated and nothing is written.";

/// Simulate CPython's GIL, an OS scheduler, cores and I/O, scripted with Rhai.
#[derive(Parser)]
#[command(name = "gilsim", version, about, after_help = MAIN_EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment script: simulate, then write its CSV files, figures and manifest.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Check a script without running it: syntax, imports and every call against the API.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Run every experiment and write the report: out/report/index.html.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// Predict the measured CPython scenarios and write docs/validation.md.
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
    /// Measure the engine's speed on the canonical scenarios.
    #[command(after_help = BENCH_EXAMPLES)]
    Bench(BenchArgs),
    /// Assemble the outputs of a sharded sweep (`run --shard I/N`) from its shard folders.
    #[command(after_help = MERGE_EXAMPLES)]
    Merge(MergeArgs),
    /// Predict a traced program (python -m gilsim.trace) as threads, processes, free-threaded.
    #[command(after_help = WHATIF_EXAMPLES)]
    Whatif(WhatifArgs),
    /// Predict the traced real programs (issue 17) and write docs/own-programs.md.
    #[command(name = "validate-programs", after_help = VALIDATE_PROGRAMS_EXAMPLES)]
    ValidatePrograms(ValidateProgramsArgs),
}

const VALIDATE_PROGRAMS_EXAMPLES: &str = "\
Examples:
  gilsim validate-programs             regenerate docs/own-programs.md and docs/figures/own_programs.*

Predicts each program of calibration/measured/programs.json from its trace
(calibration/traces/programs/NAME.json) as k = 1, 2, 4 copies in threads and in spawned
processes, with the calibration profile measured in the same sitting, and compares.
The measurements come from calibration/measure_programs.py (calibration/README.md).";

#[derive(Args)]
struct ValidateProgramsArgs {
    /// The measured copies (written by calibration/measure_programs.py).
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/measured/programs.json"
    )]
    measured: PathBuf,
    /// The calibration profile measured in the same sitting.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/profiles/programs.json"
    )]
    profile: PathBuf,
    /// The folder of the programs' traces (NAME.json each).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "calibration/traces/programs"
    )]
    traces: PathBuf,
    /// The page written.
    #[arg(long, value_name = "FILE.md", default_value = "docs/own-programs.md")]
    out: PathBuf,
    /// The figure written, without extension (.svg and .png).
    #[arg(long, value_name = "PATH", default_value = "docs/figures/own_programs")]
    figure: PathBuf,
    /// Sweep workers [default: all cores]; the page does not depend on it.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    jobs: Option<u64>,
}

const WHATIF_EXAMPLES: &str = "\
Examples:
  python -m gilsim.trace -o app.json -- app.py      trace the program once, single-threaded
  gilsim whatif app.json                            outputs go to out/app-whatif/
  gilsim whatif app.json --cores 8 --out results/app --seed 3

Runs k = 1, 2, 4, 8 copies of the traced thread as threads (the traced switch interval,
1 ms, 20 ms), as spawned processes (with the measured start-up) and free-threaded, on
--cores cores [default: the tracing host's CPUs]. Writes whatif.csv (wall time, copies/s,
speed-up, GIL wait, CPU wait and blocked shares, core use), whatif_trace.csv (the trace's
totals against one simulated copy), two figures and manifest.json, whose findings (also
printed) say what limits each layout. Same bytes for any --jobs. docs/tracing.md.
Exit status: 0 on success, 1 if the trace is unusable or a write failed, 2 on a usage error.";

#[derive(Args)]
struct WhatifArgs {
    /// The trace (`python -m gilsim.trace -o FILE.json -- program.py`).
    #[arg(value_name = "TRACE.json")]
    trace: PathBuf,
    /// Output folder [default: out/<trace name>-whatif].
    #[arg(long, short, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Cores of the machine modelled [default: the tracing host's CPUs, or 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    cores: Option<u32>,
    /// Master seed of every random stream.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = seed_arg)]
    seed: u64,
    /// Worker threads for the runs [default: all cores]. Results do not depend on it.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    jobs: Option<u64>,
}

const MERGE_EXAMPLES: &str = "\
Examples:
  gilsim run sweep.rhai --shard 0/2 --out shards/0      (on one machine)
  gilsim run sweep.rhai --shard 1/2 --out shards/1      (on another, same seed and --set)
  gilsim merge shards/0 shards/1                        outputs go to out/sweep/
  gilsim merge shards/* --out results/sweep

The merge checks that the shards ran the same script, seed, --set values, profile and
shard count, and that every shard is there and complete (it names those missing or
incomplete, with the command that completes them); then it runs the script with every
run of the sharded sweep read from the shards' journals, so the outputs are those of an
unsharded run, byte for byte. Slurm: docs/cluster.md.
Exit status: 0 on success, 1 if the shards cannot be merged or a write failed.";

#[derive(Args)]
struct MergeArgs {
    /// The shard folders (the --out of each `gilsim run --shard I/N`).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Output folder [default: out/<script name>].
    #[arg(long, short, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads for any sweep after the sharded one [default: all cores].
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    jobs: Option<u64>,
}

const REPORT_EXAMPLES: &str = "\
Examples:
  gilsim report                          every experiments/*.rhai -> out/report/index.html
                                         (outside a clone: the nine shipped experiments)
  gilsim report --only e4 --only e9      just those experiments
  gilsim report --profile calibration/profiles/myhost.json --out out/myhost

Each experiment writes its CSV files, figures and manifest into out/report/<experiment>/;
index.html shows each claim with its figures, data and what this run's numbers say.
Exit status: 0 if every experiment succeeded, 1 otherwise (the page still shows the errors).";

const VALIDATE_EXAMPLES: &str = "\
Examples:
  gilsim validate                         reference profile and measurements -> docs/validation.md
  gilsim validate --profile calibration/profiles/myhost.json --measured calibration/measured/myhost.json \\
                  --out out/validation.md --figure out/validation

Measure a machine first: python3 calibration/measure_profile.py && python3 calibration/measure_validation.py";

const BENCH_EXAMPLES: &str = "\
Examples:
  gilsim bench                            scenarios A-D and S, 10 simulated seconds each
  gilsim bench --scenario A --repeat 20

Reports events per second, simulated seconds per wall second, and the bare event-queue
rate at the same queue size measured in the same run (the physical limit).";

#[derive(Args)]
struct ReportArgs {
    /// Output folder.
    #[arg(long, short, value_name = "DIR", default_value = "out/report")]
    out: PathBuf,
    /// Folder of the experiment scripts [default: experiments/ if it exists here,
    /// else the shipped experiments built into gilsim].
    #[arg(long, value_name = "DIR")]
    experiments: Option<PathBuf>,
    /// Master seed.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = seed_arg)]
    seed: u64,
    /// Experiments run in parallel on this many threads [default: all cores].
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    jobs: Option<u64>,
    /// Override a parameter in every experiment. Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Only experiments whose file name contains this. Repeatable.
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    /// Calibration profile whose measurements become the model's defaults.
    #[arg(long, value_name = "FILE.json")]
    profile: Option<PathBuf>,
}

#[derive(Args)]
struct ValidateArgs {
    /// Calibration profile [default: the shipped reference profile].
    #[arg(long, value_name = "FILE.json")]
    profile: Option<PathBuf>,
    /// Measured multi-thread outcomes.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/measured/reference.json"
    )]
    measured: PathBuf,
    /// Another measurement run of the same scenarios, to show which measured
    /// directions repeat [default: NAME-earlier.json beside --measured NAME.json,
    /// if there is one].
    #[arg(long, value_name = "FILE.json")]
    replicate: Option<PathBuf>,
    /// The wake-path set (echo round trips, short sleeps, a zlib/Python
    /// cycle next to CPU-bound threads), measured with its own profile on
    /// the same host in the same session; skipped if the file is missing.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/measured/wakepath.json"
    )]
    wake_measured: PathBuf,
    /// The profile measured with --wake-measured.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/profiles/reference-2026-12-05.json"
    )]
    wake_profile: PathBuf,
    /// The servers set (client threads against one single-threaded echo
    /// server), measured with its own profile; skipped if the file is missing.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/measured/servers.json"
    )]
    servers_measured: PathBuf,
    /// The profile measured with --servers-measured.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/profiles/servers.json"
    )]
    servers_profile: PathBuf,
    /// The pools set (thread and process pools started cold and warm),
    /// measured with its own profile; skipped if the file is missing.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/measured/pools.json"
    )]
    pools_measured: PathBuf,
    /// The profile measured with --pools-measured.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/profiles/pools.json"
    )]
    pools_profile: PathBuf,
    /// The versions set (the same workloads under CPython 2.7 to 3.13, by
    /// calibration/measure_versions.py); skipped if the file is missing.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/measured/versions.json"
    )]
    versions_measured: PathBuf,
    /// The folder of per-version profiles (X.Y.json) measured with --versions-measured.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "calibration/profiles/versions"
    )]
    versions_profiles: PathBuf,
    /// The services set (real servers under open-loop load, by
    /// calibration/measure_services.py); skipped if the file is missing.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/measured/services.json"
    )]
    services_measured: PathBuf,
    /// The profile (with measurements.services) measured with --services-measured.
    #[arg(
        long,
        value_name = "FILE.json",
        default_value = "calibration/profiles/services.json"
    )]
    services_profile: PathBuf,
    /// The Markdown page to write.
    #[arg(long, value_name = "FILE.md", default_value = "docs/validation.md")]
    out: PathBuf,
    /// The figure to write (FILE.svg and FILE.png).
    #[arg(long, value_name = "FILE", default_value = "docs/figures/validation")]
    figure: PathBuf,
}

#[derive(Args)]
struct BenchArgs {
    /// Only this scenario (A, B, C, D, or S: a service). Repeatable.
    #[arg(long, value_name = "NAME",
          value_parser = clap::builder::PossibleValuesParser::new(gilsim_engine::scenarios::ALL))]
    scenario: Vec<String>,
    /// Simulated seconds per run.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    seconds: u64,
    /// Runs per scenario (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    repeat: u64,
}

#[derive(Args)]
struct RunArgs {
    /// The experiment script (.rhai).
    script: PathBuf,
    /// Output folder [default: out/<script name>].
    #[arg(long, short, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Master seed of every random stream; sweep replicates derive theirs from it.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = seed_arg)]
    seed: u64,
    /// Worker threads for sweeps [default: all cores]. Results do not depend on it.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    jobs: Option<u64>,
    /// Override a parameter the script reads with param("NAME", default). Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// A limit on what the script may do, like ops=1G or threads=200000 (see --help).
    #[arg(long = "limit", value_name = "NAME=VALUE", long_help = LIMIT_HELP, value_parser = limit_arg)]
    limits: Vec<String>,
    /// Reuse the sweep runs an interrupted run of the same script, seed and overrides
    /// journaled in the output folder; compute only the rest.
    #[arg(long)]
    resume: bool,
    /// Same as --limit ops=N.
    #[arg(long, value_name = "N", hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    max_ops: Option<u64>,
    /// Stream the Chrome trace (Perfetto, chrome://tracing) of the script's first machine.run
    /// outside a sweep to FILE; written only if the whole script succeeds.
    #[arg(long, value_name = "FILE.json")]
    trace: Option<PathBuf>,
    /// Calibration profile (calibration/measure_profile.py) whose measurements become the
    /// defaults of machine() and python().
    #[arg(long, value_name = "FILE.json")]
    profile: Option<PathBuf>,
    /// Same as --limit trace-events=N.
    #[arg(long, value_name = "N", hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    max_trace_events: Option<u64>,
    /// Run only shard I of N (I from 0 to N-1) of the script's first sweep, journaled in
    /// the output folder [default: out/<script name>.shard-I-of-N]; `gilsim merge` assembles them.
    #[arg(long, value_name = "I/N", conflicts_with = "trace", allow_hyphen_values = true, value_parser = shard_arg)]
    shard: Option<gilsim::sweep::shard::Shard>,
}

/// Parses `--shard I/N`.
fn shard_arg(s: &str) -> Result<gilsim::sweep::shard::Shard, String> {
    s.parse()
        .map_err(|e: gilsim::sweep::shard::ShardArgError| e.reason)
}

#[derive(Args)]
struct CheckArgs {
    /// The script to check.
    script: PathBuf,
    /// A limit on what the script may do, like expr-depth=128 (see `gilsim run --help`).
    #[arg(long = "limit", value_name = "NAME=VALUE", value_parser = limit_arg)]
    limits: Vec<String>,
}

/// Parses `--seed`: a whole number from 0 to 2^63 − 1, with a message that says so.
fn seed_arg(s: &str) -> Result<u64, String> {
    let max = i64::MAX as u64;
    match s.trim().parse::<i128>() {
        Ok(n) if (0..=i128::from(max)).contains(&n) => Ok(n as u64),
        Ok(n) => Err(format!(
            "the seed must be a whole number from 0 to {max}, got {n}"
        )),
        Err(_) => Err(format!(
            "the seed must be a whole number from 0 to {max}, got \"{s}\""
        )),
    }
}

/// Validates one `--limit NAME=VALUE`.
fn limit_arg(s: &str) -> Result<String, String> {
    Limits::default().set_arg(s).map(|_| s.to_string())
}

/// A command-line usage error found after parsing: exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

/// The limits: defaults, then the old single-limit flags, then `--limit`s;
/// a limit given twice is a usage error (it used to be silently last-wins).
fn limits(
    args: &[String],
    max_ops: Option<u64>,
    max_trace_events: Option<u64>,
) -> anyhow::Result<Limits> {
    let usage = |m: String| anyhow::Error::new(UsageError(m));
    let mut l = Limits::default();
    let mut given: Vec<(String, String)> = Vec::new();
    let mut once = |name: &str, shown: String| -> anyhow::Result<()> {
        let name = name.trim().replace('_', "-");
        if let Some((_, first)) = given.iter().find(|(n, _)| *n == name) {
            return Err(usage(format!(
                "the `{name}` limit is given twice ({first} and {shown}); give it once"
            )));
        }
        given.push((name, shown));
        Ok(())
    };
    if let Some(n) = max_ops {
        once("ops", format!("--max-ops {n}"))?;
        l.set("ops", n).map_err(usage)?;
    }
    if let Some(n) = max_trace_events {
        once("trace-events", format!("--max-trace-events {n}"))?;
        l.set("trace-events", n).map_err(usage)?;
    }
    for a in args {
        once(a.split('=').next().unwrap_or(a), format!("--limit {a}"))?;
        l.set_arg(a).map_err(usage)?;
    }
    Ok(l)
}

fn run(args: RunArgs, interrupt: Interrupt) -> anyhow::Result<()> {
    let mut opts = RunOptions::new(&args.script);
    opts.out = args.out.or_else(|| {
        let s = args.shard?;
        let dir = gilsim::default_out_dir(&args.script);
        Some(dir.with_file_name(format!(
            "{}.shard-{}-of-{}",
            dir.file_name()?.to_string_lossy(),
            s.index,
            s.count
        )))
    });
    opts.shard = args.shard;
    opts.profile_file = args.profile.clone();
    opts.seed = args.seed;
    opts.jobs = args.jobs.map(|j| j as usize);
    opts.sets = args.sets;
    opts.limits = limits(&args.limits, args.max_ops, args.max_trace_events)?;
    opts.resume = args.resume;
    opts.interrupt = interrupt;
    opts.trace = args.trace;
    opts.profile = args
        .profile
        .as_deref()
        .map(gilsim::calibration::profile::Profile::load)
        .transpose()?;
    opts.progress = std::io::stderr().is_terminal();
    let outcome = gilsim::run(&opts)?;
    if let (Some(shard), Some(share)) = (args.shard, &outcome.shard) {
        outln!(
            "shard {shard}: {} of the {} runs of sweep \"{}\" journaled in {} ({} computed, {} reused; {:.2} s); merge all {} shards with `gilsim merge DIR...`",
            share.runs_in_shard, share.runs_total, share.name, outcome.out_dir.display(),
            outcome.computed_runs, outcome.resumed_runs, outcome.wall_time_s, shard.count
        );
        return Ok(());
    }
    for name in &outcome.unread_sets {
        errln!("warning: --set {name}=... was never read by the script (it has no param(\"{name}\", ...))");
    }
    let names = written_names(&outcome);
    let resumed = if outcome.resumed_runs > 0 {
        format!(
            ", {} sweep runs reused from the journal",
            outcome.resumed_runs
        )
    } else {
        String::new()
    };
    // The --trace file is wherever it was asked for, not in the output folder.
    let trace = outcome
        .trace_file
        .as_ref()
        .map(|t| format!("; trace: {}", t.display()))
        .unwrap_or_default();
    outln!(
        "wrote {}: {}{trace} ({:.2} s{resumed})",
        outcome.out_dir.display(),
        names.join(", "),
        outcome.wall_time_s
    );
    Ok(())
}

fn merge(args: MergeArgs, interrupt: Interrupt) -> anyhow::Result<()> {
    let opts = gilsim::commands::merge::MergeOptions {
        dirs: args.dirs,
        out: args.out,
        jobs: args.jobs.map(|j| j as usize),
        progress: std::io::stderr().is_terminal(),
        interrupt,
    };
    let m = match gilsim::commands::merge::merge(&opts) {
        Ok(m) => m,
        // A failed run keeps its own error type (exit status after a signal).
        Err(gilsim::commands::merge::MergeError::Run(e)) => return Err(e.into()),
        Err(e) => return Err(e.into()),
    };
    let names: Vec<String> = m
        .run
        .files
        .iter()
        .chain([&m.run.manifest])
        .map(|f| {
            f.strip_prefix(&m.run.out_dir)
                .unwrap_or(f)
                .display()
                .to_string()
        })
        .collect();
    outln!(
        "merged {} shards ({} runs of sweep \"{}\"): wrote {}: {} ({:.2} s)",
        m.shards,
        m.sweep.runs_total,
        m.sweep.name,
        m.run.out_dir.display(),
        names.join(", "),
        m.run.wall_time_s
    );
    Ok(())
}

fn whatif(args: WhatifArgs, interrupt: Interrupt) -> anyhow::Result<()> {
    let opts = gilsim::commands::whatif::WhatifOptions {
        trace: args.trace,
        out: args.out,
        cores: args.cores,
        seed: args.seed,
        jobs: args.jobs.map(|j| j as usize),
        progress: std::io::stderr().is_terminal(),
        interrupt,
    };
    let outcome = match gilsim::commands::whatif::whatif(&opts) {
        Ok(o) => o,
        // A failed run keeps its own error type (exit status after a signal).
        Err(gilsim::commands::whatif::WhatifError::Run(e)) => return Err(e.into()),
        Err(e) => return Err(e.into()),
    };
    for f in &outcome.findings {
        outln!("{f}");
    }
    let names = written_names(&outcome);
    outln!(
        "wrote {}: {} ({:.2} s)",
        outcome.out_dir.display(),
        names.join(", "),
        outcome.wall_time_s
    );
    Ok(())
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    gilsim::check(&args.script, limits(&args.limits, None, None)?)?;
    outln!("{}: ok", args.script.display());
    Ok(())
}

fn report(args: ReportArgs, interrupt: Interrupt) -> anyhow::Result<()> {
    let profile = args
        .profile
        .as_deref()
        .map(gilsim::calibration::profile::Profile::load)
        .transpose()?;
    let opts = gilsim::commands::report::ReportOptions {
        experiments: args.experiments,
        out: args.out,
        seed: args.seed,
        jobs: args.jobs.map(|j| j as usize),
        sets: args.sets,
        only: args.only,
        profile,
        progress: std::io::stderr().is_terminal(),
        interrupt: interrupt.clone(),
    };
    let t0 = std::time::Instant::now();
    let results = gilsim::commands::report::report(&opts);
    if let Some(signal) = interrupt.signal() {
        // Each experiment stopped like an interrupted run: no temporary file left.
        return Err(gilsim::Error::Interrupted {
            signal,
            manifest: None,
            journal_runs: 0,
            abandoned: false,
        }
        .into());
    }
    let results = results?;
    outln!(
        "wrote {} ({} experiments, {:.1} s)",
        opts.out.join("index.html").display(),
        results.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn validate(args: ValidateArgs) -> anyhow::Result<()> {
    let profile = match &args.profile {
        Some(p) => gilsim::calibration::profile::Profile::load(p)?,
        None => gilsim::calibration::profile::Profile::reference(),
    };
    let replicate = args.replicate.clone().or_else(|| {
        let stem = args.measured.file_stem()?.to_string_lossy().into_owned();
        let earlier = args.measured.with_file_name(format!("{stem}-earlier.json"));
        earlier.is_file().then_some(earlier)
    });
    // A set beside the main one is validated when its measurements are there.
    fn measured_with<T>(
        measured: &std::path::Path,
        load: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        measured.is_file().then(load).transpose()
    }
    use gilsim::calibration::{
        profile::Profile, services::ServicesProfile, versions::VersionProfiles,
    };
    let wake_profile = measured_with(&args.wake_measured, || Profile::load(&args.wake_profile))?;
    let servers_profile = measured_with(&args.servers_measured, || {
        Profile::load(&args.servers_profile)
    })?;
    let pools_profile = measured_with(&args.pools_measured, || Profile::load(&args.pools_profile))?;
    let version_profiles = measured_with(&args.versions_measured, || {
        VersionProfiles::load(&args.versions_profiles)
    })?;
    let services_profile = measured_with(&args.services_measured, || {
        ServicesProfile::load(&args.services_profile)
    })?;
    let wake = wake_profile
        .as_ref()
        .map(|p| (p, args.wake_measured.as_path()));
    let servers = servers_profile
        .as_ref()
        .map(|p| (p, args.servers_measured.as_path()));
    let pools = pools_profile
        .as_ref()
        .map(|p| (p, args.pools_measured.as_path()));
    let versions = version_profiles
        .as_ref()
        .map(|p| (p, args.versions_measured.as_path()));
    let summary = gilsim::commands::validate::write_validation(
        &profile,
        &args.measured,
        &gilsim::commands::validate::OtherSets {
            replicate: replicate.as_deref(),
            wake,
            servers,
            pools,
            versions,
            services: services_profile
                .as_ref()
                .map(|p| (p, args.services_measured.as_path())),
        },
        &args.out,
        &args.figure,
    )?;
    outln!(
        "wrote {} and its figures {}*.svg/.png: {summary}",
        args.out.display(),
        args.figure.display()
    );
    Ok(())
}

fn validate_programs(a: ValidateProgramsArgs) -> anyhow::Result<()> {
    let opts = gilsim::commands::validate_programs::ProgramsOptions {
        measured: a.measured,
        profile: a.profile,
        traces: a.traces,
        out: a.out,
        figure: a.figure,
        jobs: a.jobs.map(|j| j as usize),
    };
    let summary = gilsim::commands::validate_programs::validate_programs(&opts)?;
    outln!("wrote {}: {summary}", opts.out.display());
    Ok(())
}

/// The files a run wrote and its manifest, relative to its output folder.
fn written_names(outcome: &gilsim::RunOutcome) -> Vec<String> {
    outcome
        .files
        .iter()
        .chain([&outcome.manifest])
        .map(|f| {
            f.strip_prefix(&outcome.out_dir)
                .unwrap_or(f)
                .display()
                .to_string()
        })
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => match Interrupt::install() {
            Ok(i) => run(a, i),
            Err(e) => Err(anyhow::anyhow!("cannot install the Ctrl-C handler: {e}")),
        },
        Command::Check(a) => check(a),
        Command::Report(a) => match Interrupt::install() {
            Ok(i) => report(a, i),
            Err(e) => Err(anyhow::anyhow!("cannot install the Ctrl-C handler: {e}")),
        },
        Command::Validate(a) => validate(a),
        Command::Bench(a) => gilsim::commands::bench::bench(&a.scenario, a.seconds, a.repeat),
        Command::Merge(a) => match Interrupt::install() {
            Ok(i) => merge(a, i),
            Err(e) => Err(anyhow::anyhow!("cannot install the Ctrl-C handler: {e}")),
        },
        Command::ValidatePrograms(a) => validate_programs(a),
        Command::Whatif(a) => match Interrupt::install() {
            Ok(i) => whatif(a, i),
            Err(e) => Err(anyhow::anyhow!("cannot install the Ctrl-C handler: {e}")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: {e:#}");
            match e.downcast_ref::<gilsim::Error>() {
                Some(gilsim::Error::Interrupted { signal, .. }) => {
                    ExitCode::from(gilsim::support::interrupt::exit_status(*signal))
                }
                Some(gilsim::Error::Set(_)) => ExitCode::from(2),
                _ if e.downcast_ref::<UsageError>().is_some() => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
