//! The router's settings, from the environment: whether there is one
//! (`PIER_ROUTER=off` turns it off), its image (`PIER_ROUTER_IMAGE`, by default
//! the official `caddy:2`), and the machine's data directory for it
//! (`$XDG_DATA_HOME/pier/router`, else `~/.local/share/pier/router`), where
//! Caddy keeps its certificates and the local CA — the CA key never leaves it.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const DEFAULT_IMAGE: &str = "caddy:2";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub image: String,
    /// Bind-mounted as the router's `/data` (mode 0700).
    pub data_dir: PathBuf,
    /// `uid:gid` the router runs as, so that what it writes in `data_dir` (the CA
    /// key: 0600) is the user's, not root's. None: the image's user.
    pub user: Option<String>,
}

impl Settings {
    /// From the process environment, running as this process's user.
    pub fn from_env() -> Result<Settings> {
        // SAFETY: getuid/getgid cannot fail and touch no memory.
        let user = unsafe { format!("{}:{}", libc::getuid(), libc::getgid()) };
        Settings::from_vars(|key| std::env::var(key).ok(), Some(user))
    }

    /// From the variables `get` finds; `PIER_ROUTER` other than on/off is invalid.
    pub fn from_vars(
        get: impl Fn(&str) -> Option<String>,
        user: Option<String>,
    ) -> Result<Settings> {
        let enabled = match get("PIER_ROUTER").unwrap_or_default().trim() {
            "" | "on" | "auto" | "1" | "true" | "yes" => true,
            "off" | "0" | "false" | "no" => false,
            other => {
                return Err(Error::Usage {
                    message: format!(
                        "PIER_ROUTER={other} is not a setting pier knows\n  hint: PIER_ROUTER=off turns the router (names and HTTPS) off; unset or `on` uses it"
                    ),
                });
            }
        };
        let image = get("PIER_ROUTER_IMAGE")
            .filter(|i| !i.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_IMAGE.to_string());
        let data_home = get("XDG_DATA_HOME")
            .filter(|d| d.starts_with('/'))
            .map(PathBuf::from)
            .or_else(|| {
                get("HOME")
                    .filter(|h| !h.is_empty())
                    .map(|h| PathBuf::from(h).join(".local/share"))
            })
            .unwrap_or_else(|| std::env::temp_dir().join("pier-data"));
        Ok(Settings {
            enabled,
            image,
            data_dir: data_home.join("pier").join("router"),
            user,
        })
    }

    /// The local CA's root certificate (it exists once the router has started).
    pub fn root_cert(&self) -> PathBuf {
        self.data_dir.join(super::ROOT_CERT)
    }

    pub fn root_key(&self) -> PathBuf {
        self.data_dir.join(super::ROOT_KEY)
    }

    /// What the router container is made from, as a label value: a router made
    /// with other settings (image, data directory, user) is made again.
    pub fn fingerprint(&self) -> String {
        let text = format!(
            "{}\n{}\n{}",
            self.image,
            self.data_dir.display(),
            self.user.as_deref().unwrap_or("")
        );
        hex::encode(Sha256::digest(text.as_bytes()))[..16].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_vars(|k| vars.get(k).cloned(), None)
    }

    #[test]
    fn defaults_and_the_switch() {
        let s = settings(&[("HOME", "/home/u")]).unwrap();
        assert!(s.enabled);
        assert_eq!(s.image, "caddy:2");
        assert_eq!(
            s.data_dir,
            PathBuf::from("/home/u/.local/share/pier/router")
        );
        assert_eq!(
            s.root_cert(),
            PathBuf::from("/home/u/.local/share/pier/router/caddy/pki/authorities/local/root.crt")
        );
        let s = settings(&[
            ("PIER_ROUTER", "off"),
            ("PIER_ROUTER_IMAGE", "pier-standin/caddy:2"),
            ("XDG_DATA_HOME", "/x"),
        ])
        .unwrap();
        assert!(!s.enabled);
        assert_eq!(s.image, "pier-standin/caddy:2");
        assert_eq!(s.data_dir, PathBuf::from("/x/pier/router"));
        let err = settings(&[("PIER_ROUTER", "maybe")]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn the_fingerprint_follows_what_the_container_is_made_from() {
        let a = settings(&[("HOME", "/h")]).unwrap();
        let b = settings(&[("HOME", "/h"), ("PIER_ROUTER", "off")]).unwrap();
        let c = settings(&[("HOME", "/h"), ("PIER_ROUTER_IMAGE", "other:1")]).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
