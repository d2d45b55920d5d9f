//! `pier router status|stop`: `ops::router`'s status as a table or JSON, or stop it.

use std::io::Write;

use crate::cli::{RouterAction, RouterArgs};
use crate::engine::Engine;
use crate::error::Result;
use crate::event::EventSink;
use crate::ops;
use crate::ops::router::Status;
use crate::report::table::table;
use crate::router::Settings;

use super::{runtime, write_out};

pub fn run(args: &RouterArgs, sink: &EventSink, out: &mut dyn Write) -> Result<i32> {
    let settings = Settings::from_env()?;
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let text = match &args.action {
            RouterAction::Status { json } => {
                let status = ops::router::status(&engine, &settings).await?;
                match json {
                    true => super::masked_json(&status),
                    false => status_text(&status),
                }
            }
            RouterAction::Stop => {
                let interrupt = ops::interrupt::on_ctrl_c(sink.clone());
                match ops::router::stop(&engine, &interrupt, sink).await? {
                    true => "stopped the router (`pier up` starts it again)\n".to_string(),
                    false => "the router is not running\n".to_string(),
                }
            }
        };
        write_out(out, &text)?;
        Ok(0)
    })
}

pub fn status_text(s: &Status) -> String {
    let mut text = format!("router   {} ({})\n", s.state, s.container);
    if let Some(image) = &s.image {
        text.push_str(&format!("image    {image}\n"));
    }
    if !s.addresses.is_empty() {
        text.push_str(&format!("ports    {}\n", s.addresses.join(" ")));
    }
    if let Some(port) = s.https_port.filter(|&p| p != 443) {
        text.push_str(&format!(
            "note     HTTPS is on port {port}: 443 was taken when the router started\n"
        ));
    }
    text.push_str(&format!(
        "root CA  {}{}\n",
        s.root_cert.display(),
        if s.root_cert_exists {
            " (`pier trust` makes this machine trust it)"
        } else {
            " (not made yet: the router makes it when it first starts)"
        }
    ));
    if !s.enabled {
        text.push_str("off      PIER_ROUTER=off: `pier up` gives no names\n");
    }
    if s.projects.is_empty() {
        text.push_str("\nno project has names yet\n");
        return text;
    }
    let mut cells = vec![vec!["PROJECT".to_string(), "STATE".into(), "NAMES".into()]];
    for p in &s.projects {
        cells.push(vec![
            p.project.clone(),
            if p.running { "running" } else { "not running" }.into(),
            p.urls.join(" "),
        ]);
    }
    text.push('\n');
    text.push_str(&table(&cells));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::router::ProjectStatus;

    #[test]
    fn status_shows_ports_the_root_and_the_projects() {
        let status = Status {
            container: "pier-router",
            state: "running".into(),
            image: Some("caddy:2".into()),
            https_port: Some(10443),
            http_port: Some(80),
            addresses: vec![
                "127.0.0.1:80->80/tcp".into(),
                "127.0.0.1:10443->443/tcp".into(),
            ],
            root_cert: "/d/root.crt".into(),
            root_cert_exists: true,
            enabled: true,
            projects: vec![ProjectStatus {
                project: "shop".into(),
                dir: "/src/shop".into(),
                running: false,
                urls: vec!["https://shop.localhost:10443".into()],
            }],
        };
        assert_eq!(
            status_text(&status),
            "\
router   running (pier-router)
image    caddy:2
ports    127.0.0.1:80->80/tcp 127.0.0.1:10443->443/tcp
note     HTTPS is on port 10443: 443 was taken when the router started
root CA  /d/root.crt (`pier trust` makes this machine trust it)

PROJECT  STATE        NAMES
shop     not running  https://shop.localhost:10443
"
        );
    }
}
