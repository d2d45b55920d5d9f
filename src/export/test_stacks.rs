//! Stack models the exporter tests share, built with the fixture builder (no
//! loader needed).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::stack::fixture::StackFixture;
use crate::stack::model::*;

/// A LAMP-like stack in /projects/shop: web (built, bind-mounted source, published
/// port) depends on db being healthy; db has a named volume and a healthcheck;
/// phpmyadmin depends on db having started. The db password is
/// `pw-0123456789abcdef`, also inside web's DATABASE_URL.
pub fn lamp() -> Stack {
    StackFixture::new("shop")
        .project_dir("/projects/shop")
        .default_network()
        .volume("db-data")
        .service("web", |s| {
            s.with(|s| {
                s.build = Some(Build {
                    context: PathBuf::from("/projects/shop"),
                    dockerfile: Some("Dockerfile".into()),
                    args: BTreeMap::from([("PHP_VERSION".to_string(), "8.3".to_string())]),
                    target: None,
                })
            })
            .env("DATABASE_URL", "mysql://root:pw-0123456789abcdef@db/shop")
            .env("APP_ENV", "dev")
            .port("127.0.0.1", 8080, 80)
            .bind("/projects/shop/public", "/var/www/html")
            .depends_on("db", Condition::Healthy)
            .network("default")
        })
        .service("db", |s| {
            s.image("mariadb:11")
                .env("MYSQL_ROOT_PASSWORD", "pw-0123456789abcdef")
                .env("MYSQL_DATABASE", "shop")
                .volume("db-data", "/var/lib/mysql")
                .with(|s| {
                    s.expose = vec!["3306".into()];
                    s.healthcheck = Some(Healthcheck {
                        test: HealthTest::Shell(
                            "mysqladmin ping -h 127.0.0.1 -p$MYSQL_ROOT_PASSWORD".into(),
                        ),
                        interval: Some(Duration::from_secs(2)),
                        timeout: Some(Duration::from_secs(5)),
                        retries: Some(30),
                        start_period: Some(Duration::from_secs(90)),
                        start_interval: None,
                    });
                    s.restart = Some(RestartPolicy::UnlessStopped);
                    s.networks = [(
                        "default".to_string(),
                        ServiceNetwork {
                            aliases: vec!["mysql".into()],
                        },
                    )]
                    .into();
                })
        })
        .service("phpmyadmin", |s| {
            s.image("phpmyadmin:5")
                .env("PMA_HOST", "db")
                .port("127.0.0.1", 8081, 80)
                .depends_on("db", Condition::Started)
                .network("default")
        })
        .build()
}
