//! The router's Caddyfile, from the route table: one site per service of a
//! running project (forwarding to the service's alias on the router's network),
//! a page naming the project and its directory for names whose project is not
//! running (and, through `handle_errors`, for a running project's service that
//! does not answer: a crashed container fails fast instead of hanging), and plain
//! HTTP redirected to HTTPS on the host port the router publishes.
//!
//! Certificates come from Caddy's internal CA (`local_certs`), kept in the
//! router's data directory; Caddy does not try to install its root anywhere
//! (`skip_install_trust`: that is `pier trust`'s job).

use super::{ProjectRoutes, RouteTable, alias};

/// The whole Caddyfile for `table`; `https_port` is the host port HTTPS is
/// published on, where plain HTTP redirects to.
pub fn caddyfile(table: &RouteTable, https_port: u16) -> String {
    let mut out = String::from(
        "# Written by pier: `pier up` and `pier down` rewrite it (see `pier router status`).\n\
         {\n\
         \tadmin localhost:2019\n\
         \tlocal_certs\n\
         \tskip_install_trust\n\
         \tauto_https disable_redirects\n\
         }\n\n",
    );
    let port = match https_port {
        443 => String::new(),
        p => format!(":{p}"),
    };
    out.push_str(&format!(
        "# Plain HTTP: a redirect to HTTPS on the router's host port.\n\
         http:// {{\n\tredir https://{{host}}{port}{{uri}} 308\n}}\n"
    ));
    for project in &table.projects {
        out.push_str(&format!(
            "\n# project {} ({})\n",
            project.project,
            if project.running {
                "running"
            } else {
                "not running"
            }
        ));
        for route in &project.routes {
            out.push_str(&format!("{} {{\n", route.hosts.join(", ")));
            let page = not_running_page(project);
            if project.running {
                out.push_str(&format!(
                    "\treverse_proxy {}:{} {{\n\t\ttransport http {{\n\t\t\tdial_timeout 2s\n\t\t}}\n\t}}\n",
                    alias(&project.project, &route.service),
                    route.port
                ));
                out.push_str(&format!(
                    "\thandle_errors {{\n\t\theader Content-Type \"text/plain; charset=utf-8\"\n\t\trespond {page} 502\n\t}}\n"
                ));
            } else {
                out.push_str(&format!(
                    "\theader Content-Type \"text/plain; charset=utf-8\"\n\trespond {page} 503\n"
                ));
            }
            out.push_str("}\n");
        }
    }
    out
}

/// "project shop is not running — `pier up` in /home/u/shop", as a quoted
/// Caddyfile token (braces escaped: they would be placeholders).
fn not_running_page(project: &ProjectRoutes) -> String {
    let text = format!(
        "project {} is not running — `pier up` in {}\n",
        project.project, project.dir
    );
    let escaped = text
        .replace('"', "\\\"")
        .replace('{', "\\{")
        .replace('}', "\\}");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::Route;

    fn table(running: bool) -> RouteTable {
        let mut t = RouteTable::default();
        t.set(ProjectRoutes {
            project: "shop".into(),
            dir: "/home/u/shop".into(),
            running,
            routes: vec![
                Route {
                    service: "web".into(),
                    port: 80,
                    hosts: vec!["shop.localhost".into(), "web.shop.localhost".into()],
                },
                Route {
                    service: "phpmyadmin".into(),
                    port: 8080,
                    hosts: vec!["phpmyadmin.shop.localhost".into()],
                },
            ],
        });
        t
    }

    #[test]
    fn a_running_project_is_proxied_with_a_page_when_it_fails() {
        assert_eq!(
            caddyfile(&table(true), 443),
            "\
# Written by pier: `pier up` and `pier down` rewrite it (see `pier router status`).
{
\tadmin localhost:2019
\tlocal_certs
\tskip_install_trust
\tauto_https disable_redirects
}

# Plain HTTP: a redirect to HTTPS on the router's host port.
http:// {
\tredir https://{host}{uri} 308
}

# project shop (running)
shop.localhost, web.shop.localhost {
\treverse_proxy web.shop.pier:80 {
\t\ttransport http {
\t\t\tdial_timeout 2s
\t\t}
\t}
\thandle_errors {
\t\theader Content-Type \"text/plain; charset=utf-8\"
\t\trespond \"project shop is not running — `pier up` in /home/u/shop\n\" 502
\t}
}
phpmyadmin.shop.localhost {
\treverse_proxy phpmyadmin.shop.pier:8080 {
\t\ttransport http {
\t\t\tdial_timeout 2s
\t\t}
\t}
\thandle_errors {
\t\theader Content-Type \"text/plain; charset=utf-8\"
\t\trespond \"project shop is not running — `pier up` in /home/u/shop\n\" 502
\t}
}
"
        );
    }

    #[test]
    fn a_stopped_project_answers_where_to_start_it() {
        let text = caddyfile(&table(false), 10443);
        assert!(text.contains("redir https://{host}:10443{uri} 308"));
        assert!(text.contains(
            "shop.localhost, web.shop.localhost {\n\
             \theader Content-Type \"text/plain; charset=utf-8\"\n\
             \trespond \"project shop is not running — `pier up` in /home/u/shop\n\" 503\n}\n"
        ));
        assert!(!text.contains("reverse_proxy"));
    }

    #[test]
    fn quotes_and_braces_in_a_directory_stay_text() {
        let mut t = table(false);
        t.projects[0].dir = "/tmp/a \"b\" {c}".into();
        assert!(caddyfile(&t, 443).contains(r#"in /tmp/a \"b\" \{c\}"#));
    }

    #[test]
    fn no_project_is_just_the_redirect() {
        let text = caddyfile(&RouteTable::default(), 443);
        assert!(text.ends_with("http:// {\n\tredir https://{host}{uri} 308\n}\n"));
    }
}
