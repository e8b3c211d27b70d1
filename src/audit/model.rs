//! Domain types: object references, probe results, verdicts and findings.

use super::rules::{ArchiveClass, ObjectTraits};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;

/// One object version to audit, as a trigger named it (key already decoded).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    pub origin: Origin,
    /// Every S3 replication event the batch carried for this version, in arrival order: a later
    /// `OperationMissedThreshold` never hides an earlier failure's reason.
    pub events: Vec<ReplicationEvent>,
}

impl ObjectRef {
    pub fn new(
        bucket: impl Into<String>,
        key: impl Into<String>,
        version_id: Option<String>,
    ) -> Self {
        Self {
            bucket: bucket.into(),
            key: key.into(),
            version_id,
            event_time: None,
            origin: Origin::Created,
            events: Vec::new(),
        }
    }

    /// Identity used to audit an object once when a batch names it several times.
    pub fn identity(&self) -> (String, String, Option<String>) {
        (
            self.bucket.clone(),
            self.key.clone(),
            self.version_id.clone(),
        )
    }

    /// Folds another mention of the same version into this one: every replication event is
    /// kept; a creation or manual mention makes the object's rule destinations count too.
    pub fn absorb(&mut self, other: &ObjectRef) {
        self.events.extend(other.events.iter().cloned());
        // A tag change asks the most of the audit (the tag sets compared): it is kept.
        if other.origin != Origin::Replication && self.origin != Origin::TagsChanged {
            self.origin = other.origin;
        }
        if self.event_time.is_none() {
            self.event_time = other.event_time;
        }
    }

    /// The failure event S3 sent for `destination` (an event naming no destination counts for
    /// every destination); the last one with a reason wins over one without.
    pub fn failure_for(&self, destination: &str) -> Option<&ReplicationEvent> {
        self.events
            .iter()
            .filter(|e| e.kind == ReplicationEventKind::OperationFailedReplication)
            .filter(|e| {
                e.destination_bucket
                    .as_deref()
                    .is_none_or(|d| d == destination)
            })
            .max_by_key(|e| e.failure_reason.is_some())
    }

    /// Any event of `kind` for `destination` (or naming none).
    pub fn event_for(
        &self,
        kind: ReplicationEventKind,
        destination: &str,
    ) -> Option<&ReplicationEvent> {
        self.events.iter().rev().find(|e| {
            e.kind == kind
                && e.destination_bucket
                    .as_deref()
                    .is_none_or(|d| d == destination)
        })
    }

    /// Whether S3 says this version is a delete marker (a delete-marker replication event).
    pub fn is_delete_marker(&self) -> bool {
        self.events
            .iter()
            .any(|e| e.operation == ReplicatedOperation::DeleteMarker)
    }
}

/// Why the object is being audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An "object created" notification (S3, SQS, SNS, EventBridge).
    Created,
    /// A person or script asked (manual payload, `check`).
    Manual,
    /// Only S3 replication events (`s3:Replication:*`) named it.
    Replication,
    /// Its tags changed (`s3:ObjectTagging:Put` / `:Delete`): S3 replicates the new tag set
    /// to the replica after the object ("What is replicated with replication configurations"),
    /// so the audit compares the two tag sets.
    TagsChanged,
    /// Its ACL changed (`s3:ObjectAcl:Put`): S3 replicates it too, unless the rule changes the
    /// replica's owner; the audit checks the replica, and S3's failure event names an ACL
    /// failure (`DstPutAclNotPermitted`).
    AclChanged,
}

/// The facts an S3 replication event carries (`replicationEventData`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationEvent {
    pub kind: ReplicationEventKind,
    pub failure_reason: Option<String>,
    pub destination_bucket: Option<String>,
    pub rule_id: Option<String>,
    pub operation: ReplicatedOperation,
    /// When S3 received the request that created the version (`requestTime`).
    pub request_time: Option<DateTime<Utc>>,
    /// When the replica was written (`replicationTime`, on threshold events).
    pub replication_time: Option<DateTime<Utc>>,
}

