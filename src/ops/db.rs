//! `pier db export` and `pier db import`: a database's dump and load through its
//! own tools inside its container (mariadb-dump/mysqldump/pg_dump, mariadb/mysql/
//! psql), streamed through exec, compressed by the file's name (`.gz`, `.zst`).
//!
//! The database service is the one labelled `io.pier.db` (the built-in stacks
//! label theirs), else the one running an official image (mariadb, mysql,
//! postgres). Credentials stay in the container: the commands read them from its
//! environment (`$MARIADB_ROOT_PASSWORD`, …; `io.pier.db.*-env` labels name other
//! variables), so no secret passes through pier's arguments or output.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::diagnostic::Diagnostic;
use crate::engine::{Engine, ExecAs, ExecRequest, OutputKind};
use crate::error::{Error, Result, ToolFailed};
use crate::event::{EventSink, Meter};
use crate::labels;
use crate::stack::model::Stack;

use super::project::ProjectContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MariaDb,
    MySql,
    Postgres,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "mariadb" => Some(Kind::MariaDb),
            "mysql" => Some(Kind::MySql),
            "postgres" | "postgresql" => Some(Kind::Postgres),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MariaDb => "mariadb",
            Kind::MySql => "mysql",
            Kind::Postgres => "postgres",
        }
    }

    /// (database, user, password) variables of the official image.
    fn default_env(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::MariaDb => ("MARIADB_DATABASE", "", "MARIADB_ROOT_PASSWORD"),
            Kind::MySql => ("MYSQL_DATABASE", "", "MYSQL_ROOT_PASSWORD"),
            Kind::Postgres => ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"),
        }
    }
}

/// What a service's `io.pier.db` label, else its image, says it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recognised {
    Db(Kind),
    /// SQL Server (label `sqlserver`/`mssql`, or Microsoft's image
    /// `mcr.microsoft.com/mssql/server`): recognised but not dumped. Its dump is
    /// a BACKUP file the server writes inside the container, not SQL a client
    /// prints, so `db` says so and how, rather than calling the stack
    /// database-less.
    SqlServer,
}

impl Recognised {
    fn of(label: Option<&str>, image: &str) -> Option<Recognised> {
        match label {
            Some("sqlserver" | "mssql") => Some(Recognised::SqlServer),
            Some(label) => Kind::parse(label).map(Recognised::Db),
            None => {
                let repository = repository(image);
                if repository.ends_with("mssql/server") {
                    return Some(Recognised::SqlServer);
                }
                // An official image by its last path component (`mariadb:11`,
                // `docker.io/library/postgres:17`).
                let name = repository.rsplit('/').next()?;
                Kind::parse(name)
                    .filter(|_| name != "postgresql")
                    .map(Recognised::Db)
            }
        }
    }
}

/// An image reference without its tag or digest: `localhost:5000/mssql/server`
/// of `localhost:5000/mssql/server:2022@sha256:…` (a ':' before the last '/' is
/// a registry's port).
fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => image,
    }
}

/// A database service and the environment variables holding its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub service: String,
    pub kind: Kind,
    pub name_env: String,
    /// Empty: root (MariaDB, MySQL).
    pub user_env: String,
    pub password_env: String,
}

