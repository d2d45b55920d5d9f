//! Merging documents by the Compose specification's rules (its "merge" chapter,
//! as compose-go's `override` package implements them), for several `-f` files,
//! the override file and `extends`:
//!
//! - mappings merge key by key; a scalar is replaced; a sequence is appended to;
//! - `command`, `entrypoint` and `healthcheck.test` are replaced, not appended to;
//! - `environment`, `labels`, `build.args`, … merge by key, in map or list form;
//! - `ports`, `volumes` (by target), `secrets` and `configs` (by target),
//!   `expose`, `dns`, `env_file`, … are appended to, an entry with the same key
//!   replacing the earlier one in place;
//! - `depends_on` and service `networks` merge as mappings, in either form;
//! - `!reset` removes what the earlier files said; `!override` replaces it whole.
//!
//! Values are merged as YAML, before normalization: an override file may hold
//! half a service. Each node's origin is kept (`Origins`) for diagnostics.

use serde_yaml::{Mapping, Value};

use super::docpath;
use super::origins::Origins;
use super::read::scalar_text;

/// A document (or one service) and where its nodes came from.
#[derive(Debug, Clone)]
pub struct Doc {
    pub value: Value,
    pub origins: Origins,
}

/// Merge `over` (a later file) into `base`, both whole documents.
pub fn documents(base: &mut Doc, over: Doc) {
    merge_with(base, over, Rule::Top);
}

/// Merge `over` into `base`, both one service (`extends`: the extended service
/// is `base`).
pub fn service(base: &mut Doc, over: Doc) {
    merge_with(base, over, Rule::Service);
}

fn merge_with(base: &mut Doc, over: Doc, rule: Rule) {
    strip_tags(&mut base.value);
    let mut m = Merger {
        origins: &mut base.origins,
        from: &over.origins,
    };
    m.merge(&mut base.value, over.value, "", "", rule);
}

/// `!reset` and `!override` as written in a document that is not merged into
/// another (the first file): `!reset` removes the key, `!override` is the value.
pub fn strip_tags(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            map.retain(|_, v| !is_tag(v, "reset"));
            for (_, v) in map.iter_mut() {
                strip_tags(v);
            }
        }
        Value::Sequence(items) => {
            items.retain(|v| !is_tag(v, "reset"));
            items.iter_mut().for_each(strip_tags);
        }
        Value::Tagged(t) if is_tag_name(&t.tag, "override") => {
            let mut inner = std::mem::take(&mut t.value);
            strip_tags(&mut inner);
            *value = inner;
        }
        _ => {}
    }
}

fn is_tag_name(tag: &serde_yaml::value::Tag, name: &str) -> bool {
    tag.to_string().trim_start_matches('!') == name
}

fn is_tag(v: &Value, name: &str) -> bool {
    matches!(v, Value::Tagged(t) if is_tag_name(&t.tag, name))
}

/// How the value at a path merges.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// The document's top.
    Top,
    /// `services`: name → service.
    Services,
    Service,
    /// Top-level `networks`, `volumes`, … : name → declaration.
    Resources,
    Resource,
    Healthcheck,
    Build,
    DependsOn,
    /// A service's `networks`, list or mapping.
    Networks,
    /// The later value wins whole.
    Replace,
    /// `KEY=value` entries, as a mapping or a list; merged by key.
    KeyValue,
    /// A list whose entries are unique by a key; see `Key`.
    Unique(Key),
    /// Mappings merge, sequences append, scalars are replaced.
    Deep,
}

/// What makes an entry of a `Rule::Unique` list the same as another.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Key {
    /// The entry as written (`KEY` before any `=`).
    Text,
    Port,
    /// A mount's target.
    Volume,
    /// A secret's or config's target, by default under this directory.
    Mount(&'static str),
    EnvFile,
}