/// What S3 was replicating (`replicationEventData.s3Operation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicatedOperation {
    /// `OBJECT_PUT`: an object version.
    Object,
    /// A delete marker (any operation naming a delete, or a delete failure reason).
    DeleteMarker,
    Unknown(String),
}

impl ReplicatedOperation {
    /// AWS's published sample shows `OBJECT_PUT`; a delete marker's operation names a delete.
    /// Without the field, a delete failure reason (`DstDelObjNotPermitted`, …) tells.
    pub fn parse(s3_operation: Option<&str>, failure_reason: Option<&str>) -> Self {
        match s3_operation {
            Some("OBJECT_PUT") => Self::Object,
            Some(op) if op.to_ascii_uppercase().contains("DELETE") => Self::DeleteMarker,
            Some(op) if !op.is_empty() => Self::Unknown(op.to_string()),
            _ if failure_reason.is_some_and(is_delete_failure_reason) => Self::DeleteMarker,
            _ => Self::Object,
        }
    }
}

/// Failure reasons S3 only gives for delete-marker replication (user guide, "Replication
/// failure reasons").
pub fn is_delete_failure_reason(reason: &str) -> bool {
    super::failure_codes::lookup(reason)
        .is_some_and(|row| row.subject == super::failure_codes::Subject::DeleteMarker)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicationEventKind {
    OperationFailedReplication,
    OperationMissedThreshold,
    OperationReplicatedAfterThreshold,
    OperationNotTracked,
}

impl ReplicationEventKind {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "OperationFailedReplication" => Self::OperationFailedReplication,
            "OperationMissedThreshold" => Self::OperationMissedThreshold,
            "OperationReplicatedAfterThreshold" => Self::OperationReplicatedAfterThreshold,
            "OperationNotTracked" => Self::OperationNotTracked,
            _ => return None,
        })
    }
}

/// `x-amz-replication-status` as S3 reports it. Unknown values are kept, never guessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicationStatus {
    Completed,
    Pending,
    Failed,
    Replica,
    Unknown(String),
}

impl ReplicationStatus {
    /// Accepts both `COMPLETED` (HEAD) and `COMPLETE` (the SDK enum, inventory reports).
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_uppercase().as_str() {
            "COMPLETED" | "COMPLETE" => Self::Completed,
            "PENDING" => Self::Pending,
            "FAILED" => Self::Failed,
            "REPLICA" => Self::Replica,
            _ => Self::Unknown(raw.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Completed => "COMPLETED",
            Self::Pending => "PENDING",
            Self::Failed => "FAILED",
            Self::Replica => "REPLICA",
            Self::Unknown(raw) => raw,
        }
    }
}

/// What a HEAD of one object version revealed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObjectFacts {
    pub version_id: Option<String>,
    #[serde(serialize_with = "serialize_status")]
    pub replication_status: Option<ReplicationStatus>,
    pub size: Option<i64>,
    pub etag: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    /// `aws:kms` / `aws:kms:dsse` server-side encryption (ETags then differ legitimately).
    pub kms_encrypted: bool,
    /// `x-amz-storage-class` (absent for STANDARD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// `x-amz-archive-status` (Intelligent-Tiering archive tiers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_status: Option<String>,
}

impl ObjectFacts {
    /// What S3 looks at, besides a rule's filter, to decide whether it replicates the version.
    pub fn traits(&self) -> ObjectTraits {
        ObjectTraits {
            kms_encrypted: self.kms_encrypted,
            archive_class: ArchiveClass::from_head(
                self.storage_class.as_deref(),
                self.archive_status.as_deref(),
            ),
        }
    }
}

fn serialize_status<S: serde::Serializer>(
    status: &Option<ReplicationStatus>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match status {
        Some(status) => s.serialize_some(status.as_str()),
        None => s.serialize_none(),
    }
}

