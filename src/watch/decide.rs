//! From a batch of changed paths to what to do, per service. Pure: whether a
//! path is now a file, a directory or gone is asked of the caller.
//!
//! As in Compose: a service with a triggered `rebuild` rule is rebuilt and
//! recreated, and nothing else is done for it in that batch (the new image has
//! the files). Otherwise the sync rules' files are copied and the removed ones
//! deleted, then the container restarts (`sync+restart`, `restart`) and each
//! triggered `sync+exec` command runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::batch::Batch;
use super::rules::Trigger;
use crate::stack::develop::{WatchAction, WatchExec};

/// What a changed path is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathState {
    File,
    Dir,
    Gone,
}

/// A host path to copy into the container (a directory with what is below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub host: PathBuf,
    pub container: String,
    /// Index into the triggers: whose patterns filter a directory's contents.
    pub trigger: usize,
    /// A directory, copied with what is below it.
    pub is_dir: bool,
}

/// Everything to do for one service after one batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceWork {
    pub service: String,
    pub rebuild: bool,
    pub copy: Vec<Copy>,
    /// Container paths to remove (their host paths are gone).
    pub delete: Vec<String>,
    pub restart: bool,
    pub execs: Vec<WatchExec>,
    /// The changed host paths that set this off, in order.
    pub changed: Vec<PathBuf>,
    /// The actions of the rules that fired, for the progress line.
    pub actions: Vec<WatchAction>,
}

impl ServiceWork {
    /// `sync`, `sync+restart`, `rebuild`, … : what the progress line calls it.
    pub fn action_text(&self) -> String {
        if self.rebuild {
            return WatchAction::Rebuild.to_string();
        }
        let syncs = !self.copy.is_empty() || !self.delete.is_empty();
        let mut parts = Vec::new();
        if syncs {
            parts.push("sync");
        }
        if self.restart {
            parts.push("restart");
        }
        if !self.execs.is_empty() {
            parts.push("exec");
        }
        parts.join("+")
    }

    /// The changed paths for a progress line: the first one (relative to
    /// `project_dir`) and how many more.
    pub fn trigger_text(&self, project_dir: &Path) -> String {
        let Some(first) = self.changed.first() else {
            return "start".into();
        };
        let first = first.strip_prefix(project_dir).unwrap_or(first).display();
        match self.changed.len() {
            1 => first.to_string(),
            n => format!("{first} and {} more", n - 1),
        }
    }

    fn is_empty(&self) -> bool {
        !self.rebuild
            && self.copy.is_empty()
            && self.delete.is_empty()
            && !self.restart
            && self.execs.is_empty()
    }
}

