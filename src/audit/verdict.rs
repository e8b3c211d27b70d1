//! The verdict rules of DESIGN.md §2, as one pure function.

use super::model::*;
use super::remediation as fix;
use chrono::{DateTime, Duration, Utc};

/// Settings that change verdicts (from `Config`).
#[derive(Debug, Clone)]
pub struct VerdictPolicy {
    /// Age after which a PENDING (or not yet replicated) object is `late`.
    pub late_after: Duration,
    /// Whether `unreplicated` counts as alarming.
    pub alarm_on_unreplicated: bool,
}

impl Default for VerdictPolicy {
    fn default() -> Self {
        Self {
            late_after: Duration::seconds(900),
            alarm_on_unreplicated: true,
        }
    }
}

/// What the source bucket's replication configuration says about the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleCoverage {
    Covered,
    NotCovered,
    NoConfiguration,
    /// Not looked up (destination configured) or lookup failed.
    Unknown,
}

/// Everything one verdict depends on.
#[derive(Debug, Clone)]
pub struct AuditInput<'a> {
    pub object: &'a ObjectRef,
    pub source: &'a Probe,
    pub destination_bucket: Option<&'a str>,
    /// `None` when the destination was not asked (no status, source gone, …).
    pub destination: Option<&'a Probe>,
    pub coverage: RuleCoverage,
    pub now: DateTime<Utc>,
}

/// Decides the verdict for one (object version, destination).
pub fn decide(input: &AuditInput<'_>, policy: &VerdictPolicy) -> Finding {
    let facts = match input.source {
        Probe::Found(facts) => Some(facts),
        _ => None,
    };
    let written_at = facts
        .and_then(|f| f.last_modified)
        .or(input.object.event_time);
    let age = written_at.map(|t| input.now - t);
    let replica = match input.destination {
        Some(Probe::Found(replica)) => Some(replica),
        _ => None,
    };
    let lag = match (written_at, replica.and_then(|r| r.last_modified)) {
        (Some(source), Some(copy)) if copy >= source => Some(seconds(copy - source)),
        _ => None,
    };
    let (verdict, detail) = verdict_and_detail(input, replica, age, policy);
    let alarming = match verdict {
        Verdict::Replicated | Verdict::Pending | Verdict::SourceGone => false,
        Verdict::Unreplicated => policy.alarm_on_unreplicated,
        _ => true,
    };
    Finding {
        source_bucket: input.object.bucket.clone(),
        key: input.object.key.clone(),
        version_id: facts
            .and_then(|f| f.version_id.clone())
            .or_else(|| input.object.version_id.clone()),
        destination_bucket: input.destination_bucket.map(str::to_string),
        source_status: facts
            .and_then(|f| f.replication_status.as_ref())
            .map(|s| s.as_str().to_string()),
        verdict,
        alarming,
        detail,
        destination: replica.cloned(),
        age_seconds: age.map(seconds),
        lag_seconds: lag,
    }
}

