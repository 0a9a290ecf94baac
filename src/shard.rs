//! Sharded sweeps: `gilsim run SCRIPT --shard I/N` and `gilsim merge DIR…`.
//!
//! A sweep of many (point, replicate) runs can be split over N processes or
//! machines (a Slurm array job, docs/cluster.md):
//!
//! - **A shard** (`--shard I/N`, `I` counted from 0) runs the script up to
//!   and including its first `sweep()`, and of that sweep only the runs it
//!   owns: task `t` (point-major, replicates inner) belongs to shard
//!   `t mod N`, so every shard gets a mix of points. Each finished run is
//!   appended to the shard folder's sweep journal (`crate::journal`), as in
//!   any run; then the shard stops. It writes no CSV, figure or manifest:
//!   only the journal and its record, `.gilsim-shard.json`, which says what
//!   it ran (script hash, seed, `--set` values, limits, profile, the sweep's
//!   key and sizes) and how far it got (`running`, `complete`, `failed`,
//!   `interrupted`).
//! - **The merge** ([`merge`]) checks that the shard folders belong to one
//!   sweep (same script, seed, parameters, profile, shard count), that every
//!   shard 0..N-1 is there once and complete, then runs the script once more
//!   with `--resume` semantics, reading every sweep run from the shards'
//!   journals. The outputs are therefore those of an unsharded run, byte for
//!   byte, committed all or none into a locked output folder like any run.
//!   Code after the sweep runs in the merge; so does any later `sweep()`,
//!   which is not sharded.
//!
//! Determinism: which shard owns a run depends only on its task index and N;
//! each run's seed depends only on the master seed and its replicate.

use crate::output::folder::FolderLock;
use crate::output::manifest::sha256_hex;
use crate::run::{default_out_dir, Error as RunError, RunOptions, RunOutcome};
use crate::script::Limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// The record of a shard inside its output folder.
pub const RECORD_FILE: &str = ".gilsim-shard.json";

/// The record's format name, checked when it is read.
const FORMAT: &str = "gilsim shard 1";

/// Largest number of shards.
pub const MAX_SHARDS: u64 = 1_000_000;

/// Shard `index` of `count`, counted from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, from 0 to `count - 1`.
    pub index: u64,
    /// Number of shards (≥ 1).
    pub count: u64,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A `--shard` value that is not `I/N` with `0 <= I < N`.
#[derive(Debug, Error, PartialEq)]
#[error("--shard {given:?}: {reason}")]
pub struct ShardArgError {
    /// The value given.
    pub given: String,
    /// What is wrong and what is allowed.
    pub reason: String,
}

impl std::str::FromStr for Shard {
    type Err = ShardArgError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| ShardArgError {
            given: s.to_string(),
            reason,
        };
        let form =
            "expected I/N, two whole numbers like 0/4: shard I of N, I counted from 0 (0 to N-1)";
        let (i, n) = s.split_once('/').ok_or_else(|| bad(form.to_string()))?;
        let num = |t: &str| {
            let t = t.trim();
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u64>().ok())
                .flatten()
        };
        let (Some(index), Some(count)) = (num(i), num(n)) else {
            return Err(bad(form.to_string()));
        };
        if count == 0 || count > MAX_SHARDS {
            return Err(bad(format!(
                "the number of shards N must be from 1 to {MAX_SHARDS}, got {count}"
            )));
        }
        if index >= count {
            return Err(bad(format!(
                "the shard I must be from 0 to {} (N-1; shards are counted from 0), got {index}",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether task `task` of a sweep is this shard's.
    pub fn owns(&self, task: usize) -> bool {
        task as u64 % self.count == self.index
    }

    /// How many of `total` tasks are this shard's.
    pub fn share(&self, total: usize) -> usize {
        (0..total).filter(|t| self.owns(*t)).count()
    }
}

/// A file a shard read, with its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    /// The path as given.
    pub path: String,
    /// The absolute path, symlinks resolved (empty if it could not be).
    pub absolute: String,
    /// SHA-256 of the contents.
    pub sha256: String,
}

/// The sweep a shard ran its share of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepShare {
    /// The sweep's name.
    pub name: String,
    /// The journal key of its runs (everything they depend on).
    pub key: String,
    /// Runs of the whole sweep (points × replicates).
    pub runs_total: u64,
    /// Runs of this shard.
    pub runs_in_shard: u64,
    /// Of those, runs taken from the journal of an earlier attempt (`--resume`).
    pub runs_reused: u64,
}

/// `.gilsim-shard.json`: what a shard ran and how far it got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// [`FORMAT`].
    pub format: String,
    /// `running`, `complete`, `failed` or `interrupted`.
    pub status: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The gilsim version that ran it.
    pub gilsim_version: String,
    /// Which shard.
    pub shard: Shard,
    /// The script.
    pub script: FileRef,
    /// The master seed.
    pub seed: u64,
    /// `--set` values as given.
    pub overrides: BTreeMap<String, String>,
    /// Every limit.
    pub limits: BTreeMap<String, u64>,
    /// The calibration profile file, if any.
    #[serde(default)]
    pub profile: Option<FileRef>,
    /// The sharded sweep (once it started).
    #[serde(default)]
    pub sweep: Option<SweepShare>,
    /// When the record was written, seconds since the Unix epoch.
    pub updated_unix_s: u64,
}

