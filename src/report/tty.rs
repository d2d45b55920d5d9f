//! Bars and spinners for a terminal (indicatif): one bar per image being pulled,
//! one spinner per service showing the step it is on, and one per network or
//! volume; each line ends as ✔ or ✘ with the time it took. Build output scrolls
//! under its service's spinner (last lines) and is printed whole when the build fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use console::style;
use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Render;
use super::plain::{INTERRUPT_NOTICE, INTERRUPTED, format_event, strip_escapes};
use super::pull::PullTally;
use crate::event::{Event, PlannedStep, StepKind};
use crate::stack::model::Condition;

/// Build lines shown under a building service's spinner.
const BUILD_TAIL: usize = 3;
/// Longest build line shown under a spinner (the full output keeps whole lines).
const BUILD_LINE_WIDTH: usize = 100;
/// Labels are padded to line up, but a very long one does not push everything right.
const MAX_LABEL: usize = 32;

/// Where "now" comes from: the wall clock, or a fake one in tests.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

pub struct Tty {
    multi: MultiProgress,
    /// Colour the ✔/✘ marks (off with NO_COLOR).
    color: bool,
    /// Animate spinners from a background thread (off in tests, for stable screens).
    tick: bool,
    clock: Clock,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    lines: Vec<Line>,
    /// The line each planned step is shown on.
    line_of_step: Vec<usize>,
    kind_of_step: Vec<StepKind>,
    service_line: HashMap<String, usize>,
    width: usize,
    interrupted: bool,
    /// A line per streaming transfer (`Event::Transfer`), by task, and when it began.
    transfers: HashMap<String, (ProgressBar, Instant)>,
}

struct Line {
    bar: ProgressBar,
    label: String,
    /// Steps of this line not finished yet; at 0 the line is done.
    remaining: usize,
    started: Option<Instant>,
    doing: String,
    /// A step of this line is in flight (else it rests at `reached`).
    busy: bool,
    reached: Option<&'static str>,
    finished: bool,
    pull: Option<PullTally>,
    build: Vec<String>,
}

impl Tty {
    pub fn new(target: ProgressDrawTarget, color: bool, tick: bool, clock: Clock) -> Tty {
        Tty {
            multi: MultiProgress::with_draw_target(target),
            color,
            tick,
            clock,
            state: Mutex::new(State::default()),
        }
    }

    /// For a real terminal on stderr.
    pub fn stderr(color: bool) -> Tty {
        let term = console::Term::stderr();
        Tty::new(
            ProgressDrawTarget::term_like_with_hz(Box::new(term), 15),
            color,
            true,
            Arc::new(Instant::now),
        )
    }

    fn mark(&self, ok: bool) -> String {
        match (ok, self.color) {
            (true, true) => style("✔").green().force_styling(true).to_string(),
            (false, true) => style("✘").red().force_styling(true).to_string(),
            (true, false) => "✔".into(),
            (false, false) => "✘".into(),
        }
    }

