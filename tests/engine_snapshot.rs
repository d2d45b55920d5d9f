//! Your data (issue 13) against the real engine: anonymous volumes across a
//! recreate, snapshots (take, restore, corrupt, interrupted), `down -v`'s
//! automatic snapshot. Own project names, cleanup on drop, busybox test image.

mod support;

use pier::stack::model::{Mount, MountKind, Service, Stack};
use support::*;

fn anonymous(target: &str) -> Mount {
    Mount {
        kind: MountKind::Volume,
        source: None,
        target: target.into(),
        read_only: false,
    }
}

fn with_mount(mut s: Service, m: Mount) -> Service {
    s.volumes.push(m);
    s
}

fn sh(container: &str, script: &str) -> String {
    docker(&["exec", container, "sh", "-c", script])
        .unwrap_or_else(|e| panic!("exec in {container}: {script}: {e}"))
}

#[test]
fn anonymous_volumes_survive_a_recreate() {
    let p = Project::new("snap-anon");
    let app = |extra: &str| -> Stack {
        p.stack(vec![(
            "app",
            with_mount(service(&idle_after(extra)), anonymous("/data")),
        )])
    };
    up(&app(""), &up_args(60)).expect("first up");
    let c = p.container("app");
    sh(&c, "echo kept > /data/file");
    let before = inspect(&c, "{{.Id}}");
    // A changed command recreates the container.
    up(&app("true;"), &up_args(60)).expect("second up");
    assert_ne!(
        inspect(&c, "{{.Id}}"),
        before,
        "the container was recreated"
    );
    assert_eq!(sh(&c, "cat /data/file"), "kept");
    let volume = inspect(&c, "{{range .Mounts}}{{.Name}}{{end}}");
    drop(p);
    // Carried over by name, the volume is no longer removed with its container.
    let _ = docker(&["volume", "rm", "-f", &volume]);
}

/// A project with a stack file: `app` mounts the named volume `data` at /data
/// and an anonymous one at /scratch.
fn project_with_file(test: &str) -> Project {
    let p = Project::new(test);
    let yaml = format!(
        r#"name: {name}
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    volumes:
      - data:/data
      - /scratch
volumes:
  data:
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    p
}

fn pier(p: &Project) -> Pier {
    Pier::in_dir(p.dir.path()).args(["--progress", "plain"])
}

/// sha256 of every file under /data and /scratch, by path.
fn checksums(c: &str) -> String {
    sh(
        c,
        "cd / && find data scratch -type f | sort | xargs -r sha256sum; find data scratch | sort",
    )
}

fn snapshots_json(p: &Project) -> Vec<serde_json::Value> {
    let out = pier(p).args(["snapshot", "list", "--json"]).run().stdout;
    serde_json::from_str::<Vec<serde_json::Value>>(&out).unwrap()
}

#[test]
fn snapshot_then_restore_is_byte_identical_and_the_service_runs_again() {
    let p = project_with_file("snap-round");
    pier(&p).args(["up"]).run();
    let c = p.container("app");
    sh(
        &c,
        "mkdir -p /data/d/e && echo a > /data/a && dd if=/dev/urandom of=/data/d/big bs=1024 count=512 2>/dev/null \
         && ln -s a /data/link && chmod 600 /data/a && echo s > /scratch/s",
    );
    let before = checksums(&c);
    let taken = pier(&p).args(["snapshot", "--name", "base"]).run().stdout;
    assert!(
        taken.contains("restore it with: pier snapshot restore base"),
        "{taken}"
    );
    assert_eq!(
        inspect(&c, "{{.State.Status}}"),
        "running",
        "started again after the copy"
    );
    let list = snapshots_json(&p);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "base");
    assert_eq!(list[0]["volumes"].as_array().unwrap().len(), 2);

    sh(
        &c,
        "rm /data/a && echo changed > /data/d/big && echo new > /data/new && rm /scratch/s",
    );
    assert_ne!(checksums(&c), before);
    pier(&p)
        .args(["snapshot", "restore", "base"])
        .stdout_contains("restored snapshot base")
        .run();
    assert_eq!(
        checksums(&c),
        before,
        "the volumes hold exactly what was saved"
    );
    assert_eq!(sh(&c, "stat -c %a /data/a"), "600");
    assert_eq!(inspect(&c, "{{.State.Status}}"), "running");
    // Nothing of pier's restore machinery is left in the volume.
    assert_eq!(sh(&c, "ls -a /data | grep -c pier-restore || true"), "0");

    pier(&p).args(["snapshot", "rm", "base"]).run();
    assert!(snapshots_json(&p).is_empty());
    pier(&p)
        .args(["snapshot", "restore", "base"])
        .status(2)
        .stderr_contains("no snapshot named `base`")
        .run();
}

