//! The `gilsim` command line: parses arguments and hands over to the library.

use clap::{Args, Parser, Subcommand};
use gilsim::script::Limits;
use gilsim::trace_files::DEFAULT_MAX_TRACE_EVENTS;
use gilsim::{RunOptions, DEFAULT_MAX_OPS};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

const MAIN_EXAMPLES: &str = "\
Examples:
  gilsim run experiments/e4_convoy.rhai                 write out/e4_convoy/*.csv and manifest.json
  gilsim run sweep.rhai --jobs 2 --seed 7 --set threads=8
  gilsim check experiments/e4_convoy.rhai               parse and resolve imports, run nothing

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

Outputs are written only when the whole script succeeds: each CSV, figure and
trace atomically, then manifest.json (script hash, seed, parameters, version,
wall time, files, findings).
Exit status: 0 on success, 1 if the script or a write failed, 2 on a usage error.";

const CHECK_EXAMPLES: &str = "\
Examples:
  gilsim check convoy.rhai
  for f in experiments/*.rhai; do gilsim check \"$f\" || exit 1; done

Checks that the script parses (variables must be declared before use) and that
every `import \"...\"` resolves; nothing is simulated and nothing is written.";

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
    /// Check a script without running it: syntax and imports.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
}

#[derive(Args)]
struct RunArgs {
    /// The experiment script (.rhai).
    script: PathBuf,
    /// Output folder [default: out/<script name>].
    #[arg(long, short, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Master seed of every random stream; sweep replicates derive theirs from it.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    seed: u64,
    /// Worker threads for sweeps [default: all cores]. Results do not depend on it.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    jobs: Option<u64>,
    /// Override a parameter the script reads with param("NAME", default). Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Stop the script after this many operations (guards against endless loops).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_OPS, value_parser = clap::value_parser!(u64).range(1..))]
    max_ops: u64,
    /// Stream the Chrome trace (Perfetto, chrome://tracing) of the script's first machine.run
    /// outside a sweep to FILE; written only if the whole script succeeds.
    #[arg(long, value_name = "FILE.json")]
    trace: Option<PathBuf>,
    /// Most events in one trace file (--trace or the run option chrome_trace); a trace
    /// that would be longer fails the run instead of filling the disk.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_TRACE_EVENTS, value_parser = clap::value_parser!(u64).range(1..))]
    max_trace_events: u64,
}

#[derive(Args)]
struct CheckArgs {
    /// The script to check.
    script: PathBuf,
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let mut opts = RunOptions::new(&args.script);
    opts.out = args.out;
    opts.seed = args.seed;
    opts.jobs = args.jobs.map(|j| j as usize);
    opts.sets = args.sets;
    opts.limits = Limits {
        max_ops: args.max_ops,
        max_trace_events: args.max_trace_events,
        ..Limits::default()
    };
    opts.trace = args.trace;
    opts.progress = std::io::stderr().is_terminal();
    let outcome = gilsim::run(&opts)?;
    for name in &outcome.unread_sets {
        eprintln!("warning: --set {name}=... was never read by the script (it has no param(\"{name}\", ...))");
    }
    let names: Vec<String> = outcome
        .files
        .iter()
        .chain([&outcome.manifest])
        .chain(&outcome.trace_file)
        .map(|f| {
            f.strip_prefix(&outcome.out_dir)
                .unwrap_or(f)
                .display()
                .to_string()
        })
        .collect();
    println!(
        "wrote {}: {} ({:.2} s)",
        outcome.out_dir.display(),
        names.join(", "),
        outcome.wall_time_s
    );
    Ok(())
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    gilsim::check(&args.script, Limits::default())?;
    println!("{}: ok", args.script.display());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => run(a),
        Command::Check(a) => check(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
