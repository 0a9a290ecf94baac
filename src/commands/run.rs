//! Running and checking a script file: what `gilsim run` and `gilsim check` do.
//!
//! A run reads the script, evaluates it on a thread with a large stack (Rhai
//! recurses on nested code), then — only if it succeeded — writes the staged
//! outputs into the output folder and the manifest last. A failed run writes
//! nothing, so the folder keeps the complete results of the last good run.
//!
//! While it runs, sweeps append each finished run to the sweep journal
//! (`crate::journal`). A run interrupted by Ctrl-C or SIGTERM
//! ([`crate::support::interrupt`]) stops the script, writes no output, keeps the
//! journal and writes a manifest with `"status": "interrupted"`; a simulation
//! in progress stops at its next cancellation check. If the script still does
//! not stop within [`GRACE`], or a second signal comes, the run is abandoned:
//! its temporary files are deleted, the manifest written, and the caller exits.

use crate::output::folder::FolderLock;
use crate::output::manifest::{FileEntry, Manifest, ParamEntry, FILE_NAME, INTERRUPTED_FILE_NAME};
use crate::output::staging::slashed;
use crate::output::staging::{
    clash, prepare_destination, write_atomically, write_temp, OutputError, Replacer,
};
use crate::script::{Host, Limits, RunContext, ScriptError};
use crate::support::interrupt::{signal_name, Interrupt};
use crate::sweep::params::{Params, SetError, Source};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Largest script file read.
const MAX_SCRIPT_BYTES: u64 = 4 << 20;

/// Stack of the thread that evaluates the script.
const SCRIPT_STACK: usize = 256 << 20;

/// How long an interrupted run waits for the script to stop before it
/// abandons it.
pub const GRACE: Duration = Duration::from_secs(3);

