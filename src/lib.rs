//! s3-replication-auditor: audits S3 cross-account replication object by object.
//!
//! The crate is a hexagon: [`event`] turns every trigger shape into object references,
//! [`audit`] decides a verdict per object and destination without touching AWS, [`aws`] holds
//! every SDK call behind the narrow traits of [`ports`], [`handler`] wires one invocation
//! together and [`cli`] is the command line around the same handler. The map of every folder
//! and file is README.md's "Architecture" (one place; `tests/architecture.rs` holds it to the
//! files).

pub mod alert;
pub mod audit;
pub mod aws;
pub mod batch_operations;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod event;
pub mod handler;
pub mod metrics;
pub mod ports;
pub mod reconcile;
pub mod report;
pub mod runtime;
pub mod table;
