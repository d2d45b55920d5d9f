//! Volumes, published ports and built images against the real engine.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use pier::stack::model::{Build, Mount, MountKind, PortMapping, Protocol, Volume};
use support::*;

#[test]
fn named_volume_survives_down_and_up_and_down_v_removes_it() {
    let p = Project::new("volume");
    let mut store = service(&idle_after(""));
    store.volumes.push(Mount {
        kind: MountKind::Volume,
        source: Some("data".into()),
        target: "/data".into(),
        read_only: false,
    });
    let mut stack = p.stack(vec![("store", store)]);
    let volume = format!("{}_data", p.name);
    stack.volumes.insert(
        "data".into(),
        Volume {
            name: volume.clone(),
            ..Volume::default()
        },
    );
    up(&stack, &up_args(60)).expect("up");
    let c = p.container("store");
    docker(&["exec", &c, "sh", "-c", "echo persisted > /data/file"]).unwrap();

    let out = down(&p.name, &down_args(false)).expect("down");
    assert!(out.contains(&format!("volumes kept: {volume}")), "{out}");
    assert!(p.containers().is_empty());
    assert!(p.networks().is_empty());
    assert_eq!(p.volumes().len(), 1);

    up(&stack, &up_args(60)).expect("up again");
    assert_eq!(
        docker(&["exec", &c, "cat", "/data/file"]).unwrap(),
        "persisted"
    );

    let out = down(&p.name, &down_args(true)).expect("down -v");
    assert!(out.contains(&format!("removed volume {volume}")), "{out}");
    assert!(p.volumes().is_empty(), "volumes left: {:?}", p.volumes());
    assert!(p.containers().is_empty());
    assert!(p.networks().is_empty());
}

/// A free port on 127.0.0.1, found by binding port 0.
#[test]
fn published_port_binds_to_loopback_and_is_listed_as_a_url() {
    let p = Project::new("ports");
    let port = free_port();
    let mut web = service(&idle_after(
        "mkdir -p /www && echo hello-from-web > /www/index.html && httpd -p 80 -h /www;",
    ));
    web.ports.push(PortMapping {
        target: 80,
        published: Some(port),
        host_ip: "127.0.0.1".into(),
        protocol: Protocol::Tcp,
    });
    // No host port: the engine picks one, and the table shows the one it picked.
    let mut admin = service(&idle_after("httpd -p 81 -h /;"));
    admin.ports.push(PortMapping {
        target: 81,
        published: None,
        host_ip: "127.0.0.1".into(),
        protocol: Protocol::Tcp,
    });
    let stack = p.stack(vec![("web", web), ("admin", admin)]);
    let table = up(&stack, &up_args(60)).expect("up");
    let chosen = inspect(
        &p.container("admin"),
        "{{(index (index .NetworkSettings.Ports \"81/tcp\") 0).HostPort}}",
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("admin") && l.ends_with(&format!("http://127.0.0.1:{chosen}"))),
        "{table}"
    );
    assert!(
        table.contains(&format!("http://127.0.0.1:{port}")),
        "{table}"
    );
    let c = p.container("web");
    assert_eq!(
        inspect(
            &c,
            "{{range $k, $v := .HostConfig.PortBindings}}{{$k}} {{(index $v 0).HostIp}}:{{(index $v 0).HostPort}}{{end}}"
        ),
        format!("80/tcp 127.0.0.1:{port}")
    );
    // The page over real HTTP from the host; httpd may need a moment after start.
    let body = poll(
        "the page on the published port",
        std::time::Duration::from_secs(30),
        || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
            s.write_all(b"GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n")
                .ok()?;
            let mut text = String::new();
            s.read_to_string(&mut text).ok()?;
            text.contains("hello-from-web").then_some(text)
        },
    );
    assert!(body.starts_with("HTTP/1."), "{body}");
}

