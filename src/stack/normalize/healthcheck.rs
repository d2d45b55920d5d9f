//! `healthcheck`: `test` as `["CMD", ...]`, `["CMD-SHELL", "..."]`, `["NONE"]` or a
//! string (run by the shell); `disable: true`; durations like `10s`, `1m30s`.

use serde_yaml::Value;

use super::read::{self, scalar_text};
use super::{Ctx, duration};
use crate::diagnostic::Diagnostic;
use crate::stack::docpath;
use crate::stack::model::{HealthTest, Healthcheck};

const KEYS: &[&str] = &[
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "start_interval",
    "disable",
];

pub fn healthcheck(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Healthcheck> {
    let map = read::mapping(ctx, v, path)?;
    let mut check = Healthcheck {
        test: HealthTest::None,
        interval: None,
        timeout: None,
        retries: None,
        start_period: None,
        start_interval: None,
    };
    let mut test = None;
    let mut has_test = false;
    let mut disabled = false;
    for (key, value) in read::entries(ctx, map, path, KEYS, &[]) {
        let at = docpath::child(path, &key);
        match key.as_str() {
            "test" => {
                has_test = true;
                test = health_test(ctx, value, &at);
            }
            "disable" => disabled = read::boolean(ctx, value, &at).unwrap_or(false),
            "retries" => check.retries = read::integer(ctx, value, &at, "a number of retries"),
            "interval" => check.interval = duration_at(ctx, value, &at),
            "timeout" => check.timeout = duration_at(ctx, value, &at),
            "start_period" => check.start_period = duration_at(ctx, value, &at),
            "start_interval" => check.start_interval = duration_at(ctx, value, &at),
            _ => unreachable!("only known keys are returned"),
        }
    }
    check.test = match (disabled, test) {
        (true, _) => HealthTest::None,
        (false, Some(test)) => test,
        // The test was there but wrong: that error says enough.
        (false, None) if has_test => return None,
        (false, None) => {
            // The model needs a test; timings alone would tune the image's own check,
            // which pier cannot express, so say so rather than half-apply it.
            ctx.push(
                Diagnostic::warning(path, "a healthcheck without `test` is ignored").with_hint(
                    "add `test:`, e.g. [\"CMD\", \"curl\", \"-f\", \"http://localhost\"]",
                ),
            );
            return None;
        }
    };
    Some(check)
}

pub fn duration_at(ctx: &mut Ctx, v: &Value, path: &str) -> Option<std::time::Duration> {
    let text = read::string(ctx, v, path)?;
    let parsed = duration::parse(&text);
    if parsed.is_none() {
        ctx.push(
            Diagnostic::error(path, format!("invalid duration {text:?}"))
                .with_hint("write a number with a unit: 500ms, 10s, 1m30s, 2h"),
        );
    }
    parsed
}

fn health_test(ctx: &mut Ctx, v: &Value, path: &str) -> Option<HealthTest> {
    let Value::Sequence(items) = v else {
        return match scalar_text(v) {
            Some(cmd) => Some(HealthTest::Shell(cmd)),
            None => {
                read::expected(
                    ctx,
                    path,
                    "a list like [\"CMD\", ...] or a command string",
                    v,
                );
                None
            }
        };
    };
    let words = read::string_or_list(ctx, v, path);
    if words.len() != items.len() {
        return None;
    }
    let bad = |ctx: &mut Ctx, message: &str| {
        ctx.push(Diagnostic::error(path, message.to_string()).with_hint(
            "write [\"CMD\", \"prog\", \"arg\"], [\"CMD-SHELL\", \"command line\"] or [\"NONE\"]",
        ));
        None
    };
    match words.split_first() {
        Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => {
            Some(HealthTest::Cmd(rest.to_vec()))
        }
        Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => {
            Some(HealthTest::Shell(rest.join(" ")))
        }
        Some((kind, [])) if kind == "NONE" => Some(HealthTest::None),
        Some((kind, _)) if ["CMD", "CMD-SHELL", "NONE"].contains(&kind.as_str()) => bad(
            ctx,
            &format!("healthcheck test `{kind}` has the wrong number of arguments"),
        ),
        _ => bad(
            ctx,
            "healthcheck test must start with CMD, CMD-SHELL or NONE",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ctx_for;
    use super::*;
    use std::time::Duration;

    fn parse(yaml: &str) -> (Option<Healthcheck>, Vec<Diagnostic>) {
        let v: Value = serde_yaml::from_str(yaml).unwrap();
        let mut ctx = ctx_for();
        (healthcheck(&mut ctx, &v, "hc"), ctx.diags)
    }

    #[test]
    fn forms_of_test() {
        let (h, _) = parse(
            "{test: [CMD, pg_isready, -U, app], interval: 1m30s, retries: 5, start_period: 500ms}",
        );
        let h = h.unwrap();
        assert_eq!(
            h.test,
            HealthTest::Cmd(vec!["pg_isready".into(), "-U".into(), "app".into()])
        );
        assert_eq!(h.interval, Some(Duration::from_secs(90)));
        assert_eq!(h.retries, Some(5));
        assert_eq!(h.start_period, Some(Duration::from_millis(500)));
        assert_eq!(
            parse("{test: curl -f localhost}").0.unwrap().test,
            HealthTest::Shell("curl -f localhost".into())
        );
        assert_eq!(
            parse("{test: [CMD-SHELL, exit 0]}").0.unwrap().test,
            HealthTest::Shell("exit 0".into())
        );
        assert_eq!(parse("{test: [NONE]}").0.unwrap().test, HealthTest::None);
        assert_eq!(parse("{disable: true}").0.unwrap().test, HealthTest::None);
    }

    #[test]
    fn problems() {
        let (_, d) = parse("{test: [curl], interval: 10}");
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["hc.test", "hc.interval"]);
        let (h, d) = parse("{interval: 5s}");
        assert!(h.is_none());
        assert!(!d[0].is_error());
    }
}
