//! Live `doctor`: judges the configuration read from both accounts (pure; the reading is in
//! `crate::aws::doctor`). The documents go through the same diagnosis as `--offline`
//! ([`super::checks`]); this module adds what only the live configuration shows.
//!
//! | check | FAIL when | WARN when |
//! | --- | --- | --- |
//! | `source.exists` | the source bucket does not exist, or is in another region (nothing else is judged) | — |
//! | `source.versioning` | versioning is not Enabled on the source | — |
//! | `replication.configuration` | the source has no replication configuration | — |
//! | `replication.rule-status` | no rule is Enabled (nothing replicates) | a rule is Disabled (replicates nothing) |
//! | `source.lifecycle-archive` | — | a lifecycle rule moves replicated keys to GLACIER / DEEP_ARCHIVE at once (Days 0 or a date) |
//! | `replication.delete-markers` | — | `DeleteMarkerReplication` not stated |
//! | `replication.shadowed` | — | an enabled rule is covered by a higher-priority rule to the same destination |
//! | `destination.exists` | HeadBucket with ExpectedBucketOwner: missing, or not in the rule's account | — |
//! | `destination.versioning` | versioning is not Enabled on a destination | — |
//! | `role.exists` | the replication role does not exist in account A | — |
//! | `destination.owner-override` | `AccessControlTranslation` without `Account` | override redundant (BucketOwnerEnforced); no override and ACLs on (replicas stay A's) |
//! | `replication.kms` | SSE-KMS source without `SseKmsEncryptedObjects` or `ReplicaKmsKeyID`; role may not use the keys | key policies not read |
//! | `replication.metrics` | — | replication metrics off (no failure events for the auditor) |
//! | `source.notifications` | — | no object-created notification to a queue, topic, function or EventBridge |
//! | `auditor.source-head` | HEAD of a missing key in the source answers 403, not 404 | — |
//! | `auditor.destination-head` | same in a destination, through the audit role | — |
//! | `auditor.assume-role` | the audit role cannot be assumed (also exit 2: B is unread) | no audit role configured |
//!
//! plus, per destination, every `destination-policy.*`, `role-trust.*` and `role-policy.*` line of
//! [`super::checks`].

use super::checks::destination_policy_checks;
use super::pair::Pair;
use super::policy::{evaluate, Context, Decision, Policy, Request};
use super::role::{role_policy_checks, trust_policy_checks};
use super::{Check, Report};
use crate::audit::rules::{ReplicationRule as Rule, ReplicationRules as Replication};

/// The source bucket, as HeadBucket with the caller's credentials and region sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceExistence {
    Exists,
    Missing,
    /// The bucket lives in another region than the one configured (`x-amz-bucket-region`).
    OtherRegion {
        bucket_region: String,
        configured: String,
    },
    /// HeadBucket with `ExpectedBucketOwner` = the caller's account answered 403: the bucket
    /// is another account's (or the caller may not s3:ListBucket it).
    NotInAccount(String),
    /// 403 or another answer: reading goes on, and each refused read is named.
    Unknown(String),
}

/// A bucket's versioning state (`None` where it holds one: could not be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    Enabled,
    Suspended,
    /// Never enabled (GetBucketVersioning answers without a Status).
    Never,
}

/// Default encryption of a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    /// `AES256`, `aws:kms`, `aws:kms:dsse`.
    pub algorithm: String,
    pub kms_key: Option<String>,
}

impl Encryption {
    fn is_kms(&self) -> bool {
        self.algorithm.starts_with("aws:kms")
    }
}

/// One lifecycle transition of the source bucket (an enabled rule's), as doctor needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleTransition {
    pub rule_id: Option<String>,
    /// The rule's key prefix ("" for every key; a rule filtering on tags or size counts as
    /// covering its prefix).
    pub prefix: String,
    pub storage_class: String,
    /// `Days` (None: a `Date`).
    pub days: Option<i32>,
}

/// How a HEAD of a key that surely does not exist was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissingKeyHead {
    /// 404: a missing replica can be told from a denied one.
    NotFound,
    /// 403: without s3:ListBucket S3 hides whether the key exists.
    Forbidden,
    Other(String),
}

