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
}

/// A stack file of one idle service `app` from `image`, with these `volumes`
/// entries, and the named volume `data` declared.
fn app_stack(p: &Project, image: &str, volumes: &[&str]) {
    let volumes: String = volumes.iter().map(|v| format!("      - {v}\n")).collect();
    let yaml = format!(
        r#"name: {name}
services:
  app:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    volumes:
{volumes}volumes:
  data:
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
}

/// A project with a stack file: `app` mounts the named volume `data` at /data
/// and an anonymous one at /scratch.
fn project_with_file(test: &str) -> Project {
    let p = Project::new(test);
    app_stack(&p, IMAGE, &["data:/data", "/scratch"]);
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

/// `test`'s project up, /data/f "saved" and /scratch/s in snapshot `s`, then
/// /data/f changed: (project, app's container, checksums of what was saved).
fn saved_then_changed(test: &str) -> (Project, String, String) {
    let p = project_with_file(test);
    pier(&p).args(["up"]).run();
    let c = p.container("app");
    sh(&c, "echo saved > /data/f && echo s > /scratch/s");
    let saved = checksums(&c);
    pier(&p).args(["snapshot", "--name", "s"]).run();
    sh(&c, "echo changed > /data/f");
    (p, c, saved)
}

/// The directory on the engine's machine that holds volume `v`'s content as `_data`.
fn home_of(v: &str) -> String {
    let mountpoint = docker(&["volume", "inspect", "-f", "{{.Mountpoint}}", v]).unwrap();
    mountpoint.strip_suffix("/_data").unwrap().to_string()
}

/// What a volume's home holds besides nothing (sorted `ls -A`).
fn home_listing(home: &str) -> String {
    docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{home}:/h"),
        IMAGE,
        "ls",
        "-A",
        "/h",
    ])
    .unwrap()
}

fn cleaners(p: &Project) -> String {
    docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=io.pier.cleaner={}", p.name),
    ])
    .unwrap()
}

/// A plain local volume is swapped whole: the service never sees the replaced
/// content (set aside beside `_data`), and a cleaner deletes it afterwards and
/// removes itself.
#[test]
fn a_restore_sets_the_old_content_out_of_sight_and_a_cleaner_deletes_it() {
    let (p, c, before) = saved_then_changed("snap-home");
    sh(
        &c,
        "i=0; while [ $i -lt 2000 ]; do echo $i > /data/n$i; i=$((i+1)); done; rm /data/f",
    );
    pier(&p).args(["snapshot", "restore", "s"]).run();
    assert_eq!(checksums(&c), before);
    assert_eq!(
        sh(&c, "ls -A /data /scratch | grep -c pier-restore || true"),
        "0",
        "nothing of the restore in sight of the service"
    );
    let home = home_of(&format!("{}_data", p.name));
    poll(
        "the cleaner to delete the replaced content and remove itself",
        std::time::Duration::from_secs(60),
        || (home_listing(&home) == "_data" && cleaners(&p).is_empty()).then_some(()),
    );
    assert_eq!(checksums(&c), before);
}

/// A restore killed between its two renames leaves `_data` set aside (the
/// engine could not even start the service); the next restore puts it back
/// before anything else, and ignores the stale staging beside it.
#[test]
fn a_restore_killed_between_its_renames_is_undone_by_the_next() {
    let (p, c, before) = saved_then_changed("snap-renames");
    pier(&p).args(["stop"]).run();
    let home = home_of(&format!("{}_data", p.name));
    docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{home}:/h"),
        IMAGE,
        "sh",
        "-c",
        "cd /h && mv _data .pier-restore-old && mkdir -p .pier-restore-staging && echo stale > .pier-restore-staging/stale",
    ])
    .unwrap();
    pier(&p).args(["snapshot", "restore", "s"]).run();
    pier(&p).args(["up"]).run();
    assert_eq!(checksums(&c), before);
}