/// The database service: `requested`, else the only one in the stack.
pub fn find(stack: &Stack, requested: Option<&str>) -> Result<Database> {
    let recognised: Vec<(&str, Recognised)> = stack
        .services
        .iter()
        .filter_map(|(name, svc)| {
            let label = svc.labels.get(labels::DB).map(String::as_str);
            Some((name.as_str(), Recognised::of(label, &stack.image_of(name))?))
        })
        .collect();
    let database = |name: &str, kind: Kind| -> Database {
        let svc = &stack.services[name];
        let (db, user, password) = kind.default_env();
        let env = |key: &str, default: &str| svc.labels.get(key).cloned().unwrap_or(default.into());
        Database {
            service: name.to_string(),
            kind,
            name_env: env(labels::DB_NAME_ENV, db),
            user_env: env(labels::DB_USER_ENV, user),
            password_env: env(labels::DB_PASSWORD_ENV, password),
        }
    };
    let hint =
        "label the service `io.pier.db: mariadb|mysql|postgres` (official images are recognised)";
    let unsupported = |name: &str| {
        Error::invalid(
            Diagnostic::error(
                "",
                format!("service `{name}` runs SQL Server, which `pier db` cannot dump or load"),
            )
            .with_hint(format!(
                "SQL Server's dump is a backup file its server writes: in `pier exec {name} bash` run `/opt/mssql-tools18/bin/sqlcmd -C -S localhost -U sa -P \"$MSSQL_SA_PASSWORD\" -Q \"BACKUP DATABASE [NAME] TO DISK = '/var/opt/mssql/NAME.bak'\"`; `pier snapshot {name}` keeps its whole volume"
            )),
        )
    };
    if let Some(name) = requested {
        super::project::check_services(
            &[name.to_string()],
            &stack
                .services
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )?;
        return match recognised.iter().find(|(n, _)| *n == name) {
            Some((_, Recognised::Db(kind))) => Ok(database(name, *kind)),
            Some((_, Recognised::SqlServer)) => Err(unsupported(name)),
            None => Err(Error::invalid(
                Diagnostic::error("", format!("service `{name}` is no database pier knows"))
                    .with_hint(hint),
            )),
        };
    }
    let all: Vec<Database> = recognised
        .iter()
        .filter_map(|(name, r)| match r {
            Recognised::Db(kind) => Some(database(name, *kind)),
            Recognised::SqlServer => None,
        })
        .collect();
    match all.len() {
        1 => Ok(all.into_iter().next().expect("one")),
        // No database pier dumps: what was recognised, if anything, is SQL Server.
        0 => match recognised.first() {
            Some((name, _)) => Err(unsupported(name)),
            None => Err(Error::invalid(
                Diagnostic::error("", "the stack has no database service").with_hint(hint),
            )),
        },
        _ => Err(Error::invalid(
            Diagnostic::error("", "the stack has several database services").with_hint(format!(
                "name one: {}",
                all.iter()
                    .map(|d| d.service.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        )),
    }
}

/// Shell words that set the client's credentials from the container's environment.
fn login(db: &Database) -> String {
    match db.kind {
        Kind::MariaDb | Kind::MySql => {
            let user = if db.user_env.is_empty() {
                "root".to_string()
            } else {
                format!("\"${}\"", db.user_env)
            };
            format!(
                "export MYSQL_PWD=\"${}\"; exec {{tool}} -u{user}",
                db.password_env
            )
        }
        Kind::Postgres => format!(
            "export PGPASSWORD=\"${pw}\"; exec {{tool}} -h 127.0.0.1 -U \"${user}\"",
            pw = db.password_env,
            user = db.user_env
        ),
    }
}

fn with_tool(db: &Database, tools: &[&str], rest: &str) -> Vec<String> {
    // The first tool the image has (MariaDB 11 dropped the mysql* names).
    let pick = tools
        .iter()
        .map(|t| format!("command -v {t} >/dev/null 2>&1 && t={t} ||"))
        .collect::<Vec<_>>()
        .join(" ");
    let name = format!("\"${}\"", db.name_env);
    let script = format!(
        "{pick} t={last}; {}",
        login(db).replace("{tool}", "$t") + " " + &rest.replace("{db}", &name),
        last = tools.last().expect("a tool")
    );
    vec!["sh".into(), "-c".into(), script]
}

/// The dump command, writing SQL to stdout.
pub fn dump_command(db: &Database) -> Vec<String> {
    match db.kind {
        Kind::MariaDb | Kind::MySql => with_tool(
            db,
            &["mariadb-dump", "mysqldump"],
            "--single-transaction --routines --triggers --no-tablespaces {db}",
        ),
        Kind::Postgres => with_tool(db, &["pg_dump"], "--no-owner --no-privileges -d {db}"),
    }
}

/// The client reading SQL from stdin, stopping at the first error.
pub fn load_command(db: &Database) -> Vec<String> {
    match db.kind {
        Kind::MariaDb | Kind::MySql => with_tool(db, &["mariadb", "mysql"], "{db}"),
        Kind::Postgres => with_tool(db, &["psql"], "-q -v ON_ERROR_STOP=1 -d {db}"),
    }
}

/// A query's output through the client (one value per line).
fn query_command(db: &Database, sql: &str) -> Vec<String> {
    let rest = match db.kind {
        Kind::MariaDb | Kind::MySql => format!("-N -B -e \"{sql}\" {{db}}"),
        Kind::Postgres => format!("-t -A -c \"{sql}\" -d {{db}}"),
    };
    let tools: &[&str] = match db.kind {
        Kind::MariaDb | Kind::MySql => &["mariadb", "mysql"],
        Kind::Postgres => &["psql"],
    };
    with_tool(db, tools, &rest)
}

fn count_tables_sql(kind: Kind) -> &'static str {
    match kind {
        Kind::MariaDb | Kind::MySql => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
        }
        Kind::Postgres => {
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        }
    }
}

/// Empties the database (keeping it, its owner and grants).
fn drop_sql(db: &Database) -> String {
    match db.kind {
        Kind::MariaDb | Kind::MySql => format!(
            "DROP DATABASE \\`${n}\\`; CREATE DATABASE \\`${n}\\`",
            n = db.name_env
        ),
        Kind::Postgres => format!(
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION \\\"${}\\\"",
            db.user_env
        ),
    }
}

/// How a dump file is compressed, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn of_path(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// From the first bytes of a stream (for `-`).
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

#[derive(Debug)]
pub struct ExportReport {
    pub database: Database,
    pub path: Option<PathBuf>,
    /// SQL bytes dumped.
    pub bytes: u64,
}

#[derive(Debug)]
pub struct ImportReport {
    pub database: Database,
    pub bytes: u64,
    pub dropped: bool,
}

async fn container(engine: &Engine, ctx: &ProjectContext, db: &Database) -> Result<String> {
    super::exec::container(engine, ctx, &db.service).await
}

/// Run `cmd` and collect its stdout (small output: queries).
async fn run_collect(
    engine: &Engine,
    container: &str,
    cmd: Vec<String>,
    what: &str,
) -> Result<String> {
    let (code, output) = engine.exec(container, cmd).await?;
    if code != 0 {
        return Err(tool_failed(what, container, code, &output));
    }
    Ok(output)
}

fn tool_failed(what: &str, container: &str, code: i64, output: &str) -> Error {
    let lines: Vec<String> = output.lines().map(String::from).collect();
    Error::ToolFailed(Box::new(ToolFailed {
        what: what.to_string(),
        container: container.to_string(),
        code,
        output: lines[lines.len().saturating_sub(10)..].to_vec(),
        hint: "the database's own tool said the above; `pier logs` shows the server's side".into(),
    }))
}

/// Dump the database into `path` (compressed by its name; written to a temporary
/// file renamed into place at the end) or, without a path, into `out`.
pub async fn export(
    engine: &Engine,
    ctx: &ProjectContext,
    db: Database,
    path: Option<&Path>,
    out: &mut dyn Write,
    sink: &EventSink,
) -> Result<ExportReport> {
    let container = container(engine, ctx, &db).await?;
    let request = ExecRequest {
        command: ExecAs {
            cmd: dump_command(&db),
            ..Default::default()
        },
        tty: false,
        stdin: false,
        size: None,
    };
    let session = engine.exec_start(&container, &request).await?;
    let tmp = path.map(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        p.with_file_name(format!(".{name}.pier-partial"))
    });
    // A file that cannot be written is a data problem (full disk, …); stdout that
    // cannot be is the reader's doing (`| head` closing the pipe ends pier quietly).
    let write_err = |e: std::io::Error| match &tmp {
        Some(tmp) => Error::DataWrite {
            path: tmp.clone(),
            source: e,
        },
        None => Error::io("<stdout>", e),
    };
    let mut writer: Box<dyn Write + '_> = match (&tmp, path) {
        (Some(tmp), Some(p)) => {
            let file = std::io::BufWriter::new(std::fs::File::create(tmp).map_err(write_err)?);
            match Compression::of_path(p) {
                Compression::Gzip => Box::new(flate2::write::GzEncoder::new(
                    file,
                    flate2::Compression::fast(),
                )),
                Compression::Zstd => Box::new(
                    zstd::stream::Encoder::new(file, 3)
                        .map_err(write_err)?
                        .auto_finish(),
                ),
                Compression::None => Box::new(file),
            }
        }
        _ => Box::new(&mut *out),
    };
    // Each chunk goes straight on (to the file's encoder, or stdout): nothing
    // holds more than one chunk of the dump.
    let mut output = session.output;
    let mut stderr = String::new();
    let mut bytes = 0u64;
    let mut failed = None;
    let mut meter = Meter::new(format!("dump of service {}", db.service), None, sink);
    while let Some(chunk) = output.next().await {
        let chunk = chunk?;
        match chunk.kind {
            OutputKind::Stderr => stderr.push_str(&String::from_utf8_lossy(&chunk.bytes)),
            _ => {
                bytes += chunk.bytes.len() as u64;
                if let Err(e) = writer.write_all(&chunk.bytes) {
                    failed = Some(e);
                    break;
                }
                meter.update(bytes);
            }
        }
    }
    let flushed = writer.flush();
    drop(writer);
    let cleanup = || {
        if let Some(t) = &tmp {
            let _ = std::fs::remove_file(t);
        }
    };
    if let Some(e) = failed.or(flushed.err()) {
        cleanup();
        return Err(write_err(e));
    }
    let code = super::exec::exit_code(engine, &session.id).await?;
    if code != 0 {
        cleanup();
        return Err(tool_failed(
            &format!("dumping the {} database", db.kind.as_str()),
            &container,
            code.into(),
            &stderr,
        ));
    }
    if let (Some(t), Some(p)) = (&tmp, path) {
        std::fs::rename(t, p).map_err(|e| Error::io(p, e))?;
    }
    meter.done(bytes);
    Ok(ExportReport {
        database: db,
        path: path.map(Path::to_path_buf),
        bytes,
    })
}

