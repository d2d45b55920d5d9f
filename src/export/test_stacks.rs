//! Stack models the exporter tests share, built directly (no loader needed).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::stack::model::*;

fn default_network(aliases: &[&str]) -> BTreeMap<String, ServiceNetwork> {
    let aliases = aliases.iter().map(|a| a.to_string()).collect();
    [("default".to_string(), ServiceNetwork { aliases })].into()
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A LAMP-like stack in /projects/shop: web (built, bind-mounted source, published
/// port) depends on db being healthy; db has a named volume and a healthcheck;
/// phpmyadmin depends on db having started. The db password is
/// `pw-0123456789abcdef`, also inside web's DATABASE_URL.
pub fn lamp() -> Stack {
    let mut services = BTreeMap::new();
    services.insert(
        "web".to_string(),
        Service {
            build: Some(Build {
                context: PathBuf::from("/projects/shop"),
                dockerfile: Some("Dockerfile".into()),
                args: env(&[("PHP_VERSION", "8.3")]),
                target: None,
            }),
            environment: env(&[
                ("DATABASE_URL", "mysql://root:pw-0123456789abcdef@db/shop"),
                ("APP_ENV", "dev"),
            ]),
            ports: vec![PortMapping {
                target: 80,
                published: Some(8080),
                host_ip: "127.0.0.1".into(),
                protocol: Protocol::Tcp,
            }],
            volumes: vec![Mount {
                kind: MountKind::Bind,
                source: Some("/projects/shop/public".into()),
                target: "/var/www/html".into(),
                read_only: false,
            }],
            depends_on: [(
                "db".to_string(),
                Dependency {
                    condition: Condition::Healthy,
                    required: true,
                },
            )]
            .into(),
            networks: default_network(&[]),
            ..Service::default()
        },
    );
    services.insert(
        "db".to_string(),
        Service {
            image: Some("mariadb:11".into()),
            environment: env(&[
                ("MYSQL_ROOT_PASSWORD", "pw-0123456789abcdef"),
                ("MYSQL_DATABASE", "shop"),
            ]),
            expose: vec!["3306".into()],
            volumes: vec![Mount {
                kind: MountKind::Volume,
                source: Some("db-data".into()),
                target: "/var/lib/mysql".into(),
                read_only: false,
            }],
            healthcheck: Some(Healthcheck {
                test: HealthTest::Shell(
                    "mysqladmin ping -h 127.0.0.1 -p$MYSQL_ROOT_PASSWORD".into(),
                ),
                interval: Some(Duration::from_secs(2)),
                timeout: Some(Duration::from_secs(5)),
                retries: Some(30),
                start_period: Some(Duration::from_secs(90)),
                start_interval: None,
            }),
            restart: Some(RestartPolicy::UnlessStopped),
            networks: default_network(&["mysql"]),
            ..Service::default()
        },
    );
    services.insert(
        "phpmyadmin".to_string(),
        Service {
            image: Some("phpmyadmin:5".into()),
            environment: env(&[("PMA_HOST", "db")]),
            ports: vec![PortMapping {
                target: 80,
                published: Some(8081),
                host_ip: "127.0.0.1".into(),
                protocol: Protocol::Tcp,
            }],
            depends_on: [(
                "db".to_string(),
                Dependency {
                    condition: Condition::Started,
                    required: true,
                },
            )]
            .into(),
            networks: default_network(&[]),
            ..Service::default()
        },
    );
    Stack {
        name: "shop".into(),
        project_dir: PathBuf::from("/projects/shop"),
        services,
        networks: [(
            "default".to_string(),
            Network {
                name: "shop_default".into(),
                ..Network::default()
            },
        )]
        .into(),
        volumes: [(
            "db-data".to_string(),
            Volume {
                name: "shop_db-data".into(),
                ..Volume::default()
            },
        )]
        .into(),
        secrets: BTreeMap::new(),
    }
}
