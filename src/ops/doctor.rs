//! `doctor`: is this machine ready to run a stack? Each check says what it found
//! and, when it is not fine, the command or setting that fixes it. Checks that
//! need something that failed (the engine, the stack file) are skipped, saying why.
//!
//! The registry is not contacted: pier sends no traffic of its own to a registry,
//! so the check says which images the stack needs are already on the engine and
//! which a first `pier up` would pull.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::engine::{Engine, EngineFacts};
use crate::error::Error;
use crate::plan::{UpOptions, plan_up};
use crate::stack::{LoadOptions, Loaded};

/// Free space below which images and volumes will not fit: a failure.
const DISK_FAIL: u64 = 2 << 30;
/// Free space below which a few stacks' images fill the disk: a warning.
const DISK_WARN: u64 = 10 << 30;
/// Clock skew between host and engine worth a warning (TLS, `make`, caches), and a failure.
const SKEW_WARN_SECS: f64 = 5.0;
const SKEW_FAIL_SECS: f64 = 60.0;
/// inotify limits below which file watching (`pier watch`, dev servers) runs out.
const INOTIFY_WATCHES: u64 = 65_536;
const INOTIFY_INSTANCES: u64 = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One check: what was looked at, what was found, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            name,
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// `ok` when no check failed (warnings pass).
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineFacts>,
    pub checks: Vec<Check>,
}

/// Run every check. `load`: where the stack file would be (the current
/// directory and the global flags); without one, the stack's checks are skipped.
pub async fn doctor(load: &LoadOptions) -> DoctorReport {
    let mut checks = Vec::new();
    let loaded = crate::stack::load(load);
    let project_dir = match &loaded {
        Ok(l) => l.stack.project_dir.clone(),
        Err(_) => load.cwd.clone(),
    };
    checks.push(stack_check(&loaded));
    checks.push(env_mode_check(&project_dir));
    let stack = loaded.as_ref().ok();

    let (engine, facts) = match Engine::connect().await {
        Ok(engine) => match engine.facts().await {
            Ok(facts) => (Some(engine), Some(facts)),
            Err(err) => {
                checks.push(Check::new("engine", Status::Fail, err.to_string()));
                (None, None)
            }
        },
        Err(err) => {
            let (detail, fix) = split_hint(&err);
            let mut check = Check::new("engine", Status::Fail, detail);
            check.fix = fix;
            checks.push(check);
            (None, None)
        }
    };
    match (&engine, &facts) {
        (Some(engine), Some(facts)) => {
            checks.push(Check::new(
                "engine",
                Status::Ok,
                format!(
                    "Docker {} at {}, API {} (pier speaks {}), {}",
                    facts.version,
                    crate::engine::host(),
                    facts.api_version,
                    facts.client_api_version,
                    facts.os
                ),
            ));
            checks.push(storage_check(facts));
            checks.push(disk_check(facts));
            checks.push(clock_check(facts, SystemTime::now()));
            match stack {
                Some(loaded) => {
                    checks.push(images_check(engine, loaded).await);
                    checks.push(ports_check(engine, loaded).await);
                }
                None => {
                    let why = "no stack file loaded";
                    checks.push(Check::new("images", Status::Skip, why));
                    checks.push(Check::new("ports", Status::Skip, why));
                }
            }
        }
        _ => {
            for name in ["storage driver", "disk", "clock", "images", "ports"] {
                checks.push(Check::new(
                    name,
                    Status::Skip,
                    "the engine cannot be reached",
                ));
            }
        }
    }
    checks.push(inotify_check(Path::new("/proc/sys/fs/inotify")));
    DoctorReport {
        ok: !checks.iter().any(|c| c.status == Status::Fail),
        engine: facts,
        checks,
    }
}

/// An error's text, and its `hint:` as the fix.
fn split_hint(err: &Error) -> (String, Option<String>) {
    let text = err.to_string();
    match text.split_once("\n  hint: ") {
        Some((detail, hint)) => (detail.to_string(), Some(hint.to_string())),
        None => (text, None),
    }
}