/// Why a probe could not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProbeErrorKind {
    /// 403: missing permission, or (without s3:ListBucket) a missing object.
    AccessDenied,
    /// 503 SlowDown / throttling after the SDK's retries.
    Throttled,
    /// Credentials could not be obtained (e.g. sts:AssumeRole refused).
    Credentials,
    /// Network, timeout or 5xx after retries.
    Transient,
    /// The endpoint could not be reached at all (connection refused, no such host): a
    /// setting (`AWS_ENDPOINT_URL`, the region) rather than a blip.
    Unreachable,
    /// The destination bucket does not exist (HeadBucket answered 404).
    NoSuchBucket,
    /// 400 Bad Request to a HEAD: S3's answer for an SSE-C object asked without the customer
    /// key's headers (HeadObject API reference), or for a malformed version id.
    BadRequest,
    /// Anything else (bad request, unexpected answer).
    #[default]
    Other,
}

/// A probe that failed, with the operation and the error text for the finding.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProbeError {
    pub kind: ProbeErrorKind,
    pub operation: &'static str,
    pub message: String,
    /// AWS's request ids (`x-amz-request-id`, `x-amz-id-2`), for a support case.
    pub request_id: Option<String>,
    pub extended_request_id: Option<String>,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed ({:?}): {}",
            self.operation, self.kind, self.message
        )
    }
}

/// The outcome of a HEAD on the source or the destination.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Found(ObjectFacts),
    /// 404: this key/version does not exist (the adapter confirmed the bucket exists).
    NotFound,
    /// The version is a delete marker (405 on a HEAD by version id; 404 with
    /// `x-amz-delete-marker: true` on a HEAD of the current version), with its version id.
    DeleteMarker(Option<String>),
    Failed(ProbeError),
    /// Not asked: a replica found by the event's version id already proved the replication,
    /// so the source was not HEADed.
    NotAsked,
}

/// Why an object version a person named is not in the source. Asked only for manual audits
/// (`check`, manual payloads, S3 Batch Operations tasks): for an S3 event, a 404 means
/// "deleted since" (`source_gone`); for a name someone typed it means "not found", and which.
#[derive(Debug, Clone, PartialEq)]
pub enum Absence {
    NoSuchBucket,
    /// The key exists, not with this version id; its current version.
    NoSuchVersion {
        current: Option<String>,
    },
    /// S3 answered 400 to the version id while the current version reads: a malformed version
    /// id — or an SSE-C version, whose metadata S3 shows only with its key.
    MalformedVersion {
        current: Option<String>,
    },
    /// No such key; keys in the same "folder" that look like it (case, URL-encoding, a typo).
    NoSuchKey {
        near: Vec<String>,
    },
    /// Not looked into (Batch Operations): no such object version.
    NotExplained,
    /// Looking into it failed (the message says why).
    Unknown(String),
}

/// Keys among `candidates` that a person typing `typed` probably meant: the same but for case,
/// URL-encoding (`%20`, `+` for a space) or a slip of up to two characters; at most three.
pub fn near_keys<'a>(typed: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let decoded = percent_encoding::percent_decode_str(&typed.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned();
    let typed_lower = typed.to_lowercase();
    let mut near: Vec<(usize, &str)> = candidates
        .filter(|candidate| *candidate != typed)
        .filter_map(|candidate| {
            let rank = if candidate.to_lowercase() == typed_lower || candidate == decoded {
                0
            } else {
                strsim::levenshtein(candidate, typed)
            };
            (rank <= 2).then_some((rank, candidate))
        })
        .collect();
    near.sort();
    near.into_iter()
        .take(3)
        .map(|(_, k)| k.to_string())
        .collect()
}

/// Verdict per (object version, destination): see `docs/verdicts.md` for when each applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Replicated,
    Pending,
    Late,
    Failed,
    Missing,
    Mismatch,
    Unreplicated,
    /// The watched object is itself a replica (two-way replication): nothing to check.
    Replica,
    SourceGone,
    /// The auditor cannot read the version's replication status (SSE-C: HEAD needs the key).
    Unverifiable,
    /// A person (or a Batch Operations manifest) named an object version that does not exist.
    NotFound,
    Error,
}

