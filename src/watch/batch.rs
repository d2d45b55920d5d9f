//! Debounce and batch: changes are collected until the file system has been
//! quiet for a moment (`quiet`), or for at most `max_wait` after the first one,
//! then handed over as one batch. Pure: the caller passes the clock in.
//!
//! The quiet period is short (an editor's save is a few events within a
//! millisecond or two; a script writing 1,000 files keeps the stream busy), so
//! a single save reaches the container quickly and a burst still goes as one
//! archive.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long the file system must be quiet before a batch goes.
pub const QUIET: Duration = Duration::from_millis(15);
/// The longest a change waits while others keep coming.
pub const MAX_WAIT: Duration = Duration::from_millis(300);

/// Changed paths collected so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    pub paths: BTreeSet<PathBuf>,
    /// The watcher lost events (its queue overflowed): every watched path must be
    /// looked at again.
    pub rescan: bool,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && !self.rescan
    }
}

#[derive(Debug)]
pub struct Batcher {
    quiet: Duration,
    max_wait: Duration,
    first: Option<Instant>,
    last: Option<Instant>,
    batch: Batch,
}

impl Default for Batcher {
    fn default() -> Self {
        Batcher::new(QUIET, MAX_WAIT)
    }
}

impl Batcher {
    pub fn new(quiet: Duration, max_wait: Duration) -> Batcher {
        Batcher {
            quiet,
            max_wait,
            first: None,
            last: None,
            batch: Batch::default(),
        }
    }

    fn touch(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    pub fn push(&mut self, path: PathBuf, now: Instant) {
        self.batch.paths.insert(path);
        self.touch(now);
    }

    pub fn push_rescan(&mut self, now: Instant) {
        self.batch.rescan = true;
        self.touch(now);
    }

    /// When the collected batch is due; None when nothing is collected.
    pub fn due(&self) -> Option<Instant> {
        let (first, last) = (self.first?, self.last?);
        Some((last + self.quiet).min(first + self.max_wait))
    }

    /// The batch, when it is due at `now`.
    pub fn take(&mut self, now: Instant) -> Option<Batch> {
        if self.due()? > now {
            return None;
        }
        self.first = None;
        self.last = None;
        Some(std::mem::take(&mut self.batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_batch_goes_once_the_file_system_is_quiet() {
        let t0 = Instant::now();
        let mut b = Batcher::new(ms(20), ms(300));
        assert_eq!(b.due(), None);
        assert_eq!(b.take(t0), None);
        b.push("/p/a".into(), t0);
        b.push("/p/b".into(), t0 + ms(5));
        b.push("/p/a".into(), t0 + ms(10));
        assert_eq!(b.due(), Some(t0 + ms(30)));
        assert_eq!(b.take(t0 + ms(29)), None);
        let batch = b.take(t0 + ms(30)).unwrap();
        assert_eq!(batch.paths.len(), 2);
        assert!(!batch.rescan);
        assert_eq!(b.due(), None);
    }

    #[test]
    fn a_steady_stream_is_cut_at_the_longest_wait() {
        let t0 = Instant::now();
        let mut b = Batcher::new(ms(20), ms(300));
        for i in 0..100 {
            b.push(format!("/p/{i}").into(), t0 + ms(i * 10));
        }
        assert_eq!(b.due(), Some(t0 + ms(300)));
        assert_eq!(b.take(t0 + ms(300)).unwrap().paths.len(), 100);
    }

    #[test]
    fn ten_thousand_changes_make_one_batch() {
        let t0 = Instant::now();
        let mut b = Batcher::default();
        for i in 0..10_000 {
            b.push(format!("/p/f{i}").into(), t0);
        }
        let batch = b.take(t0 + MAX_WAIT).unwrap();
        assert_eq!(batch.paths.len(), 10_000);
    }

    #[test]
    fn an_overflow_asks_for_a_rescan() {
        let t0 = Instant::now();
        let mut b = Batcher::default();
        b.push_rescan(t0);
        let batch = b.take(t0 + MAX_WAIT).unwrap();
        assert!(batch.rescan && !batch.is_empty());
    }
}
