//! Agreeing on an API version with the engine, cheaply.
//!
//! bollard's `negotiate_version` asks `GET /version`, which the engine answers by
//! also asking containerd, runc and docker-init for theirs: 5–20 ms on the
//! benchmark machine, paid by every pier command. `GET /_ping` carries the same
//! `Api-Version` header and costs under a millisecond, so for a local socket pier
//! pings and only falls back to bollard's way when the ping does not answer as
//! expected.

use bollard::{API_DEFAULT_VERSION, ClientVersion, Docker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// bollard's own timeout for every request, in seconds.
/// Replaced by `Engine::with` (the per-call deadline) right after connecting.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// What `pier doctor` reports about the engine (`Engine::facts`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EngineFacts {
    pub version: String,
    /// The API version the engine speaks, and the one pier talks to it in.
    pub api_version: String,
    pub client_api_version: String,
    pub os: String,
    pub storage_driver: String,
    /// Where the engine keeps images and volumes (on the engine's machine).
    pub root_dir: String,
    /// The engine's clock, RFC 3339.
    pub system_time: String,
}

impl super::Engine {
    /// The engine's version, storage driver, data directory and clock.
    pub async fn facts(&self) -> crate::error::Result<EngineFacts> {
        use crate::error::EngineOp;
        let (version, info) = tokio::try_join!(self.docker.version(), self.docker.info())
            .map_err(super::fail(EngineOp::Info, &super::host()))?;
        Ok(EngineFacts {
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            client_api_version: self.docker.client_version().to_string(),
            os: info.operating_system.unwrap_or_default(),
            storage_driver: info.driver.unwrap_or_default(),
            root_dir: info.docker_root_dir.unwrap_or_default(),
            system_time: info.system_time.unwrap_or_default(),
        })
    }
}

/// A client for the socket at `path`, speaking the lower of the engine's version
/// (from its ping) and bollard's. None when the ping did not give a version.
pub(super) async fn connect_unix_by_ping(path: &str) -> Option<Docker> {
    let mut stream = UnixStream::connect(path).await.ok()?;
    stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .await
        .ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let (major, minor) = api_version_from_ping(&String::from_utf8_lossy(&answer))?;
    let engine = ClientVersion {
        major_version: major,
        minor_version: minor,
    };
    let version = if engine < *API_DEFAULT_VERSION {
        engine
    } else {
        *API_DEFAULT_VERSION
    };
    Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, &version).ok()
}

/// The `Api-Version` header of a `/_ping` answer, as (major, minor).
fn api_version_from_ping(answer: &str) -> Option<(usize, usize)> {
    let (head, _) = answer.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    // "HTTP/1.x 200 OK"
    if lines.next()?.split(' ').nth(1) != Some("200") {
        return None;
    }
    let value = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("api-version")
            .then(|| value.trim())
    })?;
    let (major, minor) = value.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_header_of_a_ping() {
        let ok = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nDocker-Experimental: false\r\n\
                  Content-Length: 2\r\n\r\nOK";
        assert_eq!(api_version_from_ping(ok), Some((1, 41)));
        let lower = "HTTP/1.0 200 OK\r\napi-version:1.53\r\n\r\nOK";
        assert_eq!(api_version_from_ping(lower), Some((1, 53)));
        let refused = "HTTP/1.1 500 Internal Server Error\r\nApi-Version: 1.41\r\n\r\n";
        assert_eq!(api_version_from_ping(refused), None);
        let no_header = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
        assert_eq!(api_version_from_ping(no_header), None);
        let garbled = "HTTP/1.1 200 OK\r\nApi-Version: one\r\n\r\n";
        assert_eq!(api_version_from_ping(garbled), None);
        assert_eq!(api_version_from_ping("HTTP/1.1 200 OK\r\n"), None);
    }
}
