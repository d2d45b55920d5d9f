//! Exporters: the Stack model as files other tools run (DESIGN §1: exporters
//! read the model, never the engine or the plan).

pub mod compose;
pub mod kubernetes;

#[cfg(test)]
pub(crate) mod test_stacks;

pub use crate::secrets::Secrets;
