//! The swarm planner from stack files as text: no Docker.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::plan::spec::PortProtocol;
use crate::stack::model::Condition;
use crate::stack::{Variables, load_str};

fn load(text: &str) -> Stack {
    let (stack, _) = load_str(
        text,
        Path::new("/p/pier.yaml"),
        Path::new("/p"),
        &Variables::new(BTreeMap::new()),
        None,
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    stack
}

const SHOP: &str = r#"
name: shop
services:
  db:
    image: postgres:16
    volumes: [db-data:/var/lib/postgresql/data]
    secrets: [db_password]
    healthcheck:
      test: pg_isready
      interval: 1s
  api:
    build: ./api
    command: serve --port 8080
    entrypoint: /app/run
    environment: {DB_HOST: db}
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
    networks:
      default:
        aliases: [backend]
    deploy: {replicas: 2}
  migrate:
    image: shop/migrate
    depends_on: [db]
  web:
    image: nginx
    ports: ["8080:80"]
    depends_on: [api]
    extra_hosts: ["gw:10.0.0.1"]
    restart: "no"
volumes:
  db-data: {}
secrets:
  db_password:
    environment: DB_PASSWORD
"#;

#[test]
fn services_come_in_dependency_levels_with_what_each_waits_for() {
    let plan = plan_swarm(&load(SHOP), &[]).unwrap();
    assert_eq!(
        plan.to_string(),
        "project shop on swarm:\n\
         \x20 network shop_default (overlay)\n\
         \x20 secret shop_db_password (from variable DB_PASSWORD)\n\
         \x20 level 0: service shop_db (postgres:16, 1 replica, until service_healthy)\n\
         \x20 level 1: service shop_migrate (shop/migrate, 1 replica, until service_completed_successfully) after db\n\
         \x20 level 2: service shop_api (shop-api, 2 replicas, until service_started) after db, migrate\n\
         \x20 level 3: service shop_web (nginx, 1 replica, until service_started) after api\n"
    );
}

#[test]
fn a_service_translates_like_docker_stack_deploy() {
    let plan = plan_swarm(&load(SHOP), &[]).unwrap();
    let api = plan.services().find(|s| s.key == "api").unwrap();
    assert_eq!(
        api.build.as_ref().map(|b| b.context.as_path()),
        Some(Path::new("/p/api")),
        "a build: service needs its image built first"
    );
    assert_eq!(api.entrypoint, Some(vec!["/app/run".to_string()]));
    assert_eq!(
        api.command,
        Some(vec!["serve".into(), "--port".into(), "8080".into()])
    );
    assert_eq!(api.env, vec!["DB_HOST=db".to_string()]);
    assert_eq!(api.replicas, 2);
    assert_eq!(
        api.networks,
        vec![Attachment {
            network: "shop_default".into(),
            aliases: vec!["api".into(), "backend".into()],
        }]
    );
    assert_eq!(api.depends_on, vec!["db", "migrate"]);

    let db = plan.services().find(|s| s.key == "db").unwrap();
    assert_eq!(
        db.mounts,
        vec![SwarmMount {
            kind: crate::plan::spec::MountType::Volume,
            source: Some("shop_db-data".into()),
            target: "/var/lib/postgresql/data".into(),
            read_only: false,
            volume_key: Some("db-data".into()),
            volume_driver: None,
        }]
    );
    assert_eq!(
        db.secrets,
        vec![SecretRef {
            secret: "shop_db_password".into(),
            target: "/run/secrets/db_password".into(),
        }]
    );
    assert_eq!(db.ready, Condition::Healthy);
    assert_eq!(db.restart.condition, RestartCondition::Any);

    // A one-shot others wait for must not be restarted once it has exited 0.
    let migrate = plan.services().find(|s| s.key == "migrate").unwrap();
    assert_eq!(migrate.restart.condition, RestartCondition::None);

    let web = plan.services().find(|s| s.key == "web").unwrap();
    assert_eq!(
        web.ports,
        vec![SwarmPort {
            target: 80,
            published: Some(8080),
            protocol: PortProtocol::Tcp
        }]
    );
    assert_eq!(web.hosts, vec!["10.0.0.1 gw"]);
    assert_eq!(web.restart.condition, RestartCondition::None);
    assert_eq!(web.labels("shop")["io.pier.project"], "shop");
    assert_eq!(web.labels("shop")["io.pier.depends-on"], "api");
}

#[test]
fn a_port_bound_to_localhost_warns_that_swarm_publishes_it_everywhere() {
    let plan = plan_swarm(&load(SHOP), &[]).unwrap();
    let text: Vec<String> = plan.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        text,
        vec![
            "warning: services.web.ports[0]: on the swarm target port 8080 is reachable on every interface of the node, not only 127.0.0.1: swarm services cannot publish on one address\n  hint: write `0.0.0.0:8080:80` to say so and silence this, or firewall the port; `pier up` (local) keeps binding 127.0.0.1"
        ]
    );
    // Said explicitly: no warning.
    let open = SHOP.replace("\"8080:80\"", "\"0.0.0.0:8080:80\"");
    assert!(plan_swarm(&load(&open), &[]).unwrap().warnings.is_empty());
}

