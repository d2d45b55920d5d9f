//! The built-in stacks started for real, the way a user starts them:
//! `pier init STACK DIR && cd DIR && pier up`, through the real binary, on the
//! real engine, with their pages fetched over HTTP (curl).
//!
//! No registry can be reached here, so each stack is pointed at the offline
//! stand-ins of the official images through its image parameters
//! (`--set php_image=pier-standin/php`, …); everything else — the rendered stack
//! file, the skeleton, the generated secrets in `.env` — is exactly what
//! `pier init` writes. The stand-ins are built (or reused) by
//! `scripts/build-standins.sh`; see tests/README.md for what they are.
//!
//! Each test prints how long it took (scripts/test.sh shows it), uses its own
//! project name and removes its containers, networks, volumes and built images
//! when it ends, also when it fails.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;
use std::time::{Duration, Instant};

use support::{Pier, docker, free_port, instant, poll};

/// A running `pier` stack made by `pier init`, removed on drop.
struct Site {
    /// The project name: the directory's name, as `pier up` derives it.
    name: String,
    dir: PathBuf,
    /// Holds the project directory (and curl's cookie jars).
    _parent: tempfile::TempDir,
    started: Instant,
    label: &'static str,
    /// With the shared router on (names and HTTPS): its data directory, made
    /// under `_parent`; the router is removed with the site.
    router: Option<PathBuf>,
    /// The built-in stack it was made from.
    stack: String,
}

impl Site {
    /// `pier init STACK pier-e2e-<tag>-<pid> --set …`: `tag` names the test
    /// (its project and the time it prints), unique among the tests.
    fn init(stack: &str, tag: &'static str, sets: &[String]) -> Site {
        ensure_standins();
        let parent = tempfile::tempdir().unwrap();
        let name = format!("pier-e2e-{tag}-{}", std::process::id());
        let mut args = vec!["init".to_string(), stack.to_string(), name.clone()];
        for set in sets {
            args.push("--set".into());
            args.push(set.clone());
        }
        let started = Instant::now();
        Pier::in_dir(parent.path()).args(&args).run();
        Site {
            dir: parent.path().join(&name),
            name,
            _parent: parent,
            started,
            label: tag,
            router: None,
            stack: stack.to_string(),
        }
    }

    /// Turn the router on for this site's `pier` runs (the Caddy stand-in).
    fn with_router(mut self) -> Site {
        let data = self._parent.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let _ = docker(&["rm", "-f", "-v", "pier-router"]);
        self.router = Some(data);
        self
    }

    /// `Pier` in the project directory, with the router's settings when on.
    fn command(&self) -> Pier {
        let pier = Pier::in_dir(&self.dir);
        match &self.router {
            Some(data) => pier
                .env("PIER_ROUTER", "on")
                .env("PIER_ROUTER_IMAGE", "pier-standin/caddy:2")
                .env("XDG_DATA_HOME", data),
            None => pier,
        }
    }

    /// The router's HTTPS URL of `host` and its CA root (with the router on).
    fn https(&self, host: &str) -> (String, String) {
        let status = self.pier(&["router", "status", "--json"]);
        let status: serde_json::Value = serde_json::from_str(&status).unwrap();
        let url = match status["https_port"].as_u64().expect("the router's port") {
            443 => format!("https://{host}"),
            port => format!("https://{host}:{port}"),
        };
        (url, status["root_cert"].as_str().unwrap().to_string())
    }

    /// `pier ARGS` in the project directory; its stdout, panics on failure.
    fn pier(&self, args: &[&str]) -> String {
        self.command()
            .args(["--progress", "plain"])
            .args(args)
            .run()
            .stdout
    }

    /// `pier up`, with room to wait: pier counts the wait from the first
    /// service it waits for, and a first `up` also builds images (pip
    /// install, apt) meanwhile, slowly when the tests run side by side.
    fn up(&self) -> String {
        self.pier(&["up", "--wait-timeout", "600"])
    }

