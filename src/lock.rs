//! One `pier up`/`down` per project at a time: two runs planning from the same
//! observed state would both create the same containers. The lock is an advisory
//! file lock (flock) per engine and project, held until the run ends.
//!
//! It cannot be turned against anyone:
//! - it lives in a private directory: `$XDG_RUNTIME_DIR/pier`, else
//!   `<tmp>/pier-<uid>`, made 0700 and checked to be a real directory of this
//!   user that no one else may write to — a predictable name in the shared
//!   `/tmp` let another user plant a symlink there, or hold the lock forever;
//! - its file is opened without following a symlink (`O_NOFOLLOW`), created
//!   0600, and never truncated: the holder's line is written over in place;
//! - it is named after the engine's own ID (`GET /info`), not after how
//!   `DOCKER_HOST` is spelled, so two spellings of one engine share one lock;
//! - a holder that dies releases it (the kernel drops a flock with its last
//!   descriptor, and the descriptor is never inherited: close-on-exec);
//! - who holds it is in the file (`<pid> <command>`), for the waiting run to say;
//! - the file is removed when released. A run that took the lock on a file that
//!   was removed meanwhile tries again on the new one, so removal never lets
//!   two runs hold it at once.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// How often a waiting run tries the lock again.
const RETRY: Duration = Duration::from_millis(100);
/// The holder's line is padded to this width, so that a shorter line written
/// over a longer one leaves nothing of it (the file is never truncated).
const RECORD: usize = 128;

/// Held while it lives; the file is removed when it is dropped.
#[derive(Debug)]
pub struct ProjectLock {
    file: File,
    path: PathBuf,
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        // Removed while still held: a run waiting on this file then finds it
        // gone once it gets the lock, and starts over on a new one.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Who holds a lock, as its holder wrote it into the file: `<pid> <command>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
}

impl Holder {
    fn parse(text: &str) -> Option<Holder> {
        let mut words = text.split_whitespace();
        let pid = words.next()?.parse().ok()?;
        let command = words.next().unwrap_or("up").to_string();
        Some(Holder { pid, command })
    }
}

/// The private directory the locks live in, made when missing. An error when
/// it is not a directory of this user's that only this user may use.
pub fn lock_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.is_dir())
    {
        Some(runtime) => runtime.join("pier"),
        None => std::env::temp_dir().join(format!("pier-{}", euid())),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(&dir, e)),
    }
    check_private(&dir)?;
    Ok(dir)
}

