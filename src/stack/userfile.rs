//! The one way pier reads a file a user names (`-f`, `.env`, `--env-file`,
//! `env_file`, file secrets, template files): it must be a regular file, it is
//! opened without blocking (a FIFO cannot hang pier), and it is read up to a
//! bound (`/dev/zero` cannot fill memory). Text files may start with a UTF-8
//! BOM, which is dropped; bytes that are not UTF-8 are reported at their line
//! and column.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::diagnostic::Diagnostic;

/// The largest file pier reads: far beyond any stack, `.env` or secret.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a user file could not be read.
#[derive(Debug)]
pub enum Problem {
    /// It does not exist (callers decide whether that is fine).
    NotFound,
    /// Anything else, as a diagnostic without a file (the caller places it).
    Invalid(Box<Diagnostic>),
}

impl Problem {
    /// The diagnostic, placed in `path`; `NotFound` becomes "not found".
    pub fn into_diagnostic(self, path: &Path, what: &str) -> Diagnostic {
        match self {
            Problem::NotFound => Diagnostic::error("", format!("{what} not found")).in_file(path),
            Problem::Invalid(d) => (*d).in_file(path),
        }
    }
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

fn not_regular(meta: &std::fs::Metadata) -> Problem {
    Problem::Invalid(Box::new(
        Diagnostic::error("", format!("is {}, not a regular file", kind_of(meta)))
            .with_hint("name a regular file"),
    ))
}

/// The bytes of the regular file at `path`, at most `MAX_FILE_BYTES`.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, Problem> {
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Problem::NotFound,
        _ => Problem::Invalid(Box::new(
            Diagnostic::error("", format!("cannot read: {e}"))
                .with_hint("check the path and its permissions"),
        )),
    };
    // The type first, so that opening never blocks on a FIFO; then again on the
    // open descriptor, in case the path was swapped in between.
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let too_big = || {
        Problem::Invalid(Box::new(
            Diagnostic::error(
                "",
                format!("file is larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024)),
            )
            .with_hint("pier reads stack, env and secret files of a reasonable size only"),
        ))
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&file as &File)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// The text of the regular file at `path`: a leading BOM dropped, UTF-8 checked.
pub fn read_text(path: &Path) -> Result<String, Problem> {
    text_of(read_bytes(path)?).map_err(Problem::Invalid)
}

/// `bytes` as text: a leading UTF-8 BOM dropped; invalid UTF-8 is an error at
/// its line and column (columns count characters, from 1).
pub fn text_of(mut bytes: Vec<u8>) -> Result<String, Box<Diagnostic>> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let good = std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or_default();
        let line = good.matches('\n').count() + 1;
        let column = good.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        let byte = e.as_bytes()[valid];
        Box::new(
            Diagnostic::error("", format!("invalid UTF-8 (byte 0x{byte:02x})"))
                .at(line, column)
                .with_hint("save the file as UTF-8"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_with_the_bom_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        std::fs::write(&p, b"\xEF\xBB\xBFA=1\n").unwrap();
        assert_eq!(read_text(&p).unwrap(), "A=1\n");
        assert!(matches!(
            read_text(&dir.path().join("nope")),
            Err(Problem::NotFound)
        ));
    }

    #[test]
    fn directories_fifos_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (path, kind) in [
            (dir.path(), "a directory"),
            (fifo.as_path(), "FIFO"),
            (Path::new("/dev/zero"), "character device"),
        ] {
            match read_text(path) {
                Err(Problem::Invalid(d)) => assert!(d.message.contains(kind), "{d:?}"),
                other => panic!("{path:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_utf8_has_a_line_and_column() {
        let d = text_of(b"a: 1\nb: x\xff\n".to_vec()).unwrap_err();
        assert_eq!((d.line, d.column), (Some(2), Some(5)));
    }
}
