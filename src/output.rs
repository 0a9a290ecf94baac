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
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
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
    Ok(clean)
}

/// Files staged by a run, written only by [`Outputs::commit`].
#[derive(Debug, Default)]
pub struct Outputs {
    /// Relative path -> contents; saving the same path again replaces it.
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl Outputs {
    /// Stages `bytes` for `rel` (already checked by [`check_relative`]).
    pub fn stage(&mut self, rel: PathBuf, bytes: Vec<u8>) {
        self.files.insert(rel, bytes);
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
        for (path, temp) in ready {
            persist(temp, &path)?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Creates the folders from `root` down to `rel`'s parent, refusing any
/// symlink on the way (inside the root) and a symlink at the file itself.
/// Returns the file's path.
pub fn prepare_destination(root: &Path, rel: &Path) -> Result<PathBuf, OutputError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutputError::Io { path, source }
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
                    source: e,
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
    b.tempfile_in(dir)
}

/// Writes `bytes` to a temporary file in the folder of `path`, flushed to
/// disk and closed; it is deleted when dropped unless persisted.
pub fn write_temp(path: &Path, bytes: &[u8]) -> Result<TempPath, OutputError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let io = |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
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
        source: e.error,
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
    fn commit_writes_files_and_refuses_symlinked_folders() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let mut out = Outputs::default();
        out.stage(PathBuf::from("a/b.csv"), b"x\n1\n".to_vec());
        let written = out.commit(root.path()).unwrap();
        assert_eq!(fs::read(&written[0]).unwrap(), b"x\n1\n");

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
            let mut out = Outputs::default();
            out.stage(PathBuf::from("link/escape.csv"), b"x\n".to_vec());
            let err = out.commit(root.path()).unwrap_err();
            assert!(err.to_string().contains("symlink"), "{err}");
            assert!(!outside.path().join("escape.csv").exists());
        }
    }
}
