//! `pier config`: the stack after interpolation and normalization, as YAML or JSON,
//! written by the one Compose writer (`export::compose`). Secret values are masked
//! unless `--show-secrets` (see `crate::secrets`).

use std::io::Write;

use crate::cli::{ConfigArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::event::{Event, EventSink};
use crate::export::compose;
use crate::secrets::{MASK, Secrets};

pub fn run(
    global: &GlobalArgs,
    args: &ConfigArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<i32> {
    let loaded = super::load_stack(global, sink)?;
    let secrets = match args.show_secrets {
        true => Secrets::new(),
        false => Secrets::of_loaded(&loaded),
    };
    let (text, masked) = compose::config(&loaded.stack, &secrets, args.json);
    if !masked.is_empty() {
        sink(Event::Note {
            text: format!(
                "the values of {} are shown as {MASK}; pass --show-secrets to print them",
                masked.join(", "),
            ),
        });
    }
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("stdout", e))?;
    Ok(0)
}
