//! `gilsim whatif TRACE.json`: the standard answer for a traced program
//! (issue 17): what k = 1, 2, 4, 8 copies of it would do as threads (at the
//! traced switch interval, 1 ms and 20 ms), as spawned processes (with the
//! measured start-up) and free-threaded, and what limits each layout.
//!
//! It is a run of the built-in script `whatif.rhai` (beside this file), a
//! plain script over `workload()` and `trace_info()`
//! (`crate::script` `workload/trace.rs`), so it has a run's output layout
//! and guarantees (`commands::run`): CSV files, figures and `manifest.json`
//! written all or none into a locked folder, byte-identical for any
//! `--jobs`. The trace is read and checked first
//! ([`crate::calibration::trace`]), so a bad file is an error about the file,
//! not about the script. The script runs as if it lay beside the trace, which
//! it reads by its file name: the loader's confinement to the script's folder
//! holds.

use crate::calibration::trace::{self, TraceError};
use crate::commands::run::{self, RunOptions, RunOutcome};
use crate::script::Limits;
use crate::support::interrupt::Interrupt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The script `gilsim whatif` runs.
pub const SCRIPT: &str = include_str!("whatif.rhai");

/// What `gilsim whatif` needs.
#[derive(Clone, Debug)]
pub struct WhatifOptions {
    /// The trace file.
    pub trace: PathBuf,
    /// Output folder [default: [`default_out_dir`]].
    pub out: Option<PathBuf>,
    /// Cores of the machine modelled [default: the tracing host's CPUs, 4
    /// if the trace does not say].
    pub cores: Option<u32>,
    /// Master seed.
    pub seed: u64,
    /// Sweep workers (`None`: all cores); results do not depend on it.
    pub jobs: Option<usize>,
    /// Progress bars on stderr.
    pub progress: bool,
    /// Ctrl-C and SIGTERM.
    pub interrupt: Interrupt,
}

/// Why `gilsim whatif` failed.
#[derive(Debug, Error)]
pub enum WhatifError {
    /// The trace cannot be used.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The trace path has no file name.
    #[error("{0} is not a trace file's path")]
    NotAFile(String),
    /// The run failed (or was interrupted).
    #[error(transparent)]
    Run(#[from] run::Error),
}

/// `out/<trace stem>-whatif`.
pub fn default_out_dir(trace: &Path) -> PathBuf {
    let stem = trace
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace".into());
    Path::new("out").join(format!("{stem}-whatif"))
}

/// Checks the trace, then runs the built-in script on it.
pub fn whatif(opts: &WhatifOptions) -> Result<RunOutcome, WhatifError> {
    let shown = opts.trace.display().to_string();
    trace::read(&opts.trace, &shown)?;
    let name = opts
        .trace
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| WhatifError::NotAFile(shown.clone()))?;
    let dir = match opts.trace.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut ro = RunOptions::new(dir.join("whatif.rhai"));
    ro.source = Some(SCRIPT.to_string());
    ro.out = Some(
        opts.out
            .clone()
            .unwrap_or_else(|| default_out_dir(&opts.trace)),
    );
    ro.seed = opts.seed;
    ro.jobs = opts.jobs;
    ro.sets = vec![format!("trace={name}")];
    if let Some(c) = opts.cores {
        ro.sets.push(format!("cores={c}"));
    }
    ro.limits = Limits::default();
    ro.progress = opts.progress;
    ro.interrupt = opts.interrupt.clone();
    Ok(run::run(&ro)?)
}
