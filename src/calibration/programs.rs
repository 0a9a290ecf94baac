//! The own-programs validation (gilsim issue 17, point 4): real programs
//! nobody here wrote — pyperformance benchmarks, an `http.client` against
//! `http.server` pair and a `gzip` compressor
//! (calibration/programs/programs.py) — traced once, single-threaded, with
//! `python -m gilsim.trace`, predicted from their traces as k = 1, 2, 4
//! copies in threads and in spawned processes, and compared with the same
//! copies run for real (calibration/measure_programs.py, the
//! `gilsim-programs/1` file it writes).
//!
//! This module reads the measured file, compares, classifies each
//! measured and predicted speed-up as faster / same / slower than one copy,
//! and renders docs/own-programs.md and its figure. It predicts nothing
//! itself: the predictions come from the trace's `workload(...)` run by the
//! built-in script of `crate::commands::validate_programs` (commands sit
//! above the script layer this module may not use). It writes no file.

use gilsim_plots::Figure;
use serde_json::Value;
use std::fmt::Write as _;
use thiserror::Error;

/// The schema `measure_programs.py` writes.
pub const SCHEMA: &str = "gilsim-programs/1";
/// A speed-up within ±this of 1 is "the same as one copy": about three
/// times the spread (p90/p10) of a configuration's repeated batches on the
/// reference VM, so that noise alone does not flip a direction.
pub const SAME_BAND: f64 = 0.10;
/// The target for the median |relative error| (issue 17).
pub const TARGET_MEDIAN: f64 = 0.15;

/// Why the measured file cannot be used.
#[derive(Debug, Error, PartialEq)]
pub enum ProgramsError {
    /// Not JSON.
    #[error("{file} is not valid JSON: {reason}")]
    Json {
        /// The file.
        file: String,
        /// serde_json's message.
        reason: String,
    },
    /// A value is missing or wrong.
    #[error("{file}: {key} is {found}: expected {expected} (\"{SCHEMA}\", written by calibration/measure_programs.py)")]
    Value {
        /// The file.
        file: String,
        /// The JSON path.
        key: String,
        /// What was there.
        found: String,
        /// What is allowed.
        expected: String,
    },
}

/// How the copies ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layout {
    /// k threads of one process.
    Threads,
    /// k spawned processes, one copy each.
    Processes,
}

impl Layout {
    /// The name in the measured file and on the page.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Threads => "threads",
            Layout::Processes => "processes",
        }
    }

    fn parse(s: &str) -> Option<Layout> {
        match s {
            "threads" => Some(Layout::Threads),
            "processes" => Some(Layout::Processes),
            _ => None,
        }
    }
}

/// One measured configuration: k copies of a program in a layout.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramRow {
    /// The program (`nbody`).
    pub program: String,
    /// Its character as the driver states it (`pure Python`).
    pub character: String,
    /// Copies run at once.
    pub k: u32,
    /// Threads or processes.
    pub layout: Layout,
    /// Wall time of the batch, seconds: median, p10, p90 of the samples.
    pub median: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Every sample quiet (other processes used ≤ the threshold).
    pub quiet: bool,
}

/// The measured file: its rows and where they were measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// The rows, in file order.
    pub rows: Vec<ProgramRow>,
    /// One line per measuring run: date, host, interpreter, programs.
    pub runs: Vec<String>,
}

