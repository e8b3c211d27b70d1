//! The pure core: what we know about an object and its replica, and the verdict it earns.
//!
//! Nothing here performs I/O or sees an SDK type; adapters in `crate::aws` translate AWS
//! answers into [`model::Probe`]s and the handler feeds them to [`verdict::decide`].

pub mod failure_codes;
pub mod model;
pub mod remediation;
pub mod rules;
pub mod verdict;

pub use model::*;
pub use verdict::{decide, VerdictPolicy};
