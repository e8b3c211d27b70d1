//! `doctor`: checks a cross-account replication setup before the first object fails.
//!
//! [`policy`] parses and evaluates IAM policy documents (pure).
pub mod policy;