/// Why a run or check failed.
#[derive(Debug, Error)]
pub enum Error {
    /// The script file cannot be read.
    #[error("cannot read script {path}: {reason}")]
    ReadScript {
        /// The path given.
        path: String,
        /// Why.
        reason: String,
    },
    /// The script failed to compile or run.
    #[error(transparent)]
    Script(#[from] Box<ScriptError>),
    /// A `--set` argument is malformed.
    #[error(transparent)]
    Set(#[from] SetError),
    /// An output could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The output folder cannot be used (checked before the script runs).
    #[error(transparent)]
    Folder(#[from] crate::output::folder::FolderError),
    /// `--trace` could not be honoured.
    #[error("{0}")]
    Trace(String),
    /// A `--shard` run could not do its share.
    #[error("{0}")]
    Shard(String),
    /// A shard's record could not be written.
    #[error(transparent)]
    ShardRecord(#[from] crate::sweep::shard::RecordError),
    /// The evaluation thread could not start or crashed.
    #[error("internal error: {0}")]
    Internal(String),
    /// Ctrl-C or SIGTERM stopped the run.
    #[error("{}", interrupted_message(*signal, manifest.as_deref(), *journal_runs, *abandoned))]
    Interrupted {
        /// The signal.
        signal: i32,
        /// The manifest written, if it could be.
        manifest: Option<PathBuf>,
        /// Finished sweep runs kept in the journal.
        journal_runs: u64,
        /// The script did not stop in time and was abandoned.
        abandoned: bool,
    },
}

fn interrupted_message(
    signal: i32,
    manifest: Option<&Path>,
    journal_runs: u64,
    abandoned: bool,
) -> String {
    let mut m = format!("interrupted by {}", signal_name(signal));
    if abandoned {
        m.push_str(&format!(
            " (abandoned the run in progress: it did not stop within {} s, or a second signal came)",
            GRACE.as_secs()
        ));
    }
    m.push_str("; no output was written");
    if let Some(p) = manifest {
        m.push_str(&format!(
            "; {} says \"status\": \"interrupted\"",
            p.display()
        ));
    }
    if journal_runs > 0 {
        m.push_str(&format!(
            "; {journal_runs} finished sweep runs are kept in its journal: rerun with --resume to reuse them"
        ));
    }
    m
}

/// What to run and how.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The script file.
    pub script: PathBuf,
    /// The script's text, if it is not to be read from `script` (the
    /// report's built-in experiments).
    pub source: Option<String>,
    /// The output folder (`None`: [`default_out_dir`]).
    pub out: Option<PathBuf>,
    /// The master seed.
    pub seed: u64,
    /// Sweep workers (`None`: all cores).
    pub jobs: Option<usize>,
    /// `NAME=VALUE` overrides.
    pub sets: Vec<String>,
    /// Limits (operations and sizes).
    pub limits: Limits,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// `--trace FILE`: stream the trace of the first `machine.run` outside a
    /// sweep to this file (written only if the script succeeds).
    pub trace: Option<PathBuf>,
    /// `--profile FILE`: calibrated defaults for `machine()` and `python()`.
    pub profile: Option<crate::calibration::profile::Profile>,
    /// `--resume`: reuse the sweep runs journaled by an earlier run of the
    /// same script, seed and overrides.
    pub resume: bool,
    /// Stops the run when set (Ctrl-C, SIGTERM).
    pub interrupt: Interrupt,
    /// The `--profile` file (recorded by shards, for `gilsim merge`).
    pub profile_file: Option<PathBuf>,
    /// `--shard I/N`: run only this shard's share of the first sweep and stop
    /// (`crate::shard`).
    pub shard: Option<crate::sweep::shard::Shard>,
    /// `gilsim merge`: shard folders whose journals `resume` also reads.
    pub merge_from: Vec<PathBuf>,
}

impl RunOptions {
    /// Options for `script` with every default.
    pub fn new(script: impl Into<PathBuf>) -> Self {
        RunOptions {
            script: script.into(),
            source: None,
            out: None,
            seed: 0,
            jobs: None,
            sets: Vec::new(),
            limits: Limits::default(),
            progress: false,
            trace: None,
            profile: None,
            resume: false,
            interrupt: Interrupt::new(),
            profile_file: None,
            shard: None,
            merge_from: Vec::new(),
        }
    }
}

/// What a successful run wrote.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// The output folder.
    pub out_dir: PathBuf,
    /// The output files written (the manifest not included; `chrome_trace`
    /// files included).
    pub files: Vec<PathBuf>,
    /// The `--trace` file written, if any.
    pub trace_file: Option<PathBuf>,
    /// The manifest.
    pub manifest: PathBuf,
    /// `--set` names the script never read.
    pub unread_sets: Vec<String>,
    /// Wall time in seconds.
    pub wall_time_s: f64,
    /// Sweep runs computed.
    pub computed_runs: u64,
    /// Sweep runs reused from the journal (`--resume`).
    pub resumed_runs: u64,
    /// The sentences of `finding(...)`, in call order (also in the manifest).
    pub findings: Vec<String>,
    /// The figures drawn, in the order the script drew them, with captions.
    pub figures: Vec<crate::script::FigureNote>,
    /// A `--shard` run: the share of the sweep it ran (then `manifest` is
    /// the shard's record and `files` is empty).
    pub shard: Option<crate::sweep::shard::SweepShare>,
}

/// `out/<script stem>`.
pub fn default_out_dir(script: &Path) -> PathBuf {
    let stem = script
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    Path::new("out").join(stem)
}

fn read_script(path: &Path) -> Result<String, Error> {
    let fail = |reason: String| Error::ReadScript {
        path: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("it is not a file".into()));
    }
    if meta.len() > MAX_SCRIPT_BYTES {
        return Err(fail(format!(
            "it is {} bytes, more than the limit of {MAX_SCRIPT_BYTES}",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| fail("it is not UTF-8 text".into()))?;
    // Editors may start a UTF-8 file with a byte-order mark: not code.
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

fn script_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Runs `f` on a thread with a large stack and returns its result.
fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let handle = std::thread::Builder::new()
        .name("gilsim-script".into())
        .stack_size(SCRIPT_STACK)
        .spawn(f)
        .map_err(|e| Error::Internal(format!("cannot start the script thread: {e}")))?;
    handle.join().map_err(|_| {
        Error::Internal("the script thread panicked; please report this with the script".into())
    })
}

/// Runs `f` on a thread with a large stack and waits for it, unless
/// `interrupt` is set and it does not finish within [`GRACE`] (or a second
/// signal comes): then it returns `None` and leaves the thread behind.
fn on_big_stack_until<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
    interrupt: &Interrupt,
) -> Result<Option<T>, Error> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("gilsim-script".into())
        .stack_size(SCRIPT_STACK)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| Error::Internal(format!("cannot start the script thread: {e}")))?;
    let mut deadline = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(v) => return Ok(Some(v)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::Internal(
                    "the script thread panicked; please report this with the script".into(),
                ))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if interrupt.is_set() {
            let end = *deadline.get_or_insert_with(|| {
                interrupt.acknowledge();
                Instant::now() + GRACE
            });
            if interrupt.again() || Instant::now() >= end {
                return Ok(None);
            }
        }
    }
}

