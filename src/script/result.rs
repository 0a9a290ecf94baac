//! Running a model and reading its report.
//!
//! `machine.run(app, options)` builds the engine config, runs it and returns
//! a `Report`. Every metric of the engine's report has an accessor: the run
//! (`makespan`, `end`, `stop_reason`, totals), each thread (`r.thread("io")`:
//! state times, GIL counters, ops, latency percentiles), each core and each
//! GIL. Times come back as `Duration`s, counts as integers, rates and
//! fractions as floats. A run with `trace: true` also keeps its trace
//! (`r.intervals()`, `r.handoffs()`, `r.timeline(...)` in `figure.rs`), one
//! with `trace_window: [from, to]` only that part of it (a `WindowTrace`, so
//! memory does not grow with the run); `chrome_trace: "name"` and the command
//! line's `--trace FILE` stream the trace to disk as it is made
//! (`crate::output::trace_files`). Every sink a run needs is fed at once.
//!
//! A report is shared, not copied, between the values that point into it
//! (`ThreadReport`, `CoreReport`, `GilReport`), so reading metrics is cheap.

use super::api::add;
use super::api::{Api, RhaiResult};
use super::context::RunContext;
use super::model::{build, Program};
use super::options::Opts;
use super::sweep;
use super::values::describe;
use crate::output::manifest::FILE_NAME as MANIFEST;
use crate::output::staging::check_relative;
use crate::output::trace_files::{FileTraceWriter, StreamingTrace};
use gilsim_engine::{
    run_cancellable, CoreId, EngineError, Histogram, InterpId, MachineConfig, OpKind, ProcessId,
    Report, RunLimits, SimDuration, SimTime, StopReason, ThreadId, ThreadState, TraceSink,
    VecTrace, WindowTrace,
};
use rhai::{Array, Dynamic, Map, FLOAT, INT};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A finished run: the engine's report plus the names the script used.
#[derive(Debug)]
pub struct RunData {
    /// The engine's report.
    pub report: Report,
    /// The trace, if recorded (clipped to `window` if there is one).
    pub trace: Option<VecTrace>,
    /// The window the trace was recorded in (`trace_window`), if any.
    pub window: Option<(SimTime, SimTime)>,
    /// Interpreter names by index: the script's names for the interpreters it
    /// declared, the engine's for pool workers.
    pub interp_names: Vec<String>,
    /// The seed it ran with.
    pub seed: u64,
}

/// A run's report, as a script value (`Report`).
#[derive(Clone, Debug)]
pub struct RunReport(pub Arc<RunData>);

/// One thread of a report (`ThreadReport`).
#[derive(Clone, Debug)]
pub struct ThreadResult(Arc<RunData>, usize);

/// One core of a report (`CoreReport`).
#[derive(Clone, Debug)]
pub struct CoreResult(Arc<RunData>, usize);

/// One GIL of a report (`GilReport`).
#[derive(Clone, Debug)]
pub struct GilResult(Arc<RunData>, usize);

fn at(t: SimTime) -> SimDuration {
    SimDuration(t.0)
}

fn count(n: u64) -> INT {
    INT::try_from(n).unwrap_or(INT::MAX)
}

/// Options of `Machine.run`.
const RUN_OPTIONS: &[&str] = &[
    "stop_at",
    "max_events",
    "seed",
    "trace",
    "trace_window",
    "chrome_trace",
];

/// Every trace sink a run may feed at once.
#[derive(Default)]
struct Sinks {
    /// `trace: true`.
    keep: Option<VecTrace>,
    /// `trace_window: [from, to]`.
    window: Option<WindowTrace>,
    /// `chrome_trace: "name"`.
    named: Option<StreamingTrace>,
    /// `--trace FILE`.
    cli: Option<StreamingTrace>,
    /// Most records `keep` and `window` may hold (`--limit trace-events`).
    kept_limit: u64,
    /// Records `keep` and `window` hold.
    kept: u64,
    /// A record was dropped because `kept` reached `kept_limit`.
    kept_full: bool,
    /// Set once a trace cannot take more (its limit, a write error): the
    /// simulation then stops at its next cancellation check.
    full: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Sinks {
    fn is_empty(&self) -> bool {
        self.keep.is_none() && self.window.is_none() && self.named.is_none() && self.cli.is_none()
    }

    /// Whether `keep` and `window` may take one more record.
    fn room(&mut self) -> bool {
        if self.keep.is_none() && self.window.is_none() {
            return false;
        }
        if self.kept >= self.kept_limit {
            self.kept_full = true;
            return false;
        }
        true
    }

    fn count_kept(&mut self, before: usize) {
        let after = self.kept_len();
        self.kept += (after - before) as u64;
    }

    fn kept_len(&self) -> usize {
        let k = self
            .keep
            .as_ref()
            .map_or(0, |t| t.intervals.len() + t.handoffs.len());
        let w = self
            .window
            .as_ref()
            .map_or(0, |t| t.trace.intervals.len() + t.trace.handoffs.len());
        k + w
    }
}

impl Sinks {
    /// Why a trace can take no more, if one cannot: the names of the
    /// `chrome_trace` and `--trace` files for the message.
    fn failure(&self, chrome: Option<&Path>, cli: Option<&str>) -> Option<String> {
        let w = |t: &Option<StreamingTrace>| t.as_ref().and_then(|t| t.writer.failure());
        if let Some(e) = w(&self.named) {
            let name = chrome.map(|p| p.display().to_string()).unwrap_or_default();
            return Some(format!("chrome_trace \"{name}\": {e}"));
        }
        if let Some(e) = w(&self.cli) {
            return Some(format!("--trace {}: {e}", cli.unwrap_or("")));
        }
        self.kept_full.then(|| {
            let option = if self.keep.is_some() {
                "trace: true"
            } else {
                "trace_window"
            };
            format!(
                "the trace kept in memory ({option}) has more than {} events; {}, or keep a shorter window (trace_window) or run (stop_at)",
                self.kept_limit,
                crate::support::limits::raise_hint("trace-events", self.kept_limit, None)
            )
        })
    }

