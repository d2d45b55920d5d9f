//! Two things every request to the engine gets: a deadline, and for a network
//! create, the engine's duplicate check.
//!
//! The deadline bounds how long the engine may take to *answer* (bollard's
//! request timeout: the response's head, not a stream's body), so a hung engine
//! fails the call with a message naming it (`engine::message_of`) instead of
//! hanging pier. Streams (logs, pulls, builds, attach) answer at once and then
//! run as long as they need; a stop gets its grace period on top (`patient`).
//!
//! The duplicate check: the engine creates a second network of the same name
//! unless the request asks it not to (`CheckDuplicate`, API ≤ 1.43; later
//! engines always check). bollard's request type has no such field, so it is
//! added to the JSON body here. Without it, an `up` killed while its network
//! create was in flight, followed by another `up`, left two networks of one
//! name, and every later `up` failed with "network … is ambiguous".

use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bollard::BollardRequest;
use http_body::Body;

/// Default per-call deadline: far beyond what any call takes on a working
/// engine (a create under load takes a second or two), short enough that a
/// hung engine is reported while the user still waits.
const DEFAULT: Duration = Duration::from_secs(60);

/// How long one engine call may take to answer: `PIER_ENGINE_TIMEOUT` seconds
/// (whole, at least 1), else a minute.
pub fn call_deadline() -> Duration {
    std::env::var("PIER_ENGINE_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT)
}

/// bollard's request modifier: `POST …/networks/create` gets `"CheckDuplicate":
/// true` in its body; every other request passes unchanged.
pub(super) fn check_duplicate_networks(req: BollardRequest) -> BollardRequest {
    if req.method() != http::Method::POST || !req.uri().path().ends_with("/networks/create") {
        return req;
    }
    let (parts, body) = req.into_parts();
    let body = match body {
        http_body_util::Either::Left(mut full) => {
            // A full body answers its only frame at once: no waker is ever needed.
            let mut cx = Context::from_waker(Waker::noop());
            let bytes = match std::pin::Pin::new(&mut full).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
                _ => bytes::Bytes::new(),
            };
            bollard::body_full(with_check_duplicate(&bytes).into())
        }
        stream => stream,
    };
    http::Request::from_parts(parts, body)
}

/// The JSON object `body` with `"CheckDuplicate": true` added (unchanged when it
/// is not a JSON object).
fn with_check_duplicate(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.insert("CheckDuplicate".into(), true.into());
            serde_json::to_vec(&map).expect("a JSON object serializes")
        }
        _ => body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_create_body_asks_for_the_duplicate_check() {
        let body = br#"{"Name":"shop_default","Driver":"bridge"}"#;
        let out: serde_json::Value = serde_json::from_slice(&with_check_duplicate(body)).unwrap();
        assert_eq!(out["CheckDuplicate"], true);
        assert_eq!(out["Name"], "shop_default");
        assert_eq!(with_check_duplicate(b"not json"), b"not json");
    }

    #[test]
    fn only_network_creates_are_changed() {
        let req = |method: http::Method, path: &str| {
            http::Request::builder()
                .method(method)
                .uri(format!("http://localhost/v1.41{path}"))
                .body(bollard::body_full(br#"{"Name":"x"}"#.to_vec().into()))
                .unwrap()
        };
        let body_of = |req: BollardRequest| {
            let mut body = req.into_body();
            let mut cx = Context::from_waker(Waker::noop());
            match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default().to_vec(),
                _ => vec![],
            }
        };
        let created = body_of(check_duplicate_networks(req(
            http::Method::POST,
            "/networks/create",
        )));
        assert!(
            String::from_utf8(created)
                .unwrap()
                .contains("\"CheckDuplicate\":true")
        );
        let other = body_of(check_duplicate_networks(req(
            http::Method::POST,
            "/volumes/create",
        )));
        assert_eq!(other, br#"{"Name":"x"}"#);
    }

    #[test]
    fn the_deadline_comes_from_the_environment_or_a_minute() {
        // Read only: tests run in parallel and share the environment.
        let expected = std::env::var("PIER_ENGINE_TIMEOUT")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT);
        assert_eq!(call_deadline(), expected);
    }
}
