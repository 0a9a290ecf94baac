//! The output folder while a run holds it: checked before the script runs,
//! locked against other runs, cleaned of what dead runs left.
//!
//! [`FolderLock::acquire`] runs before the script does, so an output folder
//! that cannot be used (a file, not writable, under a file) fails the run at
//! once instead of after hours of work. It creates the folder if needed,
//! takes an exclusive `flock` on `<out>/.gilsim-lock` (which holds the
//! holder's pid): a second run into the same folder fails at once, naming the
//! holder, instead of mixing its files with the first run's. Holding the lock,
//! it deletes the temporary files (`.gilsim-*.tmp`) that runs killed while
//! writing (SIGKILL, a full disk) left behind: no other run can be writing
//! them. Dropping the lock deletes the lock file, and, for a run that wrote
//! nothing, the folders it created (if they are still empty).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Name of the lock file inside the output folder.
pub const LOCK_FILE: &str = ".gilsim-lock";

/// Why a run cannot use its output folder.
#[derive(Debug, Error)]
pub enum FolderError {
    /// The folder cannot be created or written.
    #[error("cannot use the output folder {path}: {reason}; choose another with --out")]
    Unusable {
        /// The folder.
        path: String,
        /// Why (the system's reason).
        reason: String,
    },
    /// Another run holds the folder.
    #[error("the output folder {path} is in use by another gilsim run ({holder}); wait for it to finish, or write elsewhere with --out")]
    Busy {
        /// The folder.
        path: String,
        /// `pid N`, as its lock file says.
        holder: String,
    },
}

/// The exclusive hold of a run on its output folder.
#[derive(Debug)]
pub struct FolderLock {
    root: PathBuf,
    file: Option<File>,
    /// Folders this run created, outermost first.
    created: Vec<PathBuf>,
    /// Whether the run committed outputs (then its folders stay).
    keep_folders: bool,
}

fn unusable(root: &Path, reason: impl ToString) -> FolderError {
    FolderError::Unusable {
        path: root.display().to_string(),
        reason: reason.to_string(),
    }
}

impl FolderLock {
    /// Creates `root` if needed, checks it can be written and locks it.
    pub fn acquire(root: &Path) -> Result<FolderLock, FolderError> {
        let created = create_folders(root)?;
        let mut lock = FolderLock {
            root: root.to_path_buf(),
            file: None,
            created,
            keep_folders: false,
        };
        let path = root.join(LOCK_FILE);
        // A run that deletes the lock file as it ends may do so between our
        // open and our lock: lock again until the file locked is the file
        // named.
        for _ in 0..100 {
            let mut file = open_lock_file(&path).map_err(|e| unusable(root, e))?;
            if !try_lock(&file).map_err(|e| unusable(root, e))? {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = match text.trim().parse::<u32>() {
                    Ok(pid) => format!("pid {pid}"),
                    Err(_) => "its pid is not known yet".to_string(),
                };
                return Err(FolderError::Busy {
                    path: root.display().to_string(),
                    holder,
                });
            }
            if !same_file(&file, &path) {
                continue;
            }
            file.set_len(0)
                .and_then(|_| file.seek(SeekFrom::Start(0)))
                .and_then(|_| writeln!(file, "{}", std::process::id()))
                .and_then(|_| file.flush())
                .map_err(|e| unusable(root, e))?;
            lock.file = Some(file);
            remove_stale_temp_files(root);
            return Ok(lock);
        }
        Err(unusable(root, "its lock file keeps changing"))
    }

    /// The locked folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The run wrote its outputs: keep the folders it created.
    pub fn keep_folders(&mut self) {
        self.keep_folders = true;
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = fs::remove_file(self.root.join(LOCK_FILE));
        }
        // Closing the file releases the lock.
        self.file = None;
        if !self.keep_folders {
            for d in self.created.iter().rev() {
                let _ = fs::remove_dir(d);
            }
        }
    }
}