    fn note_full(&mut self) {
        let w =
            |t: &Option<StreamingTrace>| t.as_ref().is_some_and(|t| t.writer.failure().is_some());
        if self.kept_full || w(&self.named) || w(&self.cli) {
            self.full.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The streamed writers, each optional: `None` discards.
    fn writers(&mut self) -> (Option<&mut FileTraceWriter>, Option<&mut FileTraceWriter>) {
        (
            self.named.as_mut().map(|n| &mut n.writer),
            self.cli.as_mut().map(|c| &mut c.writer),
        )
    }
}

impl TraceSink for Sinks {
    fn interval(&mut self, thread: ThreadId, state: ThreadState, start: SimTime, end: SimTime) {
        if self.room() {
            let before = self.kept_len();
            self.keep.interval(thread, state, start, end);
            self.window.interval(thread, state, start, end);
            self.count_kept(before);
        }
        let (mut named, mut cli) = self.writers();
        named.interval(thread, state, start, end);
        cli.interval(thread, state, start, end);
        self.note_full();
    }

    fn handoff(&mut self, interp: InterpId, time: SimTime, from: Option<ThreadId>, to: ThreadId) {
        if self.room() {
            let before = self.kept_len();
            self.keep.handoff(interp, time, from, to);
            self.window.handoff(interp, time, from, to);
            self.count_kept(before);
        }
        let (mut named, mut cli) = self.writers();
        named.handoff(interp, time, from, to);
        cli.handoff(interp, time, from, to);
        self.note_full();
    }

    fn thread_started(
        &mut self,
        time: SimTime,
        thread: ThreadId,
        name: &str,
        process: ProcessId,
        process_name: &str,
    ) {
        let (mut named, mut cli) = self.writers();
        named.thread_started(time, thread, name, process, process_name);
        cli.thread_started(time, thread, name, process, process_name);
    }

    /// Only the Chrome traces draw cores; the traces kept for the script
    /// (`r.intervals()`) have no use for them.
    fn on_core(&mut self, core: CoreId, thread: ThreadId, start: SimTime, end: SimTime) {
        let (mut named, mut cli) = self.writers();
        named.on_core(core, thread, start, end);
        cli.on_core(core, thread, start, end);
        self.note_full();
    }
}

/// The file a `chrome_trace` name is written to, relative to the output folder.
fn json_path(name: &str) -> String {
    if name.ends_with(".json") {
        name.to_string()
    } else {
        format!("{name}.json")
    }
}

/// The `trace_window` option: `[from, to]`, two Durations with `from < to`.
fn trace_window(o: &mut Opts) -> RhaiResult<Option<(SimTime, SimTime)>> {
    let Some(v) = o.raw("trace_window") else {
        return Ok(None);
    };
    let bad = |o: &Opts| {
        o.error(
            "trace_window",
            format!(
                "expected [from, to], two Durations like [ms(10), ms(50)], got {}",
                describe(&v)
            ),
        )
    };
    let list = v.clone().into_array().map_err(|_| bad(o))?;
    let ends: Vec<SimDuration> = list
        .iter()
        .filter_map(|d| d.clone().flatten().try_cast::<SimDuration>())
        .collect();
    match ends[..] {
        [from, to] if list.len() == 2 => {
            if from >= to {
                return Err(o.error(
                    "trace_window",
                    format!("[{from}, {to}] is empty; it needs from < to"),
                ));
            }
            Ok(Some((SimTime(from.0), SimTime(to.0))))
        }
        _ => Err(bad(o)),
    }
}

/// The `chrome_trace` option: the checked relative path of its file.
fn chrome_trace_path(o: &mut Opts) -> RhaiResult<Option<PathBuf>> {
    let Some(name) = o.string("chrome_trace")? else {
        return Ok(None);
    };
    let rel = check_relative(&json_path(&name)).map_err(|e| o.error("chrome_trace", e))?;
    if rel == Path::new(MANIFEST) {
        return Err(o.error(
            "chrome_trace",
            "manifest.json is the run's manifest; choose another name",
        ));
    }
    if sweep::in_point() {
        return Err(o.error(
            "chrome_trace",
            "cannot be used inside a sweep point (points run in parallel and would all write traces); trace one configuration with a run outside the sweep",
        ));
    }
    Ok(Some(rel))
}

fn lock<T>(m: &std::sync::Mutex<T>) -> RhaiResult<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| "internal error: a lock is poisoned".into())
}

/// `machine.run(app, options)`.
fn run(
    ctx: &RunContext,
    machine: &MachineConfig,
    program: &Program,
    opts: Map,
) -> RhaiResult<RunReport> {
    let mut o = Opts::new("run()", opts, RUN_OPTIONS)?;
    let until = o.duration("stop_at")?.map(|d| SimTime(d.0));
    let cap = ctx.limits.max_events;
    let asked = o.int_in("max_events", 1, i64::MAX)?.map(|n| n as u64);
    if let Some(n) = asked.filter(|n| *n > cap) {
        return Err(o.error(
            "max_events",
            format!(
                "{n} is more than the events limit allows; {}",
                crate::support::limits::raise_hint("events", cap, Some(n))
            ),
        ));
    }
    let max_events = asked.unwrap_or(cap);
    let seed = o
        .int_in("seed", 0, i64::MAX)?
        .map_or_else(|| sweep::current_seed(ctx), |s| s as u64);
    let keep = o.bool("trace")?.unwrap_or(false);
    let window = trace_window(&mut o)?;
    if keep && window.is_some() {
        return Err(o.error(
            "trace_window",
            "give trace: true (the whole run) or trace_window (a part of it), not both",
        ));
    }
    let chrome = chrome_trace_path(&mut o)?;
    let built = build(
        program,
        machine,
        RunLimits {
            until,
            max_events,
            seed,
        },
    )
    .map_err(|e| format!("run: {e}"))?;

    let limit = ctx.limits.max_trace_events;
    let mut sinks = Sinks {
        keep: keep.then(VecTrace::default),
        window: window.map(|(from, to)| WindowTrace::new(from, to)),
        kept_limit: limit,
        ..Sinks::default()
    };
    if let Some(rel) = &chrome {
        let trace = lock(&ctx.traces)?
            .open(rel, limit)
            .map_err(|e| o.error("chrome_trace", e))?;
        sinks.named = Some(trace);
    }
    let mut cli_name = None;
    if !sweep::in_point() {
        if let Some((name, trace)) = lock(&ctx.traces)?.take_cli() {
            cli_name = Some(name);
            sinks.cli = Some(trace);
        }
    }

    // Outside a sweep a simulation counts as script time, so an endless loop
    // of runs stops at the `script-time` limit; a sweep point's does not.
    let untimed = sweep::in_point().then(super::guard::Untimed::start);
    // A signal stops the simulation itself, not only the script around it.
    // A trace past its limit stops it too (the run's results could not be
    // kept with their trace anyway).
    let full = sinks.full.clone();
    let interrupted = || ctx.interrupt.is_set() || full.load(std::sync::atomic::Ordering::Relaxed);
    let outcome = if sinks.is_empty() {
        run_cancellable(&built.cfg, &mut gilsim_engine::NoTrace, &interrupted)
    } else {
        run_cancellable(&built.cfg, &mut sinks, &interrupted)
    };
    drop(untimed);
    let trace_failure = sinks
        .failure(chrome.as_deref(), cli_name.as_deref())
        .filter(|_| !ctx.interrupt.is_set());
    let Sinks {
        keep,
        window: window_trace,
        named,
        cli,
        kept_full,
        ..
    } = sinks;
    let report = match outcome {
        Ok(r) => r,
        Err(e) => {
            let msg = match (&e, trace_failure) {
                (EngineError::Cancelled { .. }, Some(f)) => format!("run: {f}"),
                _ => engine_error(&e, asked.is_some()),
            };
            if cli.is_some() {
                lock(&ctx.traces)?.cli_finished(Err(msg.clone()));
            }
            return Err(msg.into());
        }
    };
    if let Some(trace) = cli {
        let finished = trace.finish();
        let failure = finished.as_ref().err().cloned();
        lock(&ctx.traces)?.cli_finished(finished);
        if let (Some(e), Some(name)) = (failure, &cli_name) {
            return Err(format!("run: --trace {name}: {e}").into());
        }
    }
    if let (Some(trace), Some(rel)) = (named, chrome) {
        let finished = trace
            .finish()
            .map_err(|e| format!("run: chrome_trace \"{}\": {e}", rel.display()))?;
        lock(&ctx.traces)?.stage(rel, finished);
    }
    if kept_full {
        let option = if keep.is_some() {
            "trace: true"
        } else {
            "trace_window"
        };
        return Err(format!(
            "run: the trace kept in memory ({option}) has more than {limit} events; {}, or keep a shorter window (trace_window) or run (stop_at)",
            crate::support::limits::raise_hint("trace-events", limit, None)
        )
        .into());
    }
    check_unique_threads(&report)?;
    let interp_names = (0..report.gils.len())
        .map(|i| {
            built
                .interp_names
                .get(i)
                .cloned()
                .unwrap_or_else(|| report.gils[i].name.clone())
        })
        .collect();
    let trace = keep.or(window_trace.map(|w| w.trace));
    Ok(RunReport(Arc::new(RunData {
        report,
        trace,
        window,
        interp_names,
        seed,
    })))
}

/// The message of an engine error, for scripts; `option` tells whether the
/// event limit came from the run option `max_events` (else from `--limit events`).
fn engine_error(e: &EngineError, option: bool) -> String {
    match e {
        EngineError::Config(c) => format!("run: the model is not valid: {c}"),
        EngineError::Deadlock { .. } => format!("run: {e}"),
        EngineError::EventLimit { limit, time } if option => format!(
            "run: stopped after max_events = {limit} events at {time} without finishing; raise the run option max_events (up to the events limit, which --limit events=N raises), or end the run earlier with stop_at"
        ),
        EngineError::EventLimit { limit, time } => format!(
            "run: stopped after {limit} events at {time} without finishing; {}, or end the run earlier with stop_at",
            crate::support::limits::raise_hint("events", *limit, None)
        ),
        EngineError::UnansweredRequests { .. } | EngineError::TimeOverflow { .. } => {
            format!("run: {e}")
        }
        EngineError::Cancelled { .. } => "the run was interrupted".to_string(),
    }
}

/// Thread names must be unique, so `r.thread_report(name)` is never ambiguous
/// (a pool's workers are named by the engine, e.g. `pool-worker0`).
fn check_unique_threads(report: &Report) -> RhaiResult<()> {
    let mut seen = std::collections::HashSet::with_capacity(report.threads.len());
    for t in &report.threads {
        if !seen.insert(t.name.as_str()) {
            return Err(format!(
                "run: two threads are named \"{}\" (a pool's workers are named <pool>-worker0, <pool>-worker1, ...); rename the thread or the pool",
                t.name
            )
            .into());
        }
    }
    Ok(())
}

/// A queue's length over time: one `#{ start, span, mean, max }` per time
/// bucket (Durations, the time-weighted mean and the highest length).
fn level_points(points: &[gilsim_engine::LevelPoint]) -> rhai::Array {
    points
        .iter()
        .map(|p| {
            Dynamic::from(Map::from_iter([
                ("start".into(), Dynamic::from(p.start.since(SimTime::ZERO))),
                ("span".into(), Dynamic::from(p.span)),
                ("mean".into(), Dynamic::from(p.mean() as FLOAT)),
                ("max".into(), Dynamic::from(count(p.max))),
            ]))
        })
        .collect()
}

/// `#{ name, sent, completed, dropped, timed_out, saturated, throughput,
/// latency_mean, latency_p50, latency_p90, latency_p99, latency_max,
/// in_server }`: latencies are `()` when no request completed; throughput
/// is completed requests per second of the run; `in_server` is the requests
/// at the server over time ([`level_points`]).
fn source_map(s: &gilsim_engine::SourceReport, end: SimTime) -> Map {
    let mut m = Map::new();
    m.insert("name".into(), Dynamic::from(s.name.clone()));
    for (k, v) in [
        ("sent", s.sent),
        ("completed", s.completed),
        ("dropped", s.dropped),
        ("timed_out", s.timed_out),
    ] {
        m.insert(k.into(), Dynamic::from(count(v)));
    }
    m.insert("saturated".into(), Dynamic::from(s.saturated));
    let span = end.since(SimTime::ZERO).as_secs_f64();
    let throughput = if span > 0.0 {
        s.completed as f64 / span
    } else {
        0.0
    };
    m.insert("throughput".into(), Dynamic::from(throughput as FLOAT));
    let h = &s.latency;
    let some = |d: SimDuration| {
        if h.count() > 0 {
            Dynamic::from(d)
        } else {
            Dynamic::UNIT
        }
    };
    m.insert("latency_mean".into(), some(h.mean()));
    for (k, p) in [
        ("latency_p50", 50.0),
        ("latency_p90", 90.0),
        ("latency_p99", 99.0),
    ] {
        m.insert(k.into(), some(h.percentile(p)));
    }
    m.insert("latency_max".into(), some(h.max()));
    m.insert(
        "in_server".into(),
        Dynamic::from(level_points(&s.in_server)),
    );
    m
}

impl RunReport {
    fn thread(&self, name: &str) -> RhaiResult<ThreadResult> {
        match self.0.report.threads.iter().position(|t| t.name == name) {
            Some(i) => Ok(ThreadResult(self.0.clone(), i)),
            None => {
                let names: Vec<String> = self
                    .0
                    .report
                    .threads
                    .iter()
                    .take(20)
                    .map(|t| format!("\"{}\"", t.name))
                    .collect();
                let more = if self.0.report.threads.len() > 20 {
                    ", ..."
                } else {
                    ""
                };
                Err(format!(
                    "the report has no thread \"{name}\"; its threads: {}{more}",
                    names.join(", ")
                )
                .into())
            }
        }
    }

