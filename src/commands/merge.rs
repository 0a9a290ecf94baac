//! `gilsim merge DIR…`: the shard folders of one sweep merged back into one
//! run's outputs, byte for byte those of an unsharded run (see
//! [`crate::sweep::shard`] for what a shard is and records).
//!
//! [`merge`] checks that the shard folders belong to one sweep (same script,
//! seed, parameters, profile, shard count), that every shard 0..N-1 is there
//! once and complete, then runs the script once more with `--resume`
//! semantics, reading every sweep run from the shards' journals.

use crate::commands::run::{default_out_dir, Error as RunError, RunOptions, RunOutcome};
use crate::output::folder::FolderLock;
use crate::output::manifest::sha256_hex;
use crate::script::Limits;
use crate::sweep::shard::{read_record, FileRef, Shard, ShardRecord, SweepShare};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// What `gilsim merge` needs: the shard folders and where to write.
#[derive(Clone, Debug)]
pub struct MergeOptions {
    /// The shard folders.
    pub dirs: Vec<PathBuf>,
    /// Output folder (by default `out/<script stem>`).
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
    let run = crate::commands::run::run(&run_options(opts, &found, out)?)?;
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
    let done = crate::sweep::journal::journaled_tasks(&f.dir, &sweep.name, &sweep.key)
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