    fn env(&self) -> BTreeMap<String, String> {
        std::fs::read_to_string(self.dir.join(".env"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }

    fn jar(&self, name: &str) -> String {
        self._parent
            .path()
            .join(format!("{name}.cookies"))
            .to_string_lossy()
            .into_owned()
    }

    fn done(&self) {
        let secs = self.started.elapsed().as_secs_f64();
        // Shown under --nocapture (scripts/test.sh), and with a failing test's output.
        println!("e2e {}: {secs:.1} s", self.label);
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        // pier's own down first; then anything left with the project's label,
        // and the images `pier up` built for the project's `build:` services.
        let _ = self
            .command()
            .args(["--progress", "quiet", "down", "-v", "--timeout", "2"])
            .output();
        if self.router.is_some() {
            let _ = docker(&["rm", "-f", "-v", "pier-router"]);
            let _ = docker(&["network", "rm", "pier-router"]);
        }
        let label = format!("label=io.pier.project={}", self.name);
        for (kind, rm) in [
            (&["ps", "-aq"][..], &["rm", "-f", "-v"][..]),
            (&["network", "ls", "-q"][..], &["network", "rm"][..]),
            (&["volume", "ls", "-q"][..], &["volume", "rm", "-f"][..]),
        ] {
            let ids = docker(&[kind, &["--filter", &label]].concat()).unwrap_or_default();
            for id in ids.lines().filter(|l| !l.is_empty()) {
                let _ = docker(&[rm, &[id]].concat());
            }
        }
        for service in ["web", "migrate"] {
            let _ = docker(&["rmi", "-f", &format!("{}-{service}", self.name)]);
        }
    }
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out: Output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Build the stand-ins once per run, or reuse them (the script skips images
/// that exist, in under a second).
fn ensure_standins() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-standins.sh");
        run_ok(&mut Command::new(script), "scripts/build-standins.sh");
    });
}

/// curl ARGS: (HTTP status, body). Connection failures are status 0.
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("the end-to-end tests need curl (apt-get install curl)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// GET `url` until it answers 200 (a service that has just started may not
/// listen yet); the body.
fn get(url: &str) -> String {
    get_with(url, &[])
}

/// `get` with more curl arguments (`--cacert ROOT`).
fn get_with(url: &str, args: &[&str]) -> String {
    let mut last = (0, String::new());
    poll(&format!("200 from {url}"), Duration::from_secs(90), || {
        last = curl(&[args, &[url]].concat());
        (last.0 == 200).then(|| last.1.clone())
    })
}

/// The value of the `name` form field in an HTML page.
fn form_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in the page:\n{page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

fn assert_contains(haystack: &str, needle: &str, what: &str) {
    assert!(
        haystack.contains(needle),
        "{what}: expected {needle:?} in:\n{haystack}"
    );
}

fn standin_sets(pairs: &[(&str, &str)], ports: &[(&str, u16)]) -> Vec<String> {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(ports.iter().map(|(k, p)| format!("{k}={p}")))
        .collect()
}

// ------------------------------------------------------------------- lamp

/// Written by the test into the bind-mounted document root, as a user would:
/// a notes table written and read with mysqli.
const NOTES_PHP: &str = r#"<?php
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$db = new mysqli(getenv('DB_HOST'), getenv('DB_USER'), getenv('DB_PASSWORD'), getenv('DB_NAME'), (int) getenv('DB_PORT'));
$db->query('CREATE TABLE IF NOT EXISTS notes (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(100) NOT NULL)');
if (isset($_GET['add'])) {
    $insert = $db->prepare('INSERT INTO notes (body) VALUES (?)');
    $insert->bind_param('s', $_GET['add']);
    $insert->execute();
}
$bodies = [];
foreach ($db->query('SELECT body FROM notes ORDER BY id') as $row) {
    $bodies[] = $row['body'];
}
echo 'notes: [', implode(',', $bodies), "]\n";
"#;

/// phpMyAdmin's cookie login: fetch the form (token, session), post it.
fn phpmyadmin_login(site: &Site, url: &str, user: &str, password: &str, jar: &str) -> String {
    phpmyadmin_login_with(site, url, user, password, jar, &[])
}

/// `phpmyadmin_login` with more curl arguments (`--cacert ROOT`).
fn phpmyadmin_login_with(
    site: &Site,
    url: &str,
    user: &str,
    password: &str,
    jar: &str,
    args: &[&str],
) -> String {
    let (_, form) = curl(&[args, &["-c", jar, "-b", jar, &format!("{url}/")]].concat());
    let token = form_value(&form, "token");
    let session = form_value(&form, "set_session");
    let post = [
        "-L",
        "-c",
        jar,
        "-b",
        jar,
        &format!("{url}/index.php?route=/"),
        "--data-urlencode",
        &format!("pma_username={user}"),
        "--data-urlencode",
        &format!("pma_password={password}"),
        "--data-urlencode",
        "server=1",
        "--data-urlencode",
        "route=/",
        "--data-urlencode",
        &format!("token={token}"),
        "--data-urlencode",
        &format!("set_session={session}"),
    ];
    let (status, page) = curl(&[args, &post[..]].concat());
    assert_eq!(status, 200, "{} phpMyAdmin login POST:\n{page}", site.name);
    page
}

#[test]
fn e2e_lamp_page_phpmyadmin_and_data_across_restarts() {
    let (web, pma) = (free_port(), free_port());
    let site = Site::init(
        "lamp",
        "lamp",
        &standin_sets(
            &[
                ("php_image", "pier-standin/php"),
                ("mariadb_image", "pier-standin/mariadb"),
                ("phpmyadmin_image", "pier-standin/phpmyadmin"),
            ],
            &[("web_port", web), ("phpmyadmin_port", pma)],
        ),
    )
    .with_router();
    let env = site.env();
    assert_eq!(env["DB_PASSWORD"].len(), 32, "a generated secret");
    assert_ne!(env["DB_PASSWORD"], env["DB_ROOT_PASSWORD"]);

    let table = site.up();
    assert_contains(&table, &format!("http://127.0.0.1:{web}"), "up's summary");
    assert_contains(&table, &format!("http://127.0.0.1:{pma}"), "up's summary");

    // The skeleton's page, over HTTP, on the live database.
    let web_url = format!("http://127.0.0.1:{web}");
    let page = get(&format!("{web_url}/"));
    assert_contains(
        &page,
        "Connected to database &quot;app&quot; on db:3306 as app. Server version: 10.",
        "the index page",
    );
    assert_contains(&page, "MariaDB", "the index page names the server");
    assert_contains(&page, "mysqli loaded", "the Dockerfile installed mysqli");

    // The same page by name, over HTTPS through the router, with its local CA;
    // up's table names it first.
    let (named, root) = site.https(&format!("{}.localhost", site.name));
    assert_contains(&table, &format!("{named} "), "up's summary");
    let by_name = get_with(&format!("{named}/"), &["--cacert", &root]);
    assert_contains(
        &by_name,
        "Connected to database &quot;app&quot;",
        "the page by name",
    );

    // `pier info` shows the URLs and the login (the password masked unless
    // asked for).
    let info = site.pier(&["info"]);
    for needle in [
        &format!("http://127.0.0.1:{web}"),
        &format!("http://127.0.0.1:{pma}"),
    ] {
        assert_contains(&info, needle, "pier info");
    }
    assert!(
        info.lines()
            .any(|l| l.starts_with("DB_USER") && l.ends_with(" app")),
        "pier info shows the database user:\n{info}"
    );
    assert!(!info.contains(&env["DB_PASSWORD"]), "masked:\n{info}");
    let shown = site.pier(&["info", "--show-secrets"]);
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("DB_PASSWORD") && l.ends_with(&env["DB_PASSWORD"])),
        "pier info --show-secrets shows the password:\n{shown}"
    );

    // phpMyAdmin, preconfigured for `db`, takes those credentials (and
    // refuses wrong ones).
    let pma_url = format!("http://127.0.0.1:{pma}");
    get(&format!("{pma_url}/"));
    let refused = phpmyadmin_login(&site, &pma_url, "app", "wrong", &site.jar("pma-bad"));
    assert_contains(
        &refused,
        "name=\"pma_username\"",
        "a wrong password is refused",
    );
    let logged_in = phpmyadmin_login(
        &site,
        &pma_url,
        "app",
        &env["DB_PASSWORD"],
        &site.jar("pma"),
    );
    assert!(
        !logged_in.contains("name=\"pma_username\""),
        "login with the generated DB_PASSWORD failed:\n{logged_in}"
    );
    assert_contains(&logged_in, "db:3306", "phpMyAdmin shows the stack's server");

    // phpMyAdmin by name, over HTTPS: the login works there too.
    let (pma_named, _) = site.https(&format!("phpmyadmin.{}.localhost", site.name));
    assert_contains(&info, &pma_named, "pier info names phpMyAdmin");
    get_with(&format!("{pma_named}/"), &["--cacert", &root]);
    let by_name = phpmyadmin_login_with(
        &site,
        &pma_named,
        "app",
        &env["DB_PASSWORD"],
        &site.jar("pma-https"),
        &["--cacert", &root],
    );
    assert!(
        !by_name.contains("name=\"pma_username\""),
        "login to phpMyAdmin by name failed:\n{by_name}"
    );
    assert_contains(
        &by_name,
        "db:3306",
        "phpMyAdmin by name shows the stack's server",
    );
    assert!(
        logged_in.contains(">app<") || logged_in.contains("\"app\""),
        "phpMyAdmin lists the stack's database `app`:\n{logged_in}"
    );

    // A PHP file dropped into ./public is served at once (bind mount), and
    // writes a row.
    std::fs::write(site.dir.join("public/notes.php"), NOTES_PHP).unwrap();
    let notes = format!("{web_url}/notes.php");
    assert_contains(
        &get(&format!("{notes}?add=kept")),
        "notes: [kept]",
        "write through PHP",
    );

    // down + up: the named volume keeps the row.
    site.pier(&["down"]);
    site.up();
    assert_contains(&get(&notes), "notes: [kept]", "after down + up");

    // down -v + up: a fresh database.
    let out = site.pier(&["down", "-v"]);
    assert_contains(&out, &format!("{}_db-data", site.name), "down -v");
    site.up();
    assert_contains(&get(&notes), "notes: []", "after down -v + up");
    site.done();
}

/// code-server cannot be had offline: its rendering and `pier up --dry-run`'s
/// plan are checked, not a running editor.
#[test]
fn e2e_lamp_editor_renders_and_plans_a_pull() {
    let site = Site::init(
        "lamp",
        "lamp-editor",
        &standin_sets(
            &[
                ("php_image", "pier-standin/php"),
                ("mariadb_image", "pier-standin/mariadb"),
                ("phpmyadmin_image", "pier-standin/phpmyadmin"),
                ("editor", "true"),
            ],
            &[
                ("web_port", free_port()),
                ("phpmyadmin_port", free_port()),
                ("editor_port", free_port()),
            ],
        ),
    );
    let env = site.env();
    // `pier config` masks secrets unless asked.
    let masked: serde_json::Value =
        serde_json::from_str(&site.pier(&["config", "--json"])).unwrap();
    assert_ne!(
        masked["services"]["editor"]["environment"]["PASSWORD"],
        env["EDITOR_PASSWORD"]
    );
    let config = site.pier(&["config", "--json", "--show-secrets"]);
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    let editor = &config["services"]["editor"];
    assert_eq!(editor["image"], "codercom/code-server:latest");
    assert_eq!(
        editor["environment"]["PASSWORD"], env["EDITOR_PASSWORD"],
        "the editor's password is the generated secret"
    );
    assert_eq!(env["EDITOR_PASSWORD"].len(), 32);
    assert!(
        editor["volumes"]
            .to_string()
            .contains("/home/coder/project"),
        "{editor}"
    );
    let plan = site.pier(&["up", "--dry-run"]);
    assert_contains(
        &plan,
        "pull image codercom/code-server:latest for editor",
        "the plan",
    );
    assert_contains(
        &plan,
        &format!("create container {}", site.container("editor")),
        "the plan",
    );
    assert!(
        docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=io.pier.project={}", site.name)
        ])
        .unwrap()
        .is_empty(),
        "--dry-run created nothing"
    );
    site.done();
}

