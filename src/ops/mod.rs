//! The operations (DESIGN §1 rule 3): `up`, `down`, `ps`, `info`, `start`/`stop`/
//! `restart` (`lifecycle`), `pull`/`build` (`images`), `ls`, `rm`, `port`, `run`,
//! and what `logs` and `exec` decide before they stream. Each is a function over an
//! engine, the stack or project, its options and an event sink, and returns a
//! report — plain data that `commands/` renders. Notes and warnings are events
//! (`Event::Note`, `Event::Warning`), never prints. Tests call the same functions.

pub mod db;
pub mod doctor;
pub mod down;
pub mod exec;
pub mod guard;
pub mod health;
pub mod identity;
pub mod images;
pub mod info;
pub mod interrupt;
pub mod lifecycle;
pub mod logs;
pub mod ls;
pub mod port;
pub mod project;
pub mod ps;
pub mod rm;
pub mod router;
pub mod run;
pub mod snapshot;
pub mod swarm;
pub mod trust;
pub mod up;
pub mod watch;