impl Rule {
    /// The rule for `key` inside a value merged by `self`.
    fn child(self, key: &str) -> Rule {
        match self {
            Rule::Top => match key {
                "services" => Rule::Services,
                "networks" | "volumes" | "secrets" | "configs" => Rule::Resources,
                _ => Rule::Deep,
            },
            Rule::Services => Rule::Service,
            Rule::Resources => Rule::Resource,
            Rule::Resource => match key {
                "labels" => Rule::KeyValue,
                _ => Rule::Deep,
            },
            Rule::Service => match key {
                "command" | "entrypoint" => Rule::Replace,
                "healthcheck" => Rule::Healthcheck,
                "environment" | "labels" | "annotations" | "sysctls" => Rule::KeyValue,
                "build" => Rule::Build,
                "depends_on" => Rule::DependsOn,
                "networks" => Rule::Networks,
                "ports" => Rule::Unique(Key::Port),
                "volumes" => Rule::Unique(Key::Volume),
                "secrets" => Rule::Unique(Key::Mount("/run/secrets")),
                "configs" => Rule::Unique(Key::Mount("")),
                "env_file" => Rule::Unique(Key::EnvFile),
                "expose" | "dns" | "dns_opt" | "dns_search" | "tmpfs" | "cap_add" | "cap_drop"
                | "links" | "profiles" | "devices" | "security_opt" => Rule::Unique(Key::Text),
                _ => Rule::Deep,
            },
            Rule::Healthcheck => match key {
                "test" => Rule::Replace,
                _ => Rule::Deep,
            },
            Rule::Build => match key {
                "args" | "labels" => Rule::KeyValue,
                _ => Rule::Deep,
            },
            Rule::Networks => Rule::Deep,
            Rule::DependsOn => Rule::Deep,
            _ => Rule::Deep,
        }
    }

    fn is_mapping(self) -> bool {
        matches!(
            self,
            Rule::Top
                | Rule::Services
                | Rule::Service
                | Rule::Resources
                | Rule::Resource
                | Rule::Healthcheck
                | Rule::Build
                | Rule::DependsOn
                | Rule::Networks
        )
    }
}

struct Merger<'a> {
    /// The base document's origins, updated as nodes come from `from`.
    origins: &'a mut Origins,
    from: &'a Origins,
}