// ------------------------------------------------------------------ django

/// Django admin login through its form (CSRF token, cookies); the page after redirects.
fn django_login(base: &str, user: &str, password: &str, jar: &str) -> String {
    let (_, form) = curl(&["-c", jar, "-b", jar, &format!("{base}/admin/login/")]);
    let csrf = form_value(&form, "csrfmiddlewaretoken");
    let (status, page) = curl(&[
        "-L",
        "-c",
        jar,
        "-b",
        jar,
        &format!("{base}/admin/login/?next=/admin/"),
        "--data-urlencode",
        &format!("username={user}"),
        "--data-urlencode",
        &format!("password={password}"),
        "--data-urlencode",
        &format!("csrfmiddlewaretoken={csrf}"),
        "--data-urlencode",
        "next=/admin/",
    ]);
    assert_eq!(status, 200, "admin login POST:\n{page}");
    page
}

#[test]
fn e2e_django_served_migrated_admin_and_data_across_restarts() {
    let web = free_port();
    let site = Site::init(
        "django",
        "django",
        &standin_sets(
            &[
                ("python_image", "pier-standin/python"),
                ("postgres_image", "pier-standin/postgres"),
            ],
            &[("web_port", web)],
        ),
    );
    let env = site.env();
    assert_eq!(env["POSTGRES_PASSWORD"].len(), 32);
    assert_eq!(env["DJANGO_SECRET_KEY"].len(), 50);
    site.up();

    let base = format!("http://127.0.0.1:{web}");
    let page = get(&format!("{base}/"));
    assert_contains(&page, "Django on pier", "served by the skeleton's view");
    assert_contains(
        &page,
        "Connected to database &quot;app&quot; on db as app. Server version: PostgreSQL",
        "the index page",
    );

    // The one-shot migrate service exited 0, and did so before web started.
    let migrate = site.container("migrate");
    assert_eq!(
        docker(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            &migrate
        ])
        .unwrap(),
        "exited 0"
    );
    let finished = instant(&docker(&["inspect", "-f", "{{.State.FinishedAt}}", &migrate]).unwrap());
    let web_started = instant(
        &docker(&[
            "inspect",
            "-f",
            "{{.State.StartedAt}}",
            &site.container("web"),
        ])
        .unwrap(),
    );
    assert!(
        finished <= web_started,
        "web started at {web_started:?}, before migrate finished at {finished:?}"
    );

    let info = site.pier(&["info"]);
    assert_contains(&info, &base, "pier info shows the URL");
    assert!(
        info.lines()
            .any(|l| l.starts_with("POSTGRES_USER") && l.ends_with(" app")),
        "pier info shows the database user:\n{info}"
    );

    // The admin renders (its tables exist: migrations applied).
    let login = get(&format!("{base}/admin/login/"));
    assert_contains(&login, "Django administration", "/admin/login/");

    // A row: a superuser, made as the skeleton's page says (`pier exec web --
    // python manage.py createsuperuser`), then used to log in to the admin.
    let password = format!("e2e-{}-{}", std::process::id(), env["POSTGRES_PASSWORD"]);
    site.pier(&[
        "exec",
        "-T",
        "web",
        "--",
        "sh",
        "-c",
        "DJANGO_SUPERUSER_PASSWORD=\"$0\" python manage.py createsuperuser --noinput --username e2e-admin --email e2e@example.com",
        &password,
    ]);
    let refused = django_login(&base, "e2e-admin", "wrong", &site.jar("dj-bad"));
    assert_contains(
        &refused,
        "Please enter the correct username and password",
        "wrong password",
    );
    let admin = django_login(&base, "e2e-admin", &password, &site.jar("dj-1"));
    assert_contains(&admin, "Site administration", "admin login");

    // A new model and its migration, then `pier up` again (no down): the one-shot
    // `migrate` runs on every `up`, as the template promises, and applies it.
    let app = site.dir.join("notes");
    std::fs::create_dir_all(app.join("migrations")).unwrap();
    std::fs::write(app.join("__init__.py"), "").unwrap();
    std::fs::write(app.join("migrations/__init__.py"), "").unwrap();
    std::fs::write(
        app.join("models.py"),
        "from django.db import models\n\n\nclass Note(models.Model):\n    text = models.CharField(max_length=200)\n",
    )
    .unwrap();
    std::fs::write(
        app.join("migrations/0001_initial.py"),
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n    operations = [\n        migrations.CreateModel(\n            name=\"Note\",\n            fields=[\n                (\"id\", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name=\"ID\")),\n                (\"text\", models.CharField(max_length=200)),\n            ],\n        ),\n    ]\n",
    )
    .unwrap();
    let settings = site.dir.join("config/settings.py");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        format!("{text}\nINSTALLED_APPS += [\"notes\"]\n"),
    )
    .unwrap();
    let plan = site.pier(&["up", "--dry-run"]);
    assert_contains(
        &plan,
        &format!("start container {migrate} (one-shot: runs on every up)"),
        "the plan of a second up",
    );
    site.up();
    let applied = site.pier(&[
        "exec",
        "-T",
        "web",
        "--",
        "python",
        "manage.py",
        "showmigrations",
        "notes",
    ]);
    assert_contains(
        &applied,
        "[X] 0001_initial",
        "the new migration, applied by the second up",
    );

    // down + up: the user is still there (and migrate ran again, harmlessly).
    site.pier(&["down"]);
    site.up();
    get(&format!("{base}/"));
    let admin = django_login(&base, "e2e-admin", &password, &site.jar("dj-2"));
    assert_contains(&admin, "Site administration", "admin login after down + up");
    site.done();
}

