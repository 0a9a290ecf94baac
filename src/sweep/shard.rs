//! Sharded sweeps: `gilsim run SCRIPT --shard I/N` and `gilsim merge DIR…`.
//!
//! This module holds what a shard is and records (the run's side is in
//! `commands/run.rs`, the merge in `commands/merge.rs`, both commands above the script API).
//!
//! A sweep of many (point, replicate) runs can be split over N processes or
//! machines (a Slurm array job, docs/cluster.md):
//!
//! - **A shard** (`--shard I/N`, `I` counted from 0) runs the script up to
//!   and including its first `sweep()`, and of that sweep only the runs it
//!   owns: task `t` (point-major, replicates inner) belongs to shard
//!   `t mod N`, so every shard gets a mix of points. Each finished run is
//!   appended to the shard folder's sweep journal (`crate::sweep::journal`), as in
//!   any run; then the shard stops. It writes no CSV, figure or manifest:
//!   only the journal and its record, `.gilsim-shard.json`, which says what
//!   it ran (script hash, seed, `--set` values, limits, profile, the sweep's
//!   key and sizes) and how far it got (`running`, `complete`, `failed`,
//!   `interrupted`).
//! - **The merge** (`gilsim merge`, `commands/merge.rs`) checks that the shard folders belong to one
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

use crate::output::manifest::sha256_hex;
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
    /// `FORMAT`.
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

/// The message that stops a shard's script after its sweep (never shown:
/// [`ShardState::done`] tells the run it is not an error).
pub const DONE: &str = "this shard's share of the sweep is done";

/// Starts shard `shard`'s share of the sweep `name` of `plan`: records it
/// (status `running`) and returns its progress reporter; `todo`: the runs
/// it still has to compute (the rest of its share was reused).
pub fn start_sweep(
    state: &ShardState,
    progress_bar: bool,
    shard: Shard,
    name: &str,
    key: &str,
    plan: &crate::sweep::grid::Plan,
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
    state.update("running", None, Some(sweep))?;
    Ok(Progress::new(
        shard,
        name,
        share,
        share - todo.min(share),
        !progress_bar,
    ))
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

impl FileRef {
    /// The record of the file at `path` holding `bytes`.
    pub fn of(path: &Path, bytes: &[u8]) -> Self {
        FileRef {
            path: path.display().to_string(),
            absolute: std::fs::canonicalize(path)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            sha256: sha256_hex(bytes),
        }
    }
}

impl ShardRecord {
    /// The record of shard `shard` of a run of `script`, before its sweep
    /// starts (status `running`).
    pub fn running(
        shard: Shard,
        script: FileRef,
        seed: u64,
        overrides: BTreeMap<String, String>,
        limits: BTreeMap<String, u64>,
        profile: Option<FileRef>,
    ) -> Self {
        ShardRecord {
            format: FORMAT.into(),
            status: "running".into(),
            error: None,
            gilsim_version: env!("CARGO_PKG_VERSION").into(),
            shard,
            script,
            seed,
            overrides,
            limits,
            profile,
            sweep: None,
            updated_unix_s: now_s(),
        }
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
