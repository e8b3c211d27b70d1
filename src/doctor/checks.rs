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
//! | `role-trust.s3-service` | `s3.amazonaws.com` may not assume the role | a condition doctor cannot evaluate |
//! | `role-policy.source-bucket` | `GetReplicationConfiguration` / `ListBucket` on `arn:aws:s3:::A` not allowed | uncertain |
//! | `role-policy.source-objects` | neither `GetObjectVersionForReplication` nor `GetObjectVersion` on `A/*` | `GetObjectVersionAcl` / `GetObjectVersionTagging` missing |
//! | `role-policy.destination-objects` | `ReplicateObject` on `B/*` (and as above) | as above |

use super::policy::{
    action_matches, evaluate, wildcard_match, Context, Decision, Effect, Patterns, Policy,
    PrincipalElement, Request, RequestPrincipal, Statement,
};
use super::{Check, Status};
use serde_json::{json, Value};

/// What doctor knows about one pair: source bucket in account A replicating into B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub source_account: String,
    pub destination_account: String,
    pub source_bucket: String,
    pub destination_bucket: String,
    /// The replication role, when known (live: the configuration's `Role`).
    pub role_arn: Option<String>,
    /// Whether the rule replicates delete markers (None: unknown, offline).
    pub delete_markers: Option<bool>,
    /// Whether the rule changes replica ownership (`AccessControlTranslation`; None: unknown).
    pub owner_override: Option<bool>,
}

impl Pair {
    fn source_bucket_arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.source_bucket)
    }
    fn destination_bucket_arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.destination_bucket)
    }
    /// A key no one would write: any object ARN under the bucket.
    fn source_object(&self) -> String {
        format!("arn:aws:s3:::{}/doctor/any-key", self.source_bucket)
    }
    fn destination_object(&self) -> String {
        format!("arn:aws:s3:::{}/doctor/any-key", self.destination_bucket)
    }
    fn source_root(&self) -> String {
        format!("arn:aws:iam::{}:root", self.source_account)
    }

    /// What is certain about every replication request: S3 makes it over TLS, as the role.
    fn context(&self, role_arn: &str) -> Context {
        Context::default()
            .with("aws:SecureTransport", "true")
            .with("aws:PrincipalAccount", &self.source_account)
            .with("aws:PrincipalArn", role_arn)
    }
}

/// Replication's needs on the destination objects: (action, status when missing, why).
fn destination_needs(pair: &Pair) -> Vec<(&'static str, Status, &'static str)> {
    let mut needs = vec![
        (
            "s3:ReplicateObject",
            Status::Fail,
            "S3 writes every replica with it",
        ),
        (
            "s3:ReplicateTags",
            Status::Warn,
            "objects with tags fail to replicate without it",
        ),
    ];
    match pair.delete_markers {
        Some(true) => needs.push((
            "s3:ReplicateDelete",
            Status::Fail,
            "the rule replicates delete markers",
        )),
        None => needs.push((
            "s3:ReplicateDelete",
            Status::Warn,
            "needed when the rule replicates delete markers",
        )),
        Some(false) => {}
    }
    match pair.owner_override {
        Some(true) => needs.push((
            "s3:ObjectOwnerOverrideToBucketOwner",
            Status::Fail,
            "the rule gives replicas to the destination owner (AccessControlTranslation)",
        )),
        None => needs.push((
            "s3:ObjectOwnerOverrideToBucketOwner",
            Status::Warn,
            "needed when the rule changes replica ownership to the destination owner",
        )),
        Some(false) => {}
    }
    needs
}

/// JSON on one line with the spacing people write (`{"AWS": "…"}`, `["a", "b"]`).
fn inline(value: &Value) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A JSON object with its fields in the order given (how policies are written: Sid, Effect,
/// Principal, Action, Resource, Condition), one field per line.
fn ordered(fields: &[(&str, Value)], indent: &str) -> String {
    let lines: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{indent}  \"{k}\": {}", inline(v)))
        .collect();
    format!("{{\n{}\n{indent}}}", lines.join(",\n"))
}

/// A policy document around statements already rendered by [`ordered`] at four spaces.
fn document(statements: &[String]) -> String {
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {}\n  ]\n}}",
        statements.join(",\n    ")
    )
}

