//! Exporter tests from model values (the lamp-like stack of `export::test_stacks`).

use std::path::Path;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service as KService};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::*;
use crate::diagnostic::Severity;
use crate::export::test_stacks::lamp;
use crate::stack::model::{
    Dependency, HealthTest, Mount, MountKind, RestartPolicy, SecretSource, Service, ServiceSecret,
};

const PASSWORD: &str = "pw-0123456789abcdef";

fn secrets() -> Secrets {
    let mut s = Secrets::new();
    s.insert("DB_PASSWORD", PASSWORD);
    s
}

fn export_lamp() -> KubernetesExport {
    export(&lamp(), &secrets(), Path::new("/projects/shop/.env")).expect("lamp exports")
}

fn find<'a>(e: &'a KubernetesExport, kind: &str, name: &str) -> &'a Value {
    &e.manifests
        .iter()
        .find(|m| m.kind == kind && m.name == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {:?}", names(e)))
        .object
}

fn names(e: &KubernetesExport) -> Vec<String> {
    e.manifests
        .iter()
        .map(|m| format!("{}/{}", m.kind, m.name))
        .collect()
}

/// Strict check: the JSON must survive a round trip through the typed struct
/// unchanged. k8s-openapi ignores unknown fields when reading, so a misspelt or
/// misplaced field would vanish here and fail the comparison.
fn round_trips<T: DeserializeOwned + Serialize>(object: &Value) {
    let typed: T = serde_json::from_value(object.clone()).expect("deserializes into its type");
    assert_eq!(&serde_json::to_value(&typed).unwrap(), object);
}

fn assert_strict(e: &KubernetesExport) {
    for m in &e.manifests {
        match m.kind {
            "Deployment" => round_trips::<Deployment>(&m.object),
            "Job" => round_trips::<Job>(&m.object),
            "Service" => round_trips::<KService>(&m.object),
            "ConfigMap" => round_trips::<ConfigMap>(&m.object),
            "PersistentVolumeClaim" => round_trips::<PersistentVolumeClaim>(&m.object),
            other => panic!("unexpected kind {other}"),
        }
        assert_eq!(m.object["kind"], m.kind);
    }
}

fn pod(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]
}

#[test]
fn lamp_objects_in_apply_order_and_strictly_typed() {
    let e = export_lamp();
    assert_eq!(
        names(&e),
        [
            "PersistentVolumeClaim/shop-db-data",
            "Service/db",
            "Service/mysql",
            "Service/phpmyadmin",
            "Service/web",
            "Deployment/db",
            "Deployment/phpmyadmin",
            "Deployment/web",
        ]
    );
    assert_strict(&e);
}