    /// `#{name, accepted, peak_backlog, backlog}` of the listener named
    /// `name` (`backlog`: its length over time, [`level_points`]).
    fn listener(&self, name: &str) -> RhaiResult<Map> {
        let all = &self.0.report.listeners;
        match all.iter().find(|l| l.name == name) {
            Some(l) => Ok(Map::from_iter([
                ("name".into(), Dynamic::from(l.name.clone())),
                ("accepted".into(), Dynamic::from(count(l.accepted))),
                ("peak_backlog".into(), Dynamic::from(count(l.peak_backlog))),
                ("backlog".into(), Dynamic::from(level_points(&l.backlog))),
            ])),
            None if all.is_empty() => Err(format!(
                "the report has no listener \"{name}\"; the program declared none"
            )
            .into()),
            None => {
                let names: Vec<String> = all.iter().map(|l| format!("\"{}\"", l.name)).collect();
                Err(format!(
                    "the report has no listener \"{name}\"; its listeners: {}",
                    names.join(", ")
                )
                .into())
            }
        }
    }

    /// `#{name, iterations, callbacks, tasks_done, mean_tasks}` of the
    /// event loop of the thread named `name` (docs/scripting.md, "asyncio").
    fn event_loop(&self, name: &str) -> RhaiResult<Map> {
        let report = &self.0.report;
        let Some(l) = report.loops.iter().find(|l| l.name == name) else {
            let names: Vec<String> = report
                .loops
                .iter()
                .map(|l| format!("\"{}\"", l.name))
                .collect();
            return Err(format!(
                "the report has no event loop \"{name}\"; its loops: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
            .into());
        };
        let span = report.end.since(gilsim_engine::SimTime::ZERO).as_secs_f64();
        Ok(Map::from_iter([
            ("name".into(), Dynamic::from(l.name.clone())),
            ("iterations".into(), Dynamic::from(count(l.iterations))),
            ("callbacks".into(), Dynamic::from(count(l.handles))),
            ("tasks_done".into(), Dynamic::from(count(l.tasks_done))),
            (
                "mean_tasks".into(),
                Dynamic::from(if span > 0.0 {
                    l.task_seconds / span
                } else {
                    0.0
                }),
            ),
        ]))
    }

    /// A source's metrics as a map (see docs/scripting.md, "Services").
    fn source(&self, name: &str) -> RhaiResult<Map> {
        let all = &self.0.report.sources;
        match all.iter().find(|s| s.name == name) {
            Some(s) => Ok(source_map(s, self.0.report.end)),
            None if all.is_empty() => Err(format!(
                "the report has no source \"{name}\"; the program declared none"
            )
            .into()),
            None => {
                let names: Vec<String> = all.iter().map(|s| format!("\"{}\"", s.name)).collect();
                Err(format!(
                    "the report has no source \"{name}\"; its sources: {}",
                    names.join(", ")
                )
                .into())
            }
        }
    }

    fn gil(&self, name: &str) -> RhaiResult<GilResult> {
        match self.0.interp_names.iter().position(|n| n == name) {
            Some(i) if i < self.0.report.gils.len() => Ok(GilResult(self.0.clone(), i)),
            _ => Err(format!(
                "the report has no interpreter \"{name}\"; its interpreters: {}",
                self.0.interp_names.join(", ")
            )
            .into()),
        }
    }

    fn core(&self, i: INT) -> RhaiResult<CoreResult> {
        let n = self.0.report.cores.len();
        match usize::try_from(i) {
            Ok(i) if i < n => Ok(CoreResult(self.0.clone(), i)),
            _ => Err(format!("core({i}): the machine has cores 0 to {}", n - 1).into()),
        }
    }

    fn utilisation(&self) -> FLOAT {
        let cores = &self.0.report.cores;
        cores.iter().map(|c| c.utilisation).sum::<f64>() / cores.len().max(1) as f64
    }

    fn stop_reason(&self) -> &'static str {
        match self.0.report.stop {
            StopReason::Completed => "completed",
            StopReason::Until => "until",
        }
    }

