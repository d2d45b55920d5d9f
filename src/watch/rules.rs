//! Which rule a changed host path belongs to, and where it goes in the container.
//!
//! A path counts for a rule when it is the rule's path or below it, and none of
//! these leave it out: `.git/` (always), editors' temporary files (always), the
//! build context's `.dockerignore` (relative to the context), the rule's
//! `ignore` patterns (relative to the rule's path); when the rule has `include`
//! patterns, the path must match one. Patterns follow `.dockerignore`'s syntax
//! (`engine::DockerIgnore`).

use std::path::{Component, Path, PathBuf};

use crate::engine::DockerIgnore;
use crate::stack::develop::{WatchAction, WatchRule};
use crate::stack::model::{MountKind, Service, Stack};

/// One service's rule, ready to match paths.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub service: String,
    /// The rule's place in the service's `develop.watch` (0-based).
    pub index: usize,
    pub rule: WatchRule,
    ignore: DockerIgnore,
    include: Option<DockerIgnore>,
    /// The build context and its `.dockerignore`, when the rule's path is inside it.
    context: Option<(PathBuf, DockerIgnore)>,
    /// Bind mounts of the service: (host source, container target).
    binds: Vec<(PathBuf, String)>,
}

/// Where a matched host path goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Relative to the rule's path, `/`-separated; empty for the rule's path itself.
    pub relative: String,
    /// In the container; None for a rule that syncs nothing (rebuild, restart).
    pub container: Option<String>,
    /// The service already sees this path through a bind mount: it is not copied.
    pub bind_mounted: bool,
}

impl Trigger {
    /// `dockerignore`: the text of the build context's `.dockerignore`, if any.
    pub fn new(
        service: &str,
        index: usize,
        rule: &WatchRule,
        svc: &Service,
        dockerignore: Option<&str>,
    ) -> Trigger {
        let context = svc.build.as_ref().and_then(|b| {
            let text = dockerignore?;
            rule.path
                .starts_with(&b.context)
                .then(|| (b.context.clone(), DockerIgnore::parse(text)))
        });
        let binds = svc
            .volumes
            .iter()
            .filter(|m| m.kind == MountKind::Bind)
            .filter_map(|m| Some((PathBuf::from(m.source.as_ref()?), m.target.clone())))
            .collect();
        Trigger {
            service: service.to_string(),
            index,
            rule: rule.clone(),
            ignore: DockerIgnore::parse(&rule.ignore.join("\n")),
            include: (!rule.include.is_empty())
                .then(|| DockerIgnore::parse(&rule.include.join("\n"))),
            context,
            binds,
        }
    }

    /// Where `path` (absolute) goes under this rule, or None when the rule does not
    /// watch it (outside its path, or left out by a pattern).
    pub fn place(&self, path: &Path) -> Option<Placement> {
        let rel = path.strip_prefix(&self.rule.path).ok()?;
        let relative = slash_path(rel)?;
        if always_ignored(&relative) || always_ignored(&slash_path(path)?) {
            return None;
        }
        if !relative.is_empty() && self.ignore.excludes(&relative) {
            return None;
        }
        if let Some(include) = &self.include
            && !relative.is_empty()
            && !include.excludes(&relative)
        {
            return None;
        }
        if let Some((context, dockerignore)) = &self.context
            && let Some(in_context) = path.strip_prefix(context).ok().and_then(slash_path)
            && !in_context.is_empty()
            && dockerignore.excludes(&in_context)
        {
            return None;
        }
        let container = self
            .rule
            .target
            .as_ref()
            .filter(|_| self.rule.action.syncs())
            .map(|target| join(target, &relative));
        let bind_mounted = container
            .as_ref()
            .is_some_and(|c| self.bind_mounted(path, c));
        Some(Placement {
            relative,
            container,
            bind_mounted,
        })
    }

    /// Whether a bind mount of the service already shows `host` at `container`.
    fn bind_mounted(&self, host: &Path, container: &str) -> bool {
        self.binds.iter().any(|(source, target)| {
            host.strip_prefix(source)
                .ok()
                .and_then(slash_path)
                .is_some_and(|rel| join(target, &rel) == container)
        })
    }

    /// Whether the rule's whole path is shown by a bind mount, so that it never syncs.
    pub fn fully_bind_mounted(&self) -> bool {
        match &self.rule.target {
            Some(target) if self.rule.action.syncs() => self.bind_mounted(&self.rule.path, target),
            _ => false,
        }
    }
}

