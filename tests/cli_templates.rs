//! `pier list` and `pier init`: the real binary in temporary directories, with
//! HOME and XDG_CONFIG_HOME pointed at a temporary directory so that the user
//! stacks it sees are exactly the ones a test creates. No Docker.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use support::Pier;
use tempfile::TempDir;

const BUILT_INS: [&str; 3] = ["django", "dotnet", "lamp"];

/// A sandbox: its own HOME / config dir, and a work directory to init into.
struct Sandbox {
    home: TempDir,
    work: TempDir,
    stacks_path: Option<PathBuf>,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            home: TempDir::new().unwrap(),
            work: TempDir::new().unwrap(),
            stacks_path: None,
        }
    }

    /// pier in the work directory, with this sandbox's HOME and stacks path.
    fn pier(&self) -> Pier {
        let pier = Pier::in_dir(self.work.path()).home(self.home.path());
        match &self.stacks_path {
            Some(path) => pier.env("PIER_STACKS_PATH", path),
            None => pier,
        }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// Run pier; return (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.pier().args(args).any_status().run();
        (out.code, out.stdout, out.stderr)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, 0, "pier {args:?} failed:\n{stderr}");
        stdout
    }

    fn invalid(&self, args: &[&str]) -> String {
        let (code, _, stderr) = self.run(args);
        assert_eq!(
            code, 2,
            "pier {args:?} should be invalid input; stderr:\n{stderr}"
        );
        stderr
    }

    fn json(&self, args: &[&str]) -> Json {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
}

/// Write a user stack `<root>/<name>/` with the given manifest and stack template.
fn user_stack(root: &Path, name: &str, manifest: &str, stack: &str, files: &[(&str, &str)]) {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("files")).unwrap();
    std::fs::write(dir.join("stack.yaml"), manifest).unwrap();
    std::fs::write(dir.join("pier.yaml.hbs"), stack).unwrap();
    for (path, text) in files {
        let path = dir.join("files").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

fn yaml(path: impl AsRef<Path>) -> Yaml {
    serde_yaml::from_str(&read(path)).unwrap()
}

/// `KEY=value` lines of a .env file pier wrote.
fn env_vars(path: impl AsRef<Path>) -> BTreeMap<String, String> {
    env_vars_of(&read(path))
}

fn env_vars_of(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.trim_matches('\'').to_string())
        })
        .collect()
}

/// The names in `${NAME}` references (not `$${...}` escapes).
fn variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("${") {
        let escaped = pos > 0 && rest.as_bytes()[pos - 1] == b'$';
        let after = &rest[pos + 2..];
        let end = after.find('}').unwrap();
        if !escaped {
            out.push(after[..end].to_string());
        }
        rest = &after[end..];
    }
    out
}