impl Merger<'_> {
    /// The node at `at` is now the later file's node at `from_at`.
    fn take(&mut self, at: &str, from_at: &str) {
        self.origins.graft(at, self.from, from_at);
    }

    fn merge(&mut self, base: &mut Value, over: Value, at: &str, from_at: &str, rule: Rule) {
        let over = match over {
            Value::Tagged(t) if is_tag_name(&t.tag, "override") => {
                let mut v = t.value;
                strip_tags(&mut v);
                *base = v;
                self.take(at, from_at);
                return;
            }
            other => other,
        };
        // `key:` with nothing in a later file changes nothing (compose-go does the same).
        if over.is_null() {
            return;
        }
        // Tags inside mappings are read by `mappings`; elsewhere they are stripped.
        match rule {
            Rule::Replace => self.replace(base, over, at, from_at),
            Rule::KeyValue => self.key_values(base, over, at, from_at),
            Rule::Unique(key) => self.unique(base, over, at, from_at, key),
            _ if rule.is_mapping() => {
                let (b, o) = match rule {
                    Rule::Build => (build_map(base), build_map(&over)),
                    Rule::DependsOn => (names_map(base, true), names_map(&over, true)),
                    Rule::Networks => (names_map(base, false), names_map(&over, false)),
                    _ => (base.as_mapping().cloned(), over.as_mapping().cloned()),
                };
                match (b, o) {
                    (Some(mut b), Some(o)) => {
                        self.mappings(&mut b, o, at, from_at, rule);
                        *base = Value::Mapping(b);
                    }
                    _ => self.replace(base, over, at, from_at),
                }
            }
            _ => match (base, over) {
                (Value::Mapping(b), Value::Mapping(o)) => self.mappings(b, o, at, from_at, rule),
                (Value::Sequence(b), Value::Sequence(o)) => self.append(b, o, at, from_at),
                (base, over) => self.replace(base, over, at, from_at),
            },
        }
    }

    fn replace(&mut self, base: &mut Value, mut over: Value, at: &str, from_at: &str) {
        strip_tags(&mut over);
        *base = over;
        self.take(at, from_at);
    }

    fn mappings(&mut self, base: &mut Mapping, over: Mapping, at: &str, from_at: &str, rule: Rule) {
        for (k, v) in over {
            let key = scalar_text(&k).unwrap_or_default();
            let (p, fp) = (docpath::child(at, &key), docpath::child(from_at, &key));
            if is_tag(&v, "reset") {
                base.remove(&k);
                self.origins.forget(&p);
                continue;
            }
            match base.get_mut(&k) {
                Some(existing) if !key.starts_with("x-") => {
                    self.merge(existing, v, &p, &fp, rule.child(&key));
                }
                _ => {
                    // `!override` of nothing is the value; `strip_tags` unwraps it.
                    let mut v = v;
                    strip_tags(&mut v);
                    base.insert(k, v);
                    self.take(&p, &fp);
                }
            }
        }
    }

    fn append(&mut self, base: &mut Vec<Value>, over: Vec<Value>, at: &str, from_at: &str) {
        for (i, mut item) in over.into_iter().enumerate() {
            strip_tags(&mut item);
            base.push(item);
            self.take(
                &docpath::item(at, base.len() - 1),
                &docpath::item(from_at, i),
            );
        }
    }

    /// Append, an entry with the key of an earlier one taking its place.
    fn unique(&mut self, base: &mut Value, mut over: Value, at: &str, from_at: &str, key: Key) {
        strip_tags(&mut over);
        let mut list = match std::mem::take(base) {
            Value::Sequence(items) => items,
            Value::Null => Vec::new(),
            // `dns: 8.8.8.8`, `env_file: a.env`: one entry.
            scalar => vec![scalar],
        };
        let over = match over {
            Value::Sequence(items) => items,
            scalar => vec![scalar],
        };
        for (i, item) in over.into_iter().enumerate() {
            let id = key.of(&item);
            let slot = id
                .as_ref()
                .and_then(|id| list.iter().position(|e| key.of(e).as_ref() == Some(id)));
            let j = match slot {
                Some(j) => {
                    list[j] = item;
                    j
                }
                None => {
                    list.push(item);
                    list.len() - 1
                }
            };
            self.take(&docpath::item(at, j), &docpath::item(from_at, i));
        }
        *base = Value::Sequence(list);
    }

    /// `environment`-like: by key. Two mappings stay a mapping; otherwise both
    /// become `KEY=value` lists (as compose-go does).
    fn key_values(&mut self, base: &mut Value, mut over: Value, at: &str, from_at: &str) {
        strip_tags(&mut over);
        if let (Value::Mapping(b), Value::Mapping(o)) = (&mut *base, &over) {
            for (k, v) in o.clone() {
                let key = scalar_text(&k).unwrap_or_default();
                b.insert(k, v);
                self.take(&docpath::child(at, &key), &docpath::child(from_at, &key));
            }
            return;
        }
        // Re-index the earlier entries: their paths change from `.KEY` to `[i]`.
        let before = self.origins.clone();
        let base_entries = entries_of(std::mem::take(base), at);
        self.origins.forget(at);
        if let Some(origin) = before.resolve(at) {
            let here = Origins::of(origin.0, &origin.1);
            self.origins.graft(at, &here, "");
        }
        let mut list: Vec<(String, Value)> = Vec::new();
        let mut slots: Vec<(String, Origins, String)> = Vec::new();
        for (id, item, path) in base_entries {
            list.push((id, item));
            slots.push((docpath::item(at, list.len() - 1), before.clone(), path));
        }
        for (id, item, path) in entries_of(over, from_at) {
            let j = match list.iter().position(|(k, _)| *k == id) {
                Some(j) => {
                    list[j] = (id, item);
                    j
                }
                None => {
                    list.push((id, item));
                    list.len() - 1
                }
            };
            slots.push((docpath::item(at, j), self.from.clone(), path));
        }
        for (slot, from, path) in slots {
            self.origins.graft(&slot, &from, &path);
        }
        *base = Value::Sequence(list.into_iter().map(|(_, v)| v).collect());
    }
}

/// `KEY=value` entries of a mapping or list: (key, entry as a list item, its path).
fn entries_of(v: Value, at: &str) -> Vec<(String, Value, String)> {
    match v {
        Value::Mapping(map) => map
            .into_iter()
            .map(|(k, v)| {
                let key = scalar_text(&k).unwrap_or_default();
                let item = match scalar_text(&v) {
                    Some(text) => Value::String(format!("{key}={text}")),
                    None => Value::String(key.clone()),
                };
                let path = docpath::child(at, &key);
                (key, item, path)
            })
            .collect(),
        Value::Sequence(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let text = scalar_text(&item).unwrap_or_default();
                let key = text.split_once('=').map_or(text.as_str(), |(k, _)| k);
                (key.to_string(), item, docpath::item(at, i))
            })
            .collect(),
        Value::Null => Vec::new(),
        scalar => {
            let text = scalar_text(&scalar).unwrap_or_default();
            let key = text.split_once('=').map_or(text.as_str(), |(k, _)| k);
            vec![(key.to_string(), scalar, at.to_string())]
        }
    }
}

/// `build: ./dir` is `build: {context: ./dir}`.
fn build_map(v: &Value) -> Option<Mapping> {
    match v {
        Value::Mapping(m) => Some(m.clone()),
        other => scalar_text(other).map(|context| {
            let mut m = Mapping::new();
            m.insert("context".into(), Value::String(context));
            m
        }),
    }
}