/// The rules of `services` (all with `develop.watch` when empty), in service
/// then rule order. `dockerignore(context)`: that build context's
/// `.dockerignore`, read by the caller.
pub fn triggers(
    stack: &Stack,
    services: &[String],
    dockerignore: impl Fn(&Path) -> Option<String>,
) -> Vec<Trigger> {
    let mut out = Vec::new();
    for (name, svc) in &stack.services {
        if !services.is_empty() && !services.contains(name) {
            continue;
        }
        let Some(develop) = &svc.develop else {
            continue;
        };
        let ignore = svc.build.as_ref().and_then(|b| dockerignore(&b.context));
        for (index, rule) in develop.watch.iter().enumerate() {
            out.push(Trigger::new(name, index, rule, svc, ignore.as_deref()));
        }
    }
    out
}

/// Why a rule cannot act, checked before watching starts; the watcher runs on
/// without it. `exists`: whether a host path exists.
pub fn unusable(
    trigger: &Trigger,
    svc: &Service,
    exists: impl Fn(&Path) -> bool,
) -> Option<String> {
    let rule = &trigger.rule;
    let at = format!(
        "services.{}.develop.watch[{}]",
        trigger.service, trigger.index
    );
    if rule.action == WatchAction::Rebuild && svc.build.is_none() {
        return Some(format!(
            "{at}: action `rebuild` needs a `build:` section in service `{}`; this rule is ignored (add `build:`, or use `sync+restart`)",
            trigger.service
        ));
    }
    if !exists(&rule.path) {
        return Some(format!(
            "{at}: path {} does not exist; this rule is ignored until pier watch starts again with it in place",
            rule.path.display()
        ));
    }
    None
}

/// `.git` anywhere, and editors' temporary and backup files.
fn always_ignored(path: &str) -> bool {
    path.split('/').any(|part| {
        part == ".git"
            || part.ends_with('~')
            || part.ends_with(".swp")
            || part.ends_with(".swx")
            || part.ends_with(".swpx")
            || part.starts_with(".#")
            || (part.len() > 1 && part.starts_with('#') && part.ends_with('#'))
            || part == "4913"
            || part.ends_with("___jb_tmp___")
            || part.ends_with("___jb_old___")
    })
}