/// What to do for `batch`, per service in name order. A rescan (events were
/// lost) copies every sync rule's whole path.
pub fn decide(
    batch: &Batch,
    triggers: &[Trigger],
    state: impl Fn(&Path) -> PathState,
) -> Vec<ServiceWork> {
    let mut work: BTreeMap<String, ServiceWork> = BTreeMap::new();
    for path in &batch.paths {
        let now = state(path);
        for (i, t) in triggers.iter().enumerate() {
            let Some(place) = t.place(path) else { continue };
            let w = fired(&mut work, t, path);
            match t.rule.action {
                WatchAction::Rebuild => w.rebuild = true,
                WatchAction::Restart => w.restart = true,
                action => {
                    if let Some(container) = place.container.filter(|_| !place.bind_mounted) {
                        match now {
                            PathState::Gone => w.delete.push(container),
                            // Paths come sorted: a directory copied whole comes
                            // before what is below it, which then goes with it.
                            _ if w.copy.iter().any(|c| {
                                c.trigger == i && c.is_dir && path.starts_with(&c.host)
                            }) => {}
                            state => w.copy.push(Copy {
                                host: path.clone(),
                                container,
                                trigger: i,
                                is_dir: state == PathState::Dir,
                            }),
                        }
                    }
                    after_sync(w, action, t);
                }
            }
        }
    }
    if batch.rescan {
        for (i, t) in triggers.iter().enumerate() {
            if !t.rule.action.syncs()
                || t.fully_bind_mounted()
                || state(&t.rule.path) == PathState::Gone
            {
                continue;
            }
            let w = fired(&mut work, t, &t.rule.path);
            let container = t.rule.target.clone().expect("sync rules have a target");
            w.copy.push(Copy {
                host: t.rule.path.clone(),
                container,
                trigger: i,
                is_dir: true,
            });
            after_sync(w, t.rule.action, t);
        }
    }
    work.into_iter()
        .map(|(service, mut w)| {
            w.service = service;
            if w.rebuild {
                // The rebuilt image has the files; the new container starts fresh.
                w.copy.clear();
                w.delete.clear();
                w.restart = false;
                w.execs.clear();
            }
            w
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The initial sync: each `initial_sync` rule's whole path, as if it had just changed.
pub fn initial(triggers: &[Trigger], state: impl Fn(&Path) -> PathState) -> Vec<ServiceWork> {
    let mut batch = Batch::default();
    let chosen: Vec<Trigger> = triggers
        .iter()
        .filter(|t| t.rule.initial_sync && t.rule.action.syncs())
        .cloned()
        .collect();
    batch.rescan = !chosen.is_empty();
    let mut work = decide(&batch, &chosen, state);
    // `trigger` indexes the chosen rules: map them back to all of them.
    for w in &mut work {
        for c in &mut w.copy {
            let t = &chosen[c.trigger];
            c.trigger = triggers
                .iter()
                .position(|x| x.service == t.service && x.index == t.index)
                .expect("chosen from these");
        }
    }
    work
}

/// The service's work, with `path` and the rule's action noted as what fired.
fn fired<'a>(
    work: &'a mut BTreeMap<String, ServiceWork>,
    t: &Trigger,
    path: &Path,
) -> &'a mut ServiceWork {
    let w = work.entry(t.service.clone()).or_default();
    // Paths come in order, each once: a repeat is the one just noted (another rule).
    if w.changed.last().map(PathBuf::as_path) != Some(path) {
        w.changed.push(path.to_path_buf());
    }
    if !w.actions.contains(&t.rule.action) {
        w.actions.push(t.rule.action);
    }
    w
}

fn after_sync(w: &mut ServiceWork, action: WatchAction, t: &Trigger) {
    match action {
        WatchAction::SyncRestart => w.restart = true,
        WatchAction::SyncExec => {
            if let Some(exec) = &t.rule.exec
                && !w.execs.contains(exec)
            {
                w.execs.push(exec.clone());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::develop::WatchRule;
    use crate::stack::model::{Mount, MountKind, Service};

    fn rule(path: &str, action: WatchAction, target: Option<&str>) -> WatchRule {
        WatchRule::plain(path, action, target)
    }

    fn t(service: &str, index: usize, r: WatchRule) -> Trigger {
        Trigger::new(service, index, &r, &Service::default(), None)
    }

    fn batch(paths: &[&str]) -> Batch {
        Batch {
            paths: paths.iter().map(PathBuf::from).collect(),
            rescan: false,
        }
    }

    fn files(_: &Path) -> PathState {
        PathState::File
    }

    #[test]
    fn sync_copies_changed_files_and_deletes_removed_ones() {
        let triggers = [t("web", 0, rule("/p/src", WatchAction::Sync, Some("/app")))];
        let gone = |p: &Path| {
            if p.ends_with("old.py") {
                PathState::Gone
            } else {
                PathState::File
            }
        };
        let work = decide(
            &batch(&["/p/src/a.py", "/p/src/old.py", "/p/x"]),
            &triggers,
            gone,
        );
        assert_eq!(work.len(), 1);
        let w = &work[0];
        assert_eq!(w.service, "web");
        assert_eq!(w.copy[0].container, "/app/a.py");
        assert_eq!(w.delete, vec!["/app/old.py".to_string()]);
        assert!(!w.restart && w.execs.is_empty() && !w.rebuild);
        assert_eq!(w.action_text(), "sync");
        assert_eq!(w.trigger_text(Path::new("/p")), "src/a.py and 1 more");
    }

    #[test]
    fn a_new_directory_goes_whole_and_what_is_below_it_not_again() {
        let triggers = [t("web", 0, rule("/p/src", WatchAction::Sync, Some("/app")))];
        let state = |p: &Path| match p.ends_with("new") {
            true => PathState::Dir,
            false => PathState::File,
        };
        let b = batch(&[
            "/p/src/new",
            "/p/src/new/a",
            "/p/src/new/b/c",
            "/p/src/newer",
        ]);
        let w = &decide(&b, &triggers, state)[0];
        let copied: Vec<&str> = w.copy.iter().map(|c| c.container.as_str()).collect();
        assert_eq!(copied, ["/app/new", "/app/newer"]);
    }

    #[test]
    fn rebuild_wins_over_the_other_rules_of_its_service() {
        let triggers = [
            t(
                "web",
                0,
                rule("/p/src", WatchAction::SyncRestart, Some("/app")),
            ),
            t(
                "web",
                1,
                rule("/p/requirements.txt", WatchAction::Rebuild, None),
            ),
            t("api", 0, rule("/p/src", WatchAction::Sync, Some("/srv"))),
        ];
        let work = decide(
            &batch(&["/p/requirements.txt", "/p/src/a.py"]),
            &triggers,
            files,
        );
        let (api, web) = (&work[0], &work[1]);
        assert_eq!(api.service, "api");
        assert_eq!(api.copy.len(), 1);
        assert!(web.rebuild && web.copy.is_empty() && !web.restart);
        assert_eq!(web.action_text(), "rebuild");
        assert_eq!(web.changed.len(), 2);
    }

    #[test]
    fn restart_and_exec_follow_the_sync() {
        let mut exec_rule = rule("/p/tpl", WatchAction::SyncExec, Some("/tpl"));
        exec_rule.exec = Some(WatchExec {
            command: vec!["reload".into()],
            ..WatchExec::default()
        });
        let triggers = [
            t(
                "web",
                0,
                rule("/p/conf", WatchAction::SyncRestart, Some("/etc/web")),
            ),
            t("web", 1, exec_rule),
            t("web", 2, rule("/p/env", WatchAction::Restart, None)),
        ];
        let w = &decide(&batch(&["/p/tpl/a", "/p/tpl/b"]), &triggers, files)[0];
        assert_eq!(w.execs.len(), 1, "one run per batch, not per file");
        assert!(!w.restart);
        assert_eq!(w.action_text(), "sync+exec");
        let w = &decide(&batch(&["/p/conf/x.ini"]), &triggers, files)[0];
        assert!(w.restart);
        assert_eq!(w.action_text(), "sync+restart");
        let w = &decide(&batch(&["/p/env"]), &triggers, files)[0];
        assert!(w.restart && w.copy.is_empty());
        assert_eq!(w.action_text(), "restart");
    }

    #[test]
    fn ignored_paths_do_nothing() {
        let mut r = rule("/p/src", WatchAction::SyncRestart, Some("/app"));
        r.ignore = vec!["*.log".into()];
        let triggers = [t("web", 0, r)];
        assert!(
            decide(
                &batch(&["/p/src/x.log", "/p/src/.git/index"]),
                &triggers,
                files
            )
            .is_empty()
        );
    }

    #[test]
    fn bind_mounted_files_are_not_copied_but_still_restart() {
        let svc = Service {
            volumes: vec![Mount {
                kind: MountKind::Bind,
                source: Some("/p/src".into()),
                target: "/app".into(),
                read_only: false,
            }],
            ..Service::default()
        };
        let r = rule("/p/src", WatchAction::SyncRestart, Some("/app"));
        let triggers = [Trigger::new("web", 0, &r, &svc, None)];
        let w = &decide(&batch(&["/p/src/a.py"]), &triggers, files)[0];
        assert!(w.copy.is_empty() && w.restart);
    }

    #[test]
    fn a_rescan_copies_every_sync_rule_in_full() {
        let triggers = [
            t("web", 0, rule("/p/src", WatchAction::Sync, Some("/app"))),
            t("web", 1, rule("/p/Dockerfile", WatchAction::Rebuild, None)),
        ];
        let b = Batch {
            paths: Default::default(),
            rescan: true,
        };
        let w = &decide(&b, &triggers, |_| PathState::Dir)[0];
        assert!(!w.rebuild);
        assert_eq!(
            w.copy,
            vec![Copy {
                host: "/p/src".into(),
                container: "/app".into(),
                trigger: 0,
                is_dir: true
            }]
        );
    }

    #[test]
    fn initial_sync_copies_only_its_rules() {
        let mut first = rule("/p/a", WatchAction::Sync, Some("/a"));
        first.initial_sync = true;
        let triggers = [
            t("web", 0, rule("/p/b", WatchAction::Sync, Some("/b"))),
            t("web", 1, first),
        ];
        let work = initial(&triggers, |_| PathState::Dir);
        assert_eq!(work[0].copy.len(), 1);
        assert_eq!(work[0].copy[0].trigger, 1);
        assert!(initial(&triggers[..1], |_| PathState::Dir).is_empty());
    }
}
