//! Reads a replication setup from both accounts for live `doctor`.

use crate::config::Config;
use crate::doctor::Report;

/// Live doctor (not yet wired: reads arrive in the next commit).
pub async fn run(_config: &Config, source_bucket: &str) -> Report {
    Report {
        checks: Vec::new(),
        access_problems: vec![format!(
            "live doctor for {source_bucket} is not implemented yet; use --offline"
        )],
    }
}
