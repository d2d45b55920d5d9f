//! `watch`: carry out the services' `develop.watch` rules as files change, until
//! Ctrl-C (which stops watching and leaves the stack running).
//!
//! The pure parts are in `crate::watch`: which rule a path belongs to, batching,
//! what to do per service, the archive. Here they meet the engine: a sync is one
//! tar stream through the archive API plus one `rm` for removed paths; then a
//! restart, or each `sync+exec` command; a `rebuild` is `ops::up` for that
//! service alone with `--build`, every other service's build left out so that
//! nothing else is rebuilt or recreated. Every fault is a warning and the
//! watcher goes on: a rule that cannot act, a file that cannot be read, a failed
//! copy, command or rebuild (the old container keeps running).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, ExecAs};
use crate::error::{Error, Result};
use crate::event::{Event, EventSink};
use crate::plan::{PullPolicy, UpOptions};
use crate::stack::model::Stack;
use crate::watch::archive;
use crate::watch::batch::Batcher;
use crate::watch::decide::{self, PathState, ServiceWork};
use crate::watch::fs::{self, FsEvent};
use crate::watch::rules::{self, Trigger};

pub struct Options {
    /// Bounds the wait for readiness after a rebuild.
    pub wait_timeout: Duration,
    /// Cancelled on Ctrl-C (`ops::interrupt::on_ctrl_c`): watching stops.
    pub interrupt: CancellationToken,
    /// The shared router's settings (None: no router), so that a rebuilt
    /// service's new container gets its name back.
    pub router: Option<crate::router::Settings>,
}

/// What a watch session did, once Ctrl-C ended it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WatchReport {
    /// Actions carried out (one per service per batch).
    pub actions: usize,
    /// Of those, how many failed in part or whole (each told as a warning).
    pub failures: usize,
}

/// The rules that can act, after warning about those that cannot. An error when
/// none is left: there is nothing to watch.
pub fn usable_triggers(
    stack: &Stack,
    services: &[String],
    sink: &EventSink,
) -> Result<Vec<Trigger>> {
    let all = rules::triggers(stack, services, |context| {
        std::fs::read_to_string(context.join(".dockerignore")).ok()
    });
    let mut usable = Vec::new();
    for t in all {
        match rules::unusable(&t, &stack.services[&t.service], Path::exists) {
            Some(why) => warn(sink, why),
            None => usable.push(t),
        }
    }
    if usable.is_empty() {
        let which = match services {
            [] => "no service".to_string(),
            some => format!("none of {}", some.join(", ")),
        };
        return Err(Error::Usage {
            message: format!(
                "{which} has a usable `develop.watch` rule: nothing to watch (add `develop: {{watch: [{{path: ./src, action: sync, target: /app}}]}}` to a service)"
            ),
        });
    }
    Ok(usable)
}

/// Watch `triggers` (from `usable_triggers`) until `opts.interrupt` is cancelled.
pub async fn watch(
    engine: &Engine,
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    triggers: Vec<Trigger>,
    opts: &Options,
    sink: &EventSink,
) -> Result<WatchReport> {
    let paths: Vec<PathBuf> = triggers.iter().map(|t| t.rule.path.clone()).collect();
    let (mut watcher, problems) = fs::watch(&paths).map_err(|e| Error::Usage {
        message: format!("cannot watch files: {e}"),
    })?;
    for p in problems {
        warn(sink, format!("cannot watch {p}"));
    }
    let run = Runner {
        engine,
        stack,
        dotenv,
        opts,
        sink,
        triggers: &triggers,
    };
    let mut report = WatchReport::default();
    for work in decide::initial(&triggers, path_state) {
        run.carry_out(&work, &mut report).await;
    }
    let mut services: Vec<String> = triggers.iter().map(|t| t.service.clone()).collect();
    services.dedup();
    sink(Event::Watching {
        services,
        rules: triggers.len(),
    });
    let mut batcher = Batcher::default();
    loop {
        let due = batcher.due();
        tokio::select! {
            _ = opts.interrupt.cancelled() => break,
            event = watcher.events.recv() => match event {
                Some(event) => take_in(&mut batcher, event, sink),
                None => break,
            },
            _ = sleep_until(due) => {
                let Some(batch) = batcher.take(Instant::now()) else { continue };
                if batch.rescan {
                    warn(sink, "too many file changes at once (events were lost): syncing every watched path in full".into());
                }
                for work in decide::decide(&batch, &triggers, path_state) {
                    if opts.interrupt.is_cancelled() {
                        break;
                    }
                    run.carry_out(&work, &mut report).await;
                }
            }
        }
    }
    Ok(report)
}

/// Add one file-system event to the batch; all events waiting are taken at once.
fn take_in(batcher: &mut Batcher, event: FsEvent, sink: &EventSink) {
    let now = Instant::now();
    match event {
        FsEvent::Changed(paths) => paths.into_iter().for_each(|p| batcher.push(p, now)),
        FsEvent::Rescan => batcher.push_rescan(now),
        FsEvent::Error(e) => warn(sink, format!("the file watcher reported: {e}")),
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn path_state(path: &Path) -> PathState {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => PathState::Dir,
        Ok(_) => PathState::File,
        Err(_) => PathState::Gone,
    }
}

fn warn(sink: &EventSink, text: String) {
    sink(Event::Warning {
        text: format!("warning: watch: {text}"),
    });
}

struct Runner<'a> {
    engine: &'a Engine,
    stack: &'a Stack,
    dotenv: &'a BTreeMap<String, String>,
    opts: &'a Options,
    sink: &'a EventSink,
    triggers: &'a [Trigger],
}

