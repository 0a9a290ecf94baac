//! The run's output folder: where a script may write, and how files get there.
//!
//! A script names its outputs with relative paths (`convoy`, `e4/latency`).
//! [`check_relative`] refuses a name that could leave the output folder
//! (absolute, `..`, a drive prefix, control characters) as soon as the script
//! names it, so the error points at the offending line. Nothing is written
//! while the script runs: outputs are *staged* in memory ([`Outputs`]) and
//! [`Outputs::commit`] writes them only after the whole script succeeded, each
//! through a temporary file in the destination folder and a rename, so a failed
//! run leaves no partial file and readers never see half a CSV. At commit time
//! every folder on the way is checked again: a symlink inside the output folder
//! is refused, so a link cannot smuggle a file outside.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use tempfile::TempPath;
use thiserror::Error;

/// A path a script may not write, or a file that could not be written.
#[derive(Debug, Error)]
pub enum OutputError {
    /// The name is not a plain relative path inside the output folder.
    #[error("output path \"{path}\" is refused: {reason}; use a relative name inside the output folder, like \"convoy\" or \"e4/latency\"")]
    Refused {
        /// The name as the script wrote it.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file system said no.
    #[error("cannot write {path}: {cause}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause (not an error `source`: the message shows it once).
        cause: std::io::Error,
    },
    /// Two outputs of one run cannot both exist: one would be the other's folder.
    #[error("output \"{path}\" cannot be written: this run also writes {other}, so {folder} would have to be both a file and a folder; rename one of them")]
    Clash {
        /// The output named last.
        path: String,
        /// The other output.
        other: String,
        /// The path that would be both.
        folder: String,
    },
}

