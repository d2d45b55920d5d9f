//! Stage: profiles. A service with `profiles:` is in the stack only when one of
//! them is active (`--profile`, `COMPOSE_PROFILES`; `*` activates all) or when
//! it is named on the command line — then what it depends on is enabled too,
//! as in Compose. Applied once, by the loader, so every command (`up`,
//! `config`, `ps`, `graph`, `export`, …) sees the same services.

use std::collections::BTreeSet;

use super::docpath;
use super::model::Stack;
use crate::diagnostic::Diagnostic;

/// The profiles that are active: `--profile` when given, else `COMPOSE_PROFILES`
/// (comma-separated), as Compose reads them.
pub fn active(flags: &[String], compose_profiles: Option<&str>) -> Vec<String> {
    if !flags.is_empty() {
        return flags.to_vec();
    }
    compose_profiles
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// Remove the services that are not enabled. A service that stays and needs one
/// that does not is an error (an optional dependency is dropped).
pub fn apply(stack: &mut Stack, active: &[String], named: &[String]) -> Vec<Diagnostic> {
    let all = active.iter().any(|p| p == "*");
    let mut enabled: BTreeSet<String> = stack
        .services
        .iter()
        .filter(|(_, s)| {
            s.profiles.is_empty() || all || s.profiles.iter().any(|p| active.contains(p))
        })
        .map(|(name, _)| name.clone())
        .collect();
    // Named services and, transitively, what they depend on.
    let mut todo: Vec<String> = named
        .iter()
        .filter(|n| stack.services.contains_key(*n))
        .cloned()
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        enabled.insert(name.clone());
        todo.extend(
            stack.services[&name]
                .depends_on
                .keys()
                .filter(|dep| stack.services.contains_key(*dep))
                .cloned(),
        );
    }
    let disabled: Vec<(String, Vec<String>)> = stack
        .services
        .iter()
        .filter(|(name, _)| !enabled.contains(*name))
        .map(|(name, s)| (name.clone(), s.profiles.clone()))
        .collect();
    if disabled.is_empty() {
        return Vec::new();
    }
    let mut diags = Vec::new();
    for (name, _) in &disabled {
        stack.services.remove(name);
        stack.disabled.insert(name.clone());
    }
    for (name, service) in &mut stack.services {
        service.depends_on.retain(|dep, d| {
            let Some((_, profiles)) = disabled.iter().find(|(n, _)| n == dep) else {
                return true;
            };
            if d.required {
                let path = docpath::child(&docpath::child("services", name), "depends_on");
                diags.push(
                    Diagnostic::error(
                        path,
                        format!(
                            "service `{name}` depends on `{dep}`, which is not enabled (its profiles: {})",
                            profiles.join(", ")
                        ),
                    )
                    .with_hint(format!(
                        "activate a profile with --profile {} (or COMPOSE_PROFILES), or name `{name}` on the command line",
                        profiles.first().map(String::as_str).unwrap_or_default()
                    )),
                );
            }
            false
        });
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{Variables, load_str};
    use std::path::Path;

    const STACK: &str = "services:
  app: {image: x}
  db: {image: x, profiles: [data]}
  debug: {image: x, profiles: [dbg], depends_on: [tool]}
  tool: {image: x, profiles: [tools]}
";

    fn services(active: &[&str], named: &[&str]) -> Result<Vec<String>, Vec<Diagnostic>> {
        let (mut stack, _) = load_str(
            STACK,
            Path::new("/p/x/compose.yaml"),
            Path::new("/p/x"),
            &Variables::default(),
            None,
        )
        .unwrap();
        let active: Vec<String> = active.iter().map(|s| s.to_string()).collect();
        let named: Vec<String> = named.iter().map(|s| s.to_string()).collect();
        let diags = apply(&mut stack, &active, &named);
        if diags.is_empty() {
            Ok(stack.services.keys().cloned().collect())
        } else {
            Err(diags)
        }
    }

    #[test]
    fn only_active_profiles_and_named_services() {
        assert_eq!(services(&[], &[]).unwrap(), ["app"]);
        assert_eq!(services(&["data"], &[]).unwrap(), ["app", "db"]);
        assert_eq!(
            services(&["*"], &[]).unwrap(),
            ["app", "db", "debug", "tool"]
        );
        // Named: enabled with what it depends on.
        assert_eq!(services(&[], &["debug"]).unwrap(), ["app", "debug", "tool"]);
    }

    #[test]
    fn a_dependency_left_out_by_profiles_is_an_error() {
        let e = services(&["dbg"], &[]).unwrap_err();
        assert_eq!(e[0].path, "services.debug.depends_on");
        assert!(e[0].message.contains("`tool`"), "{}", e[0].message);
        assert!(e[0].hint.as_deref().unwrap().contains("--profile tools"));
    }

    #[test]
    fn compose_profiles_unless_flags() {
        assert_eq!(active(&[], Some("a, b,,")), ["a", "b"]);
        assert_eq!(active(&["c".into()], Some("a")), ["c"]);
        assert!(active(&[], None).is_empty());
    }
}