    fn summary(&self) -> Map {
        let r = &self.0.report;
        let mut m = Map::new();
        m.insert(
            "makespan_s".into(),
            Dynamic::from_float(r.makespan.as_secs_f64()),
        );
        m.insert("end_s".into(), Dynamic::from_float(r.end.as_secs_f64()));
        m.insert(
            "gil_switches".into(),
            Dynamic::from_int(count(r.totals.gil_switches)),
        );
        m.insert(
            "failed_wakeups".into(),
            Dynamic::from_int(count(r.totals.failed_wakeups)),
        );
        m.insert(
            "drop_requests".into(),
            Dynamic::from_int(count(r.totals.drop_requests)),
        );
        m.insert(
            "context_switches".into(),
            Dynamic::from_int(count(r.totals.context_switches)),
        );
        m.insert("events".into(), Dynamic::from_int(count(r.totals.events)));
        m.insert(
            "utilisation".into(),
            Dynamic::from_float(self.utilisation()),
        );
        m
    }

    fn intervals(&self, limit: usize) -> RhaiResult<Array> {
        let trace = self.trace()?;
        if trace.intervals.len() > limit {
            return Err(too_long("intervals", trace.intervals.len(), limit));
        }
        let names = &self.0.report.threads;
        Ok(trace
            .intervals
            .iter()
            .map(|iv| {
                let mut m = Map::new();
                m.insert(
                    "thread_name".into(),
                    names[iv.thread.index()].name.clone().into(),
                );
                m.insert("state".into(), iv.state.name().into());
                m.insert("start".into(), Dynamic::from(at(iv.start)));
                m.insert("end".into(), Dynamic::from(at(iv.end)));
                Dynamic::from_map(m)
            })
            .collect())
    }

