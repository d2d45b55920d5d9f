//! pier-bench: pier against docker compose v1 and v2 and the engine's floor, on the
//! same stacks, on the same engine, in one run. Each round runs every case with
//! every tool, in an order that rotates from round to round, so load from other
//! work on the machine falls on all tools alike. Prints a Markdown table of
//! medians and ratios (scripts/bench.sh puts it into BENCHMARKS.md).
//!
//!     cargo run --release --example pier-bench -- [--rounds N] [--quick] [--no-lamp] [--lamp-only] [--pier PATH]
//!
//! Needs: target/release/pier, /usr/bin/docker-compose (v1), .tools/compose/docker-compose
//! (v2, scripts/install-compose-v2.sh), /bin/busybox (busybox-static) for the image
//! `pier-bench/busybox:2` it builds when missing, /usr/bin/time for peak memory, and
//! for lamp-ready the `pier-standin/*` images (scripts/build-standins.sh).
//! Projects are named `pierbench-*`; everything they create is removed at the end,
//! also when a case fails.

mod floor;
mod lamp;
mod stacks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pier::stack::model::Stack;
use pier::stack::{LoadOptions, load};

pub const IMAGE: &str = "pier-bench/busybox:2";
const PREFIX: &str = "pierbench";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Tool {
    Pier,
    V1,
    V2,
    Floor,
}

impl Tool {
    fn key(self) -> &'static str {
        match self {
            Tool::Pier => "pier",
            Tool::V1 => "v1",
            Tool::V2 => "v2",
            Tool::Floor => "floor",
        }
    }
}

pub struct Env {
    pub repo: PathBuf,
    pub pier: PathBuf,
    pub v1: PathBuf,
    pub v2: PathBuf,
    pub dir: tempfile::TempDir,
    /// In every project name, with the process id, so that a network the engine
    /// failed to remove (moby/moby#43286) in one round, or in an earlier run, does
    /// not get in the way of the next.
    pub round: std::cell::Cell<usize>,
}

impl Env {
    pub fn project(&self, case: &str, tool: Tool) -> String {
        format!(
            "{PREFIX}-{case}-{}-r{}-{}",
            tool.key(),
            self.round.get(),
            std::process::id()
        )
    }

    /// The command line of `tool` on `file` for `project`, before the verb.
    pub fn cmd(&self, tool: Tool, file: &Path, project: &str) -> Command {
        let mut c = match tool {
            Tool::Pier => {
                let mut c = Command::new(&self.pier);
                c.arg("--progress").arg("quiet");
                c
            }
            Tool::V1 => Command::new(&self.v1),
            Tool::V2 => Command::new(&self.v2),
            Tool::Floor => unreachable!("the floor runs through floor_cmd"),
        };
        c.arg("-f").arg(file).arg("-p").arg(project);
        c.env("DOCKER_API_VERSION", "1.41");
        c.stdin(Stdio::null());
        c
    }
}

/// Run a command to success; its wall time.
pub fn timed(cmd: &mut Command) -> Result<Duration, String> {
    let t = Instant::now();
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    let elapsed = t.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(elapsed)
}

fn quiet(cmd: &mut Command) {
    let _ = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status();
}

pub fn load_stack(file: &Path, project: &str) -> Stack {
    load(&LoadOptions {
        files: vec![file.to_path_buf()],
        project_name: Some(project.to_string()),
        cwd: file.parent().unwrap().to_path_buf(),
        environment: std::env::vars().collect(),
        ..LoadOptions::default()
    })
    .unwrap_or_else(|e| panic!("loading {}: {e}", file.display()))
    .stack
}

/// The floor as a program of its own (`pier-bench floor OP FILE PROJECT`), timed
/// like the tools: every tool pays for starting a process and reading the stack
/// file, so the least any tool can do includes that too.
pub fn floor_cmd(op: &str, file: &Path, project: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().expect("own path"));
    c.args(["floor", op]).arg(file).arg(project);
    c.stdin(Stdio::null());
    c
}

