//! `pier config`: the stack after interpolation and normalization, as YAML or JSON.

use std::io::Write;

use crate::cli::{ConfigArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::stack;

pub fn run(global: &GlobalArgs, args: &ConfigArgs, out: &mut dyn Write) -> Result<i32> {
    let loaded = super::load_stack(global)?;
    let text = if args.json {
        let mut json =
            serde_json::to_string_pretty(&loaded.stack).expect("the model always serializes");
        json.push('\n');
        json
    } else {
        stack::to_yaml(&loaded.stack)
    };
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("stdout", e))?;
    Ok(0)
}
