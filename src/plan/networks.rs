//! The project's networks as they really are, for `plan_up`: what a kill or a
//! hand left behind.
//!
//! - Duplicates: two networks of one name (an `up` killed while its create was
//!   in flight, from before pier asked for the engine's duplicate check). Every
//!   container create then failed with "network … is ambiguous". All but one
//!   are removed: the one kept is the one the project's containers use.
//! - Removed networks: `docker network rm` (or disconnect) by hand. A container
//!   attached to a network that is gone, or no longer attached to one its
//!   service declares, is recreated (joined to the network `up` recreates);
//!   before, `up` either failed at every start ("network … not found") or said
//!   "nothing to do" while the containers had no network.

use std::collections::BTreeMap;

use crate::plan::observed::{Observed, ObservedContainer, ObservedNetwork};
use crate::plan::steps::{Action, Cause, Plan, Step};

/// The networks to remove as duplicates: for each name seen more than once,
/// all but the one most of the project's containers are attached to (ties: the
/// first by id), with no container attached (one in use cannot be removed).
pub fn duplicates(observed: &Observed) -> Vec<&ObservedNetwork> {
    let mut by_name: BTreeMap<&str, Vec<&ObservedNetwork>> = BTreeMap::new();
    for n in &observed.networks {
        by_name.entry(&n.name).or_default().push(n);
    }
    let users = |n: &ObservedNetwork| {
        observed
            .containers
            .iter()
            .filter(|c| attached_id(c, &n.name).is_some_and(|id| id == n.id))
            .count()
    };
    let mut remove = Vec::new();
    for (_, mut same) in by_name.into_iter().filter(|(_, v)| v.len() > 1) {
        same.sort_by(|a, b| users(b).cmp(&users(a)).then(a.id.cmp(&b.id)));
        remove.extend(same.into_iter().skip(1).filter(|n| users(n) == 0));
    }
    remove
}

/// A plan that removes `duplicates(observed)`: run at the end of an `up`, for a
/// duplicate whose create (by a run killed just before) finished only after this
/// run looked.
pub fn dedupe_plan(project: &str, observed: &Observed) -> Plan {
    let steps = duplicates(observed)
        .into_iter()
        .map(|n| Step {
            action: Action::RemoveNetwork {
                name: n.name.clone(),
                id: n.id.clone(),
            },
            cause: Cause::DuplicateNetwork,
            after: vec![],
        })
        .collect();
    Plan {
        project: project.to_string(),
        steps,
        unchanged: vec![],
        notes: vec![],
    }
}

/// The first of `wanted` (engine-side names of the project's own networks the
/// service joins) that `container` is not properly on: not attached to it, or
/// attached to a network of that name that no longer exists. None when it is on
/// all of them, or when its attachments are unknown.
pub fn removed(
    container: &ObservedContainer,
    wanted: &[String],
    observed: &Observed,
) -> Option<String> {
    container.networks.as_ref()?;
    wanted
        .iter()
        .find(|name| {
            let exists: Vec<&str> = observed
                .networks
                .iter()
                .filter(|n| n.name == **name)
                .map(|n| n.id.as_str())
                .collect();
            match attached_id(container, name) {
                None => true,
                // Not started yet: the engine resolves the name when it starts.
                Some("") => exists.is_empty(),
                Some(id) => !exists.contains(&id),
            }
        })
        .cloned()
}

fn attached_id<'a>(container: &'a ObservedContainer, network: &str) -> Option<&'a str> {
    container
        .networks
        .as_ref()?
        .get(network)
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::observed::ContainerState;

    fn net(name: &str, id: &str) -> ObservedNetwork {
        ObservedNetwork {
            name: name.into(),
            id: id.into(),
        }
    }

    fn container(networks: Option<&[(&str, &str)]>) -> ObservedContainer {
        ObservedContainer {
            network_host: None,
            pre_stop: vec![],
            name: "p-web-1".into(),
            id: "c1".into(),
            image_id: None,
            service: "web".into(),
            config_hash: None,
            field_hashes: BTreeMap::new(),
            depends_on: vec![],
            state: ContainerState::Exited,
            health: None,
            exit_code: Some(0),
            started_at: None,
            published: vec![],
            networks: networks.map(|n| {
                n.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
        }
    }

    #[test]
    fn duplicates_keep_the_one_in_use() {
        let observed = Observed {
            networks: vec![
                net("p_default", "a"),
                net("p_default", "b"),
                net("p_other", "c"),
            ],
            containers: vec![container(Some(&[("p_default", "b")]))],
            ..Observed::default()
        };
        let ids: Vec<&str> = duplicates(&observed)
            .iter()
            .map(|n| n.id.as_str())
            .collect();
        assert_eq!(ids, ["a"]);
        // None in use: the first by id stays.
        let observed = Observed {
            containers: vec![],
            ..observed
        };
        let ids: Vec<&str> = duplicates(&observed)
            .iter()
            .map(|n| n.id.as_str())
            .collect();
        assert_eq!(ids, ["b"]);
    }

    #[test]
    fn a_network_removed_by_hand_is_named() {
        let wanted = vec!["p_default".to_string()];
        let now = Observed {
            networks: vec![net("p_default", "new")],
            ..Observed::default()
        };
        // Attached to the network that was removed (and is recreated as `new`).
        assert_eq!(
            removed(&container(Some(&[("p_default", "old")])), &wanted, &now),
            Some("p_default".into())
        );
        // Disconnected by hand.
        assert_eq!(
            removed(&container(Some(&[])), &wanted, &now),
            Some("p_default".into())
        );
        // Gone, and not recreated yet.
        assert_eq!(
            removed(
                &container(Some(&[("p_default", "")])),
                &wanted,
                &Observed::default()
            ),
            Some("p_default".into())
        );
        assert_eq!(
            removed(&container(Some(&[("p_default", "new")])), &wanted, &now),
            None
        );
        assert_eq!(
            removed(&container(Some(&[("p_default", "")])), &wanted, &now),
            None
        );
        assert_eq!(removed(&container(None), &wanted, &now), None);
    }
}