/// Checks a script without running it: it must compile, and every
/// `import "..."` must resolve (imported modules are loaded, which runs
/// their top-level statements).
pub fn check(script: &Path, limits: Limits) -> Result<(), Error> {
    let text = read_script(script)?;
    let main = script.display().to_string();
    let dir = script_dir(script);
    let path = script.to_path_buf();
    on_big_stack(move || {
        let ctx = Arc::new(RunContext::new(0, 1, false, limits, Params::default()));
        let host = Host::new(ctx, &main, &dir);
        host.compile(&path, &text)?;
        host.check_imports(&text)?;
        Ok(())
    })?
}

/// What the manifest needs besides the outputs.
struct Started {
    started: Instant,
    started_unix_s: u64,
    text: String,
    jobs: usize,
}

/// Runs a script and, if it succeeds, writes its outputs and manifest.
pub fn run(opts: &RunOptions) -> Result<RunOutcome, Error> {
    let started = Instant::now();
    let started_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let text = match &opts.source {
        Some(text) => text.clone(),
        None => read_script(&opts.script)?,
    };
    let params = Params::from_sets(&opts.sets)?;
    let jobs = opts.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let out_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&opts.script));
    let ctx = RunContext::new(opts.seed, jobs, opts.progress, opts.limits.clone(), params)
        .with_out_dir(out_dir.clone())
        .with_journal(out_dir.clone(), opts.resume)
        .with_journal_sources(opts.merge_from.clone())
        .with_shard(opts.shard, out_dir.clone())
        .with_interrupt(opts.interrupt.clone())
        .with_profile(opts.profile.clone());
    // Before the script runs: a folder that cannot be used fails the run now,
    // and no other run writes into it until this one ends.
    let mut folder = FolderLock::acquire(&out_dir)?;
    if let Some(shard) = opts.shard {
        let record = start_record(opts, shard, &text, ctx.params.overrides());
        crate::sweep::shard::write_record(&out_dir, &record)?;
        *lock(&ctx.shard_state.record)? = Some(record);
    }
    if let Some(file) = &opts.trace {
        trace_collision(file, &out_dir, fixed_targets(opts, &out_dir))?;
        lock(&ctx.traces)?.start_cli(file, opts.limits.max_trace_events)?;
    }
    let ctx = Arc::new(ctx);
    let main = opts.script.display().to_string();
    let dir = script_dir(&opts.script);
    let path = opts.script.clone();
    let (c, t) = (ctx.clone(), text.clone());
    let outcome = on_big_stack_until(
        move || -> Result<_, Box<ScriptError>> {
            let host = Host::new(c, &main, &dir);
            let ast = host.compile(&path, &t)?;
            host.run(&ast)?;
            Ok(host.sources())
        },
        &opts.interrupt,
    );
    let st = Started {
        started,
        started_unix_s,
        text,
        jobs,
    };
    let journal = ctx.journal.as_ref();
    let sources = match outcome {
        Ok(Some(r)) if !opts.interrupt.is_set() => r.map_err(Error::from),
        Ok(finished) => {
            let abandoned = finished.is_none();
            return Err(interrupted(opts, &ctx, &out_dir, &st, abandoned));
        }
        Err(e) => Err(e),
    };
    if opts.shard.is_some() {
        let result = sources.map(|_| ());
        return finish_shard(&ctx, &out_dir, result, &mut folder, st.started);
    }
    let sources = match sources {
        Ok(s) => s,
        Err(e) => {
            // Traces first: the journal's folders may hold the trace folders.
            if let Ok(mut t) = ctx.traces.lock() {
                t.remove_temp_files();
            }
            if let Some(j) = journal {
                j.remove_created();
            }
            return Err(e);
        }
    };
    let committed = commit(opts, &ctx, &out_dir, &st, sources);
    if committed.is_ok() {
        folder.keep_folders();
    }
    if let Some(j) = journal {
        match &committed {
            Ok(_) => j.remove_own(),
            Err(_) => {
                if let Ok(mut t) = ctx.traces.lock() {
                    t.remove_temp_files();
                }
                j.remove_created()
            }
        }
    }
    committed
}