fn replicate_actions(pair: &Pair) -> Value {
    let mut actions = vec![
        "s3:ReplicateObject",
        "s3:ReplicateDelete",
        "s3:ReplicateTags",
    ];
    if pair.owner_override != Some(false) {
        actions.push("s3:ObjectOwnerOverrideToBucketOwner");
    }
    json!(actions)
}

/// The destination policy statement replication needs, with the real names filled in.
pub fn corrected_destination_statement(pair: &Pair) -> String {
    ordered(
        &[
            ("Sid", json!("AllowReplicationFromSourceAccount")),
            ("Effect", json!("Allow")),
            ("Principal", json!({"AWS": pair.source_root()})),
            ("Action", replicate_actions(pair)),
            (
                "Resource",
                json!(format!("{}/*", pair.destination_bucket_arn())),
            ),
        ],
        "",
    )
}

/// The replication role's permissions policy, with the real names filled in.
pub fn corrected_role_policy(pair: &Pair) -> String {
    let statement = |actions: Value, resource: String| {
        ordered(
            &[
                ("Effect", json!("Allow")),
                ("Action", actions),
                ("Resource", json!(resource)),
            ],
            "    ",
        )
    };
    document(&[
        statement(
            json!(["s3:GetReplicationConfiguration", "s3:ListBucket"]),
            pair.source_bucket_arn(),
        ),
        statement(
            json!([
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging"
            ]),
            format!("{}/*", pair.source_bucket_arn()),
        ),
        statement(
            replicate_actions(pair),
            format!("{}/*", pair.destination_bucket_arn()),
        ),
    ])
}

/// The trust policy a replication role needs (S3 assumes it for this source bucket).
pub fn corrected_trust_policy(pair: &Pair) -> String {
    document(&[ordered(
        &[
            ("Effect", json!("Allow")),
            ("Principal", json!({"Service": "s3.amazonaws.com"})),
            ("Action", json!("sts:AssumeRole")),
            (
                "Condition",
                json!({
                    "StringEquals": {"aws:SourceAccount": pair.source_account},
                    "ArnLike": {"aws:SourceArn": pair.source_bucket_arn()},
                }),
            ),
        ],
        "    ",
    )])
}

/// Markers that a how-to's example value was pasted without being replaced.
const PLACEHOLDERS: &[&str] = &[
    "ACCOUNT_A_ID",
    "ACCOUNT_B_ID",
    "ACCOUNT-A-ID",
    "ACCOUNT-B-ID",
    "SOURCE_ACCOUNT_ID",
    "DESTINATION_ACCOUNT_ID",
    "ACCOUNT_ID",
    "ACCOUNT-ID",
    "yourname",
    "your-bucket",
    "YOUR_",
    "DOC-EXAMPLE",
    "amzn-s3-demo",
    "example-bucket",
];

/// Example account ids from the AWS documentation.
const DOCUMENTATION_ACCOUNTS: &[&str] = &["123456789012", "111122223333", "444455556666"];

/// Placeholders left in a document, as written (empty when there are none).
pub fn placeholders(text: &str, pair: &Pair) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut found: Vec<String> = PLACEHOLDERS
        .iter()
        .filter(|marker| lower.contains(&marker.to_ascii_lowercase()))
        .map(|marker| marker.to_string())
        .collect();
    // Other ACCOUNT_…_ID spellings are caught by the `_ID` ending of an upper-case word.
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.len() > 3
            && word.ends_with("_ID")
            && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            && !found.iter().any(|f| word.contains(f.as_str()))
        {
            found.push(word.to_string());
        }
    }
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        found.push(rest[start..start + len + 1].to_string());
        rest = &rest[start + len + 1..];
    }
    for id in DOCUMENTATION_ACCOUNTS {
        if text.contains(id) && *id != pair.source_account && *id != pair.destination_account {
            found.push(format!(
                "{id} (an example account id from the AWS documentation)"
            ));
        }
    }
    found.sort();
    found.dedup();
    found
}

fn placeholders_check(name: &'static str, subject: &str, text: &str, pair: &Pair) -> Check {
    let found = placeholders(text, pair);
    if found.is_empty() {
        Check::pass(name, subject, "no placeholders left in")
    } else {
        Check::fail(
            name,
            subject,
            format!(
                "placeholders left in: {}; replace them with the real values (account A {}, account B {}, buckets {} and {})",
                found.join(", "),
                pair.source_account,
                pair.destination_account,
                pair.source_bucket,
                pair.destination_bucket
            ),
        )
    }
}

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

