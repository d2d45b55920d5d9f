//! A proxy in front of the engine's socket that fails one API call on purpose:
//! the fault-injection suite (`tests/engine_faults.rs`) and the engine-timeout
//! tests point `DOCKER_HOST` at it. It passes bytes through unchanged, counts
//! each HTTP request a client sends, and when armed with (N, fault) answers the
//! Nth with the fault instead of passing it on:
//!
//! - `Error500`: an HTTP 500 with an engine-style JSON message, then the
//!   connection is closed;
//! - `Reset`: the connection is closed without an answer;
//! - `Hang`: the request is swallowed and the connection kept open, never answered.
//!
//! Requests are parsed just enough to find where each ends (Content-Length or
//! chunked body); after an `Upgrade` (exec/attach) the connection is raw bytes.
//! Plain threads and std sockets: it must not depend on the code it tests.

use std::io::{BufRead, BufReader, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Error500,
    Reset,
    Hang,
}

impl Fault {
    pub const ALL: [Fault; 3] = [Fault::Error500, Fault::Reset, Fault::Hang];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Error500 => "http 500",
            Fault::Reset => "reset connection",
            Fault::Hang => "never answers",
        }
    }
}

#[derive(Default)]
struct State {
    /// Requests seen since the last `arm`/`count`.
    calls: usize,
    armed: Option<(usize, Fault)>,
    /// The request the armed fault hit (method and path), once it has.
    fired: Option<String>,
    /// Connections a `Hang` holds open.
    hung: Vec<UnixStream>,
}

pub struct FaultProxy {
    socket: PathBuf,
    state: Arc<Mutex<State>>,
    _dir: tempfile::TempDir,
}

/// The real engine's socket: DOCKER_HOST's when it is a unix one, else Docker's default.
fn upstream() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

impl FaultProxy {
    /// Listen on a fresh socket; every connection goes on to the real engine.
    pub fn start() -> FaultProxy {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        let target = upstream();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let (state, target) = (shared.clone(), target.clone());
                std::thread::spawn(move || serve(client, &target, &state));
            }
        });
        FaultProxy {
            socket,
            state,
            _dir: dir,
        }
    }

    /// The value for `DOCKER_HOST`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Fail the `n`th request (1-based) from now on with `fault`.
    pub fn arm(&self, n: usize, fault: Fault) {
        let mut s = self.state.lock().unwrap();
        s.calls = 0;
        s.armed = Some((n, fault));
        s.fired = None;
    }

    /// Count requests from now on, failing none.
    pub fn count(&self) {
        let mut s = self.state.lock().unwrap();
        s.calls = 0;
        s.armed = None;
        s.fired = None;
        // Whatever hung is let go: its client gave up long ago.
        for c in s.hung.drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    pub fn calls(&self) -> usize {
        self.state.lock().unwrap().calls
    }

    /// The request the armed fault hit, if it has.
    pub fn fired(&self) -> Option<String> {
        self.state.lock().unwrap().fired.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.count();
    }
}

/// One HTTP request's head, as sent.
struct Head {
    bytes: Vec<u8>,
    line: String,
    length: usize,
    chunked: bool,
    upgrade: bool,
}

fn read_head(reader: &mut impl BufRead) -> Option<Head> {
    let mut bytes = Vec::new();
    loop {
        let before = bytes.len();
        if reader.read_until(b'\n', &mut bytes).ok()? == 0 {
            return None;
        }
        if &bytes[before..] == b"\r\n" || &bytes[before..] == b"\n" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&bytes).to_string();
    let line = text.lines().next().unwrap_or_default().to_string();
    let header = |name: &str| {
        text.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    Some(Head {
        length: header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        chunked: header("transfer-encoding").is_some_and(|v| v.contains("chunked")),
        upgrade: header("upgrade").is_some(),
        line,
        bytes,
    })
}

/// The request's body, raw as sent (chunks and their framing included).
fn read_body(reader: &mut impl BufRead, head: &Head) -> Option<Vec<u8>> {
    let mut body = vec![0; head.length];
    reader.read_exact(&mut body).ok()?;
    if head.chunked {
        loop {
            let mut size_line = Vec::new();
            reader.read_until(b'\n', &mut size_line).ok()?;
            body.extend_from_slice(&size_line);
            let text = String::from_utf8_lossy(&size_line);
            let size = usize::from_str_radix(text.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            body.extend_from_slice(&chunk);
            if size == 0 {
                break;
            }
        }
    }
    Some(body)
}

fn serve(client: UnixStream, target: &Path, state: &Mutex<State>) {
    let Ok(engine) = UnixStream::connect(target) else {
        return;
    };
    // Answers go back as they come, on their own thread.
    let (mut from_engine, mut to_client) =
        (engine.try_clone().unwrap(), client.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_engine, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Write);
    });
    let mut to_engine = engine;
    let mut reader = BufReader::new(client.try_clone().unwrap());
    while let Some(head) = read_head(&mut reader) {
        let Some(body) = read_body(&mut reader, &head) else {
            break;
        };
        let fault = {
            let mut s = state.lock().unwrap();
            s.calls += 1;
            match s.armed {
                Some((n, fault)) if n == s.calls => {
                    s.fired = Some(head.line.clone());
                    Some(fault)
                }
                _ => None,
            }
        };
        match fault {
            None => {
                if to_engine.write_all(&head.bytes).is_err() || to_engine.write_all(&body).is_err()
                {
                    break;
                }
            }
            Some(Fault::Error500) => {
                let message = r#"{"message":"injected fault: internal server error"}"#;
                let answer = format!(
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{message}",
                    message.len()
                );
                let mut c = &client;
                let _ = c.write_all(answer.as_bytes());
                let _ = client.shutdown(Shutdown::Both);
                let _ = to_engine.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Reset) => {
                let _ = client.shutdown(Shutdown::Both);
                let _ = to_engine.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Hang) => {
                // Both ends kept open: the engine's side closing would close the client's.
                let mut s = state.lock().unwrap();
                s.hung.push(client);
                s.hung.push(to_engine);
                return;
            }
        }
        if head.upgrade {
            // exec/attach: from here on the connection is raw bytes both ways.
            let _ = std::io::copy(&mut reader, &mut to_engine);
            break;
        }
    }
    let _ = to_engine.shutdown(Shutdown::Write);
}
