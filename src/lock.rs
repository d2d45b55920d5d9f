//! One `pier up`/`down` per project at a time: two runs planning from the same
//! observed state would both create the same containers. The lock is an advisory
//! file lock named after the engine endpoint and the project, held until the run
//! ends (the operating system releases it when the process dies, however it dies).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// How often a waiting run tries the lock again.
const RETRY: Duration = Duration::from_millis(100);

/// Held while it lives.
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
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

/// `$XDG_RUNTIME_DIR/pier-<hash>.lock` (per user, on tmpfs), else in the temp dir.
pub fn lock_path(endpoint: &str, project: &str) -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let digest = Sha256::digest(format!("{endpoint}\n{project}").as_bytes());
    dir.join(format!("pier-{}.lock", &hex::encode(digest)[..16]))
}

impl ProjectLock {
    /// Take the lock of `project` for `command` (`up`, `down`). When another run holds
    /// it, call `on_wait` once with who that is, then wait until it is free, or
    /// until `interrupt` is cancelled (then `Error::Interrupted`, nothing changed).
    pub async fn acquire(
        project: &str,
        command: &str,
        interrupt: &CancellationToken,
        on_wait: impl FnOnce(Option<Holder>),
    ) -> Result<ProjectLock> {
        let path = lock_path(&crate::engine::host(), project);
        let io = |e| Error::io(&path, e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut on_wait = Some(on_wait);
        loop {
            match file.try_lock() {
                Ok(()) => break,
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
        // Tell a run that waits for this one who it waits for.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{} {command}", std::process::id()))
            .and_then(|()| file.flush());
        Ok(ProjectLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_differ_by_engine_and_project() {
        let a = lock_path("unix:///var/run/docker.sock", "shop");
        assert_eq!(a, lock_path("unix:///var/run/docker.sock", "shop"));
        assert_ne!(a, lock_path("tcp://10.0.0.2:2375", "shop"));
        assert_ne!(a, lock_path("unix:///var/run/docker.sock", "shop2"));
    }

    #[test]
    fn holder_is_read_back() {
        assert_eq!(
            Holder::parse("4242 down\n"),
            Some(Holder {
                pid: 4242,
                command: "down".into()
            })
        );
        assert_eq!(Holder::parse(""), None);
    }

    #[tokio::test]
    async fn a_second_run_waits_until_the_first_lets_go() {
        let project = format!("pier-lock-test-{}", std::process::id());
        let none = CancellationToken::new();
        let first = ProjectLock::acquire(&project, "up", &none, |_| panic!("nobody holds it"))
            .await
            .unwrap();
        let waited = std::sync::Arc::new(std::sync::Mutex::new(None));
        let w = waited.clone();
        let second = tokio::spawn(async move {
            let none = CancellationToken::new();
            ProjectLock::acquire(&project, "down", &none, move |h| {
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
        second.await.unwrap().expect("the second run gets the lock");
    }

    #[tokio::test]
    async fn waiting_for_the_lock_ends_on_ctrl_c() {
        let project = format!("pier-lock-test-int-{}", std::process::id());
        let none = CancellationToken::new();
        let _first = ProjectLock::acquire(&project, "up", &none, |_| {})
            .await
            .unwrap();
        let interrupt = CancellationToken::new();
        let cancel = interrupt.clone();
        let err = ProjectLock::acquire(&project, "up", &interrupt, move |_| cancel.cancel())
            .await
            .expect_err("interrupted");
        assert!(matches!(err, Error::Interrupted));
    }
}