    fn handoffs(&self, limit: usize) -> RhaiResult<Array> {
        let trace = self.trace()?;
        if trace.handoffs.len() > limit {
            return Err(too_long("hand-offs", trace.handoffs.len(), limit));
        }
        let names = &self.0.report.threads;
        Ok(trace
            .handoffs
            .iter()
            .map(|h| {
                let mut m = Map::new();
                let interp = self
                    .0
                    .interp_names
                    .get(h.interp.index())
                    .cloned()
                    .unwrap_or_else(|| h.interp.to_string());
                m.insert("interpreter".into(), interp.into());
                m.insert("time".into(), Dynamic::from(at(h.time)));
                m.insert(
                    "from".into(),
                    h.from
                        .map_or(Dynamic::UNIT, |t| names[t.index()].name.clone().into()),
                );
                m.insert("to".into(), names[h.to.index()].name.clone().into());
                Dynamic::from_map(m)
            })
            .collect())
    }

    /// The run's trace, or an error saying how to keep one.
    pub(crate) fn trace(&self) -> RhaiResult<&VecTrace> {
        self.0.trace.as_ref().ok_or_else(|| {
            "this run kept no trace; run it with #{ trace: true } or #{ trace_window: [from, to] }"
                .into()
        })
    }
}

fn too_long(what: &str, n: usize, limit: usize) -> Box<rhai::EvalAltResult> {
    format!(
        "the trace has {n} {what}, more than an array may hold; record a shorter run (stop_at) or a window of it (trace_window), or {}",
        crate::support::limits::raise_hint("array", limit as u64, Some(n as u64))
    )
    .into()
}

/// A percentile of `h`, or `()` without samples (a thread with no ops of
/// that kind has no latency, which is not a latency of 0).
fn percentile_or_unit(what: &str, h: &Histogram, p: f64) -> RhaiResult<Dynamic> {
    if !(0.0..=100.0).contains(&p) {
        return Err(format!("{what}({p}): the percentile must be between 0 and 100").into());
    }
    Ok(if h.count() == 0 {
        Dynamic::UNIT
    } else {
        Dynamic::from(h.percentile(p))
    })
}

/// `f(h)`, or `()` without samples.
fn stat_or_unit(h: &Histogram, f: impl Fn(&Histogram) -> SimDuration) -> Dynamic {
    if h.count() == 0 {
        Dynamic::UNIT
    } else {
        Dynamic::from(f(h))
    }
}

impl ThreadResult {
    fn get(&self) -> &gilsim_engine::ThreadReport {
        &self.0.report.threads[self.1]
    }