/// `dir` is a real directory (not a symlink), owned by this user, that no one
/// else may read or write.
fn check_private(dir: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| Error::io(dir, e))?;
    let problem = if !meta.file_type().is_dir() {
        Some("is not a directory (a symlink?)".to_string())
    } else if meta.uid() != euid() {
        Some(format!(
            "belongs to uid {}, not to you (uid {})",
            meta.uid(),
            euid()
        ))
    } else if meta.mode() & 0o077 != 0 {
        Some(format!(
            "may be used by others (mode {:o})",
            meta.mode() & 0o777
        ))
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::io(
            dir,
            std::io::Error::other(format!(
                "pier's lock directory {problem}; pier will not keep locks there \
                 (remove it, or set XDG_RUNTIME_DIR to a private directory)"
            )),
        )),
    }
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// `<dir>/<hash of engine ID and project>.lock`.
pub fn lock_path(dir: &Path, engine_id: &str, project: &str) -> PathBuf {
    let digest = Sha256::digest(format!("{engine_id}\n{project}").as_bytes());
    dir.join(format!("{}.lock", &hex::encode(digest)[..16]))
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Whether `file` is still the one at `path` (not removed by a releasing holder).
fn still_there(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl ProjectLock {
    /// Take the lock of `project` on the engine `engine_id` (`Engine::id`) for
    /// `command` (`up`, `down`). When another run holds it, call `on_wait` once
    /// with who that is, then wait until it is free, or until `interrupt` is
    /// cancelled (then `Error::Interrupted`, nothing changed).
    pub async fn acquire(
        engine_id: &str,
        project: &str,
        command: &str,
        interrupt: &CancellationToken,
        on_wait: impl FnOnce(Option<Holder>),
    ) -> Result<ProjectLock> {
        let path = lock_path(&lock_dir()?, engine_id, project);
        Self::acquire_at(path, command, interrupt, on_wait).await
    }

    async fn acquire_at(
        path: PathBuf,
        command: &str,
        interrupt: &CancellationToken,
        on_wait: impl FnOnce(Option<Holder>),
    ) -> Result<ProjectLock> {
        let io = |e| Error::io(&path, e);
        let mut on_wait = Some(on_wait);
        loop {
            let mut file = open(&path).map_err(io)?;
            match file.try_lock() {
                Ok(()) if still_there(&file, &path) => {
                    // Tell a run that waits for this one who it waits for.
                    let line = format!("{} {command}", std::process::id());
                    let _ = file.write_all_at(format!("{line:<RECORD$}\n").as_bytes(), 0);
                    return Ok(ProjectLock { file, path });
                }
                // Removed by the holder that just let go: start over on a new file.
                Ok(()) => continue,
                Err(TryLockError::WouldBlock) => {
                    if let Some(f) = on_wait.take() {
                        let mut text = String::new();
                        let _ = file.read_to_string(&mut text);
                        f(Holder::parse(&text));
                    }
                    tokio::select! {
                        () = tokio::time::sleep(RETRY) => {}
                        () = interrupt.cancelled() => return Err(Error::Interrupted),
                    }
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_differ_by_engine_and_project() {
        let dir = Path::new("/run/user/1/pier");
        let a = lock_path(dir, "ABCD:EFGH", "shop");
        assert_eq!(a, lock_path(dir, "ABCD:EFGH", "shop"));
        assert_ne!(a, lock_path(dir, "WXYZ:EFGH", "shop"));
        assert_ne!(a, lock_path(dir, "ABCD:EFGH", "shop2"));
        assert!(a.starts_with(dir));
    }

    #[test]
    fn holder_is_read_back() {
        assert_eq!(
            Holder::parse("4242 down      \n"),
            Some(Holder {
                pid: 4242,
                command: "down".into()
            })
        );
        assert_eq!(Holder::parse(""), None);
    }

    fn temp_lock(name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{name}.lock"));
        (dir, path)
    }

    #[tokio::test]
    async fn a_second_run_waits_until_the_first_lets_go() {
        let (_dir, path) = temp_lock("wait");
        let none = CancellationToken::new();
        let first =
            ProjectLock::acquire_at(path.clone(), "up", &none, |_| panic!("nobody holds it"))
                .await
                .unwrap();
        let waited = std::sync::Arc::new(std::sync::Mutex::new(None));
        let w = waited.clone();
        let path2 = path.clone();
        let second = tokio::spawn(async move {
            let none = CancellationToken::new();
            ProjectLock::acquire_at(path2, "down", &none, move |h| {
                *w.lock().unwrap() = Some(h);
            })
            .await
        });
        // The second one is waiting (it said whom for) as long as the first holds it.
        while waited.lock().unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!second.is_finished());
        let holder = waited.lock().unwrap().clone().unwrap().unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.command, "up");
        drop(first);
        let second = second.await.unwrap().expect("the second run gets the lock");
        // It holds the file now at the path, with its own line in it.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(Holder::parse(&text).unwrap().command, "down");
        drop(second);
        assert!(!path.exists(), "the lock file is removed when released");
    }

    #[tokio::test]
    async fn waiting_for_the_lock_ends_on_ctrl_c() {
        let (_dir, path) = temp_lock("int");
        let none = CancellationToken::new();
        let _first = ProjectLock::acquire_at(path.clone(), "up", &none, |_| {})
            .await
            .unwrap();
        let interrupt = CancellationToken::new();
        let cancel = interrupt.clone();
        let err = ProjectLock::acquire_at(path, "up", &interrupt, move |_| cancel.cancel())
            .await
            .expect_err("interrupted");
        assert!(matches!(err, Error::Interrupted));
    }

    #[tokio::test]
    async fn a_symlink_in_place_of_the_lock_is_not_followed() {
        let (dir, path) = temp_lock("link");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let none = CancellationToken::new();
        let err = ProjectLock::acquire_at(path, "up", &none, |_| {})
            .await
            .expect_err("a symlink is refused");
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_shared_or_foreign_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::DirBuilder::new()
            .mode(0o777)
            .create(&shared)
            .unwrap();
        std::fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        let err = check_private(&shared).unwrap_err().to_string();
        assert!(err.contains("may be used by others (mode 777)"), "{err}");
        let link = dir.path().join("link");
        let private = dir.path().join("private");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&private)
            .unwrap();
        std::os::unix::fs::symlink(&private, &link).unwrap();
        let err = check_private(&link).unwrap_err().to_string();
        assert!(err.contains("is not a directory"), "{err}");
        assert!(check_private(&private).is_ok());
    }
}
