//! `pier up`: observe → plan → execute, then a table of services and URLs.

use std::io::Write;
use std::time::Duration;

use crate::cli::{Progress, PullPolicy as CliPull, Target, UpArgs};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::execute::{ExecuteOptions, execute};
use crate::plan::observed::Observed;
use crate::plan::reconcile::image_of;
use crate::plan::{PullPolicy, UpOptions, plan_up};
use crate::stack::model::Stack;

use super::{runtime, write_out};

pub fn options(args: &UpArgs) -> UpOptions {
    UpOptions {
        services: args.services.clone(),
        pull: match args.pull {
            CliPull::Missing => PullPolicy::Missing,
            CliPull::Always => PullPolicy::Always,
            CliPull::Never => PullPolicy::Never,
        },
        build: args.build,
        remove_orphans: args.remove_orphans,
    }
}

/// Bring `stack` up as `args` asks; the plan (dry run) or the service table goes to `out`.
pub fn up(stack: &Stack, args: &UpArgs, progress: Progress, out: &mut dyn Write) -> Result<()> {
    if args.target == Target::Swarm {
        return Err(Error::Usage {
            message: "`pier up --target swarm` is not available yet in this build".into(),
        });
    }
    let opts = options(args);
    // Unknown service names are invalid input: reject them before touching the engine.
    plan_up(stack, &Observed::default(), &opts).map_err(Error::Invalid)?;

    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let images: Vec<String> = stack.services.keys().map(|s| image_of(stack, s)).collect();
        let observed = engine.observe(&stack.name, &images).await?;
        let plan = plan_up(stack, &observed, &opts).map_err(Error::Invalid)?;
        if args.dry_run {
            return write_out(out, &plan.to_string());
        }
        for note in &plan.notes {
            eprintln!("note: {note}");
        }
        let exec_opts = ExecuteOptions {
            wait_timeout: Duration::from_secs(args.wait_timeout),
            ..ExecuteOptions::default()
        };
        if plan.is_empty() {
            // Nothing changed: what was observed is still the state to report.
            return write_out(out, &service_table(stack, &observed, &opts.services));
        }
        execute(
            &engine,
            Some(stack),
            &plan,
            &exec_opts,
            crate::report::sink(progress),
        )
        .await?;
        // Only the containers' states and bound ports are shown: one listing call.
        let after = Observed {
            containers: engine.list_containers(&stack.name).await?,
            ..Observed::default()
        };
        write_out(out, &service_table(stack, &after, &opts.services))
    })
}

/// SERVICE, STATE and URLS of the services `up` was about, in name order.
pub fn service_table(stack: &Stack, observed: &Observed, only: &[String]) -> String {
    let mut rows = vec![[
        "SERVICE".to_string(),
        "STATE".to_string(),
        "URLS".to_string(),
    ]];
    for name in stack.services.keys() {
        if !only.is_empty() && observed.container_of(name).is_none() {
            continue;
        }
        let state = match observed.container_of(name) {
            None => "not created".to_string(),
            Some(c) => {
                let mut s = c.state.to_string();
                if let Some(h) = c.health {
                    s.push_str(&format!(" ({})", h.as_str()));
                } else if c.state == crate::plan::observed::ContainerState::Exited {
                    s.push_str(&format!(" ({})", c.exit_code.unwrap_or(-1)));
                }
                s
            }
        };
        // What the engine actually bound (an engine-chosen port included); `svc.ports`
        // is only the request.
        let mut urls: Vec<String> = observed
            .container_of(name)
            .map(|c| c.published.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|p| p.target.ends_with("/tcp"))
            .map(|p| {
                let host = match p.host_ip.as_str() {
                    "" | "0.0.0.0" | "::" => "127.0.0.1",
                    ip => ip,
                };
                format!("http://{host}:{}", p.host_port)
            })
            .collect();
        // An all-interfaces binding is reported for IPv4 and IPv6: one URL.
        urls.sort();
        urls.dedup();
        let urls = if urls.is_empty() {
            "-".to_string()
        } else {
            urls.join(" ")
        };
        rows.push([name.clone(), state, urls]);
    }
    let w0 = rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r[1].len()).max().unwrap_or(0);
    rows.iter()
        .map(|r| format!("{:w0$}  {:w1$}  {}\n", r[0], r[1], r[2]))
        .collect()
}