#[test]
fn the_config_hash_follows_the_definition() {
    let a = plan_swarm(&load(SHOP), &[]).unwrap();
    let b = plan_swarm(&load(&SHOP.replace("DB_HOST: db", "DB_HOST: db2")), &[]).unwrap();
    let hash = |p: &SwarmPlan, k: &str| p.services().find(|s| s.key == k).unwrap().config_hash();
    assert_ne!(hash(&a, "api"), hash(&b, "api"));
    assert_eq!(hash(&a, "web"), hash(&b, "web"));
    assert_eq!(hash(&a, "web"), hash(&a.clone(), "web"));
}

#[test]
fn selecting_a_service_brings_its_dependencies_only() {
    let plan = plan_swarm(&load(SHOP), &["migrate".into()]).unwrap();
    let names: Vec<&str> = plan.services().map(|s| s.key.as_str()).collect();
    assert_eq!(names, ["db", "migrate"]);
    assert!(plan.warnings.is_empty(), "web's port is not in scope");
    let err = plan_swarm(&load(SHOP), &["webb".into()]).unwrap_err();
    assert_eq!(err[0].hint.as_deref(), Some("did you mean `web`?"));
}

#[test]
fn what_a_swarm_cannot_do_is_invalid_input_and_the_rest_warns() {
    let stack = load(
        r#"
name: odd
services:
  a:
    image: x
    network_mode: host
    privileged: true
  b:
    image: x
    container_name: bee
    ports: ["0.0.0.0:9000:80"]
    deploy: {replicas: 3}
networks:
  default:
    driver: bridge
"#,
    );
    let err = plan_swarm(&stack, &[]).unwrap_err();
    let text: Vec<String> = err
        .iter()
        .map(|d| format!("{}: {:?}", d.path, d.severity).to_lowercase())
        .collect();
    assert_eq!(
        text,
        [
            "networks.default.driver: warning",
            "services.a.network_mode: error",
            "services.a.privileged: warning",
            "services.b.container_name: warning",
            "services.b.ports[0]: warning",
        ]
    );
    assert!(err[4].message.contains("3 replicas"), "{}", err[4].message);
}

#[test]
fn external_networks_are_used_not_created() {
    let stack = load(
        r#"
name: ext
services:
  a:
    image: x
    networks: [shared]
networks:
  shared:
    external: true
    name: corp-net
"#,
    );
    let plan = plan_swarm(&stack, &[]).unwrap();
    assert!(plan.networks.is_empty());
    assert_eq!(
        plan.services().next().unwrap().networks[0].network,
        "corp-net"
    );
}

#[test]
fn engine_only_keys_are_warnings_on_the_swarm() {
    let stack = load("services:\n  a:\n    image: x\n    cap_add: [NET_ADMIN]\n    init: true\n");
    let plan = plan_swarm(&stack, &[]).unwrap();
    let paths: Vec<&str> = plan.warnings.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["services.a.cap_add", "services.a.init"]);
}
