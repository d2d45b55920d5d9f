//! `pier graph`: the dependency graph and start levels, as text, DOT or Mermaid.

use std::fmt::Write as _;
use std::io::Write;

use crate::cli::{GlobalArgs, GraphArgs, GraphFormat};
use crate::error::{Error, Result};
use crate::event::EventSink;
use crate::stack::graph::{EdgeKind, Graph};

pub fn run(
    global: &GlobalArgs,
    args: &GraphArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<i32> {
    let loaded = super::load_stack(global, sink)?;
    // Cycles were rejected while loading; this cannot fail on a loaded stack.
    let graph = Graph::new(&loaded.stack).map_err(Error::Invalid)?;
    let text = match args.format {
        GraphFormat::Text => text(&graph),
        GraphFormat::Dot => dot(&loaded.stack.name, &graph),
        GraphFormat::Mermaid => mermaid(&graph),
    };
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("stdout", e))?;
    Ok(0)
}

/// "service_healthy", or "service_started, network_mode" for a shared namespace
/// (`volumes_from` for shared volumes).
fn edge_label(kind: EdgeKind, condition: &str) -> String {
    match kind {
        EdgeKind::DependsOn => condition.to_string(),
        EdgeKind::NetworkMode => format!("{condition}, network_mode"),
        EdgeKind::VolumesFrom => format!("{condition}, volumes_from"),
    }
}

/// Start levels, then every edge with its condition.
pub fn text(graph: &Graph) -> String {
    let mut s = String::from("start levels:\n");
    for (i, level) in graph.levels().iter().enumerate() {
        let _ = writeln!(s, "  {i}: {}", level.join(", "));
    }
    let deps = graph.dependencies();
    s.push_str("dependencies:\n");
    if deps.is_empty() {
        s.push_str("  (none)\n");
    }
    for d in deps {
        let label = edge_label(d.edge.kind, d.edge.condition.as_str());
        let _ = writeln!(s, "  {} -> {} ({label})", d.service, d.dependency);
    }
    s
}

/// Graphviz: an arrow from each service to what it depends on.
pub fn dot(project: &str, graph: &Graph) -> String {
    let mut s = format!("digraph \"{project}\" {{\n  rankdir=BT;\n");
    for name in graph.services() {
        let _ = writeln!(s, "  \"{name}\";");
    }
    for d in graph.dependencies() {
        let label = edge_label(d.edge.kind, d.edge.condition.as_str());
        let _ = writeln!(
            s,
            "  \"{}\" -> \"{}\" [label=\"{label}\"];",
            d.service, d.dependency
        );
    }
    s.push_str("}\n");
    s
}

/// Mermaid flowchart. Service names may hold `.`, so nodes get plain ids.
pub fn mermaid(graph: &Graph) -> String {
    let names: Vec<&str> = graph.services().collect();
    let id = |name: &str| format!("s{}", names.iter().position(|n| *n == name).unwrap_or(0));
    let mut s = String::from("flowchart BT\n");
    for name in &names {
        let _ = writeln!(s, "  {}[\"{name}\"]", id(name));
    }
    for d in graph.dependencies() {
        let label = edge_label(d.edge.kind, d.edge.condition.as_str());
        let _ = writeln!(s, "  {} -->|{label}| {}", id(&d.service), id(&d.dependency));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{Variables, load_str};
    use std::path::Path;

    fn graph() -> Graph {
        let text = "services:\n  web: {image: x, depends_on: {db: {condition: service_healthy}, cache: {condition: service_started}}}\n  db: {image: x}\n  cache: {image: x}\n  proxy: {image: x, depends_on: [web]}\n";
        let (stack, _) = load_str(
            text,
            Path::new("/p/s/pier.yaml"),
            Path::new("/p/s"),
            &Variables::default(),
            None,
        )
        .unwrap();
        Graph::new(&stack).unwrap()
    }

    #[test]
    fn text_shows_levels_and_conditions() {
        assert_eq!(
            text(&graph()),
            "start levels:\n  0: cache, db\n  1: web\n  2: proxy\ndependencies:\n  proxy -> web (service_started)\n  web -> cache (service_started)\n  web -> db (service_healthy)\n"
        );
    }

    #[test]
    fn dot_and_mermaid() {
        let d = dot("s", &graph());
        assert!(d.starts_with("digraph \"s\" {"));
        assert!(d.contains("\"web\" -> \"db\" [label=\"service_healthy\"];"));
        let m = mermaid(&graph());
        // cache=s0, db=s1, proxy=s2, web=s3
        assert!(m.contains("  s3 -->|service_healthy| s1\n"), "{m}");
        assert!(m.contains("  s1[\"db\"]\n"));
    }
}
