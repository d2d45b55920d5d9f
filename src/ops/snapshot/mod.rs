//! Snapshots of a project's volumes (DESIGN §7): take, restore, list, remove, prune.
//!
//! **Consistent.** The running services that mount a volume are stopped for the
//! copy and started again afterwards (and waited for, as `up` does), so nothing
//! writes while it is read.
//!
//! **Nothing to pull.** Each volume is reached through a helper container created
//! from an image the project already has (the image of a container that mounts
//! it), read through the engine's archive API while the helper is only created.
//!
//! **Restore is all or nothing.** The archives are checked against the manifest
//! before anything is touched. Each volume's content is then staged in
//! `.pier-restore-staging` (uploaded through the archive API or the shared pipe;
//! the live files are untouched, and a Ctrl-C here removes the staging and
//! changes nothing). Only when every volume is staged does pier commit, by
//! renames within one file system that a helper running the image's `sh` does
//! in a moment (`Swap`): for a plain local volume, the staging sits in the
//! volume's home beside its content (`_data`) and takes `_data`'s place, the
//! old content set aside out of every container's sight and deleted by a
//! cleaner once the services run again; for any other volume, the staging sits
//! inside the volume, its entries are moved in and the old ones deleted before
//! the services start. Pier does not let Ctrl-C interrupt the commit (it waits
//! for the helpers), and a helper does not stop when pier does, so a restore
//! ends with the old content or the new, never a mix. (Were the engine itself
//! killed mid-commit, `.pier-restore-old` and `.pier-restore-staging` would
//! still hold both halves, and the next restore puts the old back first.)

mod pipe;
pub mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::diagnostic::Diagnostic;
use crate::engine::{Engine, Helper};
use crate::error::{Error, Result, ToolFailed};
use crate::event::{Event, EventSink, Meter};
use crate::plan::observed::{ContainerState, Observed};
use crate::plan::reconcile::final_condition;
use crate::plan::spec::{HookSpec, probe_of, probe_timeout_ms_of};
use crate::plan::{Action, Cause, Plan, Readiness, Step, StepId};
use crate::stack::model::Stack;
use crate::target::local::ExecuteOptions;

use super::guard;
use super::project::check_services;
pub use store::{Manifest, Store, VolumeEntry};

/// Where a volume is mounted in a helper; its basename is the staging directory's
/// name, so that an archive read from here extracts into the live volume as the
/// staging directory.
const SNAPSHOT_MOUNT: &str = "/pier/.pier-restore-staging";
/// Where a restore helper mounts the live volume.
const RESTORE_MOUNT: &str = "/pier/v";
/// Its presence in a restore helper's root switches its script from "clean up"
/// to "commit".
const COMMIT_MARKER: &str = "pier-commit";

/// A restore helper's script, one per way of swapping (`Swap`): with the shared
/// pipe there it extracts its tar (staging, into `.pier-restore-staging` in the
/// current directory); else without the marker it removes what an earlier,
/// interrupted restore may have left; with it, it swaps the staged content in.
///
/// `Swap::InVolume` (run in the volume): the live entries are moved into
/// `.pier-restore-old` one by one, the staged ones into place, and the old are
/// deleted — before the services start again.
const IN_VOLUME_SCRIPT: &str = r#"set -e
cd /pier/v
@EXTRACT@
if [ ! -e /pier-commit ]; then rm -rf .pier-restore-staging .pier-restore-old; exit 0; fi
[ -d .pier-restore-staging ] || { echo "nothing staged in the volume" >&2; exit 3; }
rm -rf .pier-restore-old
mkdir .pier-restore-old
for f in * .[!.]* ..?*; do
  case "$f" in .pier-restore-staging|.pier-restore-old) continue;; esac
  if [ -e "$f" ] || [ -L "$f" ]; then mv -- "$f" .pier-restore-old/; fi
done
cd .pier-restore-staging
for f in * .[!.]* ..?*; do
  if [ -e "$f" ] || [ -L "$f" ]; then mv -- "$f" ../; fi
done
cd ..
chmod "$(stat -c %a .pier-restore-staging)" . 2>/dev/null || true
chown "$(stat -c %u:%g .pier-restore-staging)" . 2>/dev/null || true
rmdir .pier-restore-staging
rm -rf .pier-restore-old
"#;

/// `Swap::Home` (run in the volume's home, beside `_data`): two renames put the
/// staged directory in `_data`'s place and the old `_data` aside, out of every
/// container's sight; a cleaner deletes it once the services run again. Were
/// the engine killed between the renames, the first line puts the old back.
const HOME_SCRIPT: &str = r#"set -e
cd /pier/v
if [ ! -d _data ] && [ -d .pier-restore-old ]; then mv .pier-restore-old _data; fi
@EXTRACT@
if [ ! -e /pier-commit ]; then rm -rf .pier-restore-staging .pier-restore-old; exit 0; fi
[ -d .pier-restore-staging ] || { echo "nothing staged in the volume" >&2; exit 3; }
[ -d _data ] || { echo "the volume's _data is not there" >&2; exit 3; }
rm -rf .pier-restore-old
mv _data .pier-restore-old
mv .pier-restore-staging _data
"#;

/// How a restore puts a volume's staged content in place.
#[derive(Debug, Clone, PartialEq)]
enum Swap {
    /// A plain local volume whose home (the directory holding its content as
    /// `_data`, `Engine::volume_home`) the helpers bind-mount: staged beside
    /// `_data`, swapped in by two renames; the replaced content is deleted
    /// after the services are back, where no container sees it.
    Home(String),
    /// Any other (another driver, a local one with options, a home the engine
    /// does not bind, a volume a container outside the restore runs with):
    /// staged inside the volume, moved in entry by entry, the old deleted
    /// before the services start again.
    InVolume,
}

impl Swap {
    fn script(&self) -> String {
        let script = match self {
            Swap::Home(_) => HOME_SCRIPT,
            Swap::InVolume => IN_VOLUME_SCRIPT,
        };
        script.replace("@EXTRACT@", &pipe::tar_extract_line())
    }
}

