//! Ctrl-C during `up` and `down`: the first one cancels a token (execute then starts
//! nothing new, cancels its waits/pulls/builds and lets engine changes in flight
//! finish); a second one quits at once with the interrupted exit code.
//!
//! SIGTERM (`kill`, a CI runner or supervisor giving up) and SIGHUP (the terminal
//! closed) are taken the same way as the first Ctrl-C: before, they killed pier
//! outright, part-way through an engine change, with nothing said.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::error::exit;
use crate::event::{Event, EventSink};

/// Listen for Ctrl-C, SIGTERM and SIGHUP from now on (in the current tokio
/// runtime); the token is cancelled on the first one. The second is told to
/// `sink` before pier exits.
pub fn on_ctrl_c(sink: EventSink) -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        // No signal handling here: the signals keep their default effect.
        return token;
    };
    tokio::spawn(async move {
        let mut next = async || {
            tokio::select! {
                s = int.recv() => s,
                s = term.recv() => s,
                s = hup.recv() => s,
            }
        };
        if next().await.is_none() {
            return;
        }
        cancel.cancel();
        if next().await.is_some() {
            sink(Event::InterruptedAgain);
            std::process::exit(exit::INTERRUPTED);
        }
    });
    token
}
