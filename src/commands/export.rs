//! `pier export compose|kubernetes [-o PATH]`: load → export → write.
//!
//! Output goes to stdout (for `| kubectl apply -f -`) or to `-o`: a file for
//! compose, a directory of one file per object for Kubernetes. Warnings about
//! what does not carry over are events (stderr), so stdout stays a clean document.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{ExportArgs, ExportFormat, GlobalArgs};
use crate::error::{Error, Result};
use crate::event::{Event, EventSink};
use crate::export::{compose, kubernetes};
use crate::secrets::Secrets;

pub fn run(
    global: &GlobalArgs,
    args: &ExportArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<i32> {
    let loaded = super::load_stack(global, sink)?;
    // Values that must not be written out (see `crate::secrets`): the `secret`
    // parameters of pier's templates all have secret names (DB_PASSWORD, SECRET_KEY, ...).
    let secrets = Secrets::of_loaded(&loaded);
    match args.format {
        ExportFormat::Compose => {
            let text = compose::export(&loaded.stack, &secrets);
            match &args.output {
                Some(file) => write_file(file, &text)?,
                None => write_out(out, &text)?,
            }
        }
        ExportFormat::Kubernetes => {
            let env_file = match &global.env_file {
                Some(file) => absolute(file),
                None => loaded.stack.project_dir.join(".env"),
            };
            let export = kubernetes::export(&loaded.stack, &secrets, &env_file)?;
            for diagnostic in &export.diagnostics {
                sink(Event::Warning {
                    text: diagnostic.to_string(),
                });
            }
            match &args.output {
                Some(dir) => write_dir(dir, &export)?,
                None => write_out(out, &export.to_stream())?,
            }
        }
    }
    Ok(0)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn write_out(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("stdout", e))
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// One file per object; the Secret script is made executable.
fn write_dir(dir: &Path, export: &kubernetes::KubernetesExport) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for (name, text) in export.files() {
        let path = dir.join(&name);
        write_file(&path, &text)?;
        #[cfg(unix)]
        if name.as_os_str() == kubernetes::SECRETS_SCRIPT {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}
