//! The diagnosis of one replication pair's documents, shared by `doctor --offline` (documents a
//! person is about to paste) and live `doctor` (documents read from both accounts).
//!
//! | check | FAIL when | WARN when |
//! | --- | --- | --- |
//! | `destination-policy.document` | no policy (cross-account) or not a valid policy | — |
//! | `destination-policy.placeholders` | `ACCOUNT_A_ID`, `yourname`, `<...>`, documentation ids left in | — |
//! | `destination-policy.principal` | no replication statement names account A or its role; each wrong value named (bucket name, B's own id, typo, other account) | principal `*`; a wrong value beside a right one |
//! | `destination-policy.resource` | no resource covers `arn:aws:s3:::B/*` (missing `/*`, the source bucket: swapped, another bucket) | — |
//! | `destination-policy.actions` | `s3:ReplicateObject` missing (`s3:PutObject` named), `ReplicateDelete` when delete markers replicate, `ObjectOwnerOverrideToBucketOwner` when ownership is overridden | `ReplicateTags` missing; what the rule may need but doctor cannot see offline |
//! | `destination-policy.deny` | a Deny statement blocks a needed action | a Deny whose condition doctor cannot evaluate |
//! | `destination-policy.grant` | evaluated: the role may not do what replication needs | the answer depends on a condition |

use super::documents::corrected_destination_statement;
use super::pair::{destination_needs, Pair};
use super::placeholders::placeholders_check;
use super::policy::{
    action_matches, evaluate, wildcard_match, Decision, Effect, Patterns, Policy, PrincipalElement,
    Request, RequestPrincipal, Statement,
};
use super::principals::{classify_principal, describe_principal, PrincipalKind};
use super::{Check, Status};

/// Actions that show a statement was meant for replication.
const REPLICATION_INTENT: &[&str] = &[
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
    "s3:ObjectOwnerOverrideToBucketOwner",
    "s3:PutObject",
];

fn covers(patterns: &Patterns, action: &str) -> bool {
    match patterns {
        Patterns::Listed(list) => list.iter().any(|p| action_matches(p, action)),
        Patterns::AllBut(list) => !list.iter().any(|p| action_matches(p, action)),
    }
}

/// Allow statements with an `AWS` principal that are about writing into the destination.
fn replication_statements(policy: &Policy) -> Vec<(usize, &Statement)> {
    policy
        .statements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.effect == Effect::Allow)
        .filter(|(_, s)| matches!(&s.principal, PrincipalElement::Principal(p) if p.anyone || !p.aws.is_empty()))
        .filter(|(_, s)| REPLICATION_INTENT.iter().any(|a| covers(&s.actions, a)))
        .collect()
}

/// The destination bucket policy (`text` as stored or as about to be pasted).
pub fn destination_policy_checks(pair: &Pair, text: Option<&str>) -> Vec<Check> {
    let subject = pair.destination_bucket.as_str();
    let fix = corrected_destination_statement(pair);
    let Some(text) = text else {
        if pair.source_account == pair.destination_account {
            return vec![Check::pass(
                "destination-policy.document",
                subject,
                "no bucket policy; none is needed: both buckets are in the same account",
            )];
        }
        return vec![Check::fail(
            "destination-policy.document",
            subject,
            format!(
                "no bucket policy: account B refuses every replica from account A ({})",
                pair.source_account
            ),
        )
        .with_fix(format!(
            "a bucket policy on {subject} with this statement:\n{fix}"
        ))];
    };
    let policy = match Policy::parse(text) {
        Ok(policy) => policy,
        Err(error) => {
            return vec![
                Check::fail("destination-policy.document", subject, error.to_string())
                    .with_fix(format!("a bucket policy with this statement:\n{fix}")),
                placeholders_check("destination-policy.placeholders", subject, text, pair),
            ]
        }
    };
    let mut checks = vec![
        Check::pass(
            "destination-policy.document",
            subject,
            format!(
                "a valid policy with {} statement(s)",
                policy.statements.len()
            ),
        ),
        placeholders_check("destination-policy.placeholders", subject, text, pair),
    ];
    let statements = replication_statements(&policy);
    checks.push(principal_check(pair, &statements));
    checks.push(resource_check(pair, &statements));
    checks.push(actions_check(pair, &statements));
    let role_arn = requester_role(pair, &statements);
    let evaluations = evaluate_needs(pair, &policy, &role_arn);
    checks.push(deny_check(subject, &evaluations));
    checks.push(grant_check(pair, &role_arn, &evaluations));
    // The corrected statement once, under the first line that fails for want of it.
    if let Some(first) = checks
        .iter_mut()
        .skip(2)
        .find(|c| c.status == Status::Fail && c.name != "destination-policy.deny")
    {
        first.fix = Some(format!(
            "replace the replication statement of {subject}'s bucket policy with:\n{fix}"
        ));
    }
    checks
}