/// Writes a successful run's outputs, traces and manifest.
fn commit(
    opts: &RunOptions,
    ctx: &RunContext,
    out_dir: &Path,
    st: &Started,
    sources: std::collections::BTreeMap<String, crate::script::resolver::SourceFile>,
) -> Result<RunOutcome, Error> {
    let mut traces = lock(&ctx.traces)?;
    traces.check_cli().map_err(Error::Trace)?;
    let outputs = lock(&ctx.outputs)?;
    // Every destination is checked before anything is written: a table and
    // a trace that would be each other's folder, a --trace file that is an
    // output or an input.
    if let Some((a, b)) = clash(outputs.paths().chain(traces.staged_paths())) {
        return Err(OutputError::Clash {
            path: slashed(b),
            other: slashed(a),
            folder: slashed(a),
        }
        .into());
    }
    if let Some(file) = &opts.trace {
        let staged = outputs
            .paths()
            .chain(traces.staged_paths())
            .map(|rel| (out_dir.join(rel), format!("the output {}", slashed(rel))));
        let inputs = sources
            .values()
            .filter_map(|f| f.path.clone())
            .map(|p| (p, "a source the script read".to_string()));
        trace_collision(file, out_dir, staged.chain(inputs).collect())?;
    }
    // Everything is written to temporary files first, the manifest included,
    // and only then renamed into place, all or none: a full disk or a failed
    // rename leaves the old files.
    let ready = outputs.prepare(out_dir)?;
    let (trace_entries, trace_file) = traces.entries();
    let mut files: Vec<PathBuf> = ready.iter().map(|(p, _)| p.clone()).collect();
    files.extend(traces.staged_paths().map(|rel| out_dir.join(rel)));
    let mut entries: Vec<FileEntry> = outputs
        .files()
        .map(|(rel, bytes)| FileEntry::of(slashed(rel), bytes))
        .chain(trace_entries)
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    files.sort();
    let findings = lock(&ctx.findings)?.clone();
    let figures = lock(&ctx.figures)?.clone();
    let manifest_has_trace = trace_file.is_some();
    let mut manifest = manifest(opts, ctx, st, &sources);
    manifest.files = entries;
    manifest.trace_file = trace_file;
    manifest.findings = findings;
    let wall_time_s = manifest.wall_time_s;
    let previous = ok_manifest(out_dir);
    let manifest_path = prepare_destination(out_dir, Path::new(FILE_NAME))?;
    let manifest_temp = write_temp(&manifest_path, &manifest.to_json())?;
    let trace_ready = traces.take_ready()?;
    let mut replacer = Replacer::default();
    for (path, temp) in ready.into_iter().chain(trace_ready) {
        replacer.replace(temp, &path)?;
    }
    replacer.replace(manifest_temp, &manifest_path)?;
    replacer.finish();
    // The manifest describes exactly the outputs in the folder: outputs of the
    // last good run that this one did not write again are deleted (only if
    // unchanged since), and so is an interrupted run's record.
    if let Some(old) = previous {
        remove_stale_outputs(out_dir, &old, &manifest.files, opts.trace.as_deref());
    }
    let _ = std::fs::remove_file(out_dir.join(INTERRUPTED_FILE_NAME));
    Ok(RunOutcome {
        out_dir: out_dir.to_path_buf(),
        files,
        trace_file: opts.trace.clone().filter(|_| manifest_has_trace),
        manifest: manifest_path,
        unread_sets: ctx.params.unread(),
        wall_time_s,
        computed_runs: manifest.computed_runs,
        resumed_runs: manifest.resumed_runs,
        findings: manifest.findings,
        figures,
        shard: None,
    })
}

