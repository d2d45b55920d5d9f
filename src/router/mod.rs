//! Names and HTTPS for every project (the shared router): which services are
//! web services, the names they get, and the router's Caddy configuration —
//! plain data and text, unit-tested from strings. `ops::router` runs it on the
//! engine; `settings` says whether there is a router and where its CA lives.
//!
//! The names: every HTTP service of project `shop` answers at
//! `https://<service>.shop.localhost`, the project's main web service also at
//! `https://shop.localhost` (`*.localhost` is the loopback address by RFC 6761,
//! in browsers and curl, without `/etc/hosts` edits).
//!
//! Which container port is HTTP: the label `io.pier.http: "<port>"` on the
//! service; else the first port it publishes that `overview::scheme_for` calls
//! HTTP (80–89, 3000, 8000–8999, …). The main service: the one labelled
//! `io.pier.main: "true"`, else `web`, else the first HTTP service by name.

mod caddyfile;
pub mod settings;

use serde::{Deserialize, Serialize};

pub use caddyfile::caddyfile;
pub use settings::Settings;

use crate::labels;
use crate::overview::{Scheme, scheme_for};
use crate::stack::model::{Protocol, Service, Stack};

/// The router's container and the network it reaches services over.
pub const CONTAINER: &str = "pier-router";
pub const NETWORK: &str = "pier-router";
/// Where pier writes the router's configuration inside its container (through
/// the engine's archive API): the Caddyfile, and the routes it was made from.
pub const CADDYFILE: &str = "/etc/caddy/Caddyfile";
pub const ROUTES_FILE: &str = "/etc/caddy/pier-routes.json";
/// Where the router keeps its data (certificates, the local CA) in its
/// container: a bind mount of `Settings::data_dir`.
pub const DATA_MOUNT: &str = "/data";
/// The root certificate of the local CA, relative to the data directory
/// (Caddy's internal CA, named `local`).
pub const ROOT_CERT: &str = "caddy/pki/authorities/local/root.crt";
pub const ROOT_KEY: &str = "caddy/pki/authorities/local/root.key";

/// Host ports the router tries, in order, for HTTPS and for plain HTTP; 0 lets
/// the engine choose one when all are taken.
pub const HTTPS_PORTS: [u16; 3] = [443, 10443, 0];
pub const HTTP_PORTS: [u16; 3] = [80, 10080, 0];

/// One name of one service: `host` is served by `service`'s container `port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub service: String,
    /// The container port the router forwards to.
    pub port: u16,
    /// `web.shop.localhost`, and `shop.localhost` for the main service.
    pub hosts: Vec<String>,
}

/// A project's routes as the router keeps them: the running ones are served,
/// the others answer that the project is not running (and where to start it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRoutes {
    pub project: String,
    /// The project's directory, for the "not running — `pier up` in …" page.
    pub dir: String,
    pub running: bool,
    pub routes: Vec<Route>,
}

/// Every project the router knows, in project order (the file `ROUTES_FILE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub projects: Vec<ProjectRoutes>,
}

impl RouteTable {
    pub fn parse(text: &str) -> RouteTable {
        // A file pier did not write (or an older shape) starts the table afresh:
        // the next `up` of each project writes its routes again.
        serde_json::from_str(text).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("routes serialize") + "\n"
    }

    /// Add or replace a project's routes.
    pub fn set(&mut self, routes: ProjectRoutes) {
        self.projects.retain(|p| p.project != routes.project);
        self.projects.push(routes);
        self.projects.sort_by(|a, b| a.project.cmp(&b.project));
    }

    /// Mark a project not running (its names then say so); false when unknown.
    pub fn stop(&mut self, project: &str) -> bool {
        match self.projects.iter_mut().find(|p| p.project == project) {
            Some(p) => {
                p.running = false;
                true
            }
            None => false,
        }
    }

    pub fn get(&self, project: &str) -> Option<&ProjectRoutes> {
        self.projects.iter().find(|p| p.project == project)
    }

    /// Projects whose routes are served.
    pub fn running(&self) -> impl Iterator<Item = &ProjectRoutes> {
        self.projects.iter().filter(|p| p.running)
    }
}

/// A name usable as a DNS label: lowercase letters, digits and dashes (a
/// project `my_shop` is `my-shop.localhost`).
pub fn dns_label(name: &str) -> String {
    let label: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    label.trim_matches('-').to_string()
}

/// The alias a service's container has on the router's network.
pub fn alias(project: &str, service: &str) -> String {
    format!("{}.{}.pier", dns_label(service), dns_label(project))
}

/// The container port of `service` that serves HTTP, if any (see the module comment).
pub fn http_port(service: &Service) -> Option<u16> {
    if let Some(value) = service.labels.get(labels::HTTP) {
        return value.trim().parse().ok();
    }
    service
        .ports
        .iter()
        .filter(|p| p.protocol == Protocol::Tcp)
        .map(|p| p.target)
        .find(|&port| scheme_for(&format!("{port}/tcp")) == Scheme::Http)
}

/// The service that also answers at `<project>.localhost`.
pub fn main_service(stack: &Stack) -> Option<&str> {
    let http: Vec<&str> = stack
        .services
        .iter()
        .filter(|(_, s)| http_port(s).is_some())
        .map(|(name, _)| name.as_str())
        .collect();
    let labelled = http.iter().find(|name| {
        stack.services[**name]
            .labels
            .get(labels::MAIN)
            .is_some_and(|v| v.trim() == "true")
    });
    labelled
        .or_else(|| http.iter().find(|name| **name == "web"))
        .or_else(|| http.first())
        .copied()
}

