//! Every renderer fed the same fixed run, its output asserted whole.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{InMemoryTerm, ProgressDrawTarget};

use super::Progress;
use super::json::Json;
use super::plain::Plain;
use super::tty::{Clock, Tty};
use super::{Render, resolve};
use crate::event::{Event, PlannedStep, StepKind};
use crate::stack::model::Condition;

/// A Write that tests can read back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn step(text: &str, kind: StepKind, service: Option<&str>, image: Option<&str>) -> PlannedStep {
    PlannedStep {
        text: text.into(),
        kind,
        service: service.map(String::from),
        image: image.map(String::from),
    }
}

fn started(step: usize, text: &str) -> Event {
    Event::StepStarted {
        step,
        text: text.into(),
    }
}

fn finished(step: usize, text: &str) -> Event {
    Event::StepFinished {
        step,
        text: text.into(),
    }
}

fn pull(layer: Option<&str>, status: &str, current: Option<u64>, total: Option<u64>) -> Event {
    Event::PullProgress {
        image: "mysql:8".into(),
        layer: layer.map(String::from),
        status: status.into(),
        current,
        total,
    }
}

/// A run with a network, a pulled image, a built image, and a wait; the build of
/// `web` fails when `fail_build` (then the steps after it never start).
fn run(fail_build: bool) -> Vec<Event> {
    let s = [
        "create network shop_default",
        "pull image mysql:8 for db",
        "create container shop-db-1",
        "start container shop-db-1",
        "wait for db: service_healthy",
        "build image shop-web for web",
        "create container shop-web-1",
    ];
    let mut events = vec![
        Event::Planned {
            project: "shop".into(),
            steps: vec![
                step(s[0], StepKind::CreateNetwork, None, None),
                step(s[1], StepKind::Pull, Some("db"), Some("mysql:8")),
                step(s[2], StepKind::Create, Some("db"), None),
                step(s[3], StepKind::Start, Some("db"), None),
                step(s[4], StepKind::Wait, Some("db"), None),
                step(s[5], StepKind::Build, Some("web"), Some("shop-web")),
                step(s[6], StepKind::Create, Some("web"), None),
            ],
        },
        started(0, s[0]),
        started(1, s[1]),
        started(5, s[5]),
        finished(0, s[0]),
        pull(Some("8"), "Pulling from library/mysql", None, None),
        pull(Some("aaa"), "Pulling fs layer", None, None),
        pull(Some("bbb"), "Pulling fs layer", None, None),
        pull(Some("aaa"), "Downloading", Some(1024), Some(4096)),
        Event::BuildOutput {
            service: "web".into(),
            line: "Step 1/3 : FROM shop-base".into(),
        },
        Event::BuildOutput {
            service: "web".into(),
            line: "Step 2/3 : RUN make".into(),
        },
        Event::BuildOutput {
            service: "web".into(),
            line: "\u{1b}[31mmake: *** No rule to make target\u{1b}[0m".into(),
        },
        pull(Some("aaa"), "Pull complete", None, None),
        pull(Some("bbb"), "Downloading", Some(2048), Some(2048)),
        pull(Some("bbb"), "Pull complete", None, None),
        pull(None, "Digest: sha256:0123", None, None),
        finished(1, s[1]),
        started(2, s[2]),
        finished(2, s[2]),
        started(3, s[3]),
        finished(3, s[3]),
        started(4, s[4]),
        Event::Waiting {
            service: "db".into(),
            condition: Condition::Healthy,
        },
        finished(4, s[4]),
    ];
    if fail_build {
        events.push(Event::StepFailed {
            step: 5,
            text: s[5].into(),
            error: "building image shop-web: exit 2".into(),
        });
    } else {
        events.push(finished(5, s[5]));
        events.push(started(6, s[6]));
        events.push(finished(6, s[6]));
    }
    events
}