    fn planned(&self, st: &mut State, steps: &[PlannedStep]) {
        let mut keys: Vec<String> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            // Pulls get a bar per image; builds scroll under their service's spinner.
            let key = match (&step.kind, &step.image, &step.service) {
                (StepKind::Pull, Some(image), _) => format!("image {image}"),
                (_, _, Some(service)) => format!("service {service}"),
                _ => format!("step {i}"),
            };
            let label = match (&step.kind, &step.image, &step.service) {
                (StepKind::Pull, Some(image), _) => image.clone(),
                (_, _, Some(service)) => service.clone(),
                // "create network shop_default" → "network shop_default"
                _ => step
                    .text
                    .split_once(' ')
                    .map_or(step.text.clone(), |(_, rest)| rest.to_string()),
            };
            let line = match keys.iter().position(|k| *k == key) {
                Some(l) => l,
                None => {
                    keys.push(key);
                    st.lines.push(Line {
                        bar: ProgressBar::hidden(),
                        label,
                        remaining: 0,
                        started: None,
                        doing: String::new(),
                        busy: false,
                        reached: None,
                        finished: false,
                        pull: None,
                        build: Vec::new(),
                    });
                    st.lines.len() - 1
                }
            };
            st.lines[line].remaining += 1;
            if let (Some(service), false) = (&step.service, step.kind == StepKind::Pull) {
                st.service_line.insert(service.clone(), line);
            }
            st.line_of_step.push(line);
            st.kind_of_step.push(step.kind);
        }
        st.width = st
            .lines
            .iter()
            .map(|l| l.label.chars().count())
            .max()
            .unwrap_or(0)
            .min(MAX_LABEL);
        for line in &mut st.lines {
            let bar = self.multi.add(ProgressBar::new(0));
            bar.set_style(style_of("  {prefix}  {msg}"));
            bar.set_prefix(pad(&line.label, st.width));
            bar.set_message("pending");
            line.bar = bar;
        }
    }

    fn started(&self, st: &mut State, step: usize) {
        let Some(&l) = st.line_of_step.get(step) else {
            return;
        };
        let kind = st.kind_of_step[step];
        let now = (self.clock)();
        let line = &mut st.lines[l];
        line.started.get_or_insert(now);
        line.busy = true;
        line.doing = kind.doing().to_string();
        if kind == StepKind::Pull {
            line.pull = Some(PullTally::default());
            line.bar.set_style(style_of(
                "{spinner} {prefix}  [{bar:24}] {bytes}/{total_bytes}  {msg}",
            ));
        } else {
            line.bar.set_style(style_of("{spinner} {prefix}  {msg}"));
        }
        line.bar.set_message(line.doing.clone());
        if self.tick {
            line.bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    fn finished(&self, st: &mut State, step: usize) {
        let Some(&l) = st.line_of_step.get(step) else {
            return;
        };
        let kind = st.kind_of_step[step];
        let now = (self.clock)();
        let width = st.width;
        let line = &mut st.lines[l];
        line.remaining = line.remaining.saturating_sub(1);
        line.busy = false;
        line.reached = Some(done(kind));
        let mut word = done(kind).to_string();
        if let Some(t) = &line.pull {
            word = format!(
                "{word} ({} layer{}, {})",
                t.layers(),
                if t.layers() == 1 { "" } else { "s" },
                HumanBytes(t.size())
            );
        }
        if line.remaining == 0 {
            let elapsed = line.started.map(|s| now - s).unwrap_or_default();
            let text = format!(
                "{} {}  {word}  {}",
                self.mark(true),
                pad(&line.label, width),
                elapsed_text(elapsed)
            );
            finish(line, text);
        } else {
            // Until its next step starts, say what it has reached.
            line.bar.set_message(word);
        }
    }

    fn failed(&self, st: &mut State, step: usize, error: &str) {
        let Some(&l) = st.line_of_step.get(step) else {
            return;
        };
        let kind = st.kind_of_step[step];
        let now = (self.clock)();
        let width = st.width;
        let line = &mut st.lines[l];
        if kind == StepKind::Build && error != INTERRUPTED && !line.build.is_empty() {
            let _ = self
                .multi
                .println(format!("build output of {}:", line.label));
            for text in &line.build {
                let _ = self.multi.println(format!("    │ {text}"));
            }
        }
        let what = if error == INTERRUPTED {
            format!("interrupted while {}", line.doing)
        } else {
            format!("{} failed", line.doing)
        };
        let elapsed = line.started.map(|s| now - s).unwrap_or_default();
        let text = format!(
            "{} {}  {what}  {}",
            self.mark(false),
            pad(&line.label, width),
            elapsed_text(elapsed)
        );
        finish(line, text);
    }
}

impl Tty {
    /// A bar when the total is known (bytes, rate), else a spinner with the
    /// bytes so far; at the end a ✔ line with the total and the time it took.
    fn transfer(&self, st: &mut State, task: &str, bytes: u64, total: Option<u64>, done: bool) {
        let now = (self.clock)();
        let (bar, started) = st.transfers.entry(task.to_string()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(total.unwrap_or(0)));
            bar.set_style(style_of(match total {
                Some(_) => "{spinner} {prefix}  [{bar:24}] {bytes}/{total_bytes}  {bytes_per_sec}",
                None => "{spinner} {prefix}  {bytes}  {bytes_per_sec}",
            }));
            bar.set_prefix(task.to_string());
            if self.tick {
                bar.enable_steady_tick(Duration::from_millis(100));
            }
            (bar, now)
        });
        if bar.is_finished() {
            return;
        }
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(bytes);
        if done {
            let text = format!(
                "{} {task}  {}  {}",
                self.mark(true),
                HumanBytes(bytes),
                elapsed_text(now - *started)
            );
            bar.set_style(style_of("{msg}"));
            bar.finish_with_message(text);
        }
    }
}

