//! `pier list [STACK] [--json]`: the stacks one can init, or one stack's parameters.

use std::io::Write;

use serde_json::{Value as Json, json};

use crate::cli::ListArgs;
use crate::error::{Error, Result};
use crate::template::manifest::{Kind, Parameter};
use crate::template::{Catalog, Entry, SearchPath, Template};

pub fn run(args: ListArgs, out: &mut dyn Write) -> Result<i32> {
    let catalog = Catalog::discover(&SearchPath::from_env());
    match &args.stack {
        Some(name) => {
            let entry = catalog.find(name)?;
            let template = entry.load()?;
            if args.json {
                print_json(out, &stack_json(entry, &template))?;
            } else {
                print_parameters(out, entry, &template)?;
            }
        }
        None => {
            // A broken user stack must not hide the others: it is listed with its problem.
            let loaded: Vec<(&Entry, Result<Template>)> =
                catalog.entries().iter().map(|e| (e, e.load())).collect();
            if args.json {
                let list: Vec<Json> = loaded
                    .iter()
                    .map(|(entry, t)| match t {
                        Ok(t) => stack_json(entry, t),
                        Err(e) => json!({"name": entry.name, "source": entry.source.to_string(), "error": e.to_string()}),
                    })
                    .collect();
                print_json(out, &Json::Array(list))?;
            } else {
                print_stacks(out, &loaded)?;
            }
        }
    }
    Ok(0)
}

fn print_stacks(out: &mut dyn Write, loaded: &[(&Entry, Result<Template>)]) -> Result<()> {
    let mut rows = vec![[
        "NAME".to_string(),
        "DESCRIPTION".into(),
        "SERVICES".into(),
        "SOURCE".into(),
    ]];
    for (entry, template) in loaded {
        let source = source_text(entry);
        rows.push(match template {
            Ok(t) => [
                entry.name.clone(),
                t.manifest.description.clone(),
                t.manifest.services.join(", "),
                source,
            ],
            Err(_) => [
                entry.name.clone(),
                format!("(invalid: see `pier list {}`)", entry.name),
                String::new(),
                source,
            ],
        });
    }
    write_table(out, &rows)?;
    writeln!(
        out,
        "\nStart one with: pier init STACK DIR   (parameters: pier list STACK)"
    )
    .map_err(stdout)
}

fn print_parameters(out: &mut dyn Write, entry: &Entry, template: &Template) -> Result<()> {
    let m = &template.manifest;
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(stdout);
    w(out, format!("{}: {}", m.name, m.description))?;
    w(out, format!("source:   {}", source_text(entry)))?;
    w(out, format!("services: {}", m.services.join(", ")))?;
    w(out, String::new())?;
    let mut rows = vec![[
        "PARAMETER".to_string(),
        "TYPE".into(),
        "DEFAULT".into(),
        "CHOICES".into(),
        "DESCRIPTION".into(),
    ]];
    for p in &m.parameters {
        let default = p
            .kind
            .default_text()
            .unwrap_or_else(|| "(generated)".into());
        let mut description = p.description.clone();
        if let Some(env) = &p.env {
            description.push_str(&format!(" [.env {env}]"));
        }
        rows.push([
            p.name.clone(),
            p.kind.type_name().into(),
            default,
            choices_text(&p.kind),
            description,
        ]);
    }
    write_table(out, &rows)?;
    if let Some(example) = m
        .parameters
        .iter()
        .find(|p| !matches!(p.kind, Kind::Secret { .. }))
    {
        let value = example.kind.default_text().unwrap_or_default();
        w(
            out,
            format!(
                "\nSet with: pier init {} DIR --set {}={}",
                m.name, example.name, value
            ),
        )?;
    }
    Ok(())
}

/// What values a parameter accepts, in a few characters.
fn choices_text(kind: &Kind) -> String {
    match kind {
        Kind::Enum { choices, .. } => choices.join("|"),
        Kind::Bool { .. } => "true|false".into(),
        Kind::Port { .. } => "1-65535".into(),
        Kind::Int { min, max, .. } => match (min, max) {
            (None, None) => String::new(),
            (lo, hi) => format!(
                "{}-{}",
                lo.map(|n| n.to_string()).unwrap_or_default(),
                hi.map(|n| n.to_string()).unwrap_or_default()
            ),
        },
        Kind::String { .. } | Kind::Secret { .. } => String::new(),
    }
}

fn source_text(entry: &Entry) -> String {
    match entry.shadows.first() {
        Some(hidden) => format!("{} (shadows {hidden})", entry.source),
        None => entry.source.to_string(),
    }
}

fn stack_json(entry: &Entry, template: &Template) -> Json {
    let m = &template.manifest;
    json!({
        "name": m.name,
        "description": m.description,
        "services": m.services,
        "source": entry.source.to_string(),
        "shadows": entry.shadows.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "parameters": m.parameters.iter().map(parameter_json).collect::<Vec<_>>(),
    })
}

fn parameter_json(p: &Parameter) -> Json {
    let mut obj = json!({
        "name": p.name,
        "type": p.kind.type_name(),
        "description": p.description,
    });
    let map = obj.as_object_mut().expect("an object");
    let default = match &p.kind {
        Kind::String { default } | Kind::Enum { default, .. } => json!(default),
        Kind::Int { default, .. } => json!(default),
        Kind::Port { default } => json!(default),
        Kind::Bool { default } => json!(default),
        Kind::Secret { .. } => Json::Null,
    };
    map.insert("default".into(), default);
    match &p.kind {
        Kind::Enum { choices, .. } => {
            map.insert("choices".into(), json!(choices));
        }
        Kind::Int { min, max, .. } => {
            map.insert("min".into(), json!(min));
            map.insert("max".into(), json!(max));
        }
        Kind::Secret { length } => {
            map.insert("generated".into(), json!(true));
            map.insert("length".into(), json!(length));
        }
        _ => {}
    }
    if let Some(env) = &p.env {
        map.insert("env".into(), json!(env));
    }
    obj
}

fn print_json(out: &mut dyn Write, value: &Json) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    writeln!(out, "{text}").map_err(stdout)
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
fn write_table<const N: usize>(out: &mut dyn Write, rows: &[[String; N]]) -> Result<()> {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        writeln!(out, "{}", line.trim_end()).map_err(stdout)?;
    }
    Ok(())
}

fn stdout(e: std::io::Error) -> Error {
    Error::io("<stdout>", e)
}