fn services(doc: &Yaml) -> Vec<String> {
    doc["services"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

fn all_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn list_json_describes_the_built_in_stacks() {
    let sb = Sandbox::new();
    let list = sb.json(&["list", "--json"]);
    let stacks = list.as_array().unwrap();
    let names: Vec<&str> = stacks.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, BUILT_INS);
    for stack in stacks {
        assert_eq!(stack["source"], "built-in");
        assert!(!stack["description"].as_str().unwrap().is_empty());
        assert!(stack["services"].as_array().unwrap().len() >= 2, "{stack}");
        assert!(!stack["parameters"].as_array().unwrap().is_empty());
    }
    let lamp = &stacks[2];
    assert_eq!(
        lamp["services"],
        serde_json::json!(["web", "db", "phpmyadmin", "editor"])
    );
    let database = lamp["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "database")
        .unwrap();
    assert_eq!(database["type"], "enum");
    assert_eq!(database["default"], "mariadb");
    assert_eq!(database["choices"], serde_json::json!(["mariadb", "mysql"]));
    let secret = lamp["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "db_password")
        .unwrap();
    assert_eq!(secret["type"], "secret");
    assert_eq!(secret["default"], Json::Null);
    assert_eq!(secret["env"], "DB_PASSWORD");
    let port = lamp["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "web_port")
        .unwrap();
    assert_eq!(port["default"], 8080);
}

#[test]
fn list_prints_a_table_and_one_stacks_parameters() {
    let sb = Sandbox::new();
    let table = sb.ok(&["list"]);
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("NAME")
            && header.contains("DESCRIPTION")
            && header.contains("SERVICES")
            && header.ends_with("SOURCE")
    );
    for name in BUILT_INS {
        let row = table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{table}"));
        assert!(row.trim_end().ends_with("built-in"), "{row}");
    }
    let lamp = sb.ok(&["list", "lamp"]);
    let row = lamp.lines().find(|l| l.starts_with("database ")).unwrap();
    assert!(
        row.contains("enum") && row.contains("mariadb") && row.contains("mariadb|mysql"),
        "{row}"
    );
    let row = lamp
        .lines()
        .find(|l| l.starts_with("db_root_password "))
        .unwrap();
    assert!(
        row.contains("secret") && row.contains("(generated)") && row.contains("DB_ROOT_PASSWORD"),
        "{row}"
    );
    let one = sb.json(&["list", "django", "--json"]);
    assert_eq!(one["name"], "django");
    let pg = one["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "postgres_version")
        .unwrap();
    assert_eq!(
        (pg["type"].as_str(), pg["min"].as_i64()),
        (Some("int"), Some(13))
    );
}

/// Init every built-in stack with its defaults: the files are written, the
/// secrets go only to .env (0600, git-ignored) and the stack file parses.
#[test]
fn init_writes_each_built_in_stack() {
    let sb = Sandbox::new();
    for name in BUILT_INS {
        let dir = sb.dir(name);
        let stdout = sb.ok(&["init", name, dir.to_str().unwrap()]);
        assert!(
            stdout.contains(&format!("cd {} && pier up", dir.display())),
            "{stdout}"
        );
        let files = all_files(&dir);
        for expected in ["pier.yaml", ".env", ".gitignore", ".dockerignore"] {
            assert!(
                files.contains(&expected.to_string()),
                "{name}: {expected} missing from {files:?}"
            );
        }
        assert!(stdout.contains("  pier.yaml"), "{stdout}");
        assert!(stdout.contains(" generated; mode 0600"), "{stdout}");
        #[cfg(unix)]
        assert_eq!(mode(&dir.join(".env")), 0o600, "{name}: .env mode");
        assert!(
            read(dir.join(".gitignore")).lines().any(|l| l == ".env"),
            "{name}: .env not ignored"
        );

        let stack_text = read(dir.join("pier.yaml"));
        let vars = env_vars(dir.join(".env"));
        let manifest = sb.json(&["list", name, "--json"]);
        for p in manifest["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] == "secret")
        {
            let var = p["env"].as_str().unwrap();
            let value = &vars[var];
            assert!(value.len() >= 32, "{name}: {var} = {value}");
            assert!(
                !stack_text.contains(value.as_str()),
                "{name}: secret {var} inlined in pier.yaml"
            );
        }
        // Every variable the stack file reads is defined in .env.
        let referenced = variables(&stack_text);
        assert!(!referenced.is_empty(), "{name}: no ${{VAR}} in pier.yaml");
        for var in referenced {
            assert!(
                vars.contains_key(&var),
                "{name}: pier.yaml reads ${{{var}}} but .env lacks it"
            );
        }
        let doc: Yaml = serde_yaml::from_str(&stack_text).unwrap();
        let declared: Vec<String> = serde_json::from_value(manifest["services"].clone()).unwrap();
        for service in services(&doc) {
            assert!(
                declared.contains(&service),
                "{name}: service {service} not in the manifest's list {declared:?}"
            );
        }
    }
    // The skeletons are real projects.
    assert!(read(sb.dir("lamp/Dockerfile")).contains("FROM php:8.4-apache"));
    assert!(read(sb.dir("lamp/Dockerfile")).contains("docker-php-ext-install mysqli pdo_mysql"));
    assert!(read(sb.dir("lamp/public/index.php")).contains("getenv('DB_PASSWORD')"));
    assert!(read(sb.dir("django/requirements.txt")).contains("Django"));
    assert!(
        read(sb.dir("django/config/settings.py")).contains("os.environ[\"DJANGO_SECRET_KEY\"]")
    );
    assert!(
        read(sb.dir("dotnet/App.csproj")).contains("<TargetFramework>net10.0</TargetFramework>")
    );
    assert!(read(sb.dir("dotnet/App.csproj")).contains("Npgsql"));
    assert!(read(sb.dir("dotnet/Program.cs")).contains("app.MapGet(\"/health\""));
}

#[test]
fn two_inits_generate_different_secrets() {
    let sb = Sandbox::new();
    sb.ok(&["init", "lamp", "a"]);
    sb.ok(&["init", "lamp", "b"]);
    assert_ne!(
        env_vars(sb.dir("a/.env"))["DB_PASSWORD"],
        env_vars(sb.dir("b/.env"))["DB_PASSWORD"]
    );
}

#[test]
fn init_defaults_to_the_current_directory() {
    let sb = Sandbox::new();
    let stdout = sb.ok(&["init", "django"]);
    assert!(sb.work.path().join("pier.yaml").exists());
    assert!(stdout.contains("\nNext: pier up"), "{stdout}");
}

/// Every parameter kind overridden, on every stack.
#[test]
fn init_with_overrides_of_every_kind() {
    let sb = Sandbox::new();

    sb.ok(&[
        "init",
        "lamp",
        "lamp",
        "--set",
        "database=mysql",
        "--set",
        "mysql_version=9.1",
        "--set",
        "editor=true",
        "--set",
        "web_port=9090",
        "--set",
        "php_version=8.3",
        "--set",
        "db_password=MyOwnPassword1",
    ]);
    let doc = yaml(sb.dir("lamp/pier.yaml"));
    assert_eq!(services(&doc), ["web", "db", "phpmyadmin", "editor"]);
    assert_eq!(doc["services"]["db"]["image"], "mysql:9.1");
    assert!(
        doc["services"]["db"]["environment"]["MYSQL_ROOT_PASSWORD"].as_str()
            == Some("${DB_ROOT_PASSWORD}")
    );
    let test = serde_yaml::to_string(&doc["services"]["db"]["healthcheck"]["test"]).unwrap();
    assert!(test.contains("mysqladmin ping"), "{test}");
    assert_eq!(
        doc["services"]["editor"]["environment"]["PASSWORD"],
        "${EDITOR_PASSWORD}"
    );
    let vars = env_vars(sb.dir("lamp/.env"));
    assert_eq!(vars["WEB_PORT"], "9090");
    assert_eq!(vars["DB_PASSWORD"], "MyOwnPassword1");
    assert!(vars["EDITOR_PASSWORD"].len() == 32);
    assert!(read(sb.dir("lamp/Dockerfile")).contains("FROM php:8.3-apache"));

    sb.ok(&["init", "lamp", "maria"]);
    let doc = yaml(sb.dir("maria/pier.yaml"));
    assert_eq!(services(&doc), ["web", "db", "phpmyadmin"]);
    assert!(
        doc["services"]["db"]["image"]
            .as_str()
            .unwrap()
            .starts_with("mariadb:")
    );
    let test = serde_yaml::to_string(&doc["services"]["db"]["healthcheck"]["test"]).unwrap();
    assert!(
        test.contains("healthcheck.sh") && test.contains("--innodb_initialized"),
        "{test}"
    );
    assert_eq!(
        doc["services"]["web"]["depends_on"]["db"]["condition"],
        "service_healthy"
    );
    assert_eq!(
        doc["services"]["phpmyadmin"]["environment"]["PMA_HOST"],
        "db"
    );

    sb.ok(&[
        "init",
        "django",
        "django",
        "--set",
        "redis=yes",
        "--set",
        "postgres_version=16",
        "--set",
        "python_version=3.12",
    ]);
    let doc = yaml(sb.dir("django/pier.yaml"));
    assert_eq!(services(&doc), ["db", "redis", "migrate", "web"]);
    assert_eq!(doc["services"]["db"]["image"], "postgres:16");
    assert_eq!(
        doc["services"]["db"]["volumes"][0],
        "db-data:/var/lib/postgresql/data"
    );
    assert_eq!(
        doc["services"]["web"]["depends_on"]["migrate"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        doc["services"]["web"]["depends_on"]["redis"]["condition"],
        "service_healthy"
    );
    assert!(read(sb.dir("django/requirements.txt")).contains("redis"));
    assert!(read(sb.dir("django/Dockerfile")).contains("FROM python:3.12-slim"));

    // The base image is a parameter too (the end-to-end tests use a stand-in).
    sb.ok(&[
        "init",
        "django",
        "django-own-python",
        "--set",
        "python_image=registry.example.com/python",
    ]);
    assert!(
        read(sb.dir("django-own-python/Dockerfile"))
            .contains("FROM registry.example.com/python:3.13-slim")
    );

    sb.ok(&["init", "django", "django18"]);
    let doc = yaml(sb.dir("django18/pier.yaml"));
    assert_eq!(
        doc["services"]["db"]["volumes"][0],
        "db-data:/var/lib/postgresql"
    );
    assert!(!read(sb.dir("django18/requirements.txt")).contains("redis"));

    sb.ok(&[
        "init",
        "dotnet",
        "dotnet",
        "--set",
        "database=sqlserver",
        "--set",
        "dotnet_version=9.0",
        "--set",
        "web_port=5000",
    ]);
    let doc = yaml(sb.dir("dotnet/pier.yaml"));
    assert_eq!(
        doc["services"]["db"]["image"],
        "mcr.microsoft.com/mssql/server:2022-latest"
    );
    assert_eq!(
        doc["services"]["web"]["image"],
        "mcr.microsoft.com/dotnet/sdk:9.0"
    );
    assert_eq!(
        doc["services"]["db"]["environment"]["MSSQL_SA_PASSWORD"],
        "${DB_PASSWORD}"
    );
    let csproj = read(sb.dir("dotnet/App.csproj"));
    assert!(
        csproj.contains("Microsoft.Data.SqlClient") && !csproj.contains("Npgsql"),
        "{csproj}"
    );
    assert!(csproj.contains("net9.0"));
    assert!(read(sb.dir("dotnet/Program.cs")).contains("SqlConnectionStringBuilder"));
    assert_eq!(env_vars(sb.dir("dotnet/.env"))["WEB_PORT"], "5000");
}

#[test]
fn init_refuses_to_overwrite_and_writes_nothing() {
    let sb = Sandbox::new();
    sb.ok(&["init", "lamp", "shop"]);
    let env_before = read(sb.dir("shop/.env"));
    std::fs::remove_file(sb.dir("shop/Dockerfile")).unwrap();
    std::fs::write(sb.dir("shop/pier.yaml"), "# mine\n").unwrap();

    let stderr = sb.invalid(&["init", "lamp", "shop"]);
    assert!(stderr.contains("pier.yaml: already exists"), "{stderr}");
    assert!(stderr.contains(".env: already exists"), "{stderr}");
    assert!(
        stderr.contains("public/index.php: already exists"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert!(
        !sb.dir("shop/Dockerfile").exists(),
        "nothing written, not even missing files"
    );
    assert_eq!(read(sb.dir("shop/pier.yaml")), "# mine\n");
    assert_eq!(read(sb.dir("shop/.env")), env_before);

    let stdout = sb.ok(&["init", "lamp", "shop", "--force"]);
    assert!(stdout.contains("overwritten"), "{stdout}");
    assert!(
        stdout.contains("3 secrets kept from the existing .env"),
        "{stdout}"
    );
    // The database volume was initialized with these: --force keeps them.
    assert_eq!(env_vars(sb.dir("shop/.env")), env_vars_of(&env_before));
    assert!(sb.dir("shop/Dockerfile").exists());
    assert_ne!(read(sb.dir("shop/pier.yaml")), "# mine\n");
    #[cfg(unix)]
    assert_eq!(mode(&sb.dir("shop/.env")), 0o600);
}

#[test]
fn init_keeps_an_existing_gitignore_and_adds_env() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.dir("app")).unwrap();
    std::fs::write(sb.dir("app/.gitignore"), "node_modules/\n").unwrap();
    sb.ok(&["init", "dotnet", "app"]);
    assert_eq!(
        read(sb.dir("app/.gitignore")),
        "node_modules/\nbin/\nobj/\n.env\n"
    );
}

#[test]
fn unknown_stack_suggests_a_name() {
    let sb = Sandbox::new();
    let stderr = sb.invalid(&["init", "lamb", "x"]);
    assert!(stderr.contains("unknown stack \"lamb\""), "{stderr}");
    assert!(stderr.contains("did you mean \"lamp\"?"), "{stderr}");
    assert!(stderr.contains("django, dotnet, lamp"), "{stderr}");
    assert!(!sb.dir("x").exists());
    let stderr = sb.invalid(&["list", "djnago"]);
    assert!(stderr.contains("did you mean \"django\"?"), "{stderr}");
}

#[test]
fn bad_parameters_are_all_reported_and_nothing_is_written() {
    let sb = Sandbox::new();
    let stderr = sb.invalid(&[
        "init",
        "django",
        "site",
        "--set",
        "postgress_version=16",
        "--set",
        "postgres_version=abc",
        "--set",
        "web_port=70000",
        "--set",
        "redis=perhaps",
    ]);
    assert!(
        stderr.contains("no parameter \"postgress_version\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean \"postgres_version\"?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--set postgres_version: \"abc\" is not a whole number"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--set web_port: 70000 is not a port"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--set redis: \"perhaps\" is not a boolean"),
        "{stderr}"
    );
    assert!(stderr.contains("4 problems found"), "{stderr}");
    assert!(!sb.dir("site").exists());

    let stderr = sb.invalid(&[
        "init",
        "lamp",
        "site",
        "--set",
        "database=postgres",
        "--set",
        "web_port=0",
    ]);
    assert!(
        stderr.contains("--set database: \"postgres\" is not one of the choices"),
        "{stderr}"
    );
    assert!(stderr.contains("mariadb, mysql"), "{stderr}");
    assert!(
        stderr.contains("--set web_port: 0 is not a port"),
        "{stderr}"
    );
    let stderr = sb.invalid(&["init", "django", "site", "--set", "postgres_version=12"]);
    assert!(
        stderr.contains("12 is out of range: use 13 to 99"),
        "{stderr}"
    );
    assert!(!sb.dir("site").exists());
}

/// Values that would break naive templating stay one string in the stack file.
#[test]
fn hostile_values_stay_one_string() {
    let sb = Sandbox::new();
    let hostile = "x\" injected: true\nservices: {}\n# '{{db_user}}' ${HOME} $$ \\ end";
    let set = format!("db_name={hostile}");
    for (stack, path) in [
        ("lamp", ["services", "web", "environment", "DB_NAME"]),
        ("django", ["services", "db", "environment", "POSTGRES_DB"]),
        ("dotnet", ["services", "web", "environment", "DB_NAME"]),
    ] {
        let dir = sb.dir(stack);
        sb.ok(&["init", stack, dir.to_str().unwrap(), "--set", &set]);
        let doc = yaml(dir.join("pier.yaml"));
        let value = path
            .iter()
            .fold(&doc, |node, key| &node[*key])
            .as_str()
            .unwrap_or_else(|| panic!("{stack}: {path:?} is not a string"));
        // `$` is written as Compose's `$$`, so interpolation gives the value back unchanged.
        assert_eq!(value.replace("$$", "$"), hostile, "{stack}");
        assert!(
            doc["services"].as_mapping().unwrap().len() >= 2,
            "{stack}: services were replaced"
        );
        assert!(doc.get("injected").is_none());
    }
}

#[test]
fn user_stacks_from_pier_stacks_path_are_listed_and_used() {
    let mut sb = Sandbox::new();
    let extra = TempDir::new().unwrap();
    user_stack(
        extra.path(),
        "static",
        "name: static\ndescription: nginx serving ./site\nservices: [web]\nparameters:\n  - {name: title, type: string, default: Hello}\n  - {name: web_port, type: port, default: 8088}\nfiles:\n  - site/index.html.hbs\n",
        "services:\n  web:\n    image: nginx:alpine\n    ports:\n      - \"{{web_port}}:80\"\n    volumes:\n      - ./site:/usr/share/nginx/html:ro\n",
        &[("site/index.html.hbs", "<h1>{{title}}</h1>\n")],
    );
    sb.stacks_path = Some(extra.path().into());
    let list = sb.json(&["list", "--json"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["django", "dotnet", "lamp", "static"]);
    let stat = &list[3];
    assert_eq!(
        stat["source"],
        extra.path().join("static").display().to_string()
    );
    assert_eq!(stat["services"], serde_json::json!(["web"]));
    let table = sb.ok(&["list"]);
    let row = table.lines().find(|l| l.starts_with("static")).unwrap();
    assert!(
        row.ends_with(&extra.path().join("static").display().to_string()),
        "{row}"
    );

    sb.ok(&[
        "init",
        "static",
        "site",
        "--set",
        "title=<Welcome & \"hi\">",
    ]);
    assert_eq!(
        read(sb.dir("site/site/index.html")),
        "<h1><Welcome & \"hi\"></h1>\n"
    );
    assert_eq!(
        yaml(sb.dir("site/pier.yaml"))["services"]["web"]["ports"][0],
        "8088:80"
    );
    assert!(!sb.dir("site/.env").exists(), "no variables, no .env");
    assert_eq!(read(sb.dir("site/.gitignore")), ".env\n");
}

#[test]
fn a_user_stack_in_the_config_dir_shadows_a_built_in() {
    let sb = Sandbox::new();
    let config_stacks = sb.home.path().join("config/pier/stacks");
    user_stack(
        &config_stacks,
        "lamp",
        "name: lamp\ndescription: our company LAMP\nservices: [web]\n",
        "services:\n  web:\n    image: httpd\n",
        &[],
    );
    let list = sb.json(&["list", "--json"]);
    let lamp = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "lamp")
        .unwrap();
    assert_eq!(lamp["description"], "our company LAMP");
    assert_eq!(
        lamp["source"],
        config_stacks.join("lamp").display().to_string()
    );
    assert_eq!(lamp["shadows"], serde_json::json!(["built-in"]));
    sb.ok(&["init", "lamp", "x"]);
    assert_eq!(services(&yaml(sb.dir("x/pier.yaml"))), ["web"]);
}

#[test]
fn a_user_manifest_cannot_write_outside_the_project() {
    let mut sb = Sandbox::new();
    let extra = TempDir::new().unwrap();
    user_stack(
        extra.path(),
        "evil",
        "name: evil\ndescription: writes outside\nfiles:\n  - source: payload\n    path: ../escaped.txt\n  - /etc/evil.hbs\n",
        "services:\n  web:\n    image: nginx\n",
        &[("payload", "gotcha")],
    );
    sb.stacks_path = Some(extra.path().into());
    let stderr = sb.invalid(&["init", "evil", "project"]);
    assert!(
        stderr.contains("files[0]: \"../escaped.txt\" leaves the project directory"),
        "{stderr}"
    );
    assert!(
        stderr.contains("files[1]: \"/etc/evil.hbs\" is absolute"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stack.yaml"),
        "names the manifest file: {stderr}"
    );
    assert!(!sb.work.path().join("escaped.txt").exists());
    assert!(!sb.dir("project").exists());
    // `list` still works and shows the broken stack as invalid.
    let table = sb.ok(&["list"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("evil") && l.contains("invalid")),
        "{table}"
    );
    assert!(
        sb.json(&["list", "--json"])
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "evil" && s["error"].is_string())
    );
}

#[cfg(unix)]
#[test]
fn init_does_not_follow_a_symlink_out_of_the_project() {
    let sb = Sandbox::new();
    let outside = TempDir::new().unwrap();
    std::fs::create_dir(sb.dir("shop")).unwrap();
    std::os::unix::fs::symlink(outside.path(), sb.dir("shop/public")).unwrap();
    let stderr = sb.invalid(&["init", "lamp", "shop", "--force"]);
    assert!(
        stderr.contains("public is a symlink that leads outside"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(!sb.dir("shop/pier.yaml").exists());
}

#[test]
fn a_value_outside_quotes_in_a_user_template_is_rejected_with_its_position() {
    let mut sb = Sandbox::new();
    let extra = TempDir::new().unwrap();
    user_stack(
        extra.path(),
        "sloppy",
        "name: sloppy\ndescription: d\nparameters:\n  - {name: image, type: string, default: nginx}\n",
        "services:\n  web:\n    image: {{image}}\n",
        &[],
    );
    sb.stacks_path = Some(extra.path().into());
    let stderr = sb.invalid(&["init", "sloppy", "p"]);
    let expected = format!(
        "{}:3:12: error:",
        extra.path().join("sloppy/pier.yaml.hbs").display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("outside double quotes"), "{stderr}");
    assert!(!sb.dir("p").exists());
}

/// Docker Compose v2, where installed (as in tests/compose_oracle.rs).
fn compose_v2() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PIER_COMPOSE_V2") {
        return Some(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/compose/docker-compose");
    local.is_file().then_some(local)
}

/// A different valid value for every parameter of `stack` (from `pier list
/// STACK --json`), as `--set` arguments; one set per non-default enum choice,
/// so every branch of every template is rendered.
fn override_sets(sb: &Sandbox, stack: &str) -> Vec<Vec<String>> {
    let info = sb.json(&["list", stack, "--json"]);
    let params = info["parameters"].as_array().unwrap();
    let mut common = Vec::new();
    let mut enum_choices: Vec<(String, Vec<String>)> = Vec::new();
    for p in params {
        let name = p["name"].as_str().unwrap();
        let value = match p["type"].as_str().unwrap() {
            "string" => format!("{}-x", p["default"].as_str().unwrap()),
            "int" => {
                let default = p["default"].as_i64().unwrap();
                let min = p["min"].as_i64().unwrap_or(i64::MIN);
                if default > min {
                    min.to_string()
                } else {
                    (default + 1).to_string()
                }
            }
            "bool" => (!p["default"].as_bool().unwrap()).to_string(),
            "port" => (p["default"].as_i64().unwrap() + 1000).to_string(),
            "secret" => format!("Set{name}42"),
            "enum" => {
                let choices = p["choices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string());
                let others = choices
                    .filter(|c| c != p["default"].as_str().unwrap())
                    .collect();
                enum_choices.push((name.to_string(), others));
                continue;
            }
            other => panic!("{stack}: unknown parameter type {other}"),
        };
        common.push(format!("{name}={value}"));
    }
    let mut sets = vec![common.clone()];
    for (name, others) in enum_choices {
        for choice in others {
            let mut set = common.clone();
            set.push(format!("{name}={choice}"));
            sets.push(set);
        }
    }
    sets
}

/// `pier init` then `pier -f DIR/pier.yaml config` for every built-in stack,
/// with the defaults and with every parameter overridden: the loader accepts
/// what the templates render, and `.env` feeds the `${VAR}`s.
#[test]
fn every_rendered_stack_loads_with_pier_config() {
    let sb = Sandbox::new();
    let compose = compose_v2();
    if compose.is_none() {
        eprintln!(
            "note: Docker Compose v2 not found (scripts/install-compose-v2.sh or PIER_COMPOSE_V2); \
             checking the rendered stacks with pier only"
        );
    }
    for stack in BUILT_INS {
        let mut runs = vec![Vec::new()];
        runs.extend(override_sets(&sb, stack));
        for (i, sets) in runs.iter().enumerate() {
            let dir = sb.dir(&format!("{stack}-{i}"));
            let mut args = vec![
                "init".to_string(),
                stack.to_string(),
                dir.display().to_string(),
            ];
            for set in sets {
                args.extend(["--set".to_string(), set.clone()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            sb.ok(&args);
            let file = dir.join("pier.yaml");
            let (code, stdout, stderr) = sb.run(&[
                "-f",
                file.to_str().unwrap(),
                "config",
                "--json",
                "--show-secrets",
            ]);
            assert_eq!(
                code, 0,
                "{stack} with {sets:?}: pier config failed:\n{stderr}"
            );
            assert!(
                !stderr.contains("warning"),
                "{stack} with {sets:?}: warnings:\n{stderr}"
            );
            let config: Json = serde_json::from_str(&stdout).unwrap();
            if let Some(compose) = &compose {
                let out = std::process::Command::new(compose)
                    .args(["-f", file.to_str().unwrap(), "config", "-q"])
                    .current_dir(&dir)
                    .env_clear()
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{stack} with {sets:?}: Docker Compose rejects it:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let vars = env_vars(dir.join(".env"));
            let text = serde_json::to_string(&config).unwrap();
            // Every secret reached the configuration through .env interpolation...
            let secret_vars: Vec<&String> = vars
                .keys()
                .filter(|k| k.contains("PASSWORD") || k.contains("SECRET"))
                .collect();
            assert!(!secret_vars.is_empty());
            let used = secret_vars
                .iter()
                .filter(|k| text.contains(vars[**k].as_str()))
                .count();
            assert!(
                used > 0,
                "{stack}: no secret value reached the configuration"
            );
            // ...and overridden values show up in it.
            if let Some(port) = sets.iter().find_map(|s| s.strip_prefix("web_port=")) {
                assert!(
                    text.contains(&format!("\"published\":\"{port}\""))
                        || text.contains(&format!("\"published\":{port}")),
                    "{stack}: web port {port} not in {text}"
                );
            }
        }
    }
}

/// The hostile value comes out of the whole pipeline (render, load,
/// interpolate) exactly as it went in.
#[test]
fn hostile_values_survive_pier_config_unchanged() {
    let sb = Sandbox::new();
    let hostile = "x\" injected: true\nservices: {}\n# '{{db_user}}' ${HOME} $$ $x \\ end";
    for (stack, service, var) in [
        ("lamp", "web", "DB_NAME"),
        ("django", "db", "POSTGRES_DB"),
        ("dotnet", "web", "DB_NAME"),
    ] {
        let dir = sb.dir(stack);
        sb.ok(&[
            "init",
            stack,
            dir.to_str().unwrap(),
            "--set",
            &format!("db_name={hostile}"),
        ]);
        let file = dir.join("pier.yaml");
        let config = sb.json(&["-f", file.to_str().unwrap(), "config", "--json"]);
        assert_eq!(
            config["services"][service]["environment"][var], hostile,
            "{stack}"
        );
    }
}

#[test]
fn a_template_that_renders_an_invalid_stack_writes_nothing() {
    let mut sb = Sandbox::new();
    let extra = TempDir::new().unwrap();
    user_stack(
        extra.path(),
        "broken",
        "name: broken\ndescription: d\nparameters:\n  - {name: needs, type: string, default: db}\n",
        "services:\n  web:\n    image: nginx\n    depends_on: [\"{{needs}}\"]\n",
        &[],
    );
    sb.stacks_path = Some(extra.path().into());
    let stderr = sb.invalid(&["init", "broken", "p"]);
    assert!(stderr.contains("renders an invalid pier.yaml"), "{stderr}");
    assert!(stderr.contains("bug in the stack template"), "{stderr}");
    assert!(stderr.contains("services.web.depends_on[0]"), "{stderr}");
    assert!(!sb.dir("p").exists());
    // With a value that makes it valid, the same template works.
    user_stack(
        extra.path(),
        "broken",
        "name: broken\ndescription: d\nparameters:\n  - {name: needs, type: string, default: db}\n",
        "services:\n  web:\n    image: nginx\n    depends_on: [\"{{needs}}\"]\n  db:\n    image: postgres\n",
        &[],
    );
    sb.ok(&["init", "broken", "p"]);
    assert!(sb.dir("p/pier.yaml").exists());
}
