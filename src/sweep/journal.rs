//! The sweep journal: finished sweep runs, kept on disk while a sweep goes,
//! so an interrupted or failed run loses none of them.
//!
//! Each `sweep(name, ...)` appends one line per finished run (a point and a
//! replicate) to `<out>/.gilsim-journal/<name>.jsonl`, as soon as it
//! finishes, with one `write` of the whole line (no buffering), so the file
//! holds every finished run but the one being written when the process died.
//! A line is a JSON object:
//!
//! ```text
//! {"key":"<sha256>","sweep":"scaling","call":0,"task":5,"point":2,
//!  "params":[["threads","i:4"]],"replicate":1,"seed":123,
//!  "metrics":[["makespan_s","f:0.25"]],"prints":[]}
//! ```
//!
//! Cells are typed strings (`i:` integer, `f:` float in Rust's shortest
//! round-trip form, `b:` bool, `s:` text, `e:` empty) so a value read back
//! is bit for bit the value written, and the CSV of a resumed run is
//! byte-identical to an uninterrupted one.
//!
//! `key` is a hash of everything the run's results depend on: the gilsim
//! version, the text of the script and of every module it loaded, the
//! `--set` overrides, the master seed, the calibration profile, and the
//! sweep's name, its call number among the sweeps of that name, its grid and
//! replicates. `gilsim run --resume` reuses a line only if its key, sweep,
//! call, task, parameters, replicate and seed all match; a journal of another
//! script, seed or override is ignored (never reused). Lines that do not
//! parse (a line cut short by a crash) are skipped.
//!
//! A run that succeeds deletes its own lines (and a journal file left
//! empty), keeping other runs' lines; one that is interrupted keeps it;
//! one that fails deletes the journal files it created and keeps those that
//! were there before (the runs of an earlier interrupted run, and the ones
//! this run added to them).

use crate::output::manifest::JournalEntry;
use crate::output::staging::{prepare_destination, OutputError};
use crate::output::table::Cell;
use crate::sweep::grid::{Plan, Task};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The journal's folder inside the output folder.
pub const DIR: &str = ".gilsim-journal";

/// A run's metrics and printed lines.
pub type RunOutput = (Vec<(String, Cell)>, Vec<String>);

/// One line of a journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Line {
    key: String,
    sweep: String,
    call: u64,
    task: u64,
    point: u64,
    params: Vec<(String, String)>,
    replicate: u64,
    seed: u64,
    metrics: Vec<(String, String)>,
    prints: Vec<String>,
}

/// A cell as a typed string.
pub fn encode_cell(c: &Cell) -> String {
    match c {
        Cell::Int(i) => format!("i:{i}"),
        Cell::Float(x) => format!("f:{x:?}"),
        Cell::Bool(b) => format!("b:{b}"),
        Cell::Text(s) => format!("s:{s}"),
        Cell::Empty => "e:".into(),
    }
}

/// The cell of a typed string, if it is one.
pub fn decode_cell(s: &str) -> Option<Cell> {
    let (tag, v) = s.split_at_checked(2)?;
    Some(match tag {
        "i:" => Cell::Int(v.parse().ok()?),
        "f:" => Cell::Float(v.parse().ok()?),
        "b:" => Cell::Bool(v.parse().ok()?),
        "s:" => Cell::Text(v.to_string()),
        "e:" if v.is_empty() => Cell::Empty,
        _ => return None,
    })
}

fn encode_pairs(cells: &[(String, Cell)]) -> Vec<(String, String)> {
    cells
        .iter()
        .map(|(n, c)| (n.clone(), encode_cell(c)))
        .collect()
}

