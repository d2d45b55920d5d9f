//! Operations as a library: each verb as a function over (engine, stack, options,
//! event sink) that returns a report; `commands` calls one and renders it.

pub mod swarm;