/// The manifest of the run so far, without files and findings.
fn manifest(
    opts: &RunOptions,
    ctx: &RunContext,
    st: &Started,
    sources: &std::collections::BTreeMap<String, crate::script::resolver::SourceFile>,
) -> Manifest {
    let main_name = opts.script.display().to_string();
    let imports = sources
        .iter()
        .filter(|(name, _)| **name != main_name)
        .map(|(name, f)| FileEntry::of(name.clone(), f.text.as_bytes()))
        .collect();
    let parameters = ctx
        .params
        .read()
        .into_iter()
        .map(|(k, (v, src))| {
            let source = if src == Source::Override {
                "set"
            } else {
                "default"
            };
            (
                k,
                ParamEntry {
                    value: v.to_json(),
                    source,
                },
            )
        })
        .collect();
    let (computed_runs, resumed_runs) = ctx
        .journal
        .as_ref()
        .map_or((0, 0), |j| (j.computed(), j.resumed()));
    Manifest {
        status: "ok",
        interrupted_by: None,
        gilsim_version: env!("CARGO_PKG_VERSION").to_string(),
        script: FileEntry::of(main_name, st.text.as_bytes()),
        imports,
        seed: opts.seed,
        jobs: st.jobs,
        limits: opts.limits.to_map(),
        overrides: ctx.params.overrides(),
        parameters,
        started_unix_s: st.started_unix_s,
        wall_time_s: st.started.elapsed().as_secs_f64(),
        files: Vec::new(),
        trace_file: None,
        findings: Vec::new(),
        computed_runs,
        resumed_runs,
        journal: Vec::new(),
        merged_shards: opts.merge_from.iter().map(|d| slashed(d)).collect(),
    }
}

/// An interrupted run: deletes its temporary files, keeps the journal,
/// writes the manifest that says so, and returns the error to report.
/// `abandoned`: the script thread is still running.
fn interrupted(
    opts: &RunOptions,
    ctx: &RunContext,
    out_dir: &Path,
    st: &Started,
    abandoned: bool,
) -> Error {
    let signal = opts
        .interrupt
        .signal()
        .unwrap_or(crate::support::interrupt::SIGINT);
    let _ = ctx.shard_state.update("interrupted", None, None);
    if let Ok(mut t) = ctx.traces.lock() {
        t.remove_temp_files();
    }
    let mut m = manifest(opts, ctx, st, &ctx.sources());
    m.status = "interrupted";
    m.interrupted_by = Some(signal_name(signal));
    m.journal = ctx
        .journal
        .as_ref()
        .map(|j| j.entries())
        .unwrap_or_default();
    let journal_runs = m.journal.iter().map(|e| e.runs).sum();
    // The manifest of earlier good results stays with them; the record of
    // this run goes beside it.
    let name = if ok_manifest(out_dir).is_some() {
        INTERRUPTED_FILE_NAME
    } else {
        FILE_NAME
    };
    let written = prepare_destination(out_dir, Path::new(name))
        .and_then(|p| write_atomically(&p, &m.to_json()).map(|_| p));
    Error::Interrupted {
        signal,
        manifest: written.ok(),
        journal_runs,
        abandoned,
    }
}

