//! Loading a stack file: parse → interpolate → normalize → validate (DESIGN §4).

pub mod model;
pub mod yaml_emit;

pub use model::Stack;
