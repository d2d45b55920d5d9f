//! Naming rules (DESIGN §3), in one place: what the engine calls the things a
//! stack creates. Compose's rules: container `<project>-<service>-1`, network and
//! volume `<project>_<key>`, the image of a `build:` service `<project>-<service>`.

use super::model::Stack;

/// A project-scoped resource name (`shop` + `default` → `shop_default`).
pub fn scoped(project: &str, key: &str) -> String {
    format!("{project}_{key}")
}

impl Stack {
    /// Engine name of the container of `service` (Compose's `<project>-<service>-1`,
    /// or the service's `container_name`).
    pub fn container_name(&self, service: &str) -> String {
        match self
            .services
            .get(service)
            .and_then(|s| s.container_name.clone())
        {
            Some(name) => name,
            None => format!("{}-{}-1", self.name, service),
        }
    }

    /// Engine names of every container of `service`: `<project>-<service>-1…N` for
    /// `scale`/`deploy.replicas` N (one by default), or its `container_name`.
    pub fn container_names(&self, service: &str) -> Vec<String> {
        let svc = self.services.get(service);
        if let Some(name) = svc.and_then(|s| s.container_name.clone()) {
            return vec![name];
        }
        let n = svc.and_then(|s| s.replicas).unwrap_or(1);
        (1..=n)
            .map(|i| format!("{}-{}-{i}", self.name, service))
            .collect()
    }

    /// The image a service runs: its `image`, else Compose's `<project>-<service>`
    /// for a `build:` service.
    pub fn image_of(&self, service: &str) -> String {
        self.services[service]
            .image
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.name, service))
    }

    /// Engine name of a network key (`default` → `shop_default`, or its `name:`).
    pub fn network_name(&self, key: &str) -> String {
        self.networks
            .get(key)
            .map(|n| n.name.clone())
            .unwrap_or_else(|| self.scoped_name(key))
    }

    /// Engine name of a named volume key (`db-data` → `shop_db-data`, or its `name:`).
    pub fn volume_name(&self, key: &str) -> String {
        self.volumes
            .get(key)
            .map(|v| v.name.clone())
            .unwrap_or_else(|| self.scoped_name(key))
    }

    /// A project-scoped name for a stack-level key (`shop` + `db_password` → `shop_db_password`).
    pub fn scoped_name(&self, key: &str) -> String {
        scoped(&self.name, key)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use crate::stack::model::{Service, Stack};

    fn shop() -> Stack {
        let mut stack = Stack {
            name: "shop".into(),
            project_dir: PathBuf::from("/tmp"),
            services: BTreeMap::new(),
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            secrets: BTreeMap::new(),
            configs: BTreeMap::new(),
            disabled: Default::default(),
        };
        stack.services.insert("db".into(), Service::default());
        stack.services.insert(
            "web".into(),
            Service {
                image: Some("nginx:1".into()),
                container_name: Some("shop-www".into()),
                ..Service::default()
            },
        );
        stack
    }

    #[test]
    fn names_follow_compose() {
        let stack = shop();
        assert_eq!(stack.container_name("db"), "shop-db-1");
        assert_eq!(stack.container_name("web"), "shop-www");
        assert_eq!(stack.container_names("web"), ["shop-www"]);
        let mut scaled = stack.clone();
        scaled.services.get_mut("db").unwrap().replicas = Some(3);
        assert_eq!(
            scaled.container_names("db"),
            ["shop-db-1", "shop-db-2", "shop-db-3"]
        );
        assert_eq!(stack.image_of("db"), "shop-db");
        assert_eq!(stack.image_of("web"), "nginx:1");
        assert_eq!(stack.network_name("default"), "shop_default");
        assert_eq!(stack.volume_name("db-data"), "shop_db-data");
    }
}