/// The project a snapshot is of: its name, its directory (where `.pier/` is) and
/// its stack when there is a stack file (for readiness and images).
pub struct Target<'a> {
    pub project: String,
    pub dir: PathBuf,
    pub stack: Option<&'a Stack>,
}

impl Target<'_> {
    pub fn store(&self) -> Store {
        Store::of(&self.dir)
    }
}

pub struct TakeOptions {
    /// Default: the time, `YYYYMMDD-HHMMSS` (`down-…` when automatic).
    pub name: Option<String>,
    /// Only the volumes these services mount; empty: all the project's volumes.
    pub services: Vec<String>,
    pub automatic: bool,
    /// Start the services stopped for the copy again (not for `down -v`, which
    /// removes them next).
    pub restart: bool,
    pub interrupt: CancellationToken,
}

#[derive(Debug)]
pub struct SnapshotReport {
    pub manifest: Manifest,
    pub path: PathBuf,
    /// Services stopped for the copy and started again.
    pub paused: Vec<String>,
}

#[derive(Debug)]
pub struct RestoreReport {
    pub manifest: Manifest,
    /// (snapshot's volume, live volume it was restored into).
    pub volumes: Vec<(String, String)>,
    pub paused: Vec<String>,
}

/// A volume to copy and who uses it (pure data, chosen from what was observed).
#[derive(Debug, Clone, PartialEq)]
struct Selected {
    volume: String,
    anonymous: bool,
    /// (service, container, target, image id) of each container mounting it.
    users: Vec<User>,
}

#[derive(Debug, Clone, PartialEq)]
struct User {
    service: String,
    container: String,
    target: String,
    image: Option<String>,
    running: bool,
}

/// The project's volumes (labelled ones and the anonymous volumes of its
/// containers) that `services` mount (all when empty), with their users.
fn select(observed: &Observed, services: &[String]) -> Vec<Selected> {
    let mut users: BTreeMap<String, Vec<User>> = BTreeMap::new();
    let mut anonymous = BTreeSet::new();
    for c in &observed.containers {
        for m in observed.volume_mounts.get(&c.name).into_iter().flatten() {
            if m.is_anonymous() {
                anonymous.insert(m.volume.clone());
            }
            users.entry(m.volume.clone()).or_default().push(User {
                service: c.service.clone(),
                container: c.name.clone(),
                target: m.target.clone(),
                image: c.image_id.clone(),
                running: matches!(
                    c.state,
                    ContainerState::Running | ContainerState::Restarting
                ),
            });
        }
    }
    let mut names: BTreeSet<String> = observed.volumes.iter().map(|v| v.name.clone()).collect();
    names.extend(anonymous.iter().cloned());
    names
        .into_iter()
        .map(|volume| Selected {
            anonymous: anonymous.contains(&volume),
            users: users.remove(&volume).unwrap_or_default(),
            volume,
        })
        .filter(|s| services.is_empty() || s.users.iter().any(|u| services.contains(&u.service)))
        .collect()
}

/// (service, container) of the running users of `selected`, once each.
fn running_users(selected: &[Selected]) -> Vec<(String, String)> {
    let set: BTreeSet<(String, String)> = selected
        .iter()
        .flat_map(|s| &s.users)
        .filter(|u| u.running)
        .map(|u| (u.service.clone(), u.container.clone()))
        .collect();
    set.into_iter().collect()
}

/// Stop `running` (service, container) for a consistent copy.
fn pause_plan(project: &str, running: &[(String, String)]) -> Plan {
    Plan {
        project: project.to_string(),
        steps: running
            .iter()
            .map(|(service, container)| Step {
                action: Action::StopContainer {
                    service: service.clone(),
                    container: container.clone(),
                    timeout_secs: None,
                    // A pause for the copy, not the service's end: its hooks are for `down`.
                    pre_stop: vec![],
                },
                cause: Cause::DataCopy,
                after: vec![],
            })
            .collect(),
        unchanged: vec![],
        notes: vec![],
    }
}