fn seconds(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

fn failure_event(object: &ObjectRef) -> Option<&ReplicationEvent> {
    match &object.origin {
        Origin::Replication(event)
            if event.kind == ReplicationEventKind::OperationFailedReplication =>
        {
            Some(event)
        }
        _ => None,
    }
}

fn verdict_and_detail(
    input: &AuditInput<'_>,
    replica: Option<&ObjectFacts>,
    age: Option<Duration>,
    policy: &VerdictPolicy,
) -> (Verdict, Detail) {
    let facts = match input.source {
        Probe::Failed(error) => return (Verdict::Error, probe_error_detail(error, "source")),
        Probe::NotFound => {
            return (
                Verdict::SourceGone,
                Detail::new(
                    "The source object version no longer exists (deleted before the audit).",
                ),
            )
        }
        Probe::Found(facts) => facts,
    };

    let status = match &facts.replication_status {
        None => {
            if let Some(event) = failure_event(input.object) {
                return (Verdict::Failed, failed_detail(event.failure_reason.as_deref()));
            }
            return (Verdict::Unreplicated, unreplicated_detail(input.coverage));
        }
        Some(ReplicationStatus::Replica) => {
            return (
                Verdict::Unreplicated,
                Detail::new("The source object is itself a replica (status REPLICA); S3 does not replicate replicas onward unless replica modification sync is enabled."),
            )
        }
        Some(ReplicationStatus::Unknown(raw)) => {
            return (
                Verdict::Error,
                Detail::new(format!("S3 reported an unknown replication status {raw:?}; the auditor cannot judge it.")).fix("Check the object in the S3 console; report the status value to the auditor's maintainers."),
            )
        }
        Some(status) => status,
    };

    let Some(destination_bucket) = input.destination_bucket else {
        return (
            Verdict::Error,
            Detail::new(format!("The object has replication status {} but no destination bucket is known.", status.as_str()))
                .fix("Set AUDITOR_DESTINATION_BUCKET, or grant the auditor s3:GetReplicationConfiguration on the source bucket."),
        );
    };

    if let Some(replica) = replica {
        return compare_replica(facts, replica, destination_bucket);
    }

    let destination_error = match input.destination {
        Some(Probe::Failed(error)) => Some(error),
        _ => None,
    };
    let is_late = age.is_some_and(|age| age > policy.late_after);
    match status {
        _ if failure_event(input.object).is_some() => {
            let reason = failure_event(input.object).and_then(|e| e.failure_reason.as_deref());
            (Verdict::Failed, failed_detail(reason))
        }
        ReplicationStatus::Failed => (Verdict::Failed, failed_detail(None)),
        ReplicationStatus::Pending if is_late => (
            Verdict::Late,
            Detail::new(format!(
                "Still PENDING {} after it was written (SLA {}s).",
                human_age(age),
                policy.late_after.num_seconds()
            ))
            .fix(fix::LATE),
        ),
        ReplicationStatus::Pending => (
            Verdict::Pending,
            Detail::new(format!(
                "PENDING, written {} ago; within the SLA of {}s.",
                human_age(age),
                policy.late_after.num_seconds()
            )),
        ),
        _ if destination_error.is_some() => (
            Verdict::Error,
            probe_error_detail(destination_error.expect("checked above"), "destination"),
        ),
        ReplicationStatus::Completed if matches!(input.destination, Some(Probe::NotFound)) => (
            Verdict::Missing,
            Detail::new(format!(
                "The source says COMPLETED but {destination_bucket} has no such key/version."
            ))
            .fix(fix::MISSING),
        ),
        _ => (
            Verdict::Error,
            Detail::new("The destination was not checked, so the replica cannot be confirmed.")
                .fix("This is an auditor bug: please report it."),
        ),
    }
}

fn compare_replica(
    source: &ObjectFacts,
    replica: &ObjectFacts,
    destination_bucket: &str,
) -> (Verdict, Detail) {
    let mut differences = Vec::new();
    if let (Some(s), Some(r)) = (&source.version_id, &replica.version_id) {
        if s != r {
            differences.push(format!("version id {s} vs {r}"));
        }
    }
    if let (Some(s), Some(r)) = (source.size, replica.size) {
        if s != r {
            differences.push(format!("size {s} vs {r} bytes"));
        }
    }
    let etag_differs = matches!((&source.etag, &replica.etag), (Some(s), Some(r)) if s != r);
    let kms = source.kms_encrypted || replica.kms_encrypted;
    if etag_differs && !kms {
        differences.push(format!(
            "ETag {} vs {}",
            source.etag.as_deref().unwrap_or_default(),
            replica.etag.as_deref().unwrap_or_default()
        ));
    }
    if !differences.is_empty() {
        return (
            Verdict::Mismatch,
            Detail::new(format!(
                "The replica in {destination_bucket} differs: {}.",
                differences.join("; ")
            ))
            .fix(fix::MISMATCH),
        );
    }
    let mut reason =
        format!("Replica present in {destination_bucket} with the same version id and size.");
    if etag_differs {
        reason.push_str(" ETags differ, which is expected under SSE-KMS.");
    }
    (Verdict::Replicated, Detail::new(reason))
}

fn failed_detail(failure_reason: Option<&str>) -> Detail {
    match failure_reason {
        Some(code) => {
            let mut detail = Detail::new(format!("S3 failed to replicate the object: {code}."));
            detail.remediation = Some(
                fix::for_failure_reason(code)
                    .unwrap_or(fix::FAILED_WITHOUT_REASON)
                    .to_string(),
            );
            detail.failure_reason = Some(code.to_string());
            detail
        }
        None => Detail::new("S3 marked the object's replication FAILED.")
            .fix(fix::FAILED_WITHOUT_REASON),
    }
}

fn unreplicated_detail(coverage: RuleCoverage) -> Detail {
    match coverage {
        RuleCoverage::Covered => Detail::new("The object has no replication status although a rule covers its key.").fix(fix::UNREPLICATED_COVERED),
        RuleCoverage::NotCovered => Detail::new("The object has no replication status: no enabled rule covers its key.").fix(fix::UNREPLICATED_NOT_COVERED),
        RuleCoverage::NoConfiguration => Detail::new("The source bucket has no replication configuration.")
            .fix("Add a replication configuration to the source bucket (see the README's deploy section)."),
        RuleCoverage::Unknown => Detail::new("The object has no replication status: S3 will not replicate it.")
            .fix("Check the replication rule's filter and status, and whether the object predates the rule (then use S3 Batch Replication)."),
    }
}

fn probe_error_detail(error: &ProbeError, side: &str) -> Detail {
    let remediation = match (error.kind, side) {
        (ProbeErrorKind::AccessDenied, "destination") => fix::DENIED_DESTINATION,
        (ProbeErrorKind::AccessDenied, _) => fix::DENIED_SOURCE,
        (ProbeErrorKind::Credentials, _) => fix::CREDENTIALS,
        (ProbeErrorKind::Throttled, _) => fix::THROTTLED,
        (ProbeErrorKind::Transient, _) => fix::TRANSIENT,
        (ProbeErrorKind::Other, _) => "Check the auditor's configuration and permissions; the error text says what S3 answered.",
    };
    let mut detail = Detail::new(format!("Could not check the {side}: {error}.")).fix(remediation);
    detail.cause = Some(error.kind);
    detail
}

fn human_age(age: Option<Duration>) -> String {
    match age {
        Some(age) if age.num_seconds() >= 120 => {
            format!("{}m{}s", age.num_minutes(), age.num_seconds() % 60)
        }
        Some(age) => format!("{}s", age.num_seconds()),
        None => "an unknown time".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
    }

    fn object() -> ObjectRef {
        ObjectRef::new("src", "photos/a b.png", Some("v1".into()))
    }

    fn source(status: Option<&str>, age_secs: i64) -> Probe {
        Probe::Found(ObjectFacts {
            version_id: Some("v1".into()),
            replication_status: status.map(ReplicationStatus::parse),
            size: Some(10),
            etag: Some("\"e\"".into()),
            last_modified: Some(now() - Duration::seconds(age_secs)),
            kms_encrypted: false,
        })
    }

    fn replica() -> ObjectFacts {
        ObjectFacts {
            version_id: Some("v1".into()),
            replication_status: Some(ReplicationStatus::Replica),
            size: Some(10),
            etag: Some("\"e\"".into()),
            last_modified: Some(now() - Duration::seconds(5)),
            kms_encrypted: false,
        }
    }

    fn error(kind: ProbeErrorKind) -> Probe {
        Probe::Failed(ProbeError {
            kind,
            operation: "HeadObject",
            message: "boom".into(),
        })
    }

    /// GIVEN a source probe and a destination probe WHEN deciding THEN the verdict.
    fn verdict_of(object: &ObjectRef, source: Probe, destination: Option<Probe>) -> Finding {
        let input = AuditInput {
            object,
            source: &source,
            destination_bucket: Some("dst"),
            destination: destination.as_ref(),
            coverage: RuleCoverage::Covered,
            now: now(),
        };
        decide(&input, &VerdictPolicy::default())
    }

    #[test]
    fn completed_with_identical_replica_is_replicated_with_lag() {
        let finding = verdict_of(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(Probe::Found(replica())),
        );
        assert_eq!(finding.verdict, Verdict::Replicated);
        assert!(!finding.alarming);
        assert_eq!(finding.lag_seconds, Some(25.0));
    }

    #[test]
    fn complete_spelling_is_accepted() {
        let finding = verdict_of(
            &object(),
            source(Some("COMPLETE"), 30),
            Some(Probe::Found(replica())),
        );
        assert_eq!(finding.verdict, Verdict::Replicated);
        assert_eq!(finding.source_status.as_deref(), Some("COMPLETED"));
    }

    #[test]
    fn completed_without_replica_is_missing() {
        let finding = verdict_of(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(Probe::NotFound),
        );
        assert_eq!(finding.verdict, Verdict::Missing);
        assert!(finding.alarming);
    }

    #[test]
    fn forbidden_destination_is_an_error_never_missing() {
        let finding = verdict_of(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(error(ProbeErrorKind::AccessDenied)),
        );
        assert_eq!(finding.verdict, Verdict::Error);
        assert!(finding
            .detail
            .remediation
            .unwrap()
            .contains("s3:ListBucket"));
    }

    #[test]
    fn young_pending_is_pending_old_pending_is_late() {
        assert_eq!(
            verdict_of(
                &object(),
                source(Some("PENDING"), 60),
                Some(Probe::NotFound)
            )
            .verdict,
            Verdict::Pending
        );
        let late = verdict_of(
            &object(),
            source(Some("PENDING"), 901),
            Some(Probe::NotFound),
        );
        assert_eq!(late.verdict, Verdict::Late);
        assert!(late.alarming);
    }

    #[test]
    fn pending_with_replica_already_there_is_replicated_for_that_destination() {
        let finding = verdict_of(
            &object(),
            source(Some("PENDING"), 60),
            Some(Probe::Found(replica())),
        );
        assert_eq!(finding.verdict, Verdict::Replicated);
    }

    #[test]
    fn failed_status_is_failed_with_generic_hint() {
        let finding = verdict_of(&object(), source(Some("FAILED"), 60), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Failed);
        assert!(finding.detail.failure_reason.is_none());
    }

    #[test]
    fn failure_event_carries_s3s_reason_and_a_specific_hint() {
        let mut object = object();
        object.origin = Origin::Replication(ReplicationEvent {
            kind: ReplicationEventKind::OperationFailedReplication,
            failure_reason: Some("DstPutObjectNotPermitted".into()),
            destination_bucket: Some("dst".into()),
            rule_id: None,
        });
        let finding = verdict_of(&object, source(Some("FAILED"), 60), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Failed);
        assert_eq!(
            finding.detail.failure_reason.as_deref(),
            Some("DstPutObjectNotPermitted")
        );
        assert!(finding.detail.remediation.unwrap().contains("account's id"));
    }

    #[test]
    fn differing_size_or_version_is_mismatch() {
        let mut other = replica();
        other.size = Some(11);
        let finding = verdict_of(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(Probe::Found(other)),
        );
        assert_eq!(finding.verdict, Verdict::Mismatch);
        assert!(finding.detail.reason.contains("size 10 vs 11"));
    }

    #[test]
    fn etag_difference_is_benign_under_kms_but_mismatch_otherwise() {
        let mut other = replica();
        other.etag = Some("\"x\"".into());
        let plain = verdict_of(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(Probe::Found(other.clone())),
        );
        assert_eq!(plain.verdict, Verdict::Mismatch);
        other.kms_encrypted = true;
        let kms = verdict_of(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(Probe::Found(other)),
        );
        assert_eq!(kms.verdict, Verdict::Replicated);
        assert!(kms.detail.reason.contains("SSE-KMS"));
    }

    #[test]
    fn no_status_is_unreplicated_and_configurably_alarming() {
        let finding = verdict_of(&object(), source(None, 30), None);
        assert_eq!(finding.verdict, Verdict::Unreplicated);
        assert!(finding.alarming);
        let input = AuditInput {
            object: &object(),
            source: &source(None, 30),
            destination_bucket: None,
            destination: None,
            coverage: RuleCoverage::NotCovered,
            now: now(),
        };
        let quiet = decide(
            &input,
            &VerdictPolicy {
                alarm_on_unreplicated: false,
                ..VerdictPolicy::default()
            },
        );
        assert!(!quiet.alarming);
        assert!(quiet.detail.reason.contains("no enabled rule"));
    }

    #[test]
    fn deleted_source_is_source_gone_and_quiet() {
        let finding = verdict_of(&object(), Probe::NotFound, None);
        assert_eq!(finding.verdict, Verdict::SourceGone);
        assert!(!finding.alarming);
    }

    #[test]
    fn source_probe_errors_are_errors_with_the_kind_in_the_hint() {
        let throttled = verdict_of(&object(), error(ProbeErrorKind::Throttled), None);
        assert_eq!(throttled.verdict, Verdict::Error);
        assert!(throttled.detail.remediation.unwrap().contains("retried"));
    }

    #[test]
    fn unknown_status_is_kept_visible_as_an_error() {
        let finding = verdict_of(&object(), source(Some("WEIRD"), 30), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Error);
        assert_eq!(finding.source_status.as_deref(), Some("WEIRD"));
    }

    #[test]
    fn completed_with_failing_destination_probe_is_an_error() {
        let finding = verdict_of(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(error(ProbeErrorKind::Credentials)),
        );
        assert_eq!(finding.verdict, Verdict::Error);
        assert!(finding
            .detail
            .remediation
            .unwrap()
            .contains("AUDITOR_EXTERNAL_ID"));
    }

    #[test]
    fn status_without_known_destination_is_an_error() {
        let input = AuditInput {
            object: &object(),
            source: &source(Some("COMPLETED"), 30),
            destination_bucket: None,
            destination: None,
            coverage: RuleCoverage::Unknown,
            now: now(),
        };
        assert_eq!(
            decide(&input, &VerdictPolicy::default()).verdict,
            Verdict::Error
        );
    }
}