fn refused(path: &str, reason: impl Into<String>) -> OutputError {
    OutputError::Refused {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// Longest name of one path component, as most file systems allow.
const MAX_COMPONENT: usize = 255;

/// Checks that `name` is a relative path that stays inside the output folder,
/// lexically: no root, no drive prefix, no `..`, no control characters.
/// Returns the normalised relative path (`.` components dropped).
pub fn check_relative(name: &str) -> Result<PathBuf, OutputError> {
    if name.is_empty() {
        return Err(refused(name, "the name is empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(refused(name, "it contains a control character"));
    }
    if name.contains('\\') {
        return Err(refused(
            name,
            "it contains a backslash (use / between folders)",
        ));
    }
    let mut clean = PathBuf::new();
    for part in Path::new(name).components() {
        match part {
            Component::Normal(p) => {
                if p.len() > MAX_COMPONENT {
                    return Err(refused(
                        name,
                        format!("a part is longer than {MAX_COMPONENT} bytes"),
                    ));
                }
                clean.push(p);
            }
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(refused(
                    name,
                    "it contains `..`, which leaves the output folder",
                ))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(refused(
                    name,
                    "it is absolute, which leaves the output folder",
                ))
            }
        }
    }
    if clean.as_os_str().is_empty() || name.ends_with('/') {
        return Err(refused(name, "it names a folder, not a file"));
    }
    if clean
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with(".gilsim"))
    {
        return Err(refused(
            name,
            "names starting with .gilsim are gilsim's own (sweep journal, lock, temporary files)",
        ));
    }
    if RESERVED.iter().any(|r| clean == Path::new(r)) {
        return Err(refused(
            name,
            format!(
                "{} is the run's manifest; choose another name",
                clean.display()
            ),
        ));
    }
    Ok(clean)
}

/// Files of the output folder that belong to the run itself.
pub const RESERVED: &[&str] = &[
    crate::output::manifest::FILE_NAME,
    crate::output::manifest::INTERRUPTED_FILE_NAME,
];

/// The first two of `paths` (sorted) that clash: one is the other's folder.
pub fn clash<'p>(paths: impl IntoIterator<Item = &'p Path>) -> Option<(&'p Path, &'p Path)> {
    let mut all: Vec<&Path> = paths.into_iter().collect();
    all.sort();
    // Sorted by components, a path is followed by the paths under it.
    all.windows(2)
        .find(|w| w[1].starts_with(w[0]) && w[1] != w[0])
        .map(|w| (w[0], w[1]))
}

/// Files staged by a run, written only by [`Outputs::commit`].
#[derive(Debug, Default)]
pub struct Outputs {
    /// Relative path -> contents; saving the same path again replaces it.
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl Outputs {
    /// Stages `bytes` for `rel` (already checked by [`check_relative`]),
    /// unless a staged file would be its folder or it another's.
    pub fn stage(&mut self, rel: PathBuf, bytes: Vec<u8>) -> Result<(), OutputError> {
        let clash = |other: &Path, folder: &Path| OutputError::Clash {
            path: slashed(&rel),
            other: slashed(other),
            folder: slashed(folder),
        };
        if let Some(a) = rel
            .ancestors()
            .skip(1)
            .find(|a| self.files.contains_key(*a))
        {
            return Err(clash(a, a));
        }
        let under = self
            .files
            .range(rel.clone()..)
            .map(|(p, _)| p)
            .find(|p| **p != rel);
        if let Some(p) = under.filter(|p| p.starts_with(&rel)) {
            return Err(clash(p, &rel));
        }
        self.files.insert(rel, bytes);
        Ok(())
    }

    /// The staged relative paths, in sorted order.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.keys().map(PathBuf::as_path)
    }

    /// The staged files and their contents, in sorted order.
    pub fn files(&self) -> impl Iterator<Item = (&Path, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_path(), b.as_slice()))
    }

    /// Number of staged files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes every staged file under `root` (created if missing) in full to
    /// a temporary file beside its destination, flushed to disk; returns the
    /// destinations and their temporary files, for [`persist`]. Nothing is
    /// in place yet, so a full disk or any other write error leaves the old
    /// files, all of them (the temporary files are deleted when dropped).
    pub fn prepare(&self, root: &Path) -> Result<Vec<(PathBuf, TempPath)>, OutputError> {
        let mut ready = Vec::with_capacity(self.files.len());
        for (rel, bytes) in &self.files {
            let path = prepare_destination(root, rel)?;
            let temp = write_temp(&path, bytes)?;
            ready.push((path, temp));
        }
        Ok(ready)
    }

    /// Writes every staged file under `root` (created if missing), atomically
    /// each, all written in full before any is renamed into place; returns
    /// the written paths.
    pub fn commit(&self, root: &Path) -> Result<Vec<PathBuf>, OutputError> {
        let ready = self.prepare(root)?;
        let mut written = Vec::with_capacity(ready.len());
        let mut replacer = Replacer::default();
        for (path, temp) in ready {
            replacer.replace(temp, &path)?;
            written.push(path);
        }
        replacer.finish();
        Ok(written)
    }
}

/// A relative path with `/` separators on every platform.
pub fn slashed(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Renames temporary files into place, all or none: each file replaced is
/// first kept as a hard link beside it, and if a later rename fails (or the
/// replacer is dropped before [`Replacer::finish`]) every file renamed so far
/// is put back as it was.
#[derive(Debug, Default)]
pub struct Replacer {
    /// Destinations renamed so far, with the backup of what was there.
    done: Vec<(PathBuf, Backup)>,
    finished: bool,
}

#[derive(Debug)]
enum Backup {
    /// Nothing was there: undoing removes the new file.
    Absent,
    /// The old file, hard-linked here.
    Linked(PathBuf),
    /// A file was there but could not be linked: undoing leaves the new file.
    Unknown,
}

impl Replacer {
    /// Renames `temp` to `path`, keeping the file that was there until
    /// [`Replacer::finish`].
    pub fn replace(&mut self, temp: TempPath, path: &Path) -> Result<(), OutputError> {
        let backup = match fs::symlink_metadata(path) {
            Ok(m) if m.is_file() => backup_of(path).map_or(Backup::Unknown, Backup::Linked),
            Ok(_) => Backup::Unknown,
            Err(_) => Backup::Absent,
        };
        match persist(temp, path) {
            Ok(()) => {
                self.done.push((path.to_path_buf(), backup));
                Ok(())
            }
            Err(e) => {
                if let Backup::Linked(b) = backup {
                    let _ = fs::remove_file(b);
                }
                Err(e)
            }
        }
    }

    /// Keeps every new file and deletes the backups.
    pub fn finish(mut self) {
        self.finished = true;
        for (_, b) in self.done.drain(..) {
            if let Backup::Linked(b) = b {
                let _ = fs::remove_file(b);
            }
        }
    }
}

impl Drop for Replacer {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        for (path, b) in self.done.drain(..).rev() {
            match b {
                Backup::Linked(b) => {
                    let _ = fs::rename(&b, &path);
                }
                Backup::Absent => {
                    let _ = fs::remove_file(&path);
                }
                Backup::Unknown => {}
            }
        }
    }
}