#[test]
fn plain_lines() {
    let buf = Buffer::default();
    let plain = Plain::new(Box::new(buf.clone()));
    for e in run(true) {
        plain.event(&e);
    }
    plain.event(&Event::Interrupted);
    plain.finish();
    assert_eq!(
        buf.text(),
        " => create network shop_default
 => pull image mysql:8 for db
 => build image shop-web for web
 ok create network shop_default
    mysql:8: 8: Pulling from library/mysql
    mysql:8: aaa: Pulling fs layer
    mysql:8: bbb: Pulling fs layer
    web | Step 1/3 : FROM shop-base
    web | Step 2/3 : RUN make
    web | make: *** No rule to make target
    mysql:8: aaa: Pull complete
    mysql:8: bbb: Pull complete
    mysql:8: Digest: sha256:0123
 ok pull image mysql:8 for db
 => create container shop-db-1
 ok create container shop-db-1
 => start container shop-db-1
 ok start container shop-db-1
 => wait for db: service_healthy
 ok wait for db: service_healthy
 !! build image shop-web for web: failed
interrupted: finishing the steps in flight (Ctrl-C again quits now)
"
    );
}

#[test]
fn json_lines() {
    let buf = Buffer::default();
    let json = Json::new(Box::new(buf.clone()));
    let events = run(false);
    for e in &events[..2] {
        json.event(e);
    }
    json.event(&events[8]);
    json.event(&events[9]);
    json.event(&events[22]);
    json.event(&Event::Interrupted);
    let expected = [
        r#"{"event":"planned","project":"shop","steps":[{"text":"create network shop_default","kind":"create_network"},{"text":"pull image mysql:8 for db","kind":"pull","service":"db","image":"mysql:8"},{"text":"create container shop-db-1","kind":"create","service":"db"},{"text":"start container shop-db-1","kind":"start","service":"db"},{"text":"wait for db: service_healthy","kind":"wait","service":"db"},{"text":"build image shop-web for web","kind":"build","service":"web","image":"shop-web"},{"text":"create container shop-web-1","kind":"create","service":"web"}]}"#,
        r#"{"event":"step_started","step":0,"text":"create network shop_default"}"#,
        r#"{"event":"pull_progress","image":"mysql:8","layer":"aaa","status":"Downloading","current":1024,"total":4096}"#,
        r#"{"event":"build_output","service":"web","line":"Step 1/3 : FROM shop-base"}"#,
        r#"{"event":"waiting","service":"db","condition":"service_healthy"}"#,
        r#"{"event":"interrupted"}"#,
    ];
    assert_eq!(buf.text(), expected.join("\n") + "\n");
}

/// A clock that moves only when told to: elapsed times on screen are exact.
fn fake_clock() -> (Clock, Arc<Mutex<Duration>>) {
    let start = Instant::now();
    let offset = Arc::new(Mutex::new(Duration::ZERO));
    let o = offset.clone();
    (Arc::new(move || start + *o.lock().unwrap()), offset)
}

fn tty(term: &InMemoryTerm) -> (Tty, Arc<Mutex<Duration>>) {
    let (clock, offset) = fake_clock();
    let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
    (Tty::new(target, false, false, clock), offset)
}

fn feed(tty: &Tty, offset: &Mutex<Duration>, events: &[Event]) {
    for e in events {
        // Every event a tenth of a second after the one before.
        *offset.lock().unwrap() += Duration::from_millis(100);
        tty.event(e);
    }
}

#[test]
fn tty_screen_after_a_successful_run() {
    let term = InMemoryTerm::new(20, 100);
    let (tty, offset) = tty(&term);
    feed(&tty, &offset, &run(false));
    tty.finish();
    assert_eq!(
        term.contents(),
        "\
✔ network shop_default  created  0.3s
✔ mysql:8               pulled (2 layers, 6.00 KiB)  1.4s
✔ db                    ready  0.6s
✔ web                   created  2.3s"
    );
}

#[test]
fn tty_shows_the_last_build_lines_while_building() {
    let term = InMemoryTerm::new(20, 100);
    let (tty, offset) = tty(&term);
    let events = run(false);
    // Up to the third build line; then a forced redraw (finishing the network line).
    feed(&tty, &offset, &events[..12]);
    feed(&tty, &offset, &[finished(0, "create network shop_default")]);
    let screen = term.contents();
    assert!(
        screen.contains(
            "web                   building
    │ Step 1/3 : FROM shop-base
    │ Step 2/3 : RUN make
    │ make: *** No rule to make target"
        ),
        "{screen}"
    );
    assert!(
        screen.contains("mysql:8               [")
            && screen.contains("1.00 KiB/4.00 KiB  0/2 layers"),
        "{screen}"
    );
    assert!(
        screen.contains("  db                    pending"),
        "{screen}"
    );
}

