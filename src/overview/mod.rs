//! What the running environment looks like, as plain data for `pier ps`, the
//! summary `pier up` prints, and `pier info`: one row per service, the URLs of
//! its published ports, and the credentials from `.env`. Pure: built from an
//! `Observed` snapshot (plus what pier checked itself), tested from data.

pub mod credentials;
pub mod rows;
pub mod urls;

pub use credentials::{MASK, Setting, looks_secret, settings};
pub use rows::{HealthView, ServiceRow, StateView, service_rows};
pub use urls::{Scheme, port_text, scheme_for, urls};
