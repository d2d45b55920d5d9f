//! The fast way in and out of a volume, when the engine runs on this machine's
//! kernel and sees pier's files (a local engine on Linux): a named pipe in a
//! private directory that a helper container bind-mounts, with the image's own
//! `tar` at the other end. The volume's content then streams through the
//! kernel's pipe, while pier compresses (or decompresses) at its end at the same
//! time; the engine's archive API, the way that works with every engine, costs
//! the engine several CPU-seconds per GiB (BENCHMARKS.md, "Snapshot and
//! restore").
//!
//! The tar is the same either way — entries under `.pier-restore-staging/`,
//! numeric owners — so a snapshot taken one way restores the other. Whenever
//! this way cannot be used (another kernel, a bind mount the engine refuses,
//! no `tar` in the image, tar failing), the caller goes the archive API's way.

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::Stream;

use crate::engine::Engine;

/// Where a helper mounts the shared directory.
pub const MOUNT: &str = "/pier-io";
/// The pipe's name in it.
const PIPE: &str = "pipe";
/// A pipe's buffer: the kernel's default 64 KiB makes tar and pier take turns
/// too often; 1 MiB is the most an unprivileged process may ask for.
const PIPE_BUFFER: libc::c_int = 1 << 20;
/// How much is read from the pipe at once.
const CHUNK: usize = 1 << 20;

/// The helper's command that writes a volume (mounted at
/// `/pier/.pier-restore-staging`) into the pipe as a tar.
pub fn tar_create_command() -> Vec<String> {
    [
        "tar",
        "-c",
        "-f",
        &format!("{MOUNT}/{PIPE}"),
        "-C",
        "/pier",
        ".pier-restore-staging",
    ]
    .map(String::from)
    .to_vec()
}

/// The shell line that extracts the pipe's tar into the current directory
/// (a restore helper's script runs it when the pipe is there).
pub fn tar_extract_line() -> String {
    format!("if [ -p {MOUNT}/{PIPE} ]; then exec tar --numeric-owner -x -f {MOUNT}/{PIPE}; fi")
}

/// `PIER_SNAPSHOT_PIPE`: unset or `on`, the fast way where it works; `off`,
/// always the engine's archive API (for an engine where the fast way misbehaves).
pub fn setting() -> crate::error::Result<bool> {
    match std::env::var("PIER_SNAPSHOT_PIPE").unwrap_or_default().trim() {
        "" | "on" => Ok(true),
        "off" => Ok(false),
        other => Err(crate::error::Error::invalid(
            crate::diagnostic::Diagnostic::error(
                "",
                format!("PIER_SNAPSHOT_PIPE={other} is not a setting pier knows"),
            )
            .with_hint("PIER_SNAPSHOT_PIPE=off copies volumes through the engine's archive API only; unset or `on` uses the pipe where it can"),
        )),
    }
}

/// A private directory (0700) that helpers bind-mount at `MOUNT`, holding a
/// file with a random name (whether a helper sees it says whether the engine
/// sees pier's files) and, while a copy runs, the pipe. Removed when dropped.
pub struct Shared {
    pub dir: PathBuf,
    token: String,
}