// ------------------------------------------------------------------ dotnet

/// psql in the web container, over the stack's network with the web service's
/// own DB_* settings (the ones the app gets).
fn web_psql(site: &Site, sql: &str) -> Result<String, String> {
    docker(&[
        "exec",
        &site.container("web"),
        "sh",
        "-c",
        "PGPASSWORD=\"$DB_PASSWORD\" psql -h \"$DB_HOST\" -p \"$DB_PORT\" -U \"$DB_USER\" -d \"$DB_NAME\" -v ON_ERROR_STOP=1 -Atc \"$0\"",
        sql,
    ])
}

#[test]
fn e2e_dotnet_web_reaches_postgres_and_data_across_restarts() {
    let web = free_port();
    let site = Site::init(
        "dotnet",
        "dotnet",
        &standin_sets(
            &[
                ("sdk_image", "pier-standin/dotnet-sdk"),
                ("postgres_image", "pier-standin/postgres"),
            ],
            &[("web_port", web)],
        ),
    );
    assert_eq!(site.env()["DB_PASSWORD"].len(), 32);
    site.up();

    let base = format!("http://127.0.0.1:{web}");
    assert_contains(&get(&format!("{base}/health")), "\"status\"", "/health");
    let page = get(&format!("{base}/"));
    assert_contains(&page, "(App.csproj)", "the project is bind-mounted at /src");
    assert_contains(
        &page,
        "Connected to database &quot;app&quot; on tcp://db:5432. Server version: PostgreSQL",
        "the web service reached db with the stack's credentials",
    );

    web_psql(
        &site,
        "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')",
    )
    .expect("write a row");
    site.pier(&["down"]);
    site.up();
    assert_eq!(web_psql(&site, "SELECT body FROM notes").unwrap(), "kept");

    site.pier(&["down", "-v"]);
    site.up();
    let gone = web_psql(&site, "SELECT body FROM notes").unwrap_err();
    assert_contains(
        &gone,
        "relation \"notes\" does not exist",
        "after down -v + up",
    );
    site.done();
}

