//! The dependency graph of a stack: which service waits for which, start levels
//! (services in one level start together) and teardown order.
//!
//! Edges come from `depends_on` and from `network_mode: service:NAME` and
//! `volumes_from: [NAME]` (a service cannot join the network namespace, or mount
//! the volumes, of a container that does not exist yet).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::Direction;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::stack::model::{Condition, Stack, VolumesSource};

/// Why one service waits for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    DependsOn,
    /// `network_mode: service:NAME`.
    NetworkMode,
    /// `volumes_from: [NAME]`: the engine needs NAME's container to create this one.
    VolumesFrom,
}

impl EdgeKind {
    /// Whether the dependency's container must be there (and ready) before this
    /// service's container is even created, not only before it starts.
    pub fn before_create(self) -> bool {
        self != EdgeKind::DependsOn
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub condition: Condition,
    pub kind: EdgeKind,
}

/// One dependency: `service` waits for `dependency` to meet `edge.condition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub service: String,
    pub dependency: String,
    pub edge: Edge,
}

#[derive(Debug, Clone)]
pub struct Graph {
    /// An edge points from a service to what it depends on.
    graph: DiGraph<String, Edge>,
    nodes: BTreeMap<String, NodeIndex>,
}

impl Graph {
    /// Build the graph; dependency cycles are errors, each shown once as
    /// `a -> b -> c -> a` from the alphabetically first service in it.
    pub fn new(stack: &Stack) -> Result<Graph, Vec<Diagnostic>> {
        let mut graph = DiGraph::new();
        let nodes: BTreeMap<String, NodeIndex> = stack
            .services
            .keys()
            .map(|name| (name.clone(), graph.add_node(name.clone())))
            .collect();
        for (name, service) in &stack.services {
            let from = nodes[name];
            // What the container is created from: the loader made each a
            // `depends_on` too (Compose's implicit dependencies), whose condition
            // counts; a stack built by hand may lack it.
            let shared = service
                .network_mode
                .as_deref()
                .and_then(|m| m.strip_prefix("service:"))
                .map(|s| (s, EdgeKind::NetworkMode));
            let volumes = service.volumes_from.iter().filter_map(|v| match &v.source {
                VolumesSource::Service(s) => Some((s.as_str(), EdgeKind::VolumesFrom)),
                VolumesSource::Container(_) => None,
            });
            let mut kinds: BTreeMap<&str, EdgeKind> = BTreeMap::new();
            for (dep, kind) in shared.into_iter().chain(volumes) {
                kinds.entry(dep).or_insert(kind);
            }
            for (dep, d) in &service.depends_on {
                if let Some(&to) = nodes.get(dep) {
                    let edge = Edge {
                        condition: d.condition,
                        kind: kinds.remove(dep.as_str()).unwrap_or(EdgeKind::DependsOn),
                    };
                    graph.add_edge(from, to, edge);
                }
            }
            for (dep, kind) in kinds {
                if let Some(&to) = nodes.get(dep) {
                    let edge = Edge {
                        condition: Condition::Started,
                        kind,
                    };
                    graph.add_edge(from, to, edge);
                }
            }
        }
        let g = Graph { graph, nodes };
        let cycles = g.cycles();
        if cycles.is_empty() {
            Ok(g)
        } else {
            Err(cycles)
        }
    }

    fn name(&self, n: NodeIndex) -> &str {
        &self.graph[n]
    }

    /// Direct dependencies of `n`, by name.
    fn deps_sorted(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut deps: Vec<NodeIndex> = self
            .graph
            .neighbors_directed(n, Direction::Outgoing)
            .collect();
        deps.sort_by(|a, b| self.name(*a).cmp(self.name(*b)));
        deps.dedup();
        deps
    }

    fn cycles(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for scc in tarjan_scc(&self.graph) {
            let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
            let looped = scc.len() > 1 || self.graph.contains_edge(scc[0], scc[0]);
            if !looped {
                continue;
            }
            let start = *scc
                .iter()
                .min_by(|a, b| self.name(**a).cmp(self.name(**b)))
                .expect("non-empty");
            let path = self.shortest_cycle(start, &members);
            let names: Vec<&str> = path.iter().map(|n| self.name(*n)).collect();
            out.push(
                Diagnostic::error(
                    format!("services.{}.depends_on", self.name(start)),
                    format!("dependency cycle: {}", names.join(" -> ")),
                )
                .with_hint("services in a cycle can never start; remove one of these dependencies"),
            );
        }
        out
    }

