//! `port`: the host address a service's container port is published on.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::plan::observed::{Observed, PublishedPort};
use crate::plan::spec::PortProtocol;

use super::project::{ProjectContext, check_services};

/// What `pier port` asks for.
pub struct Options {
    pub service: String,
    pub private_port: u16,
    pub protocol: PortProtocol,
    /// Which container of the service (`-N` in its name), from 1.
    pub index: u32,
}

/// The binding of `opts.private_port` on the service's container.
pub async fn port(engine: &Engine, ctx: &ProjectContext, opts: &Options) -> Result<PublishedPort> {
    let observed = engine.observe(&ctx.name, &[]).await?;
    check_services(
        std::slice::from_ref(&opts.service),
        &ctx.known_services(&observed),
    )?;
    find(&observed, opts)
}

/// The binding in what was observed: the service's container numbered `index`
/// (the only one when it has a `container_name`).
pub fn find(observed: &Observed, opts: &Options) -> Result<PublishedPort> {
    let mine: Vec<_> = observed
        .containers
        .iter()
        .filter(|c| c.service == opts.service)
        .collect();
    let suffix = format!("-{}", opts.index);
    let container = mine
        .iter()
        .find(|c| c.name.ends_with(&suffix))
        .or_else(|| (opts.index == 1 && mine.len() == 1).then(|| &mine[0]))
        .ok_or_else(|| Error::NotRunning {
            service: opts.service.clone(),
            state: match mine.is_empty() {
                true => "it has no container".into(),
                false => format!("it has no container number {}", opts.index),
            },
        })?;
    let target = format!("{}/{}", opts.private_port, opts.protocol.as_str());
    container
        .published
        .iter()
        .find(|p| p.target == target)
        .cloned()
        .ok_or_else(|| Error::PortNotPublished {
            service: opts.service.clone(),
            port: target,
            published: container
                .published
                .iter()
                .map(|p| p.target.clone())
                .collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::observed::{ContainerState, ObservedContainer};

    #[test]
    fn the_published_binding_or_what_is_published() {
        let observed = Observed {
            containers: vec![ObservedContainer {
                network_host: None,
                networks: None,
                pre_stop: vec![],
                name: "shop-web-1".into(),
                id: "1".into(),
                image_id: None,
                service: "web".into(),
                config_hash: None,
                field_hashes: Default::default(),
                depends_on: vec![],
                state: ContainerState::Running,
                health: None,
                exit_code: None,
                started_at: None,
                published: vec![PublishedPort {
                    target: "80/tcp".into(),
                    host_ip: "127.0.0.1".into(),
                    host_port: 8080,
                }],
            }],
            ..Observed::default()
        };
        let opts = |port, protocol, index| Options {
            service: "web".into(),
            private_port: port,
            protocol,
            index,
        };
        assert_eq!(
            find(&observed, &opts(80, PortProtocol::Tcp, 1))
                .unwrap()
                .host_port,
            8080
        );
        let err = find(&observed, &opts(80, PortProtocol::Udp, 1)).unwrap_err();
        assert!(err.to_string().contains("80/udp"), "{err}");
        assert!(err.to_string().contains("80/tcp"), "{err}");
        assert_eq!(err.exit_code(), 1);
        assert!(matches!(
            find(&observed, &opts(80, PortProtocol::Tcp, 2)),
            Err(Error::NotRunning { .. })
        ));
    }
}