// ------------------------------------------------- database dump and load

/// SQL through the database's own client in the `db` container, as its root
/// (MariaDB, MySQL) or owner (PostgreSQL), with the credentials in its
/// environment; the rows, one per line, tab-separated.
fn db_sql(site: &Site, sql: &str) -> String {
    let client = if site.stack != "lamp" {
        "PGPASSWORD=\"$POSTGRES_PASSWORD\" psql -h 127.0.0.1 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\" -v ON_ERROR_STOP=1 -Atc \"$0\""
    } else {
        "MYSQL_PWD=\"${MARIADB_ROOT_PASSWORD:-$MYSQL_ROOT_PASSWORD}\" mariadb -uroot -N -B \"${MARIADB_DATABASE:-$MYSQL_DATABASE}\" -e \"$0\""
    };
    docker(&["exec", &site.container("db"), "sh", "-c", client, sql])
        .unwrap_or_else(|e| panic!("{}: {sql}: {e}", site.name))
}

/// `pier ARGS` in the project directory, expecting exit `code`.
fn pier_status(site: &Site, args: &[&str], code: i32) -> support::Output {
    Pier::in_dir(&site.dir)
        .args(["--progress", "plain"])
        .args(args)
        .status(code)
        .run()
}

/// A table with three rows (one with a quote, one with non-ASCII text).
const NOTES_TABLE: &str = "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(100) NOT NULL); \
     INSERT INTO notes VALUES (1, 'kept'), (2, 'it''s kept'), (3, 'grüße')";
