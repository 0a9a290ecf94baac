//! Chrome trace files written while a run goes, and kept only if the whole
//! script succeeds.
//!
//! A trace can be far larger than memory, so it cannot be staged like a CSV.
//! Instead [`StreamingTrace`] streams it into a temporary file (`.gilsim-*.tmp`)
//! in the folder of its destination, hashing it as it goes. A finished trace
//! waits in [`TraceOutputs`] until the script has succeeded; then
//! [`TraceOutputs::commit`] renames each into place. If the script fails, the
//! temporary files are deleted (when [`TraceOutputs`] is dropped), and so are
//! the folders created for them, if they are empty.
//!
//! Two kinds of trace use this: the run option `chrome_trace: "name"`
//! (`<out>/name.json`, inside the output folder, under its path guard) and
//! the command line's `--trace FILE` (the first `machine.run` outside a sweep).

use crate::output::chrome_trace::ChromeTraceWriter;
use crate::output::manifest::FileEntry;
use crate::output::staging::{prepare_destination, slashed, temp_file_in, OutputError};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use tempfile::TempPath;

/// Default of `--max-trace-events`.
pub const DEFAULT_MAX_TRACE_EVENTS: u64 = 10_000_000;

/// A writer that hashes and counts what passes through it.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the SHA-256 (lowercase hex) and the size of what was written.
    pub fn into_parts(self) -> (W, String, u64) {
        let hash = self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (self.inner, hash, self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The trace sink that writes a file.
pub type FileTraceWriter = ChromeTraceWriter<HashingWriter<BufWriter<File>>>;

/// A Chrome trace being written to a temporary file beside its destination.
pub struct StreamingTrace {
    /// The trace sink to pass to the engine.
    pub writer: FileTraceWriter,
    temp: TempPath,
    dest: PathBuf,
}

impl StreamingTrace {
    /// Creates the temporary file for `dest` (whose folder must exist) and
    /// starts the JSON document; at most `limit` events will be written.
    pub fn create(dest: &Path, limit: u64) -> io::Result<Self> {
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = temp_file_in(dir)?;
        let file = tmp.as_file().try_clone()?;
        let temp = tmp.into_temp_path();
        let writer = ChromeTraceWriter::new(HashingWriter::new(BufWriter::new(file)), limit)?;
        Ok(StreamingTrace {
            writer,
            temp,
            dest: dest.to_path_buf(),
        })
    }

    /// The temporary file being written.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Closes the document and flushes it to disk. The error explains the
    /// failure (e.g. the event limit).
    pub fn finish(self) -> Result<FinishedTrace, String> {
        let hashing = self.writer.finish().map_err(|e| e.to_string())?;
        let (buffered, sha256, bytes) = hashing.into_parts();
        let file = buffered.into_inner().map_err(|e| e.error().to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        Ok(FinishedTrace {
            temp: self.temp,
            dest: self.dest,
            sha256,
            bytes,
        })
    }
}

/// A complete trace in its temporary file, waiting for the script to succeed.
pub struct FinishedTrace {
    temp: TempPath,
    dest: PathBuf,
    sha256: String,
    bytes: u64,
}

impl FinishedTrace {
    /// Renames the temporary file to its destination.
    fn persist(self) -> Result<(), OutputError> {
        let dest = self.dest;
        self.temp.persist(&dest).map_err(|e| OutputError::Io {
            path: dest,
            cause: e.error,
        })
    }

    /// The manifest entry of the file, under the name `path`.
    fn entry(&self, path: String) -> FileEntry {
        FileEntry {
            path,
            sha256: self.sha256.clone(),
            bytes: self.bytes,
        }
    }
}

/// The state of the command line's `--trace FILE`.
enum CliTrace {
    /// No `--trace`.
    Off,
    /// Waiting for the first run outside a sweep.
    Waiting(String, Box<StreamingTrace>),
    /// Taken by a run that has not finished.
    Running(String),
    /// Written, waiting for the script to succeed.
    Done(String, FinishedTrace),
    /// The traced run failed (and the script caught the error).
    Failed(String, String),
}

/// The trace files of one run.
pub struct TraceOutputs {
    out_dir: Option<PathBuf>,
    /// Folders created for traces, outermost first; removed if empty on failure.
    created: Vec<PathBuf>,
    /// Every temporary file started (for [`TraceOutputs::remove_temp_files`]).
    temps: Vec<PathBuf>,
    /// `chrome_trace` files by path relative to the output folder.
    staged: BTreeMap<PathBuf, FinishedTrace>,
    cli: CliTrace,
    committed: bool,
}

impl Default for TraceOutputs {
    fn default() -> Self {
        TraceOutputs::new(None)
    }
}

impl std::fmt::Debug for TraceOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceOutputs")
            .field("out_dir", &self.out_dir)
            .field("staged", &self.staged.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TraceOutputs {
    /// Trace files of a run writing into `out_dir`.
    pub fn new(out_dir: Option<PathBuf>) -> Self {
        TraceOutputs {
            out_dir,
            created: Vec::new(),
            temps: Vec::new(),
            staged: BTreeMap::new(),
            cli: CliTrace::Off,
            committed: false,
        }
    }

    /// Starts `--trace FILE`: creates its temporary file now, so a path that
    /// cannot be written fails before the script runs.
    pub fn start_cli(&mut self, file: &Path, limit: u64) -> Result<(), OutputError> {
        let shown = file.display().to_string();
        let io = |cause| OutputError::Io {
            path: file.to_path_buf(),
            cause,
        };
        if file.is_dir() {
            return Err(io(io::Error::other("it is a folder")));
        }
        let trace = StreamingTrace::create(file, limit).map_err(io)?;
        self.temps.push(trace.temp_path().to_path_buf());
        self.cli = CliTrace::Waiting(shown, Box::new(trace));
        Ok(())
    }

    /// Takes the `--trace` file for a run, if it is still waiting for one.
    pub fn take_cli(&mut self) -> Option<(String, StreamingTrace)> {
        match std::mem::replace(&mut self.cli, CliTrace::Off) {
            CliTrace::Waiting(name, trace) => {
                self.cli = CliTrace::Running(name.clone());
                Some((name, *trace))
            }
            other => {
                self.cli = other;
                None
            }
        }
    }

    /// Records the outcome of the run that took the `--trace` file.
    pub fn cli_finished(&mut self, outcome: Result<FinishedTrace, String>) {
        if let CliTrace::Running(name) = std::mem::replace(&mut self.cli, CliTrace::Off) {
            self.cli = match outcome {
                Ok(t) => CliTrace::Done(name, t),
                Err(e) => CliTrace::Failed(name, e),
            };
        }
    }

    /// Opens `<out>/<rel>` for a `chrome_trace` run option (`rel` already
    /// checked by `check_relative`): folders are created as needed, refusing
    /// symlinks, and remembered so a failed run can remove them.
    pub fn open(&mut self, rel: &Path, limit: u64) -> Result<StreamingTrace, String> {
        let root = self
            .out_dir
            .clone()
            .ok_or("this run has no output folder, so it cannot write a trace")?;
        let mut missing = Vec::new();
        let mut dir = root.join(rel);
        while dir.pop() && !dir.as_os_str().is_empty() && !dir.exists() {
            missing.push(dir.clone());
        }
        let dest = prepare_destination(&root, rel);
        missing.reverse();
        for d in missing {
            if d.is_dir() && !self.created.contains(&d) {
                self.created.push(d);
            }
        }
        let dest = dest.map_err(|e| e.to_string())?;
        let trace = StreamingTrace::create(&dest, limit)
            .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
        self.temps.push(trace.temp_path().to_path_buf());
        Ok(trace)
    }

    /// Deletes every temporary file this run started, even those still being
    /// written by a run in progress on another thread (an interrupted run
    /// that is not waited for), and the folders created for them if empty.
    pub fn remove_temp_files(&mut self) {
        for p in self.temps.drain(..) {
            let _ = std::fs::remove_file(p);
        }
        for dir in self.created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// Keeps a finished `chrome_trace` file for the commit; one saved under
    /// the same name earlier is replaced (its temporary file deleted).
    pub fn stage(&mut self, rel: PathBuf, trace: FinishedTrace) {
        self.staged.insert(rel, trace);
    }

    /// The relative paths of the staged `chrome_trace` files.
    pub fn staged_paths(&self) -> impl Iterator<Item = &Path> {
        self.staged.keys().map(PathBuf::as_path)
    }

    /// Fails if `--trace` was given but no trace was written: checked before
    /// anything is committed, so such a run writes nothing.
    pub fn check_cli(&self) -> Result<(), String> {
        match &self.cli {
            CliTrace::Off | CliTrace::Done(..) => Ok(()),
            CliTrace::Waiting(name, _) | CliTrace::Running(name) => Err(format!(
                "--trace {name}: the script made no machine.run outside a sweep, so there is no run to trace; trace sweep points with the run option trace_window and r.timeline(...) or run one configuration outside the sweep"
            )),
            CliTrace::Failed(name, e) => Err(format!(
                "--trace {name}: the traced run (the first machine.run outside a sweep) failed: {e}"
            )),
        }
    }

    /// The manifest entries of the finished traces, before [`TraceOutputs::commit`]:
    /// the `chrome_trace` files (relative paths) and the `--trace` file.
    pub fn entries(&self) -> (Vec<FileEntry>, Option<FileEntry>) {
        let named = self
            .staged
            .iter()
            .map(|(rel, t)| t.entry(slashed(rel)))
            .collect();
        let cli = match &self.cli {
            CliTrace::Done(name, t) => Some(t.entry(name.clone())),
            _ => None,
        };
        (named, cli)
    }

    /// The finished traces and their destinations, for a [`crate::output::staging::Replacer`]
    /// to rename into place (the folders of `chrome_trace` files checked
    /// again: nothing may have become a symlink).
    pub fn take_ready(&mut self) -> Result<Vec<(PathBuf, TempPath)>, OutputError> {
        self.committed = true;
        let mut ready = Vec::with_capacity(self.staged.len() + 1);
        for (rel, trace) in std::mem::take(&mut self.staged) {
            if let Some(root) = &self.out_dir {
                prepare_destination(root, &rel)?;
            }
            ready.push((trace.dest, trace.temp));
        }
        if let CliTrace::Done(_, trace) = std::mem::replace(&mut self.cli, CliTrace::Off) {
            ready.push((trace.dest, trace.temp));
        }
        Ok(ready)
    }

    /// Renames every trace into place. Returns the manifest entries of the
    /// `chrome_trace` files (relative paths) and of the `--trace` file.
    pub fn commit(&mut self) -> Result<(Vec<FileEntry>, Option<FileEntry>), OutputError> {
        self.committed = true;
        let mut entries = Vec::with_capacity(self.staged.len());
        for (rel, trace) in std::mem::take(&mut self.staged) {
            if let Some(root) = &self.out_dir {
                // Checks the folders again: nothing may have become a symlink.
                prepare_destination(root, &rel)?;
            }
            entries.push(trace.entry(slashed(&rel)));
            trace.persist()?;
        }
        let cli = match std::mem::replace(&mut self.cli, CliTrace::Off) {
            CliTrace::Done(name, trace) => {
                let entry = trace.entry(name);
                trace.persist()?;
                Some(entry)
            }
            _ => None,
        };
        Ok((entries, cli))
    }
}

impl Drop for TraceOutputs {
    /// A run that did not commit deletes its temporary files, then the
    /// folders it created for them if they are empty.
    fn drop(&mut self) {
        self.staged.clear();
        self.cli = CliTrace::Off;
        if !self.committed {
            for dir in self.created.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}
