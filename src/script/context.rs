//! The state a running script shares with the functions it calls: seed,
//! parameters, staged outputs, the sweep worker pool.
//!
//! One [`RunContext`] per run, shared (behind an `Arc`) by every registered
//! function. Sweep points run on other threads, so everything in it is `Sync`;
//! what belongs to one sweep point (its seed, its printed lines) lives in a
//! thread-local set by the sweep instead (see `script/sweep.rs`).

use super::resolver::Sources;
use crate::output::staging::{check_relative, OutputError, Outputs};
use crate::output::trace_files::TraceOutputs;
use crate::support::interrupt::Interrupt;
use crate::support::limits::LIMITS;
use crate::sweep::journal::Journal;
use crate::sweep::params::Params;
use rhai::Shared;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Limits on what a script may make the host do.
///
/// Every limit has a name ([`LIMITS`]) and is set on the command line with
/// `--limit NAME=VALUE`; every error that reports a limit names it and that
/// flag ([`raise_hint`](crate::support::limits::raise_hint)).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Rhai operations (a runaway loop stops here). `ops`.
    pub max_ops: u64,
    /// Nested function calls. `call-depth`.
    pub max_call_levels: usize,
    /// Nesting of expressions (global, in functions). `expr-depth`.
    pub max_expr_depth: (usize, usize),
    /// Bytes in one string. `string`.
    pub max_string_size: usize,
    /// Items in one array, bytes in one BLOB (top level; see `script/sizes.rs`). `array`.
    pub max_array_size: usize,
    /// Properties in one object map (top level). `map`.
    pub max_map_size: usize,
    /// Modules imported. `modules`.
    pub max_modules: usize,
    /// Threads in one program, pool workers included. `threads`.
    pub max_threads: usize,
    /// Processes and interpreters in one program, process-pool workers
    /// included. `processes`.
    pub max_processes: usize,
    /// Events of one `machine.run`: the default and the cap of its
    /// `max_events` option. `events`.
    pub max_events: u64,
    /// Events in one trace: a Chrome trace file (`--trace`, `chrome_trace`)
    /// or a trace kept in memory (`trace`, `trace_window`). `trace-events`.
    pub max_trace_events: u64,
    /// Runs (points × replicates) of one sweep. `sweep-runs`.
    pub max_sweep_runs: u64,
    /// Seconds of wall-clock time the script spends in its own operations,
    /// summed over its threads; `machine.run` and waiting for sweeps are not
    /// counted (see `script/guard.rs`). `script-time`.
    pub max_script_time_s: u64,
    /// Bytes the run holds in memory: tables, strings, arrays, maps,
    /// printed lines, modules, models (see `support/memory.rs`). `memory`.
    pub max_memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_ops: DEFAULT_MAX_OPS,
            max_call_levels: 64,
            max_expr_depth: (64, 64),
            max_string_size: 1 << 20,
            max_array_size: 1_000_000,
            max_map_size: 10_000,
            max_modules: 256,
            max_threads: 100_000,
            max_processes: 10_000,
            max_events: 100_000_000,
            max_trace_events: crate::output::trace_files::DEFAULT_MAX_TRACE_EVENTS,
            max_sweep_runs: crate::sweep::grid::MAX_TASKS as u64,
            max_script_time_s: DEFAULT_SCRIPT_TIME_S,
            max_memory: DEFAULT_MEMORY,
        }
    }
}

/// Default operations limit: far above what an experiment script does
/// (building a model and a table takes thousands of operations; each sweep
/// point has its own budget), low enough that an endless loop stops within
/// seconds (about 20 million operations per second in a debug build).
pub const DEFAULT_MAX_OPS: u64 = 100_000_000;

/// Default `script-time`: far above what the operations limit lets a script
/// compute (seconds), low enough to stop a script whose operations are slow
/// because its values are huge or deeply nested.
pub const DEFAULT_SCRIPT_TIME_S: u64 = 600;

/// Default `memory`: 2 GiB, far above what an experiment holds (tens of
/// MiB), below the memory of a small machine.
pub const DEFAULT_MEMORY: u64 = 2 << 30;

