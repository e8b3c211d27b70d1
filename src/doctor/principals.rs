//! What a principal value of a destination bucket policy is, for account A's replication.

use super::pair::Pair;
use super::placeholders::placeholders;

/// What a principal value in the destination policy is, for account A's replication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// Account A's id or root: right.
    SourceAccount,
    /// The replication role (or, offline, any role in A): right.
    SourceRole,
    /// `*`: works, but anyone may replicate into B.
    Anyone,
    /// Another principal in account A (a user, another role): S3 replicates as the role.
    OtherInSourceAccount,
    /// `arn:aws:iam::<bucket-name>:root`: AWS refuses the policy ("Invalid principal in policy").
    BucketName { name: String, which: &'static str },
    /// Account B's own id: the bucket owner needs no grant, and A gets none.
    DestinationAccount,
    /// Digits, but not twelve of them.
    NotAnAccountId { value: String },
    /// A different 12-digit account.
    OtherAccount { id: String },
    /// Anything else (a placeholder, a malformed ARN).
    Unrecognised,
}

/// Classifies an `AWS` principal value of the destination policy.
pub fn classify_principal(value: &str, pair: &Pair) -> PrincipalKind {
    if value == "*" {
        return PrincipalKind::Anyone;
    }
    let (account, rest) = match value.strip_prefix("arn:aws:iam::") {
        Some(arn) => match arn.split_once(':') {
            Some((account, rest)) => (account, Some(rest)),
            None => return PrincipalKind::Unrecognised,
        },
        None => (value, None),
    };
    let is_digits = !account.is_empty() && account.chars().all(|c| c.is_ascii_digit());
    if is_digits && account.len() != 12 {
        return PrincipalKind::NotAnAccountId {
            value: account.to_string(),
        };
    }
    if is_digits {
        if account == pair.source_account {
            return match rest {
                None | Some("root") => PrincipalKind::SourceAccount,
                Some(rest) => {
                    let is_role = rest.starts_with("role/");
                    let is_the_role = match &pair.role_arn {
                        Some(role) => role == value,
                        None => is_role,
                    };
                    if is_the_role {
                        PrincipalKind::SourceRole
                    } else {
                        PrincipalKind::OtherInSourceAccount
                    }
                }
            };
        }
        if account == pair.destination_account {
            return PrincipalKind::DestinationAccount;
        }
        return PrincipalKind::OtherAccount {
            id: account.to_string(),
        };
    }
    if account == pair.source_bucket {
        return PrincipalKind::BucketName {
            name: account.into(),
            which: "the source bucket",
        };
    }
    if account == pair.destination_bucket {
        return PrincipalKind::BucketName {
            name: account.into(),
            which: "the destination bucket",
        };
    }
    let bucket_like = account.len() >= 3
        && account
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if bucket_like && placeholders(account, pair).is_empty() {
        return PrincipalKind::BucketName {
            name: account.into(),
            which: "a bucket",
        };
    }
    PrincipalKind::Unrecognised
}

pub(super) fn describe_principal(value: &str, kind: &PrincipalKind, pair: &Pair) -> String {
    let a = &pair.source_account;
    match kind {
        PrincipalKind::SourceAccount => format!("{value} (account A, {a})"),
        PrincipalKind::SourceRole => format!("{value} (the replication role)"),
        PrincipalKind::Anyone => format!("{value} lets every AWS account replicate into {}", pair.destination_bucket),
        PrincipalKind::OtherInSourceAccount => format!(
            "{value} is in account A but is not the replication role; S3 replicates as the role"
        ),
        PrincipalKind::BucketName { name, which } => format!(
            "{value} puts {which} name {name:?} where account A's 12-digit id belongs; AWS refuses \
             this policy with \"MalformedPolicy: Invalid principal in policy\"; write arn:aws:iam::{a}:root"
        ),
        PrincipalKind::DestinationAccount => format!(
            "{value} is the destination account's own id ({}); the bucket owner needs no grant and account A ({a}) gets none, so every replica write is refused",
            pair.destination_account
        ),
        PrincipalKind::NotAnAccountId { value: id } => format!(
            "{value}: {id:?} is not a 12-digit account id ({} digits); a typo of account A's {a}?",
            id.len()
        ),
        PrincipalKind::OtherAccount { id } => format!(
            "{value} is account {id}, not the source account A ({a})"
        ),
        PrincipalKind::Unrecognised => format!("{value} is not an account id or IAM ARN doctor recognises"),
    }
}
