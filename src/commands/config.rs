//! `pier config`: the stack after interpolation and normalization, as YAML or JSON.
//! Secret values are masked unless `--show-secrets` (see `mask`).

use std::io::Write;

use crate::cli::{ConfigArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::stack;

use super::mask;

pub fn run(global: &GlobalArgs, args: &ConfigArgs, out: &mut dyn Write) -> Result<i32> {
    let loaded = super::load_stack(global)?;
    let mut value = serde_json::to_value(&loaded.stack).expect("the model always serializes");
    if !args.show_secrets {
        let shell: std::collections::BTreeMap<String, String> = std::env::vars().collect();
        let secrets = mask::secrets_of(&loaded.dotenv, &shell);
        let masked = mask::mask_json(&mut value, &secrets);
        if !masked.is_empty() {
            eprintln!(
                "note: the values of {} are shown as {}; pass --show-secrets to print them",
                masked.join(", "),
                mask::MASK
            );
        }
    }
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&value).expect("JSON values always print");
        json.push('\n');
        json
    } else {
        stack::yaml_emit::to_yaml(&value)
    };
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("stdout", e))?;
    Ok(0)
}