#[test]
fn tty_prints_the_whole_build_output_when_the_build_fails() {
    let term = InMemoryTerm::new(20, 100);
    let (tty, offset) = tty(&term);
    feed(&tty, &offset, &run(true));
    tty.finish();
    assert_eq!(
        term.contents(),
        "\
build output of web:
    │ Step 1/3 : FROM shop-base
    │ Step 2/3 : RUN make
    │ make: *** No rule to make target
✔ network shop_default  created  0.3s
✔ mysql:8               pulled (2 layers, 6.00 KiB)  1.4s
✔ db                    ready  0.6s
✘ web                   building failed  2.1s"
    );
}

#[test]
fn tty_after_ctrl_c_marks_what_was_cut_short_and_what_never_started() {
    let term = InMemoryTerm::new(20, 100);
    let (tty, offset) = tty(&term);
    let events = run(false);
    // Interrupted while db waits for its health check and web builds.
    let mut cut: Vec<Event> = events[..23].to_vec();
    cut.push(Event::Interrupted);
    cut.push(Event::StepFailed {
        step: 4,
        text: "wait for db: service_healthy".into(),
        error: "interrupted".into(),
    });
    feed(&tty, &offset, &cut);
    *offset.lock().unwrap() += Duration::from_millis(100);
    tty.finish();
    let mut screen = term.contents();
    let notice = "interrupted: finishing the steps in flight (Ctrl-C again quits now)\n";
    assert!(screen.starts_with(notice), "{screen}");
    screen.replace_range(..notice.len(), "");
    assert_eq!(
        screen,
        "\
✔ network shop_default  created  0.3s
✔ mysql:8               pulled (2 layers, 6.00 KiB)  1.4s
✘ db                    interrupted while waiting until healthy  0.7s
✘ web                   interrupted while building  2.2s"
    );
}

#[test]
fn auto_is_tty_only_on_a_terminal() {
    assert_eq!(resolve(Progress::Auto, true), Progress::Tty);
    assert_eq!(resolve(Progress::Auto, false), Progress::Plain);
    assert_eq!(resolve(Progress::Json, true), Progress::Json);
    assert_eq!(resolve(Progress::Tty, false), Progress::Tty);
}

#[test]
fn no_color_set_and_not_empty_turns_colours_off() {
    use std::ffi::OsStr;
    assert!(super::color_wanted(None));
    assert!(super::color_wanted(Some(OsStr::new(""))));
    assert!(!super::color_wanted(Some(OsStr::new("1"))));
}

#[test]
fn tty_after_ctrl_c_between_steps_and_before_any() {
    let term = InMemoryTerm::new(10, 80);
    let (tty, offset) = tty(&term);
    let events = vec![
        Event::Planned {
            project: "shop".into(),
            steps: vec![
                step(
                    "create container shop-web-1",
                    StepKind::Create,
                    Some("web"),
                    None,
                ),
                step(
                    "start container shop-web-1",
                    StepKind::Start,
                    Some("web"),
                    None,
                ),
                step(
                    "create container shop-api-1",
                    StepKind::Create,
                    Some("api"),
                    None,
                ),
            ],
        },
        started(0, "create container shop-web-1"),
        finished(0, "create container shop-web-1"),
        Event::Interrupted,
    ];
    feed(&tty, &offset, &events);
    tty.finish();
    assert_eq!(
        term.contents(),
        "\
interrupted: finishing the steps in flight (Ctrl-C again quits now)
✘ web  created, then interrupted  0.2s
- api  not started"
    );
}

