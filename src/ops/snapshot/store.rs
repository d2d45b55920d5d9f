//! Where snapshots live: `.pier/snapshots/<name>/` in the project directory
//! (`.pier` is 0700 and git-ignored by its own `.gitignore`), one compressed tar
//! per volume (zstd) and a `manifest.json`. A snapshot is written into a hidden
//! staging directory and renamed into place only when every file is on disk, so
//! a snapshot that was interrupted or ran out of disk is never listed.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::{Error, Result};

/// The manifest's format; a later pier reads older ones.
pub const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const STAGING_PREFIX: &str = ".partial-";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub name: String,
    pub project: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub created_unix: u64,
    pub pier_version: String,
    /// Taken by `pier down -v` (pruned to the last few) rather than asked for.
    pub automatic: bool,
    /// The services whose volumes it holds.
    pub services: Vec<String>,
    pub volumes: Vec<VolumeEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeEntry {
    /// The archive's file name in the snapshot's directory.
    pub file: String,
    /// The engine's volume name when it was taken.
    pub volume: String,
    /// An anonymous volume: restored into whatever volume the service's container
    /// mounts at `target` then (its name changes with every new container).
    pub anonymous: bool,
    /// The first service mounting it, and where (None: no container mounted it).
    pub service: Option<String>,
    pub target: Option<String>,
    /// Every service mounting it, and their images (ids).
    pub services: Vec<String>,
    pub images: Vec<String>,
    /// The tar's size, and the compressed file's.
    pub bytes: u64,
    pub compressed_bytes: u64,
    /// sha256 of the compressed file, checked before a restore touches anything.
    pub sha256: String,
}

impl Manifest {
    pub fn compressed_bytes(&self) -> u64 {
        self.volumes.iter().map(|v| v.compressed_bytes).sum()
    }
    pub fn bytes(&self) -> u64 {
        self.volumes.iter().map(|v| v.bytes).sum()
    }
}

/// The snapshots of one project directory.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
}

impl Store {
    pub fn of(project_dir: &Path) -> Store {
        Store {
            dir: project_dir.join(".pier").join("snapshots"),
        }
    }