/// Reads a `gilsim-programs/1` file's text; `file` names it in errors.
pub fn parse_measured(text: &str, file: &str) -> Result<Measured, ProgramsError> {
    let root: Value = serde_json::from_str(text).map_err(|e| ProgramsError::Json {
        file: file.into(),
        reason: e.to_string(),
    })?;
    let wrong = |key: &str, v: Option<&Value>, expected: &str| ProgramsError::Value {
        file: file.into(),
        key: key.into(),
        found: v.map_or("missing".into(), Value::to_string),
        expected: expected.into(),
    };
    if root.get("schema").and_then(Value::as_str) != Some(SCHEMA) {
        return Err(wrong(
            "schema",
            root.get("schema"),
            &format!("\"{SCHEMA}\""),
        ));
    }
    let rows_v = root
        .get("rows")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| wrong("rows", root.get("rows"), "a non-empty array"))?;
    let mut rows = Vec::with_capacity(rows_v.len());
    for (i, r) in rows_v.iter().enumerate() {
        let at = |k: &str| format!("rows[{i}].{k}");
        let text = |k: &str| {
            r.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| wrong(&at(k), r.get(k), "a string"))
        };
        let seconds = |k: &str| {
            let v = r.get("wall_s").and_then(|w| w.get(k));
            v.and_then(Value::as_f64)
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| wrong(&at(&format!("wall_s.{k}")), v, "seconds > 0"))
        };
        let layout = text("layout")?;
        rows.push(ProgramRow {
            program: text("program")?,
            character: text("character")?,
            k: r.get("k")
                .and_then(Value::as_u64)
                .filter(|k| (1..=64).contains(k))
                .ok_or_else(|| wrong(&at("k"), r.get("k"), "a count from 1 to 64"))?
                as u32,
            layout: Layout::parse(&layout).ok_or_else(|| {
                wrong(
                    &at("layout"),
                    r.get("layout"),
                    "\"threads\" or \"processes\"",
                )
            })?,
            median: seconds("median")?,
            p10: seconds("p10")?,
            p90: seconds("p90")?,
            quiet: r.get("quiet").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    let runs = root
        .get("groups")
        .and_then(Value::as_array)
        .map(|gs| gs.iter().map(describe_run).collect())
        .unwrap_or_default();
    Ok(Measured { rows, runs })
}

/// "2026-12-06T03:20:00Z, AMD EPYC (Zen 3 …), 2 CPUs, Linux 6.18…, CPython
/// 3.11.7, pyperformance 1.14.0: nbody, richards (5 samples each)".
fn describe_run(g: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("?").to_string();
    let h = &g["host"];
    let programs: Vec<String> = g["programs"]
        .as_array()
        .map(|a| a.iter().map(|p| format!("`{}`", s(p))).collect())
        .unwrap_or_default();
    let what = match (g["traced"].as_bool(), g["timed"].as_bool()) {
        (_, Some(false)) => "traced".to_string(),
        (Some(false), _) => format!("timed, {} samples each", g["reps"].as_u64().unwrap_or(0)),
        _ => format!(
            "traced and timed, {} samples each",
            g["reps"].as_u64().unwrap_or(0)
        ),
    };
    format!(
        "{}, {} ({}), {} CPUs, Linux {}, CPython {}, pyperformance {}: {} ({what})",
        s(&h["date_utc"]),
        s(&h["cpu_model"]),
        s(&h["cpu_uarch"]),
        h["cpu_count"].as_u64().unwrap_or(0),
        s(&h["kernel"]),
        s(&g["interpreter"]["python"]),
        s(&g["interpreter"]["pyperformance"]),
        programs.join(", "),
    )
}

/// A measured configuration and the model's prediction of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Compared {
    /// The measurement.
    pub row: ProgramRow,
    /// Predicted wall time, seconds.
    pub predicted: f64,
}

impl Compared {
    /// (predicted − measured) / measured.
    pub fn rel_error(&self) -> f64 {
        relative_error(self.predicted, self.row.median)
    }
}

/// (predicted − measured) / measured.
pub fn relative_error(predicted: f64, measured: f64) -> f64 {
    (predicted - measured) / measured
}

/// The median of |errors| (0 for none).
pub fn median_abs_error(errors: &[f64]) -> f64 {
    let a: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
    signed_median(&a)
}

/// k copies against one copy in the same layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// More copies per second than one copy alone.
    Faster,
    /// Within ±[`SAME_BAND`].
    Same,
    /// Fewer copies per second than one copy alone.
    Slower,
}

