//! The one adapter of the `notify` crate: watch paths, hand changes over as
//! plain events on a channel. A directory is watched with everything below it;
//! a file through its directory, so that an editor that saves by writing a new
//! file and renaming it over the old one is still seen.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// What the file system said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsEvent {
    /// These paths were created, written, renamed or removed.
    Changed(Vec<PathBuf>),
    /// Events were lost (the kernel's queue overflowed): look at everything again.
    Rescan,
    /// The watcher failed for a moment; it goes on.
    Error(String),
}

/// Watching; dropping it stops.
pub struct Watcher {
    _inner: notify::RecommendedWatcher,
    pub events: UnboundedReceiver<FsEvent>,
}

/// Watch `paths` (absolute; each an existing file or directory). The second
/// value names the paths that could not be watched, each with why.
pub fn watch(paths: &[PathBuf]) -> notify::Result<(Watcher, Vec<String>)> {
    let (tx, rx) = unbounded_channel();
    let mut inner = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let event = match res {
            Ok(e) if e.need_rescan() => FsEvent::Rescan,
            Ok(e) if !counts(&e.kind) => return,
            Ok(e) => FsEvent::Changed(e.paths),
            Err(e) => FsEvent::Error(e.to_string()),
        };
        // The receiver is gone once watching stopped: nothing to tell.
        let _ = tx.send(event);
    })?;
    let mut problems = Vec::new();
    for (path, mode) in watch_list(paths, |p| p.is_dir()) {
        if let Err(e) = inner.watch(&path, mode) {
            problems.push(format!("{}: {e}", path.display()));
        }
    }
    Ok((
        Watcher {
            _inner: inner,
            events: rx,
        },
        problems,
    ))
}

/// A change to content or to the tree; reads and opens are not.
fn counts(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// What to ask the OS to watch: directories recursively, files through their
/// directory; nothing twice, nothing below a recursively watched directory.
fn watch_list(paths: &[PathBuf], is_dir: impl Fn(&Path) -> bool) -> Vec<(PathBuf, RecursiveMode)> {
    let mut recursive: BTreeSet<PathBuf> = BTreeSet::new();
    let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
    for path in paths {
        if is_dir(path) {
            recursive.insert(path.clone());
        } else if let Some(parent) = path.parent() {
            parents.insert(parent.to_path_buf());
        }
    }
    let covered =
        |p: &Path, set: &BTreeSet<PathBuf>| set.iter().any(|r| p != r && p.starts_with(r));
    let recursive: Vec<PathBuf> = recursive
        .iter()
        .filter(|p| !covered(p, &recursive))
        .cloned()
        .collect();
    let mut out: Vec<(PathBuf, RecursiveMode)> = recursive
        .iter()
        .map(|p| (p.clone(), RecursiveMode::Recursive))
        .collect();
    for parent in parents {
        if !recursive.iter().any(|r| parent.starts_with(r)) {
            out.push((parent, RecursiveMode::NonRecursive));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_recursively_files_through_their_parent_nothing_twice() {
        let dirs = ["/p/src", "/p/src/sub", "/p/conf"];
        let paths: Vec<PathBuf> = [
            "/p/src",
            "/p/src/sub",
            "/p/src/x.txt",
            "/p/Dockerfile",
            "/p/req.txt",
            "/p/conf",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let list = watch_list(&paths, |p| dirs.iter().any(|d| Path::new(d) == p));
        assert_eq!(
            list,
            vec![
                (PathBuf::from("/p/conf"), RecursiveMode::Recursive),
                (PathBuf::from("/p/src"), RecursiveMode::Recursive),
                (PathBuf::from("/p"), RecursiveMode::NonRecursive),
            ]
        );
    }

    #[tokio::test]
    async fn a_write_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, problems) = watch(&[dir.path().to_path_buf()]).unwrap();
        assert!(problems.is_empty());
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "x").unwrap();
        // Until the write is reported; the test runner's timeout bounds a hang.
        loop {
            match w.events.recv().await.unwrap() {
                FsEvent::Changed(paths) if paths.contains(&file) => break,
                _ => continue,
            }
        }
    }
}
