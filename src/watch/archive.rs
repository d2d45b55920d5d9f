//! The tar stream a sync sends through the engine's archive API: each copied
//! path under its container path (a directory with what is below it that its
//! rule does not leave out). A file that cannot be read is left out and named,
//! so that one unreadable file does not stop the others.

use std::fs;
use std::io;
use std::path::Path;

use super::decide::Copy;
use super::rules::Trigger;

/// The archive of one sync.
#[derive(Debug, Default)]
pub struct Archive {
    pub tar: Vec<u8>,
    /// Files (and links) in it.
    pub files: usize,
    /// Paths left out, each with why (permission denied, …).
    pub skipped: Vec<String>,
    /// Paths that vanished before they could be read: to delete in the container.
    pub vanished: Vec<String>,
}

pub fn build(copies: &[Copy], triggers: &[Trigger]) -> io::Result<Archive> {
    let mut out = Archive::default();
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    for copy in copies {
        add(
            &mut builder,
            &mut out,
            &copy.host,
            &copy.container,
            &triggers[copy.trigger],
        )?;
    }
    out.tar = builder.into_inner()?;
    Ok(out)
}

fn add(
    builder: &mut tar::Builder<Vec<u8>>,
    out: &mut Archive,
    host: &Path,
    container: &str,
    trigger: &Trigger,
) -> io::Result<()> {
    // The engine unpacks relative to `/`.
    let name = container.trim_start_matches('/');
    let meta = match fs::symlink_metadata(host) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            out.vanished.push(container.to_string());
            return Ok(());
        }
        Err(e) => {
            out.skipped.push(format!("{}: {e}", host.display()));
            return Ok(());
        }
    };
    if meta.is_dir() {
        if !name.is_empty() {
            builder.append_dir(name, host)?;
        }
        let entries = match fs::read_dir(host) {
            Ok(entries) => entries,
            Err(e) => {
                out.skipped.push(format!("{}: {e}", host.display()));
                return Ok(());
            }
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let Some(place) = trigger.place(&path) else {
                continue;
            };
            let Some(target) = place.container.filter(|_| !place.bind_mounted) else {
                continue;
            };
            add(builder, out, &path, &target, trigger)?;
        }
        return Ok(());
    }
    if meta.file_type().is_symlink() {
        let mut header = tar::Header::new_gnu();
        header.set_metadata(&meta);
        let link = fs::read_link(host)?;
        builder.append_link(&mut header, name, link)?;
        out.files += 1;
        return Ok(());
    }
    if !meta.is_file() {
        // A FIFO would block the open; a socket or device has no content to copy.
        out.skipped
            .push(format!("{}: not a regular file", host.display()));
        return Ok(());
    }
    // Opened first: an unreadable file is named and left out, not a failed sync.
    match fs::File::open(host) {
        Ok(mut file) => {
            let mut header = tar::Header::new_gnu();
            header.set_metadata(&meta);
            header.set_size(meta.len());
            // The length read now: a file that grows while it is read is sent as it was.
            builder.append_data(&mut header, name, (&mut file).take(meta.len()))?;
            out.files += 1;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => out.vanished.push(container.to_string()),
        Err(e) => out.skipped.push(format!("{}: {e}", host.display())),
    }
    Ok(())
}

use std::io::Read as _;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::develop::{WatchAction, WatchRule};
    use crate::stack::model::Service;
    use std::os::unix::fs::PermissionsExt;

    fn names(tar: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_directory_goes_with_what_its_rule_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("a.py"), "a").unwrap();
        fs::write(src.join("a.tmp"), "x").unwrap();
        fs::write(src.join("sub/b.py"), "b").unwrap();
        let rule = WatchRule {
            path: src.clone(),
            action: WatchAction::Sync,
            target: Some("/app".into()),
            exec: None,
            ignore: vec!["*.tmp".into()],
            include: vec![],
            initial_sync: false,
        };
        let triggers = [Trigger::new("web", 0, &rule, &Service::default(), None)];
        let copies = [Copy {
            host: src.clone(),
            container: "/app".into(),
            trigger: 0,
            is_dir: true,
        }];
        let a = build(&copies, &triggers).unwrap();
        assert_eq!(
            names(&a.tar),
            ["app", "app/a.py", "app/sub", "app/sub/b.py"]
        );
        assert_eq!(a.files, 2);
        let gone = [Copy {
            host: src.join("nope"),
            container: "/app/nope".into(),
            trigger: 0,
            is_dir: false,
        }];
        let a = build(&gone, &triggers).unwrap();
        assert_eq!(a.vanished, ["/app/nope"]);
    }

    #[test]
    fn an_unreadable_file_is_named_and_the_rest_still_goes() {
        let dir = tempfile::tempdir().unwrap();
        let (ok, locked) = (dir.path().join("ok"), dir.path().join("locked"));
        fs::write(&ok, "x").unwrap();
        // Root reads any regular file whatever its mode; nobody reads a socket.
        let as_root = unsafe { libc::geteuid() } == 0;
        let _socket;
        if as_root {
            _socket = std::os::unix::net::UnixListener::bind(&locked).unwrap();
        } else {
            fs::write(&locked, "x").unwrap();
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        }
        let rule = WatchRule {
            path: dir.path().into(),
            action: WatchAction::Sync,
            target: Some("/d".into()),
            exec: None,
            ignore: vec![],
            include: vec![],
            initial_sync: false,
        };
        let triggers = [Trigger::new("web", 0, &rule, &Service::default(), None)];
        let copies = [
            Copy {
                host: ok,
                container: "/d/ok".into(),
                trigger: 0,
                is_dir: false,
            },
            Copy {
                host: locked.clone(),
                container: "/d/locked".into(),
                trigger: 0,
                is_dir: false,
            },
        ];
        let a = build(&copies, &triggers).unwrap();
        assert_eq!(a.files, 1);
        assert!(a.skipped[0].contains("locked"), "{:?}", a.skipped);
    }
}
