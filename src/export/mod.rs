//! Exporters: the Stack model as files other tools run (DESIGN §1: exporters
//! read the model, never the engine or the plan).

pub mod compose;
pub mod kubernetes;
pub mod secrets;

#[cfg(test)]
pub(crate) mod test_stacks;

pub use secrets::SecretVars;
