//! Loading a stack file: parse → interpolate → normalize → validate (DESIGN §4).

pub mod model;

pub use model::Stack;