/// A hard link to `path` under a free `.gilsim-*.tmp` name beside it.
fn backup_of(path: &Path) -> Option<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    for _ in 0..16 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let b = dir.join(format!(".gilsim-{}-{n}.bak.tmp", std::process::id()));
        if fs::hard_link(path, &b).is_ok() {
            return Some(b);
        }
    }
    None
}

/// Creates the folders from `root` down to `rel`'s parent, refusing any
/// symlink on the way (inside the root) and a symlink at the file itself.
/// Returns the file's path.
pub fn prepare_destination(root: &Path, rel: &Path) -> Result<PathBuf, OutputError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| OutputError::Io { path, cause }
    };
    fs::create_dir_all(root).map_err(io(root))?;
    let shown = rel.display().to_string();
    let mut dir = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    let Some((file, folders)) = parts.split_last() else {
        return Err(refused(&shown, "the name is empty"));
    };
    for part in folders {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refused(
                    &shown,
                    format!(
                        "{} is a symlink, which could lead outside the output folder",
                        dir.display()
                    ),
                ))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(refused(
                    &shown,
                    format!("{} exists and is not a folder", dir.display()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir(&dir).map_err(io(&dir))?
            }
            Err(e) => {
                return Err(OutputError::Io {
                    path: dir,
                    cause: e,
                })
            }
        }
    }
    let path = dir.join(file);
    if let Ok(m) = fs::symlink_metadata(&path) {
        if m.file_type().is_symlink() {
            return Err(refused(
                &shown,
                format!(
                    "{} is a symlink, which could lead outside the output folder",
                    path.display()
                ),
            ));
        }
        if m.is_dir() {
            return Err(refused(&shown, format!("{} is a folder", path.display())));
        }
    }
    Ok(path)
}

/// Creates a temporary file `.gilsim-*.tmp` in `dir`, deleted when dropped
/// unless persisted. On Unix it is created with mode 0666 less the umask, as
/// an ordinary file would be, so the renamed result is readable by others
/// when the umask allows (tempfile's default is 0600).
pub fn temp_file_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(".gilsim-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir).map_err(without_temp_name)
}

/// tempfile's errors end with ` at path "<dir>/.gilsim-XXXXXX.tmp"`: a name
/// the user never chose and that no longer exists. The caller names the file
/// it was writing, so only the cause is kept.
fn without_temp_name(e: std::io::Error) -> std::io::Error {
    let text = e.to_string();
    match text.find(" at path \"") {
        Some(i) => std::io::Error::new(e.kind(), text[..i].to_string()),
        None => e,
    }
}

/// Writes `bytes` to a temporary file in the folder of `path`, flushed to
/// disk and closed; it is deleted when dropped unless persisted.
pub fn write_temp(path: &Path, bytes: &[u8]) -> Result<TempPath, OutputError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let io = |cause| OutputError::Io {
        path: path.to_path_buf(),
        cause,
    };
    let mut tmp = temp_file_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    Ok(tmp.into_temp_path())
}

