//! Service keys that are one field of the engine's create call, checked on the
//! container the engine made (`docker inspect`); `scale`; `post_start`; and a
//! one-shot service that runs again on every `pier up` with its dependent
//! waiting for it. Real engine, the busybox test image, the real binary.
//!
//! Run under the shared lock: `flock /tmp/pier-engine-tests.lock cargo test --locked --test engine_keys`.

mod support;

use support::*;

/// A command that idles until SIGTERM ends it at once (see `support::idle_after`).
const IDLE: &str = r#"["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]"#;

/// `pier up` in the project's directory with `yaml` as its pier.yaml.
fn up_file(p: &Project, yaml: &str) -> Output {
    write(p.dir.path(), "pier.yaml", yaml);
    Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "up", "--pull", "never"])
        .run()
}

fn running_containers(p: &Project) -> Vec<String> {
    let mut names: Vec<String> = docker(&["ps", "--filter", &p.label(), "--format", "{{.Names}}"])
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    names
}

#[test]
fn engine_keys_reach_the_container() {
    let p = Project::new("keys");
    std::fs::write(p.dir.path().join("app.conf"), "from-a-file\n").unwrap();
    let yaml = format!(
        r#"
name: {name}
services:
  app:
    image: {IMAGE}
    command: {IDLE}
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    ulimits:
      nofile: {{soft: 1024, hard: 2048}}
    sysctls: {{net.core.somaxconn: "1024"}}
    shm_size: 32m
    init: true
    deploy:
      resources:
        limits: {{cpus: "0.5", memory: 64M, pids: 100}}
        reservations: {{memory: 32M}}
    dns: [10.0.0.53]
    group_add: ["1234"]
    security_opt: ["no-new-privileges:true"]
    oom_score_adj: 100
    devices: ["/dev/null:/dev/xnull:rwm"]
    configs:
      - app_conf
      - source: inline
        target: /etc/inline.conf
    post_start:
      - command: ["sh", "-c", "echo \"$$GREETING from $$(pwd) as $$(id -u)\" > /tmp/post-start"]
        working_dir: /etc
        environment: {{GREETING: hello}}
  # Texts cannot be written into a read-only root: its own service.
  ro:
    image: {IMAGE}
    command: {IDLE}
    read_only: true
    tmpfs: [/tmp]
configs:
  app_conf: {{file: ./app.conf}}
  inline: {{content: "from content"}}
"#,
        name = p.name
    );
    let out = up_file(&p, &yaml);
    let c = p.container("app");
    let host = |field: &str| inspect(&c, &format!("{{{{json .HostConfig.{field}}}}}"));
    assert_eq!(host("CapAdd"), r#"["NET_ADMIN"]"#, "{}", out.stderr);
    assert_eq!(host("CapDrop"), r#"["MKNOD"]"#);
    assert_eq!(
        host("Ulimits"),
        r#"[{"Name":"nofile","Hard":2048,"Soft":1024}]"#
    );
    assert_eq!(host("Sysctls"), r#"{"net.core.somaxconn":"1024"}"#);
    assert_eq!(host("ShmSize"), (32 << 20).to_string());
    assert_eq!(host("Init"), "true");
    assert_eq!(host("NanoCpus"), "500000000");
    assert_eq!(host("Memory"), (64 << 20).to_string());
    assert_eq!(host("MemoryReservation"), (32 << 20).to_string());
    assert_eq!(host("PidsLimit"), "100");
    assert_eq!(
        inspect(&p.container("ro"), "{{json .HostConfig.ReadonlyRootfs}}"),
        "true"
    );
    assert_eq!(host("Dns"), r#"["10.0.0.53"]"#);
    assert_eq!(host("GroupAdd"), r#"["1234"]"#);
    assert_eq!(host("SecurityOpt"), r#"["no-new-privileges:true"]"#);
    assert_eq!(host("OomScoreAdj"), "100");
    assert_eq!(
        host("Devices"),
        r#"[{"PathOnHost":"/dev/null","PathInContainer":"/dev/xnull","CgroupPermissions":"rwm"}]"#
    );
    // The limits are in force inside the container, not just recorded.
    let exec = |script: &str| docker(&["exec", &c, "sh", "-c", script]).unwrap();
    // The container's own process (PID 1) runs with them; an exec'd shell may be
    // given the engine's defaults instead (it did once in a dozen runs).
    let limits = exec("grep 'Max open files' /proc/1/limits");
    assert_eq!(
        limits.split_whitespace().collect::<Vec<_>>()[3..5],
        ["1024", "2048"],
        "{limits}"
    );
    assert_eq!(exec("cat /proc/sys/net/core/somaxconn"), "1024");
    // init: PID 1 is docker-init, the command runs under it.
    assert_ne!(exec("cat /proc/1/comm"), "sh");
    // Configs: a file bind-mounted at /<name>, a text written at its target.
    assert_eq!(exec("cat /app_conf"), "from-a-file");
    assert_eq!(exec("cat /etc/inline.conf"), "from content");
    // post_start ran in the container, with its working_dir and environment.
    assert_eq!(exec("cat /tmp/post-start"), "hello from /etc as 0");

    // A second `up` changes nothing; a changed key recreates, naming it.
    let again = Pier::in_dir(p.dir.path())
        .args(["up", "--dry-run"])
        .run()
        .stdout;
    assert!(again.contains("nothing to do"), "{again}");
    write(
        p.dir.path(),
        "pier.yaml",
        &yaml.replace("shm_size: 32m", "shm_size: 48m"),
    );
    Pier::in_dir(p.dir.path())
        .args(["up", "--dry-run"])
        .stdout_contains(format!("recreate container {c} (config changed: shm_size)"))
        .run();
}

#[test]
fn a_failing_post_start_fails_up() {
    let p = Project::new("hookfail");
    let yaml = format!(
        r#"
name: {name}
services:
  app:
    image: {IMAGE}
    command: {IDLE}
    post_start:
      - command: ["sh", "-c", "echo no-such-thing >&2; exit 3"]
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "up", "--pull", "never"])
        .status(1)
        .stderr_contains(
            "post_start hook `sh -c echo no-such-thing >&2; exit 3` exited with code 3",
        )
        .stderr_contains("no-such-thing")
        .run();
}

#[test]
fn scale_runs_n_containers_and_scaling_down_removes_the_rest() {
    let p = Project::new("scale");
    let yaml = |n: u32| {
        format!(
            r#"
name: {name}
services:
  worker:
    image: {IMAGE}
    command: {IDLE}
    scale: {n}
"#,
            name = p.name
        )
    };
    up_file(&p, &yaml(3));
    let three: Vec<String> = (1..=3).map(|i| format!("{}-worker-{i}", p.name)).collect();
    assert_eq!(running_containers(&p), three);
    let out = up_file(&p, &yaml(1));
    assert!(out.stdout.contains("SERVICE") || !out.stderr.is_empty());
    assert_eq!(running_containers(&p), [format!("{}-worker-1", p.name)]);
    assert_eq!(
        p.containers().len(),
        1,
        "scaled-down containers are removed"
    );
    Pier::in_dir(p.dir.path())
        .args(["up", "--dry-run"])
        .stdout_contains("nothing to do")
        .run();
}

#[test]
fn a_one_shot_runs_again_on_every_up_and_its_dependent_waits_for_it() {
    let p = Project::new("oneshot");
    // init appends a line; check (a one-shot too) records how many lines it saw
    // when it ran, so it must run after init each time; app waits for check.
    let yaml = format!(
        r#"
name: {name}
services:
  init:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 1; echo run >> /data/log"]
    volumes: [data:/data]
  check:
    image: {IMAGE}
    command: ["sh", "-c", "wc -l < /data/log >> /data/seen"]
    volumes: [data:/data]
    depends_on:
      init: {{condition: service_completed_successfully}}
  app:
    image: {IMAGE}
    command: {IDLE}
    volumes: [data:/data]
    depends_on:
      check: {{condition: service_completed_successfully}}
volumes:
  data:
"#,
        name = p.name
    );
    up_file(&p, &yaml);
    let plan = Pier::in_dir(p.dir.path())
        .args(["up", "--dry-run"])
        .run()
        .stdout;
    assert!(
        plan.contains(&format!(
            "start container {}-init-1 (one-shot: runs on every up)",
            p.name
        )),
        "{plan}"
    );
    assert!(
        plan.contains("wait for init: service_completed_successfully (needed by check)"),
        "{plan}"
    );
    up_file(&p, &yaml);
    let read = |file: &str| {
        docker(&["exec", &p.container("app"), "cat", &format!("/data/{file}")]).unwrap()
    };
    assert_eq!(read("log"), "run\nrun", "init ran on each up");
    assert_eq!(
        read("seen").split_whitespace().collect::<Vec<_>>(),
        ["1", "2"],
        "check ran after init each time"
    );
}

#[test]
fn dry_run_json_carries_the_keys_in_the_spec() {
    let p = Project::new("keysjson");
    let yaml = format!(
        r#"
name: {name}
services:
  app:
    image: {IMAGE}
    cap_add: [NET_ADMIN]
    ulimits: {{nofile: 1024}}
    init: true
    shm_size: 64m
    sysctls: {{net.core.somaxconn: "512"}}
    deploy: {{resources: {{limits: {{cpus: "0.25", pids: 10}}}}}}
    post_start:
      - command: ["true"]
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let out = Pier::in_dir(p.dir.path())
        .args(["up", "--dry-run", "--json"])
        .run();
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    let create = steps
        .iter()
        .find(|s| s["action"]["action"] == "create_container")
        .expect("a create step");
    let spec = &create["action"]["spec"];
    assert_eq!(spec["cap_add"], serde_json::json!(["NET_ADMIN"]));
    assert_eq!(
        spec["ulimits"],
        serde_json::json!([{"name": "nofile", "soft": 1024, "hard": 1024}])
    );
    assert_eq!(spec["init"], true);
    assert_eq!(spec["shm_size"], 64 << 20);
    assert_eq!(spec["sysctls"]["net.core.somaxconn"], "512");
    assert_eq!(spec["nano_cpus"], 250_000_000);
    assert_eq!(spec["pids_limit"], 10);
    assert_eq!(
        spec["post_start"][0]["command"],
        serde_json::json!(["true"])
    );
    let start = steps
        .iter()
        .find(|s| s["action"]["action"] == "start_container")
        .expect("a start step");
    assert_eq!(
        start["action"]["post_start"][0]["command"],
        serde_json::json!(["true"])
    );
    assert!(p.containers().is_empty(), "a dry run creates nothing");
}

#[test]
fn pre_stop_runs_before_scaling_down_and_down() {
    let p = Project::new("prestop");
    let yaml = |n: u32| {
        format!(
            r#"
name: {name}
services:
  worker:
    image: {IMAGE}
    command: {IDLE}
    scale: {n}
    volumes: [data:/data]
    pre_stop:
      - command: ["sh", "-c", "echo \"$$WHO stopping $$(hostname)\" >> /data/stops"]
        environment: {{WHO: hook}}
volumes:
  data:
"#,
            name = p.name
        )
    };
    up_file(&p, &yaml(2));
    let second = inspect(&format!("{}-worker-2", p.name), "{{.Config.Hostname}}");
    let plan = {
        write(p.dir.path(), "pier.yaml", &yaml(1));
        Pier::in_dir(p.dir.path())
            .args(["up", "--dry-run", "--json"])
            .run()
            .stdout
    };
    assert!(plan.contains("\"pre_stop\""), "{plan}");
    up_file(&p, &yaml(1));
    let stops = docker(&["exec", &p.container("worker"), "cat", "/data/stops"]).unwrap();
    assert_eq!(stops, format!("hook stopping {second}"));
    let first = inspect(&p.container("worker"), "{{.Config.Hostname}}");
    Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "down"])
        .run();
    // The volume outlives `down`; read it with a container of our own.
    let volume = format!("{}_data", p.name);
    let stops = docker(&[
        "run",
        "--rm",
        "--label",
        &format!("io.pier.project={}", p.name),
        "-v",
        &format!("{volume}:/data"),
        IMAGE,
        "cat",
        "/data/stops",
    ])
    .unwrap();
    assert_eq!(
        stops,
        format!("hook stopping {second}\nhook stopping {first}")
    );
}

#[test]
fn volumes_from_and_links_reach_the_container() {
    let p = Project::new("volfrom");
    // `data` has a named and an anonymous volume; `app` takes both, read-only,
    // and reaches `data` as `db` too; `rw` takes them as they are.
    let yaml = |mode: &str| {
        format!(
            r#"
name: {name}
services:
  data:
    image: {IMAGE}
    command: {IDLE}
    volumes: ["store:/store", /anon]
  app:
    image: {IMAGE}
    command: {IDLE}
    volumes_from: ["data{mode}"]
    links: ["data:db"]
  rw:
    image: {IMAGE}
    command: {IDLE}
    volumes_from: [data]
volumes:
  store:
"#,
            name = p.name
        )
    };
    let out = up_file(&p, &yaml(":ro"));
    let (data, app, rw) = (p.container("data"), p.container("app"), p.container("rw"));
    assert_eq!(
        inspect(&app, "{{json .HostConfig.VolumesFrom}}"),
        format!(r#"["{data}:ro"]"#),
        "{}",
        out.stderr
    );
    let exec = |c: &str, script: &str| docker(&["exec", c, "sh", "-c", script]);
    exec(&data, "echo named > /store/a && echo anonymous > /anon/b").unwrap();
    assert_eq!(
        exec(&app, "cat /store/a /anon/b").unwrap(),
        "named\nanonymous"
    );
    // `:ro` is read-only here, while `rw` (no mode) writes as data can.
    assert!(
        exec(&app, "touch /anon/x").is_err(),
        "app's copy is read-only"
    );
    exec(&rw, "echo from-rw > /anon/c").unwrap();
    assert_eq!(exec(&data, "cat /anon/c").unwrap(), "from-rw");

    // The link is a name on the project network for data's container.
    let network = format!("{}_default", p.name);
    assert_eq!(
        inspect(
            &app,
            &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Links}}}}")
        ),
        format!(r#"["{data}:db"]"#)
    );
    let data_ip = inspect(
        &data,
        &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"),
    );
    let ping = exec(&app, "ping -c 1 -W 5 db").unwrap();
    assert!(ping.contains(&format!("({data_ip})")), "{ping}");
    // Without the link, `db` is nobody's name.
    assert!(exec(&rw, "ping -c 1 -W 5 db").is_err());

    // Unchanged, nothing to do; a changed volumes_from recreates app, naming it.
    Pier::in_dir(p.dir.path())
        .args(["up", "--dry-run"])
        .stdout_contains("nothing to do")
        .run();
    write(p.dir.path(), "pier.yaml", &yaml(""));
    Pier::in_dir(p.dir.path())
        .args(["up", "--dry-run"])
        .stdout_contains(format!(
            "recreate container {app} (config changed: volumes_from)"
        ))
        .stdout_lacks(format!("recreate container {data}"))
        .run();
    up_file(&p, &yaml(""));
    exec(&app, "echo now-rw > /anon/x").unwrap();
    assert_eq!(exec(&data, "cat /anon/x").unwrap(), "now-rw");
    // And back: data's anonymous volume is not app's to carry over as its own
    // (read-write) mount; `volumes_from` mounts it again, read-only.
    up_file(&p, &yaml(":ro"));
    assert!(exec(&app, "touch /anon/y").is_err(), "read-only again");
    assert_eq!(exec(&app, "cat /anon/x").unwrap(), "now-rw");
    let mounts = inspect(&app, "{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}");
    let mut mounts: Vec<&str> = mounts.split_whitespace().collect();
    mounts.sort();
    assert_eq!(mounts, ["/anon=false", "/store=false"]);
}