/// Creates `root` and its missing parents; returns those it created,
/// outermost first.
fn create_folders(root: &Path) -> Result<Vec<PathBuf>, FolderError> {
    match fs::metadata(root) {
        Ok(m) if m.is_dir() => return Ok(Vec::new()),
        Ok(_) => return Err(unusable(root, "it exists and is not a folder")),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(unusable(root, blocking_file(root).unwrap_or(e.to_string())))
        }
        Err(_) => {}
    }
    let mut missing = Vec::new();
    let mut dir = root.to_path_buf();
    loop {
        if dir.as_os_str().is_empty() || fs::symlink_metadata(&dir).is_ok() {
            break;
        }
        missing.push(dir.clone());
        if !dir.pop() {
            break;
        }
    }
    missing.reverse();
    let mut created = Vec::new();
    for d in missing {
        match fs::create_dir(&d) {
            Ok(()) => created.push(d),
            // Another run (a sibling shard) made it first: it is theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => {
                for c in created.iter().rev() {
                    let _ = fs::remove_dir(c);
                }
                return Err(unusable(root, blocking_file(root).unwrap_or(e.to_string())));
            }
        }
    }
    Ok(created)
}

/// `X is not a folder`, for the nearest ancestor of `root` that is a file.
fn blocking_file(root: &Path) -> Option<String> {
    root.ancestors()
        .skip(1)
        .find(|a| fs::metadata(a).is_ok_and(|m| !m.is_dir()))
        .map(|a| format!("{} is not a folder", a.display()))
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    opts.open(path)
}

/// Takes an exclusive lock without waiting; false if another holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this `File` owns and keeps open.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// Whether the open `file` is still the file at `path`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, _path: &Path) -> bool {
    true
}

/// Whether `name` is one of gilsim's temporary files (`.gilsim-*.tmp`).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(".gilsim-") && name.ends_with(".tmp")
}

/// Deletes every `.gilsim-*.tmp` under `dir` (symlinks not followed).
fn remove_stale_temp_files(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            remove_stale_temp_files(&e.path());
        } else if t.is_file() && is_temp_name(&e.file_name().to_string_lossy()) {
            let _ = fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_naming_the_holder_and_the_first_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b");
        let first = FolderLock::acquire(&root).unwrap();
        let pid = std::process::id().to_string();
        assert_eq!(
            fs::read_to_string(root.join(LOCK_FILE)).unwrap().trim(),
            pid
        );
        let e = FolderLock::acquire(&root).unwrap_err().to_string();
        assert!(
            e.contains(&format!("in use by another gilsim run (pid {pid})")),
            "{e}"
        );
        drop(first);
        assert!(!dir.path().join("a").exists(), "created folders removed");
        let mut again = FolderLock::acquire(&root).unwrap();
        again.keep_folders();
        drop(again);
        assert!(root.is_dir() && !root.join(LOCK_FILE).exists());
    }

    #[test]
    fn stale_temp_files_are_removed_and_unusable_folders_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join(".gilsim-abc.tmp"), "x").unwrap();
        fs::write(root.join("sub/.gilsim-def.tmp"), "x").unwrap();
        fs::write(root.join("keep.csv"), "x").unwrap();
        let lock = FolderLock::acquire(&root).unwrap();
        assert!(!root.join(".gilsim-abc.tmp").exists());
        assert!(!root.join("sub/.gilsim-def.tmp").exists());
        assert!(root.join("keep.csv").exists());
        drop(lock);

        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        for (root, why) in [
            (file.clone(), "it exists and is not a folder"),
            (file.join("sub"), "is not a folder"),
        ] {
            let e = FolderLock::acquire(&root).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
            assert_eq!(e.matches(why).count(), 1, "the cause once: {e}");
        }
    }

    /// Shards of one cluster job start together and create the same missing
    /// parent folder: the one that loses the race uses the winner's folder.
    #[test]
    fn runs_starting_together_share_a_parent_folder_none_of_them_had() {
        for round in 0..30 {
            let dir = tempfile::tempdir().unwrap();
            let parent = dir.path().join(format!("cluster{round}/shards"));
            let start = std::sync::Arc::new(std::sync::Barrier::new(8));
            let runs: Vec<_> = (0..8)
                .map(|i| {
                    let (root, start) = (parent.join(i.to_string()), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        FolderLock::acquire(&root).map(|mut l| l.keep_folders())
                    })
                })
                .collect();
            for (i, run) in runs.into_iter().enumerate() {
                if let Err(e) = run.join().unwrap() {
                    panic!("round {round}, run {i}: {e}");
                }
            }
        }
    }
}