/// Whether a bucket exists in the account a rule expects (HeadBucket + ExpectedBucketOwner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existence {
    Exists,
    Missing,
    /// 403: owned by another account, or the audit role may not see it.
    NotInAccount,
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notifications {
    /// Destinations (queue, topic, function ARNs) that receive object-created events.
    pub object_created_to: Vec<String>,
    pub eventbridge: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFacts {
    pub bucket: String,
    /// What HeadBucket answered: a bucket that is missing, or in another region, is said so
    /// and nothing else is judged (a missing configuration would be a lie).
    pub existence: SourceExistence,
    /// None: could not be read (an access problem says why).
    pub versioning: Option<Versioning>,
    pub replication: Option<Replication>,
    /// Whether GetBucketReplication answered (with a configuration or with "none"): only
    /// then does `replication: None` mean "no configuration".
    pub replication_read: bool,
    pub encryption: Option<Encryption>,
    /// The enabled lifecycle transitions (None: could not be read; empty: none).
    pub lifecycle: Option<Vec<LifecycleTransition>>,
    pub notifications: Option<Notifications>,
    pub missing_key_head: Option<MissingKeyHead>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFacts {
    pub arn: String,
    /// None: the role does not exist.
    pub trust_policy: Option<String>,
    /// (name, document) of inline and attached policies.
    pub policies: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationFacts {
    pub bucket: String,
    pub expected_account: String,
    pub existence: Existence,
    pub versioning: Option<Versioning>,
    /// None: no bucket policy.
    pub policy: Option<String>,
    /// False when GetBucketPolicy was refused: the policy lines are left out, not guessed.
    pub policy_read: bool,
    /// `BucketOwnerEnforced`, `BucketOwnerPreferred`, `ObjectWriter` (None: not set).
    pub ownership: Option<String>,
    pub missing_key_head: Option<MissingKeyHead>,
}

/// Everything read from both accounts. Reads that failed are in `access_problems` and leave
/// their field `None`/empty; checks that need them are skipped rather than guessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFacts {
    pub source: SourceFacts,
    pub role: Option<RoleFacts>,
    pub destinations: Vec<DestinationFacts>,
    /// The audit role and whether it could be assumed (None: destinations read as the caller).
    pub audit_role: Option<(String, Result<(), String>)>,
    pub access_problems: Vec<String>,
}

/// The account id in an ARN (`arn:aws:iam::111111111111:role/x` → `111111111111`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Every live check, in the order a person fixes things.
pub fn judge(facts: &LiveFacts) -> Report {
    let report = |checks| Report {
        checks,
        access_problems: facts.access_problems.clone(),
    };
    let source = &facts.source;
    let src = source.bucket.as_str();
    if let Some(fail) = source_existence(src, &source.existence) {
        return report(vec![fail]);
    }
    let mut checks: Vec<Check> = versioning("source.versioning", src, source.versioning)
        .into_iter()
        .collect();
    if source.replication.is_none() && !source.replication_read {
        // The access problem names the refused read; nothing is said of a configuration that
        // was not read (a fix that writes one could overwrite it).
        return report(checks);
    }
    let Some(replication) = &source.replication else {
        checks.push(
            Check::fail(
                "replication.configuration",
                src,
                "no replication configuration: nothing is replicated",
            )
            .with_fix(format!(
                "aws s3api put-bucket-replication --bucket {src} --replication-configuration file://replication.json"
            )),
        );
        return report(checks);
    };
    checks.push(Check::pass(
        "replication.configuration",
        src,
        format!(
            "{} rule(s), role {}",
            replication.rules.len(),
            replication.role_arn
        ),
    ));
    checks.extend(rule_checks(src, &replication.rules));
    checks.extend(lifecycle_checks(
        src,
        source.lifecycle.as_deref(),
        &replication.rules,
    ));
    checks.extend(role_checks(facts, replication));
    for destination in &facts.destinations {
        checks.extend(destination_checks(facts, replication, destination));
    }
    checks.push(audit_role(facts.audit_role.as_ref()));
    checks.push(notifications(src, source.notifications.as_ref()));
    checks.push(head_check(
        "auditor.source-head",
        src,
        source.missing_key_head.as_ref(),
        "the auditor",
    ));
    report(checks)
}

/// A source bucket that is not there to be read: the one FAIL (nothing else is judged).
fn source_existence(src: &str, existence: &SourceExistence) -> Option<Check> {
    match existence {
        SourceExistence::Missing => Some(Check::fail("source.exists", src, "no such bucket: the source bucket does not exist (or not for these credentials' partition)")
            .with_fix("check --source-bucket (bucket names are exact: lowercase, no s3:// prefix)")),
        SourceExistence::OtherRegion { bucket_region, configured } => Some(Check::fail(
            "source.exists",
            src,
            format!("the bucket is in region {bucket_region}, and doctor reads {configured}"),
        )
        .with_fix(format!("run with AWS_REGION={bucket_region}"))),
        SourceExistence::NotInAccount(account) => Some(Check::fail(
            "source.exists",
            src,
            format!("HeadBucket with ExpectedBucketOwner={account} (your account) is refused (403): the bucket is another account's, or you may not s3:ListBucket it; nothing else was read"),
        )
        .with_fix("run doctor with credentials of the source bucket's account (account A)")),
        SourceExistence::Exists | SourceExistence::Unknown(_) => None,
    }
}

/// The replication role's name (the last part of its ARN).
fn role_name(replication: &Replication) -> &str {
    replication
        .role_arn
        .rsplit('/')
        .next()
        .unwrap_or(&replication.role_arn)
}

/// The account of the source bucket: the replication role's.
fn source_account(replication: &Replication) -> String {
    arn_account(&replication.role_arn)
        .unwrap_or_default()
        .to_string()
}

/// The replication role exists, and whom it trusts (judged once: not per destination).
fn role_checks(facts: &LiveFacts, replication: &Replication) -> Vec<Check> {
    let role_name = role_name(replication);
    let mut checks = Vec::new();
    match facts.role.as_ref() {
        Some(role) if role.trust_policy.is_none() => checks.push(
            Check::fail(
                "role.exists",
                role_name,
                format!(
                    "the replication role {} does not exist in account A",
                    role.arn
                ),
            )
            .with_fix(format!(
                "aws iam create-role --role-name {role_name} --assume-role-policy-document file://trust.json"
            )),
        ),
        Some(role) => checks.push(Check::pass(
            "role.exists",
            role_name,
            format!("{} exists", role.arn),
        )),
        None => {}
    }
    if let Some(trust) = facts.role.as_ref().and_then(|r| r.trust_policy.as_ref()) {
        let pair = Pair {
            source_account: source_account(replication),
            destination_account: String::new(),
            source_bucket: facts.source.bucket.clone(),
            destination_bucket: String::new(),
            role_arn: Some(replication.role_arn.clone()),
            delete_markers: None,
            owner_override: None,
        };
        checks.extend(trust_policy_checks(&pair, role_name, trust));
    }
    checks
}

/// One destination: there, versioned, its bucket policy, the role's grants for it, KMS,
/// ownership, and how a HEAD of a missing key answers there.
fn destination_checks(
    facts: &LiveFacts,
    replication: &Replication,
    destination: &DestinationFacts,
) -> Vec<Check> {
    let rules: Vec<&Rule> = replication
        .rules
        .iter()
        .filter(|r| r.destination_bucket == destination.bucket)
        .collect();
    let dst = destination.bucket.as_str();
    let mut checks = vec![existence(destination)];
    checks.extend(versioning(
        "destination.versioning",
        dst,
        destination.versioning,
    ));
    let pair = Pair {
        source_account: source_account(replication),
        destination_account: destination.expected_account.clone(),
        source_bucket: facts.source.bucket.clone(),
        destination_bucket: dst.to_string(),
        role_arn: Some(replication.role_arn.clone()),
        delete_markers: Some(rules.iter().any(|r| r.replicates_delete_markers())),
        // Bucket owner enforced mimics the override without the permission (S3 user guide,
        // "Changing the replica owner"): the permission is needed only with ACLs on.
        owner_override: Some(
            rules.iter().any(|r| r.owner_override)
                && destination.ownership.as_deref() != Some("BucketOwnerEnforced"),
        ),
    };
    if destination.existence != Existence::Missing && destination.policy_read {
        checks.extend(destination_policy_checks(
            &pair,
            destination.policy.as_deref(),
        ));
    }
    let role = facts.role.as_ref().filter(|r| r.trust_policy.is_some());
    if let Some(role) = role {
        let subject = format!("{} → {dst}", role_name(replication));
        checks.extend(role_policy_checks(&pair, &subject, &role.policies));
    }
    let role_policies = role.map(|r| r.policies.as_slice());
    checks.extend(kms_checks(&pair, &facts.source, &rules, role_policies));
    checks.extend(owner_override(destination, &rules));
    checks.push(head_check(
        "auditor.destination-head",
        dst,
        destination.missing_key_head.as_ref(),
        "the audit role",
    ));
    checks
}

fn audit_role(audit_role: Option<&(String, Result<(), String>)>) -> Check {
    match audit_role {
        Some((role, Ok(()))) => Check::pass(
            "auditor.assume-role",
            role,
            "assumed: the destination was read as the auditor reads it",
        ),
        Some((role, Err(message))) => Check::fail("auditor.assume-role", role, message.clone()),
        None => Check::warn(
            "auditor.assume-role",
            "(none)",
            "no audit role (AUDITOR_DESTINATION_ROLE_ARN / --destination-role): destinations were read with the caller's credentials, not as the auditor reads them",
        ),
    }
}

/// None when versioning could not be read: the access problem is reported instead.
fn versioning(name: &'static str, bucket: &str, state: Option<Versioning>) -> Option<Check> {
    let state = state?;
    Some(match state {
        Versioning::Enabled => Check::pass(name, bucket, "versioning Enabled"),
        other => Check::fail(
            name,
            bucket,
            format!(
                "versioning is {}: S3 replicates only from and into versioned buckets",
                if other == Versioning::Suspended { "Suspended" } else { "off (never enabled)" }
            ),
        )
        .with_fix(format!(
            "aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled"
        )),
    })
}

fn rule_checks(src: &str, rules: &[Rule]) -> Vec<Check> {
    let mut checks = Vec::new();
    if !rules.iter().any(|r| r.enabled) {
        checks.push(
            Check::fail(
                "replication.rule-status",
                src,
                "no rule is Enabled: nothing is replicated",
            )
            .with_fix("set \"Status\": \"Enabled\" on the rule in the replication configuration and put it again (aws s3api put-bucket-replication)"),
        );
    }
    for (index, rule) in rules.iter().enumerate() {
        let subject = format!("{src} {}", rule.label(index));
        checks.push(if rule.enabled {
            Check::pass(
                "replication.rule-status",
                &subject,
                format!("Enabled, to {}", rule.destination_bucket),
            )
        } else {
            Check::warn(
                "replication.rule-status",
                &subject,
                format!(
                    "Disabled: objects it covers are not replicated to {} (enable it, or delete it if that is intended)",
                    rule.destination_bucket
                ),
            )
        });
        checks.push(match rule.delete_marker_replication {
            Some(enabled) => Check::pass(
                "replication.delete-markers",
                &subject,
                format!(
                    "DeleteMarkerReplication {}",
                    if enabled { "Enabled" } else { "Disabled: deletes in the source stay in the source" }
                ),
            ),
            None => Check::warn(
                "replication.delete-markers",
                &subject,
                "DeleteMarkerReplication not stated: say Enabled or Disabled so nobody has to guess",
            ),
        });
        checks.push(if rule.metrics {
            Check::pass("replication.metrics", &subject, "replication metrics Enabled: S3 sends failure events")
        } else {
            Check::warn(
                "replication.metrics",
                &subject,
                "replication metrics off: S3 sends no OperationFailedReplication events, the auditor learns of failures only by HEAD",
            )
            .with_fix("add \"Metrics\": {\"Status\": \"Enabled\", \"EventThreshold\": {\"Minutes\": 15}} to the rule's Destination")
        });
        if rule.enabled {
            if let Some((j, by)) = rules
                .iter()
                .enumerate()
                .find(|(j, other)| *j != index && other.enabled && shadows(other, rule))
            {
                checks.push(Check::warn(
                    "replication.shadowed",
                    &subject,
                    format!(
                        "every key it covers is also covered by {} (priority {}) to the same destination, which wins: this rule never applies",
                        by.label(j),
                        by.priority.unwrap_or_default()
                    ),
                ));
            }
        }
    }
    checks
}

/// A lifecycle rule that moves objects to an archive class at once (`Days: 0`, or a date):
/// an object archived before S3 replicated it is never replicated ("What is replicated with
/// replication configurations": not objects in S3 Glacier Flexible Retrieval or Deep Archive).
fn lifecycle_checks(
    src: &str,
    transitions: Option<&[LifecycleTransition]>,
    rules: &[Rule],
) -> Vec<Check> {
    let name = "source.lifecycle-archive";
    let Some(transitions) = transitions else {
        return Vec::new();
    };
    let overlaps = |t: &LifecycleTransition| {
        rules.iter().any(|r| {
            r.enabled && (t.prefix.starts_with(&r.prefix) || r.prefix.starts_with(&t.prefix))
        })
    };
    let early: Vec<&LifecycleTransition> = transitions
        .iter()
        .filter(|t| matches!(t.storage_class.as_str(), "GLACIER" | "DEEP_ARCHIVE"))
        .filter(|t| t.days.is_none_or(|d| d < 1))
        .filter(|t| overlaps(t))
        .collect();
    if early.is_empty() {
        return vec![Check::pass(
            name,
            src,
            "no lifecycle rule archives replicated keys before they can replicate",
        )];
    }
    early
        .into_iter()
        .map(|t| {
            Check::warn(
                name,
                src,
                format!(
                    "lifecycle rule {} moves objects under {:?} to {} {}: an object archived before S3 replicated it is never replicated",
                    t.rule_id.as_deref().unwrap_or("(no id)"),
                    t.prefix,
                    t.storage_class,
                    match t.days {
                        Some(days) => format!("after {days} days"),
                        None => "on a date".to_string(),
                    }
                ),
            )
            .with_fix("transition after replication has had time to finish (Days: 1 or more), or write to GLACIER_IR, which replicates")
        })
        .collect()
}

/// Whether `higher` takes every object of `lower` (same destination, higher priority, a filter
/// that is a superset: its prefix starts `lower`'s and its tags are a subset of `lower`'s).
fn shadows(higher: &Rule, lower: &Rule) -> bool {
    higher.destination_bucket == lower.destination_bucket
        && higher.priority.unwrap_or_default() > lower.priority.unwrap_or_default()
        && lower.prefix.starts_with(&higher.prefix)
        && higher.tags.iter().all(|t| lower.tags.contains(t))
}

fn existence(destination: &DestinationFacts) -> Check {
    let name = "destination.exists";
    let dst = destination.bucket.as_str();
    let account = &destination.expected_account;
    match &destination.existence {
        Existence::Exists => Check::pass(name, dst, format!("exists in account {account}")),
        Existence::Missing => Check::fail(name, dst, "the destination bucket does not exist")
            .with_fix(format!(
                "in account {account}: aws s3api create-bucket --bucket {dst}, then enable versioning"
            )),
        Existence::NotInAccount => Check::fail(
            name,
            dst,
            format!(
                "HeadBucket with ExpectedBucketOwner={account} is refused (403): the bucket is in another account, or the audit role may not s3:ListBucket it"
            ),
        ),
        Existence::Unknown(message) => Check::warn(name, dst, format!("could not tell: {message}")),
    }
}

fn owner_override(destination: &DestinationFacts, rules: &[&Rule]) -> Vec<Check> {
    let name = "destination.owner-override";
    let dst = destination.bucket.as_str();
    let overriding: Vec<&&Rule> = rules.iter().filter(|r| r.owner_override).collect();
    let enforced = destination.ownership.as_deref() == Some("BucketOwnerEnforced");
    let mut checks = Vec::new();
    for rule in &overriding {
        if rule.destination_account.is_none() {
            checks.push(Check::fail(
                name,
                dst,
                "AccessControlTranslation without Destination.Account: S3 needs the destination owner's account id",
            )
            .with_fix(format!("add \"Account\": \"{}\" to the rule's Destination", destination.expected_account)));
        }
    }
    let ownership = destination
        .ownership
        .as_deref()
        .unwrap_or("not set (ObjectWriter)");
    checks.push(match (!overriding.is_empty(), enforced) {
        (true, true) => Check::warn(
            name,
            dst,
            "the rule changes replica ownership but Object Ownership is BucketOwnerEnforced: B owns every object anyway, the override is redundant",
        ),
        (true, false) => Check::pass(
            name,
            dst,
            format!("replicas are given to the destination owner (Object Ownership {ownership})"),
        ),
        (false, true) => Check::pass(name, dst, "Object Ownership BucketOwnerEnforced: B owns the replicas"),
        (false, false) => Check::warn(
            name,
            dst,
            format!(
                "replicas stay owned by account A (Object Ownership {ownership}, no AccessControlTranslation): account B may be unable to read them"
            ),
        )
        .with_fix(format!(
            "aws s3api put-bucket-ownership-controls --bucket {dst} --ownership-controls 'Rules=[{{ObjectOwnership=BucketOwnerEnforced}}]'"
        )),
    });
    checks
}

fn kms_checks(
    pair: &Pair,
    source: &SourceFacts,
    rules: &[&Rule],
    role_policies: Option<&[(String, String)]>,
) -> Vec<Check> {
    let name = "replication.kms";
    let subject = format!("{} → {}", pair.source_bucket, pair.destination_bucket);
    let kms_source = source.encryption.as_ref().filter(|e| e.is_kms());
    let selects_kms = rules.iter().any(|r| r.sse_kms_objects);
    let replica_key = rules.iter().find_map(|r| r.replica_kms_key.clone());
    let Some(encryption) = kms_source else {
        if selects_kms && replica_key.is_none() {
            return vec![Check::fail(
                name,
                subject,
                "the rule replicates SSE-KMS objects but names no ReplicaKmsKeyID",
            )];
        }
        return vec![Check::pass(
            name,
            subject,
            "the source's default encryption is not SSE-KMS",
        )];
    };
    let mut problems = Vec::new();
    if !selects_kms {
        problems.push("the source encrypts with SSE-KMS but the rule lacks SourceSelectionCriteria.SseKmsEncryptedObjects Enabled: KMS-encrypted objects are not replicated".to_string());
    }
    let Some(replica_key) = replica_key else {
        problems.push("no ReplicaKmsKeyID in the rule's EncryptionConfiguration".to_string());
        return vec![Check::fail(name, subject, problems.join("; "))];
    };
    let policies: Vec<(String, Policy)> = role_policies
        .unwrap_or_default()
        .iter()
        .filter_map(|(n, t)| Policy::parse(t).ok().map(|p| (n.clone(), p)))
        .collect();
    let named: Vec<(&str, &Policy)> = policies.iter().map(|(n, p)| (n.as_str(), p)).collect();
    let context = Context::default();
    let allows = |action: &str, key: &str| {
        evaluate(
            &named,
            &Request {
                principal: None,
                action,
                resource: Some(key),
                context: &context,
            },
        )
        .decision
    };
    let role_read = role_policies.is_some();
    if let Some(source_key) = encryption.kms_key.as_ref().filter(|_| role_read) {
        if allows("kms:Decrypt", source_key) == Decision::NotAllowed {
            problems.push(format!(
                "the role may not kms:Decrypt with the source key {source_key}"
            ));
        }
    }
    if role_read && allows("kms:Encrypt", &replica_key) == Decision::NotAllowed {
        problems.push(format!(
            "the role may not kms:Encrypt with the replica key {replica_key}"
        ));
    }
    if problems.is_empty() {
        vec![Check::warn(
            name,
            subject,
            format!("SSE-KMS objects selected, replica key {replica_key}, the role's policies allow the keys; key policies were not read: make sure they let the role use them"),
        )]
    } else {
        vec![Check::fail(name, subject, problems.join("; "))]
    }
}

fn notifications(src: &str, notifications: Option<&Notifications>) -> Check {
    let name = "source.notifications";
    match notifications {
        None => Check::warn(name, src, "notification configuration not read"),
        Some(n) if n.eventbridge => Check::pass(name, src, "EventBridge notifications are on"),
        Some(n) if !n.object_created_to.is_empty() => Check::pass(
            name,
            src,
            format!("object-created events go to {}", n.object_created_to.join(", ")),
        ),
        Some(_) => Check::warn(
            name,
            src,
            "no object-created notification reaches a queue, topic, function or EventBridge: the auditor only hears of new objects by hand",
        )
        .with_fix(format!(
            "aws s3api put-bucket-notification-configuration --bucket {src} --notification-configuration '{{\"QueueConfigurations\":[{{\"QueueArn\":\"<the auditor's queue ARN>\",\"Events\":[\"s3:ObjectCreated:*\",\"s3:Replication:OperationFailedReplication\"]}}]}}'"
        )),
    }
}

fn head_check(name: &'static str, bucket: &str, head: Option<&MissingKeyHead>, who: &str) -> Check {
    match head {
        Some(MissingKeyHead::NotFound) => Check::pass(name, bucket, format!("{who} gets 404 for a missing key: a missing replica is told from a denied one")),
        Some(MissingKeyHead::Forbidden) => Check::fail(
            name,
            bucket,
            format!("{who} gets 403 for a missing key: every missing object would read as 'access denied' (verdict error, never missing)"),
        )
        .with_fix(format!("grant s3:ListBucket on arn:aws:s3:::{bucket} and s3:GetObject, s3:GetObjectVersion on arn:aws:s3:::{bucket}/* to {who}")),
        Some(MissingKeyHead::Other(message)) => Check::warn(name, bucket, format!("HEAD of a missing key: {message}")),
        None => Check::warn(name, bucket, "not probed (an earlier read failed)"),
    }
}

#[cfg(test)]
mod tests {
    //! GIVEN facts as the adapter reads them, THEN the lines a person sees.
    use super::*;
    use crate::doctor::Status;

    const GOOD_POLICY: &str = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},
        "Action":["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags"],"Resource":"arn:aws:s3:::dst/*"}]}"#;

    fn rule(id: &str, priority: i32, prefix: &str) -> Rule {
        Rule {
            id: Some(id.into()),
            priority: Some(priority),
            enabled: true,
            prefix: prefix.into(),
            delete_marker_replication: Some(false),
            destination_bucket: "dst".into(),
            destination_account: Some("222222222222".into()),
            metrics: true,
            ..Rule::default()
        }
    }

    fn facts(rules: Vec<Rule>, ownership: Option<&str>) -> LiveFacts {
        LiveFacts {
            source: SourceFacts {
                bucket: "src".into(),
                existence: SourceExistence::Exists,
                versioning: Some(Versioning::Enabled),
                replication: Some(Replication {
                    role_arn: "arn:aws:iam::111111111111:role/replication".into(),
                    rules,
                }),
                replication_read: true,
                encryption: None,
                lifecycle: Some(Vec::new()),
                notifications: Some(Notifications {
                    object_created_to: vec!["arn:aws:sqs:us-east-1:111111111111:q".into()],
                    eventbridge: false,
                }),
                missing_key_head: Some(MissingKeyHead::NotFound),
            },
            role: None,
            audit_role: Some(("arn:aws:iam::222222222222:role/audit".into(), Ok(()))),
            destinations: vec![DestinationFacts {
                bucket: "dst".into(),
                expected_account: "222222222222".into(),
                existence: Existence::Exists,
                versioning: Some(Versioning::Enabled),
                policy: Some(GOOD_POLICY.into()),
                policy_read: true,
                ownership: ownership.map(str::to_string),
                missing_key_head: Some(MissingKeyHead::NotFound),
            }],
            access_problems: Vec::new(),
        }
    }

    fn line<'a>(report: &'a Report, name: &str) -> &'a Check {
        report
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name}: {report:#?}"))
    }

    #[test]
    fn a_right_setup_with_bucket_owner_enforced_passes() {
        let report = judge(&facts(
            vec![rule("all", 1, "")],
            Some("BucketOwnerEnforced"),
        ));
        assert_eq!(report.exit_code(), 0, "{}", report.to_table());
        assert!(
            report.checks.iter().all(|c| c.status == Status::Pass),
            "{}",
            report.to_table()
        );
    }

    #[test]
    fn the_only_rule_disabled_fails_nothing_replicates() {
        let mut disabled = rule("all", 1, "");
        disabled.enabled = false;
        let report = judge(&facts(vec![disabled], Some("BucketOwnerEnforced")));
        assert_eq!(report.exit_code(), 1, "{}", report.to_table());
        assert!(report
            .checks
            .iter()
            .any(|c| c.name == "replication.rule-status"
                && c.status == Status::Fail
                && c.found.contains("nothing is replicated")));
    }

    #[test]
    fn a_lifecycle_rule_archiving_replicated_keys_at_once_warns() {
        let mut facts = facts(vec![rule("all", 1, "")], Some("BucketOwnerEnforced"));
        let transition = |class: &str, days: Option<i32>| LifecycleTransition {
            rule_id: Some("archive".into()),
            prefix: "logs/".into(),
            storage_class: class.into(),
            days,
        };
        facts.source.lifecycle = Some(vec![transition("DEEP_ARCHIVE", Some(0))]);
        let warned = judge(&facts);
        let check = line(&warned, "source.lifecycle-archive");
        assert_eq!(check.status, Status::Warn);
        assert!(check.found.contains("DEEP_ARCHIVE"), "{check:?}");
        for later in [
            transition("GLACIER", Some(30)),
            transition("GLACIER_IR", Some(0)),
        ] {
            facts.source.lifecycle = Some(vec![later]);
            assert_eq!(
                line(&judge(&facts), "source.lifecycle-archive").status,
                Status::Pass
            );
        }
    }

    #[test]
    fn a_rule_covered_by_a_higher_priority_rule_is_shadowed() {
        let report = judge(&facts(
            vec![rule("all", 2, ""), rule("images", 1, "img/")],
            Some("BucketOwnerEnforced"),
        ));
        let shadowed = line(&report, "replication.shadowed");
        assert_eq!(shadowed.status, Status::Warn);
        assert!(
            shadowed.subject.contains("images") && shadowed.found.contains("rule \"all\""),
            "{shadowed:?}"
        );
    }

    #[test]
    fn owner_override_needs_the_permission_unless_the_destination_enforces_ownership() {
        let mut overriding = rule("all", 1, "");
        overriding.owner_override = true;
        let report = judge(&facts(vec![overriding.clone()], None));
        assert_eq!(
            line(&report, "destination-policy.actions").status,
            Status::Fail
        );
        let report = judge(&facts(vec![overriding], Some("BucketOwnerEnforced")));
        assert_eq!(
            line(&report, "destination-policy.actions").status,
            Status::Pass
        );
        assert_eq!(
            line(&report, "destination.owner-override").status,
            Status::Warn
        );
    }

    #[test]
    fn an_sse_kms_source_needs_the_rule_to_select_kms_objects_and_a_replica_key() {
        let mut kms = facts(vec![rule("all", 1, "")], Some("BucketOwnerEnforced"));
        kms.source.encryption = Some(Encryption {
            algorithm: "aws:kms".into(),
            kms_key: Some("arn:aws:kms:us-east-1:111111111111:key/k".into()),
        });
        let report = judge(&kms);
        let line = line(&report, "replication.kms");
        assert_eq!(line.status, Status::Fail);
        assert!(
            line.found.contains("SseKmsEncryptedObjects") && line.found.contains("ReplicaKmsKeyID"),
            "{}",
            line.found
        );
    }

    #[test]
    fn no_replication_configuration_fails_and_stops() {
        let mut none = facts(vec![], None);
        none.source.replication = None;
        let report = judge(&none);
        assert_eq!(
            line(&report, "replication.configuration").status,
            Status::Fail
        );
        assert_eq!(report.exit_code(), 1);
    }
}