/// A `--limit` value: digits (with optional `_` separators), optionally
/// followed by `k`, `M` or `G` (thousand, million, billion).
fn parse_count(text: &str) -> Option<u64> {
    let (digits, scale) = match text.strip_suffix(['k', 'M', 'G']) {
        Some(d) => {
            let scale: u64 = match text.chars().last() {
                Some('k') => 1_000,
                Some('M') => 1_000_000,
                _ => 1_000_000_000,
            };
            (d, scale)
        }
        None => (text, 1),
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(scale)
}

fn names() -> String {
    LIMITS.iter().map(|l| l.name).collect::<Vec<_>>().join(", ")
}

impl Limits {
    /// The value of the limit `name` (as in [`LIMITS`]).
    pub fn get(&self, name: &str) -> Option<u64> {
        let v = match name {
            "ops" => self.max_ops,
            "call-depth" => self.max_call_levels as u64,
            "expr-depth" => self.max_expr_depth.0 as u64,
            "string" => self.max_string_size as u64,
            "array" => self.max_array_size as u64,
            "map" => self.max_map_size as u64,
            "modules" => self.max_modules as u64,
            "threads" => self.max_threads as u64,
            "processes" => self.max_processes as u64,
            "events" => self.max_events,
            "trace-events" => self.max_trace_events,
            "sweep-runs" => self.max_sweep_runs,
            "script-time" => self.max_script_time_s,
            "memory" => self.max_memory,
            _ => return None,
        };
        Some(v)
    }

    /// Sets the limit `name` to `value` (at least 1, at most its maximum).
    pub fn set(&mut self, name: &str, value: u64) -> Result<(), String> {
        let name = name.replace('_', "-");
        let Some(info) = LIMITS.iter().find(|l| l.name == name) else {
            return Err(format!(
                "unknown limit \"{name}\"; the limits are: {}",
                names()
            ));
        };
        if value == 0 || value > info.max {
            return Err(format!(
                "limit {name} must be between 1 and {}, got {value}",
                info.max
            ));
        }
        let n = usize::try_from(value).unwrap_or(usize::MAX);
        match info.name {
            "ops" => self.max_ops = value,
            "call-depth" => self.max_call_levels = n,
            "expr-depth" => self.max_expr_depth = (n, n),
            "string" => self.max_string_size = n,
            "array" => self.max_array_size = n,
            "map" => self.max_map_size = n,
            "modules" => self.max_modules = n,
            "threads" => self.max_threads = n,
            "processes" => self.max_processes = n,
            "events" => self.max_events = value,
            "trace-events" => self.max_trace_events = value,
            "script-time" => self.max_script_time_s = value,
            "memory" => self.max_memory = value,
            _ => self.max_sweep_runs = value,
        }
        Ok(())
    }

    /// Applies one `NAME=VALUE` of `--limit`.
    pub fn set_arg(&mut self, arg: &str) -> Result<(), String> {
        let Some((name, value)) = arg.split_once('=') else {
            return Err(format!(
                "expected NAME=VALUE, like ops=1G or threads=200000; the limits are: {}",
                names()
            ));
        };
        let value = parse_count(value.trim()).ok_or_else(|| {
            format!("limit {name}: \"{value}\" is not a count; write digits, optionally with _ separators and a k, M or G suffix, like 2000000, 2_000_000 or 2M")
        })?;
        self.set(name.trim(), value)
    }

    /// The limits as `name: value` pairs, in [`LIMITS`] order (for the manifest).
    pub fn to_map(&self) -> std::collections::BTreeMap<String, u64> {
        LIMITS
            .iter()
            .map(|l| (l.name.to_string(), self.get(l.name).unwrap_or(0)))
            .collect()
    }
}

/// Everything a run's script functions share.
#[derive(Debug)]
pub struct RunContext {
    /// The master seed (`--seed`).
    pub seed: u64,
    /// Sweep workers (`--jobs`).
    pub jobs: usize,
    /// Draw a progress bar for sweeps (stderr is a terminal).
    pub progress: bool,
    /// Limits.
    pub limits: Limits,
    /// `--set` overrides and the parameters read.
    pub params: Params,
    /// Files staged for the output folder.
    pub outputs: Mutex<Outputs>,
    /// Chrome trace files streamed during the run, committed with the outputs.
    pub traces: Mutex<TraceOutputs>,
    /// The sentences of `finding(text)`, in call order.
    pub findings: Mutex<Vec<String>>,
    /// The figures drawn, in the order the script drew them.
    pub figures: Mutex<Vec<FigureNote>>,
    /// `--profile FILE`: calibrated defaults for `machine()` and `python()`.
    pub profile: Option<Arc<crate::calibration::profile::Profile>>,
    /// Set by Ctrl-C or SIGTERM: the script and sweeps stop.
    pub interrupt: Interrupt,
    /// The sweep journal (runs with an output folder only).
    pub journal: Option<Journal>,
    /// `--shard I/N`: run only this shard's share of the first sweep, then stop.
    pub shard: Option<crate::sweep::shard::Shard>,
    /// The shard's record and progress (`--shard` runs only).
    pub shard_state: crate::sweep::shard::ShardState,
    /// Every source read by the run (set by the `Host`).
    sources: Mutex<Option<Shared<Sources>>>,
    pool: Mutex<Option<Arc<rayon::ThreadPool>>>,
}

/// A figure a script drew: what the report shows under and for it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FigureNote {
    /// Its name: the files are `<name>.svg` and `<name>.png`.
    pub name: String,
    /// The caption (`caption` option): what is plotted, the parameters, the replicates.
    pub caption: String,
    /// A text alternative built from the figure itself: kind, axes, series.
    pub alt: String,
}

