//! `doctor --offline`: lints the documents a person is about to paste (the destination bucket
//! policy, the replication role's permissions and trust policies) with no AWS access, through the
//! same diagnosis live `doctor` uses ([`super::checks`]).

use super::checks::destination_policy_checks;
use super::pair::Pair;
use super::role::{role_policy_checks, trust_policy_checks};
use super::{Check, Report};

/// The documents and the names they must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineInput {
    pub pair: Pair,
    pub bucket_policy: String,
    pub role_policy: Option<String>,
    pub trust_policy: Option<String>,
}

/// Problems with the names given on the command line (a usage error, exit 2).
pub fn validate_names(pair: &Pair) -> Vec<String> {
    let mut problems = Vec::new();
    for (flag, id) in [
        ("--source-account", &pair.source_account),
        ("--destination-account", &pair.destination_account),
    ] {
        if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
            problems.push(format!("{flag} must be a 12-digit account id, got {id:?}"));
        }
    }
    if pair.source_bucket == pair.destination_bucket {
        problems.push(format!(
            "--source-bucket and --destination-bucket are the same bucket ({:?})",
            pair.source_bucket
        ));
    }
    problems
}

/// Every check a document alone can show.
pub fn offline(input: &OfflineInput) -> Report {
    let pair = &input.pair;
    let mut checks: Vec<Check> = destination_policy_checks(pair, Some(&input.bucket_policy));
    let role = "replication role";
    if let Some(text) = &input.trust_policy {
        checks.extend(trust_policy_checks(pair, role, text));
    }
    if let Some(text) = &input.role_policy {
        checks.extend(role_policy_checks(
            pair,
            role,
            &[("the role policy".to_string(), text.clone())],
        ));
    }
    Report {
        checks,
        access_problems: Vec::new(),
    }
}