/// Renames the temporary file `temp` to `path`.
pub fn persist(temp: TempPath, path: &Path) -> Result<(), OutputError> {
    temp.persist(path).map_err(|e| OutputError::Io {
        path: path.to_path_buf(),
        cause: e.error,
    })
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a
/// rename, so `path` holds either its old contents or all of the new ones.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    persist(write_temp(path, bytes)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        let cases = [
            ("convoy.csv", Ok("convoy.csv")),
            ("e4/latency.csv", Ok("e4/latency.csv")),
            ("./a/./b.csv", Ok("a/b.csv")),
            ("", Err("empty")),
            ("/tmp/x.csv", Err("absolute")),
            ("../x.csv", Err("..")),
            ("a/../../x.csv", Err("..")),
            ("a/", Err("folder")),
            (".", Err("folder")),
            ("a\\b.csv", Err("backslash")),
            ("a\nb.csv", Err("control")),
            ("manifest.json", Err("the run's manifest")),
            ("./manifest-interrupted.json", Err("the run's manifest")),
            (".gilsim-journal/s.jsonl", Err("gilsim's own")),
            ("a/.gilsim-lock", Err("gilsim's own")),
            ("a/manifest.json", Ok("a/manifest.json")),
        ];
        for (name, want) in cases {
            match (check_relative(name), want) {
                (Ok(p), Ok(w)) => assert_eq!(p, PathBuf::from(w), "{name:?}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{name:?}: {e}"),
                (got, want) => panic!("{name:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn outputs_that_would_be_each_others_folder_clash_when_staged() {
        let mut out = Outputs::default();
        out.stage(PathBuf::from("x.csv"), b"1".to_vec()).unwrap();
        out.stage(PathBuf::from("a/b.csv"), b"1".to_vec()).unwrap();
        out.stage(PathBuf::from("x.csv"), b"2".to_vec())
            .expect("saved again");
        for (name, other) in [
            ("x.csv/z.csv", "x.csv"),
            ("a", "a/b.csv"),
            ("x.csv/y/z", "x.csv"),
        ] {
            let e = out.stage(PathBuf::from(name), b"1".to_vec()).unwrap_err();
            assert!(
                e.to_string().contains(&format!("also writes {other}")),
                "{name}: {e}"
            );
        }
        assert_eq!(out.len(), 2);
        let paths = [Path::new("m.csv"), Path::new("x"), Path::new("x/y.json")];
        assert_eq!(clash(paths), Some((Path::new("x"), Path::new("x/y.json"))));
        assert_eq!(clash([Path::new("x"), Path::new("x.csv")]), None);
    }

    /// A rename that fails halfway puts back every file renamed before it.
    #[test]
    fn a_failed_commit_puts_back_the_files_it_replaced() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::write(r.join("a.csv"), "old a").unwrap();
        fs::create_dir(r.join("z.csv")).unwrap();
        let mut replacer = Replacer::default();
        replacer
            .replace(
                write_temp(&r.join("a.csv"), b"new a").unwrap(),
                &r.join("a.csv"),
            )
            .unwrap();
        replacer
            .replace(
                write_temp(&r.join("b.csv"), b"new b").unwrap(),
                &r.join("b.csv"),
            )
            .unwrap();
        let e = replacer.replace(
            write_temp(&r.join("z.csv"), b"z").unwrap(),
            &r.join("z.csv"),
        );
        assert!(e.is_err(), "a file cannot replace a folder");
        drop(replacer);
        assert_eq!(fs::read_to_string(r.join("a.csv")).unwrap(), "old a");
        assert!(!r.join("b.csv").exists());
        let left: Vec<_> = fs::read_dir(r)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temporary file or backup left: {left:?}");
    }

    #[test]
    fn commit_writes_files_and_refuses_symlinked_folders() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let mut out = Outputs::default();
        out.stage(PathBuf::from("a/b.csv"), b"x\n1\n".to_vec())
            .unwrap();
        let written = out.commit(root.path()).unwrap();
        assert_eq!(fs::read(&written[0]).unwrap(), b"x\n1\n");

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
            let mut out = Outputs::default();
            out.stage(PathBuf::from("link/escape.csv"), b"x\n".to_vec())
                .unwrap();
            let err = out.commit(root.path()).unwrap_err();
            assert!(err.to_string().contains("symlink"), "{err}");
            assert!(!outside.path().join("escape.csv").exists());
        }
    }
}