impl Direction {
    fn word(self) -> &'static str {
        match self {
            Direction::Faster => "faster",
            Direction::Same => "same",
            Direction::Slower => "slower",
        }
    }
}

/// The speed-up of k copies: k × (wall time of one copy) / (wall time of
/// the k copies), so 1 when the copies run one after another as fast as
/// one alone, k when they all run at once at full speed.
pub fn speedup(one: f64, many: f64, k: u32) -> f64 {
    f64::from(k) * one / many
}

/// Faster, the same or slower than one copy: the speed-up against 1 ±
/// [`SAME_BAND`] (inside the band, or on it: the same).
pub fn direction(speedup: f64) -> Direction {
    if speedup > 1.0 + SAME_BAND {
        Direction::Faster
    } else if speedup < 1.0 - SAME_BAND {
        Direction::Slower
    } else {
        Direction::Same
    }
}

/// One direction, measured and predicted.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectionCheck {
    /// The program.
    pub program: String,
    /// The layout.
    pub layout: Layout,
    /// Copies (2 or more).
    pub k: u32,
    /// The measured speed-up.
    pub measured_speedup: f64,
    /// The predicted speed-up.
    pub predicted_speedup: f64,
}

impl DirectionCheck {
    /// The measured direction.
    pub fn measured(&self) -> Direction {
        direction(self.measured_speedup)
    }
    /// The predicted direction.
    pub fn predicted(&self) -> Direction {
        direction(self.predicted_speedup)
    }
    /// Predicted as measured.
    pub fn ok(&self) -> bool {
        self.measured() == self.predicted()
    }
}

/// Every k ≥ 2 row against the k = 1 row of its program and layout (rows
/// without one are skipped).
pub fn directions(cmp: &[Compared]) -> Vec<DirectionCheck> {
    let one = |c: &Compared| {
        cmp.iter().find(|o| {
            o.row.program == c.row.program && o.row.layout == c.row.layout && o.row.k == 1
        })
    };
    cmp.iter()
        .filter(|c| c.row.k > 1)
        .filter_map(|c| {
            let o = one(c)?;
            Some(DirectionCheck {
                program: c.row.program.clone(),
                layout: c.row.layout,
                k: c.row.k,
                measured_speedup: speedup(o.row.median, c.row.median, c.row.k),
                predicted_speedup: speedup(o.predicted, c.predicted, c.row.k),
            })
        })
        .collect()
}

/// What a program's trace says, for the page.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceFacts {
    /// The program.
    pub program: String,
    /// The traced thread's Python, C holding, C releasing and blocked
    /// totals, seconds.
    pub totals_s: [f64; 4],
    /// Time in imports (part of the totals), seconds.
    pub imports_s: f64,
    /// The traced run's wall time (tracer overhead included), seconds.
    pub traced_wall_s: f64,
    /// Events the tracer handled, all threads.
    pub events: u64,
    /// What the tracer divided Python time by (3.11's bytecode slowdown
    /// under the profile hook, from its calibration loop).
    pub python_time_scale: f64,
    /// Calls of the traced thread that released the GIL (C releasing or
    /// blocked).
    pub releasing_calls: u64,
    /// The reconciliation with the tracer's untraced run (trace format
    /// 1.1), if the trace has one.
    pub reconciliation: Option<Reconciled>,
}

/// A trace's `overhead.reconciliation` (docs/trace-format.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Reconciled {
    /// The untraced runs' median wall time, seconds.
    pub untraced_s: f64,
    /// Each untraced run's wall time, seconds, sorted.
    pub samples_s: Vec<f64>,
    /// The factor on Python time, if there was Python time.
    pub python_factor: Option<f64>,
    /// Whether it was applied (false: the measured C and blocked time
    /// exceeds the untraced run, or the factor is out of range).
    pub applied: bool,
}

impl TraceFacts {
    /// The traced thread's time, all categories.
    pub fn traced_s(&self) -> f64 {
        self.totals_s.iter().sum()
    }
}