fn describe_principal(value: &str, kind: &PrincipalKind, pair: &Pair) -> String {
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
    let who = RequestPrincipal::Aws {
        account: pair.source_account.clone(),
        arn: role_arn.clone(),
    };
    let context = pair.context(&role_arn);
    let evaluations: Vec<_> = destination_needs(pair)
        .into_iter()
        .map(|(action, status, why)| {
            let request = Request {
                principal: Some(&who),
                action,
                resource: Some(&pair.destination_object()),
                context: &context,
            };
            (
                action,
                status,
                why,
                evaluate(&[("the bucket policy", &policy)], &request),
            )
        })
        .collect();
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

/// The replication role's trust policy: S3 must be able to assume it for this source bucket.
pub fn trust_policy_checks(pair: &Pair, subject: &str, text: &str) -> Vec<Check> {
    let name = "role-trust.s3-service";
    let fix = format!("the role's trust policy:\n{}", corrected_trust_policy(pair));
    let placeholders = placeholders_check("role-trust.placeholders", subject, text, pair);
    let policy = match Policy::parse(text) {
        Ok(policy) => policy,
        Err(error) => {
            return vec![
                Check::fail(name, subject, format!("trust policy: {error}")).with_fix(fix),
                placeholders,
            ]
        }
    };
    let s3 = RequestPrincipal::Service("s3.amazonaws.com".into());
    let context = Context::default()
        .with("aws:SourceAccount", &pair.source_account)
        .with("aws:SourceArn", &pair.source_bucket_arn());
    let evaluation = evaluate(
        &[("the trust policy", &policy)],
        &Request {
            principal: Some(&s3),
            action: "sts:AssumeRole",
            resource: None,
            context: &context,
        },
    );
    let trusted: Vec<String> = policy
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .filter_map(|s| match &s.principal {
            PrincipalElement::Principal(p) => Some(
                p.service
                    .iter()
                    .chain(&p.aws)
                    .chain(&p.other)
                    .cloned()
                    .chain(p.anyone.then(|| "*".to_string()))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    let check = match evaluation.decision {
        Decision::Allowed => Check::pass(name, subject, "s3.amazonaws.com may assume the role"),
        Decision::ExplicitlyDenied => Check::fail(
            name,
            subject,
            format!(
                "s3.amazonaws.com is denied sts:AssumeRole by {}",
                evaluation.denying.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
        )
        .with_fix(fix),
        Decision::NotAllowed => Check::fail(
            name,
            subject,
            format!(
                "S3 cannot assume the role: the trust policy trusts {} but not s3.amazonaws.com for {}",
                if trusted.is_empty() { "nobody".to_string() } else { trusted.join(", ") },
                pair.source_bucket
            ),
        )
        .with_fix(fix),
        Decision::Unknown => Check::warn(
            name,
            subject,
            format!(
                "s3.amazonaws.com may assume the role only under a condition doctor cannot evaluate: {}",
                evaluation.uncertain.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
        ),
    };
    vec![check, placeholders]
}

/// The replication role's permission policies (inline and attached, already parsed or not).
pub fn role_policy_checks(
    pair: &Pair,
    subject: &str,
    documents: &[(String, String)],
) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut policies = Vec::new();
    for (name, text) in documents {
        match Policy::parse(text) {
            Ok(policy) => policies.push((name.clone(), policy)),
            Err(error) => checks.push(Check::fail(
                "role-policy.document",
                subject,
                format!("{name}: {error}"),
            )),
        }
        let check = placeholders_check("role-policy.placeholders", subject, text, pair);
        if check.status != Status::Pass || documents.len() == 1 {
            checks.push(check);
        }
    }
    let named: Vec<(&str, &Policy)> = policies.iter().map(|(n, p)| (n.as_str(), p)).collect();
    let fix = format!(
        "the role's permissions policy:\n{}",
        corrected_role_policy(pair)
    );
    let context = Context::default().with("aws:SecureTransport", "true");
    let judge = |action: &str, resource: &str| {
        evaluate(
            &named,
            &Request {
                principal: None,
                action,
                resource: Some(resource),
                context: &context,
            },
        )
        .decision
    };
    let src_bucket = pair.source_bucket_arn();
    let src_object = pair.source_object();
    let dst_bucket = pair.destination_bucket_arn();
    let dst_object = pair.destination_object();
    let swapped = |a: &str, right: &str, other: &str| {
        judge(a, right) != Decision::Allowed && judge(a, other) == Decision::Allowed
    };

    // Source bucket reads.
    let mut source_bucket = Vec::new();
    for action in ["s3:GetReplicationConfiguration", "s3:ListBucket"] {
        source_bucket.push((
            action,
            Status::Fail,
            judge(action, &src_bucket),
            swapped(action, &src_bucket, &dst_bucket),
            "",
        ));
    }
    checks.push(needs_line(
        "role-policy.source-bucket",
        subject,
        &src_bucket,
        &source_bucket,
    ));

    // Source object reads: GetObjectVersionForReplication or the how-to's GetObjectVersion.
    let for_replication = judge("s3:GetObjectVersionForReplication", &src_object);
    let version = judge("s3:GetObjectVersion", &src_object);
    let read = if for_replication == Decision::Allowed {
        for_replication.clone()
    } else {
        version.clone()
    };
    let read_name = if for_replication == Decision::Allowed || version != Decision::Allowed {
        "s3:GetObjectVersionForReplication"
    } else {
        "s3:GetObjectVersion"
    };
    let mut source_objects = vec![(
        read_name,
        Status::Fail,
        read,
        swapped(
            "s3:GetObjectVersionForReplication",
            &src_object,
            &dst_object,
        ) || swapped("s3:GetObjectVersion", &src_object, &dst_object),
        "or s3:GetObjectVersion",
    )];
    for action in ["s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"] {
        source_objects.push((
            action,
            Status::Warn,
            judge(action, &src_object),
            false,
            "ACLs and tags do not replicate without it",
        ));
    }
    checks.push(needs_line(
        "role-policy.source-objects",
        subject,
        &format!("{src_bucket}/*"),
        &source_objects,
    ));

    // Destination object writes.
    let destination: Vec<_> = destination_needs(pair)
        .into_iter()
        .map(|(action, status, why)| {
            (
                action,
                status,
                judge(action, &dst_object),
                swapped(action, &dst_object, &src_object),
                why,
            )
        })
        .collect();
    checks.push(needs_line(
        "role-policy.destination-objects",
        subject,
        &format!("{dst_bucket}/*"),
        &destination,
    ));
    let mut destination_line = checks.pop().expect("just pushed");
    if destination
        .iter()
        .any(|(a, _, d, _, _)| *a == "s3:ReplicateObject" && *d != Decision::Allowed)
        && judge("s3:PutObject", &dst_object) == Decision::Allowed
    {
        destination_line.found.push_str(
            "; s3:PutObject is allowed instead: S3 writes replicas with s3:ReplicateObject",
        );
    }
    checks.push(destination_line);
    if let Some(first) = checks.iter_mut().find(|c| {
        c.status == Status::Fail
            && c.name.starts_with("role-policy.")
            && c.name != "role-policy.placeholders"
    }) {
        first.fix = Some(fix);
    }
    checks
}

/// One line for a list of needed actions on one resource.
fn needs_line(
    name: &'static str,
    subject: &str,
    resource: &str,
    needs: &[(&str, Status, Decision, bool, &str)],
) -> Check {
    let mut status = Status::Pass;
    let mut allowed = Vec::new();
    let mut problems = Vec::new();
    for (action, severity, decision, swapped, why) in needs {
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(" ({why})")
        };
        match decision {
            Decision::Allowed => allowed.push(action.to_string()),
            Decision::ExplicitlyDenied => {
                status = Status::Fail;
                problems.push(format!("{action} is explicitly denied"));
            }
            Decision::NotAllowed => {
                status = status.max(*severity);
                if *swapped {
                    problems.push(format!(
                        "{action} is allowed on the other bucket of the pair, not on {resource}: source and destination are swapped"
                    ));
                } else {
                    problems.push(format!("{action} not allowed{why}"));
                }
            }
            Decision::Unknown => {
                status = status.max(Status::Warn);
                problems.push(format!(
                    "{action} depends on a condition doctor cannot evaluate"
                ));
            }
        }
    }
    let found = if problems.is_empty() {
        format!("allows {} on {resource}", allowed.join(", "))
    } else {
        format!("on {resource}: {}", problems.join("; "))
    };
    Check::new(name, subject, status, found)
}

#[cfg(test)]
mod tests {
    //! GIVEN the how-to's documents with one mistake each, THEN the line that names it.
    use super::*;

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