/// Stack size of sweep worker threads: Rhai recurses on nested expressions
/// and calls, and a debug build needs far more stack per level than release.
const WORKER_STACK: usize = 64 << 20;

impl RunContext {
    /// A context for one run.
    pub fn new(seed: u64, jobs: usize, progress: bool, limits: Limits, params: Params) -> Self {
        RunContext {
            seed,
            jobs: jobs.max(1),
            progress,
            limits,
            params,
            outputs: Mutex::new(Outputs::default()),
            traces: Mutex::new(TraceOutputs::default()),
            findings: Mutex::new(Vec::new()),
            figures: Mutex::new(Vec::new()),
            profile: None,
            interrupt: Interrupt::new(),
            journal: None,
            shard: None,
            shard_state: crate::sweep::shard::ShardState::default(),
            sources: Mutex::new(None),
            pool: Mutex::new(None),
        }
    }

    /// The same context, stopped when `interrupt` is set.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = interrupt;
        self
    }

    /// The same context journaling sweep runs into `out_dir` (reusing an
    /// earlier run's if `resume`).
    pub fn with_journal(mut self, out_dir: PathBuf, resume: bool) -> Self {
        self.journal = Some(Journal::new(out_dir, resume));
        self
    }

    /// The same context whose journal also reuses the runs journaled in
    /// the output folders `sources` (`gilsim merge`).
    pub fn with_journal_sources(mut self, sources: Vec<PathBuf>) -> Self {
        self.journal = self.journal.map(|j| j.with_sources(sources));
        self
    }

    /// The same context running shard `shard` (if any) of its first sweep,
    /// recording it in the shard folder `out_dir`.
    pub fn with_shard(
        mut self,
        shard: Option<crate::sweep::shard::Shard>,
        out_dir: PathBuf,
    ) -> Self {
        self.shard = shard;
        self.shard_state.dir = out_dir;
        self
    }

    /// Remembers where the run's sources are kept (called by the `Host`).
    pub fn attach_sources(&self, sources: Shared<Sources>) {
        if let Ok(mut s) = self.sources.lock() {
            *s = Some(sources);
        }
    }

    /// Every source read so far: name -> text.
    pub fn sources(&self) -> std::collections::BTreeMap<String, super::resolver::SourceFile> {
        self.sources
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|s| s.all()))
            .unwrap_or_default()
    }

    /// A hash of everything a sweep's results depend on besides the sweep
    /// itself: gilsim's version, the texts of the sources read so far (by
    /// content, not path), the `--set` overrides, the master seed and the
    /// calibration profile.
    pub fn fingerprint(&self) -> String {
        let mut texts: Vec<String> = self
            .sources()
            .values()
            .map(|f| crate::output::manifest::sha256_hex(f.text.as_bytes()))
            .collect();
        texts.sort();
        let overrides: Vec<String> = self
            .params
            .overrides()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        crate::sweep::journal::hash_parts(&[
            env!("CARGO_PKG_VERSION").to_string(),
            texts.join(","),
            overrides.join("\n"),
            self.seed.to_string(),
            format!("{:?}", self.profile),
        ])
    }

    /// The same context with `profile` as the defaults of `machine()` and `python()`.
    pub fn with_profile(mut self, profile: Option<crate::calibration::profile::Profile>) -> Self {
        self.profile = profile.map(Arc::new);
        self
    }

    /// The same context writing into `out_dir` (where `chrome_trace` files
    /// are streamed while the script runs).
    pub fn with_out_dir(mut self, out_dir: PathBuf) -> Self {
        self.traces = Mutex::new(TraceOutputs::new(Some(out_dir)));
        self
    }

    /// The sweep worker pool, created on first use with `jobs` threads.
    pub fn pool(&self) -> Result<Arc<rayon::ThreadPool>, String> {
        let mut pool = self
            .pool
            .lock()
            .map_err(|_| "the worker pool lock is poisoned".to_string())?;
        if let Some(p) = pool.as_ref() {
            return Ok(p.clone());
        }
        let p = rayon::ThreadPoolBuilder::new()
            .num_threads(self.jobs)
            .stack_size(WORKER_STACK)
            .thread_name(|i| format!("gilsim-sweep-{i}"))
            .build()
            .map_err(|e| format!("cannot start {} sweep workers: {e}", self.jobs))?;
        let p = Arc::new(p);
        *pool = Some(p.clone());
        Ok(p)
    }

    /// Stages `bytes` as the output file `name` (relative to the output folder).
    pub fn stage(&self, name: &str, bytes: Vec<u8>) -> Result<PathBuf, OutputError> {
        let rel = check_relative(name)?;
        if let Ok(mut out) = self.outputs.lock() {
            out.stage(rel.clone(), bytes)?;
        }
        Ok(rel)
    }
}