/// The record of a shard run with `opts`, before its sweep starts.
fn start_record(
    opts: &RunOptions,
    shard: crate::sweep::shard::Shard,
    text: &str,
    overrides: std::collections::BTreeMap<String, String>,
) -> crate::sweep::shard::ShardRecord {
    use crate::sweep::shard::{FileRef, ShardRecord};
    let profile = opts.profile_file.as_ref().map(|p| {
        let bytes = std::fs::read(p).unwrap_or_default();
        FileRef::of(p, &bytes)
    });
    ShardRecord::running(
        shard,
        FileRef::of(&opts.script, text.as_bytes()),
        opts.seed,
        overrides,
        opts.limits.to_map(),
        profile,
    )
}

/// Ends a `--shard` run after the script stopped: `result` is the script's.
/// A shard whose share is done keeps its journal and records `complete`; a
/// failed one cleans up like a failed run and records `failed`.
fn finish_shard(
    ctx: &RunContext,
    out_dir: &Path,
    result: Result<(), Error>,
    folder: &mut FolderLock,
    started: std::time::Instant,
) -> Result<RunOutcome, Error> {
    let st = &ctx.shard_state;
    let error = match result {
        _ if st.done.load(std::sync::atomic::Ordering::SeqCst) => None,
        Ok(()) => Some(Error::Shard(
            "the script ran no sweep(), so --shard has nothing to share out; run it without --shard".into(),
        )),
        Err(e) => Some(e),
    };
    if let Some(e) = error {
        if let Ok(mut t) = ctx.traces.lock() {
            t.remove_temp_files();
        }
        if let Some(j) = &ctx.journal {
            j.remove_created();
        }
        // The record stays, saying why, for `gilsim merge` to report.
        if st.update("failed", Some(format!("{e}")), None).is_ok() {
            folder.keep_folders();
        }
        return Err(e);
    }
    st.update("complete", None, None)?;
    folder.keep_folders();
    remove_interrupted_manifests(out_dir);
    Ok(RunOutcome {
        out_dir: out_dir.to_path_buf(),
        files: Vec::new(),
        trace_file: None,
        manifest: out_dir.join(crate::sweep::shard::RECORD_FILE),
        unread_sets: ctx.params.unread(),
        wall_time_s: started.elapsed().as_secs_f64(),
        computed_runs: ctx.journal.as_ref().map_or(0, |j| j.computed()),
        resumed_runs: ctx.journal.as_ref().map_or(0, |j| j.resumed()),
        findings: Vec::new(),
        figures: Vec::new(),
        shard: st.sweep(),
    })
}

