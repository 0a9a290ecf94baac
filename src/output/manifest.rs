//! The run manifest: `manifest.json` beside the outputs, saying what produced them.
//!
//! It is written last, after every output file. A run that succeeded writes
//! one with `"status": "ok"`, describing complete results; a run stopped by
//! Ctrl-C or SIGTERM writes one with `"status": "interrupted"`, which lists no
//! output file (it wrote none) and names the sweep journal that keeps its
//! finished sweep runs; a run that failed writes none. It records
//! the script (path and SHA-256, and those of every module it imported), the
//! seed, the parameters (the `--set` overrides as given and the value of every
//! `param()` the script read), the gilsim version, the wall time, each file
//! written with its SHA-256, and the script's findings (`finding(text)`).

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// File name of the manifest inside the output folder.
pub const FILE_NAME: &str = "manifest.json";

/// Where an interrupted run writes its record when the folder holds the
/// results of an earlier good run (whose `manifest.json` it keeps).
pub const INTERRUPTED_FILE_NAME: &str = "manifest-interrupted.json";

/// A file and its hash.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FileEntry {
    /// Path (relative to the output folder for outputs).
    pub path: String,
    /// SHA-256 of its contents, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

impl FileEntry {
    /// The entry of `bytes` at `path`.
    pub fn of(path: impl Into<String>, bytes: &[u8]) -> Self {
        FileEntry {
            path: path.into(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        }
    }
}

/// A parameter the script read.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ParamEntry {
    /// Its effective value.
    pub value: serde_json::Value,
    /// `set` (from `--set`) or `default` (the script's default).
    pub source: &'static str,
}

/// Everything the manifest records.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Manifest {
    /// `ok`, or `interrupted` (a failed run writes no manifest).
    pub status: &'static str,
    /// The signal that interrupted the run (`SIGINT`, `SIGTERM`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// `gilsim` and its version.
    pub gilsim_version: String,
    /// The script as given on the command line, with its hash.
    pub script: FileEntry,
    /// Modules the script imported (resolved file and hash).
    pub imports: Vec<FileEntry>,
    /// The master seed.
    pub seed: u64,
    /// Worker threads for sweeps (does not change any result).
    pub jobs: usize,
    /// Every limit (`--limit NAME=VALUE`), by name.
    pub limits: BTreeMap<String, u64>,
    /// `--set` overrides as given on the command line.
    pub overrides: BTreeMap<String, String>,
    /// Every parameter the script read, with its value.
    pub parameters: BTreeMap<String, ParamEntry>,
    /// When the run started, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// Wall time of the run, seconds.
    pub wall_time_s: f64,
    /// Output files, relative to the output folder, sorted (CSV files,
    /// figures and `chrome_trace` files).
    pub files: Vec<FileEntry>,
    /// The `--trace FILE` written, with its path as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_file: Option<FileEntry>,
    /// The sentences of `finding(text)`, in call order.
    pub findings: Vec<String>,
    /// Sweep runs (point × replicate) this run computed.
    pub computed_runs: u64,
    /// Sweep runs taken from the journal of an earlier run (`--resume`).
    pub resumed_runs: u64,
    /// An interrupted run's sweep journal files, with the runs each holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub journal: Vec<JournalEntry>,
    /// `gilsim merge`: the shard folders whose sweep runs this run assembled.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged_shards: Vec<String>,
}

impl Manifest {
    /// The manifest as pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut s = serde_json::to_vec_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
        s.push(b'\n');
        s
    }
}

/// A journal file and how many runs it holds (the `journal` of an
/// interrupted run's manifest; `sweep/journal.rs` counts them).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JournalEntry {
    /// Relative to the output folder.
    pub path: String,
    /// Complete lines (finished runs) in it.
    pub runs: u64,
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_standard_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
