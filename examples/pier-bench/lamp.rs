//! lamp-ready: from `up` until the lamp stack's page reports its database
//! connection, with a fresh data volume each time and the images present (the
//! stand-ins from scripts/build-standins.sh; the web image built beforehand).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{Env, Tool, floor_cmd, timed};

const WEB_PORT: u16 = 18380;
const PMA_PORT: u16 = 18381;
const CONNECTED: &str = "Connected to database";
const TOOLS: [Tool; 3] = [Tool::Pier, Tool::V2, Tool::Floor];

/// The page's body, if it answers at all.
fn fetch(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

fn until_connected(deadline: Duration) -> Result<(), String> {
    let t = Instant::now();
    while t.elapsed() < deadline {
        if fetch(WEB_PORT).is_some_and(|b| b.contains(CONNECTED)) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "the lamp page did not report `{CONNECTED}` within {deadline:?}"
    ))
}

fn image_present(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Render the lamp stack with the stand-ins, build each tool's web image (untimed),
/// then time `rounds` rounds, tools alternating.
pub fn run(env: &Env, rounds: usize) -> Result<BTreeMap<Tool, Vec<Duration>>, String> {
    for image in [
        "pier-standin/php:8.4-apache",
        "pier-standin/mariadb:11.8",
        "pier-standin/phpmyadmin:5.2",
    ] {
        if !image_present(image) {
            return Err(format!(
                "image {image} is missing (scripts/build-standins.sh builds it)"
            ));
        }
    }
    // One set of project names (and so of web image names) for every lamp round.
    env.round.set(0);
    let dir = env.dir.path().join("lamp");
    timed(
        Command::new(&env.pier)
            .args(["init", "lamp"])
            .arg(&dir)
            .args(["--set", "php_image=pier-standin/php"])
            .args(["--set", "mariadb_image=pier-standin/mariadb"])
            .args(["--set", "phpmyadmin_image=pier-standin/phpmyadmin"])
            .args(["--set", &format!("web_port={WEB_PORT}")])
            .args(["--set", &format!("phpmyadmin_port={PMA_PORT}")]),
    )?;
    let file = dir.join("pier.yaml");
    let result = measure(env, &file, rounds);
    for tool in TOOLS {
        let _ = Command::new("docker")
            .args(["image", "rm", &format!("{}-web", env.project("lamp", tool))])
            .output();
    }
    result
}

fn measure(env: &Env, file: &Path, rounds: usize) -> Result<BTreeMap<Tool, Vec<Duration>>, String> {
    // Build the web image once (pier), name it for the other tools' projects too.
    let built = format!("{}-web", env.project("lamp", Tool::Pier));
    timed(
        env.cmd(Tool::Pier, file, &env.project("lamp", Tool::Pier))
            .args(["up", "--wait-timeout", "300"]),
    )?;
    down(env, file, Tool::Pier)?;
    for tool in [Tool::V2, Tool::Floor] {
        timed(Command::new("docker").args([
            "tag",
            &built,
            &format!("{}-web", env.project("lamp", tool)),
        ]))?;
    }
    let mut samples: BTreeMap<Tool, Vec<Duration>> = BTreeMap::new();
    for round in 0..rounds {
        eprintln!("lamp round {}/{rounds}", round + 1);
        let mut order = TOOLS.to_vec();
        order.rotate_left(round % TOOLS.len());
        for tool in order {
            let project = env.project("lamp", tool);
            let t = Instant::now();
            match tool {
                Tool::Pier => {
                    timed(env.cmd(tool, file, &project).arg("up"))?;
                }
                Tool::V2 => {
                    timed(env.cmd(tool, file, &project).args(["up", "-d", "--wait"]))?;
                }
                _ => {
                    timed(&mut floor_cmd("up", file, &project))?;
                }
            }
            let ready = until_connected(Duration::from_secs(120));
            let elapsed = t.elapsed();
            down(env, file, tool)?;
            ready?;
            samples.entry(tool).or_default().push(elapsed);
        }
    }
    Ok(samples)
}

/// Down with volumes, so every run starts with a fresh database.
fn down(env: &Env, file: &Path, tool: Tool) -> Result<(), String> {
    let project = env.project("lamp", tool);
    let tool = if tool == Tool::Floor {
        Tool::Pier
    } else {
        tool
    };
    timed(env.cmd(tool, file, &project).args(["down", "-v"])).map(drop)
}
