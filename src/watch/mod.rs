//! `pier watch`: the parts of the development loop that need no engine.
//!
//! - `rules`: which `develop.watch` rule a changed path belongs to (ignore and
//!   include patterns, `.dockerignore`, `.git/`, bind mounts);
//! - `batch`: debounce and batching of file-system events;
//! - `decide`: from a batch to what to do per service (sync, delete, restart,
//!   exec, rebuild);
//! - `archive`: the tar stream a sync sends;
//! - `fs`: the one adapter of the `notify` crate (inotify, FSEvents,
//!   ReadDirectoryChanges).
//!
//! `ops::watch` runs the loop against the engine.

pub mod archive;
pub mod batch;
pub mod decide;
pub mod fs;
pub mod rules;