/// A container outside the project that has the volume mounted (here paused)
/// would keep the replaced `_data`: with one, the volume is restored inside
/// itself, and that container sees the restored content too.
#[test]
fn a_volume_another_container_has_mounted_is_restored_inside_it() {
    let (p, c, _) = saved_then_changed("snap-shared");
    let other = format!("{}-other", p.name);
    let volume = format!("{}_data", p.name);
    docker(&[
        "run",
        "-d",
        "--name",
        &other,
        "-v",
        &format!("{volume}:/d"),
        IMAGE,
        "sleep",
        "600",
    ])
    .unwrap();
    docker(&["pause", &other]).unwrap();
    let restored = pier(&p).args(["snapshot", "restore", "s"]).run();
    docker(&["unpause", &other]).unwrap();
    let seen = docker(&["exec", &other, "cat", "/d/f"]);
    let _ = docker(&["rm", "-f", &other]);
    assert_eq!(sh(&c, "cat /data/f"), "saved", "{}", restored.stderr);
    assert_eq!(
        seen.unwrap(),
        "saved",
        "the other container sees the restore"
    );
}

/// A volume whose content is mounted onto `_data` (a local volume with
/// options, here a bind of a host directory) cannot be swapped by its home: it
/// is restored inside the volume, and the host directory holds the snapshot.
#[test]
fn a_volume_with_driver_options_is_restored_inside_it() {
    let p = Project::new("snap-opts");
    let host = tempfile::tempdir().unwrap();
    let volume = format!("{}_data", p.name);
    docker(&[
        "volume",
        "create",
        "--label",
        &format!("io.pier.project={}", p.name),
        "--label",
        "io.pier.resource=data",
        "-o",
        "type=none",
        "-o",
        "o=bind",
        "-o",
        &format!("device={}", host.path().display()),
        &volume,
    ])
    .unwrap();
    app_stack(&p, IMAGE, &["data:/data"]);
    pier(&p).args(["up"]).run();
    let c = p.container("app");
    sh(
        &c,
        "echo saved > /data/f && mkdir /data/d && echo x > /data/d/x",
    );
    let before = sh(&c, "cd /data && find . | sort && cat f d/x");
    pier(&p).args(["snapshot", "--name", "s"]).run();
    sh(
        &c,
        "echo changed > /data/f && rm -r /data/d && echo new > /data/new",
    );
    pier(&p).args(["snapshot", "restore", "s"]).run();
    assert_eq!(sh(&c, "cd /data && find . | sort && cat f d/x"), before);
    assert_eq!(
        std::fs::read_to_string(host.path().join("f")).unwrap(),
        "saved\n",
        "the bound host directory holds the restored content"
    );
    assert!(!host.path().join("new").exists());
    drop(p);
    let _ = docker(&["volume", "rm", "-f", &volume]);
    // Root-owned files the helper wrote: remove them as the engine's root.
    let _ = docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/h", host.path().display()),
        IMAGE,
        "sh",
        "-c",
        "rm -rf /h/* /h/.[!.]*",
    ]);
}

/// An image declaring a `VOLUME` (as a database image declares its data
/// directory) at a path no other test's image has.
const WITH_VOLUME: &str = "pier-test/busybox-volume:1";
const IMAGE_VOLUME: &str = "/pier-test-image-volume";

fn ensure_image_with_volume() {
    if docker(&["image", "inspect", WITH_VOLUME]).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Dockerfile",
        &format!("FROM {IMAGE}\nVOLUME {IMAGE_VOLUME}\n"),
    );
    docker(&[
        "build",
        "-q",
        "-t",
        WITH_VOLUME,
        dir.path().to_str().unwrap(),
    ])
    .expect("building the image with a VOLUME");
}