/// What the page needs besides the rows.
pub struct PageInputs<'a> {
    /// The measured file's runs.
    pub runs: &'a [String],
    /// The profile's name and file.
    pub profile: &'a str,
    /// Each program's trace.
    pub traces: &'a [TraceFacts],
    /// The figure's path, relative to the page.
    pub figure: &'a str,
}

/// The command that regenerates the page, as its first lines state it.
pub const REGENERATE: &str = "cargo run --release -- validate-programs";

/// Why a program misses, from measurements made to find out (see each).
/// Shown under "Where it misses" for programs with a miss; a program not
/// listed gets the measured facts only.
const NOTES: &[(&str, &str)] = &[
    (
        "nbody",
        "The k = 2 threads row is at the band's edge (its batches' speed-ups spread across 0.9, \
the table's p10–p90); the model gives CPU-bound threads no cost for the GIL moving between \
cores beyond its hand-off latencies, so it predicts exactly 1.",
    ),
    (
        "sqlite_synth",
        "Two things the tracer cannot see. (1) Its 150 000 short `execute` calls release the GIL, \
and one more `execute` (the `avglength` aggregate) is traced as one long call releasing the GIL, \
but inside it SQLite calls the Python aggregate back 150 000 times, taking the GIL again for each \
callback: a call that releases and re-takes the GIL 150 000 times is one *releasing* call to \
the tracer, so the model lets two copies overlap in it. (2) The tracer's cost per event lands \
in those C calls' self times, not only in Python time: the stretch from a C call's start to its \
callback's first event and from the callback's return to the C return carries the callback's \
call and return events, and each 3.7 µs `execute` carries its own two (on the \
known-composition program, `calibration/programs/diagnose_categories.py`, 20 000 calls of `len` \
come out 2.3× their untraced time, large C calls within 4%). Measured, two copies in threads take 3.19 s against 2 × 0.569 s one after another: every release \
hands the GIL to the other copy, and taking it back costs a wake-up, (3.193 − 1.138) s over the \
2 × 150 343 releases ≈ 6.8 µs each — a convoy. What would fix it: the tracer counting the GIL \
re-acquisitions inside a releasing call (the Python frames entered from it) and writing them as \
that many release/re-take steps; the per-event excess (untraced against traced, per event) \
subtracted from every call in proportion to the events inside it, not from Python time alone; \
and in the model, per-release GIL hand-offs at the trace's real release count.",
    ),
    (
        "concurrent_imap",
        "The copy is a thread pool: the traced thread spends most of its time blocked on results \
that the pool's worker threads (10 more traced threads) compute, and the tracer slows those \
workers many times (their Python calls are its events), and the main thread's waits last as \
long as the slowed workers. What the tracer cannot see: \
that those waits are on threads of the same program (it records a lock wait, not whom it waited \
for). `workload()` runs only the traced thread, its waits fixed at their traced length, so the \
model lets copies overlap in waits. Really every task (`f(x) = x` and the pool's bookkeeping) \
holds the GIL: two copies in threads take 2 × one copy. What would fix it: a script that loads \
the worker threads too (`workload(path, #{ traced_thread: ... })`) and makes the main thread \
wait for them (a queue), with the workers' Python time reconciled; or a tracer that records \
which thread ended each wait (a dependency, not an I/O wait).",
    ),
    (
        "http_pair",
        "The server is a child process the tracer does not trace: measured with \
`calibration/programs/diagnose_http_pair.py` (through the measurement wrapper, 03:39:54 UTC), \
one copy uses 0.36 s of CPU in the client and 0.40 s in the server. The trace shows the \
client waiting for the server; the model does not know the server needs a core, so four \
copies in processes (four clients and four servers on two cores: at least 4 × 0.76 / 2 = \
1.52 s of CPU) are predicted short of the measured time (the table). A `device` or a server \
process in a script would carry that CPU.",
    ),
];

