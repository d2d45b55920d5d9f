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
    assert_ne!(inspect(&c, "{{.Id}}"), before, "the container was recreated");
    assert_eq!(sh(&c, "cat /data/file"), "kept");
    let volume = inspect(&c, "{{range .Mounts}}{{.Name}}{{end}}");
    drop(p);
    // Carried over by name, the volume is no longer removed with its container.
    let _ = docker(&["volume", "rm", "-f", &volume]);
}