/// Helpers are created from the service's image, so its `VOLUME`s give each
/// helper an anonymous volume of its own: snapshots, restores and `down -v`
/// leave none of them behind (the engine's volume events name every volume
/// mounted at that path since the test began).
#[test]
fn helpers_leave_no_volumes_of_their_images_behind() {
    ensure_image_with_volume();
    let p = Project::new("snap-image-volume");
    let since = docker(&["info", "-f", "{{.SystemTime}}"]).unwrap();
    app_stack(&p, WITH_VOLUME, &["data:/data"]);
    pier(&p).args(["up"]).run();
    let c = p.container("app");
    sh(&c, "echo saved > /data/f");
    pier(&p).args(["snapshot", "--name", "s"]).run();
    sh(&c, "echo changed > /data/f");
    pier(&p).args(["snapshot", "restore", "s"]).run();
    assert_eq!(sh(&c, "cat /data/f"), "saved");
    pier(&p).args(["down", "-v"]).run();
    poll(
        "the cleaner to go",
        std::time::Duration::from_secs(60),
        || cleaners(&p).is_empty().then_some(()),
    );
    let until = docker(&["info", "-f", "{{.SystemTime}}"]).unwrap();
    let events = docker(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "type=volume",
        "--filter",
        "event=mount",
        "--format",
        "{{.Actor.ID}} {{index .Actor.Attributes \"destination\"}}",
    ])
    .unwrap();
    let made: std::collections::BTreeSet<&str> = events
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, destination)| *destination == IMAGE_VOLUME)
        .map(|(volume, _)| volume)
        .collect();
    assert!(
        made.len() >= 3,
        "the service's and the helpers' volumes were seen: {events}"
    );
    let left: Vec<&&str> = made
        .iter()
        .filter(|v| docker(&["volume", "inspect", v]).is_ok())
        .collect();
    assert!(left.is_empty(), "volumes left behind: {left:?}");
}

/// Every kind of entry a volume holds, as `find` and `stat` see it: path, mode,
/// owner, links, type; for files their sha256 and mtime too.
fn listing(c: &str) -> String {
    sh(
        c,
        "cd / && find data scratch | sort | while IFS= read -r f; do \
           stat -c '%n %a %u:%g %h %F' \"$f\"; \
           if [ -f \"$f\" ] && [ ! -L \"$f\" ]; then stat -c '%Y' \"$f\"; sha256sum < \"$f\"; fi; \
         done",
    )
}

/// The test image without `tar`: a snapshot of a service of it goes through
/// the engine's archive API.
const NO_TAR: &str = "pier-test/busybox-notar:1";

fn ensure_image_without_tar() {
    if docker(&["image", "inspect", NO_TAR]).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Dockerfile",
        &format!("FROM {IMAGE}\nRUN rm /bin/tar\n"),
    );
    docker(&["build", "-q", "-t", NO_TAR, dir.path().to_str().unwrap()])
        .expect("building the image without tar");
}