const NOTES: &str = "1\tkept\n2\tit's kept\n3\tgrüße";
const NOTES_PG: &str = "1|kept\n2|it's kept\n3|grüße";

/// export → drop → import → the rows back, through the stack's `pier db`:
/// refused while the table exists, accepted after it is dropped, and with
/// `--drop` over a changed table. `rows` is NOTES in the client's format.
fn dump_drop_load(site: &Site, file: &str, rows: &str) {
    db_sql(site, NOTES_TABLE);
    let out = site.pier(&["db", "export", "-o", file]);
    assert_contains(&out, &format!("wrote {file}"), "db export -o");
    let dump = std::fs::read(site.dir.join(file)).unwrap();
    let magic: &[u8] = match file {
        f if f.ends_with(".gz") => &[0x1f, 0x8b],
        f if f.ends_with(".zst") => &[0x28, 0xb5, 0x2f, 0xfd],
        _ => b"",
    };
    assert!(dump.starts_with(magic), "{file} is compressed by its name");

    // Into a database that has tables: refused, nothing changed.
    db_sql(site, "INSERT INTO notes VALUES (4, 'added after the dump')");
    let refused = pier_status(site, &["db", "import", file], 2);
    assert_contains(&refused.stderr, "is not empty", "import refused");
    assert_contains(&refused.stderr, "--drop", "import refused");
    assert_contains(
        &db_sql(site, "SELECT COUNT(*) FROM notes"),
        "4",
        "nothing loaded",
    );

    // Dropped by hand, then loaded: the rows are back.
    db_sql(site, "DROP TABLE notes");
    let loaded = site.pier(&["db", "import", file]);
    assert_contains(&loaded, "loaded", "db import");
    assert_eq!(db_sql(site, "SELECT id, body FROM notes ORDER BY id"), rows);

    // --drop empties the database first: the row added since is gone again.
    db_sql(site, "INSERT INTO notes VALUES (4, 'added after the dump')");
    let out = site.pier(&["db", "import", "--drop", file]);
    assert_contains(&out, "(emptied first)", "db import --drop");
    assert_eq!(db_sql(site, "SELECT id, body FROM notes ORDER BY id"), rows);
}