/// The median of signed values (0 for none).
pub fn signed_median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn pct(x: f64) -> String {
    format!("{:+.1}%", 100.0 * x)
}

/// docs/own-programs.md.
pub fn render_markdown(cmp: &[Compared], dirs: &[DirectionCheck], p: &PageInputs) -> String {
    let mut s = String::new();
    let errors: Vec<f64> = cmp.iter().map(Compared::rel_error).collect();
    let median = median_abs_error(&errors);
    let ok = dirs.iter().filter(|d| d.ok()).count();
    let programs = distinct(cmp.iter().map(|c| c.row.program.as_str()));
    let _ = writeln!(s, "# Own programs: traced once, predicted, run for real\n");
    let _ = writeln!(
        s,
        "Regenerate this page and its figure from the committed files: `{REGENERATE}` \
(reads `calibration/measured/programs.json`, `calibration/profiles/programs.json` and \
`calibration/traces/programs/*.json`; writes `docs/own-programs.md` and \
`docs/figures/own_programs.{{svg,png}}`). Measure again: `calibration/measure_programs.py` \
(calibration/README.md, \"The own-programs runs\").\n"
    );
    let _ = writeln!(
        s,
        "**Summary.** {} rows ({} programs × threads and processes × k = 1, 2, 4): median absolute \
relative error **{:.1}%** (target ≤ {:.0}%: {}); **{ok} of {}** directions right (target: all{}).\n",
        cmp.len(),
        programs.len(),
        100.0 * median,
        100.0 * TARGET_MEDIAN,
        if median <= TARGET_MEDIAN { "met" } else { "missed" },
        dirs.len(),
        if ok == dirs.len() { ", met" } else { ", missed" },
    );
    let gaps: Vec<f64> = p
        .traces
        .iter()
        .filter_map(|t| {
            cmp.iter()
                .find(|c| {
                    c.row.program == t.program && c.row.layout == Layout::Threads && c.row.k == 1
                })
                .map(|c| relative_error(t.traced_s(), c.row.median))
        })
        .collect();
    let speedup_errors: Vec<f64> = dirs
        .iter()
        .map(|d| relative_error(d.predicted_speedup, d.measured_speedup))
        .collect();
    let _ = writeln!(
        s,
        "Where the error comes from: the traces themselves are off the measured single copy by a \
median of {:.1}% (the table \"What the tracer saw\"), and every row of a program inherits its \
trace's error; the predicted speed-ups, in which each program's trace total cancels, are off by a \
median of {:.1}%.\n",
        100.0 * median_abs_error(&gaps),
        100.0 * median_abs_error(&speedup_errors)
    );
    let drift: Vec<f64> = p
        .traces
        .iter()
        .filter_map(|t| {
            let r = t.reconciliation.as_ref()?;
            cmp.iter()
                .find(|c| {
                    c.row.program == t.program && c.row.layout == Layout::Threads && c.row.k == 1
                })
                .map(|c| relative_error(r.untraced_s, c.row.median))
        })
        .collect();
    if !drift.is_empty() {
        let reconciled = p
            .traces
            .iter()
            .filter(|t| t.reconciliation.as_ref().is_some_and(|r| r.applied))
            .count();
        let _ = writeln!(
            s,
            "Each trace was reconciled with untraced runs of its program made just before tracing \
({reconciled} of {} could be: the Python time rescaled so that the trace's total is theirs; the \
table \"What the tracer saw\"). Those untraced runs, a different sitting from the timed batches, \
are off the timed single copy by a median of {:.1}% (signed median {}): the host's speed between \
the sittings and the runs' spread, which a reconciled trace inherits.\n",
            p.traces.len(),
            100.0 * median_abs_error(&drift),
            pct(signed_median(&drift)),
        );
    }
    let _ = writeln!(
        s,
        "Each program ([calibration/programs/programs.py](../calibration/programs/programs.py)) is a \
pyperformance benchmark's own workload function called a fixed number of times (not through \
pyperf's runner), or one of two stdlib programs written here. It was traced once, single-threaded \
(`python -m gilsim.trace -- calibration/programs/run_program.py NAME`), and then \
run for real as k = 1, 2 and 4 copies at once, in threads of one fresh interpreter and in spawned \
processes (`calibration/programs/batch.py`), like with like: k = 1 also runs in a thread, or in a \
process. A measured value is the median wall time of the whole batch, from before the program's \
import to the end of its last copy.\n"
    );
    let _ = writeln!(
        s,
        "A prediction runs k copies of the traced thread as `workload(\"NAME.json\")` builds it \
([docs/tracing.md](tracing.md)), on the measuring host's cores, with the calibration profile \
measured in the same sitting (`{}`), through the built-in script \
[src/commands/programs.rhai](../src/commands/programs.rhai): threads at the traced switch interval; \
processes each paying the profile's spawn start-up before its copy (the copy already holds the \
program's imports, which the tracer ran; the only pickled input is the program's name). Nothing is \
fitted to these rows.\n",
        p.profile
    );
    let _ = writeln!(
        s,
        "**Direction.** The speed-up of k copies is k × (wall time of one copy) / (wall time of the \
k copies), in the same layout: *faster* than one copy above {:.2}, *slower* below {:.2}, *the same* \
in between (±{:.0}%, about three times the spread of repeated batches, so noise alone does not \
flip a direction). Directions are compared for k = 2 and 4.\n",
        1.0 + SAME_BAND,
        1.0 - SAME_BAND,
        100.0 * SAME_BAND
    );
    let _ = writeln!(s, "Measured on:\n");
    for r in p.runs {
        let _ = writeln!(s, "- {r}");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Measured and predicted\n");
    let _ = writeln!(
        s,
        "| program | character | k | layout | measured s (p10–p90) | predicted s | error | measured speed-up | predicted speed-up | direction |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for c in cmp {
        let d = dirs
            .iter()
            .find(|d| d.program == c.row.program && d.layout == c.row.layout && d.k == c.row.k);
        let (ms, ps, dir) = match d {
            Some(d) => (
                format!("{:.2} ({})", d.measured_speedup, d.measured().word()),
                format!("{:.2} ({})", d.predicted_speedup, d.predicted().word()),
                if d.ok() { "right" } else { "**wrong**" }.to_string(),
            ),
            None => ("1 (baseline)".into(), "1 (baseline)".into(), "—".into()),
        };
        let e = c.rel_error();
        let err = if e.abs() > TARGET_MEDIAN {
            format!("**{}**", pct(e))
        } else {
            pct(e)
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {:.3} ({:.3}–{:.3}){} | {:.3} | {err} | {ms} | {ps} | {dir} |",
            c.row.program,
            c.row.character,
            c.row.k,
            c.row.layout.name(),
            c.row.median,
            c.row.p10,
            c.row.p90,
            if c.row.quiet { "" } else { " (not quiet)" },
            c.predicted,
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "![Predicted against measured wall time of k copies, every row]({})\n",
        p.figure
    );
    let _ = writeln!(
        s,
        "*Figure: predicted against measured wall time of every row (log–log); on the dotted line the \
prediction is exact.*\n"
    );
    render_traces(&mut s, cmp, p.traces);
    render_misses(&mut s, cmp, dirs, p.traces);
    s
}

/// The traces against the real single copy in a thread.
fn render_traces(s: &mut String, cmp: &[Compared], traces: &[TraceFacts]) {
    let _ = writeln!(s, "## What the tracer saw\n");
    let _ = writeln!(
        s,
        "The traced thread's time by category (the tracer's overhead subtracted), against the \
measured wall time of one copy in a thread (which includes the program's import, as the trace \
does). A one-copy prediction can be no closer than the trace's total is to that time. The \
tracer's slowdown is the traced run's wall time over that measured time; *events* are the calls \
and returns it handled (each costs it ~1.5–3.5 µs, subtracted by its calibration); the *Python time \
scale* is the factor its calibration divided Python time by (on 3.11 the profile hook runs every \
bytecode unspecialized; the factor comes from a calibration loop). The tracer then ran the \
program once *untraced* (in a fresh interpreter, before tracing) and reconciled the trace with \
it: the C and blocked times as measured, the Python time multiplied by the *reconciliation* \
factor so that the total is the untraced run's (docs/trace-format.md, \"Reconciliation\"); \
*not applied* where the traced C and blocked time alone exceeds the untraced run. The untraced \
run is one sample, the measured copy the median of five batches.\n"
    );
    let _ = writeln!(
        s,
        "| program | Python s | C holding the GIL s | C releasing it s | blocked s | imports s | traced total s | untraced run s | one copy in a thread, measured s | trace vs measured | tracer slowdown | events | releasing calls | Python time scale | reconciliation |"
    );
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for t in traces {
        let one = cmp.iter().find(|c| {
            c.row.program == t.program && c.row.layout == Layout::Threads && c.row.k == 1
        });
        let (m, gap, slow) = match one {
            Some(c) => (
                format!("{:.3}", c.row.median),
                pct(relative_error(t.traced_s(), c.row.median)),
                format!("{:.2}×", t.traced_wall_s / c.row.median),
            ),
            None => ("—".into(), "—".into(), "—".into()),
        };
        let [py, hold, rel, blocked] = t.totals_s;
        let (untraced, factor) = match &t.reconciliation {
            Some(r) => (
                format!("{:.3}", r.untraced_s),
                match (r.applied, r.python_factor) {
                    (true, Some(f)) => format!("×{f:.3}"),
                    _ => "not applied".into(),
                },
            ),
            None => ("—".into(), "—".into()),
        };
        let _ = writeln!(
            s,
            "| `{}` | {py:.3} | {hold:.3} | {rel:.3} | {blocked:.3} | {:.3} | {:.3} | {untraced} | {m} | {gap} | {slow} | {} | {} | {:.2} | {factor} |",
            t.program,
            t.imports_s,
            t.traced_s(),
            t.events,
            t.releasing_calls,
            t.python_time_scale,
        );
    }
    let _ = writeln!(s);
}

/// Programs with a row off by more than the target or a wrong direction.
fn render_misses(s: &mut String, cmp: &[Compared], dirs: &[DirectionCheck], traces: &[TraceFacts]) {
    let _ = writeln!(s, "## Where it misses\n");
    let programs = distinct(cmp.iter().map(|c| c.row.program.as_str()));
    let mut any = false;
    for prog in programs {
        let big: Vec<&Compared> = cmp
            .iter()
            .filter(|c| c.row.program == prog && c.rel_error().abs() > TARGET_MEDIAN)
            .collect();
        let wrong: Vec<&DirectionCheck> = dirs
            .iter()
            .filter(|d| d.program == prog && !d.ok())
            .collect();
        if big.is_empty() && wrong.is_empty() {
            continue;
        }
        any = true;
        let mut what: Vec<String> = big
            .iter()
            .map(|c| {
                format!(
                    "{} k={} {}",
                    c.row.layout.name(),
                    c.row.k,
                    pct(c.rel_error())
                )
            })
            .collect();
        what.extend(wrong.iter().map(|d| {
            format!(
                "{} k={} measured {} but predicted {}",
                d.layout.name(),
                d.k,
                d.measured().word(),
                d.predicted().word()
            )
        }));
        let _ = write!(s, "- **`{prog}`** ({}).", what.join("; "));
        if let Some(t) = traces.iter().find(|t| t.program == prog) {
            let _ = write!(
                s,
                " Trace: {:.0}% Python, {:.0}% C holding the GIL, {:.0}% C releasing it, {:.0}% blocked.",
                100.0 * t.totals_s[0] / t.traced_s(),
                100.0 * t.totals_s[1] / t.traced_s(),
                100.0 * t.totals_s[2] / t.traced_s(),
                100.0 * t.totals_s[3] / t.traced_s()
            );
        }
        if let Some(t) = traces.iter().find(|t| t.program == prog) {
            let one = cmp
                .iter()
                .find(|c| c.row.program == prog && c.row.layout == Layout::Threads && c.row.k == 1);
            let _ = write!(
                s,
                "{}",
                reconciliation_sentence(t, one.map(|c| c.row.median))
            );
        }
        if let Some((_, note)) = NOTES.iter().find(|(p, _)| *p == prog) {
            let _ = write!(s, " {note}");
        }
        let _ = writeln!(s);
    }
    if !any {
        let _ = writeln!(
            s,
            "No row is off by more than {:.0}%, and every direction is right.",
            100.0 * TARGET_MEDIAN
        );
    }
    let _ = writeln!(s);
}

/// What the reconciliation did to a program's trace, and what that leaves
/// of its gap to the timed copy (`one`: one copy in a thread, seconds).
pub fn reconciliation_sentence(t: &TraceFacts, one: Option<f64>) -> String {
    let Some(r) = &t.reconciliation else {
        return String::new();
    };
    let spread = match (r.samples_s.first(), r.samples_s.last()) {
        (Some(lo), Some(hi)) if r.samples_s.len() > 1 => {
            format!(", {} runs {lo:.3}–{hi:.3} s", r.samples_s.len())
        }
        _ => String::new(),
    };
    let held_and_waits = t.totals_s[1] + t.totals_s[2] + t.totals_s[3];
    match (r.applied, one) {
        (true, Some(m)) => format!(
            " The trace is reconciled with its untraced runs (median {:.3} s{spread}): its total \
is theirs, {} off the copy timed in a thread ({m:.3} s, another sitting), and every row inherits \
that gap.",
            r.untraced_s,
            pct(relative_error(r.untraced_s, m)),
        ),
        (true, None) => String::new(),
        (false, _) => format!(
            " Not reconciled: the traced C and blocked time alone, {held_and_waits:.3} s, exceeds \
its untraced runs (median {:.3} s{spread}), so the tracer inflated time it counts as C or \
blocked, which rescaling Python time cannot undo.",
            r.untraced_s,
        ),
    }
}

/// Items in order of first appearance, once each.
fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Predicted against measured wall time, one series per layout and k, and
/// the line of exact predictions (dotted: a scatter of close points).
pub fn figure(cmp: &[Compared]) -> Figure {
    use gilsim_plots::*;
    let (lo, hi) = cmp.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| {
        (
            lo.min(c.row.median).min(c.predicted),
            hi.max(c.row.median).max(c.predicted),
        )
    });
    let mut series = Vec::new();
    for layout in [Layout::Threads, Layout::Processes] {
        for k in [1, 2, 4] {
            let pts: Vec<(f64, f64)> = cmp
                .iter()
                .filter(|c| c.row.layout == layout && c.row.k == k)
                .map(|c| (c.row.median, c.predicted))
                .collect();
            if !pts.is_empty() {
                series.push(LineSeries::new(format!("{} k={k}", layout.name()), pts));
            }
        }
    }
    if lo < hi {
        let n = 40;
        let line: Vec<(f64, f64)> = (0..=n)
            .map(|i| {
                let x = lo * (hi / lo).powf(f64::from(i) / f64::from(n));
                (x, x)
            })
            .collect();
        series.push(LineSeries::new("exact prediction", line).with_color(okabe_ito::BLACK));
    }
    let chart = LineChart::new(series).with_log_axes(true, true).scatter();
    Figure::new(
        "Real programs: predicted against measured wall time of k copies",
        "measured wall time of the batch (s, log scale)",
        "predicted (s, log scale)",
        chart,
    )
}

#[cfg(test)]
mod tests;