#[test]
fn build_service_is_built_from_its_dockerfile_honouring_dockerignore() {
    let p = Project::new("build");
    let ctx: PathBuf = p.dir.path().join("app");
    write(
        &ctx,
        "Dockerfile",
        &format!(
            "FROM {IMAGE}\nARG GREETING\nCOPY . /app/\nRUN echo \"$GREETING\" > /app/greeting\nCMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n"
        ),
    );
    write(&ctx, ".dockerignore", "secret.txt\nlogs\n");
    write(&ctx, "hello.txt", "hello-from-build\n");
    write(&ctx, "secret.txt", "do-not-ship\n");
    write(&ctx, "logs/app.log", "noise\n");
    let mut app = service("");
    app.image = None;
    app.command = None;
    app.build = Some(Build {
        context: ctx.clone(),
        dockerfile: None,
        args: [("GREETING".to_string(), "hi-arg".to_string())].into(),
        target: None,
    });
    let stack = p.stack(vec![("app", app)]);
    let image = format!("{}-app", p.name);
    /// Removes the tag and every image id it pointed to during the test (rebuilds
    /// leave the earlier ones untagged).
    struct RemoveImages(String, std::cell::RefCell<Vec<String>>);
    impl RemoveImages {
        fn remember(&self) {
            if let Ok(id) = docker(&["image", "inspect", "-f", "{{.Id}}", &self.0]) {
                self.1.borrow_mut().push(id);
            }
        }
    }
    impl Drop for RemoveImages {
        fn drop(&mut self) {
            self.remember();
            let _ = docker(&["rmi", "-f", &self.0]);
            for id in self.1.borrow().iter() {
                let _ = docker(&["rmi", "-f", id]);
            }
        }
    }
    let images = RemoveImages(image.clone(), Default::default());

    let mut dry = up_args(60);
    dry.dry_run = true;
    let plan = up(&stack, &dry).unwrap();
    assert!(
        plan.contains(&format!("build image {image} for app (image not present)")),
        "{plan}"
    );
    up(&stack, &up_args(60)).expect("up builds and runs");
    let c = p.container("app");
    assert_eq!(inspect(&c, "{{.Config.Image}}"), image);
    assert_eq!(
        docker(&["exec", &c, "cat", "/app/hello.txt"]).unwrap(),
        "hello-from-build"
    );
    assert_eq!(
        docker(&["exec", &c, "cat", "/app/greeting"]).unwrap(),
        "hi-arg"
    );
    assert!(
        docker(&["exec", &c, "test", "-e", "/app/secret.txt"]).is_err(),
        "secret.txt must be ignored"
    );
    assert!(
        docker(&["exec", &c, "test", "-e", "/app/logs"]).is_err(),
        "logs/ must be ignored"
    );

    // The image exists now: a second up neither builds nor recreates.
    assert!(up(&stack, &dry).unwrap().contains("nothing to do"));

    images.remember();
    // `up --build` rebuilds and recreates, so the change is in the running container.
    write(&ctx, "hello.txt", "hello-again\n");
    let mut rebuild = up_args(60);
    rebuild.build = true;
    up(&stack, &rebuild).expect("up --build");
    assert_eq!(
        docker(&["exec", &c, "cat", "/app/hello.txt"]).unwrap(),
        "hello-again"
    );

    images.remember();
    // An image rebuilt outside pier: the next up sees the new image id and recreates.
    write(&ctx, "hello.txt", "built-by-docker\n");
    docker(&[
        "build",
        "-q",
        "--build-arg",
        "GREETING=x",
        "-t",
        &image,
        ctx.to_str().unwrap(),
    ])
    .expect("docker build");
    let plan = up(&stack, &dry).unwrap();
    assert!(
        plan.contains(&format!("recreate container {c} (image changed)")),
        "{plan}"
    );
    up(&stack, &up_args(60)).expect("up after the outside rebuild");
    assert_eq!(
        docker(&["exec", &c, "cat", "/app/hello.txt"]).unwrap(),
        "built-by-docker"
    );
}