    /// The durations of this thread's ops of `kind` (every kind: `None`).
    fn ops_of(&self, kind: Option<&str>) -> RhaiResult<Histogram> {
        let ops = &self.get().op_latency;
        match kind {
            None => Ok(ops.all()),
            Some(name) => match OpKind::from_name(name) {
                Some(k) => Ok(ops.of(k).clone()),
                None => {
                    let names: Vec<&str> = OpKind::ALL.iter().map(|k| k.name()).collect();
                    Err(format!(
                        "unknown op kind \"{name}\"; the kinds are {}",
                        names.join(", ")
                    )
                    .into())
                }
            },
        }
    }

    fn ops_per_sec(&self) -> FLOAT {
        self.get().ops_per_sec()
    }
}

/// The per-op latencies (`latency_*`, every kind or one) and the GIL wait
/// after each blocking call (`gil_wait_*`). Each is `()` without samples.
fn register_latencies(api: &mut Api) {
    add!(
        api,
        "ThreadReport.latency_p(p: int|float) -> Duration|()",
        |t: &mut ThreadResult, p: FLOAT| percentile_or_unit("latency_p", &t.ops_of(None)?, p)
    );
    api.engine()
        .register_fn("latency_p", |t: &mut ThreadResult, p: INT| {
            percentile_or_unit("latency_p", &t.ops_of(None)?, p as f64)
        });
    add!(
        api,
        "ThreadReport.latency_p(kind: string, p: int|float) -> Duration|()",
        |t: &mut ThreadResult, kind: &str, p: FLOAT| {
            percentile_or_unit("latency_p", &t.ops_of(Some(kind))?, p)
        }
    );
    api.engine()
        .register_fn("latency_p", |t: &mut ThreadResult, kind: &str, p: INT| {
            percentile_or_unit("latency_p", &t.ops_of(Some(kind))?, p as f64)
        });
    type Stat = fn(&Histogram) -> SimDuration;
    let stats: [(&str, &str, Stat); 3] = [
        ("latency_mean", "gil_wait_mean", Histogram::mean),
        ("latency_min", "gil_wait_min", Histogram::min),
        ("latency_max", "gil_wait_max", Histogram::max),
    ];
    for (ops_name, gil_name, f) in stats {
        let sig = format!("ThreadReport.{ops_name}() -> Duration|()");
        let name = api.record(&sig);
        api.engine().register_fn(name, move |t: &mut ThreadResult| {
            Ok::<_, Box<rhai::EvalAltResult>>(stat_or_unit(&t.ops_of(None)?, f))
        });
        let sig = format!("ThreadReport.{ops_name}(kind: string) -> Duration|()");
        let name = api.record(&sig);
        api.engine()
            .register_fn(name, move |t: &mut ThreadResult, kind: &str| {
                Ok::<_, Box<rhai::EvalAltResult>>(stat_or_unit(&t.ops_of(Some(kind))?, f))
            });
        let sig = format!("ThreadReport.{gil_name}() -> Duration|()");
        let name = api.record(&sig);
        api.engine().register_fn(name, move |t: &mut ThreadResult| {
            stat_or_unit(&t.get().gil_wait_after_io, f)
        });
    }
    add!(
        api,
        "ThreadReport.latency_count() -> int",
        |t: &mut ThreadResult| t.ops_of(None).map(|h| count(h.count()))
    );
    add!(
        api,
        "ThreadReport.latency_count(kind: string) -> int",
        |t: &mut ThreadResult, kind: &str| t.ops_of(Some(kind)).map(|h| count(h.count()))
    );
    add!(
        api,
        "ThreadReport.gil_wait_p(p: int|float) -> Duration|()",
        |t: &mut ThreadResult, p: FLOAT| {
            percentile_or_unit("gil_wait_p", &t.get().gil_wait_after_io, p)
        }
    );
    api.engine()
        .register_fn("gil_wait_p", |t: &mut ThreadResult, p: INT| {
            percentile_or_unit("gil_wait_p", &t.get().gil_wait_after_io, p as f64)
        });
    add!(
        api,
        "ThreadReport.gil_wait_count() -> int",
        |t: &mut ThreadResult| count(t.get().gil_wait_after_io.count())
    );
}

/// Registers `Machine.run`, `Report` and the per-thread, core and GIL reports.
pub fn register(api: &mut Api, ctx: Arc<RunContext>) {
    api.engine()
        .register_type_with_name::<RunReport>("Report")
        .register_type_with_name::<ThreadResult>("ThreadReport")
        .register_type_with_name::<CoreResult>("CoreReport")
        .register_type_with_name::<GilResult>("GilReport")
        .register_fn("to_string", |r: &mut RunReport| {
            format!(
                "report({}, makespan {})",
                r.stop_reason(),
                r.0.report.makespan
            )
        })
        .register_fn("to_debug", |r: &mut RunReport| {
            format!(
                "report({}, makespan {})",
                r.stop_reason(),
                r.0.report.makespan
            )
        })
        .register_fn("to_string", |t: &mut ThreadResult| {
            format!("thread report \"{}\"", t.get().name)
        })
        .register_fn("to_debug", |t: &mut ThreadResult| {
            format!("thread report \"{}\"", t.get().name)
        })
        .register_fn("to_string", |c: &mut CoreResult| {
            format!("core report {}", c.1)
        })
        .register_fn("to_debug", |c: &mut CoreResult| {
            format!("core report {}", c.1)
        })
        .register_fn("to_string", |g: &mut GilResult| {
            format!("GIL report \"{}\"", g.0.interp_names[g.1])
        })
        .register_fn("to_debug", |g: &mut GilResult| {
            format!("GIL report \"{}\"", g.0.interp_names[g.1])
        });

    let c = ctx.clone();
    add!(
        api,
        "Machine.run(app: Program) -> Report",
        move |m: &mut MachineConfig, p: Program| run(&c, m, &p, Map::new())
    );
    add!(
        api,
        "Machine.run(app: Program, options: map) -> Report",
        move |m: &mut MachineConfig, p: Program, o: Map| { run(&ctx, m, &p, o) }
    );

    // The run.
    add!(api, "Report.makespan() -> Duration", |r: &mut RunReport| r
        .0
        .report
        .makespan);
    add!(api, "Report.end() -> Duration", |r: &mut RunReport| at(r
        .0
        .report
        .end));
    add!(
        api,
        "Report.stop_reason() -> string",
        |r: &mut RunReport| r.stop_reason()
    );
    add!(api, "Report.seed() -> int", |r: &mut RunReport| r.0.seed
        as INT);
    add!(api, "Report.gil_switches() -> int", |r: &mut RunReport| {
        count(r.0.report.totals.gil_switches)
    });
    add!(
        api,
        "Report.failed_wakeups() -> int",
        |r: &mut RunReport| count(r.0.report.totals.failed_wakeups)
    );
    add!(api, "Report.drop_requests() -> int", |r: &mut RunReport| {
        count(r.0.report.totals.drop_requests)
    });
    add!(
        api,
        "Report.context_switches() -> int",
        |r: &mut RunReport| count(r.0.report.totals.context_switches)
    );
    add!(api, "Report.events() -> int", |r: &mut RunReport| count(
        r.0.report.totals.events
    ));
    add!(api, "Report.utilisation() -> float", |r: &mut RunReport| r
        .utilisation());
    add!(api, "Report.summary() -> map", |r: &mut RunReport| r
        .summary());
    add!(
        api,
        "Report.thread_report(name: string) -> ThreadReport",
        |r: &mut RunReport, name: &str| r.thread(name)
    );
    add!(
        api,
        "Report.threads() -> array of ThreadReport",
        |r: &mut RunReport| {
            (0..r.0.report.threads.len())
                .map(|i| Dynamic::from(ThreadResult(r.0.clone(), i)))
                .collect::<Array>()
        }
    );
    add!(
        api,
        "Report.core(i: int) -> CoreReport",
        |r: &mut RunReport, i: INT| r.core(i)
    );
    add!(
        api,
        "Report.cores() -> array of CoreReport",
        |r: &mut RunReport| {
            (0..r.0.report.cores.len())
                .map(|i| Dynamic::from(CoreResult(r.0.clone(), i)))
                .collect::<Array>()
        }
    );
    add!(
        api,
        "Report.listener(name: string) -> map",
        |r: &mut RunReport, name: &str| r.listener(name)
    );
    add!(
        api,
        "Report.event_loop(name: string) -> map",
        |r: &mut RunReport, name: &str| r.event_loop(name)
    );
    add!(
        api,
        "Report.source(name: string) -> map",
        |r: &mut RunReport, name: &str| r.source(name)
    );
    add!(
        api,
        "Report.sources() -> array of map",
        |r: &mut RunReport| {
            r.0.report
                .sources
                .iter()
                .map(|s| Dynamic::from(source_map(s, r.0.report.end)))
                .collect::<Array>()
        }
    );
    add!(api, "Report.gil() -> GilReport", |r: &mut RunReport| {
        GilResult(r.0.clone(), 0)
    });
    add!(
        api,
        "Report.gil(interpreter: string) -> GilReport",
        |r: &mut RunReport, name: &str| r.gil(name)
    );
    add!(
        api,
        "Report.gils() -> array of GilReport",
        |r: &mut RunReport| {
            (0..r.0.report.gils.len())
                .map(|i| Dynamic::from(GilResult(r.0.clone(), i)))
                .collect::<Array>()
        }
    );
    let limit = api.limits().max_array_size;
    add!(
        api,
        "Report.intervals() -> array of map",
        move |r: &mut RunReport| r.intervals(limit)
    );
    add!(
        api,
        "Report.handoffs() -> array of map",
        move |r: &mut RunReport| r.handoffs(limit)
    );

    // One thread.
    add!(
        api,
        "ThreadReport.name() -> string",
        |t: &mut ThreadResult| t.get().name.clone()
    );
    add!(
        api,
        "ThreadReport.process() -> string",
        |t: &mut ThreadResult| {
            t.0.report
                .processes
                .get(t.get().process.index())
                .map(|p| p.name.clone())
                .unwrap_or_default()
        }
    );
    add!(
        api,
        "ThreadReport.interpreter() -> string",
        |t: &mut ThreadResult| {
            t.0.interp_names
                .get(t.get().interp.index())
                .cloned()
                .unwrap_or_default()
        }
    );
    add!(
        api,
        "ThreadReport.started() -> Duration or ()",
        |t: &mut ThreadResult| {
            t.get()
                .started
                .map_or(Dynamic::UNIT, |s| Dynamic::from(at(s)))
        }
    );
    add!(
        api,
        "ThreadReport.finished() -> Duration or ()",
        |t: &mut ThreadResult| {
            t.get()
                .finished
                .map_or(Dynamic::UNIT, |s| Dynamic::from(at(s)))
        }
    );
    add!(
        api,
        "ThreadReport.lifetime() -> Duration",
        |t: &mut ThreadResult| t.get().lifetime()
    );
    add!(
        api,
        "ThreadReport.python() -> Duration",
        |t: &mut ThreadResult| t.get().times.python
    );
    add!(
        api,
        "ThreadReport.native_holding_gil() -> Duration",
        |t: &mut ThreadResult| t.get().times.native_holding_gil
    );
    add!(
        api,
        "ThreadReport.native_released_gil() -> Duration",
        |t: &mut ThreadResult| t.get().times.native_released_gil
    );
    add!(
        api,
        "ThreadReport.waiting_gil() -> Duration",
        |t: &mut ThreadResult| t.get().times.waiting_gil
    );
    add!(
        api,
        "ThreadReport.runnable() -> Duration",
        |t: &mut ThreadResult| t.get().times.runnable
    );
    add!(
        api,
        "ThreadReport.blocked() -> Duration",
        |t: &mut ThreadResult| t.get().times.blocked
    );
    add!(
        api,
        "ThreadReport.cpu() -> Duration",
        |t: &mut ThreadResult| t.get().times.cpu()
    );
    add!(
        api,
        "ThreadReport.py_work() -> Duration",
        |t: &mut ThreadResult| t.get().py_work
    );
    add!(
        api,
        "ThreadReport.gil_acquisitions() -> int",
        |t: &mut ThreadResult| count(t.get().gil_acquisitions)
    );
    add!(
        api,
        "ThreadReport.forced_drops() -> int",
        |t: &mut ThreadResult| count(t.get().forced_drops)
    );
    add!(
        api,
        "ThreadReport.drop_requests() -> int",
        |t: &mut ThreadResult| count(t.get().drop_requests)
    );
    add!(
        api,
        "ThreadReport.failed_wakeups() -> int",
        |t: &mut ThreadResult| count(t.get().failed_wakeups)
    );
    add!(api, "ThreadReport.ops() -> int", |t: &mut ThreadResult| {
        count(t.get().ops)
    });
    add!(
        api,
        "ThreadReport.tasks() -> int",
        |t: &mut ThreadResult| count(t.get().tasks)
    );
    add!(
        api,
        "ThreadReport.ops_per_sec() -> float",
        |t: &mut ThreadResult| t.ops_per_sec()
    );
    register_latencies(api);

    // One core.
    add!(api, "CoreReport.index() -> int", |c: &mut CoreResult| c.1
        as INT);
    add!(
        api,
        "CoreReport.busy() -> Duration",
        |c: &mut CoreResult| c.0.report.cores[c.1].busy
    );
    add!(
        api,
        "CoreReport.utilisation() -> float",
        |c: &mut CoreResult| c.0.report.cores[c.1].utilisation
    );
    add!(
        api,
        "CoreReport.context_switches() -> int",
        |c: &mut CoreResult| count(c.0.report.cores[c.1].context_switches)
    );

    // One GIL.
    add!(api, "GilReport.name() -> string", |g: &mut GilResult| g
        .0
        .interp_names
        .get(g.1)
        .cloned()
        .unwrap_or_default());
    add!(api, "GilReport.model() -> string", |g: &mut GilResult| g
        .0
        .report
        .gils[g.1]
        .model);
    add!(api, "GilReport.switches() -> int", |g: &mut GilResult| {
        count(g.0.report.gils[g.1].switches)
    });
    add!(
        api,
        "GilReport.acquisitions() -> int",
        |g: &mut GilResult| count(g.0.report.gils[g.1].acquisitions)
    );
    add!(
        api,
        "GilReport.drop_requests() -> int",
        |g: &mut GilResult| count(g.0.report.gils[g.1].drop_requests)
    );
    add!(
        api,
        "GilReport.forced_drops() -> int",
        |g: &mut GilResult| count(g.0.report.gils[g.1].forced_drops)
    );
    add!(
        api,
        "GilReport.failed_wakeups() -> int",
        |g: &mut GilResult| count(g.0.report.gils[g.1].failed_wakeups)
    );
    add!(api, "GilReport.checks() -> int", |g: &mut GilResult| count(
        g.0.report.gils[g.1].checks
    ));
}
