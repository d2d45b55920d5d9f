//! Planning (DESIGN §1): pure functions from the Stack model (and, later, the
//! observed engine state) to what must happen, in which order.

pub mod graph;

pub use graph::Graph;
