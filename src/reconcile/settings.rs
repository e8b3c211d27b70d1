//! How a reconcile runs, and the source's replication rules as far as they could be read.

use crate::audit::rules::{ReplicationRules, RuleCoverage};
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

impl Rules {
    /// How the rules were read, for the report.
    pub fn describe(&self) -> String {
        match self {
            Rules::Read(Some(_)) => {
                "read from the source bucket's replication configuration".into()
            }
            Rules::Read(None) => "the source bucket has no replication configuration".into(),
            Rules::Unreadable(why) => format!("unreadable ({why}): coverage unknown"),
            Rules::NotAsked => "not read (--offline): coverage unknown".into(),
        }
    }

    /// A key's coverage toward `destination`, as far as an inventory row shows it: no tags
    /// (a tag filter cannot be evaluated: unknown, but for delete markers, which tag filters
    /// never replicate), no encryption or storage class (every covered row counts as
    /// eligible). Covered by rules to other destinations only is not covered here.
    pub fn coverage_of(&self, key: &str, delete_marker: bool, destination: &str) -> RuleCoverage {
        match self {
            Rules::Read(None) => RuleCoverage::NoConfiguration,
            Rules::Read(Some(rules)) => row_coverage(rules, key, delete_marker, destination),
            _ => RuleCoverage::Unknown,
        }
    }
}

/// [`Rules::coverage_of`] once the rules are read.
pub fn row_coverage(
    rules: &ReplicationRules,
    key: &str,
    delete_marker: bool,
    destination: &str,
) -> RuleCoverage {
    if rules.needs_tags(key) && !delete_marker {
        return RuleCoverage::Unknown;
    }
    let coverage = rules.coverage(key, delete_marker.then_some(&[][..]), delete_marker, None);
    let here = coverage.destinations.is_empty()
        || coverage
            .destinations
            .iter()
            .any(|d| d.bucket == destination);
    if here {
        coverage.rule_coverage()
    } else {
        RuleCoverage::NotCovered
    }
}
