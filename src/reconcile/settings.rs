//! How a reconcile runs, and the source's replication rules as far as they could be read.

use crate::audit::rules::ReplicationRules;
use crate::audit::VerdictPolicy;
use std::path::PathBuf;

/// How `reconcile` runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: VerdictPolicy,
    /// Memory the destination join table may take before both sides are spilled.
    pub memory_budget_bytes: u64,
    pub spill_dir: PathBuf,
    pub redrive: Option<PathBuf>,
    /// Print progress lines on stderr.
    pub progress: bool,
    /// Threads that read, spill and join (one per core is right: the work is CPU-bound).
    pub workers: usize,
}

/// The source's replication configuration, as far as it could be read.
#[derive(Debug, Clone)]
pub enum Rules {
    Read(Option<ReplicationRules>),
    Unreadable(String),
    NotAsked,
}
