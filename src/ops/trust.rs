//! `pier trust`: install the local CA's root (the router's, `ops::router`) into
//! the system's certificate store, or remove it (`--uninstall`). Which store and
//! how is planned as data (`plan`), from the system pier runs on; carrying it out
//! needs root, and without it the error names the commands to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// Where Debian and Ubuntu (and their kin) take extra CAs from.
pub const DEBIAN_DIR: &str = "/usr/local/share/ca-certificates";
/// The root's file name in that store.
pub const DEBIAN_NAME: &str = "pier-local-ca.crt";
const MACOS_KEYCHAIN: &str = "/Library/Keychains/System.keychain";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// `update-ca-certificates` with `/usr/local/share/ca-certificates`.
    Debian,
    /// The System keychain, through `security`.
    MacOs,
    Unknown,
}

impl Store {
    /// The store of the system pier runs on.
    pub fn of_this_system() -> Store {
        if cfg!(target_os = "macos") {
            Store::MacOs
        } else if Path::new("/usr/sbin/update-ca-certificates").exists()
            || Path::new(DEBIAN_DIR).is_dir()
        {
            Store::Debian
        } else {
            Store::Unknown
        }
    }
}

/// One step of installing or removing the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Copy { from: PathBuf, to: PathBuf },
    Remove { path: PathBuf },
    Run { argv: Vec<String> },
}

impl Step {
    /// As a shell command (for the message without root).
    pub fn shell(&self) -> String {
        let q = |p: &Path| {
            shlex::try_quote(&p.display().to_string())
                .map(|s| s.into_owned())
                .unwrap_or_default()
        };
        match self {
            Step::Copy { from, to } => format!("cp {} {}", q(from), q(to)),
            Step::Remove { path } => format!("rm -f {}", q(path)),
            Step::Run { argv } => {
                shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_default()
            }
        }
    }
}

/// The steps for `store` (None: pier cannot do it there).
pub fn plan(store: Store, root: &Path, uninstall: bool) -> Option<Vec<Step>> {
    let run = |argv: &[&str]| Step::Run {
        argv: argv.iter().map(|s| s.to_string()).collect(),
    };
    let root_text = root.display().to_string();
    match (store, uninstall) {
        (Store::Debian, false) => Some(vec![
            Step::Copy {
                from: root.to_path_buf(),
                to: Path::new(DEBIAN_DIR).join(DEBIAN_NAME),
            },
            run(&["update-ca-certificates"]),
        ]),
        (Store::Debian, true) => Some(vec![
            Step::Remove {
                path: Path::new(DEBIAN_DIR).join(DEBIAN_NAME),
            },
            run(&["update-ca-certificates", "--fresh"]),
        ]),
        (Store::MacOs, false) => Some(vec![run(&[
            "security",
            "add-trusted-cert",
            "-d",
            "-r",
            "trustRoot",
            "-k",
            MACOS_KEYCHAIN,
            &root_text,
        ])]),
        (Store::MacOs, true) => Some(vec![run(&[
            "security",
            "remove-trusted-cert",
            "-d",
            &root_text,
        ])]),
        (Store::Unknown, _) => None,
    }
}

/// What `pier trust` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustReport {
    pub root: PathBuf,
    pub uninstall: bool,
    pub steps: Vec<Step>,
}

/// Carry out `plan` for this system's store, as root.
pub fn trust(root: &Path, uninstall: bool) -> Result<TrustReport> {
    if !root.is_file() {
        return Err(Error::Trust {
            problem: format!(
                "there is no local CA yet: {} does not exist",
                root.display()
            ),
            hint: "the router makes it when it first starts: `pier up` in a project with a web \
                   service (PIER_ROUTER must not be off)"
                .into(),
        });
    }
    let store = Store::of_this_system();
    let Some(steps) = plan(store, root, uninstall) else {
        return Err(Error::Trust {
            problem: "pier does not know this system's certificate store".into(),
            hint: format!(
                "add {} to the system's trusted CAs by its own tool (e.g. `trust anchor {}` on Fedora or Arch)",
                root.display(),
                root.display()
            ),
        });
    };
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        let commands: Vec<String> = steps
            .iter()
            .map(|s| format!("sudo {}", s.shell()))
            .collect();
        return Err(Error::Trust {
            problem: format!(
                "{} the system's certificate store needs root",
                if uninstall {
                    "changing"
                } else {
                    "adding a CA to"
                }
            ),
            hint: format!("run: {}", commands.join(" && ")),
        });
    }
    for step in &steps {
        run(step)?;
    }
    Ok(TrustReport {
        root: root.to_path_buf(),
        uninstall,
        steps,
    })
}

fn run(step: &Step) -> Result<()> {
    match step {
        Step::Copy { from, to } => std::fs::copy(from, to)
            .map(drop)
            .map_err(|e| Error::io(to, e)),
        Step::Remove { path } => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
            _ => Ok(()),
        },
        Step::Run { argv } => {
            let out = Command::new(&argv[0])
                .args(&argv[1..])
                .output()
                .map_err(|e| Error::io(&argv[0], e))?;
            if out.status.success() {
                return Ok(());
            }
            Err(Error::Trust {
                problem: format!(
                    "`{}` failed: {}",
                    step.shell(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                hint: "run it yourself to see more".into(),
            })
        }
    }
}

/// What to do for Firefox (and other programs with their own store).
pub fn firefox_note(root: &Path) -> String {
    format!(
        "Firefox keeps its own list of CAs: import {} under Settings → Privacy & Security → \
         Certificates → View Certificates → Authorities → Import (tick \"Trust this CA to identify \
         websites\"), or set security.enterprise_roots.enabled to true in about:config to use the \
         system's (Windows, macOS). Chromium on Linux reads the NSS database: `certutil -d \
         sql:$HOME/.pki/nssdb -A -t C,, -n pier-local-ca -i {}`.",
        root.display(),
        root.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_copies_and_updates_and_removes_again() {
        let root =
            Path::new("/home/u/.local/share/pier/router/caddy/pki/authorities/local/root.crt");
        let install = plan(Store::Debian, root, false).unwrap();
        assert_eq!(
            install.iter().map(Step::shell).collect::<Vec<_>>(),
            [
                "cp /home/u/.local/share/pier/router/caddy/pki/authorities/local/root.crt /usr/local/share/ca-certificates/pier-local-ca.crt",
                "update-ca-certificates",
            ]
        );
        let remove = plan(Store::Debian, root, true).unwrap();
        assert_eq!(
            remove.iter().map(Step::shell).collect::<Vec<_>>(),
            [
                "rm -f /usr/local/share/ca-certificates/pier-local-ca.crt",
                "update-ca-certificates --fresh",
            ]
        );
    }

    #[test]
    fn macos_uses_the_system_keychain() {
        let root = Path::new("/Users/u/pier ca/root.crt");
        assert_eq!(
            plan(Store::MacOs, root, false).unwrap()[0].shell(),
            "security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain '/Users/u/pier ca/root.crt'"
        );
        assert_eq!(
            plan(Store::MacOs, root, true).unwrap()[0].shell(),
            "security remove-trusted-cert -d '/Users/u/pier ca/root.crt'"
        );
        assert_eq!(plan(Store::Unknown, root, false), None);
    }

    #[test]
    fn without_a_ca_it_says_how_to_get_one() {
        let err = trust(Path::new("/nonexistent/root.crt"), false).unwrap_err();
        assert!(err.to_string().contains("`pier up`"), "{err}");
        assert_eq!(err.exit_code(), 1);
    }
}