#[test]
fn an_image_that_cannot_be_pulled_fails_naming_the_operation_and_the_image() {
    let p = Project::new("pull");
    let mut app = service("true");
    // Exists in no registry (and none is reachable here): the pull must fail.
    app.image = Some(format!("pier-test/no-such-image-{}:0", std::process::id()));
    let stack = p.stack(vec![("app", app.clone())]);
    let mut args = up_args(60);
    args.pull = pier::cli::PullPolicy::Missing;
    let err = up(&stack, &args).expect_err("pull must fail");
    assert_eq!(err.exit_code(), 1);
    match &err {
        pier::Error::Engine {
            op,
            resource,
            message,
        } => {
            assert_eq!(*op, pier::error::EngineOp::PullImage);
            assert_eq!(Some(resource), app.image.as_ref());
            assert!(!message.is_empty());
            assert!(!message.contains("status code"), "{message}");
        }
        other => panic!("expected an engine error, got {other:?}"),
    }
    let text = pier::render_error(&err);
    eprintln!("{text}");
    assert!(
        text.starts_with(&format!(
            "error: pulling image {}: ",
            app.image.as_ref().unwrap()
        )),
        "{text}"
    );
    assert!(p.containers().is_empty(), "no container without its image");
    // The network was being created when the pull failed: up let that finish, so
    // down finds it and nothing is left behind.
    down(&p.name, &down_args(false)).expect("down");
    assert!(p.networks().is_empty(), "networks left: {:?}", p.networks());
}

/// A port another program holds is found before anything is created (the engine
/// would only say so when starting the container, after the network exists).
#[test]
fn a_host_port_in_use_is_found_before_anything_is_created() {
    let p = Project::new("portbusy");
    // Held for the whole test, so the engine cannot bind it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut web = service(&idle_after(""));
    web.ports.push(PortMapping {
        target: 80,
        published: Some(port),
        host_ip: "127.0.0.1".into(),
        protocol: Protocol::Tcp,
    });
    let stack = p.stack(vec![("web", web)]);
    let err = up(&stack, &up_args(60)).expect_err("the port is taken");
    assert_eq!(err.exit_code(), 1);
    let text = pier::render_error(&err);
    assert!(
        text.starts_with(&format!(
            "error: host port 127.0.0.1:{port}/tcp of service `web` is already in use by process {} (",
            std::process::id()
        )),
        "{text}"
    );
    assert!(text.contains("nothing was created"), "{text}");
    assert!(p.containers().is_empty() && p.networks().is_empty());
    drop(listener);
}

#[test]
fn mem_limit_reaches_the_engine() {
    let p = Project::new("memlimit");
    let mut web = service(&idle_after(""));
    web.mem_limit = Some(64 << 20);
    let stack = p.stack(vec![("web", web)]);
    up(&stack, &up_args(60)).expect("up");
    assert_eq!(
        inspect(&p.container("web"), "{{.HostConfig.Memory}}"),
        (64u64 << 20).to_string()
    );
    down(&p.name, &down_args(false)).expect("down");
}

/// `down` cannot remove a network another project's container was connected to;
/// the error names that container and says what to do, and the rest is removed.
#[test]
fn down_names_the_foreign_container_that_holds_the_network() {
    struct Foreign(String);
    impl Drop for Foreign {
        fn drop(&mut self) {
            let _ = docker(&["rm", "-f", "-v", &self.0]);
        }
    }
    let p = Project::new("heldnet");
    let stack = p.stack(vec![("app", service(&idle_after("")))]);
    up(&stack, &up_args(60)).expect("up");
    let network = format!("{}_default", p.name);
    let foreign = Foreign(format!("{}-foreign", p.name));
    docker(&[
        "run",
        "-d",
        "--name",
        &foreign.0,
        "--network",
        &network,
        IMAGE,
        "sleep",
        "300",
    ])
    .unwrap();

    let err = down(&p.name, &down_args(false)).expect_err("the network is held");
    assert_eq!(err.exit_code(), 1);
    let text = pier::render_error(&err);
    assert!(
        text.contains(&format!("network {network} is still used by {}", foreign.0)),
        "{text}"
    );
    assert!(text.contains("docker network disconnect"), "{text}");
    assert!(
        p.containers().is_empty(),
        "the project's containers are gone"
    );

    drop(foreign);
    down(&p.name, &down_args(false)).expect("down once the network is free");
    assert!(p.networks().is_empty());
}