#[test]
fn dependents_wait_in_init_containers() {
    let e = export_lamp();
    let web = pod(find(&e, "Deployment", "web"));
    assert_eq!(
        web["initContainers"],
        json!([{
            "name": "wait-for-db",
            "image": WAIT_IMAGE,
            "command": ["sh", "-c", "until nslookup db.$NAMESPACE.svc.cluster.local >/dev/null 2>&1; do echo 'waiting for db to be ready'; sleep 2; done"],
            "env": [{"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
        }])
    );
    let pma = pod(find(&e, "Deployment", "phpmyadmin"));
    assert_eq!(pma["initContainers"][0]["name"], "wait-for-db");
    assert!(pod(find(&e, "Deployment", "db"))["initContainers"].is_null());
}

#[test]
fn healthcheck_becomes_probes() {
    let e = export_lamp();
    let db = &pod(find(&e, "Deployment", "db"))["containers"][0];
    let expected = json!({
        "exec": {"command": ["/bin/sh", "-c", "mysqladmin ping -h 127.0.0.1 -p$MYSQL_ROOT_PASSWORD"]},
        "periodSeconds": 2, "timeoutSeconds": 5, "failureThreshold": 30, "initialDelaySeconds": 90,
    });
    assert_eq!(db["readinessProbe"], expected);
    assert_eq!(db["livenessProbe"], expected);
    assert!(pod(find(&e, "Deployment", "web"))["containers"][0]["readinessProbe"].is_null());
}

#[test]
fn named_volume_gets_a_claim() {
    let e = export_lamp();
    let claim = find(&e, "PersistentVolumeClaim", "shop-db-data");
    assert_eq!(claim["spec"]["accessModes"], json!(["ReadWriteOnce"]));
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "1Gi");
    let db = find(&e, "Deployment", "db");
    assert_eq!(db["spec"]["strategy"]["type"], "Recreate");
    assert_eq!(
        pod(db)["volumes"],
        json!([{"name": "volume-db-data", "persistentVolumeClaim": {"claimName": "shop-db-data"}}])
    );
    assert_eq!(
        pod(db)["containers"][0]["volumeMounts"],
        json!([{"name": "volume-db-data", "mountPath": "/var/lib/mysql"}])
    );
}

#[test]
fn services_keep_dns_names_and_ports() {
    let e = export_lamp();
    let db = find(&e, "Service", "db");
    // Headless: `db` resolves to the ready pod itself, so every port answers as on a Docker network.
    assert_eq!(db["spec"]["clusterIP"], "None");
    assert_eq!(
        db["spec"]["ports"],
        json!([{"name": "tcp-3306", "port": 3306, "targetPort": 3306, "protocol": "TCP"}])
    );
    let selector = json!({LABEL_NAME: "db", LABEL_PART_OF: "shop"});
    assert_eq!(db["spec"]["selector"], selector);
    assert_eq!(
        find(&e, "Deployment", "db")["spec"]["selector"]["matchLabels"],
        selector
    );
    assert_eq!(
        find(&e, "Deployment", "db")["spec"]["template"]["metadata"]["labels"],
        selector
    );
    // The network alias resolves too.
    assert_eq!(find(&e, "Service", "mysql")["spec"]["selector"], selector);
    assert_eq!(find(&e, "Service", "web")["spec"]["ports"][0]["port"], 80);
}

#[test]
fn bind_mounts_and_builds_are_reported() {
    let e = export_lamp();
    let warning = e
        .diagnostics
        .iter()
        .find(|d| d.path == "services.web.volumes[0]")
        .expect("warning for web's source mount");
    assert_eq!(warning.severity, Severity::Warning);
    assert!(
        warning.message.contains("/projects/shop/public"),
        "{}",
        warning.message
    );
    assert!(warning.message.contains("web"));
    assert!(pod(find(&e, "Deployment", "web"))["containers"][0]["volumeMounts"].is_null());
    let build = e
        .diagnostics
        .iter()
        .find(|d| d.path == "services.web.build")
        .unwrap();
    assert!(build.message.contains("\"shop-web\""));
    let web = &pod(find(&e, "Deployment", "web"))["containers"][0];
    assert_eq!(web["image"], "shop-web");
    assert_eq!(web["imagePullPolicy"], "IfNotPresent");
}

#[test]
fn secret_values_stay_out_of_the_manifests() {
    let e = export_lamp();
    let stream = e.to_stream();
    assert!(!stream.contains(PASSWORD), "password leaked:\n{stream}");
    let db = &pod(find(&e, "Deployment", "db"))["containers"][0];
    assert_eq!(
        db["env"],
        json!([
            {"name": "MYSQL_DATABASE", "value": "shop"},
            {"name": "MYSQL_ROOT_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "shop-env", "key": "DB_PASSWORD"}}},
        ])
    );
    let web = &pod(find(&e, "Deployment", "web"))["containers"][0];
    assert_eq!(
        web["env"],
        json!([
            {"name": "PIER_SECRET_DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "shop-env", "key": "DB_PASSWORD"}}},
            {"name": "APP_ENV", "value": "dev"},
            {"name": "DATABASE_URL", "value": "mysql://root:$(PIER_SECRET_DB_PASSWORD)@db/shop"},
        ])
    );
    let script = e.secrets_script.as_deref().unwrap();
    assert!(script.contains("kubectl create secret generic shop-env"));
    assert!(script.contains("--from-literal=DB_PASSWORD=\"${DB_PASSWORD}\""));
    assert!(!script.contains(PASSWORD));
    assert!(
        e.diagnostics
            .iter()
            .any(|d| d.path == "secrets" && d.message.contains("shop-env"))
    );
}

#[test]
fn a_secret_typed_into_a_probe_is_refused() {
    let mut stack = lamp();
    stack
        .services
        .get_mut("db")
        .unwrap()
        .healthcheck
        .as_mut()
        .unwrap()
        .test = HealthTest::Cmd(vec![
        "mysqladmin".into(),
        "ping".into(),
        format!("-p{PASSWORD}"),
    ]);
    let err = export(&stack, &secrets(), Path::new(".env")).unwrap_err();
    let Error::Invalid(diags) = err else {
        panic!("expected invalid input")
    };
    assert!(diags.iter().all(|d| d.is_error()));
    assert!(diags.iter().any(|d| d.path == "services.db"
        && d.message.contains("DB_PASSWORD")
        && d.message.contains("readinessProbe")));
    assert!(diags.iter().all(|d| !d.message.contains(PASSWORD)));
}

#[test]
fn read_only_files_become_config_maps() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.user.inc.php");
    std::fs::write(&config, "<?php $cfg['x'] = 1;\n").unwrap();
    let secret_file = dir.path().join("creds.php");
    std::fs::write(&secret_file, format!("<?php $pw = '{PASSWORD}';\n")).unwrap();
    let mut stack = lamp();
    let pma = stack.services.get_mut("phpmyadmin").unwrap();
    let mount = |source: &Path, target: &str, read_only| Mount {
        kind: MountKind::Bind,
        source: Some(source.display().to_string()),
        target: target.into(),
        read_only,
    };
    pma.volumes = vec![
        mount(&config, "/etc/phpmyadmin/config.user.inc.php", true),
        mount(&config, "/etc/writable.php", false),
        mount(&secret_file, "/etc/creds.php", true),
        mount(dir.path(), "/srv", true),
    ];
    let e = export(&stack, &secrets(), Path::new(".env")).unwrap();
    assert_strict(&e);
    let cm = find(&e, "ConfigMap", "phpmyadmin-files");
    assert_eq!(
        cm["data"],
        json!({"config.user.inc.php": "<?php $cfg['x'] = 1;\n"})
    );
    let pod = pod(find(&e, "Deployment", "phpmyadmin"));
    assert_eq!(
        pod["containers"][0]["volumeMounts"],
        json!([{"name": "files", "mountPath": "/etc/phpmyadmin/config.user.inc.php",
                "subPath": "config.user.inc.php", "readOnly": true}])
    );
    assert_eq!(
        pod["volumes"],
        json!([{"name": "files", "configMap": {"name": "phpmyadmin-files"}}])
    );
    let paths: Vec<&str> = e.diagnostics.iter().map(|d| d.path.as_str()).collect();
    for i in 1..=3 {
        assert!(
            paths.contains(&format!("services.phpmyadmin.volumes[{i}]").as_str()),
            "{paths:?}"
        );
    }
    assert!(!e.to_stream().contains(PASSWORD));
}

#[test]
fn one_shot_services_become_jobs() {
    let mut stack = lamp();
    stack.services.insert(
        "migrate".into(),
        Service {
            image: Some("shop-migrate".into()),
            command: Some(vec!["php".into(), "migrate.php".into()]),
            restart: Some(RestartPolicy::No),
            ..Service::default()
        },
    );
    stack.services.get_mut("web").unwrap().depends_on.insert(
        "migrate".into(),
        Dependency {
            condition: Condition::CompletedSuccessfully,
            required: true,
        },
    );
    let e = export(&stack, &secrets(), Path::new(".env")).unwrap();
    assert_strict(&e);
    let job = find(&e, "Job", "migrate");
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(pod(job)["restartPolicy"], "Never");
    assert_eq!(
        pod(job)["containers"][0]["args"],
        json!(["php", "migrate.php"])
    );
    assert!(
        e.diagnostics
            .iter()
            .any(|d| d.path == "services.web.depends_on.migrate")
    );
    // web still waits for db, not for the job.
    assert_eq!(
        pod(find(&e, "Deployment", "web"))["initContainers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn file_secrets_are_mounted_from_a_secret_created_outside() {
    let mut stack = lamp();
    stack.secrets.insert(
        "api_key".into(),
        crate::stack::model::Secret {
            source: SecretSource::File("/projects/shop/secrets/api_key.txt".into()),
        },
    );
    stack
        .services
        .get_mut("web")
        .unwrap()
        .secrets
        .push(ServiceSecret {
            source: "api_key".into(),
            target: "/run/secrets/api_key".into(),
        });
    let e = export(&stack, &secrets(), Path::new(".env")).unwrap();
    let web = pod(find(&e, "Deployment", "web"));
    assert_eq!(
        web["volumes"],
        json!([{"name": "secrets", "secret": {"secretName": "shop-secrets"}}])
    );
    assert_eq!(
        web["containers"][0]["volumeMounts"],
        json!([{"name": "secrets", "mountPath": "/run/secrets/api_key", "subPath": "api_key", "readOnly": true}])
    );
    assert!(
        e.secrets_script
            .unwrap()
            .contains("--from-file=api_key='/projects/shop/secrets/api_key.txt'")
    );
}

#[test]
fn user_commands_and_dollars() {
    let mut stack = lamp();
    let pma = stack.services.get_mut("phpmyadmin").unwrap();
    pma.user = Some("33:33".into());
    pma.entrypoint = Some(vec!["sh".into(), "-c".into()]);
    pma.command = Some(vec!["echo $HOME $(date)".into()]);
    stack.services.get_mut("db").unwrap().user = Some("mysql".into());
    let e = export(&stack, &secrets(), Path::new(".env")).unwrap();
    let pma = &pod(find(&e, "Deployment", "phpmyadmin"))["containers"][0];
    assert_eq!(
        pma["securityContext"],
        json!({"runAsUser": 33, "runAsGroup": 33})
    );
    assert_eq!(pma["command"], json!(["sh", "-c"]));
    assert_eq!(pma["args"], json!(["echo $$HOME $$(date)"]));
    assert!(e.diagnostics.iter().any(|d| d.path == "services.db.user"));
}

#[test]
fn output_is_deterministic_and_split_into_files() {
    let a = export_lamp();
    let b = export_lamp();
    assert_eq!(a.to_stream(), b.to_stream());
    assert_eq!(a.diagnostics, b.diagnostics);
    let stream = a.to_stream();
    assert_eq!(stream.matches("---\n").count(), a.manifests.len());
    let files: Vec<String> = a
        .files()
        .into_iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(files.contains(&"deployment-web.yaml".to_string()));
    assert!(files.contains(&"persistentvolumeclaim-shop-db-data.yaml".to_string()));
    assert!(files.contains(&SECRETS_SCRIPT.to_string()));
    // Every document parses back to the object it came from.
    for (doc, m) in stream.split("---\n").skip(1).zip(&a.manifests) {
        let parsed: Value = serde_yaml::from_str(doc).unwrap();
        assert_eq!(parsed, m.object);
    }
}

#[test]
fn services_without_ports_still_resolve_and_are_waited_for() {
    // As in pier's lamp template: db lists no port, web still reaches db:3306.
    let mut stack = lamp();
    stack.services.get_mut("db").unwrap().expose.clear();
    let e = export(&stack, &secrets(), Path::new(".env")).unwrap();
    assert_strict(&e);
    let db = find(&e, "Service", "db");
    assert_eq!(db["spec"]["clusterIP"], "None");
    assert!(db["spec"]["ports"].is_null(), "{db}");
    assert!(find(&e, "Service", "mysql")["spec"]["ports"].is_null());
    let web = pod(find(&e, "Deployment", "web"));
    assert_eq!(web["initContainers"][0]["name"], "wait-for-db");
    assert!(
        e.diagnostics.iter().all(|d| !d.path.contains("depends_on")),
        "{:?}",
        e.diagnostics
    );
}

#[test]
fn engine_only_keys_are_warnings() {
    let mut stack = lamp();
    let web = stack.services.get_mut("web").unwrap();
    web.cap_add = vec!["NET_ADMIN".into()];
    web.shm_size = Some(1 << 26);
    let e = export(&stack, &secrets(), Path::new("/projects/shop/.env")).expect("exports");
    let paths: Vec<&str> = e.diagnostics.iter().map(|d| d.path.as_str()).collect();
    assert!(paths.contains(&"services.web.cap_add"), "{paths:?}");
    assert!(paths.contains(&"services.web.shm_size"), "{paths:?}");
}
