//! What the running environment looks like, as plain data for `pier ps`, the
//! summary `pier up` prints, and `pier info`: one row per service, the URLs of
//! its published ports, and the credentials from `.env`. Pure: built from an
//! `Observed` snapshot (plus what pier checked itself), tested from data.

pub mod rows;
pub mod settings;
pub mod urls;

pub use rows::{HealthView, ServiceRow, StateView, one_off_rows, service_rows};
pub use settings::{Setting, settings};
pub use urls::{Scheme, port_text, scheme_for, urls};
