//! The state a running script shares with the functions it calls: seed,
//! parameters, staged outputs, the sweep worker pool.
//!
//! One [`RunContext`] per run, shared (behind an `Arc`) by every registered
//! function. Sweep points run on other threads, so everything in it is `Sync`;
//! what belongs to one sweep point (its seed, its printed lines) lives in a
//! thread-local set by the sweep instead (see `script/sweep.rs`).

use crate::output::{check_relative, OutputError, Outputs};
use crate::params::Params;
use crate::trace_files::TraceOutputs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Limits on what a script may make the host do.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Rhai operations (a runaway loop stops here).
    pub max_ops: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Nesting of expressions (global, in functions).
    pub max_expr_depth: (usize, usize),
    /// Characters in one string.
    pub max_string_size: usize,
    /// Elements in one array.
    pub max_array_size: usize,
    /// Properties in one object map.
    pub max_map_size: usize,
    /// Modules imported.
    pub max_modules: usize,
    /// Threads in one program (not counting pool workers).
    pub max_threads: usize,
    /// Events in one Chrome trace file (`--max-trace-events`).
    pub max_trace_events: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_ops: crate::DEFAULT_MAX_OPS,
            max_call_levels: 64,
            max_expr_depth: (64, 64),
            max_string_size: 1 << 20,
            max_array_size: 1_000_000,
            max_map_size: 10_000,
            max_modules: 256,
            max_threads: 100_000,
            max_trace_events: crate::trace_files::DEFAULT_MAX_TRACE_EVENTS,
        }
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
    /// `--profile FILE`: calibrated defaults for `machine()` and `python()`.
    pub profile: Option<Arc<crate::profile::Profile>>,
    pool: Mutex<Option<Arc<rayon::ThreadPool>>>,
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
            profile: None,
            pool: Mutex::new(None),
        }
    }

    /// The same context with `profile` as the defaults of `machine()` and `python()`.
    pub fn with_profile(mut self, profile: Option<crate::profile::Profile>) -> Self {
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
            out.stage(rel.clone(), bytes);
        }
        Ok(rel)
    }
}