/// A shard's record and progress, kept in the run context.
#[derive(Debug, Default)]
pub struct ShardState {
    /// The shard folder.
    pub dir: PathBuf,
    /// The record as last written.
    pub record: Mutex<Option<ShardRecord>>,
    /// Set when the shard's share is done: the script stops there.
    pub done: AtomicBool,
}

impl ShardState {
    /// Writes the record with `status`, `error` and `sweep` (if given) changed.
    pub fn update(
        &self,
        status: &str,
        error: Option<String>,
        sweep: Option<SweepShare>,
    ) -> Result<(), RecordError> {
        let mut guard = self.record.lock().unwrap_or_else(|p| p.into_inner());
        let Some(record) = guard.as_mut() else {
            return Ok(());
        };
        record.status = status.to_string();
        record.error = error;
        if sweep.is_some() {
            record.sweep = sweep;
        }
        record.updated_unix_s = now_s();
        write_record(&self.dir, record)
    }

    /// The sweep of the record, once started.
    pub fn sweep(&self) -> Option<SweepShare> {
        let guard = self.record.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().and_then(|r| r.sweep.clone())
    }
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

/// The message that stops a shard's script after its sweep (never shown:
/// [`ShardState::done`] tells the run it is not an error).
pub const DONE: &str = "this shard's share of the sweep is done";

/// Starts shard `shard`'s share of the sweep `name` of `plan`: records it
/// (status `running`) and returns its progress reporter; `todo`: the runs
/// it still has to compute (the rest of its share was reused).
pub fn start_sweep(
    ctx: &crate::script::RunContext,
    shard: Shard,
    name: &str,
    key: &str,
    plan: &crate::sweep::Plan,
    todo: usize,
) -> Result<Progress, RecordError> {
    let share = shard.share(plan.len());
    let sweep = SweepShare {
        name: name.to_string(),
        key: key.to_string(),
        runs_total: plan.len() as u64,
        runs_in_shard: share as u64,
        runs_reused: (share - todo.min(share)) as u64,
    };
    ctx.shard_state.update("running", None, Some(sweep))?;
    Ok(Progress::new(
        shard,
        name,
        share,
        share - todo.min(share),
        !ctx.progress,
    ))
}

/// Ends a `--shard` run after the script stopped: `result` is the script's.
/// A shard whose share is done keeps its journal and records `complete`; a
/// failed one cleans up like a failed run and records `failed`.
pub(crate) fn finish(
    ctx: &crate::script::RunContext,
    out_dir: &Path,
    result: Result<(), RunError>,
    folder: &mut FolderLock,
    started: std::time::Instant,
) -> Result<RunOutcome, RunError> {
    let st = &ctx.shard_state;
    let error = match result {
        _ if st.done.load(Ordering::SeqCst) => None,
        Ok(()) => Some(RunError::Shard(
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
        manifest: out_dir.join(RECORD_FILE),
        unread_sets: ctx.params.unread(),
        wall_time_s: started.elapsed().as_secs_f64(),
        computed_runs: ctx.journal.as_ref().map_or(0, |j| j.computed()),
        resumed_runs: ctx.journal.as_ref().map_or(0, |j| j.resumed()),
        findings: Vec::new(),
        figures: Vec::new(),
        shard: st.sweep(),
    })
}

/// Why a shard's record cannot be written.
#[derive(Debug, Error)]
#[error("cannot write the shard record {path}: {reason}")]
pub struct RecordError {
    /// The record file.
    pub path: String,
    /// Why.
    pub reason: String,
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn file_ref(path: &Path, bytes: &[u8]) -> FileRef {
    FileRef {
        path: path.display().to_string(),
        absolute: std::fs::canonicalize(path)
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        sha256: sha256_hex(bytes),
    }
}

/// The record of a shard run with `opts`, before its sweep starts.
pub fn start_record(
    opts: &RunOptions,
    shard: Shard,
    text: &str,
    overrides: BTreeMap<String, String>,
) -> ShardRecord {
    let profile = opts.profile_file.as_ref().map(|p| {
        let bytes = std::fs::read(p).unwrap_or_default();
        file_ref(p, &bytes)
    });
    ShardRecord {
        format: FORMAT.into(),
        status: "running".into(),
        error: None,
        gilsim_version: env!("CARGO_PKG_VERSION").into(),
        shard,
        script: file_ref(&opts.script, text.as_bytes()),
        seed: opts.seed,
        overrides,
        limits: opts.limits.to_map(),
        profile,
        sweep: None,
        updated_unix_s: now_s(),
    }
}

/// Writes `record` into the shard folder `dir`, atomically.
pub fn write_record(dir: &Path, record: &ShardRecord) -> Result<(), RecordError> {
    let path = dir.join(RECORD_FILE);
    let fail = |reason: String| RecordError {
        path: path.display().to_string(),
        reason,
    };
    let mut json = serde_json::to_vec_pretty(record).map_err(|e| fail(e.to_string()))?;
    json.push(b'\n');
    crate::output::staging::write_atomically(&path, &json).map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// Reads the record of the shard folder `dir`.
pub fn read_record(dir: &Path) -> Result<ShardRecord, String> {
    let path = dir.join(RECORD_FILE);
    let meta = std::fs::symlink_metadata(&path).map_err(|_| {
        format!(
            "{} is not a shard folder: it has no {RECORD_FILE} (run `gilsim run SCRIPT --shard I/N --out {}` first)",
            dir.display(),
            dir.display()
        )
    })?;
    if !meta.is_file() || meta.len() > 16 << 20 {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let record: ShardRecord = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a shard record: {e}", path.display()))?;
    if record.format != FORMAT {
        return Err(format!(
            "{} has format {:?}, not {FORMAT:?}",
            path.display(),
            record.format
        ));
    }
    Ok(record)
}

/// Sweep progress of a shard: one line on stdout at each tenth of its
/// share (for batch logs; a terminal gets the progress bar instead).
pub struct Progress {
    label: String,
    share: usize,
    done: AtomicUsize,
    lines: bool,
}

impl Progress {
    /// Progress of shard `shard` through `share` runs of sweep `name`, of
    /// which `reused` were taken from the journal; `lines`: print lines.
    pub fn new(shard: Shard, name: &str, share: usize, reused: usize, lines: bool) -> Self {
        let p = Progress {
            label: format!("shard {shard}, sweep \"{name}\""),
            share,
            done: AtomicUsize::new(reused),
            lines,
        };
        if lines {
            p.print(reused);
        }
        p
    }

    /// One more run finished.
    pub fn tick(&self) {
        if !self.lines {
            return;
        }
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let step = |k: usize| k * 10 / self.share.max(1);
        if n == self.share || step(n) != step(n - 1) {
            self.print(n);
        }
    }

    fn print(&self, n: usize) {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}: {n} of {} runs done",
            self.label,
            self.share
        );
    }
}

/// What `gilsim merge` needs: the shard folders and where to write.
#[derive(Clone, Debug)]
pub struct MergeOptions {
    /// The shard folders.
    pub dirs: Vec<PathBuf>,
    /// Output folder [default: `out/<script stem>`].
    pub out: Option<PathBuf>,
    /// Workers for any sweep that runs after the sharded one.
    pub jobs: Option<usize>,
    /// Progress bars on stderr.
    pub progress: bool,
    /// Ctrl-C and SIGTERM.
    pub interrupt: crate::support::interrupt::Interrupt,
}

/// Why shards cannot be merged.
#[derive(Debug, Error)]
pub enum MergeError {
    /// A folder is not a usable shard folder.
    #[error("{0}")]
    NotAShard(String),
    /// Two shards did not run the same thing.
    #[error("the shards do not belong to one sweep: they differ in {what}: {a_value} in {a_dir}, {b_value} in {b_dir}; merge only shards of the same script, seed, --set values, profile, gilsim version and shard count")]
    Differ {
        /// What differs.
        what: &'static str,
        /// The first shard's folder.
        a_dir: String,
        /// Its value.
        a_value: String,
        /// The other shard's folder.
        b_dir: String,
        /// Its value.
        b_value: String,
    },
    /// A folder given twice.
    #[error("{0} is given twice; give each shard's folder once")]
    SameFolder(String),
    /// A shard given twice.
    #[error("shard {shard} is given twice: {a} and {b}; give each shard's folder once")]
    Twice {
        /// The shard.
        shard: Shard,
        /// One folder.
        a: String,
        /// The other.
        b: String,
    },
    /// Shards missing or unfinished.
    #[error("cannot merge: {}", .0.join("; "))]
    NotReady(Vec<String>),
    /// The script or profile is not the one the shards ran.
    #[error("{0}")]
    Changed(String),
    /// The output folder is a shard folder.
    #[error("the output folder {0} is one of the shard folders; write the merged results elsewhere with --out")]
    OutIsShard(String),
    /// A shard folder cannot be locked (a shard still writes it).
    #[error(transparent)]
    Folder(#[from] crate::output::folder::FolderError),
    /// The merged run failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// What a merge did.
#[derive(Debug)]
pub struct MergeOutcome {
    /// The run that assembled the outputs.
    pub run: RunOutcome,
    /// Number of shards merged.
    pub shards: u64,
    /// The sharded sweep.
    pub sweep: SweepShare,
}

/// A shard folder and its record.
struct Found {
    dir: PathBuf,
    record: ShardRecord,
}

/// Merges the shard folders of `opts.dirs` into one run's outputs.
pub fn merge(opts: &MergeOptions) -> Result<MergeOutcome, MergeError> {
    let mut found = Vec::with_capacity(opts.dirs.len());
    for dir in &opts.dirs {
        let record = read_record(dir).map_err(MergeError::NotAShard)?;
        found.push(Found {
            dir: dir.clone(),
            record,
        });
    }
    let Some(first) = found.first() else {
        return Err(MergeError::NotReady(vec!["no shard folder given".into()]));
    };
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(Path::new(&first.record.script.path)));
    check_out(&out, &found)?;
    check_distinct(&found)?;
    // Held until the merge ends: no shard can be re-run into its folder meanwhile.
    let _locks = found
        .iter()
        .map(|f| FolderLock::acquire(&f.dir))
        .collect::<Result<Vec<_>, _>>()?;
    check_same(&found)?;
    check_ready(&found)?;
    let first = &found[0].record;
    let sweep = first
        .sweep
        .clone()
        .ok_or_else(|| MergeError::NotReady(vec!["the first shard ran no sweep".into()]))?;
    let run = crate::run::run(&run_options(opts, &found, out)?)?;
    Ok(MergeOutcome {
        run,
        shards: first.shard.count,
        sweep,
    })
}

/// The merged output folder must not be a shard folder.
fn check_out(out: &Path, found: &[Found]) -> Result<(), MergeError> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let o = canon(out);
    match found.iter().find(|f| canon(&f.dir) == o) {
        Some(f) => Err(MergeError::OutIsShard(f.dir.display().to_string())),
        None => Ok(()),
    }
}

/// No folder is given twice (it could not be locked twice).
fn check_distinct(found: &[Found]) -> Result<(), MergeError> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    for (i, a) in found.iter().enumerate() {
        if found[i + 1..]
            .iter()
            .any(|b| canon(&b.dir) == canon(&a.dir))
        {
            return Err(MergeError::SameFolder(a.dir.display().to_string()));
        }
    }
    Ok(())
}

/// Every shard ran the same script, seed, parameters, profile and version,
/// with the same shard count and the same sweep; no shard twice.
fn check_same(found: &[Found]) -> Result<(), MergeError> {
    let a = &found[0];
    for b in &found[1..] {
        let (ra, rb) = (&a.record, &b.record);
        let key = |r: &ShardRecord| {
            r.sweep
                .as_ref()
                .map_or_else(|| "(not started)".to_string(), |s| short(&s.key))
        };
        let profile = |r: &ShardRecord| {
            r.profile.as_ref().map_or_else(
                || "no profile".to_string(),
                |p| format!("profile {} (sha256 {})", p.path, short(&p.sha256)),
            )
        };
        let checks: [(&'static str, String, String); 6] = [
            (
                "gilsim version",
                ra.gilsim_version.clone(),
                rb.gilsim_version.clone(),
            ),
            (
                "script",
                format!("{} (sha256 {})", ra.script.path, short(&ra.script.sha256)),
                format!("{} (sha256 {})", rb.script.path, short(&rb.script.sha256)),
            ),
            (
                "seed",
                format!("--seed {}", ra.seed),
                format!("--seed {}", rb.seed),
            ),
            ("--set values", sets(&ra.overrides), sets(&rb.overrides)),
            ("calibration profile", profile(ra), profile(rb)),
            (
                "number of shards",
                format!("N = {}", ra.shard.count),
                format!("N = {}", rb.shard.count),
            ),
        ];
        for (what, va, vb) in checks {
            if va != vb {
                return Err(differ(what, a, va, b, vb));
            }
        }
        if ra.status == "complete" && rb.status == "complete" && key(ra) != key(rb) {
            return Err(differ(
                "their sweep (its name, grid, replicates or an imported module)",
                a,
                format!("sweep key {}", key(ra)),
                b,
                format!("sweep key {}", key(rb)),
            ));
        }
    }
    for (i, a) in found.iter().enumerate() {
        if let Some(b) = found[i + 1..]
            .iter()
            .find(|b| b.record.shard == a.record.shard)
        {
            return Err(MergeError::Twice {
                shard: a.record.shard,
                a: a.dir.display().to_string(),
                b: b.dir.display().to_string(),
            });
        }
    }
    Ok(())
}

fn differ(what: &'static str, a: &Found, va: String, b: &Found, vb: String) -> MergeError {
    MergeError::Differ {
        what,
        a_dir: a.dir.display().to_string(),
        a_value: va,
        b_dir: b.dir.display().to_string(),
        b_value: vb,
    }
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

fn sets(o: &BTreeMap<String, String>) -> String {
    if o.is_empty() {
        return "no --set".into();
    }
    o.iter()
        .map(|(k, v)| format!("--set {k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every shard 0..N-1 is there and has journaled every run of its share.
fn check_ready(found: &[Found]) -> Result<(), MergeError> {
    let count = found[0].record.shard.count;
    let mut problems = Vec::new();
    let missing: Vec<String> = (0..count)
        .filter(|i| !found.iter().any(|f| f.record.shard.index == *i))
        .map(|index| Shard { index, count }.to_string())
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "{} of {count} shards missing: {} (run each with `gilsim run {} --shard I/{count} --out DIR{}`, then give every DIR)",
            missing.len(),
            missing.join(", "),
            found[0].record.script.path,
            rerun_args(&found[0].record)
        ));
    }
    for f in found {
        if let Some(p) = not_ready(f) {
            problems.push(p);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(MergeError::NotReady(problems))
    }
}

/// Why the shard of `f` is not complete, if it is not.
fn not_ready(f: &Found) -> Option<String> {
    let r = &f.record;
    let rerun = format!(
        "rerun it with `gilsim run {} --shard {} --out {} --resume{}`",
        r.script.path,
        r.shard,
        f.dir.display(),
        rerun_args(r)
    );
    let Some(sweep) = &r.sweep else {
        let why = match &r.error {
            Some(e) => format!("failed before its sweep started: {e}"),
            None => format!("is {} and has not started its sweep", r.status),
        };
        return Some(format!(
            "shard {} ({}) {why}; {rerun}",
            r.shard,
            f.dir.display()
        ));
    };
    let done = crate::journal::journaled_tasks(&f.dir, &sweep.name, &sweep.key)
        .into_iter()
        .filter(|t| *t < sweep.runs_total && r.shard.owns(*t as usize))
        .count() as u64;
    if r.status == "complete" && done >= sweep.runs_in_shard {
        return None;
    }
    let why = match &r.error {
        Some(e) => format!("failed: {e}"),
        None => r.status.clone(),
    };
    Some(format!(
        "shard {} ({}) is incomplete: {done} of its {} runs are journaled (status: {why}); {rerun}",
        r.shard,
        f.dir.display(),
        sweep.runs_in_shard
    ))
}

/// ` --seed S --set …` of a record, for the rerun command.
fn rerun_args(r: &ShardRecord) -> String {
    let mut s = String::new();
    if r.seed != 0 {
        s.push_str(&format!(" --seed {}", r.seed));
    }
    for (k, v) in &r.overrides {
        s.push_str(&format!(" --set {k}={v}"));
    }
    if let Some(p) = &r.profile {
        s.push_str(&format!(" --profile {}", p.path));
    }
    s
}

/// The options of the merged run: the shards' script, seed, `--set`
/// values, limits and profile, every sweep run read from their journals.
fn run_options(
    opts: &MergeOptions,
    found: &[Found],
    out: PathBuf,
) -> Result<RunOptions, MergeError> {
    let r = &found[0].record;
    let mut ro = RunOptions::new(same_file(&r.script, "script")?);
    ro.out = Some(out);
    ro.seed = r.seed;
    ro.jobs = opts.jobs;
    ro.sets = r
        .overrides
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    // The largest of each limit any shard ran with (one may have been
    // re-run with a raised limit); limits change no result.
    let mut most = r.limits.clone();
    for f in &found[1..] {
        for (name, value) in &f.record.limits {
            let v = most.entry(name.clone()).or_insert(*value);
            *v = (*v).max(*value);
        }
    }
    let mut limits = Limits::default();
    for (name, value) in &most {
        limits
            .set(name, *value)
            .map_err(|e| MergeError::Changed(format!("shard record: {e}")))?;
    }
    ro.limits = limits;
    if let Some(p) = &r.profile {
        let path = same_file(p, "calibration profile")?;
        let profile = crate::calibration::profile::Profile::load(&path)
            .map_err(|e| MergeError::Changed(format!("{e:#}")))?;
        ro.profile = Some(profile);
        ro.profile_file = Some(path);
    }
    ro.resume = true;
    ro.merge_from = found.iter().map(|f| f.dir.clone()).collect();
    ro.progress = opts.progress;
    ro.interrupt = opts.interrupt.clone();
    Ok(ro)
}

/// The file a shard read, found again: the path as given if it has the
/// same contents, else the absolute path; an error if neither has.
fn same_file(f: &FileRef, what: &str) -> Result<PathBuf, MergeError> {
    let matches = |p: &Path| std::fs::read(p).is_ok_and(|b| sha256_hex(&b) == f.sha256);
    for p in [Path::new(&f.path), Path::new(&f.absolute)] {
        if !p.as_os_str().is_empty() && matches(p) {
            return Ok(p.to_path_buf());
        }
    }
    Err(MergeError::Changed(format!(
        "the {what} the shards ran, {} (sha256 {}), is not there any more or has changed since; the shards' runs belong to that text: restore it, or run the shards again",
        f.path,
        short(&f.sha256)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_values_parse_or_say_what_is_allowed() {
        assert_eq!("0/4".parse(), Ok(Shard { index: 0, count: 4 }));
        assert_eq!("3/4".parse(), Ok(Shard { index: 3, count: 4 }));
        assert_eq!("0/1".parse(), Ok(Shard { index: 0, count: 1 }));
        for (bad, says) in [
            ("0/0", "from 1 to"),
            ("3/2", "from 0 to 1"),
            ("4/4", "from 0 to 3"),
            ("a/b", "expected I/N"),
            ("1", "expected I/N"),
            ("-1/4", "expected I/N"),
            ("1/4/5", "expected I/N"),
            ("", "expected I/N"),
            ("1/99999999999999999999", "expected I/N"),
            ("0/2000000", "from 1 to 1000000"),
        ] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(
                e.contains(&format!("{bad:?}")) && e.contains(says),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn shards_partition_the_tasks() {
        for count in 1..6u64 {
            for total in 0..20usize {
                let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
                for t in 0..total {
                    assert_eq!(shards.iter().filter(|s| s.owns(t)).count(), 1);
                }
                let sum: usize = shards.iter().map(|s| s.share(total)).sum();
                assert_eq!(sum, total);
            }
        }
    }
}
