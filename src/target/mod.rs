//! Where a plan runs (DESIGN §2): containers on the local engine, or services on
//! a swarm. Both have the same shape — a pure planner returns a `Plan` of actions
//! with causes, and the target carries out each action through the one walk
//! (`crate::execute::walk`), deciding nothing. `commands::run` chooses the target
//! once (`cli::Command::target`).

pub mod local;
pub mod swarm;