#[test]
fn down_v_snapshots_first_and_up_then_restore_brings_the_data_back() {
    let p = project_with_file("snap-down");
    pier(&p).args(["up"]).run();
    let c = p.container("app");
    sh(&c, "echo precious > /data/f && echo also > /scratch/g");
    let before = checksums(&c);
    let down = pier(&p).args(["down", "-v"]).run().stdout;
    assert!(
        down.contains("restore it with: pier snapshot restore down-"),
        "{down}"
    );
    assert!(
        p.volumes().is_empty(),
        "-v removed the volume: {:?}",
        p.volumes()
    );
    let list = snapshots_json(&p);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["automatic"], true);
    let name = list[0]["name"].as_str().unwrap().to_string();

    pier(&p).args(["up"]).run();
    assert_eq!(
        sh(&c, "ls /data /scratch | grep -c . || true"),
        "2",
        "fresh volumes"
    );
    pier(&p).args(["snapshot", "restore", &name]).run();
    assert_eq!(checksums(&c), before);

    // --no-snapshot takes none; the automatic ones are pruned to --keep-snapshots.
    pier(&p).args(["down", "-v", "--no-snapshot"]).run();
    assert_eq!(snapshots_json(&p).len(), 1);
}

#[test]
fn a_corrupt_snapshot_is_refused_and_the_live_data_is_untouched() {
    let p = project_with_file("snap-corrupt");
    pier(&p).args(["up"]).run();
    let c = p.container("app");
    sh(&c, "echo one > /data/f");
    pier(&p).args(["snapshot", "--name", "s"]).run();
    sh(&c, "echo two > /data/f");
    let live = checksums(&c);
    let dir = p.dir.path().join(".pier/snapshots/s");
    let archive = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|f| f.extension().is_some_and(|x| x == "zst"))
        .unwrap();
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    pier(&p)
        .args(["snapshot", "restore", "s"])
        .status(1)
        .stderr_contains("snapshot `s` is damaged")
        .run();
    assert_eq!(checksums(&c), live);
    assert_eq!(inspect(&c, "{{.State.Status}}"), "running");
}

#[test]
fn ctrl_c_during_a_restore_leaves_the_old_data_or_the_new_never_a_mix() {
    let p = project_with_file("snap-sigint");
    pier(&p).args(["up"]).run();
    let c = p.container("app");
    let fill = |tag: &str| {
        sh(
            &c,
            &format!(
                "rm -rf /data/* /scratch/*; i=0; while [ $i -lt 400 ]; do echo {tag}$i > /data/f$i; i=$((i+1)); done; \
                 dd if=/dev/urandom of=/data/big bs=1M count=24 2>/dev/null; echo {tag} > /scratch/s"
            ),
        );
    };
    fill("new");
    let new = checksums(&c);
    pier(&p).args(["snapshot", "--name", "new"]).run();
    fill("old");
    let old = checksums(&c);
    let mut outcomes = Vec::new();
    // Ctrl-C at moments from "services just stopped" to "about done".
    for delay_ms in [0u64, 150, 400, 800, 1500] {
        let mut child = pier(&p)
            .args(["snapshot", "restore", "new"])
            .spawn()
            .unwrap();
        poll(
            "the restore to stop app",
            std::time::Duration::from_secs(60),
            || (inspect(&c, "{{.State.Status}}") != "running").then_some(()),
        );
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let status = poll(
            "the restore to end",
            std::time::Duration::from_secs(120),
            || child.try_wait().unwrap(),
        );
        assert!(
            matches!(status.code(), Some(0) | Some(130)),
            "exit {status:?} after {delay_ms} ms"
        );
        poll("app to run", std::time::Duration::from_secs(60), || {
            (inspect(&c, "{{.State.Status}}") == "running").then_some(())
        });
        let now = checksums(&c);
        assert!(
            now == old || now == new,
            "a mix after a Ctrl-C at {delay_ms} ms"
        );
        outcomes.push((delay_ms, status.code(), now == new));
        if now == new {
            fill("old");
        }
    }
    eprintln!("(delay ms, exit, restored): {outcomes:?}");
}

/// A restore killed outright (no clean-up) leaves its staging in the volume;
/// the next restore removes it first instead of merging into it.
#[test]
fn what_a_killed_restore_left_in_a_volume_is_not_restored() {
    let p = project_with_file("snap-leftover");
    pier(&p).args(["up"]).run();
    let c = p.container("app");
    sh(&c, "echo kept > /data/kept && echo s > /scratch/s");
    let before = checksums(&c);
    pier(&p).args(["snapshot", "--name", "s"]).run();
    sh(
        &c,
        "mkdir -p /data/.pier-restore-staging/sub && echo stale > /data/.pier-restore-staging/sub/stale \
         && echo stale > /data/.pier-restore-staging/kept",
    );
    pier(&p).args(["snapshot", "restore", "s"]).run();
    assert_eq!(checksums(&c), before, "nothing of the leftover staging");
}