/// Deletes the manifests an interrupted attempt of the shard wrote: they
/// no longer describe the folder.
fn remove_interrupted_manifests(dir: &Path) {
    for name in [
        crate::output::manifest::FILE_NAME,
        crate::output::manifest::INTERRUPTED_FILE_NAME,
    ] {
        let path = dir.join(name);
        let interrupted = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v["status"] == "interrupted");
        if interrupted {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>, Error> {
    m.lock()
        .map_err(|_| Error::Internal("a lock of the run context is poisoned".into()))
}

/// The manifest of the output folder, if it describes a good run's results.
fn ok_manifest(out_dir: &Path) -> Option<serde_json::Value> {
    let path = out_dir.join(FILE_NAME);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > 64 << 20 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (v["status"] == "ok").then_some(v)
}

/// Deletes the outputs `old` lists that `new` does not, if they are still
/// the files the old run wrote (same hash), then their folders if empty.
fn remove_stale_outputs(
    out_dir: &Path,
    old: &serde_json::Value,
    new: &[FileEntry],
    trace: Option<&Path>,
) {
    let trace = trace.map(resolved);
    let Some(files) = old["files"].as_array() else {
        return;
    };
    for f in files {
        let (Some(path), Some(sha)) = (f["path"].as_str(), f["sha256"].as_str()) else {
            continue;
        };
        if new.iter().any(|e| e.path == path) {
            continue;
        }
        let Ok(rel) = crate::output::staging::check_relative(path) else {
            continue;
        };
        let full = out_dir.join(&rel);
        if trace.as_ref() == Some(&resolved(&full)) {
            continue;
        }
        // `prepare_destination` refuses symlinks on the way.
        if prepare_destination_exists(out_dir, &rel).is_none() {
            continue;
        }
        let same =
            std::fs::read(&full).is_ok_and(|b| crate::output::manifest::sha256_hex(&b) == sha);
        if same && std::fs::remove_file(&full).is_ok() {
            let mut dir = rel.parent().map(Path::to_path_buf);
            while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
                if std::fs::remove_dir(out_dir.join(&d)).is_err() {
                    break;
                }
                dir = d.parent().map(Path::to_path_buf);
            }
        }
    }
}

/// `out_dir/rel` if every folder on the way is a real folder (no symlink)
/// and it is a regular file.
fn prepare_destination_exists(out_dir: &Path, rel: &Path) -> Option<PathBuf> {
    let mut p = out_dir.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    let (file, dirs) = parts.split_last()?;
    for d in dirs {
        p.push(d);
        if !std::fs::symlink_metadata(&p).ok()?.is_dir() {
            return None;
        }
    }
    p.push(file);
    std::fs::symlink_metadata(&p).ok()?.is_file().then_some(p)
}

/// `p` made absolute with symlinks resolved (its folder's, if it does not exist).
fn resolved(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(d), Some(n)) => std::fs::canonicalize(d).map_or(abs.clone(), |d| d.join(n)),
        _ => abs,
    }
}

/// Files a `--trace FILE` may never be, known before the script runs.
fn fixed_targets(opts: &RunOptions, out_dir: &Path) -> Vec<(PathBuf, String)> {
    let mut t = vec![
        (out_dir.join(FILE_NAME), "the run's manifest".to_string()),
        (
            out_dir.join(INTERRUPTED_FILE_NAME),
            "the record of an interrupted run".to_string(),
        ),
        (
            out_dir.join(crate::output::folder::LOCK_FILE),
            "the output folder's lock".to_string(),
        ),
        (opts.script.clone(), "the script".to_string()),
    ];
    if let Ok(exe) = std::env::current_exe() {
        t.push((exe, "the gilsim program itself".to_string()));
    }
    t
}

/// Fails if the `--trace` file is one of `targets`, or inside the sweep journal.
fn trace_collision(
    file: &Path,
    out_dir: &Path,
    targets: Vec<(PathBuf, String)>,
) -> Result<(), Error> {
    let t = resolved(file);
    let journal = resolved(&out_dir.join(crate::sweep::journal::DIR));
    let what = if t.starts_with(&journal) {
        Some("inside the sweep journal".to_string())
    } else {
        targets
            .into_iter()
            .find(|(p, _)| resolved(p) == t)
            .map(|(_, what)| what)
    };
    match what {
        Some(what) => Err(Error::Trace(format!(
            "--trace {}: that file is {what}, which the trace would overwrite; write the trace to another file",
            file.display()
        ))),
        None => Ok(()),
    }
}