/// Hashes `parts`, each length-prefixed, to lowercase hex.
pub fn hash_parts<S: AsRef<[u8]>>(parts: &[S]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        let p = p.as_ref();
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One journal file.
struct FileState {
    /// Its path.
    path: PathBuf,
    /// Open for appending (after the first finished run of this run).
    file: Option<File>,
    /// Whether it existed before this run touched it.
    existed: bool,
    /// Lines read for `--resume` (once per run).
    read: Option<Vec<Line>>,
}

#[derive(Default)]
struct State {
    /// By sweep name.
    files: BTreeMap<String, FileState>,
    /// `sweep()` calls so far, by name.
    calls: HashMap<String, u64>,
    /// Folders this run created for the journal, outermost first.
    created: Vec<PathBuf>,
    /// The keys of this run's sweeps (its lines in the journal files).
    keys: std::collections::HashSet<String>,
}

/// The journal of one run.
pub struct Journal {
    root: PathBuf,
    resume: bool,
    /// Output folders of other runs whose journals `--resume` also reads
    /// (the shards of `gilsim merge`).
    sources: Vec<PathBuf>,
    state: Mutex<State>,
    computed: AtomicU64,
    resumed: AtomicU64,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("root", &self.root)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("cannot write the sweep journal {}: {e}", path.display())
}

impl Journal {
    /// The journal of a run writing into `root`; `resume` reuses the runs of
    /// an earlier run of the same script, seed and overrides.
    pub fn new(root: PathBuf, resume: bool) -> Self {
        Journal {
            root,
            resume,
            sources: Vec::new(),
            state: Mutex::new(State::default()),
            computed: AtomicU64::new(0),
            resumed: AtomicU64::new(0),
        }
    }

    /// The same journal, also reusing the runs journaled in the output
    /// folders `sources` (read only: never written or cleaned).
    pub fn with_sources(mut self, sources: Vec<PathBuf>) -> Self {
        self.sources = sources;
        self
    }

    /// Sweep runs computed by this run.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::SeqCst)
    }

    /// Sweep runs taken from the journal.
    pub fn resumed(&self) -> u64 {
        self.resumed.load(Ordering::SeqCst)
    }

    fn rel(name: &str) -> PathBuf {
        Path::new(DIR).join(format!("{name}.jsonl"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts sweep `name` of `plan`; `fingerprint` identifies the run's
    /// inputs (script, modules, overrides, seed, profile). Returns the runs
    /// to reuse, by task index.
    pub fn start_sweep(
        &self,
        name: &str,
        fingerprint: &str,
        plan: &Plan,
    ) -> Result<SweepJournal<'_>, String> {
        let mut st = self.lock();
        let call = {
            let c = st.calls.entry(name.to_string()).or_insert(0);
            *c += 1;
            *c - 1
        };
        let key = hash_parts(&[
            "gilsim sweep journal 1",
            fingerprint,
            name,
            &call.to_string(),
            &plan.replicates.to_string(),
            &plan.seed.to_string(),
            &format!("{:?}", plan.grid),
        ]);
        st.keys.insert(key.clone());
        let path = self.root.join(Self::rel(name));
        let file = st
            .files
            .entry(name.to_string())
            .or_insert_with(|| FileState {
                existed: std::fs::symlink_metadata(&path).is_ok(),
                path: path.clone(),
                file: None,
                read: None,
            });
        let mut reused = HashMap::new();
        if self.resume {
            if file.read.is_none() {
                let mut lines = read_lines(&file.path);
                for root in &self.sources {
                    lines.extend(read_lines(&root.join(Self::rel(name))));
                }
                file.read = Some(lines);
            }
            for line in file.read.iter().flatten() {
                if line.key != key || line.sweep != name || line.call != call {
                    continue;
                }
                let Ok(i) = usize::try_from(line.task) else {
                    continue;
                };
                if i >= plan.len() || reused.contains_key(&i) {
                    continue;
                }
                let task = plan.task(i);
                if line.point != task.point as u64
                    || line.replicate != task.replicate as u64
                    || line.seed != task.seed
                    || line.params != encode_pairs(&task.params)
                {
                    continue;
                }
                let metrics: Option<Vec<(String, Cell)>> = line
                    .metrics
                    .iter()
                    .map(|(n, v)| Some((n.clone(), decode_cell(v)?)))
                    .collect();
                if let Some(m) = metrics {
                    reused.insert(i, (m, line.prints.clone()));
                }
            }
        }
        self.resumed
            .fetch_add(reused.len() as u64, Ordering::SeqCst);
        let first = st.calls.values().sum::<u64>() == 1;
        Ok(SweepJournal {
            journal: self,
            name: name.to_string(),
            key,
            call,
            reused,
            merged: first && !self.sources.is_empty(),
        })
    }

    fn append(&self, name: &str, line: &Line) -> Result<(), String> {
        let mut text = serde_json::to_string(line).map_err(|e| e.to_string())?;
        text.push('\n');
        let mut st = self.lock();
        let State { files, created, .. } = &mut *st;
        let Some(fs) = files.get_mut(name) else {
            return Err(format!("internal error: sweep \"{name}\" has no journal"));
        };
        if fs.file.is_none() {
            fs.file = Some(self.open(name, &fs.path, created)?);
        }
        let Some(file) = fs.file.as_mut() else {
            return Err(io_err(&fs.path, "not open"));
        };
        file.write_all(text.as_bytes())
            .map_err(|e| io_err(&fs.path, e))?;
        self.computed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Opens `path` for appending: folders created (remembered in
    /// `created`), symlinks refused, a last line cut short ended.
    fn open(&self, name: &str, path: &Path, created: &mut Vec<PathBuf>) -> Result<File, String> {
        let mut missing = Vec::new();
        let mut dir = path.to_path_buf();
        while dir.pop() && !dir.as_os_str().is_empty() && !dir.exists() {
            missing.push(dir.clone());
        }
        let dest = prepare_destination(&self.root, &Self::rel(name));
        missing.reverse();
        for d in missing {
            if d.is_dir() && !created.contains(&d) {
                created.push(d);
            }
        }
        let dest = dest.map_err(|e| match e {
            OutputError::Io { path, cause } => io_err(&path, cause),
            e @ OutputError::Clash { .. } => io_err(path, e),
            OutputError::Refused { reason, .. } => io_err(path, reason),
        })?;
        let mut opts = OpenOptions::new();
        opts.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc::O_NOFOLLOW);
        }
        let mut file = opts.open(&dest).map_err(|e| io_err(&dest, e))?;
        let len = file.metadata().map_err(|e| io_err(&dest, e))?.len();
        if len > 0 {
            let mut last = [0u8];
            file.seek(SeekFrom::Start(len - 1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(|e| io_err(&dest, e))?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(|e| io_err(&dest, e))?;
            }
        }
        Ok(file)
    }

    /// The journal files of the output folder and their complete lines.
    pub fn entries(&self) -> Vec<JournalEntry> {
        let mut out = Vec::new();
        for path in journal_files(&self.root.join(DIR)) {
            let runs = std::fs::read(&path)
                .map(|b| b.iter().filter(|c| **c == b'\n').count() as u64)
                .unwrap_or(0);
            let rel = path.strip_prefix(&self.root).unwrap_or(&path);
            out.push(JournalEntry {
                path: crate::output::staging::slashed(rel),
                runs,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// After a successful run: deletes this run's lines from the journal
    /// files it used (a file left empty is deleted), and the journal's
    /// folders if empty. The lines of other runs (another script's
    /// interrupted sweep, another seed) stay for their `--resume`.
    pub fn remove_own(&self) {
        let mut st = self.lock();
        let State { files, keys, .. } = &mut *st;
        for f in files.values_mut() {
            f.file = None;
            let Ok(meta) = std::fs::symlink_metadata(&f.path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let Ok(text) = std::fs::read(&f.path) else {
                continue;
            };
            let mut kept = Vec::new();
            for line in text.split(|b| *b == b'\n') {
                match serde_json::from_slice::<Line>(line) {
                    Ok(l) if !keys.contains(&l.key) => {
                        kept.extend_from_slice(line);
                        kept.push(b'\n');
                    }
                    _ => {}
                }
            }
            if kept.is_empty() {
                let _ = std::fs::remove_file(&f.path);
            } else if kept.len() != text.len() {
                let _ = crate::output::staging::write_atomically(&f.path, &kept);
            }
        }
        remove_empty_dirs(&self.root.join(DIR));
    }

    /// After a failed run: deletes the journal files this run created and
    /// the folders it created for them, if empty.
    pub fn remove_created(&self) {
        let mut st = self.lock();
        for f in st.files.values_mut() {
            f.file = None;
            if !f.existed {
                let _ = std::fs::remove_file(&f.path);
            }
        }
        for d in st.created.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        st.created.clear();
    }
}

/// `*.jsonl` files under `dir` (not following symlinks).
fn journal_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(t) = e.file_type() else { continue };
        let p = e.path();
        if t.is_dir() {
            out.extend(journal_files(&p));
        } else if t.is_file() && p.extension().is_some_and(|x| x == "jsonl") {
            out.push(p);
        }
    }
    out
}

/// Removes `dir` and its sub-folders that are (then) empty; never follows symlinks.
fn remove_empty_dirs(dir: &Path) {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_dirs(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// The task indices journaled under `key` in the journal of sweep `name`
/// in the output folder `root` (a shard's finished runs).
pub fn journaled_tasks(root: &Path, name: &str, key: &str) -> std::collections::BTreeSet<u64> {
    read_lines(&root.join(Journal::rel(name)))
        .into_iter()
        .filter(|l| l.key == key && l.sweep == name)
        .map(|l| l.task)
        .collect()
}

/// The lines of a journal file that parse (none if it cannot be read).
fn read_lines(path: &Path) -> Vec<Line> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Vec::new();
    };
    if !meta.is_file() {
        return Vec::new();
    }
    let Ok(text) = std::fs::read(path) else {
        return Vec::new();
    };
    text.split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Line>(l).ok())
        .collect()
}

/// The journal of one `sweep()` call.
pub struct SweepJournal<'a> {
    journal: &'a Journal,
    name: String,
    key: String,
    call: u64,
    reused: HashMap<usize, RunOutput>,
    /// The sharded sweep of `gilsim merge`: every run must come from the shards.
    merged: bool,
}

impl SweepJournal<'_> {
    /// The key of this sweep's lines: a hash of everything its results
    /// depend on.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether this is the sweep `gilsim merge` assembles from its shards
    /// (the first sweep of a run with journal sources), whose runs must all
    /// be reused, none computed.
    pub fn is_merged(&self) -> bool {
        self.merged
    }

    /// Takes the runs to reuse, by task index.
    pub fn take_reused(&mut self) -> HashMap<usize, RunOutput> {
        std::mem::take(&mut self.reused)
    }

    /// Appends a finished run (task `index` of the plan).
    pub fn append(
        &self,
        index: usize,
        task: &Task,
        metrics: &[(String, Cell)],
        prints: &[String],
    ) -> Result<(), String> {
        let line = Line {
            key: self.key.clone(),
            sweep: self.name.clone(),
            call: self.call,
            task: index as u64,
            point: task.point as u64,
            params: encode_pairs(&task.params),
            replicate: task.replicate as u64,
            seed: task.seed,
            metrics: encode_pairs(metrics),
            prints: prints.to_vec(),
        };
        self.journal.append(&self.name, &line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::grid::Grid;

    #[test]
    fn cells_round_trip_bit_for_bit() {
        let cells = [
            Cell::Int(i64::MIN),
            Cell::Int(7),
            Cell::Float(0.1),
            Cell::Float(1.0),
            Cell::Float(-0.0),
            Cell::Float(1e300),
            Cell::Float(5e-324),
            Cell::Float(f64::INFINITY),
            Cell::Float(f64::NEG_INFINITY),
            Cell::Float(0.1 + 0.2),
            Cell::Bool(true),
            Cell::Text("a \"b\"\n,c".into()),
            Cell::Text(String::new()),
            Cell::Empty,
        ];
        for c in cells {
            let back = decode_cell(&encode_cell(&c)).unwrap();
            match (&c, &back) {
                (Cell::Float(a), Cell::Float(b)) => assert_eq!(a.to_bits(), b.to_bits()),
                _ => assert_eq!(c, back),
            }
        }
        let nan = decode_cell(&encode_cell(&Cell::Float(f64::NAN))).unwrap();
        assert!(matches!(nan, Cell::Float(x) if x.is_nan()));
        for bad in ["", "x", "i:", "i:1.5", "f:abc", "e:x", "q:1"] {
            assert_eq!(decode_cell(bad), None, "{bad}");
        }
    }

    fn plan(seed: u64) -> Plan {
        let grid = Grid::new(vec![("n".into(), vec![Cell::Int(1), Cell::Int(2)])]).unwrap();
        Plan::new(grid, 2, seed, 100).unwrap()
    }

    fn metrics(i: usize) -> Vec<(String, Cell)> {
        vec![("x".into(), Cell::Float(i as f64 / 3.0))]
    }

    #[test]
    fn a_resumed_sweep_reuses_only_matching_runs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let p = plan(1);
        {
            let j = Journal::new(root.clone(), false);
            let s = j.start_sweep("s", "fp", &p).unwrap();
            for i in [0, 2] {
                s.append(i, &p.task(i), &metrics(i), &[format!("line {i}")])
                    .unwrap();
            }
            assert_eq!(j.computed(), 2);
            assert_eq!(j.entries()[0].runs, 2);
        }
        // A line cut short by a crash is skipped, and the next append starts a new line.
        let file = root.join(DIR).join("s.jsonl");
        let mut f = OpenOptions::new().append(true).open(&file).unwrap();
        f.write_all(b"{\"key\":\"trunc").unwrap();
        drop(f);

        let j = Journal::new(root.clone(), true);
        let mut s = j.start_sweep("s", "fp", &p).unwrap();
        let reused = s.take_reused();
        assert_eq!(reused.len(), 2);
        assert_eq!(reused[&2], (metrics(2), vec!["line 2".to_string()]));
        assert_eq!(j.resumed(), 2);
        s.append(1, &p.task(1), &metrics(1), &[]).unwrap();
        assert_eq!(read_lines(&file).len(), 3);

        // Another fingerprint, seed or call of the same name reuses nothing.
        for (fp, seed) in [("other", 1), ("fp", 2)] {
            let j = Journal::new(root.clone(), true);
            let mut s = j.start_sweep("s", fp, &plan(seed)).unwrap();
            assert!(s.take_reused().is_empty(), "{fp} {seed}");
        }
        let j = Journal::new(root.clone(), true);
        assert_eq!(j.start_sweep("s", "fp", &p).unwrap().take_reused().len(), 3);
        assert!(j
            .start_sweep("s", "fp", &p)
            .unwrap()
            .take_reused()
            .is_empty());

        j.remove_own();
        assert!(!root.join(DIR).exists());
        assert!(root.exists());
    }

    /// A successful run deletes its own lines and journal files, never the
    /// journal of another script's interrupted sweep or of another seed.
    #[test]
    fn a_successful_run_removes_only_its_own_journal() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let p = plan(1);
        for (name, fp) in [("mine", "other script"), ("theirs", "other script")] {
            let j = Journal::new(root.clone(), false);
            let s = j.start_sweep(name, fp, &p).unwrap();
            s.append(0, &p.task(0), &metrics(0), &[]).unwrap();
        }
        let j = Journal::new(root.clone(), false);
        let s = j.start_sweep("mine", "this script", &p).unwrap();
        for i in 0..p.len() {
            s.append(i, &p.task(i), &metrics(i), &[]).unwrap();
        }
        j.start_sweep("only-mine", "this script", &p)
            .unwrap()
            .append(0, &p.task(0), &metrics(0), &[])
            .unwrap();
        j.remove_own();
        let mine = root.join(DIR).join("mine.jsonl");
        assert_eq!(read_lines(&mine).len(), 1, "the other script's line stays");
        assert_eq!(read_lines(&root.join(DIR).join("theirs.jsonl")).len(), 1);
        assert!(!root.join(DIR).join("only-mine.jsonl").exists());
    }

    #[test]
    fn a_failed_run_removes_only_what_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let p = plan(1);
        let j = Journal::new(root.clone(), false);
        let s = j.start_sweep("a/b", "fp", &p).unwrap();
        s.append(0, &p.task(0), &metrics(0), &[]).unwrap();
        assert!(root.join(DIR).join("a/b.jsonl").is_file());
        j.remove_created();
        assert!(!root.exists());
    }
}
