//! `ls`: every pier project on the engine, from the labels of its containers alone
//! (no stack file needed): its name, how many containers are in which state, and
//! the directory it lives in and its stack files, and its https names when the
//! shared router serves it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::{Engine, ProjectContainer};
use crate::error::Result;

/// One project, as `docker compose ls` shows one (its JSON keys are Compose's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectRow {
    #[serde(rename = "Name")]
    pub name: String,
    /// Containers per state, states in name order: `exited(1), running(2)`.
    #[serde(rename = "Status")]
    pub status: String,
    /// The project's directory (None when its containers predate the label).
    #[serde(rename = "WorkingDir")]
    pub working_dir: Option<String>,
    /// The stack files, comma-separated, as Compose's `ConfigFiles` (None when its
    /// containers predate the label).
    #[serde(rename = "ConfigFiles")]
    pub config_files: Option<String>,
    /// Its https names through the shared router, its own name first
    /// (`ops::router`); empty when the router does not serve it.
    #[serde(rename = "URLs")]
    pub urls: Vec<String>,
}

/// The projects with a running container; with `all`, every project with a container.
pub async fn ls(engine: &Engine, all: bool) -> Result<Vec<ProjectRow>> {
    let mut rows = rows(engine.list_project_containers(all).await?);
    // The names are extra: a router that cannot be read leaves them out, not `ls`.
    let mut urls = super::router::urls_by_project(engine)
        .await
        .unwrap_or_default();
    for row in &mut rows {
        row.urls = urls.remove(&row.name).unwrap_or_default();
    }
    Ok(rows)
}

/// One row per project, in name order.
pub fn rows(containers: Vec<ProjectContainer>) -> Vec<ProjectRow> {
    type Seen = (
        BTreeMap<&'static str, usize>,
        Option<String>,
        Option<String>,
    );
    let mut projects: BTreeMap<String, Seen> = BTreeMap::new();
    for c in containers {
        let (states, dir, files) = projects.entry(c.project).or_default();
        *states.entry(c.state.as_str()).or_default() += 1;
        if dir.is_none() {
            *dir = c.working_dir;
        }
        if files.is_none() {
            *files = c.config_files;
        }
    }
    projects
        .into_iter()
        .map(|(name, (states, working_dir, config_files))| ProjectRow {
            name,
            status: states
                .iter()
                .map(|(state, n)| format!("{state}({n})"))
                .collect::<Vec<_>>()
                .join(", "),
            working_dir,
            config_files,
            urls: vec![],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::observed::ContainerState;

    #[test]
    fn projects_with_their_states_counted_like_compose() {
        let c = |project: &str, state, dir: Option<&str>| ProjectContainer {
            project: project.into(),
            state,
            working_dir: dir.map(String::from),
            config_files: dir.map(|d| format!("{d}/compose.yaml")),
        };
        let rows = rows(vec![
            c("shop", ContainerState::Running, Some("/src/shop")),
            c("blog", ContainerState::Exited, None),
            c("shop", ContainerState::Exited, Some("/src/shop")),
            c("shop", ContainerState::Running, Some("/src/shop")),
        ]);
        assert_eq!(
            rows,
            vec![
                ProjectRow {
                    name: "blog".into(),
                    status: "exited(1)".into(),
                    working_dir: None,
                    config_files: None,
                    urls: vec![],
                },
                ProjectRow {
                    name: "shop".into(),
                    status: "exited(1), running(2)".into(),
                    working_dir: Some("/src/shop".into()),
                    config_files: Some("/src/shop/compose.yaml".into()),
                    urls: vec![],
                },
            ]
        );
        assert_eq!(
            serde_json::to_value(&rows[1]).unwrap(),
            serde_json::json!({"Name": "shop", "Status": "exited(1), running(2)", "WorkingDir": "/src/shop", "ConfigFiles": "/src/shop/compose.yaml", "URLs": []})
        );
    }
}