/// `a/b/c` from a relative path; None for `..` or a name that is not UTF-8.
fn slash_path(path: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(name) => parts.push(name.to_str()?),
            Component::CurDir | Component::RootDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// `target/relative`, without a doubled or trailing slash.
fn join(target: &str, relative: &str) -> String {
    let base = target.trim_end_matches('/');
    match (base.is_empty(), relative.is_empty()) {
        (_, true) if base.is_empty() => "/".into(),
        (_, true) => base.to_string(),
        (true, false) => format!("/{relative}"),
        (false, false) => format!("{base}/{relative}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::develop::Develop;
    use crate::stack::model::{Build, Mount};

    fn rule(path: &str, action: WatchAction, target: Option<&str>) -> WatchRule {
        WatchRule::plain(path, action, target)
    }

    fn sync(path: &str, target: &str) -> WatchRule {
        rule(path, WatchAction::Sync, Some(target))
    }

    fn trigger(r: WatchRule) -> Trigger {
        Trigger::new("web", 0, &r, &Service::default(), None)
    }

    fn container(t: &Trigger, path: &str) -> Option<String> {
        t.place(Path::new(path)).map(|p| p.container.unwrap())
    }

    #[test]
    fn a_path_below_the_rule_goes_below_the_target() {
        let t = trigger(sync("/p/src", "/app/src/"));
        assert_eq!(
            container(&t, "/p/src/a/b.py").as_deref(),
            Some("/app/src/a/b.py")
        );
        assert_eq!(container(&t, "/p/src").as_deref(), Some("/app/src"));
        assert_eq!(container(&t, "/p/srcx/a.py"), None);
        assert_eq!(container(&t, "/p/other.py"), None);
    }

    #[test]
    fn git_and_editor_files_are_always_ignored() {
        let t = trigger(sync("/p", "/app"));
        for path in [
            "/p/.git/HEAD",
            "/p/sub/.git/objects/x",
            "/p/a.py~",
            "/p/.a.py.swp",
            "/p/.#a.py",
            "/p/#a.py#",
            "/p/4913",
        ] {
            assert_eq!(t.place(Path::new(path)), None, "{path}");
        }
        assert!(t.place(Path::new("/p/.gitignore")).is_some());
    }

    #[test]
    fn ignore_patterns_are_relative_to_the_rule_path() {
        let mut r = sync("/p/src", "/app");
        r.ignore = vec!["node_modules/".into(), "*.tmp".into(), "**/cache".into()];
        let t = trigger(r);
        assert_eq!(t.place(Path::new("/p/src/node_modules/x/y.js")), None);
        assert_eq!(t.place(Path::new("/p/src/a.tmp")), None);
        assert_eq!(t.place(Path::new("/p/src/deep/er/cache/z")), None);
        // `*` does not cross a directory.
        assert!(t.place(Path::new("/p/src/d/a.tmp")).is_some());
        assert!(t.place(Path::new("/p/src/app.js")).is_some());
    }

    #[test]
    fn include_keeps_only_matching_paths() {
        let mut r = sync("/p/src", "/app");
        r.include = vec!["*.py".into(), "templates".into()];
        let t = trigger(r);
        assert!(t.place(Path::new("/p/src/a.py")).is_some());
        assert!(t.place(Path::new("/p/src/templates/x.html")).is_some());
        assert_eq!(t.place(Path::new("/p/src/a.js")), None);
    }

    #[test]
    fn dockerignore_of_the_build_context_applies() {
        let svc = Service {
            build: Some(Build {
                context: "/p".into(),
                ..Build::default()
            }),
            ..Service::default()
        };
        let t = Trigger::new(
            "web",
            0,
            &sync("/p/src", "/app"),
            &svc,
            Some("src/secret\n*.log\n"),
        );
        assert_eq!(t.place(Path::new("/p/src/secret")), None);
        assert_eq!(t.place(Path::new("/p/src/secret/x")), None);
        // `*.log` is relative to the context: only /p/*.log.
        assert!(t.place(Path::new("/p/src/a.log")).is_some());
        assert!(t.place(Path::new("/p/src/a.py")).is_some());
    }

    #[test]
    fn a_bind_mounted_path_is_not_synced_twice() {
        let svc = Service {
            volumes: vec![Mount {
                kind: MountKind::Bind,
                source: Some("/p/src".into()),
                target: "/app/src".into(),
                read_only: false,
            }],
            ..Service::default()
        };
        let same = Trigger::new("web", 0, &sync("/p/src", "/app/src"), &svc, None);
        assert!(same.place(Path::new("/p/src/a.py")).unwrap().bind_mounted);
        assert!(same.fully_bind_mounted());
        let elsewhere = Trigger::new("web", 0, &sync("/p/src", "/srv"), &svc, None);
        assert!(
            !elsewhere
                .place(Path::new("/p/src/a.py"))
                .unwrap()
                .bind_mounted
        );
        let parent = Trigger::new("web", 0, &sync("/p", "/app"), &svc, None);
        assert!(parent.place(Path::new("/p/src/a.py")).unwrap().bind_mounted);
        assert!(!parent.place(Path::new("/p/b.py")).unwrap().bind_mounted);
    }

    #[test]
    fn rebuild_and_restart_place_nothing_in_the_container() {
        let t = trigger(rule("/p/requirements.txt", WatchAction::Rebuild, None));
        let p = t.place(Path::new("/p/requirements.txt")).unwrap();
        assert_eq!(p.container, None);
    }

    #[test]
    fn unusable_rules_say_why() {
        let t = trigger(rule("/p/Dockerfile", WatchAction::Rebuild, None));
        let no_build = Service::default();
        let why = unusable(&t, &no_build, |_| true).unwrap();
        assert!(
            why.contains("services.web.develop.watch[0]") && why.contains("build"),
            "{why}"
        );
        let t = trigger(sync("/p/nope", "/app"));
        let why = unusable(&t, &no_build, |_| false).unwrap();
        assert!(
            why.contains("/p/nope") && why.contains("does not exist"),
            "{why}"
        );
        assert_eq!(unusable(&t, &no_build, |_| true), None);
    }

    #[test]
    fn triggers_come_from_the_named_services() {
        let develop = Develop {
            watch: vec![sync("/p/a", "/a"), sync("/p/b", "/b")],
        };
        let stack = crate::stack::fixture::StackFixture::new("p")
            .service("web", |s| s.image("x"))
            .service("db", |s| s.image("y"))
            .build();
        let mut stack = stack;
        stack.services.get_mut("web").unwrap().develop = Some(develop);
        assert_eq!(triggers(&stack, &[], |_| None).len(), 2);
        assert_eq!(triggers(&stack, &["db".into()], |_| None).len(), 0);
        let t = triggers(&stack, &["web".into()], |_| None);
        assert_eq!((t[1].service.as_str(), t[1].index), ("web", 1));
    }
}