/// Start `running` again and wait until each is ready, as `up` would.
fn resume_plan(project: &str, stack: Option<&Stack>, running: &[(String, String)]) -> Plan {
    let mut steps = Vec::new();
    for (service, container) in running {
        let in_stack = stack.filter(|s| s.services.contains_key(service));
        let condition: Readiness = match in_stack {
            Some(stack) => final_condition(stack, service).into(),
            None => Readiness::Started,
        };
        steps.push(Step {
            action: Action::StartContainer {
                service: service.clone(),
                container: container.clone(),
                one_shot: condition == Readiness::CompletedSuccessfully,
                post_start: in_stack
                    .map(|s| {
                        s.services[service]
                            .post_start
                            .iter()
                            .map(HookSpec::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            cause: Cause::DataCopy,
            after: vec![],
        });
        steps.push(Step {
            action: Action::WaitFor {
                service: service.clone(),
                container: container.clone(),
                condition,
                probe: in_stack.and_then(|s| probe_of(s, service)),
                probe_timeout_ms: in_stack.and_then(|s| probe_timeout_ms_of(s, service)),
            },
            cause: Cause::DataCopy,
            after: vec![StepId(steps.len() - 1)],
        });
    }
    Plan {
        project: project.to_string(),
        steps,
        unchanged: vec![],
        notes: vec![],
    }
}

fn exec_options(interrupt: CancellationToken) -> ExecuteOptions {
    ExecuteOptions {
        wait_timeout: Duration::from_secs(300),
        interrupt,
        ..ExecuteOptions::default()
    }
}

async fn pause(
    engine: &Engine,
    project: &str,
    running: &[(String, String)],
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<()> {
    let plan = pause_plan(project, running);
    if !plan.is_empty() {
        guard::run(
            engine,
            &plan,
            &exec_options(interrupt.clone()),
            sink,
            "snapshot",
        )
        .await?;
    }
    Ok(())
}

/// Start again what was paused; not interruptible (services must not be left stopped).
async fn resume(
    engine: &Engine,
    target: &Target<'_>,
    running: &[(String, String)],
    sink: &EventSink,
) -> Result<()> {
    let plan = resume_plan(&target.project, target.stack, running);
    if !plan.is_empty() {
        let opts = exec_options(CancellationToken::new());
        guard::run(engine, &plan, &opts, sink, "snapshot").await?;
    }
    Ok(())
}

/// An image to reach `s` with: a user's, else any container's of the project,
/// else one of the stack's images the engine has.
fn helper_image(s: &Selected, observed: &Observed) -> Option<String> {
    s.users
        .iter()
        .find_map(|u| u.image.clone())
        .or_else(|| observed.containers.iter().find_map(|c| c.image_id.clone()))
        .or_else(|| observed.images.values().next().cloned())
}

fn helper_name(project: &str, what: &str, i: usize) -> String {
    format!("{project}-pier-{what}-{}-{i}", std::process::id())
}

async fn remove_helpers(engine: &Engine, project: &str) {
    for name in engine.helpers(project).await.unwrap_or_default() {
        let _ = engine.remove_helper(&name).await;
    }
}

/// After Ctrl-C dropped a copy mid-call: a helper's create that was already on
/// its way lands in the engine after the drop, possibly after a first listing,
/// so keep removing helpers for a moment (bounded) rather than leave one behind.
async fn remove_helpers_after_interrupt(engine: &Engine, project: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while std::time::Instant::now() < deadline {
        remove_helpers(engine, project).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    remove_helpers(engine, project).await;
}

/// Take a snapshot of `target`'s volumes, under the project's lock.
pub async fn take(
    engine: &Engine,
    target: &Target<'_>,
    opts: &TakeOptions,
    sink: &EventSink,
) -> Result<SnapshotReport> {
    let _lock = guard::lock(engine, &target.project, "snapshot", &opts.interrupt, sink).await?;
    take_locked(engine, target, opts, sink).await
}

/// `take` for a caller that holds the project's lock (`down -v`).
pub async fn take_locked(
    engine: &Engine,
    target: &Target<'_>,
    opts: &TakeOptions,
    sink: &EventSink,
) -> Result<SnapshotReport> {
    pipe::setting()?;
    let store = target.store();
    let now = store::now_unix();
    let (created, stamp) = store::utc(now);
    let name = match &opts.name {
        Some(n) => n.clone(),
        None if opts.automatic => format!("down-{stamp}"),
        None => stamp,
    };
    store::check_name(&name)?;
    let images: Vec<String> = target
        .stack
        .map(|s| s.services.keys().map(|k| s.image_of(k)).collect())
        .unwrap_or_default();
    let observed = engine.observe(&target.project, &images).await?;
    if !opts.services.is_empty() {
        let mut known: Vec<&str> = observed
            .containers
            .iter()
            .map(|c| c.service.as_str())
            .collect();
        if let Some(stack) = target.stack {
            known.extend(stack.services.keys().map(String::as_str));
        }
        known.sort();
        known.dedup();
        check_services(&opts.services, &known)?;
    }
    let selected = select(&observed, &opts.services);
    if selected.is_empty() {
        return Err(Error::invalid(
            Diagnostic::error(
                "",
                format!("project {} has no volumes to snapshot", target.project),
            )
            .with_hint("`pier up` creates the stack's volumes; `pier ps` shows what runs"),
        ));
    }
    let staging = store.begin(&name)?;
    store.clean_staging_except(&staging);
    remove_helpers(engine, &target.project).await;
    let running = running_users(&selected);
    let paused: Vec<String> = running.iter().map(|(s, _)| s.clone()).collect();
    if let Err(e) = pause(engine, &target.project, &running, &opts.interrupt, sink).await {
        let _ = resume(engine, target, &running, sink).await;
        return Err(e);
    }
    let copied = tokio::select! {
        r = copy_out(engine, &target.project, &selected, &observed, &staging, sink) => r,
        _ = opts.interrupt.cancelled() => Err(Error::Interrupted),
    };
    match copied {
        Err(Error::Interrupted) => remove_helpers_after_interrupt(engine, &target.project).await,
        _ => remove_helpers(engine, &target.project).await,
    }
    let resumed = match opts.restart || copied.is_err() {
        true => resume(engine, target, &running, sink).await,
        false => Ok(()),
    };
    let volumes = copied?;
    resumed?;
    let mut services: Vec<String> = volumes.iter().flat_map(|v| v.services.clone()).collect();
    services.sort();
    services.dedup();
    let manifest = Manifest {
        format: store::FORMAT,
        name: name.clone(),
        project: target.project.clone(),
        created,
        created_unix: now,
        pier_version: env!("CARGO_PKG_VERSION").into(),
        automatic: opts.automatic,
        services,
        volumes,
    };
    let path = staging.commit(&manifest)?;
    Ok(SnapshotReport {
        manifest,
        path,
        paused,
    })
}

/// Copy each selected volume into the staging directory.
async fn copy_out(
    engine: &Engine,
    project: &str,
    selected: &[Selected],
    observed: &Observed,
    staging: &store::Staging,
    sink: &EventSink,
) -> Result<Vec<VolumeEntry>> {
    let mut entries = Vec::new();
    let shared = pipe::Shared::create(&staging.dir, pipe::setting()?);
    for (i, s) in selected.iter().enumerate() {
        let image = helper_image(s, observed).ok_or_else(|| no_image(project, &s.volume))?;
        let mut helper = Helper {
            name: helper_name(project, "snapshot", i),
            project: project.to_string(),
            image: image.clone(),
            mounts: vec![(s.volume.clone(), SNAPSHOT_MOUNT.into())],
            binds: vec![],
            // Only run on the pipe's way; the archive API reads a created helper.
            command: pipe::tar_create_command(),
            cleaner: false,
        };
        let fast = create_sharing(engine, &mut helper, shared.as_ref()).await?;
        sink(Event::Note {
            text: format!("copying volume {}", s.volume),
        });
        let file = format!("v{i}.tar.zst");
        let path = staging.file(&file);
        let task = format!("copy of volume {}", s.volume);
        let through_pipe = match fast {
            Some(shared) => {
                let meter = Meter::new(task.clone(), None, sink);
                match copy_through_pipe(engine, &helper.name, shared, &path, meter).await {
                    Ok(copied) => Some(copied),
                    // The disk is the disk whichever way: no second try.
                    Err(e @ Error::DataWrite { .. }) => return Err(e),
                    Err(e) => {
                        sink(Event::Note {
                            text: format!(
                                "copying volume {} through the engine's archive API instead ({e})",
                                s.volume
                            ),
                        });
                        None
                    }
                }
            }
            None => None,
        };
        let (bytes, compressed_bytes, sha256) = match through_pipe {
            Some(copied) => copied,
            None => {
                compress_stream(
                    engine.download_archive(&helper.name, SNAPSHOT_MOUNT),
                    &path,
                    Meter::new(task, None, sink),
                )
                .await?
            }
        };
        engine.remove_helper(&helper.name).await?;
        let mut services: Vec<String> = s.users.iter().map(|u| u.service.clone()).collect();
        services.dedup();
        let mut images: Vec<String> = s.users.iter().filter_map(|u| u.image.clone()).collect();
        images.push(image);
        images.dedup();
        entries.push(VolumeEntry {
            file,
            volume: s.volume.clone(),
            anonymous: s.anonymous,
            service: s.users.first().map(|u| u.service.clone()),
            target: s.users.first().map(|u| u.target.clone()),
            services,
            images,
            bytes,
            compressed_bytes,
            sha256,
        });
    }
    Ok(entries)
}

/// Create `helper`, with `shared` bind-mounted when there is one and the engine
/// takes the mount and sees the directory: then the shared directory (the fast
/// way can be tried); else the helper without the mount (the archive API's way).
async fn create_sharing<'s>(
    engine: &Engine,
    helper: &mut Helper,
    shared: Option<&'s pipe::Shared>,
) -> Result<Option<&'s pipe::Shared>> {
    if let Some(shared) = shared {
        helper.binds.push((shared.dir.clone(), pipe::MOUNT.into()));
        if engine.create_helper(helper).await.is_ok() {
            if shared.seen_by(engine, &helper.name).await {
                return Ok(Some(shared));
            }
            engine.remove_helper(&helper.name).await?;
        }
        helper.binds.pop();
    }
    engine.create_helper(helper).await?;
    Ok(None)
}

/// The volume as the helper's `tar` writes it into the shared pipe, compressed
/// into `path` as it comes: (tar bytes, file bytes, sha256), as `compress_stream`.
async fn copy_through_pipe(
    engine: &Engine,
    helper: &str,
    shared: &pipe::Shared,
    path: &Path,
    meter: Meter,
) -> Result<(u64, u64, String)> {
    shared
        .make_pipe()
        .map_err(|e| Error::io(shared.pipe(), e))?;
    let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _abandoned = pipe::SetOnDrop(gone.clone());
    let pipe_path = shared.pipe();
    let tar = pipe::read(shared.pipe(), gone.clone())
        .map(move |chunk| chunk.map_err(|e| Error::io(&pipe_path, e)))
        .boxed();
    let run = async {
        let ran = engine.run_helper(helper).await;
        gone.store(true, std::sync::atomic::Ordering::SeqCst);
        ran
    };
    let (copied, ran) = tokio::join!(compress_stream(tar, path, meter), run);
    shared.remove_pipe();
    let (code, output) = ran?;
    if code != 0 {
        return Err(Error::ToolFailed(Box::new(ToolFailed {
            what: "tar".into(),
            container: helper.to_string(),
            code,
            output,
            hint: String::new(),
        })));
    }
    copied
}

fn no_image(project: &str, volume: &str) -> Error {
    Error::invalid(
        Diagnostic::error(
            "",
            format!("no image of project {project} is on the engine to reach volume {volume} with"),
        )
        .with_hint("`pier up` brings the stack's images (pier pulls nothing for a snapshot)"),
    )
}

/// zstd's level for snapshots: its default.
const ZSTD_LEVEL: i32 = 3;
/// The engine's chunks (a few KiB each) are gathered into buffers this big for
/// the compressing thread: the handoff then costs nothing next to the work.
const BATCH: usize = 1 << 20;

/// Compress a tar stream into `path` with zstd: (tar bytes, file bytes, sha256
/// of the file). Three things run at once: this task receives the engine's
/// stream, zstd compresses on a worker thread of its own, and a blocking thread
/// feeds it, hashes what it produces and writes that out, handing the written
/// pages to the disk as it goes (`Durable`) so that the closing fsync — the
/// snapshot is durable before it is listed — has little left to wait for.
async fn compress_stream(
    mut tar: futures_util::stream::BoxStream<'static, Result<bytes::Bytes>>,
    path: &Path,
    mut meter: Meter,
) -> Result<(u64, u64, String)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
    let out = path.to_path_buf();
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, u64, String)> {
        use std::io::Write;
        let hashing = HashingWriter {
            inner: std::io::BufWriter::with_capacity(
                BATCH,
                Durable::new(std::fs::File::create(&out)?),
            ),
            hasher: Sha256::new(),
            written: 0,
        };
        let mut enc = zstd::stream::Encoder::new(hashing, ZSTD_LEVEL)?;
        // One worker: compression overlaps this thread's hashing and writing.
        enc.multithread(1)?;
        let mut read = 0u64;
        while let Some(chunk) = rx.blocking_recv() {
            read += chunk.len() as u64;
            enc.write_all(&chunk)?;
        }
        let mut hashing = enc.finish()?;
        hashing.inner.flush()?;
        hashing.inner.get_ref().file.sync_all()?;
        Ok((
            read,
            hashing.written,
            hex::encode(hashing.hasher.finalize()),
        ))
    });
    let mut failed = None;
    let mut moved = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(chunk) = tar.next().await {
        match chunk {
            Ok(bytes) => {
                moved += bytes.len() as u64;
                meter.update(moved);
                batch.extend_from_slice(&bytes);
                if batch.len() >= BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if tx.send(full).await.is_err() {
                        break; // the writer failed: its error is below
                    }
                }
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    if failed.is_none() && !batch.is_empty() {
        let _ = tx.send(batch).await;
    }
    drop(tx);
    let written = writer.await.map_err(|e| Error::Internal {
        message: format!("the compressing thread failed: {e}"),
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    let written = written.map_err(|e| Error::DataWrite {
        path: path.to_path_buf(),
        source: e,
    })?;
    meter.done(written.0);
    Ok(written)
}

/// A file whose written pages are handed to the disk every `STEP` bytes
/// (Linux's sync_file_range: start the writeback, do not wait for it), so that
/// writing and the disk's work overlap instead of all waiting for the final fsync.
struct Durable {
    file: std::fs::File,
    written: u64,
    handed: u64,
}

impl Durable {
    const STEP: u64 = 32 << 20;

    fn new(file: std::fs::File) -> Durable {
        Durable {
            file,
            written: 0,
            handed: 0,
        }
    }
}

impl std::io::Write for Durable {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.handed >= Self::STEP {
            #[cfg(target_os = "linux")]
            {
                use std::os::fd::AsRawFd;
                // Advice only: the fsync at the end is what makes it durable.
                // SAFETY: a valid open descriptor and a range within the file.
                unsafe {
                    libc::sync_file_range(
                        self.file.as_raw_fd(),
                        self.handed as libc::off64_t,
                        (self.written - self.handed) as libc::off64_t,
                        libc::SYNC_FILE_RANGE_WRITE,
                    )
                };
            }
            self.handed = self.written;
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What reading an archive found: its size and sha256 (None when the reader
/// stopped because the upload did).
type ReadArchive = std::io::Result<Option<(u64, String)>>;

/// The snapshot's archive decompressed, as a stream of chunks, read on a
/// blocking thread that also hashes the file as it goes (so a restore reads it
/// once); the thread's handle says what it found.
fn decompress_stream(
    path: PathBuf,
) -> (
    impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
    tokio::task::JoinHandle<ReadArchive>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(16);
    let reader = tokio::task::spawn_blocking(move || -> ReadArchive {
        use std::io::Read;
        let read = || -> ReadArchive {
            let file = HashingReader {
                inner: std::fs::File::open(&path)?,
                hasher: Sha256::new(),
                read: 0,
            };
            let mut dec = zstd::stream::Decoder::new(file)?;
            loop {
                let mut buf = vec![0u8; 1 << 20];
                let n = dec.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                if tx.blocking_send(Ok(buf)).is_err() {
                    return Ok(None);
                }
            }
            // Whatever follows the compressed frame is part of the file too.
            let mut rest = dec.finish();
            std::io::copy(&mut rest, &mut std::io::sink())?;
            let file = rest.into_inner();
            Ok(Some((file.read, hex::encode(file.hasher.finalize()))))
        };
        let found = read();
        if let Err(e) = &found {
            let _ = tx.blocking_send(Err(std::io::Error::new(e.kind(), e.to_string())));
        }
        found
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) });
    (stream, reader)
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// A live volume to restore one of the snapshot's into.
struct RestoreTarget<'m> {
    entry: &'m VolumeEntry,
    live: String,
    users: Vec<User>,
    image: Option<String>,
    helper: String,
    /// Chosen when its helper is created, after the pause (`create_restore_helper`).
    swap: Swap,
}

/// Restore snapshot `name` into `target`'s volumes, under the project's lock.
pub async fn restore(
    engine: &Engine,
    target: &Target<'_>,
    name: &str,
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<RestoreReport> {
    let wanted = pipe::setting()?;
    let store = target.store();
    let manifest = store.get(name)?;
    // Before anything is touched: every archive there, whole. Their checksums
    // are checked as they are staged, before the commit.
    store.check_sizes(&manifest)?;
    let _lock = guard::lock(engine, &target.project, "snapshot restore", interrupt, sink).await?;
    let images: Vec<String> = target
        .stack
        .map(|s| s.services.keys().map(|k| s.image_of(k)).collect())
        .unwrap_or_default();
    let observed = engine.observe(&target.project, &images).await?;
    let all = select(&observed, &[]);
    let mut targets = Vec::new();
    for (i, entry) in manifest.volumes.iter().enumerate() {
        let live = live_volume(entry, &observed, &target.project)?;
        let found = all.iter().find(|s| s.volume == live);
        let users = found.map(|s| s.users.clone()).unwrap_or_default();
        let image = found
            .and_then(|s| helper_image(s, &observed))
            .or_else(|| observed.containers.iter().find_map(|c| c.image_id.clone()))
            .or_else(|| entry.images.first().cloned());
        if !observed.has_volume(&live) && !entry.anonymous {
            let key = live
                .strip_prefix(&format!("{}_", target.project))
                .unwrap_or(&live);
            engine
                .create_volume(&target.project, key, &live, None)
                .await?;
        }
        targets.push(RestoreTarget {
            entry,
            live,
            users,
            image,
            helper: helper_name(&target.project, "restore", i),
            swap: Swap::InVolume,
        });
    }
    remove_helpers(engine, &target.project).await;
    let running: Vec<(String, String)> = {
        let set: BTreeSet<(String, String)> = targets
            .iter()
            .flat_map(|t| &t.users)
            .filter(|u| u.running)
            .map(|u| (u.service.clone(), u.container.clone()))
            .collect();
        set.into_iter().collect()
    };
    if let Err(e) = pause(engine, &target.project, &running, interrupt, sink).await {
        let _ = resume(engine, target, &running, sink).await;
        return Err(e);
    }
    // The helpers bind-mount it: it lives until they are removed.
    let shared = pipe::Shared::create(&store.dir, wanted);
    // Stage every volume; a Ctrl-C (or a failure) here leaves the live content as it was.
    let staged = tokio::select! {
        r = stage_all(engine, &target.project, &store, &manifest, &mut targets, shared.as_ref(), sink) => r,
        _ = interrupt.cancelled() => Err(Error::Interrupted),
    };
    let committed = match staged {
        Ok(()) => commit_all(engine, &targets, sink).await,
        Err(e) => {
            // Remove what was staged (the helpers' script without the pipe and
            // the marker), once a helper still extracting is stopped.
            if let Some(shared) = &shared {
                shared.remove_pipe();
            }
            for t in &targets {
                let _ = engine.stop_container(&t.helper, Some(Duration::ZERO)).await;
                let _ = engine.run_helper(&t.helper).await;
            }
            Err(e)
        }
    };
    remove_helpers(engine, &target.project).await;
    drop(shared);
    let resumed = resume(engine, target, &running, sink).await;
    if committed.is_ok() {
        for (i, t) in targets.iter().enumerate() {
            if let Err(e) = start_cleaner(engine, &target.project, t, i).await {
                sink(Event::Note {
                    text: format!(
                        "the replaced content of volume {} stays beside it until the next restore or `down -v` ({e})",
                        t.live
                    ),
                });
            }
        }
    }
    committed?;
    resumed?;
    Ok(RestoreReport {
        volumes: targets
            .iter()
            .map(|t| (t.entry.volume.clone(), t.live.clone()))
            .collect(),
        paused: running.into_iter().map(|(s, _)| s).collect(),
        manifest,
    })
}

/// How `volume`'s staged content can go in: by its home when it is a plain
/// local volume that no container has mounted (asked after the pause: the
/// services' own are stopped); else inside the volume.
async fn swap_for(engine: &Engine, volume: &str) -> Swap {
    match engine.volume_home(volume).await {
        Ok(Some(home)) if matches!(engine.volume_in_use(volume).await, Ok(false)) => {
            Swap::Home(home)
        }
        _ => Swap::InVolume,
    }
}

/// The live volume a snapshot's volume goes back into: a named one by its name;
/// an anonymous one is the volume its service's container mounts at its target now.
fn live_volume(entry: &VolumeEntry, observed: &Observed, project: &str) -> Result<String> {
    if !entry.anonymous {
        return Ok(entry.volume.clone());
    }
    let (Some(service), Some(target)) = (&entry.service, &entry.target) else {
        return Err(Error::SnapshotCorrupt {
            name: entry.volume.clone(),
            problem: "an anonymous volume without its service and target".into(),
        });
    };
    observed
        .containers
        .iter()
        .filter(|c| &c.service == service)
        .flat_map(|c| observed.volume_mounts.get(&c.name).into_iter().flatten())
        .find(|m| &m.target == target)
        .map(|m| m.volume.clone())
        .ok_or_else(|| {
            Error::invalid(
                Diagnostic::error(
                    "",
                    format!(
                        "the snapshot holds an anonymous volume of service `{service}` at {target}, but project {project} has no container of `{service}` mounting one"
                    ),
                )
                .with_hint(format!("`pier up {service}` creates it; then restore again")),
            )
        })
}

async fn stage_all(
    engine: &Engine,
    project: &str,
    store: &Store,
    manifest: &Manifest,
    targets: &mut [RestoreTarget<'_>],
    shared: Option<&pipe::Shared>,
    sink: &EventSink,
) -> Result<()> {
    let dir = store.path_of(&manifest.name);
    for t in targets.iter_mut() {
        let fast = create_restore_helper(engine, project, t, shared).await?;
        let t = &*t;
        // Clean what an interrupted restore may have left, and prove `sh` is
        // there for the swap — by running the script, which costs a container
        // start, only when a look through the archive API does not settle it.
        let mut settled = engine.path_exists(&t.helper, "/bin/sh").await?;
        for left in [".pier-restore-staging", ".pier-restore-old"] {
            if settled
                && engine
                    .path_exists(&t.helper, &format!("{RESTORE_MOUNT}/{left}"))
                    .await?
            {
                settled = false;
            }
        }
        if !settled {
            run_checked(engine, &t.helper, &t.live, "preparing the restore").await?;
        }
        sink(Event::Note {
            text: format!("staging volume {}", t.live),
        });
        let path = dir.join(&t.entry.file);
        if let Some(shared) = fast {
            match stage_through_pipe(engine, store, manifest, t, shared, sink).await {
                Ok(()) => continue,
                Err(e @ Error::SnapshotCorrupt { .. }) => return Err(e),
                Err(e) => {
                    sink(Event::Note {
                        text: format!(
                            "staging volume {} through the engine's archive API instead ({e})",
                            t.live
                        ),
                    });
                    // Remove what tar may have staged before it failed.
                    run_checked(engine, &t.helper, &t.live, "preparing the restore").await?;
                }
            }
        }
        let (archive, reader) = decompress_stream(path.clone());
        let meter = restore_meter(t, sink);
        let archive = archive.inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                meter.lock().expect("no panics holding it").add(chunk.len());
            }
        });
        let uploaded = engine
            .upload_archive(&t.helper, RESTORE_MOUNT, archive)
            .await;
        // The archive's own fault first: the engine only saw a broken stream.
        checked_read(store, manifest, t, &path, reader).await?;
        uploaded?;
        restore_meter_done(t, sink);
    }
    Ok(())
}

/// Choose `t`'s way of swapping (`swap_for`, recorded in `t`) and create its
/// restore helper for it: with the volume's home bind-mounted for `Swap::Home` —
/// unless the engine refuses that bind or does not show the volume's content
/// there, and then, as for any other volume, with the volume mounted
/// (`Swap::InVolume`).
async fn create_restore_helper<'s>(
    engine: &Engine,
    project: &str,
    t: &mut RestoreTarget<'_>,
    shared: Option<&'s pipe::Shared>,
) -> Result<Option<&'s pipe::Shared>> {
    let image = t.image.clone().ok_or_else(|| no_image(project, &t.live))?;
    let helper = |swap: &Swap| {
        let (mounts, binds) = match swap {
            Swap::Home(home) => (vec![], vec![(PathBuf::from(home), RESTORE_MOUNT.into())]),
            Swap::InVolume => (vec![(t.live.clone(), RESTORE_MOUNT.into())], vec![]),
        };
        Helper {
            name: t.helper.clone(),
            project: project.to_string(),
            image: image.clone(),
            mounts,
            binds,
            command: vec!["sh".into(), "-c".into(), swap.script()],
            cleaner: false,
        }
    };
    let swap = swap_for(engine, &t.live).await;
    if let Swap::Home(_) = &swap {
        let mut home = helper(&swap);
        if let Ok(fast) = create_sharing(engine, &mut home, shared).await {
            // `_data`, or what a restore killed between its renames left.
            for content in ["_data", ".pier-restore-old"] {
                if engine
                    .path_exists(&t.helper, &format!("{RESTORE_MOUNT}/{content}"))
                    .await?
                {
                    t.swap = swap;
                    return Ok(fast);
                }
            }
            engine.remove_helper(&t.helper).await?;
        }
    }
    t.swap = Swap::InVolume;
    create_sharing(engine, &mut helper(&t.swap), shared).await
}

/// Delete what `t`'s restore replaced (`Swap::Home`), by a cleaner that goes on
/// after pier returns: the services run meanwhile, and a restore's time is not
/// that of deleting the old files. A cleaner that did not finish leaves them in
/// the volume's home, out of sight, for the next restore (or `down -v`) to delete.
async fn start_cleaner(
    engine: &Engine,
    project: &str,
    t: &RestoreTarget<'_>,
    i: usize,
) -> Result<()> {
    let (Swap::Home(home), Some(image)) = (&t.swap, &t.image) else {
        return Ok(());
    };
    let cleaner = Helper {
        name: helper_name(project, "cleaner", i),
        project: project.to_string(),
        image: image.clone(),
        mounts: vec![],
        binds: vec![(PathBuf::from(home), RESTORE_MOUNT.into())],
        command: ["rm", "-rf", &format!("{RESTORE_MOUNT}/.pier-restore-old")]
            .map(String::from)
            .to_vec(),
        cleaner: true,
    };
    engine.create_helper(&cleaner).await?;
    engine.start_container(&cleaner.name).await
}

/// Stage `t`'s archive through the shared pipe: decompressed into it here,
/// extracted by the helper's `tar` (the script's first line) there.
async fn stage_through_pipe(
    engine: &Engine,
    store: &Store,
    manifest: &Manifest,
    t: &RestoreTarget<'_>,
    shared: &pipe::Shared,
    sink: &EventSink,
) -> Result<()> {
    let path = store.path_of(&manifest.name).join(&t.entry.file);
    shared
        .make_pipe()
        .map_err(|e| Error::io(shared.pipe(), e))?;
    let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _abandoned = pipe::SetOnDrop(gone.clone());
    let (archive, reader) = decompress_stream(path.clone());
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(8);
    let writer = tokio::task::spawn_blocking({
        let (pipe, gone) = (shared.pipe(), gone.clone());
        move || pipe::write_blocking(&pipe, &gone, rx)
    });
    let meter = restore_meter(t, sink);
    let feed = async move {
        let mut archive = std::pin::pin!(archive);
        while let Some(chunk) = archive.next().await {
            if let Ok(chunk) = &chunk {
                meter.lock().expect("no panics holding it").add(chunk.len());
            }
            if tx.send(chunk).await.is_err() {
                break; // the writer stopped: its error says why
            }
        }
    };
    let run = async {
        let ran = engine.run_helper(&t.helper).await;
        gone.store(true, std::sync::atomic::Ordering::SeqCst);
        ran
    };
    let ((), ran) = tokio::join!(feed, run);
    let written = writer.await.map_err(|e| Error::Internal {
        message: format!("the writing thread failed: {e}"),
    })?;
    shared.remove_pipe();
    checked_read(store, manifest, t, &path, reader).await?;
    let (code, output) = ran?;
    if code != 0 {
        return Err(Error::ToolFailed(Box::new(ToolFailed {
            what: "tar".into(),
            container: t.helper.clone(),
            code,
            output,
            hint: String::new(),
        })));
    }
    written.map_err(|e| Error::io(shared.pipe(), e))?;
    restore_meter_done(t, sink);
    Ok(())
}

/// The restore's progress of one volume: (meter, bytes so far).
struct Progress {
    meter: Meter,
    moved: u64,
}

impl Progress {
    fn add(&mut self, n: usize) {
        self.moved += n as u64;
        self.meter.update(self.moved);
    }
}

fn restore_meter(t: &RestoreTarget<'_>, sink: &EventSink) -> Arc<Mutex<Progress>> {
    Arc::new(Mutex::new(Progress {
        meter: Meter::new(
            format!("restore of volume {}", t.live),
            Some(t.entry.bytes),
            sink,
        ),
        moved: 0,
    }))
}

fn restore_meter_done(t: &RestoreTarget<'_>, sink: &EventSink) {
    Meter::new(
        format!("restore of volume {}", t.live),
        Some(t.entry.bytes),
        sink,
    )
    .done(t.entry.bytes);
}

/// What reading `t`'s archive found, checked against the manifest: a damaged
/// archive is the snapshot's fault, whatever the engine or tar said.
async fn checked_read(
    store: &Store,
    manifest: &Manifest,
    t: &RestoreTarget<'_>,
    path: &Path,
    reader: tokio::task::JoinHandle<ReadArchive>,
) -> Result<()> {
    let read = reader.await.map_err(|e| Error::Internal {
        message: format!("the decompressing thread failed: {e}"),
    })?;
    match read {
        Err(e) => Err(store::corrupt(manifest, format!("{}: {e}", path.display()))),
        Ok(Some((size, sha))) => store.matches(manifest, t.entry, size, &sha),
        Ok(None) => Ok(()),
    }
}

/// Swap every staged volume in. Not interruptible: see the module's comment.
async fn commit_all(
    engine: &Engine,
    targets: &[RestoreTarget<'_>],
    sink: &EventSink,
) -> Result<()> {
    let marker = commit_marker_tar();
    for t in targets {
        engine
            .upload_archive(
                &t.helper,
                "/",
                futures_util::stream::iter([Ok(marker.clone())]),
            )
            .await?;
    }
    for t in targets {
        run_checked(engine, &t.helper, &t.live, "replacing the volume's content").await?;
        sink(Event::Note {
            text: format!("restored volume {}", t.live),
        });
    }
    Ok(())
}

async fn run_checked(engine: &Engine, helper: &str, volume: &str, what: &str) -> Result<()> {
    let (code, output) = engine.run_helper(helper).await?;
    if code == 0 {
        return Ok(());
    }
    Err(Error::ToolFailed(Box::new(ToolFailed {
        what: format!("{what} of volume {volume}"),
        container: helper.to_string(),
        code,
        output,
        hint: "a restore runs `sh`, `mv` and `rm` from the image of a service that mounts the volume; an image without a shell cannot restore".into(),
    })))
}

fn commit_marker_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(0);
    b.append_data(&mut h, COMMIT_MARKER, std::io::empty())
        .expect("a tar in memory");
    b.into_inner().expect("a tar in memory")
}

/// Remove all but the newest `keep` snapshots (only automatic ones when
/// `automatic_only`); returns the names removed.
pub fn prune(store: &Store, keep: usize, automatic_only: bool) -> Result<Vec<String>> {
    let candidates: Vec<Manifest> = store
        .list()
        .into_iter()
        .filter(|m| !automatic_only || m.automatic)
        .collect();
    let excess = candidates.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for m in candidates.into_iter().take(excess) {
        store.remove(&m.name)?;
        removed.push(m.name);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::observed::{ObservedContainer, ObservedMount, ObservedVolume};

    fn container(service: &str, state: ContainerState) -> ObservedContainer {
        ObservedContainer {
            network_host: None,
            pre_stop: vec![],
            name: format!("p-{service}-1"),
            id: format!("id-{service}"),
            image_id: Some(format!("sha256:{service}")),
            service: service.into(),
            config_hash: None,
            field_hashes: BTreeMap::new(),
            depends_on: vec![],
            state,
            health: None,
            exit_code: None,
            started_at: None,
            published: vec![],
            networks: None,
        }
    }

    fn observed() -> Observed {
        let anon = "a".repeat(64);
        let mount = |volume: &str, target: &str| ObservedMount {
            volume: volume.into(),
            target: target.into(),
        };
        Observed {
            containers: vec![
                container("db", ContainerState::Running),
                container("web", ContainerState::Running),
                container("worker", ContainerState::Exited),
            ],
            volumes: vec![
                ObservedVolume {
                    name: "p_data".into(),
                },
                ObservedVolume {
                    name: "p_unused".into(),
                },
            ],
            volume_mounts: [
                ("p-db-1".to_string(), vec![mount("p_data", "/var/lib/db")]),
                ("p-web-1".to_string(), vec![mount(&anon, "/cache")]),
                ("p-worker-1".to_string(), vec![mount("p_data", "/data")]),
            ]
            .into(),
            ..Observed::default()
        }
    }

    #[test]
    fn selects_labelled_and_anonymous_volumes_with_their_users() {
        let all = select(&observed(), &[]);
        let names: Vec<(&str, bool)> = all
            .iter()
            .map(|s| (s.volume.as_str(), s.anonymous))
            .collect();
        assert_eq!(
            names,
            [
                ("a".repeat(64).as_str(), true),
                ("p_data", false),
                ("p_unused", false)
            ]
        );
        let db_only = select(&observed(), &["db".into()]);
        assert_eq!(db_only.len(), 1);
        assert_eq!(db_only[0].volume, "p_data");
        // Only running users are stopped (and started again).
        assert_eq!(
            running_users(&db_only),
            [("db".to_string(), "p-db-1".to_string())]
        );
    }

    #[test]
    fn pause_stops_and_resume_starts_and_waits() {
        let running = vec![("db".to_string(), "p-db-1".to_string())];
        assert_eq!(
            pause_plan("p", &running).to_string(),
            "project p: 1 step\n  1. stop container p-db-1 (stopped for a consistent copy of its volumes)\n"
        );
        assert_eq!(
            resume_plan("p", None, &running).to_string(),
            "project p: 2 steps\n  1. start container p-db-1 (stopped for a consistent copy of its volumes)\n  2. wait for db: service_started (stopped for a consistent copy of its volumes) after 1\n"
        );
    }

    #[test]
    fn prune_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::of(dir.path());
        for (i, (name, automatic)) in [("a", true), ("b", false), ("c", true), ("d", true)]
            .into_iter()
            .enumerate()
        {
            let m = Manifest {
                format: store::FORMAT,
                name: name.into(),
                project: "p".into(),
                created: String::new(),
                created_unix: i as u64,
                pier_version: String::new(),
                automatic,
                services: vec![],
                volumes: vec![],
            };
            s.begin(name).unwrap().commit(&m).unwrap();
        }
        assert_eq!(prune(&s, 2, true).unwrap(), ["a"]);
        assert_eq!(prune(&s, 1, false).unwrap(), ["b", "c"]);
        let left: Vec<String> = s.list().into_iter().map(|m| m.name).collect();
        assert_eq!(left, ["d"]);
    }
}
