//! Bind mounts. A cluster cannot mount a directory of your machine, so:
//!
//! - a single file mounted read-only (a config file) is copied, at export time,
//!   into a ConfigMap `<service>-files` and mounted at the same path;
//! - anything else (a source directory, a writable file, a socket) is left out,
//!   with a warning naming the service and the path: the files belong in the
//!   image (`COPY` in the Dockerfile) or on a PersistentVolume.
//!
//! A file that holds a secret value is left out too (with a warning): a
//! ConfigMap is not the place for it.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, ConfigMapVolumeSource, Volume, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::names::{data_key, dns_label, object_labels};
use crate::diagnostic::Diagnostic;
use crate::secrets::Secrets;
use crate::stack::model::{MountKind, Service};

/// A ConfigMap holds at most 1 MiB.
const MAX_CONFIG_MAP_BYTES: u64 = 1024 * 1024;

/// The pod volume name of a service's ConfigMap.
pub const VOLUME_NAME: &str = "files";

/// What a service's bind mounts become.
#[derive(Debug, Default)]
pub struct FileMounts {
    pub config_map: Option<ConfigMap>,
    pub volume: Option<Volume>,
    pub mounts: Vec<VolumeMount>,
}

pub fn bind_mounts(
    project: &str,
    name: &str,
    service: &Service,
    secrets: &Secrets,
    diagnostics: &mut Vec<Diagnostic>,
) -> FileMounts {
    let mut data = BTreeMap::new();
    let mut binary = BTreeMap::new();
    let mut mounts = Vec::new();
    let mut total = 0u64;
    for (i, mount) in service.volumes.iter().enumerate() {
        if mount.kind != MountKind::Bind {
            continue;
        }
        let path = format!("services.{name}.volumes[{i}]");
        let source = mount.source.as_deref().unwrap_or_default();
        let mut skip = |message: String, hint: &str| {
            diagnostics.push(Diagnostic::warning(&path, message).with_hint(hint));
        };
        let meta = std::fs::metadata(source);
        let is_file = meta.as_ref().is_ok_and(|m| m.is_file());
        if !is_file {
            let what = if meta.as_ref().is_ok_and(|m| m.is_dir()) {
                "directory"
            } else {
                "path"
            };
            skip(
                format!(
                    "bind mount of the {what} {source} into {name} at {} is not exported: a cluster cannot mount your machine's files",
                    mount.target
                ),
                "copy the files into the image (COPY in the Dockerfile), or mount a PersistentVolume",
            );
            continue;
        }
        if !mount.read_only {
            skip(
                format!(
                    "bind mount of {source} into {name} is writable and is not exported; read-only single files become a ConfigMap"
                ),
                "add `:ro` if the service only reads the file",
            );
            continue;
        }
        let size = meta.map(|m| m.len()).unwrap_or(0);
        if total + size > MAX_CONFIG_MAP_BYTES {
            skip(
                format!(
                    "{source} (mounted into {name}) is too large for a ConfigMap (1 MiB in all) and is not exported"
                ),
                "copy the file into the image instead",
            );
            continue;
        }
        let bytes = match std::fs::read(source) {
            Ok(bytes) => bytes,
            Err(err) => {
                skip(
                    format!("cannot read {source} for {name}: {err}; not exported"),
                    "check the file's permissions",
                );
                continue;
            }
        };
        let text = String::from_utf8(bytes.clone()).ok();
        let leaked = secrets
            .found_in(&String::from_utf8_lossy(&bytes))
            .map(str::to_string);
        if let Some(secret) = leaked {
            skip(
                format!(
                    "{source} (mounted into {name}) holds the value of {secret} and is not exported: secret values never go into manifests"
                ),
                "read the value from an environment variable in the file, or mount it as a secret",
            );
            continue;
        }
        total += size;
        let key = unique_key(&data_key(&file_name(source)), &data, &binary);
        match text {
            Some(text) => {
                data.insert(key.clone(), text);
            }
            None => {
                binary.insert(key.clone(), ByteString(bytes));
            }
        }
        mounts.push(VolumeMount {
            name: VOLUME_NAME.to_string(),
            mount_path: mount.target.clone(),
            sub_path: Some(key),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    if mounts.is_empty() {
        return FileMounts::default();
    }
    let config_name = config_map_name(name);
    FileMounts {
        config_map: Some(ConfigMap {
            metadata: ObjectMeta {
                name: Some(config_name.clone()),
                labels: Some(object_labels(project, Some(name))),
                ..ObjectMeta::default()
            },
            data: (!data.is_empty()).then_some(data),
            binary_data: (!binary.is_empty()).then_some(binary),
            ..ConfigMap::default()
        }),
        volume: Some(Volume {
            name: VOLUME_NAME.to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: config_name,
                ..Default::default()
            }),
            ..Volume::default()
        }),
        mounts,
    }
}

pub fn config_map_name(service: &str) -> String {
    dns_label(&format!("{service}-files"))
}

fn file_name(source: &str) -> String {
    Path::new(source)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into())
}

/// `key`, or `key-2`, `key-3`… when two mounted files share a name.
fn unique_key(
    key: &str,
    data: &BTreeMap<String, String>,
    binary: &BTreeMap<String, ByteString>,
) -> String {
    let taken = |k: &str| data.contains_key(k) || binary.contains_key(k);
    if !taken(key) {
        return key.to_string();
    }
    (2..)
        .map(|n| format!("{key}-{n}"))
        .find(|k| !taken(k))
        .expect("some suffix is free")
}