/// Each action replication needs on the destination objects, as the bucket policy decides it
/// for the replication role.
fn evaluate_needs(pair: &Pair, policy: &Policy, role_arn: &str) -> Vec<Evaluated> {
    let who = RequestPrincipal::Aws {
        account: pair.source_account.clone(),
        arn: role_arn.to_string(),
    };
    let context = pair.context(role_arn);
    let resource = pair.destination_object();
    destination_needs(pair)
        .into_iter()
        .map(|(action, status, why)| {
            let request = Request {
                principal: Some(&who),
                action,
                resource: Some(&resource),
                context: &context,
            };
            (
                action,
                status,
                why,
                evaluate(&[("the bucket policy", policy)], &request),
            )
        })
        .collect()
}

/// The role whose request the destination policy is judged for: the known replication role,
/// or offline the role in account A the policy names, or a stand-in.
fn requester_role(pair: &Pair, statements: &[(usize, &Statement)]) -> String {
    if let Some(role) = &pair.role_arn {
        return role.clone();
    }
    let prefix = format!("arn:aws:iam::{}:role/", pair.source_account);
    statements
        .iter()
        .filter_map(|(_, s)| match &s.principal {
            PrincipalElement::Principal(p) => {
                p.aws.iter().find(|v| v.starts_with(&prefix)).cloned()
            }
            _ => None,
        })
        .next()
        .unwrap_or_else(|| format!("{prefix}replication-role"))
}