impl Shared {
    /// None where this way is not `wanted` (`setting`) or cannot be used at
    /// all (not Linux, or the directory cannot be made).
    pub fn create(parent: &Path, wanted: bool) -> Option<Shared> {
        if !wanted || !cfg!(target_os = "linux") {
            return None;
        }
        let token = format!(".token-{:016x}", rand::random::<u64>());
        let dir = parent.join(format!(".pier-io-{}", std::process::id()));
        let made = || -> io::Result<()> {
            // Under the project's lock any other is a killed run's.
            for e in fs::read_dir(parent)?.flatten() {
                if e.file_name().to_string_lossy().starts_with(".pier-io-") {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
            fs::create_dir(&dir)?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
            fs::write(dir.join(&token), b"")
        };
        made().ok()?;
        Some(Shared { dir, token })
    }

    /// Whether `helper` (created with this directory bind-mounted) sees it:
    /// the engine runs on this machine's kernel (not in a VM or elsewhere) and
    /// the token file is there in the helper.
    pub async fn seen_by(&self, engine: &Engine, helper: &str) -> bool {
        let ours = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let Ok(theirs) = engine.kernel_version().await else {
            return false;
        };
        if ours.trim().is_empty() || ours.trim() != theirs.trim() {
            return false;
        }
        engine
            .path_exists(helper, &format!("{MOUNT}/{}", self.token))
            .await
            .unwrap_or(false)
    }

    pub fn pipe(&self) -> PathBuf {
        self.dir.join(PIPE)
    }

    /// A fresh pipe, readable and writable by pier's user only.
    pub fn make_pipe(&self) -> io::Result<()> {
        let path = self.pipe();
        let _ = fs::remove_file(&path);
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a valid NUL-terminated path.
        if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub fn remove_pipe(&self) {
        let _ = fs::remove_file(self.pipe());
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Sets its flag when dropped: held by a copy, so that a copy abandoned
/// half-way (its future dropped on Ctrl-C) tells the thread at pier's end of
/// the pipe to stop waiting for the other end.
pub struct SetOnDrop(pub Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn enlarge(file: &fs::File) {
    // Advice: a pipe keeps working with the default size.
    // SAFETY: a valid open descriptor.
    unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BUFFER) };
}

fn not_connected() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the helper ended without opening the pipe",
    )
}

/// What is written into the pipe at `path`, as a stream of chunks read on a
/// blocking thread, until the writer closes it. When `gone` is set (the helper
/// meant to write has ended) before any writer came, the stream ends with a
/// `NotConnected` error instead of waiting for ever.
pub fn read(
    path: PathBuf,
    gone: Arc<AtomicBool>,
) -> impl Stream<Item = io::Result<bytes::Bytes>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<bytes::Bytes>>(8);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = read_blocking(&path, &gone, &tx) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
}

fn read_blocking(
    path: &Path,
    gone: &AtomicBool,
    tx: &tokio::sync::mpsc::Sender<io::Result<bytes::Bytes>>,
) -> io::Result<()> {
    // Non-blocking, so that opening does not wait for a writer that may never come.
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    enlarge(&file);
    let mut connected = false;
    loop {
        let mut poll = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // Linux reports neither data nor a hang-up before a writer first opens
        // the pipe, so a timeout here means "no writer yet".
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, 100) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if ready == 0 {
            if gone.load(Ordering::SeqCst) && (!connected || tx.is_closed()) {
                return Err(not_connected());
            }
            continue;
        }
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf) {
            Ok(0) => return Ok(()), // the writer closed it
            Ok(n) => {
                connected = true;
                buf.truncate(n);
                if tx.blocking_send(Ok(bytes::Bytes::from(buf))).is_err() {
                    return Ok(()); // the reader's side stopped: its error is its own
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Write what `rx` brings into the pipe at `path` (blocking), once a reader has
/// opened it; closing it tells the reader that was all. When `gone` is set (the
/// helper meant to read has ended) before a reader came: `NotConnected`.
pub fn write_blocking(
    path: &Path,
    gone: &AtomicBool,
    mut rx: tokio::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
) -> io::Result<()> {
    let mut file = loop {
        // Opening for writing without blocking fails (ENXIO) until there is a reader.
        match fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            Ok(f) => break f,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if gone.load(Ordering::SeqCst) {
                    return Err(not_connected());
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    };
    enlarge(&file);
    // From here on writes wait for the reader.
    // SAFETY: a valid open descriptor; F_GETFL/F_SETFL only change its flags.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
    }
    while let Some(chunk) = rx.blocking_recv() {
        file.write_all(&chunk?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn what_is_written_into_the_pipe_is_read_whole_and_in_order() {
        let parent = tempfile::tempdir().unwrap();
        let shared = Shared::create(parent.path(), true).unwrap();
        shared.make_pipe().unwrap();
        let gone = Arc::new(AtomicBool::new(false));
        let mut stream = Box::pin(read(shared.pipe(), gone.clone()));
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let path = shared.pipe();
        let writer = tokio::task::spawn_blocking({
            let gone = gone.clone();
            move || write_blocking(&path, &gone, rx)
        });
        for chunk in data.chunks(300_000) {
            tx.send(Ok(chunk.to_vec())).await.unwrap();
        }
        drop(tx);
        let mut got = Vec::new();
        while let Some(chunk) = stream.next().await {
            got.extend_from_slice(&chunk.unwrap());
        }
        writer.await.unwrap().unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the bytes read are the bytes written");
        let dir = shared.dir.clone();
        drop(shared);
        assert!(!dir.exists(), "the shared directory goes when dropped");
    }

    #[tokio::test]
    async fn a_reader_or_writer_whose_other_end_never_comes_stops_when_told() {
        let parent = tempfile::tempdir().unwrap();
        let shared = Shared::create(parent.path(), true).unwrap();
        shared.make_pipe().unwrap();
        let gone = Arc::new(AtomicBool::new(false));
        let mut stream = Box::pin(read(shared.pipe(), gone.clone()));
        gone.store(true, Ordering::SeqCst);
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected);
        let (_tx, rx) = tokio::sync::mpsc::channel(1);
        let err = write_blocking(&shared.pipe(), &gone, rx).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected);
    }
}