/// `pier-bench floor up|noop|down FILE PROJECT`: what `floor_cmd` runs.
fn floor_main(args: &[String]) -> ! {
    let [op, file, project] = args else {
        eprintln!("usage: pier-bench floor up|noop|down FILE PROJECT");
        std::process::exit(2)
    };
    let stack = load_stack(Path::new(file), project);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(async {
        match op.as_str() {
            "up" => floor::up(&stack).await,
            "noop" => floor::noop(&stack).await,
            "down" => floor::down(&stack).await,
            other => Err(format!("unknown floor operation {other}")),
        }
    });
    if let Err(e) = result {
        eprintln!("floor {op}: {e}");
        std::process::exit(1)
    }
    std::process::exit(0)
}

/// Samples per (case, tool).
#[derive(Default)]
struct Results {
    samples: BTreeMap<(&'static str, Tool), Vec<Duration>>,
    memory: BTreeMap<Tool, u64>,
    failures: BTreeMap<(&'static str, Tool), usize>,
}

impl Results {
    fn add(&mut self, case: &'static str, tool: Tool, d: Duration) {
        self.samples.entry((case, tool)).or_default().push(d);
    }

    fn of(&self, case: &str, tool: Tool) -> Option<&Vec<Duration>> {
        self.samples
            .iter()
            .find(|((c, t), _)| *c == case && *t == tool)
            .map(|(_, v)| v)
    }

    fn median(&self, case: &str, tool: Tool) -> Option<Duration> {
        let mut v = self.of(case, tool)?.clone();
        v.sort();
        Some(v[v.len() / 2])
    }

    /// Fastest and slowest sample.
    fn range(&self, case: &str, tool: Tool) -> Option<(Duration, Duration)> {
        let v = self.of(case, tool)?;
        Some((*v.iter().min()?, *v.iter().max()?))
    }

    /// What pier is compared with: compose v2's median, or the faster compose's.
    fn compose(&self, case: &str, v2_only: bool) -> Option<Duration> {
        let v2 = self.median(case, Tool::V2);
        if v2_only {
            v2
        } else {
            self.median(case, Tool::V1).into_iter().chain(v2).min()
        }
    }
}

/// Remove every container, network and volume of the benchmark's projects.
fn clean_all() {
    let names = |args: &[&str]| -> Vec<String> {
        let out = Command::new("docker").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with(PREFIX))
            .map(String::from)
            .collect()
    };
    let containers = names(&["ps", "-a", "--format", "{{.Names}}"]);
    if !containers.is_empty() {
        quiet(
            Command::new("docker")
                .args(["rm", "-f", "-v"])
                .args(&containers),
        );
    }
    // By id: the engine allows two networks of one name, and then refuses the name.
    for line in names(&["network", "ls", "--format", "{{.Name}} {{.ID}}"]) {
        if let Some((_, id)) = line.split_once(' ') {
            quiet(Command::new("docker").args(["network", "rm", id]));
        }
    }
    for v in names(&["volume", "ls", "--format", "{{.Name}}"]) {
        quiet(Command::new("docker").args(["volume", "rm", "-f", &v]));
    }
}

struct Cleanup;
impl Drop for Cleanup {
    fn drop(&mut self) {
        clean_all();
    }
}

fn ensure_image() {
    let present = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("busybox"))
        .expect("needs a static busybox at /bin/busybox (apt-get install busybox-static)");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox --install -s /bin && mkdir -m 1777 /tmp\"]\n",
    )
    .unwrap();
    timed(
        Command::new("docker")
            .args(["build", "-q", "-t", IMAGE])
            .arg(dir.path()),
    )
    .expect("building the benchmark image");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "floor") {
        floor_main(&args[1..]);
    }
    // `pier-bench stacks DIR`: write the cases' stack files (scripts/bench-profile.sh).
    if let [cmd, dir] = args.as_slice()
        && cmd == "stacks"
    {
        ensure_image();
        stacks::write_all(Path::new(dir));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let lamp_on = !args.iter().any(|a| a == "--no-lamp");
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if quick { 3 } else { 7 });
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // `--pier PATH` compares another build (e.g. before and after a change).
    let pier = args
        .iter()
        .position(|a| a == "--pier")
        .and_then(|i| args.get(i + 1))
        .map_or_else(|| repo.join("target/release/pier"), PathBuf::from);
    let env = Env {
        pier,
        v1: PathBuf::from("/usr/bin/docker-compose"),
        v2: repo.join(".tools/compose/docker-compose"),
        repo,
        dir: tempfile::tempdir().unwrap(),
        round: std::cell::Cell::new(0),
    };
    for p in [&env.pier, &env.v1, &env.v2] {
        assert!(
            p.exists(),
            "{} is missing (see scripts/bench.sh)",
            p.display()
        );
    }
    ensure_image();
    clean_all();
    let _cleanup = Cleanup;
    let files = stacks::write_all(env.dir.path());
    let mut r = Results::default();
    let tools = [Tool::Pier, Tool::V1, Tool::V2, Tool::Floor];
    let started = Instant::now();

    // `--lamp-only`: just lamp-ready (e.g. after the stand-in images changed).
    let rounds_main = if args.iter().any(|a| a == "--lamp-only") {
        0
    } else {
        rounds
    };
    for round in 0..rounds_main {
        eprintln!("round {}/{rounds}", round + 1);
        env.round.set(round);
        let mut order = tools.to_vec();
        order.rotate_left(round % tools.len());
        for &tool in &order {
            run_up_down(&env, &mut r, tool, "chain5", &files.chain5);
            run_wide(&env, &mut r, tool, &files.wide20);
            run_up_down(&env, &mut r, tool, "healthy3", &files.healthy3);
            run_cli(&env, &mut r, tool, &files.wide20);
        }
    }
    for tool in [Tool::Pier, Tool::V1, Tool::V2]
        .into_iter()
        .filter(|_| rounds_main > 0)
    {
        let project = env.project("mem", tool);
        let mut up = env.cmd(tool, &files.wide20, &project);
        up.arg("up");
        if tool != Tool::Pier {
            up.arg("-d");
        }
        match peak_rss(up) {
            Ok(kb) => {
                r.memory.insert(tool, kb);
            }
            Err(e) => eprintln!("memory / {}: {e}", tool.key()),
        }
        quiet(env.cmd(tool, &files.wide20, &project).arg("down"));
    }
    let lamp = if lamp_on {
        Some(lamp::run(&env, rounds.min(5)))
    } else {
        None
    };
    if let Some(Ok(samples)) = &lamp {
        for (tool, v) in samples {
            for d in v {
                r.add("lamp-ready", *tool, *d);
            }
        }
    }
    print_table(&r, rounds, lamp.as_ref().and_then(|l| l.as_ref().err()));
    eprintln!("took {:.0} s", started.elapsed().as_secs_f64());
}