fn lamp_db_site(tag: &'static str, database: &str) -> Site {
    Site::init(
        "lamp",
        tag,
        &standin_sets(
            &[
                ("php_image", "pier-standin/php"),
                ("mariadb_image", "pier-standin/mariadb"),
                ("mysql_image", "pier-standin/mysql"),
                ("phpmyadmin_image", "pier-standin/phpmyadmin"),
                ("database", database),
            ],
            &[("web_port", free_port()), ("phpmyadmin_port", free_port())],
        ),
    )
}

/// lamp with MariaDB, and lamp with its MySQL option (on the stand-in, MariaDB
/// behind the mysql image's contract: `io.pier.db: mysql`, MYSQL_* variables):
/// dump → drop → load in each (gzip, zstd), and MariaDB's dump, streamed to
/// stdout, loaded from stdin into the MySQL lamp.
#[test]
fn e2e_lamp_db_export_drop_import_mariadb_and_mysql() {
    let maria = lamp_db_site("lamp-db-maria", "mariadb");
    let mysql = lamp_db_site("lamp-db-mysql", "mysql");
    assert_contains(
        &std::fs::read_to_string(mysql.dir.join("pier.yaml")).unwrap(),
        "io.pier.db: mysql",
        "the mysql option labels its database",
    );
    // Only the databases: `pier db` needs nothing else.
    maria.pier(&["up", "--wait-timeout", "600", "db"]);
    mysql.pier(&["up", "--wait-timeout", "600", "db"]);

    dump_drop_load(&maria, "dump.sql.gz", NOTES);
    dump_drop_load(&mysql, "dump.sql.zst", NOTES);

    // The MariaDB lamp's dump on stdout (streamed; progress in JSON on
    // stderr), loaded from stdin into the MySQL lamp after its table is gone.
    let out = Pier::in_dir(&maria.dir)
        .args(["--progress", "json", "db", "export"])
        .run();
    assert_contains(&out.stdout, "INSERT INTO `notes`", "the dump on stdout");
    let done = support::json_lines(&out.stderr)
        .into_iter()
        .find(|e| e["event"] == "transfer" && e["done"] == true)
        .unwrap_or_else(|| panic!("a transfer event in:\n{}", out.stderr));
    assert_eq!(done["task"], "dump of service db");
    assert_eq!(done["bytes"].as_u64(), Some(out.stdout.len() as u64));
    db_sql(&mysql, "DROP TABLE notes");
    let loaded = Pier::in_dir(&mysql.dir)
        .args(["--progress", "plain", "db", "import", "-"])
        .input(out.stdout.clone())
        .run();
    assert_contains(&loaded.stderr, "ok load into service db", "progress");
    assert_eq!(
        db_sql(&mysql, "SELECT id, body FROM notes ORDER BY id"),
        NOTES
    );

    // Compressed on stdin: gzip recognised by its first bytes.
    db_sql(&mysql, "INSERT INTO notes VALUES (5, 'not in the dump')");
    let gz = std::fs::read(maria.dir.join("dump.sql.gz")).unwrap();
    Pier::in_dir(&mysql.dir)
        .args(["--progress", "plain", "db", "import", "--drop", "-"])
        .input(gz)
        .stdout_contains("(emptied first)")
        .run();
    assert_eq!(
        db_sql(&mysql, "SELECT id, body FROM notes ORDER BY id"),
        NOTES
    );
    maria.done();
    mysql.done();
}