impl Verdict {
    pub const ALL: [Verdict; 12] = [
        Verdict::Replicated,
        Verdict::Pending,
        Verdict::Late,
        Verdict::Failed,
        Verdict::Missing,
        Verdict::Mismatch,
        Verdict::Unreplicated,
        Verdict::Replica,
        Verdict::SourceGone,
        Verdict::Unverifiable,
        Verdict::NotFound,
        Verdict::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Replicated => "replicated",
            Verdict::Pending => "pending",
            Verdict::Late => "late",
            Verdict::Failed => "failed",
            Verdict::Missing => "missing",
            Verdict::Mismatch => "mismatch",
            Verdict::Unreplicated => "unreplicated",
            Verdict::Replica => "replica",
            Verdict::SourceGone => "source_gone",
            Verdict::Unverifiable => "unverifiable",
            Verdict::NotFound => "not_found",
            Verdict::Error => "error",
        }
    }

    /// The CloudWatch metric counting this verdict (one source of truth for infra alarms too).
    pub fn metric_name(self) -> &'static str {
        match self {
            Verdict::Replicated => "Replicated",
            Verdict::Pending => "Pending",
            Verdict::Late => "Late",
            Verdict::Failed => "Failed",
            Verdict::Missing => "Missing",
            Verdict::Mismatch => "Mismatch",
            Verdict::Unreplicated => "Unreplicated",
            Verdict::Replica => "Replicas",
            Verdict::SourceGone => "SourceGone",
            Verdict::Unverifiable => "Unverifiable",
            Verdict::NotFound => "NotFound",
            Verdict::Error => "AuditErrors",
        }
    }

    /// Not terminal yet: the object must be looked at again (SQS redelivery).
    pub fn needs_retry(self) -> bool {
        matches!(self, Verdict::Pending | Verdict::Error)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The human part of a finding: what is wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detail {
    pub reason: String,
    pub remediation: Option<String>,
    /// S3's own failure reason code, when a replication event carried one.
    pub failure_reason: Option<String>,
    /// For `error` verdicts: why the audit could not decide.
    pub cause: Option<ProbeErrorKind>,
    /// AWS's request ids of the failed call, for a support case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_request_id: Option<String>,
    /// For `error` verdicts: the audit runs again (SQS delivers the message again, or S3 Batch
    /// Operations runs a `TemporaryFailure` task again), so nobody is paged yet.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retried: bool,
}

impl Detail {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            remediation: None,
            failure_reason: None,
            cause: None,
            request_id: None,
            extended_request_id: None,
            retried: false,
        }
    }

    pub fn fix(mut self, remediation: impl Into<String>) -> Self {
        self.remediation = Some(remediation.into());
        self
    }
}

/// One verdict for one (object version, destination): the unit of the handler's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub source_bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub destination_bucket: Option<String>,
    pub source_status: Option<String>,
    pub verdict: Verdict,
    pub alarming: bool,
    /// The version is a delete marker (delete-marker replication), not an object.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
    pub detail: Detail,
    /// What the destination HEAD found, when it was asked.
    pub destination: Option<ObjectFacts>,
    /// Seconds since the source version was written, when known.
    pub age_seconds: Option<f64>,
    /// Replication lag in seconds, only from a real signal: S3's `replicationTime` minus
    /// `requestTime` on a threshold event. (A replica keeps the source's Last-Modified, so the
    /// two Last-Modified times never measure a lag.)
    pub lag_seconds: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_keys_find_case_url_encoding_and_small_slips_but_not_strangers() {
        let listed = [
            "reports/Q3 Report.pdf",
            "reports/q3-report.pdf",
            "reports/annual.pdf",
            "reports/q3 report.pdf",
        ];
        assert_eq!(
            near_keys("reports/q3%20report.pdf", listed.iter().copied()),
            ["reports/q3 report.pdf"]
        );
        assert_eq!(
            near_keys("reports/q3+report.pdf", listed.iter().copied()),
            ["reports/q3 report.pdf", "reports/q3-report.pdf"]
        );
        assert_eq!(
            near_keys("reports/Q3 report.pdf", listed.iter().copied())[0],
            "reports/Q3 Report.pdf"
        );
        assert!(near_keys("reports/budget.xlsx", listed.iter().copied()).is_empty());
    }
}
