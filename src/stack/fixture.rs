//! `Stack` fixtures for unit tests, built fluently instead of by hand:
//!
//! ```ignore
//! let stack = StackFixture::new("shop")
//!     .default_network()
//!     .volume("db-data")
//!     .service("db", |s| s.image("mysql:8").volume("db-data", "/var/lib/mysql"))
//!     .service("web", |s| s.image("nginx").port("127.0.0.1", 8080, 80).depends_on("db", Condition::Healthy))
//!     .build();
//! ```
//!
//! Names follow the loader's rules (network and volume `<project>_<key>`), so a
//! fixture looks like what `stack::load` would have produced. Anything the
//! builder has no method for: `.with(|s: &mut Service| …)`.

use std::path::PathBuf;
use std::time::Duration;

use super::model::{
    Condition, Dependency, HealthTest, Healthcheck, Mount, MountKind, Network, PortMapping,
    Protocol, Secret, SecretSource, Service, ServiceNetwork, Stack, Volume,
};

/// A `Stack` under construction.
pub struct StackFixture {
    stack: Stack,
}

impl StackFixture {
    /// An empty stack named `name`, its project directory `/<name>`.
    pub fn new(name: &str) -> Self {
        StackFixture {
            stack: Stack {
                name: name.to_string(),
                project_dir: PathBuf::from(format!("/{name}")),
                services: Default::default(),
                networks: Default::default(),
                volumes: Default::default(),
                secrets: Default::default(),
                configs: Default::default(),
                disabled: Default::default(),
            },
        }
    }

    pub fn project_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.stack.project_dir = dir.into();
        self
    }

    /// Add (or extend) service `name`.
    pub fn service(mut self, name: &str, f: impl FnOnce(ServiceFixture) -> ServiceFixture) -> Self {
        let existing = self.stack.services.remove(name).unwrap_or_default();
        self.stack
            .services
            .insert(name.to_string(), f(ServiceFixture(existing)).0);
        self
    }

    /// The project's `default` network, named `<project>_default`.
    pub fn default_network(self) -> Self {
        self.network("default")
    }

    /// Top-level network `key`, named `<project>_<key>`.
    pub fn network(mut self, key: &str) -> Self {
        let name = format!("{}_{key}", self.stack.name);
        self.stack.networks.insert(
            key.to_string(),
            Network {
                name,
                ..Network::default()
            },
        );
        self
    }

    /// Top-level volume `key`, named `<project>_<key>`.
    pub fn volume(mut self, key: &str) -> Self {
        let name = format!("{}_{key}", self.stack.name);
        self.stack.volumes.insert(
            key.to_string(),
            Volume {
                name,
                ..Volume::default()
            },
        );
        self
    }

    /// Top-level secret `key` read from the environment variable `var`.
    pub fn env_secret(mut self, key: &str, var: &str) -> Self {
        self.stack.secrets.insert(
            key.to_string(),
            Secret {
                source: SecretSource::Environment(var.to_string()),
            },
        );
        self
    }

    /// Any change the builder has no method for.
    pub fn with(mut self, f: impl FnOnce(&mut Stack)) -> Self {
        f(&mut self.stack);
        self
    }

    pub fn build(self) -> Stack {
        self.stack
    }
}

/// A `Service` under construction (see `StackFixture::service`).
pub struct ServiceFixture(Service);

impl ServiceFixture {
    pub fn image(mut self, image: &str) -> Self {
        self.0.image = Some(image.to_string());
        self
    }

    /// Exec-form command.
    pub fn command(mut self, args: &[&str]) -> Self {
        self.0.command = Some(args.iter().map(|a| a.to_string()).collect());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.0
            .environment
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Publish container port `target` on `host_ip:published` (tcp).
    pub fn port(mut self, host_ip: &str, published: u16, target: u16) -> Self {
        self.0.ports.push(PortMapping {
            target,
            published: Some(published),
            host_ip: host_ip.to_string(),
            protocol: Protocol::Tcp,
        });
        self
    }

    /// Publish container port `target` on a port the engine chooses, on 127.0.0.1.
    pub fn ephemeral_port(mut self, target: u16) -> Self {
        self.0.ports.push(PortMapping {
            target,
            published: None,
            host_ip: "127.0.0.1".to_string(),
            protocol: Protocol::Tcp,
        });
        self
    }

    /// A required dependency on `service`.
    pub fn depends_on(mut self, service: &str, condition: Condition) -> Self {
        self.0.depends_on.insert(
            service.to_string(),
            Dependency {
                condition,
                required: true,
            },
        );
        self
    }

    /// Mount the named volume `source` at `target`.
    pub fn volume(self, source: &str, target: &str) -> Self {
        self.mount(MountKind::Volume, Some(source), target)
    }

    /// Bind-mount the host path `source` at `target`.
    pub fn bind(self, source: &str, target: &str) -> Self {
        self.mount(MountKind::Bind, Some(source), target)
    }

    fn mount(mut self, kind: MountKind, source: Option<&str>, target: &str) -> Self {
        self.0.volumes.push(Mount {
            kind,
            source: source.map(String::from),
            target: target.to_string(),
            read_only: false,
        });
        self
    }

    /// A `CMD-SHELL` healthcheck; `interval` None keeps the engine's default.
    pub fn healthcheck(mut self, shell: &str, interval: Option<Duration>) -> Self {
        self.0.healthcheck = Some(Healthcheck {
            test: HealthTest::Shell(shell.to_string()),
            interval,
            timeout: None,
            retries: None,
            start_period: None,
            start_interval: None,
        });
        self
    }

    /// Join network `key` (declare it with `StackFixture::network`).
    pub fn network(mut self, key: &str) -> Self {
        self.0
            .networks
            .insert(key.to_string(), ServiceNetwork::default());
        self
    }

    pub fn network_mode(mut self, mode: &str) -> Self {
        self.0.network_mode = Some(mode.to_string());
        self
    }

    pub fn container_name(mut self, name: &str) -> Self {
        self.0.container_name = Some(name.to_string());
        self
    }

    pub fn privileged(mut self) -> Self {
        self.0.privileged = true;
        self
    }

    /// Any change the builder has no method for.
    pub fn with(mut self, f: impl FnOnce(&mut Service)) -> Self {
        f(&mut self.0);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_loader() {
        let s = StackFixture::new("shop")
            .default_network()
            .volume("data")
            .service("db", |s| {
                s.image("mysql:8").volume("data", "/var/lib/mysql")
            })
            .service("web", |s| {
                s.image("nginx")
                    .port("127.0.0.1", 8080, 80)
                    .depends_on("db", Condition::Healthy)
                    .network("default")
            })
            .build();
        assert_eq!(s.project_dir, PathBuf::from("/shop"));
        assert_eq!(s.networks["default"].name, "shop_default");
        assert_eq!(s.volumes["data"].name, "shop_data");
        assert_eq!(s.services["web"].ports[0].published, Some(8080));
        assert_eq!(
            s.services["web"].depends_on["db"].condition,
            Condition::Healthy
        );
        assert_eq!(s.services["db"].volumes[0].source.as_deref(), Some("data"));
    }

    #[test]
    fn a_service_named_twice_is_extended() {
        let s = StackFixture::new("p")
            .service("web", |s| s.image("x"))
            .service("web", |s| s.env("A", "1"))
            .build();
        assert_eq!(s.services["web"].image.as_deref(), Some("x"));
        assert_eq!(s.services["web"].environment["A"], "1");
    }
}