/// Notes, warnings and the lock wait: events like the others, worded as pier
/// always printed them; JSON in json mode; only warnings when quiet.
fn messages() -> Vec<Event> {
    vec![
        Event::Warning {
            text: "pier.yaml:4:5: warning: services.web.cap_add: `cap_add` is not supported".into(),
        },
        Event::Note {
            text: "orphan container shop-old-1 kept (pass --remove-orphans)".into(),
        },
        Event::LockWaiting {
            project: "shop".into(),
            command: Some("up".into()),
            pid: Some(42),
        },
        Event::LockWaiting {
            project: "shop".into(),
            command: None,
            pid: None,
        },
        Event::InterruptedAgain,
    ]
}

#[test]
fn messages_in_every_renderer() {
    let plain_text = "\
pier.yaml:4:5: warning: services.web.cap_add: `cap_add` is not supported
note: orphan container shop-old-1 kept (pass --remove-orphans)
waiting for another pier up of project shop (pid 42)
waiting for another pier run of project shop
interrupted again: quitting at once
";
    let buf = Buffer::default();
    let plain = Plain::new(Box::new(buf.clone()));
    messages().iter().for_each(|e| plain.event(e));
    assert_eq!(buf.text(), plain_text);

    let buf = Buffer::default();
    let json = Json::new(Box::new(buf.clone()));
    messages().iter().for_each(|e| json.event(e));
    let expected = [
        r#"{"event":"warning","text":"pier.yaml:4:5: warning: services.web.cap_add: `cap_add` is not supported"}"#,
        r#"{"event":"note","text":"orphan container shop-old-1 kept (pass --remove-orphans)"}"#,
        r#"{"event":"lock_waiting","project":"shop","command":"up","pid":42}"#,
        r#"{"event":"lock_waiting","project":"shop"}"#,
        r#"{"event":"interrupted_again"}"#,
    ];
    assert_eq!(buf.text(), expected.join("\n") + "\n");

    let buf = Buffer::default();
    let quiet = super::Quiet(Plain::new(Box::new(buf.clone())));
    messages().iter().for_each(|e| quiet.event(e));
    assert_eq!(
        buf.text(),
        plain_text.lines().next().unwrap().to_string() + "\n"
    );

    let term = InMemoryTerm::new(20, 100);
    let (tty, offset) = tty(&term);
    feed(&tty, &offset, &messages());
    tty.finish();
    assert_eq!(term.contents(), plain_text.trim_end());
}

fn transfer(task: &str, bytes: u64, total: Option<u64>, done: bool) -> Event {
    Event::Transfer {
        task: task.into(),
        bytes,
        total,
        done,
    }
}

/// A dump streaming (total unknown) and a load of a file (total known): a line
/// each on a terminal that ends with the total and the time; only the totals in
/// plain text; every event in JSON.
#[test]
fn transfers_in_every_renderer() {
    let events = [
        transfer("dump of service db", 1 << 20, None, false),
        transfer("load into service db", 512, Some(2048), false),
        transfer("dump of service db", 3 << 20, None, true),
        transfer("load into service db", 1024, Some(2048), false),
    ];
    let term = InMemoryTerm::new(20, 100);
    let (tty, offset) = tty(&term);
    feed(&tty, &offset, &events[..2]);
    let screen = term.contents();
    assert!(screen.contains("dump of service db  1.00 MiB"), "{screen}");
    assert!(
        screen.contains("load into service db  [") && screen.contains("512 B/2.00 KiB"),
        "{screen}"
    );
    feed(&tty, &offset, &events[2..]);
    tty.finish();
    assert_eq!(
        term.contents(),
        "✔ dump of service db  3.00 MiB  0.2s\n✘ load into service db  cancelled after 1.00 KiB  0.2s"
    );

    let buf = Buffer::default();
    let plain = Plain::new(Box::new(buf.clone()));
    events.iter().for_each(|e| plain.event(e));
    assert_eq!(buf.text(), " ok dump of service db: 3.00 MiB\n");

    let buf = Buffer::default();
    let json = Json::new(Box::new(buf.clone()));
    json.event(&events[1]);
    json.event(&events[2]);
    assert_eq!(
        buf.text(),
        r#"{"event":"transfer","task":"load into service db","bytes":512,"total":2048,"done":false}
{"event":"transfer","task":"dump of service db","bytes":3145728,"done":true}
"#
    );
}
