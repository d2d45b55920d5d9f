//! `develop.watch` (Compose's Develop specification): what `pier watch` does when
//! files under a rule's path change. Serialized as Compose's `config` prints it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// A service's `develop` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Develop {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<WatchRule>,
}

/// One `develop.watch` rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchRule {
    /// The watched host path, absolute (relative paths are against the project directory).
    pub path: PathBuf,
    pub action: WatchAction,
    /// Where the files go in the container (the sync actions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `sync+exec`: the command run after each sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<WatchExec>,
    /// `.dockerignore` patterns, relative to `path`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// When given, only paths matching one of these patterns (relative to `path`) count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Sync the whole path when watching starts, not only what changes later.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub initial_sync: bool,
}

impl WatchRule {
    /// A rule with only its path, action and target (no exec, ignore or
    /// include): the watcher's unit tests build many.
    #[cfg(test)]
    pub fn plain(path: &str, action: WatchAction, target: Option<&str>) -> WatchRule {
        WatchRule {
            path: PathBuf::from(path),
            action,
            target: target.map(String::from),
            exec: None,
            ignore: vec![],
            include: vec![],
            initial_sync: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum WatchAction {
    #[serde(rename = "sync")]
    Sync,
    #[serde(rename = "rebuild")]
    Rebuild,
    #[serde(rename = "restart")]
    Restart,
    #[serde(rename = "sync+restart")]
    SyncRestart,
    #[serde(rename = "sync+exec")]
    SyncExec,
}

impl WatchAction {
    pub const ALL: [WatchAction; 5] = [
        WatchAction::Sync,
        WatchAction::Rebuild,
        WatchAction::Restart,
        WatchAction::SyncRestart,
        WatchAction::SyncExec,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WatchAction::Sync => "sync",
            WatchAction::Rebuild => "rebuild",
            WatchAction::Restart => "restart",
            WatchAction::SyncRestart => "sync+restart",
            WatchAction::SyncExec => "sync+exec",
        }
    }

    pub fn parse(text: &str) -> Option<WatchAction> {
        WatchAction::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// Whether the action copies files into the container.
    pub fn syncs(self) -> bool {
        matches!(
            self,
            WatchAction::Sync | WatchAction::SyncRestart | WatchAction::SyncExec
        )
    }
}

impl fmt::Display for WatchAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `exec` of a `sync+exec` rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WatchExec {
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
}