    /// The shortest way from `start` back to itself within its strongly connected
    /// component, preferring alphabetically earlier services (so it is deterministic).
    fn shortest_cycle(&self, start: NodeIndex, members: &BTreeSet<NodeIndex>) -> Vec<NodeIndex> {
        let mut came_from: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            for d in self.deps_sorted(n) {
                if d == start {
                    let mut path = vec![start];
                    let mut at = n;
                    while at != start {
                        path.push(at);
                        at = came_from[&at];
                    }
                    path[1..].reverse();
                    path.push(start);
                    return path;
                }
                if members.contains(&d) && !came_from.contains_key(&d) {
                    came_from.insert(d, n);
                    queue.push_back(d);
                }
            }
        }
        unreachable!("a strongly connected component with a loop has a cycle through each node")
    }

    /// Start levels: level 0 depends on nothing; each service is one level above
    /// its deepest dependency. Names are sorted within a level.
    pub fn levels(&self) -> Vec<Vec<String>> {
        let order = toposort(&self.graph, None).expect("cycles are rejected in Graph::new");
        let mut level: BTreeMap<NodeIndex, usize> = BTreeMap::new();
        // toposort puts a service before its dependencies; walk it backwards.
        for &n in order.iter().rev() {
            let l = self
                .deps_sorted(n)
                .iter()
                .map(|d| level[d] + 1)
                .max()
                .unwrap_or(0);
            level.insert(n, l);
        }
        let depth = level.values().max().map_or(0, |m| m + 1);
        let mut levels = vec![Vec::new(); depth];
        for (n, l) in level {
            levels[l].push(self.name(n).to_string());
        }
        for l in &mut levels {
            l.sort();
        }
        levels
    }

    /// Stop order: dependents before what they depend on.
    pub fn teardown_levels(&self) -> Vec<Vec<String>> {
        let mut levels = self.levels();
        levels.reverse();
        levels
    }

    /// Everything `service` needs, directly or not (without `service` itself).
    pub fn dependencies_of(&self, service: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Some(&start) = self.nodes.get(service) else {
            return out;
        };
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            for d in self.deps_sorted(n) {
                if out.insert(self.name(d).to_string()) {
                    stack.push(d);
                }
            }
        }
        out
    }

    /// The services to start for `pier up NAME...`: those named and all they need.
    /// An empty selection means every service. Unknown names are errors with
    /// "did you mean".
    pub fn select(&self, services: &[String]) -> Result<BTreeSet<String>, Vec<Diagnostic>> {
        if services.is_empty() {
            return Ok(self.nodes.keys().cloned().collect());
        }
        let mut out = BTreeSet::new();
        let mut problems = Vec::new();
        for s in services {
            if !self.nodes.contains_key(s) {
                let d = Diagnostic::error("", format!("no service named `{s}` in the stack"));
                problems.push(
                    match did_you_mean(s, self.nodes.keys().map(String::as_str)) {
                        Some(close) => d.with_hint(format!("did you mean `{close}`?")),
                        None => d.with_hint(format!(
                            "services are: {}",
                            self.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
                        )),
                    },
                );
                continue;
            }
            out.insert(s.clone());
            out.extend(self.dependencies_of(s));
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// Every edge, sorted by service then dependency.
    pub fn dependencies(&self) -> Vec<Dependency> {
        let mut out: Vec<Dependency> = self
            .graph
            .edge_references()
            .map(|e| Dependency {
                service: self.name(e.source()).to_string(),
                dependency: self.name(e.target()).to_string(),
                edge: *e.weight(),
            })
            .collect();
        out.sort_by(|a, b| (&a.service, &a.dependency).cmp(&(&b.service, &b.dependency)));
        out
    }

    /// All services, sorted.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::fixture::StackFixture;

    /// A stack from `service: dep1 dep2` lines (healthy when a dep ends in `!`).
    fn stack(spec: &str) -> Stack {
        let mut fixture = StackFixture::new("t");
        for line in spec.lines().filter(|l| !l.trim().is_empty()) {
            let (name, deps) = line.split_once(':').unwrap();
            fixture = fixture.service(name.trim(), |mut s| {
                for d in deps.split_whitespace() {
                    s = match d.strip_suffix('!') {
                        Some(d) => s.depends_on(d, Condition::Healthy),
                        None => s.depends_on(d, Condition::Started),
                    };
                }
                s
            });
        }
        fixture.build()
    }

    fn cycle_messages(spec: &str) -> Vec<String> {
        Graph::new(&stack(spec))
            .unwrap_err()
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn levels_follow_the_deepest_dependency() {
        let g = Graph::new(&stack(
            "web: db! cache\nworker: db\ndb:\ncache:\nproxy: web\n",
        ))
        .unwrap();
        assert_eq!(
            g.levels(),
            vec![vec!["cache", "db"], vec!["web", "worker"], vec!["proxy"]]
        );
        assert_eq!(g.teardown_levels()[0], vec!["proxy"]);
    }

    #[test]
    fn transitive_dependencies() {
        let g = Graph::new(&stack("proxy: web\nweb: db cache\ndb:\ncache:\nother:\n")).unwrap();
        assert_eq!(
            g.dependencies_of("proxy"),
            ["cache", "db", "web"].map(String::from).into()
        );
        assert!(g.dependencies_of("db").is_empty());
        let picked = g.select(&["web".into()]).unwrap();
        assert_eq!(picked, ["cache", "db", "web"].map(String::from).into());
        let err = g.select(&["webb".into()]).unwrap_err();
        assert_eq!(err[0].hint.as_deref(), Some("did you mean `web`?"));
    }

    #[test]
    fn cycles_start_from_the_first_name() {
        assert_eq!(
            cycle_messages("c: a\na: b\nb: c\n"),
            ["dependency cycle: a -> b -> c -> a"]
        );
        assert_eq!(cycle_messages("a: a\n"), ["dependency cycle: a -> a"]);
        let mut two = cycle_messages("x: y\ny: x\nb: a\na: b\nok:\n");
        two.sort();
        assert_eq!(
            two,
            [
                "dependency cycle: a -> b -> a",
                "dependency cycle: x -> y -> x"
            ]
        );
    }

    #[test]
    fn edges_keep_their_condition() {
        let g = Graph::new(&stack("web: db!\ndb:\n")).unwrap();
        let deps = g.dependencies();
        assert_eq!(deps.len(), 1);
        assert_eq!(
            (deps[0].service.as_str(), deps[0].dependency.as_str()),
            ("web", "db")
        );
        assert_eq!(deps[0].edge.condition, Condition::Healthy);
    }

    #[test]
    fn network_mode_service_is_an_edge() {
        let mut s = stack("vpn:\napp:\n");
        s.services.get_mut("app").unwrap().network_mode = Some("service:vpn".into());
        let g = Graph::new(&s).unwrap();
        assert_eq!(g.levels(), vec![vec!["vpn"], vec!["app"]]);
        assert_eq!(g.dependencies()[0].edge.kind, EdgeKind::NetworkMode);
    }

    #[test]
    fn volumes_from_and_network_mode_keep_their_kind_under_depends_on() {
        // As loaded: each is a `depends_on` too, whose condition counts.
        let mut s = stack("vpn:\ndata:\napp: vpn data!\n");
        let app = s.services.get_mut("app").unwrap();
        app.network_mode = Some("service:vpn".into());
        app.volumes_from = vec![
            crate::stack::model::VolumesFrom {
                source: VolumesSource::Service("data".into()),
                mode: None,
            },
            crate::stack::model::VolumesFrom {
                source: VolumesSource::Container("elsewhere".into()),
                mode: None,
            },
        ];
        let g = Graph::new(&s).unwrap();
        let deps = g.dependencies();
        let kinds: Vec<(&str, EdgeKind, Condition)> = deps
            .iter()
            .map(|d| (d.dependency.as_str(), d.edge.kind, d.edge.condition))
            .collect();
        assert_eq!(
            kinds,
            [
                ("data", EdgeKind::VolumesFrom, Condition::Healthy),
                ("vpn", EdgeKind::NetworkMode, Condition::Started),
            ]
        );
        assert!(kinds.iter().all(|(_, k, _)| k.before_create()));
        assert!(!EdgeKind::DependsOn.before_create());
    }
}