/// The routes of `stack`'s HTTP services (of `only`, when not empty), main service first.
pub fn routes_of(stack: &Stack, only: &[String]) -> Vec<Route> {
    let project = dns_label(&stack.name);
    let main = main_service(stack);
    let mut routes: Vec<Route> = stack
        .services
        .iter()
        .filter(|(name, _)| only.is_empty() || only.contains(name))
        // A service on another's network (or the host's) cannot join the router's.
        .filter(|(_, service)| service.network_mode.is_none())
        .filter_map(|(name, service)| {
            let port = http_port(service)?;
            let mut hosts = vec![];
            if main == Some(name.as_str()) {
                hosts.push(format!("{project}.localhost"));
            }
            hosts.push(format!("{}.{project}.localhost", dns_label(name)));
            Some(Route {
                service: name.clone(),
                port,
                hosts,
            })
        })
        .collect();
    routes.sort_by_key(|r| Some(r.service.as_str()) != main);
    routes
}

/// The URL of `host` through the router on host port `https_port`.
pub fn url(host: &str, https_port: u16) -> String {
    match https_port {
        443 => format!("https://{host}"),
        port => format!("https://{host}:{port}"),
    }
}

/// The router's URLs of each service of a project: service → URLs, main name first.
pub fn urls_of(
    routes: &ProjectRoutes,
    https_port: u16,
) -> std::collections::BTreeMap<String, Vec<String>> {
    routes
        .routes
        .iter()
        .map(|r| {
            (
                r.service.clone(),
                r.hosts.iter().map(|h| url(h, https_port)).collect(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::fixture::StackFixture;

    fn lamp() -> Stack {
        StackFixture::new("my_shop")
            .service("web", |s| s.image("php").port("127.0.0.1", 8080, 80))
            .service("db", |s| s.image("mariadb").port("127.0.0.1", 3306, 3306))
            .service("phpmyadmin", |s| s.image("pma").port("127.0.0.1", 8081, 80))
            .build()
    }

    #[test]
    fn http_services_get_names_and_the_main_one_the_project_name() {
        let routes = routes_of(&lamp(), &[]);
        assert_eq!(
            routes,
            vec![
                Route {
                    service: "web".into(),
                    port: 80,
                    hosts: vec!["my-shop.localhost".into(), "web.my-shop.localhost".into()],
                },
                Route {
                    service: "phpmyadmin".into(),
                    port: 80,
                    hosts: vec!["phpmyadmin.my-shop.localhost".into()],
                },
            ]
        );
        assert_eq!(routes_of(&lamp(), &["db".into()]), vec![]);
    }

    #[test]
    fn the_label_names_the_http_port_and_the_main_service() {
        let mut stack = StackFixture::new("p")
            .service("api", |s| s.image("x").port("127.0.0.1", 9000, 9000))
            .service("docs", |s| s.image("x").port("127.0.0.1", 8000, 8000))
            .build();
        assert_eq!(http_port(&stack.services["api"]), None, "9000 is not HTTP");
        assert_eq!(main_service(&stack), Some("docs"));
        let api = stack.services.get_mut("api").unwrap();
        api.labels.insert(labels::HTTP.into(), "9000".into());
        api.labels.insert(labels::MAIN.into(), "true".into());
        assert_eq!(http_port(&stack.services["api"]), Some(9000));
        assert_eq!(main_service(&stack), Some("api"));
        // A label on a service without published ports still makes it a web service.
        let mut quiet = StackFixture::new("p")
            .service("app", |s| s.image("x"))
            .build();
        assert_eq!(routes_of(&quiet, &[]), vec![]);
        quiet
            .services
            .get_mut("app")
            .unwrap()
            .labels
            .insert(labels::HTTP.into(), "3000".into());
        assert_eq!(
            routes_of(&quiet, &[])[0].hosts,
            ["p.localhost", "app.p.localhost"]
        );
    }

    #[test]
    fn urls_carry_a_fallback_port() {
        assert_eq!(url("shop.localhost", 443), "https://shop.localhost");
        assert_eq!(url("shop.localhost", 10443), "https://shop.localhost:10443");
        assert_eq!(alias("My_Shop", "web"), "web.my-shop.pier");
    }

    #[test]
    fn the_table_keeps_stopped_projects_and_survives_a_foreign_file() {
        let mut table = RouteTable::parse("not json");
        assert_eq!(table, RouteTable::default());
        let shop = ProjectRoutes {
            project: "shop".into(),
            dir: "/home/u/shop".into(),
            running: true,
            routes: routes_of(&lamp(), &[]),
        };
        table.set(shop.clone());
        table.set(ProjectRoutes {
            project: "blog".into(),
            ..shop.clone()
        });
        assert!(table.stop("shop"));
        assert!(!table.stop("nope"));
        let again = RouteTable::parse(&table.to_json());
        assert_eq!(again, table);
        assert_eq!(
            again
                .running()
                .map(|p| p.project.as_str())
                .collect::<Vec<_>>(),
            ["blog"]
        );
        assert!(!again.get("shop").unwrap().running);
    }
}