/// The peak resident memory of a finished child, from the kernel (KiB).
fn wait_peak_rss_kib(child: std::process::Child) -> (i32, i64) {
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the child is ours and not waited for yet; wait4 fills `usage`.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}

/// django (PostgreSQL): dump → drop → load; its dump loaded into the dotnet
/// stack's PostgreSQL; and a dump larger than pier's memory ever gets, on
/// stdout, to show it streams.
#[test]
fn e2e_django_db_export_drop_import_and_into_dotnet() {
    let django = Site::init(
        "django",
        "django-db",
        &standin_sets(
            &[
                ("python_image", "pier-standin/python"),
                ("postgres_image", "pier-standin/postgres"),
                ("redis_image", "pier-standin/redis"),
            ],
            &[("web_port", free_port())],
        ),
    );
    let dotnet = Site::init(
        "dotnet",
        "dotnet-db",
        &standin_sets(
            &[
                ("sdk_image", "pier-standin/dotnet-sdk"),
                ("postgres_image", "pier-standin/postgres"),
            ],
            &[("web_port", free_port())],
        ),
    );
    django.pier(&["up", "--wait-timeout", "600", "db"]);
    dotnet.pier(&["up", "--wait-timeout", "600", "db"]);

    dump_drop_load(&django, "dump.sql", NOTES_PG);

    // The same dump into dotnet's database (another stack, another owner).
    let out = dotnet.pier(&[
        "db",
        "import",
        &django.dir.join("dump.sql").to_string_lossy(),
    ]);
    assert_contains(&out, "loaded", "db import into dotnet");
    assert_eq!(
        db_sql(&dotnet, "SELECT id, body FROM notes ORDER BY id"),
        NOTES_PG
    );

    // ~100 MiB of rows, dumped to stdout: pier's peak memory stays a fraction
    // of it (it holds a chunk at a time, not the dump).
    db_sql(
        &django,
        "CREATE TABLE bulk AS SELECT i, repeat(md5(i::text), 32) AS body FROM generate_series(1, 120000) AS i",
    );
    let mut child = Pier::in_dir(&django.dir)
        .args(["--progress", "quiet", "db", "export"])
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        text
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut dumped = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut stdout, &mut buf).unwrap() {
            0 => break,
            n => dumped += n as u64,
        }
    }
    let (code, peak_kib) = wait_peak_rss_kib(child);
    let errors = errors.join().unwrap();
    assert_eq!(code, 0, "pier db export: {errors}");
    assert!(dumped > 100_000_000, "a dump of {dumped} bytes");
    println!(
        "e2e django-db: pier's peak memory {peak_kib} KiB for a dump of {dumped} bytes on stdout"
    );
    assert!(
        (peak_kib as u64) * 1024 < dumped / 3,
        "pier's peak memory was {peak_kib} KiB for a dump of {dumped} bytes: it buffers"
    );
    django.done();
    dotnet.done();
}
