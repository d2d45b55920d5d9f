//! Ctrl-C during `up` and `down`: the first one cancels a token (execute then starts
//! nothing new, cancels its waits/pulls/builds and lets engine changes in flight
//! finish); a second one quits at once with the interrupted exit code.

use tokio_util::sync::CancellationToken;

use crate::error::exit;
use crate::event::{Event, EventSink};

/// Listen for Ctrl-C from now on (in the current tokio runtime); the token is
/// cancelled on the first one. The second is told to `sink` before pier exits.
pub fn on_ctrl_c(sink: EventSink) -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling here: Ctrl-C keeps its default effect.
            return;
        }
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            sink(Event::InterruptedAgain);
            std::process::exit(exit::INTERRUPTED);
        }
    });
    token
}