fn up_cmd(env: &Env, tool: Tool, file: &Path, project: &str) -> Command {
    let mut c = env.cmd(tool, file, project);
    c.arg("up");
    if tool != Tool::Pier {
        c.arg("-d");
    }
    c
}

fn down_cmd(env: &Env, tool: Tool, file: &Path, project: &str) -> Command {
    let mut c = env.cmd(tool, file, project);
    c.arg("down");
    c
}

/// Record a sample, or the failure: the run goes on (a compose `down` now and then
/// trips over the engine's "network has active endpoints" race under load), and
/// the failure is counted in the table.
fn record(
    r: &mut Results,
    case: &'static str,
    tool: Tool,
    result: Result<Duration, String>,
) -> bool {
    match result {
        Ok(d) => {
            r.add(case, tool, d);
            true
        }
        Err(e) => {
            eprintln!("{case} / {}: {e}", tool.key());
            *r.failures.entry((case, tool)).or_default() += 1;
            clean_all();
            false
        }
    }
}

fn run_up_down(env: &Env, r: &mut Results, tool: Tool, case: &'static str, file: &Path) {
    let project = env.project(case, tool);
    if tool == Tool::Floor {
        if record(r, case, tool, timed(&mut floor_cmd("up", file, &project))) {
            record(
                r,
                "teardown",
                tool,
                timed(&mut floor_cmd("down", file, &project)),
            );
        }
    } else if record(r, case, tool, timed(&mut up_cmd(env, tool, file, &project))) {
        record(
            r,
            "teardown",
            tool,
            timed(&mut down_cmd(env, tool, file, &project)),
        );
    }
}