/// A list of names as a mapping: `depends_on: [db]` is `{db: {condition:
/// service_started, required: true}}`; `networks: [front]` is `{front: null}`.
fn names_map(v: &Value, dependency: bool) -> Option<Mapping> {
    match v {
        Value::Mapping(m) => Some(m.clone()),
        Value::Sequence(items) => Some(
            items
                .iter()
                .filter_map(scalar_text)
                .map(|name| {
                    let value = if dependency {
                        let mut d = Mapping::new();
                        d.insert("condition".into(), "service_started".into());
                        d.insert("required".into(), Value::Bool(true));
                        Value::Mapping(d)
                    } else {
                        Value::Null
                    };
                    (Value::String(name), value)
                })
                .collect(),
        ),
        _ => None,
    }
}

impl Key {
    fn of(self, v: &Value) -> Option<String> {
        match (self, v) {
            (Key::Text, v) => {
                let text = scalar_text(v)?;
                Some(
                    text.split_once('=')
                        .map_or(text.clone(), |(k, _)| k.to_string()),
                )
            }
            (Key::Port, Value::Mapping(m)) => {
                let get = |k: &str| m.get(k).and_then(scalar_text);
                Some(format!(
                    "{}:{}:{}/{}",
                    get("host_ip").unwrap_or_else(|| "0.0.0.0".into()),
                    get("published").unwrap_or_default(),
                    get("target").unwrap_or_default(),
                    get("protocol").unwrap_or_else(|| "tcp".into()),
                ))
            }
            (Key::Volume, Value::Mapping(m)) => m.get("target").and_then(scalar_text),
            (Key::Volume, v) => {
                let text = scalar_text(v)?;
                let mut parts = text.split(':');
                let first = parts.next().unwrap_or_default().to_string();
                Some(parts.next().map_or(first, str::to_string))
            }
            (Key::Mount(dir), Value::Mapping(m)) => match m.get("target").and_then(scalar_text) {
                Some(t) => Some(t),
                None => Some(format!("{dir}/{}", m.get("source").and_then(scalar_text)?)),
            },
            (Key::Mount(dir), v) => Some(format!("{dir}/{}", scalar_text(v)?)),
            (Key::EnvFile, Value::Mapping(m)) => m.get("path").and_then(scalar_text),
            (Key::EnvFile | Key::Port, v) => scalar_text(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(index: usize, text: &str) -> Doc {
        let mut value = crate::stack::parse::parse(text).unwrap();
        if index == 0 {
            strip_tags(&mut value);
        }
        Doc {
            value,
            origins: Origins::of(index, ""),
        }
    }

    /// `texts` merged in order, as YAML of the `web` service.
    fn merged(texts: &[&str]) -> Doc {
        let mut base = doc(0, texts[0]);
        for (i, t) in texts.iter().enumerate().skip(1) {
            documents(&mut base, doc(i, t));
        }
        base
    }

    fn web(texts: &[&str]) -> Value {
        merged(texts).value["services"]["web"].clone()
    }

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn mappings_merge_and_scalars_are_replaced() {
        let w = web(&[
            "services: {web: {image: a, user: me, healthcheck: {test: [CMD, a], interval: 1s}}}",
            "services: {web: {image: b, healthcheck: {test: [CMD, b]}}, db: {image: d}}",
        ]);
        assert_eq!(
            w,
            yaml("{image: b, user: me, healthcheck: {test: [CMD, b], interval: 1s}}")
        );
    }

    #[test]
    fn commands_are_replaced_not_appended() {
        let w = web(&[
            "services: {web: {command: [a, b], entrypoint: [x], dns: [1.1.1.1]}}",
            "services: {web: {command: [c], entrypoint: y, dns: 8.8.8.8}}",
        ]);
        assert_eq!(w["command"], yaml("[c]"));
        assert_eq!(w["entrypoint"], yaml("y"));
        assert_eq!(w["dns"], yaml("[1.1.1.1, 8.8.8.8]"));
    }

    #[test]
    fn ports_and_volumes_are_unique_by_their_key() {
        let w = web(&[
            "services: {web: {ports: ['8080:80', '9000:9000'], volumes: ['./src:/src', 'data:/data']}}",
            "services: {web: {ports: ['8081:80', '9000:9000'], volumes: ['./other:/src', {type: bind, source: ./x, target: /x}]}}",
        ]);
        assert_eq!(w["ports"], yaml("['8080:80', '9000:9000', '8081:80']"));
        assert_eq!(
            w["volumes"],
            yaml("['./other:/src', 'data:/data', {type: bind, source: ./x, target: /x}]")
        );
    }

    #[test]
    fn secrets_are_unique_by_target() {
        let w = web(&[
            "services: {web: {secrets: [a, {source: b, target: /t}]}}",
            "services: {web: {secrets: [{source: a, mode: 0400}, {source: c, target: /t}]}}",
        ]);
        assert_eq!(
            w["secrets"],
            yaml("[{source: a, mode: 0400}, {source: c, target: /t}]")
        );
    }

    #[test]
    fn environment_and_labels_merge_by_key_in_either_form() {
        let w = web(&[
            "services: {web: {environment: {A: '1', B: '2'}, labels: [x=1, y=1]}}",
            "services: {web: {environment: [B=3, C=4], labels: {y: '2'}}}",
        ]);
        assert_eq!(w["environment"], yaml("[A=1, B=3, C=4]"));
        assert_eq!(w["labels"], yaml("[x=1, y=2]"));
        let w = web(&[
            "services: {web: {environment: {A: '1'}}}",
            "services: {web: {environment: {A: '2', B: ~}}}",
        ]);
        assert_eq!(w["environment"], yaml("{A: '2', B: ~}"));
    }

    #[test]
    fn depends_on_and_networks_merge_as_mappings() {
        let w = web(&[
            "services: {web: {depends_on: [db], networks: [front]}}",
            "services: {web: {depends_on: {cache: {condition: service_healthy}}, networks: {back: {aliases: [b]}}}}",
        ]);
        assert_eq!(
            w["depends_on"],
            yaml(
                "{db: {condition: service_started, required: true}, cache: {condition: service_healthy}}"
            )
        );
        assert_eq!(w["networks"], yaml("{front: ~, back: {aliases: [b]}}"));
    }

    #[test]
    fn build_string_and_mapping_merge() {
        let w = web(&[
            "services: {web: {build: ./app}}",
            "services: {web: {build: {dockerfile: Dev, args: [A=1]}}}",
        ]);
        assert_eq!(
            w["build"],
            yaml("{context: ./app, dockerfile: Dev, args: [A=1]}")
        );
    }

    #[test]
    fn reset_and_override_tags() {
        let w = web(&[
            "services: {web: {image: a, ports: ['80:80'], environment: {A: '1'}, command: [x], user: me}}",
            "services: {web: {ports: !override ['81:80'], environment: !reset {}, command: !reset null, labels: !override {a: b}}}",
        ]);
        assert_eq!(
            w,
            yaml("{image: a, ports: ['81:80'], user: me, labels: {a: b}}")
        );
        // In the first file, `!reset` removes and `!override` is the value.
        let w =
            web(&["services: {web: {image: a, ports: !reset ['1:1'], command: !override [a]}}"]);
        assert_eq!(w, yaml("{image: a, command: [a]}"));
    }

    #[test]
    fn a_null_in_a_later_file_changes_nothing_and_x_keys_are_replaced() {
        let m = merged(&[
            "services: {web: {image: a}}\nx-a: {k: 1}",
            "services: {web: }\nx-a: {j: 2}",
        ]);
        assert_eq!(m.value["services"]["web"], yaml("{image: a}"));
        assert_eq!(m.value["x-a"], yaml("{j: 2}"));
    }

    #[test]
    fn origins_follow_the_merged_nodes() {
        let m = merged(&[
            "services:\n  web:\n    image: a\n    ports: ['80:80']\n    environment: {A: '1'}\n",
            "services:\n  web:\n    ports: ['81:81']\n    environment: [B=2]\n  db: {image: d}\n",
        ]);
        let o = &m.origins;
        assert_eq!(
            o.resolve("services.web.image"),
            Some((0, "services.web.image".into()))
        );
        assert_eq!(
            o.resolve("services.web.ports[0]"),
            Some((0, "services.web.ports[0]".into()))
        );
        assert_eq!(
            o.resolve("services.web.ports[1]"),
            Some((1, "services.web.ports[0]".into()))
        );
        assert_eq!(
            o.resolve("services.db.image"),
            Some((1, "services.db.image".into()))
        );
        assert_eq!(
            o.resolve("services.web.environment[0]"),
            Some((0, "services.web.environment.A".into()))
        );
        assert_eq!(
            o.resolve("services.web.environment[1]"),
            Some((1, "services.web.environment[0]".into()))
        );
    }
}