fn principal_check(pair: &Pair, statements: &[(usize, &Statement)]) -> Check {
    let name = "destination-policy.principal";
    let subject = pair.destination_bucket.as_str();
    if statements.is_empty() {
        return Check::fail(
            name,
            subject,
            "no Allow statement grants anyone a replication action (s3:ReplicateObject …)",
        );
    }
    let mut right = Vec::new();
    let mut anyone = Vec::new();
    let mut wrong = Vec::new();
    for (_, statement) in statements {
        let PrincipalElement::Principal(principals) = &statement.principal else {
            continue;
        };
        let values: Vec<&str> = if principals.anyone && principals.aws.is_empty() {
            vec!["*"]
        } else {
            principals.aws.iter().map(String::as_str).collect()
        };
        for value in values {
            let kind = classify_principal(value, pair);
            let text = describe_principal(value, &kind, pair);
            match kind {
                PrincipalKind::SourceAccount | PrincipalKind::SourceRole => right.push(text),
                PrincipalKind::Anyone => anyone.push(text),
                _ => wrong.push(text),
            }
        }
    }
    match (right.is_empty(), anyone.is_empty(), wrong.is_empty()) {
        (false, true, true) => Check::pass(name, subject, format!("grants {}", right.join(", "))),
        (false, _, _) => Check::warn(
            name,
            subject,
            format!(
                "grants {}, but also {}",
                right.join(", "),
                anyone
                    .iter()
                    .chain(&wrong)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        (true, false, true) => Check::warn(name, subject, anyone.join("; ")),
        (true, _, _) => Check::fail(
            name,
            subject,
            format!(
                "account A ({}) is not granted: {}",
                pair.source_account,
                wrong
                    .iter()
                    .chain(&anyone)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
    }
}

fn resource_check(pair: &Pair, statements: &[(usize, &Statement)]) -> Check {
    let name = "destination-policy.resource";
    let subject = pair.destination_bucket.as_str();
    let objects = format!("{}/*", pair.destination_bucket_arn());
    let mut right = Vec::new();
    let mut wrong = Vec::new();
    for (_, statement) in statements {
        match &statement.resources {
            None => wrong.push("a replication statement has no Resource".to_string()),
            Some(Patterns::AllBut(list)) => {
                if list
                    .iter()
                    .any(|p| wildcard_match(p, &pair.destination_object(), false))
                {
                    wrong.push(format!("NotResource {list:?} excludes {objects}"));
                } else {
                    right.push(format!("NotResource {list:?}"));
                }
            }
            Some(Patterns::Listed(list)) => {
                for pattern in list {
                    if wildcard_match(pattern, &pair.destination_object(), false) {
                        right.push(pattern.clone());
                    } else if wildcard_match(pattern, &pair.destination_bucket_arn(), false) {
                        wrong.push(format!(
                            "{pattern} names the bucket, not its objects: replicas are objects, write {objects}"
                        ));
                    } else if wildcard_match(pattern, &pair.source_object(), false)
                        || wildcard_match(pattern, &pair.source_bucket_arn(), false)
                    {
                        wrong.push(format!(
                            "{pattern} names the source bucket {}: source and destination are swapped; this policy belongs on {} and must name {objects}",
                            pair.source_bucket, pair.destination_bucket
                        ));
                    } else {
                        wrong.push(format!("{pattern} does not cover {objects}"));
                    }
                }
            }
        }
    }
    if statements.is_empty() {
        Check::fail(
            name,
            subject,
            format!("no replication statement, so nothing covers {objects}"),
        )
    } else if right.is_empty() {
        Check::fail(name, subject, wrong.join("; "))
    } else if wrong.is_empty() {
        Check::pass(
            name,
            subject,
            format!("covers {objects} ({})", right.join(", ")),
        )
    } else {
        Check::pass(
            name,
            subject,
            format!(
                "covers {objects} ({}); also {}",
                right.join(", "),
                wrong.join("; ")
            ),
        )
    }
}

fn actions_check(pair: &Pair, statements: &[(usize, &Statement)]) -> Check {
    let name = "destination-policy.actions";
    let subject = pair.destination_bucket.as_str();
    let granted = |action: &str| statements.iter().any(|(_, s)| covers(&s.actions, action));
    let mut status = Status::Pass;
    let mut present = Vec::new();
    let mut problems = Vec::new();
    for (action, severity, why) in destination_needs(pair) {
        if granted(action) {
            present.push(action);
            continue;
        }
        status = status.max(severity);
        if action == "s3:ReplicateObject" && granted("s3:PutObject") {
            problems.push(
                "s3:PutObject is granted instead of s3:ReplicateObject: S3 never calls PutObject to replicate, it writes replicas with s3:ReplicateObject".to_string(),
            );
        } else {
            problems.push(format!("{action} missing ({why})"));
        }
    }
    let found = if problems.is_empty() {
        format!("grants {}", present.join(", "))
    } else if present.is_empty() {
        problems.join("; ")
    } else {
        format!("grants {}; {}", present.join(", "), problems.join("; "))
    };
    Check::new(name, subject, status, found)
}

type Evaluated = (
    &'static str,
    Status,
    &'static str,
    super::policy::Evaluation,
);

fn deny_check(subject: &str, evaluations: &[Evaluated]) -> Check {
    let name = "destination-policy.deny";
    let mut denied = Vec::new();
    let mut uncertain = Vec::new();
    for (action, _, _, evaluation) in evaluations {
        for deciding in &evaluation.denying {
            denied.push(format!("{action} is explicitly denied by {deciding}"));
        }
        if evaluation.decision == Decision::Unknown {
            for deciding in &evaluation.uncertain {
                uncertain.push(format!("{action} may be blocked: {deciding}"));
            }
        }
    }
    if !denied.is_empty() {
        Check::fail(name, subject, denied.join("; ")).with_fix(
            "remove the Deny statement(s) named, or exclude the replication role from them (e.g. a Condition StringNotEquals on aws:PrincipalArn)",
        )
    } else if !uncertain.is_empty() {
        Check::warn(name, subject, uncertain.join("; "))
    } else {
        Check::pass(name, subject, "no Deny statement blocks replication")
    }
}

fn grant_check(pair: &Pair, role_arn: &str, evaluations: &[Evaluated]) -> Check {
    let name = "destination-policy.grant";
    let subject = pair.destination_bucket.as_str();
    let mut status = Status::Pass;
    let mut allowed = Vec::new();
    let mut problems = Vec::new();
    for (action, severity, why, evaluation) in evaluations {
        match evaluation.decision {
            Decision::Allowed => allowed.push(*action),
            Decision::ExplicitlyDenied => {
                status = Status::Fail;
                problems.push(format!("{action} denied"));
            }
            Decision::NotAllowed => {
                status = status.max(*severity);
                problems.push(format!("{action} not allowed ({why})"));
            }
            Decision::Unknown => {
                status = status.max(Status::Warn);
                problems.push(format!(
                    "{action} depends on a condition doctor cannot evaluate"
                ));
            }
        }
    }
    let who = format!("{role_arn} (account {})", pair.source_account);
    let found = if allowed.is_empty() && status == Status::Fail {
        format!(
            "evaluated: {who} may do nothing replication needs on {}/* (see the lines above)",
            pair.destination_bucket_arn()
        )
    } else if problems.is_empty() {
        format!(
            "evaluated: {who} may {} on {}/*",
            allowed.join(", "),
            pair.destination_bucket_arn()
        )
    } else {
        format!(
            "evaluated for {who} on {}/*: {}",
            pair.destination_bucket_arn(),
            problems.join("; ")
        )
    };
    Check::new(name, subject, status, found)
}

#[cfg(test)]
mod tests {
    //! GIVEN the how-to's documents with one mistake each, THEN the line that names it (the
    //! role's lines, from `super::super::role`, included: the documents are judged together).
    use super::*;
    use crate::doctor::placeholders::placeholders;
    use crate::doctor::role::{role_policy_checks, trust_policy_checks};

    fn pair() -> Pair {
        Pair {
            source_account: "111111111111".into(),
            destination_account: "222222222222".into(),
            source_bucket: "acme-reports".into(),
            destination_bucket: "acme-reports-replica".into(),
            role_arn: None,
            delete_markers: None,
            owner_override: None,
        }
    }

    fn bucket_policy(principal: &str, actions: &str, resource: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Replication","Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":{actions},"Resource":"{resource}"}}]}}"#
        )
    }

    const HOWTO_ACTIONS: &str = r#"["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags","s3:ObjectOwnerOverrideToBucketOwner"]"#;

    fn line<'a>(checks: &'a [Check], name: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} in {checks:#?}"))
    }

    #[test]
    fn the_howto_policy_done_right_passes_every_line() {
        let text = bucket_policy(
            "arn:aws:iam::111111111111:root",
            HOWTO_ACTIONS,
            "arn:aws:s3:::acme-reports-replica/*",
        );
        let checks = destination_policy_checks(&pair(), Some(&text));
        assert!(
            checks.iter().all(|c| c.status == Status::Pass),
            "{checks:#?}"
        );
    }

    #[test]
    fn a_bucket_name_principal_is_named_and_the_corrected_statement_printed() {
        let text = bucket_policy(
            "arn:aws:iam::acme-reports:root",
            HOWTO_ACTIONS,
            "arn:aws:s3:::acme-reports-replica/*",
        );
        let checks = destination_policy_checks(&pair(), Some(&text));
        let principal = line(&checks, "destination-policy.principal");
        assert_eq!(principal.status, Status::Fail);
        assert!(
            principal
                .found
                .contains("arn:aws:iam::acme-reports:root puts the source bucket name"),
            "{}",
            principal.found
        );
        assert!(principal.found.contains("Invalid principal in policy"));
        let fix = principal.fix.as_deref().unwrap();
        assert!(
            fix.contains(r#""AWS": "arn:aws:iam::111111111111:root""#),
            "{fix}"
        );
        assert!(
            fix.contains(r#""Resource": "arn:aws:s3:::acme-reports-replica/*""#),
            "{fix}"
        );
        assert_eq!(
            line(&checks, "destination-policy.grant").status,
            Status::Fail
        );
    }

    #[test]
    fn the_destination_accounts_own_id_a_typo_and_another_account_are_named() {
        for (principal, says) in [
            (
                "arn:aws:iam::222222222222:root",
                "destination account's own id",
            ),
            ("222222222222", "destination account's own id"),
            (
                "arn:aws:iam::11111111111:root",
                "not a 12-digit account id (11 digits)",
            ),
            (
                "arn:aws:iam::333333333333:root",
                "account 333333333333, not the source account A",
            ),
        ] {
            let text = bucket_policy(
                principal,
                HOWTO_ACTIONS,
                "arn:aws:s3:::acme-reports-replica/*",
            );
            let checks = destination_policy_checks(&pair(), Some(&text));
            let check = line(&checks, "destination-policy.principal");
            assert_eq!(check.status, Status::Fail, "{principal}");
            assert!(check.found.contains(says), "{principal}: {}", check.found);
        }
    }

    #[test]
    fn placeholders_left_in_fail() {
        let text = bucket_policy(
            "arn:aws:iam::ACCOUNT_A_ID:root",
            HOWTO_ACTIONS,
            "arn:aws:s3:::<destination-bucket>/*",
        );
        let checks = destination_policy_checks(&pair(), Some(&text));
        let check = line(&checks, "destination-policy.placeholders");
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.found.contains("ACCOUNT_A_ID") && check.found.contains("<destination-bucket>"),
            "{}",
            check.found
        );
        assert!(
            placeholders(r#"{"Resource":"arn:aws:s3:::yourname-replica/*"}"#, &pair())
                .contains(&"yourname".to_string())
        );
    }

    #[test]
    fn a_resource_without_slash_star_and_swapped_buckets_are_named() {
        let text = bucket_policy(
            "arn:aws:iam::111111111111:root",
            HOWTO_ACTIONS,
            "arn:aws:s3:::acme-reports-replica",
        );
        let checks = destination_policy_checks(&pair(), Some(&text));
        let check = line(&checks, "destination-policy.resource");
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.found.contains("names the bucket, not its objects"),
            "{}",
            check.found
        );
        assert!(
            check
                .fix
                .as_deref()
                .unwrap()
                .contains("\"arn:aws:s3:::acme-reports-replica/*\""),
            "the corrected statement sits under the first failing line"
        );

        let text = bucket_policy(
            "arn:aws:iam::111111111111:root",
            HOWTO_ACTIONS,
            "arn:aws:s3:::acme-reports/*",
        );
        let checks = destination_policy_checks(&pair(), Some(&text));
        let check = line(&checks, "destination-policy.resource");
        assert_eq!(check.status, Status::Fail);
        assert!(check.found.contains("swapped"), "{}", check.found);
        assert!(check
            .fix
            .as_deref()
            .unwrap()
            .contains("acme-reports-replica/*"));
    }

    #[test]
    fn put_object_instead_of_replicate_object_is_named() {
        let text = bucket_policy(
            "arn:aws:iam::111111111111:root",
            r#"["s3:PutObject"]"#,
            "arn:aws:s3:::acme-reports-replica/*",
        );
        let checks = destination_policy_checks(&pair(), Some(&text));
        let check = line(&checks, "destination-policy.actions");
        assert_eq!(check.status, Status::Fail);
        assert!(
            check
                .found
                .contains("s3:PutObject is granted instead of s3:ReplicateObject"),
            "{}",
            check.found
        );
    }

    #[test]
    fn replicate_delete_fails_only_when_delete_markers_replicate() {
        let text = bucket_policy(
            "arn:aws:iam::111111111111:root",
            r#"["s3:ReplicateObject","s3:ReplicateTags"]"#,
            "arn:aws:s3:::acme-reports-replica/*",
        );
        let mut live = pair();
        live.owner_override = Some(false);
        live.delete_markers = Some(true);
        let actions = destination_policy_checks(&live, Some(&text));
        assert_eq!(
            line(&actions, "destination-policy.actions").status,
            Status::Fail
        );
        assert!(line(&actions, "destination-policy.actions")
            .found
            .contains("s3:ReplicateDelete missing (the rule replicates delete markers)"));
        live.delete_markers = Some(false);
        let actions = destination_policy_checks(&live, Some(&text));
        assert_eq!(
            line(&actions, "destination-policy.actions").status,
            Status::Pass
        );
        let offline = destination_policy_checks(&pair(), Some(&text));
        assert_eq!(
            line(&offline, "destination-policy.actions").status,
            Status::Warn
        );
    }

    #[test]
    fn an_explicit_deny_blocking_replication_is_named() {
        let text = r#"{"Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags","s3:ObjectOwnerOverrideToBucketOwner"],"Resource":"arn:aws:s3:::acme-reports-replica/*"},
            {"Sid":"NoWritesFromOutside","Effect":"Deny","Principal":"*","Action":"s3:Replicate*","Resource":"arn:aws:s3:::acme-reports-replica/*",
             "Condition":{"StringNotEquals":{"aws:PrincipalAccount":"222222222222"}}},
            {"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acme-reports-replica/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        let checks = destination_policy_checks(&pair(), Some(text));
        let deny = line(&checks, "destination-policy.deny");
        assert_eq!(deny.status, Status::Fail);
        assert!(
            deny.found.contains(
                r#"s3:ReplicateObject is explicitly denied by statement "NoWritesFromOutside""#
            ),
            "{}",
            deny.found
        );
        assert!(!deny.found.contains("TlsOnly"));
    }

    #[test]
    fn no_policy_fails_across_accounts_with_the_statement_to_add() {
        let checks = destination_policy_checks(&pair(), None);
        assert_eq!(checks[0].status, Status::Fail);
        assert!(checks[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("arn:aws:iam::111111111111:root"));
    }

    const HOWTO_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["s3:GetReplicationConfiguration","s3:ListBucket"],"Resource":"arn:aws:s3:::acme-reports"},
        {"Effect":"Allow","Action":["s3:GetObjectVersion","s3:GetObjectVersionAcl","s3:GetObjectVersionTagging"],"Resource":"arn:aws:s3:::acme-reports/*"},
        {"Effect":"Allow","Action":["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags","s3:ObjectOwnerOverrideToBucketOwner"],"Resource":"arn:aws:s3:::acme-reports-replica/*"}]}"#;

    #[test]
    fn the_howto_role_policy_with_get_object_version_passes() {
        let checks = role_policy_checks(&pair(), "role", &[("inline".into(), HOWTO_ROLE.into())]);
        assert!(
            checks.iter().all(|c| c.status == Status::Pass),
            "{checks:#?}"
        );
    }

    #[test]
    fn a_role_policy_with_the_buckets_swapped_is_named() {
        let swapped = HOWTO_ROLE
            .replace("acme-reports-replica", "TMP")
            .replace("acme-reports", "acme-reports-replica")
            .replace("TMP", "acme-reports");
        let checks = role_policy_checks(&pair(), "role", &[("inline".into(), swapped)]);
        let source = line(&checks, "role-policy.source-bucket");
        assert_eq!(source.status, Status::Fail);
        assert!(source.found.contains("swapped"), "{}", source.found);
        assert!(source
            .fix
            .as_deref()
            .unwrap()
            .contains("s3:GetObjectVersionForReplication"));
        assert!(line(&checks, "role-policy.destination-objects")
            .found
            .contains("swapped"));
    }

    #[test]
    fn a_role_policy_missing_list_bucket_and_replicate_object_fails() {
        let text = r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetReplicationConfiguration","s3:GetObjectVersionForReplication","s3:PutObject"],"Resource":["arn:aws:s3:::acme-reports","arn:aws:s3:::acme-reports/*","arn:aws:s3:::acme-reports-replica/*"]}]}"#;
        let checks = role_policy_checks(&pair(), "role", &[("inline".into(), text.into())]);
        assert!(line(&checks, "role-policy.source-bucket")
            .found
            .contains("s3:ListBucket not allowed"));
        let destination = line(&checks, "role-policy.destination-objects");
        assert_eq!(destination.status, Status::Fail);
        assert!(
            destination
                .found
                .contains("s3:PutObject is allowed instead"),
            "{}",
            destination.found
        );
        assert_eq!(
            line(&checks, "role-policy.source-objects").status,
            Status::Warn
        );
    }

    #[test]
    fn a_trust_policy_that_does_not_trust_s3_fails_with_the_document() {
        let ec2 = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let checks = trust_policy_checks(&pair(), "role", ec2);
        assert_eq!(checks[0].status, Status::Fail);
        assert!(
            checks[0]
                .found
                .contains("trusts ec2.amazonaws.com but not s3.amazonaws.com"),
            "{}",
            checks[0].found
        );
        assert!(checks[0]
            .fix
            .as_deref()
            .unwrap()
            .contains(r#""aws:SourceAccount": "111111111111""#));
        let s3 = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole",
            "Condition":{"StringEquals":{"aws:SourceAccount":"111111111111"}}}]}"#;
        assert_eq!(
            trust_policy_checks(&pair(), "role", s3)[0].status,
            Status::Pass
        );
    }
}