    /// Every complete snapshot, oldest first. A directory without a readable
    /// manifest (or a staging one) is no snapshot.
    pub fn list(&self) -> Vec<Manifest> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return vec![];
        };
        let mut all: Vec<Manifest> = entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| read_manifest(&e.path().join(MANIFEST)).ok())
            .collect();
        all.sort_by(|a, b| (a.created_unix, &a.name).cmp(&(b.created_unix, &b.name)));
        all
    }

    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The manifest of snapshot `name`; an unknown name is invalid input.
    pub fn get(&self, name: &str) -> Result<Manifest> {
        check_name(name)?;
        let path = self.path_of(name).join(MANIFEST);
        if !path.exists() {
            let known: Vec<String> = self.list().into_iter().map(|m| m.name).collect();
            let d = Diagnostic::error("", format!("no snapshot named `{name}`"));
            return Err(Error::invalid(
                match did_you_mean(name, known.iter().map(String::as_str)) {
                    Some(close) => d.with_hint(format!("did you mean `{close}`?")),
                    None if known.is_empty() => d.with_hint(format!(
                        "there are no snapshots in {}; `pier snapshot` takes one",
                        self.dir.display()
                    )),
                    None => d.with_hint(format!("snapshots are: {}", known.join(", "))),
                },
            ));
        }
        read_manifest(&path).map_err(|problem| Error::SnapshotCorrupt {
            name: name.to_string(),
            problem,
        })
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        self.get(name)?;
        let path = self.path_of(name);
        fs::remove_dir_all(&path).map_err(|e| Error::io(path, e))
    }

    /// Check that every archive is there with the size the manifest says: cheap,
    /// before anything is touched. Their checksums are checked as they are read
    /// (`matches`), by a restore before it commits.
    pub fn check_sizes(&self, m: &Manifest) -> Result<()> {
        let dir = self.path_of(&m.name);
        for v in &m.volumes {
            let path = dir.join(&v.file);
            let size = fs::metadata(&path)
                .map(|md| md.len())
                .map_err(|e| corrupt(m, format!("{}: {e}", path.display())))?;
            if size != v.compressed_bytes {
                return Err(corrupt(
                    m,
                    format!(
                        "{} has {size} bytes, the manifest says {} (volume {})",
                        path.display(),
                        v.compressed_bytes,
                        v.volume
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether archive `v` of `m`, read whole, had the manifest's size and sha256.
    pub fn matches(&self, m: &Manifest, v: &VolumeEntry, size: u64, sha256: &str) -> Result<()> {
        if size != v.compressed_bytes || sha256 != v.sha256 {
            return Err(corrupt(
                m,
                format!(
                    "{} does not match its checksum in the manifest (volume {})",
                    self.path_of(&m.name).join(&v.file).display(),
                    v.volume
                ),
            ));
        }
        Ok(())
    }

    /// A staging directory for snapshot `name` (which must not exist yet).
    pub fn begin(&self, name: &str) -> Result<Staging> {
        check_name(name)?;
        if self.path_of(name).exists() {
            return Err(Error::invalid(
                Diagnostic::error("", format!("a snapshot named `{name}` exists already"))
                    .with_hint(format!(
                        "choose another --name, or remove it first: `pier snapshot rm {name}`"
                    )),
            ));
        }
        let pier_dir = self.dir.parent().expect("snapshots live in .pier");
        make_private_dir(pier_dir)?;
        let ignore = pier_dir.join(".gitignore");
        if !ignore.exists() {
            fs::write(
                &ignore,
                "# pier's own files (snapshots): never commit them\n*\n",
            )
            .map_err(|e| Error::io(&ignore, e))?;
        }
        make_private_dir(&self.dir)?;
        let dir = self
            .dir
            .join(format!("{STAGING_PREFIX}{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| Error::DataWrite {
            path: dir.clone(),
            source: e,
        })?;
        Ok(Staging {
            dir,
            target: self.path_of(name),
            done: false,
        })
    }

    /// Remove staging directories that a killed run left behind (not `current`).
    pub fn clean_staging_except(&self, current: &Staging) {
        for e in fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX)
                && e.path() != current.dir
            {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

fn make_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| Error::io(dir, e))
}

fn read_manifest(path: &Path) -> std::result::Result<Manifest, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let m: Manifest =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if m.format > FORMAT {
        return Err(format!(
            "{}: written by a newer pier (format {}; this one reads {FORMAT})",
            path.display(),
            m.format
        ));
    }
    Ok(m)
}

/// A snapshot being written; dropped without `commit`, it is removed.
pub struct Staging {
    pub dir: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Staging {
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Write the manifest, flush everything to disk and rename the directory into place.
    pub fn commit(mut self, manifest: &Manifest) -> Result<PathBuf> {
        let path = self.dir.join(MANIFEST);
        let write = |path: &Path| -> io::Result<()> {
            let mut f = fs::File::create(path)?;
            f.write_all(
                serde_json::to_string_pretty(manifest)
                    .expect("a manifest serializes")
                    .as_bytes(),
            )?;
            f.write_all(b"\n")?;
            f.sync_all()
        };
        write(&path).map_err(|e| Error::DataWrite {
            path: path.clone(),
            source: e,
        })?;
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(&self.dir, e))?;
        fs::rename(&self.dir, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.done = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Snapshot names are directory names: a letter or digit, then letters, digits,
/// `.`, `_`, `-`; at most 100.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            Diagnostic::error("", format!("`{name}` is not a snapshot name"))
                .with_hint("use letters, digits, `.`, `_` and `-`, starting with a letter or digit (e.g. before-migration)"),
        ))
    }
}

/// (size, sha256 hex) of a file, read in chunks.
pub fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut f = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

pub fn corrupt(m: &Manifest, problem: String) -> Error {
    Error::SnapshotCorrupt {
        name: m.name.clone(),
        problem,
    }
}

/// Seconds since the epoch, now.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// (RFC 3339 UTC, compact `YYYYMMDD-HHMMSS`) of a Unix time.
pub fn utc(unix: u64) -> (String, String) {
    let (days, secs) = ((unix / 86_400) as i64, unix % 86_400);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    (
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z"),
        format!("{y:04}{mo:02}{d:02}-{h:02}{m:02}{s:02}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(utc(0).0, "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400).0, "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_798_761_599).1, "20261231-235959");
    }

    #[test]
    fn names() {
        for ok in [
            "a",
            "before-migration",
            "2026.01_01",
            "down-20260101-000000",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "-x", "a/b", "..", "a b", &"x".repeat(101)] {
            assert_eq!(check_name(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    fn manifest(name: &str, at: u64) -> Manifest {
        Manifest {
            format: FORMAT,
            name: name.into(),
            project: "p".into(),
            created: utc(at).0,
            created_unix: at,
            pier_version: "0".into(),
            automatic: false,
            services: vec![],
            volumes: vec![],
        }
    }

    #[test]
    fn only_committed_snapshots_are_listed_and_dropped_staging_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::of(dir.path());
        let staging = store.begin("one").unwrap();
        std::fs::write(staging.file("v0.tar.zst"), b"x").unwrap();
        assert!(store.list().is_empty(), "a staging snapshot is not listed");
        let staged_dir = staging.dir.clone();
        drop(staging);
        assert!(!staged_dir.exists(), "an abandoned snapshot is removed");
        store
            .begin("two")
            .unwrap()
            .commit(&manifest("two", 2))
            .unwrap();
        store
            .begin("one")
            .unwrap()
            .commit(&manifest("one", 1))
            .unwrap();
        let names: Vec<String> = store.list().into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["one", "two"], "oldest first");
        assert_eq!(store.begin("one").err().unwrap().exit_code(), 2);
        assert_eq!(store.get("twoo").unwrap_err().exit_code(), 2);
        assert!(
            store
                .get("twoo")
                .unwrap_err()
                .to_string()
                .contains("did you mean `two`")
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(".pier"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let ignore = std::fs::read_to_string(dir.path().join(".pier/.gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l == "*"));
    }

    #[test]
    fn a_changed_archive_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::of(dir.path());
        let staging = store.begin("s").unwrap();
        std::fs::write(staging.file("v0.tar.zst"), b"content").unwrap();
        let (size, sha) = hash_file(&staging.file("v0.tar.zst")).unwrap();
        let mut m = manifest("s", 1);
        m.volumes.push(VolumeEntry {
            file: "v0.tar.zst".into(),
            volume: "p_data".into(),
            anonymous: false,
            service: None,
            target: None,
            services: vec![],
            images: vec![],
            bytes: 0,
            compressed_bytes: size,
            sha256: sha.clone(),
        });
        let path = staging.commit(&m).unwrap();
        let archive = path.join("v0.tar.zst");
        assert!(store.check_sizes(&m).is_ok());
        assert!(store.matches(&m, &m.volumes[0], size, &sha).is_ok());
        std::fs::write(&archive, b"Content").unwrap();
        let (size, sha) = hash_file(&archive).unwrap();
        let err = store.matches(&m, &m.volumes[0], size, &sha).unwrap_err();
        assert!(matches!(err, Error::SnapshotCorrupt { .. }), "{err}");
        std::fs::write(&archive, b"short").unwrap();
        let err = store.check_sizes(&m).unwrap_err();
        assert!(err.to_string().contains("has 5 bytes"), "{err}");
    }
}