/// Where an import reads from.
pub enum Source {
    File(PathBuf),
    Stdin,
}

/// Load SQL into the database. A database that has tables is refused unless
/// `drop` (empty it first) or `force` (load on top).
pub async fn import(
    engine: &Engine,
    ctx: &ProjectContext,
    db: Database,
    source: Source,
    drop: bool,
    force: bool,
    sink: &EventSink,
) -> Result<ImportReport> {
    let container = container(engine, ctx, &db).await?;
    // Progress counts the source's bytes as read (compressed ones for a
    // compressed file, so that they run up to its size).
    let read_so_far = Arc::new(AtomicU64::new(0));
    let (reader, total): (Box<dyn Read + Send>, Option<u64>) = match &source {
        Source::File(path) => {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let size = file.metadata().ok().map(|m| m.len());
            let counted = Counting {
                inner: file,
                count: read_so_far.clone(),
            };
            let reader = decoder(
                Box::new(std::io::BufReader::with_capacity(1 << 20, counted)),
                Compression::of_path(path),
            )
            .map_err(|e| Error::io(path, e))?;
            (reader, size)
        }
        Source::Stdin => {
            let counted = Counting {
                inner: std::io::stdin(),
                count: read_so_far.clone(),
            };
            let mut stdin = std::io::BufReader::with_capacity(1 << 20, counted);
            let head = std::io::BufRead::fill_buf(&mut stdin)
                .map_err(|e| Error::io("<stdin>", e))?
                .to_vec();
            let reader = decoder(Box::new(stdin), Compression::sniff(&head))
                .map_err(|e| Error::io("<stdin>", e))?;
            (reader, None)
        }
    };
    let tables: u64 = run_collect(
        engine,
        &container,
        query_command(&db, count_tables_sql(db.kind)),
        "counting the database's tables",
    )
    .await?
    .trim()
    .parse()
    .unwrap_or(0);
    if tables > 0 && !drop && !force {
        return Err(Error::invalid(
            Diagnostic::error(
                "",
                format!("the database of service `{}` is not empty: it has {tables} table(s)", db.service),
            )
            .with_hint("`--drop` empties it first (its data is lost: `pier db export` or `pier snapshot` saves it); `--force` loads on top of what is there"),
        ));
    }
    if drop && tables > 0 {
        run_collect(
            engine,
            &container,
            query_command(&db, &drop_sql(&db)),
            "emptying the database",
        )
        .await?;
    }
    let request = ExecRequest {
        command: ExecAs {
            cmd: load_command(&db),
            ..Default::default()
        },
        tty: false,
        stdin: true,
        size: None,
    };
    let session = engine.exec_start(&container, &request).await?;
    // Read and decompress on a blocking thread, send into the client's stdin.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(16);
    let read = tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        loop {
            let mut buf = vec![0u8; 256 * 1024];
            match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let mut input = session.input;
    let mut meter = Meter::new(format!("load into service {}", db.service), total, sink);
    let counted = read_so_far.clone();
    let feeding = async move {
        let mut bytes = 0u64;
        while let Some(chunk) = rx.recv().await {
            let chunk = chunk?;
            bytes += chunk.len() as u64;
            if input.write_all(&chunk).await.is_err() {
                break; // the client quit: its output says why
            }
            meter.update(counted.load(Ordering::Relaxed));
        }
        let _ = input.shutdown().await;
        Ok::<(u64, Meter), std::io::Error>((bytes, meter))
    };
    let mut output = session.output;
    let collecting = async move {
        let mut text = String::new();
        while let Some(chunk) = output.next().await {
            if let Ok(chunk) = chunk {
                text.push_str(&String::from_utf8_lossy(&chunk.bytes));
            }
        }
        text
    };
    let (fed, text) = tokio::join!(feeding, collecting);
    let _ = read.await;
    let (bytes, meter) = fed.map_err(|e| Error::io("<sql input>", e))?;
    let code = super::exec::exit_code(engine, &session.id).await?;
    if code != 0 {
        return Err(tool_failed(
            &format!("loading SQL into the {} database", db.kind.as_str()),
            &container,
            code.into(),
            &text,
        ));
    }
    meter.done(read_so_far.load(Ordering::Relaxed));
    Ok(ImportReport {
        database: db,
        bytes,
        dropped: drop && tables > 0,
    })
}

/// A reader that counts what passes (read on the decoding thread, shown by the
/// feeding task).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn decoder(reader: Box<dyn Read + Send>, c: Compression) -> std::io::Result<Box<dyn Read + Send>> {
    Ok(match c {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::Decoder::new(reader)?),
        Compression::None => reader,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::fixture::StackFixture;

    #[test]
    fn finds_the_database_by_label_or_official_image() {
        let stack = StackFixture::new("p")
            .service("db", |s| {
                s.image("pier-standin/mariadb:11").with(|s| {
                    s.labels.insert(labels::DB.into(), "mariadb".into());
                })
            })
            .service("web", |s| s.image("php:8"))
            .build();
        let db = find(&stack, None).unwrap();
        assert_eq!((db.service.as_str(), db.kind), ("db", Kind::MariaDb));
        assert_eq!(db.password_env, "MARIADB_ROOT_PASSWORD");
        assert_eq!(find(&stack, Some("web")).unwrap_err().exit_code(), 2);

        let pg = StackFixture::new("p")
            .service("store", |s| s.image("docker.io/library/postgres:17"))
            .build();
        assert_eq!(find(&pg, None).unwrap().kind, Kind::Postgres);
        let none = StackFixture::new("p")
            .service("web", |s| s.image("nginx"))
            .build();
        assert!(
            find(&none, None)
                .unwrap_err()
                .to_string()
                .contains("io.pier.db")
        );
    }

    #[test]
    fn sql_server_is_named_not_mistaken_for_no_database() {
        let stack = StackFixture::new("p")
            .service("db", |s| {
                s.image("mcr.microsoft.com/mssql/server:2022-latest")
            })
            .service("web", |s| s.image("nginx"))
            .build();
        for requested in [None, Some("db")] {
            let err = find(&stack, requested).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            let Error::Invalid(diagnostics) = &err else {
                panic!("{err:?}")
            };
            let text = format!("{} {:?}", diagnostics[0].message, diagnostics[0].hint);
            assert!(text.contains("`db` runs SQL Server"), "{text}");
            assert!(text.contains("BACKUP DATABASE"), "{text}");
        }
        // A supported database beside it is still found.
        let both = StackFixture::new("p")
            .service("mssql", |s| {
                s.image("mcr.microsoft.com/mssql/server:2022-latest")
            })
            .service("pg", |s| s.image("postgres:17"))
            .build();
        assert_eq!(find(&both, None).unwrap().service, "pg");
        assert_eq!(
            Recognised::of(None, "example.com/mssql/server-tools:1"),
            None
        );
        assert_eq!(
            Recognised::of(Some("sqlserver"), "anything"),
            Some(Recognised::SqlServer)
        );
        assert_eq!(
            Recognised::of(None, "localhost:5000/mssql/server:2022-latest"),
            Some(Recognised::SqlServer)
        );
        assert_eq!(
            Recognised::of(None, "localhost:5000/library/postgres@sha256:00"),
            Some(Recognised::Db(Kind::Postgres))
        );
    }

    #[test]
    fn commands_read_credentials_in_the_container() {
        let db = Database {
            service: "db".into(),
            kind: Kind::MariaDb,
            name_env: "MARIADB_DATABASE".into(),
            user_env: String::new(),
            password_env: "MARIADB_ROOT_PASSWORD".into(),
        };
        let cmd = dump_command(&db);
        assert_eq!(cmd[..2], ["sh", "-c"]);
        assert!(
            cmd[2].contains("export MYSQL_PWD=\"$MARIADB_ROOT_PASSWORD\"; exec $t -uroot"),
            "{}",
            cmd[2]
        );
        assert!(cmd[2].ends_with("\"$MARIADB_DATABASE\""), "{}", cmd[2]);
        assert_eq!(
            Compression::of_path(Path::new("a.sql.gz")),
            Compression::Gzip
        );
        assert_eq!(
            Compression::of_path(Path::new("a.sql.zst")),
            Compression::Zstd
        );
        assert_eq!(Compression::of_path(Path::new("a.sql")), Compression::None);
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Compression::Gzip);
    }
}
