//! Domain types: object references, probe results, verdicts and findings.

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
}

/// Why the object is being audited.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// An "object created" notification (S3, SQS, SNS, EventBridge).
    Created,
    /// A person or script asked (manual payload, `check`).
    Manual,
    /// An S3 replication event (`s3:Replication:*`).
    Replication(ReplicationEvent),
}

/// The facts an S3 replication event carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationEvent {
    pub kind: ReplicationEventKind,
    pub failure_reason: Option<String>,
    pub destination_bucket: Option<String>,
    pub rule_id: Option<String>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// Anything else (bad request, unexpected answer).
    Other,
}

/// A probe that failed, with the operation and the error text for the finding.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeError {
    pub kind: ProbeErrorKind,
    pub operation: &'static str,
    pub message: String,
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
    /// 404 (or 405 on a delete marker): this key/version does not exist.
    NotFound,
    Failed(ProbeError),
}

/// Verdict per (object version, destination) — DESIGN.md §2.
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
    SourceGone,
    Error,
}

impl Verdict {
    pub const ALL: [Verdict; 9] = [
        Verdict::Replicated,
        Verdict::Pending,
        Verdict::Late,
        Verdict::Failed,
        Verdict::Missing,
        Verdict::Mismatch,
        Verdict::Unreplicated,
        Verdict::SourceGone,
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
            Verdict::SourceGone => "source_gone",
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
            Verdict::SourceGone => "SourceGone",
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
}

impl Detail {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            remediation: None,
            failure_reason: None,
            cause: None,
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
    pub detail: Detail,
    /// What the destination HEAD found, when it was asked.
    pub destination: Option<ObjectFacts>,
    /// Seconds since the source version was written, when known.
    pub age_seconds: Option<f64>,
    /// Seconds between the source write and the replica write, when both are known.
    pub lag_seconds: Option<f64>,
}