fn run_wide(env: &Env, r: &mut Results, tool: Tool, file: &Path) {
    let project = env.project("wide20", tool);
    if tool == Tool::Floor {
        let _ = record(
            r,
            "wide20",
            tool,
            timed(&mut floor_cmd("up", file, &project)),
        ) && record(
            r,
            "noop20",
            tool,
            timed(&mut floor_cmd("noop", file, &project)),
        ) && record(
            r,
            "down20",
            tool,
            timed(&mut floor_cmd("down", file, &project)),
        );
    } else {
        let _ = record(
            r,
            "wide20",
            tool,
            timed(&mut up_cmd(env, tool, file, &project)),
        ) && record(
            r,
            "noop20",
            tool,
            timed(&mut up_cmd(env, tool, file, &project)),
        ) && record(
            r,
            "down20",
            tool,
            timed(&mut down_cmd(env, tool, file, &project)),
        );
    }
}

fn run_cli(env: &Env, r: &mut Results, tool: Tool, file: &Path) {
    match tool {
        Tool::Floor => {}
        Tool::Pier => {
            record(r, "list", tool, timed(Command::new(&env.pier).arg("list")));
            let mut c = env.cmd(tool, file, "pierbench-config");
            record(r, "config", tool, timed(c.arg("config")));
        }
        Tool::V1 | Tool::V2 => {
            let mut c = env.cmd(tool, file, "pierbench-config");
            // One compose command answers both questions.
            if let Ok(d) = timed(c.arg("config")) {
                r.add("list", tool, d);
                r.add("config", tool, d);
            }
        }
    }
}

/// Maximum resident set size of a command, in kB (`/usr/bin/time -f %M`).
fn peak_rss(cmd: Command) -> Result<u64, String> {
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut c = Command::new("/usr/bin/time");
    c.arg("-f").arg("%M").arg("-o").arg(out.path());
    c.arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    timed(&mut c)?;
    let text = std::fs::read_to_string(out.path()).map_err(|e| e.to_string())?;
    text.trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("no peak memory in {text:?}"))
}

/// (case, what is timed, target as a factor of the faster compose, or of v2 only).
const CASES: &[(&str, &str, Option<f64>, bool)] = &[
    (
        "chain5",
        "up, 5 services in a service_started chain",
        Some(0.75),
        false,
    ),
    ("wide20", "up, 20 independent services", Some(0.92), false),
    (
        "healthy3",
        "up until all run: db (healthcheck, interval 1s) + 2 service_healthy dependents",
        Some(0.4),
        false,
    ),
    (
        "noop20",
        "up again on the running wide20, nothing changed",
        Some(0.5),
        true,
    ),
    ("down20", "down of wide20", Some(0.8), false),
    (
        "list",
        "cold `pier list` vs `docker-compose config`",
        Some(0.3),
        true,
    ),
    (
        "config",
        "cold `pier config` (wide20) vs `docker-compose config`",
        Some(0.3),
        true,
    ),
    (
        "lamp-ready",
        "lamp: `up` until the page reports its database connection; compose: `up -d --wait`, then the page",
        Some(0.6),
        true,
    ),
];

fn ms(d: Option<Duration>) -> String {
    d.map_or("—".into(), |d| format!("{:.0}", d.as_secs_f64() * 1000.0))
}