impl Runner<'_> {
    /// Do what one service needs after a batch, then say so with how long it took.
    async fn carry_out(&self, work: &ServiceWork, report: &mut WatchReport) {
        let started = Instant::now();
        let service = &work.service;
        let (files, deleted, ok) = if work.rebuild {
            match self.rebuild(service).await {
                Ok(()) => (0, 0, true),
                Err(e) => {
                    warn(
                        self.sink,
                        format!(
                            "{service}: rebuild failed; the running container is kept\n{}",
                            e.to_string().trim_end()
                        ),
                    );
                    (0, 0, false)
                }
            }
        } else {
            self.sync(work).await
        };
        report.actions += 1;
        if !ok {
            report.failures += 1;
        }
        (self.sink)(Event::WatchAction {
            service: service.clone(),
            action: match ok {
                true => work.action_text(),
                false => format!("{} (failed)", work.action_text()),
            },
            trigger: work.trigger_text(&self.stack.project_dir),
            files,
            deleted,
            millis: started.elapsed().as_millis() as u64,
        });
    }

    /// Copy, delete, restart, exec: (files copied, paths deleted, all went well).
    async fn sync(&self, work: &ServiceWork) -> (usize, usize, bool) {
        let service = &work.service;
        let container = self.stack.container_name(service);
        let mut ok = true;
        let mut fail = |text: String| {
            ok = false;
            warn(self.sink, format!("{service}: {text}"));
        };
        let (mut files, mut delete) = (0, work.delete.clone());
        if !work.copy.is_empty() {
            let copies = work.copy.clone();
            let triggers = self.triggers.to_vec();
            let built =
                tokio::task::spawn_blocking(move || archive::build(&copies, &triggers)).await;
            match built {
                Ok(Ok(a)) => {
                    for skipped in &a.skipped {
                        fail(format!("cannot read {skipped}; it is not synced"));
                    }
                    delete.extend(a.vanished);
                    files = a.files;
                    // Entries name absolute paths without their `/`; the engine
                    // makes the directories above them.
                    let tar = futures_util::stream::once(async move { Ok(a.tar) });
                    if a.files > 0
                        && let Err(e) = self.engine.upload_archive(&container, "/", tar).await
                    {
                        files = 0;
                        fail(format!("sync failed: {e}"));
                    }
                }
                Ok(Err(e)) => fail(format!("cannot read the changed files: {e}")),
                Err(e) => fail(format!("cannot read the changed files: {e}")),
            }
        }
        if !delete.is_empty() {
            match self.engine.remove_paths(&container, &delete).await {
                Ok(None) => {}
                Ok(Some((code, output))) => fail(format!(
                    "removing deleted files failed (exit {code}): {}",
                    output.trim_end()
                )),
                Err(e) => fail(format!("removing deleted files failed: {e}")),
            }
        }
        if work.restart {
            let grace = self.stack.services[service].stop_grace_period;
            if let Err(e) = self.engine.restart_container(&container, grace).await {
                fail(format!("restart failed: {e}"));
            }
        }
        for exec in &work.execs {
            let request = ExecAs {
                cmd: exec.command.clone(),
                user: exec.user.clone(),
                working_dir: exec.working_dir.clone(),
                environment: exec.environment.clone(),
                privileged: exec.privileged,
            };
            match self.engine.exec_as(&container, &request).await {
                Ok((0, _)) => {}
                Ok((code, output)) => fail(format!(
                    "`{}` exited with code {code}:\n{}",
                    exec.command.join(" "),
                    output.trim_end()
                )),
                Err(e) => fail(format!("`{}` failed: {e}", exec.command.join(" "))),
            }
        }
        (files, delete.len(), ok)
    }

    /// Rebuild the service's image and recreate its container, and nothing else:
    /// `up --build` for it alone, with the other services' builds left out of
    /// the stack it plans with (their images are there; only a `build:` would
    /// make `--build` rebuild them). A failing build stops the walk before the
    /// recreate, so the old container keeps running.
    async fn rebuild(&self, service: &str) -> Result<()> {
        let mut only = self.stack.clone();
        for (name, svc) in only.services.iter_mut() {
            if name != service {
                svc.build = None;
            }
        }
        let opts = super::up::Options {
            plan: UpOptions {
                services: vec![service.to_string()],
                pull: PullPolicy::Missing,
                build: true,
                remove_orphans: false,
            },
            dry_run: false,
            wait_timeout: self.opts.wait_timeout,
            interrupt: self.opts.interrupt.child_token(),
            router: self.opts.router.clone(),
            // `pier watch` brought this project up from here (or was told to adopt it).
            identity: Some(super::identity::Identity {
                working_dir: self.stack.project_dir.clone(),
                config_files: vec![],
            }),
            adopt: true,
        };
        super::up::up(self.engine, &only, self.dotenv, &opts, self.sink)
            .await
            .map(|_| ())
    }
}