fn stack_check(loaded: &Result<Loaded, Error>) -> Check {
    match loaded {
        Ok(l) if l.warnings.is_empty() => Check::new(
            "stack file",
            Status::Ok,
            format!(
                "{} loads cleanly (project {}, {} services)",
                l.file.display(),
                l.stack.name,
                l.stack.services.len()
            ),
        ),
        Ok(l) => Check::new(
            "stack file",
            Status::Warn,
            format!(
                "{} loads, with {} warning{}:\n{}",
                l.file.display(),
                l.warnings.len(),
                if l.warnings.len() == 1 { "" } else { "s" },
                l.warnings
                    .iter()
                    .map(|w| w.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        )
        .fix("change the keys the warnings name; `pier config` shows the stack as pier reads it"),
        Err(Error::NoStackFile { .. }) => Check::new(
            "stack file",
            Status::Skip,
            "no stack file here (pier.yaml, compose.yaml, …): only the machine is checked",
        ),
        Err(err) => Check::new("stack file", Status::Fail, err.to_string()).fix(
            "fix what the lines above name (file:line:column), then run `pier config` to check",
        ),
    }
}

fn env_mode_check(project_dir: &Path) -> Check {
    use std::os::unix::fs::PermissionsExt;
    let path = project_dir.join(".env");
    match std::fs::metadata(&path) {
        Err(_) => Check::new(".env", Status::Skip, format!("no {}", path.display())),
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 == 0 {
                Check::new(
                    ".env",
                    Status::Ok,
                    format!(
                        "{} is mode {mode:04o}: only you can read its secrets",
                        path.display()
                    ),
                )
            } else {
                Check::new(
                    ".env",
                    Status::Fail,
                    format!(
                        "{} is mode {mode:04o}: other users can read the passwords in it",
                        path.display()
                    ),
                )
                .fix(format!("chmod 600 {}", path.display()))
            }
        }
    }
}

fn storage_check(facts: &EngineFacts) -> Check {
    let driver = facts.storage_driver.as_str();
    match driver {
        "overlay2" | "overlayfs" | "btrfs" | "zfs" | "fuse-overlayfs" | "io.containerd.snapshotter.v1" => {
            Check::new("storage driver", Status::Ok, driver)
        }
        "vfs" => Check::new(
            "storage driver",
            Status::Warn,
            "vfs: every layer is a full copy, so images take many times their size and builds are slow",
        )
        .fix("set \"storage-driver\": \"overlay2\" in /etc/docker/daemon.json and restart Docker (`systemctl restart docker`)"),
        other => Check::new("storage driver", Status::Ok, other),
    }
}

fn disk_check(facts: &EngineFacts) -> Check {
    let local = crate::preflight::engine_is_local(crate::engine::host_setting().as_deref());
    let root = PathBuf::from(&facts.root_dir);
    if !local || !root.is_dir() {
        return Check::new(
            "disk",
            Status::Skip,
            format!(
                "the engine's data directory {} is not on this machine",
                facts.root_dir
            ),
        )
        .fix("`docker system df` shows what the engine uses");
    }
    let Some(free) = free_bytes(&root) else {
        return Check::new(
            "disk",
            Status::Skip,
            format!("cannot read the free space of {}", root.display()),
        );
    };
    let detail = format!(
        "{} free for images and volumes in {}",
        gib(free),
        root.display()
    );
    let fix = "`docker system df` shows what uses it; `docker image prune` and `docker builder prune` free what nothing uses";
    if free < DISK_FAIL {
        Check::new("disk", Status::Fail, detail).fix(fix)
    } else if free < DISK_WARN {
        Check::new("disk", Status::Warn, detail).fix(fix)
    } else {
        Check::new("disk", Status::Ok, detail)
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// Free bytes for an unprivileged writer on the filesystem of `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

fn clock_check(facts: &EngineFacts, now: SystemTime) -> Check {
    let Some(engine) = crate::clock::unix_seconds(&facts.system_time) else {
        return Check::new(
            "clock",
            Status::Skip,
            format!("the engine's time {:?} cannot be read", facts.system_time),
        );
    };
    let host = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    let skew = engine - host;
    let detail = format!(
        "the engine's clock is {:.1} s {} this machine's",
        skew.abs(),
        if skew >= 0.0 { "ahead of" } else { "behind" }
    );
    let fix = "sync the clocks (`sudo timedatectl set-ntp true` on the host; restart Docker Desktop's VM when it is the engine's that drifted)";
    if skew.abs() >= SKEW_FAIL_SECS {
        Check::new("clock", Status::Fail, detail).fix(fix)
    } else if skew.abs() >= SKEW_WARN_SECS {
        Check::new("clock", Status::Warn, detail).fix(fix)
    } else {
        Check::new("clock", Status::Ok, detail)
    }
}

async fn images_check(engine: &Engine, loaded: &Loaded) -> Check {
    let stack = &loaded.stack;
    let pulled: Vec<String> = stack
        .services
        .iter()
        .filter(|(_, s)| s.build.is_none())
        .map(|(name, _)| stack.image_of(name))
        .collect();
    let observed = match engine.observe(&stack.name, &pulled).await {
        Ok(o) => o,
        Err(err) => return Check::new("images", Status::Fail, err.to_string()),
    };
    let mut missing: Vec<&String> = pulled
        .iter()
        .filter(|i| !observed.images.contains_key(*i))
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        return Check::new(
            "images",
            Status::Ok,
            format!(
                "every image the stack pulls is on the engine ({} of them); `pier up` needs no registry",
                pulled.len()
            ),
        );
    }
    let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
    Check::new(
        "images",
        Status::Warn,
        format!(
            "not on the engine yet, so the first `pier up` pulls them from a registry: {}",
            list.join(", ")
        ),
    )
    .fix(format!(
        "where a registry can be reached, `docker pull {}`; offline, change `image:` in the stack file to images you have (`docker images`; for a built-in stack, `pier list STACK` names its image parameters)",
        list[0]
    ))
}

async fn ports_check(engine: &Engine, loaded: &Loaded) -> Check {
    let stack = &loaded.stack;
    let observed = match engine.observe(&stack.name, &[]).await {
        Ok(o) => o,
        Err(err) => return Check::new("ports", Status::Fail, err.to_string()),
    };
    let plan = match plan_up(stack, &observed, &UpOptions::default()) {
        Ok(plan) => plan,
        Err(_) => return Check::new("ports", Status::Skip, "the stack file does not plan"),
    };
    let wanted: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| s.ports.iter().filter_map(|p| p.published))
        .map(|p| p.to_string())
        .collect();
    let busy = crate::preflight::check_ports(stack, &plan, &observed);
    if busy.is_empty() {
        let detail = if wanted.is_empty() {
            "the stack publishes no host port".to_string()
        } else {
            format!("free or this project's own: {}", wanted.join(", "))
        };
        return Check::new("ports", Status::Ok, detail);
    }
    let holders = engine.published_ports().await.unwrap_or_default();
    let Error::PortsInUse(busy) = crate::preflight::explain(busy, stack, &holders, &loaded.dotenv)
    else {
        unreachable!("explain returns PortsInUse")
    };
    let detail: Vec<String> = busy.iter().map(|b| b.to_string()).collect();
    let fix: Vec<String> = busy.iter().map(|b| b.fix()).collect();
    Check::new("ports", Status::Fail, detail.join("\n")).fix(fix.join("\n"))
}

fn inotify_check(dir: &Path) -> Check {
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(dir.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let (Some(watches), Some(instances)) = (read("max_user_watches"), read("max_user_instances"))
    else {
        return Check::new(
            "inotify",
            Status::Skip,
            format!("{} cannot be read (not Linux?)", dir.display()),
        );
    };
    let detail = format!("max_user_watches {watches}, max_user_instances {instances}");
    if watches < INOTIFY_WATCHES || instances < INOTIFY_INSTANCES {
        Check::new("inotify", Status::Warn, format!("{detail}: file watchers of dev servers run out on large projects"))
            .fix(format!(
                "sudo sysctl -w fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 (and the same lines in /etc/sysctl.d/90-pier.conf to keep them); needed at least {INOTIFY_WATCHES} and {INOTIFY_INSTANCES}"
            ))
    } else {
        Check::new("inotify", Status::Ok, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_skew_is_judged() {
        let facts = |t: &str| EngineFacts {
            system_time: t.into(),
            ..EngineFacts::default()
        };
        let now = UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        // 2001-09-09T01:46:40Z is 1e9.
        assert_eq!(
            clock_check(&facts("2001-09-09T01:46:41Z"), now).status,
            Status::Ok
        );
        assert_eq!(
            clock_check(&facts("2001-09-09T01:46:50Z"), now).status,
            Status::Warn
        );
        let far = clock_check(&facts("2001-09-09T01:40:00Z"), now);
        assert_eq!(far.status, Status::Fail);
        assert!(far.detail.contains("behind"), "{}", far.detail);
        assert!(far.fix.is_some());
    }

    #[test]
    fn inotify_limits_are_judged_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("max_user_watches"), "8192\n").unwrap();
        std::fs::write(dir.path().join("max_user_instances"), "128\n").unwrap();
        let low = inotify_check(dir.path());
        assert_eq!(low.status, Status::Warn);
        assert!(low.fix.unwrap().contains("sysctl"));
        std::fs::write(dir.path().join("max_user_watches"), "524288\n").unwrap();
        assert_eq!(inotify_check(dir.path()).status, Status::Ok);
        assert_eq!(
            inotify_check(&dir.path().join("absent")).status,
            Status::Skip
        );
    }

    #[test]
    fn a_readable_env_file_fails_with_chmod() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, "A=1\n").unwrap();
        std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
        let check = env_mode_check(dir.path());
        assert_eq!(check.status, Status::Fail);
        assert_eq!(check.fix.unwrap(), format!("chmod 600 {}", env.display()));
        std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(env_mode_check(dir.path()).status, Status::Ok);
    }
}