/// (A set-uid file with a second hard link loses the bit through the engine's
/// archive API: the engine chowns the link, which clears it. Not pier's to fix.)
///
/// A local engine takes the fast way (a pipe shared with the image's tar); an
/// image without tar falls back to the engine's archive API. Both ways keep
/// owners, modes, set-uid bits, hard and symbolic links, empty directories,
/// hidden and long names, and mtimes, and each restores what the other took.
#[test]
fn both_ways_in_and_out_of_a_volume_keep_everything_and_restore_each_other() {
    ensure_test_image();
    ensure_image_without_tar();
    let p = Project::new("snap-ways");
    let use_image = |image: &str| {
        app_stack(&p, image, &["data:/data", "/scratch"]);
        pier(&p).args(["up"]).run();
    };
    use_image(IMAGE);
    let c = p.container("app");
    sh(
        &c,
        "cd /data && mkdir -p d/empty 'sp ace' && echo a > d/a && chown 1234:5678 d/a && chmod 4755 d/a \
         && echo b > d/b && ln d/b d/hard && ln -s d/a link && touch -d '2001-02-03 04:05:06' d/a && echo h > .hidden \
         && chmod 700 d/empty && echo s > 'sp ace/f' \
         && L=$(printf 'x%.0s' $(seq 1 80)) && mkdir $L && echo long > $L/$L && echo s > /scratch/s",
    );
    let before = listing(&c);
    assert!(
        before.contains("data/d/a 4755 1234:5678 1 regular file"),
        "{before}"
    );
    let fallback = "through the engine's archive API instead";

    let fast = pier(&p).args(["snapshot", "--name", "by-tar"]).run();
    assert!(!fast.stderr.contains(fallback), "{}", fast.stderr);
    use_image(NO_TAR);
    assert_eq!(listing(&c), before, "the recreate kept both volumes");
    let slow = pier(&p).args(["snapshot", "--name", "by-engine"]).run();
    assert!(slow.stderr.contains(fallback), "{}", slow.stderr);
    pier(&p)
        .env("PIER_SNAPSHOT_PIPE", "maybe")
        .args(["snapshot", "--name", "never"])
        .status(2)
        .stderr_contains("PIER_SNAPSHOT_PIPE=maybe is not a setting")
        .run();

    let mess = "rm -rf /data/d /data/.hidden && echo x > /data/new && echo t > /scratch/s";
    sh(&c, mess);
    // The image's sh runs busybox's own tar even without /bin/tar: the setting
    // sends this restore the engine's way.
    let restored = pier(&p)
        .env("PIER_SNAPSHOT_PIPE", "off")
        .args(["snapshot", "restore", "by-tar"])
        .run();
    assert!(!restored.stderr.contains(fallback), "{}", restored.stderr);
    assert_eq!(listing(&c), before, "tar's archive, restored by the engine");

    use_image(IMAGE);
    sh(&c, mess);
    let restored = pier(&p).args(["snapshot", "restore", "by-engine"]).run();
    assert!(!restored.stderr.contains(fallback), "{}", restored.stderr);
    assert_eq!(listing(&c), before, "the engine's archive, restored by tar");
    assert_eq!(sh(&c, "ls -a /data | grep -c pier-restore || true"), "0");
}

/// Ctrl-C while a snapshot is taken: either it completes and is listed, or it
/// is not listed and nothing of it is left (no staging directory, no pipe, no
/// helper container); the service runs again either way.
#[test]
fn ctrl_c_during_a_snapshot_lists_it_whole_or_not_at_all() {
    let p = project_with_file("snap-int");
    pier(&p).args(["up"]).run();
    let c = p.container("app");
    sh(
        &c,
        "i=0; while [ $i -lt 300 ]; do echo $i > /data/f$i; i=$((i+1)); done; \
         dd if=/dev/urandom of=/data/big bs=1M count=96 2>/dev/null",
    );
    let store = p.dir.path().join(".pier/snapshots");
    for (n, delay_ms) in [0u64, 100, 300, 700].into_iter().enumerate() {
        let name = format!("s{n}");
        let mut child = pier(&p)
            .args(["snapshot", "--name", &name])
            .spawn()
            .unwrap();
        poll(
            "the snapshot to stop app",
            std::time::Duration::from_secs(60),
            || (inspect(&c, "{{.State.Status}}") != "running").then_some(()),
        );
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let status = poll(
            "the snapshot to end",
            std::time::Duration::from_secs(120),
            || child.try_wait().unwrap(),
        );
        let listed = snapshots_json(&p)
            .iter()
            .any(|s| s["name"] == name.as_str());
        match status.code() {
            Some(0) => assert!(listed, "{name} completed but is not listed"),
            Some(130) => assert!(!listed, "{name} was interrupted but is listed"),
            other => panic!("exit {other:?} after {delay_ms} ms"),
        }
        let left: Vec<String> = std::fs::read_dir(&store)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|f| f.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "left in {}: {left:?}", store.display());
        let helpers = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=io.pier.helper={}", p.name),
        ])
        .unwrap();
        assert_eq!(helpers, "", "helper containers left");
        poll("app to run", std::time::Duration::from_secs(60), || {
            (inspect(&c, "{{.State.Status}}") == "running").then_some(())
        });
    }
}