impl Render for Tty {
    fn event(&self, event: &Event) {
        let mut guard = self.state.lock().expect("no panics while holding the lock");
        let st = &mut *guard;
        match event {
            Event::Planned { steps, .. } => self.planned(st, steps),
            Event::StepStarted { step, .. } => self.started(st, *step),
            Event::StepFinished { step, .. } => self.finished(st, *step),
            Event::StepFailed { step, error, .. } => self.failed(st, *step, error),
            Event::PullProgress {
                image,
                layer,
                status,
                current,
                total,
            } => {
                let Some(line) = st
                    .lines
                    .iter_mut()
                    .find(|l| l.pull.is_some() && !l.finished && l.label == *image)
                else {
                    return;
                };
                let tally = line.pull.get_or_insert_default();
                tally.update(layer.as_deref(), status, *current, *total);
                line.bar.set_length(tally.size());
                line.bar.set_position(tally.downloaded());
                line.bar
                    .set_message(format!("{}/{} layers", tally.layers_done(), tally.layers()));
            }
            Event::BuildOutput {
                service,
                line: text,
            } => {
                let Some(&l) = st.service_line.get(service) else {
                    return;
                };
                let line = &mut st.lines[l];
                line.build.push(strip_escapes(text));
                let mut msg = line.doing.clone();
                for text in line.build.iter().rev().take(BUILD_TAIL).rev() {
                    msg.push_str("\n    │ ");
                    msg.push_str(&console::truncate_str(text, BUILD_LINE_WIDTH, "…"));
                }
                line.bar.set_message(msg);
            }
            Event::Waiting { service, condition } => {
                let Some(&l) = st.service_line.get(service) else {
                    return;
                };
                let line = &mut st.lines[l];
                line.doing = match condition {
                    Condition::Started => "waiting until running",
                    Condition::Healthy => "waiting until healthy",
                    Condition::CompletedSuccessfully => "waiting until completed",
                }
                .to_string();
                line.bar.set_message(line.doing.clone());
            }
            Event::Transfer {
                task,
                bytes,
                total,
                done,
            } => self.transfer(st, task, *bytes, *total, *done),
            Event::Interrupted => {
                st.interrupted = true;
                let _ = self.multi.println(INTERRUPT_NOTICE);
            }
            // Lines above the bars, worded as the plain renderer's.
            Event::InterruptedAgain
            | Event::Cancelled { .. }
            | Event::Note { .. }
            | Event::Warning { .. }
            | Event::LockWaiting { .. }
            | Event::Watching { .. }
            | Event::WatchAction { .. } => {
                if let Some(text) = format_event(event) {
                    let _ = self.multi.println(text);
                }
            }
        }
    }

    /// Close every line still open: what was in flight was cancelled, the rest never started.
    fn finish(&self) {
        let mut guard = self.state.lock().expect("no panics while holding the lock");
        let st = &mut *guard;
        let now = (self.clock)();
        let width = st.width;
        let cause = if st.interrupted {
            "interrupted"
        } else {
            "cancelled"
        };
        for (task, (bar, started)) in &st.transfers {
            if !bar.is_finished() {
                let text = format!(
                    "{} {task}  {cause} after {}  {}",
                    self.mark(false),
                    HumanBytes(bar.position()),
                    elapsed_text(now - *started)
                );
                bar.set_style(style_of("{msg}"));
                bar.finish_with_message(text);
            }
        }
        for line in st.lines.iter_mut().filter(|l| !l.finished) {
            let label = pad(&line.label, width);
            let text = match (line.started, line.reached) {
                (Some(s), _) if line.busy => format!(
                    "{} {label}  {cause} while {}  {}",
                    self.mark(false),
                    line.doing,
                    elapsed_text(now - s)
                ),
                (Some(s), Some(reached)) => format!(
                    "{} {label}  {reached}, then {cause}  {}",
                    self.mark(false),
                    elapsed_text(now - s)
                ),
                _ => format!("- {label}  not started"),
            };
            finish(line, text);
        }
    }
}

fn finish(line: &mut Line, text: String) {
    line.finished = true;
    line.bar.set_style(style_of("{msg}"));
    line.bar.finish_with_message(text);
}

fn style_of(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the templates here are valid")
        .progress_chars("=> ")
}

/// What a finished step leaves its line at.
fn done(kind: StepKind) -> &'static str {
    match kind {
        StepKind::CreateNetwork | StepKind::CreateVolume | StepKind::Create => "created",
        StepKind::Recreate => "recreated",
        StepKind::Pull => "pulled",
        StepKind::Build => "built",
        StepKind::Start => "started",
        StepKind::Wait => "ready",
        StepKind::Stop => "stopped",
        StepKind::Remove | StepKind::RemoveNetwork | StepKind::RemoveVolume => "removed",
    }
}

fn pad(label: &str, width: usize) -> String {
    let label = console::truncate_str(label, MAX_LABEL, "…");
    format!("{label:width$}")
}

/// `0.4s`, `12.0s`, `2m05s`.
fn elapsed_text(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