fn ratio(a: Option<Duration>, b: Option<Duration>) -> Option<f64> {
    Some(a?.as_secs_f64() / b?.as_secs_f64())
}

fn fmt_ratio(x: Option<f64>) -> String {
    x.map_or("—".into(), |x| format!("{x:.2}"))
}

fn print_table(r: &Results, rounds: usize, lamp_error: Option<&String>) {
    println!(
        "Medians of {rounds} rounds (lamp-ready: of {} rounds), in milliseconds; tools alternate within each round.\n",
        rounds.min(5)
    );
    println!(
        "| case | what is timed | pier | compose v1 | compose v2 | floor | pier / faster compose | target | pier / floor (≤ 1.10) | met |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|:-:|");
    for &(case, what, target, v2_only) in CASES {
        let pier = r.median(case, Tool::Pier);
        if pier.is_none() {
            continue;
        }
        let v1 = r.median(case, Tool::V1);
        let v2 = r.median(case, Tool::V2);
        let floor = r.median(case, Tool::Floor);
        let vs = ratio(pier, r.compose(case, v2_only));
        let vs_floor = ratio(pier, floor);
        let met_compose = match (vs, target) {
            (Some(x), Some(t)) => x <= t,
            _ => true,
        };
        let met_floor = vs_floor.is_none_or(|x| x <= 1.10);
        let label = if v2_only { " (v2)" } else { "" };
        println!(
            "| {case} | {what} | {} | {} | {} | {} | {}{label} | {} | {} | {} |",
            ms(pier),
            ms(v1),
            ms(v2),
            ms(floor),
            fmt_ratio(vs),
            target.map_or("—".into(), |t| format!("≤ {t:.2}")),
            fmt_ratio(vs_floor),
            if met_compose && met_floor {
                "yes"
            } else {
                "**no**"
            }
        );
    }
    let mem = |t| r.memory.get(&t).copied();
    if let (Some(p), Some(v2)) = (mem(Tool::Pier), mem(Tool::V2)) {
        let v1 = mem(Tool::V1).map_or("—".into(), |k| format!("{:.1}", k as f64 / 1024.0));
        let x = p as f64 / v2 as f64;
        println!(
            "| memory | peak RSS of `up` on wide20, MB | {:.1} | {v1} | {:.1} | — | {x:.2} (v2) | ≤ 0.40 | — | {} |",
            p as f64 / 1024.0,
            v2 as f64 / 1024.0,
            if x <= 0.4 { "yes" } else { "**no**" }
        );
    }
    for ((case, tool), n) in &r.failures {
        println!(
            "\n{case} / {}: {n} run(s) failed and were left out (see the log).",
            tool.key()
        );
    }
    if let Some(e) = lamp_error {
        println!("\nlamp-ready was not measured: {e}");
    }
    print_spread(r);
}

/// How far apart the rounds were, and the best any tool could do against compose
/// on this machine: a target below "floor / faster compose" is out of reach.
fn print_spread(r: &Results) {
    println!(
        "\nSpread over the rounds (fastest – slowest), in milliseconds, and the floor against compose:\n"
    );
    println!("| case | pier | compose v1 | compose v2 | floor | floor / faster compose |");
    println!("|---|---:|---:|---:|---:|---:|");
    for &(case, _, _, v2_only) in CASES {
        let range = |tool| {
            r.range(case, tool).map_or("—".into(), |(lo, hi)| {
                format!("{}–{}", ms(Some(lo)), ms(Some(hi)))
            })
        };
        if r.range(case, Tool::Pier).is_none() {
            continue;
        }
        println!(
            "| {case} | {} | {} | {} | {} | {} |",
            range(Tool::Pier),
            range(Tool::V1),
            range(Tool::V2),
            range(Tool::Floor),
            fmt_ratio(ratio(r.median(case, Tool::Floor), r.compose(case, v2_only))),
        );
    }
}
