//! Planning (DESIGN §1): compare the Stack model with what the engine has and
//! return the steps that close the gap. Pure: no engine client, no tokio.

pub mod hash;
pub mod networks;
pub mod observed;
pub mod one_off;
pub mod reconcile;
pub mod spec;
pub mod steps;
pub mod swarm;
pub mod verbs;

pub use observed::Observed;
pub use reconcile::{DownOptions, PullPolicy, UpOptions, plan_down, plan_up};
pub use spec::{BuildSpec, ContainerSpec, Readiness};
pub use steps::{Action, Cause, Plan, SharedImage, Step, StepId};
