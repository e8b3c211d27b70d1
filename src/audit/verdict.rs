//! The verdict rules as one pure function: the decision table of `docs/verdicts.md`.
//!
//! One call decides one (object version, destination). The rows of [`TABLE`] are tried in
//! order, first match wins; each row is one line of the table in the docs (its number kept).

use super::failure_codes::{self, FailureCode, Subject};
use super::model::*;
use super::remediation as fix;
use super::rules::{ArchiveClass, Destination, Ineligibility, RuleCoverage};
use chrono::{DateTime, Duration, Utc};

/// Settings that change verdicts (from `Config`).
#[derive(Debug, Clone)]
pub struct VerdictPolicy {
    /// Age after which a PENDING (or not yet replicated) object is `late`.
    pub late_after: Duration,
    /// Whether `unreplicated` counts as alarming for keys no rule covers.
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

/// Everything one verdict depends on.
#[derive(Debug, Clone)]
pub struct AuditInput<'a> {
    pub object: &'a ObjectRef,
    pub source: &'a Probe,
    pub destination: Option<&'a Destination>,
    /// HEAD of the version in the destination; `None` when it was not asked.
    pub replica: Option<&'a Probe>,
    /// HEAD of the destination's current version (only `check` asks): a replica hidden by a
    /// newer version or a delete marker there is a `mismatch`.
    pub current: Option<&'a Probe>,
    /// HEAD of the source's current version, when `check` named an older version: then the
    /// destination's current version must be the source's current one, not the checked one.
    pub source_current: Option<&'a Probe>,
    /// After a tag change: whether the replica carries the source's tag set (or why that
    /// could not be read); `None` when not compared.
    pub tags_in_sync: Option<&'a Result<bool, ProbeError>>,
    /// A manual audit's source version is not there: why (`None` for S3 events).
    pub absence: Option<&'a Absence>,
    pub coverage: RuleCoverage,
    pub now: DateTime<Utc>,
}

impl<'a> AuditInput<'a> {
    /// What is known of a version before any destination is asked: set the destination's
    /// answers with struct update syntax (`AuditInput { replica: …, ..AuditInput::of(…) }`).
    pub fn of(
        object: &'a ObjectRef,
        source: &'a Probe,
        coverage: RuleCoverage,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            object,
            source,
            destination: None,
            replica: None,
            current: None,
            source_current: None,
            tags_in_sync: None,
            absence: None,
            coverage,
            now,
        }
    }
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
    let (verdict, detail) = verdict_and_detail(input, age, policy);
    let alarming = match verdict {
        Verdict::Replicated
        | Verdict::Pending
        | Verdict::Replica
        | Verdict::SourceGone
        | Verdict::Unverifiable
        | Verdict::NotFound => false,
        Verdict::Unreplicated => match input.coverage {
            // A rule says the team wants the object replicated, and S3 will not replicate it.
            RuleCoverage::Covered | RuleCoverage::Ineligible(_) => true,
            RuleCoverage::ExcludedByTags => false,
            _ => policy.alarm_on_unreplicated,
        },
        _ => true,
    };
    let destination_bucket = input.destination.map(|d| d.bucket.clone());
    let lag = destination_bucket.as_deref().and_then(|bucket| {
        let event = input.object.event_for(
            ReplicationEventKind::OperationReplicatedAfterThreshold,
            bucket,
        )?;
        Some(seconds(event.replication_time? - event.request_time?))
    });
    Finding {
        source_bucket: input.object.bucket.clone(),
        key: input.object.key.clone(),
        version_id: facts
            .and_then(|f| f.version_id.clone())
            .or_else(|| input.object.version_id.clone()),
        destination_bucket,
        source_status: facts
            .and_then(|f| f.replication_status.as_ref())
            .map(|s| s.as_str().to_string()),
        verdict,
        alarming,
        delete_marker: is_delete_marker(input),
        detail,
        destination: match input.replica {
            Some(Probe::Found(replica)) => Some(replica.clone()),
            _ => None,
        },
        age_seconds: age.map(seconds),
        lag_seconds: lag,
    }
}

fn seconds(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

fn is_delete_marker(input: &AuditInput<'_>) -> bool {
    matches!(input.source, Probe::DeleteMarker(_))
        || matches!(input.replica, Some(Probe::DeleteMarker(_)))
        || input.object.is_delete_marker()
}

/// What the rows of [`TABLE`] look at, worked out once per decision.
struct Situation<'s> {
    input: &'s AuditInput<'s>,
    age: Option<Duration>,
    policy: &'s VerdictPolicy,
    destination: Option<&'s str>,
    /// S3's failure event for this destination (or naming none).
    failure: Option<&'s ReplicationEvent>,
    /// ... and it is a failure of the replica's metadata (tags, ACL, Object Lock).
    metadata_failure: bool,
    missed_threshold: bool,
    delete_marker: bool,
    status: Option<&'s ReplicationStatus>,
    /// Older than the SLA, or S3 said it missed the RTC threshold.
    late: bool,
    /// "object" or "delete marker".
    thing: &'static str,
}

impl<'s> Situation<'s> {
    fn new(input: &'s AuditInput<'s>, age: Option<Duration>, policy: &'s VerdictPolicy) -> Self {
        let destination = input.destination.map(|d| d.bucket.as_str());
        let failure = destination.and_then(|d| input.object.failure_for(d));
        let missed_threshold = destination.is_some_and(|d| {
            input
                .object
                .event_for(ReplicationEventKind::OperationMissedThreshold, d)
                .is_some()
        });
        let delete_marker = is_delete_marker(input);
        Self {
            input,
            age,
            policy,
            destination,
            failure,
            metadata_failure: failure.is_some_and(is_metadata_failure),
            missed_threshold,
            delete_marker,
            status: match input.source {
                Probe::Found(facts) => facts.replication_status.as_ref(),
                _ => None,
            },
            late: missed_threshold || age.is_some_and(|age| age > policy.late_after),
            thing: if delete_marker {
                "delete marker"
            } else {
                "object"
            },
        }
    }

    fn sla(&self) -> i64 {
        self.policy.late_after.num_seconds()
    }

    fn to(&self) -> &str {
        self.destination.unwrap_or_default()
    }

    fn source_marker(&self) -> bool {
        matches!(self.input.source, Probe::DeleteMarker(_))
    }

    fn source_gone(&self) -> bool {
        matches!(self.input.source, Probe::NotFound)
    }

    fn source_error(&self) -> Option<&'s ProbeError> {
        match self.input.source {
            Probe::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// The version's replica (an object) is in the destination.
    fn replica_object(&self) -> bool {
        matches!(self.input.replica, Some(Probe::Found(_)))
    }

    /// The version (object or delete marker) is in the destination.
    fn replica_present(&self) -> bool {
        matches!(
            self.input.replica,
            Some(Probe::Found(_) | Probe::DeleteMarker(_))
        )
    }

    fn replica_error(&self) -> Option<&'s ProbeError> {
        match self.input.replica {
            Some(Probe::Failed(error)) => Some(error),
            _ => None,
        }
    }

    fn tags_error(&self) -> Option<&'s ProbeError> {
        match self.input.tags_in_sync {
            Some(Err(error)) => Some(error),
            _ => None,
        }
    }

    fn status_is(&self, status: &ReplicationStatus) -> bool {
        self.status == Some(status)
    }
}

/// One row of the decision table: when it applies, and the verdict it earns.
struct Row {
    /// The row's number in `docs/verdicts.md` (a test holds the two to each other).
    #[cfg_attr(not(test), allow(dead_code))]
    row: &'static str,
    when: fn(&Situation<'_>) -> bool,
    then: fn(&Situation<'_>) -> (Verdict, Detail),
}

/// The decision table of `docs/verdicts.md`: tried in order, the first row that applies
/// decides. The last row applies to anything.
static TABLE: &[Row] = &[
    Row {
        row: "0",
        when: |s| s.replica_object() && s.metadata_failure,
        then: |s| {
            (
                Verdict::Failed,
                failed_detail(s.failure, s.delete_marker, s.destination),
            )
        },
    },
    Row {
        row: "0a",
        when: |s| s.replica_object() && s.tags_error().is_some() && !s.metadata_failure,
        then: |s| error_row(s.tags_error(), "tags of the source or the replica"),
    },
    Row {
        row: "0b",
        when: |s| s.replica_object() && matches!(s.input.tags_in_sync, Some(Ok(false))),
        then: tags_behind,
    },
    Row {
        row: "1",
        when: |s| s.replica_present(),
        then: in_destination,
    },
    Row {
        row: "2a",
        when: |s| s.source_gone() && s.failure.is_some(),
        then: |s| {
            (Verdict::SourceGone, Detail::new(format!(
            "S3 reported that it could not replicate this version ({}), and the version no longer exists in the source: it was deleted before replication completed.",
            s.failure.map(reason_text).unwrap_or_default()
        )))
        },
    },
    Row {
        row: "2",
        when: |s| s.failure.is_some(),
        then: |s| {
            (
                Verdict::Failed,
                failed_detail(s.failure, s.delete_marker, s.destination),
            )
        },
    },
    // (The source is only left unasked when row 1 applies.)
    Row {
        row: "-",
        when: |s| matches!(s.input.source, Probe::NotAsked),
        then: |_| {
            (
                Verdict::Error,
                Detail::new("The source was not checked, so the version cannot be judged.")
                    .fix("This is an auditor bug: please report it."),
            )
        },
    },
    Row {
        row: "4a",
        when: |s| s.input.absence.is_some(),
        then: |s| {
            (
                Verdict::NotFound,
                absence_detail(
                    s.input.object,
                    s.input.absence.unwrap_or(&Absence::NotExplained),
                ),
            )
        },
    },
    Row {
        row: "3a",
        when: |s| {
            s.source_error()
                .is_some_and(|e| e.kind == ProbeErrorKind::BadRequest)
        },
        then: |_| {
            (Verdict::Unverifiable, Detail::new("S3 answered 400 Bad Request to the HEAD of this version: it is encrypted with SSE-C (a customer-provided key), and S3 shows an SSE-C object's metadata only to a request carrying that key, which the auditor does not have (a malformed version id gets the same answer).")
            .fix(fix::UNVERIFIABLE_SSE_C))
        },
    },
    Row {
        row: "3",
        when: |s| s.source_error().is_some(),
        then: |s| error_row(s.source_error(), "source"),
    },
    Row {
        row: "4",
        when: |s| s.source_gone(),
        then: |_| {
            (
                Verdict::SourceGone,
                Detail::new(
                    "The source object version no longer exists (deleted before the audit).",
                ),
            )
        },
    },
    Row {
        row: "5",
        when: |s| s.source_marker() && s.input.replica.is_none(),
        then: |_| {
            (Verdict::SourceGone, Detail::new("This version is a delete marker, and no replication rule replicates delete markers (DeleteMarkerReplication) to a destination for it."))
        },
    },
    Row {
        row: "6",
        when: |s| s.source_marker() && s.replica_error().is_some(),
        then: |s| error_row(s.replica_error(), "destination"),
    },
    Row {
        row: "6",
        when: |s| s.source_marker() && s.late,
        then: |s| {
            (
                Verdict::Late,
                Detail::new(format!(
                    "The delete marker is not in {} {} after it was written (SLA {}s).",
                    s.to(),
                    human_age(s.age),
                    s.sla()
                ))
                .fix(fix::DELETE_MARKER_LATE),
            )
        },
    },
    Row {
        row: "6",
        when: |s| s.source_marker(),
        then: |s| {
            (
                Verdict::Pending,
                Detail::new(format!(
                    "The delete marker is not in {} yet; written {} ago, within the SLA of {}s.",
                    s.to(),
                    human_age(s.age),
                    s.sla()
                )),
            )
        },
    },
    // From here on the source version is an object (HEAD 200).
    Row {
        row: "7",
        when: |s| s.status.is_none(),
        then: |s| (Verdict::Unreplicated, unreplicated_detail(s.input.coverage)),
    },
    Row {
        row: "8",
        when: |s| s.status_is(&ReplicationStatus::Replica),
        then: |_| {
            (Verdict::Replica, Detail::new("This object is a replica that S3 replication wrote into the watched bucket (two-way replication, or a bucket that is both source and destination). Live replication never replicates a replica onward, so there is nothing to check."))
        },
    },
    // S3 replicates the version elsewhere, but not to this destination: the rule that sends it
    // here does not select SSE-KMS objects.
    Row {
        row: "8a",
        when: |s| matches!(s.input.coverage, RuleCoverage::Ineligible(_)),
        then: |s| (Verdict::Unreplicated, unreplicated_detail(s.input.coverage)),
    },
    Row {
        row: "9",
        when: |s| matches!(s.status, Some(ReplicationStatus::Unknown(_))),
        then: |s| {
            (Verdict::Error, Detail::new(format!(
            "S3 reported an unknown replication status {:?}; the auditor cannot judge it.",
            s.status.map(ReplicationStatus::as_str).unwrap_or_default()
        )).fix("Check the object in the S3 console; report the status value to the auditor's maintainers."))
        },
    },
    Row {
        row: "10",
        when: |s| s.destination.is_none(),
        then: |s| {
            (Verdict::Error, Detail::new(format!(
            "The object has replication status {} but no destination bucket is known.",
            s.status.map(ReplicationStatus::as_str).unwrap_or_default()
        )).fix("Set AUDITOR_DESTINATION_BUCKET, or grant the auditor s3:GetReplicationConfiguration on the source bucket."))
        },
    },
    // PENDING within the SLA: wait, whatever the destination answered.
    Row {
        row: "11",
        when: |s| s.status_is(&ReplicationStatus::Pending) && !s.late,
        then: |s| {
            (
                Verdict::Pending,
                Detail::new(format!(
                    "PENDING, written {} ago; within the SLA of {}s.",
                    human_age(s.age),
                    s.sla()
                )),
            )
        },
    },
    Row {
        row: "12",
        when: |s| s.replica_error().is_some(),
        then: |s| error_row(s.replica_error(), "destination"),
    },
    // FAILED (for at least one destination) and the version is not in this one.
    Row {
        row: "13",
        when: |s| s.status_is(&ReplicationStatus::Failed),
        then: |s| (Verdict::Failed, failed_detail(None, false, s.destination)),
    },
    Row {
        row: "14",
        when: |s| s.status_is(&ReplicationStatus::Pending),
        then: |s| {
            (Verdict::Late, Detail::new(if s.missed_threshold {
            format!("Still PENDING and S3 reported that it missed the replication time threshold ({}).", human_age(s.age))
        } else {
            format!("Still PENDING {} after it was written (SLA {}s).", human_age(s.age), s.sla())
        }).fix(fix::LATE))
        },
    },
    Row {
        row: "15",
        when: |s| {
            s.status_is(&ReplicationStatus::Completed)
                && matches!(s.input.replica, Some(Probe::NotFound))
        },
        then: |s| {
            (
                Verdict::Missing,
                Detail::new(format!(
                    "The source says COMPLETED but {} has no such key/version.",
                    s.to()
                ))
                .fix(fix::MISSING),
            )
        },
    },
    // COMPLETED and nothing was asked: cannot be confirmed (an auditor bug, as "-" above).
    Row {
        row: "-",
        when: |_| true,
        then: |_| {
            (
                Verdict::Error,
                Detail::new("The destination was not checked, so the replica cannot be confirmed.")
                    .fix("This is an auditor bug: please report it."),
            )
        },
    },
];

/// The decision: the first row of [`TABLE`] that applies.
fn verdict_and_detail(
    input: &AuditInput<'_>,
    age: Option<Duration>,
    policy: &VerdictPolicy,
) -> (Verdict, Detail) {
    let situation = Situation::new(input, age, policy);
    TABLE.iter().find(|row| (row.when)(&situation)).map_or_else(
        || {
            (
                Verdict::Error,
                Detail::new("No row of the decision table applies."),
            )
        },
        |row| (row.then)(&situation),
    )
}

/// Row 0b: the tags changed and the replica does not carry the new tag set yet. S3 replicates
/// tag changes after the object: pending within the SLA (counted from the change), late after.
fn tags_behind(s: &Situation<'_>) -> (Verdict, Detail) {
    let since = s.input.object.event_time.map(|t| s.input.now - t);
    if since.is_some_and(|since| since > s.policy.late_after) {
        (
            Verdict::Late,
            Detail::new(format!(
                "The object version is in {}, but its tags still differ from the source's {} after they changed (SLA {}s).",
                s.to(),
                human_age(since),
                s.sla()
            ))
            .fix(fix::TAGS_LATE),
        )
    } else {
        (
            Verdict::Pending,
            Detail::new(format!(
                "The object version is in {}, but its tags do not match the source's new tags yet (changed {} ago; S3 replicates tag changes after the object).",
                s.to(),
                human_age(since)
            )),
        )
    }
}

/// Row 1: the version is in the destination: replicated, whatever else was said about it —
/// unless `check` saw that the destination's current version hides it.
fn in_destination(s: &Situation<'_>) -> (Verdict, Detail) {
    let input = s.input;
    match hidden_by(
        input.current,
        expected_current(input.source_current).or(replica_version(input.replica)),
    ) {
        Some(hider) => (
            Verdict::Mismatch,
            Detail::new(format!(
                "The replica of this version is in {}, but {hider} is the destination's current version: readers of the destination see something else.",
                s.to()
            ))
            .fix(fix::MISMATCH),
        ),
        None => (
            Verdict::Replicated,
            Detail::new(format!(
                "The {} version is in {}.{}",
                s.thing,
                s.to(),
                match s.failure.and_then(documented_code) {
                    Some(row) => format!(" (S3 had reported {} for it; it replicated since.)", row.code),
                    None => String::new(),
                }
            )),
        ),
    }
}

/// An error row: what could not be read, and why.
fn error_row(error: Option<&ProbeError>, side: &str) -> (Verdict, Detail) {
    match error {
        Some(error) => (Verdict::Error, probe_error_detail(error, side)),
        None => (
            Verdict::Error,
            Detail::new(format!("The {side} could not be read.")),
        ),
    }
}

/// The version the destination's current version should be: the source's current one.
fn expected_current(source_current: Option<&Probe>) -> Option<&str> {
    match source_current? {
        Probe::Found(facts) => facts.version_id.as_deref(),
        Probe::DeleteMarker(version) => version.as_deref(),
        _ => None,
    }
}

/// What hides the version that should be current (`version`) in the destination, from a HEAD
/// of the destination's current version.
fn hidden_by(current: Option<&Probe>, version: Option<&str>) -> Option<String> {
    match current? {
        // The source's current version is this delete marker too: it replicated.
        Probe::DeleteMarker(marker) if marker.is_some() && marker.as_deref() == version => None,
        Probe::DeleteMarker(marker) => Some(format!(
            "a delete marker ({})",
            marker.as_deref().unwrap_or("no version id")
        )),
        Probe::Found(facts) if facts.version_id.as_deref() != version => Some(format!(
            "another version ({}) written in the destination",
            facts.version_id.as_deref().unwrap_or("null")
        )),
        _ => None,
    }
}

fn replica_version(replica: Option<&Probe>) -> Option<&str> {
    match replica? {
        Probe::Found(facts) => facts.version_id.as_deref(),
        Probe::DeleteMarker(version) => version.as_deref(),
        _ => None,
    }
}

fn documented_code(event: &ReplicationEvent) -> Option<&'static FailureCode> {
    event
        .failure_reason
        .as_deref()
        .and_then(failure_codes::lookup)
}

fn is_metadata_failure(event: &ReplicationEvent) -> bool {
    documented_code(event).is_some_and(|row| matches!(row.subject, Subject::Metadata(_)))
}

/// S3's reason as a person reads it: a documented code as is; anything else only as far as it
/// looks like a code (letters and digits, at most 64), so that no text from an event — which
/// anyone allowed to send to the queue can write — reaches a report or an alert.
fn reason_text(event: &ReplicationEvent) -> String {
    match (event.failure_reason.as_deref(), documented_code(event)) {
        (_, Some(row)) => row.code.to_string(),
        (Some(raw), None) => format!("unknown failure reason {:?}", sanitized_code(raw)),
        (None, None) => "no failure reason given".to_string(),
    }
}

fn sanitized_code(raw: &str) -> String {
    let mut code: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    if code.len() < raw.len() {
        code.push('…');
    }
    code
}

fn failed_detail(
    event: Option<&ReplicationEvent>,
    delete_marker: bool,
    destination: Option<&str>,
) -> Detail {
    let what = if delete_marker {
        "the delete marker"
    } else {
        "the object"
    };
    let to = destination.unwrap_or("the destination");
    match (event.and_then(documented_code), event) {
        (Some(row), _) => {
            let reason = match row.subject {
                Subject::Metadata(kind) => format!(
                    "The object version is in {to}, but S3 failed to replicate its {}: {} — {}",
                    kind.as_str(),
                    row.code,
                    row.meaning
                ),
                _ => format!(
                    "S3 failed to replicate {what} to {to}: {} — {}",
                    row.code, row.meaning
                ),
            };
            let mut detail =
                Detail::new(reason).fix(format!("{} {}", row.fix, row.redrive.as_str()));
            detail.failure_reason = Some(row.code.to_string());
            detail
        }
        (None, Some(event)) if event.failure_reason.is_some() => Detail::new(format!(
            "S3 reported that it failed to replicate {what} to {to}, with an {}.",
            reason_text(event)
        ))
        .fix(fix::FAILED_UNKNOWN_CODE),
        (None, Some(_)) => Detail::new(format!(
            "S3 reported that it failed to replicate {what} to {to}."
        ))
        .fix(fix::FAILED_WITHOUT_REASON),
        (None, None) => Detail::new(format!(
            "S3 marked the object's replication FAILED, and {to} has no replica of the version."
        ))
        .fix(fix::FAILED_WITHOUT_REASON),
    }
}

fn absence_detail(object: &ObjectRef, absence: &Absence) -> Detail {
    let (bucket, key) = (&object.bucket, &object.key);
    match absence {
        Absence::NoSuchBucket => Detail::new(format!("No such bucket: {bucket:?} does not exist (or is in a partition these credentials cannot see)."))
            .fix("Check the bucket name in the s3:// URL."),
        Absence::NoSuchVersion { current } => Detail::new(format!(
            "No such version: {key:?} exists in {bucket}, but not with version id {:?}{}.",
            object.version_id.as_deref().unwrap_or_default(),
            current.as_deref().map(|c| format!(" (its current version is {c:?})")).unwrap_or_default()
        ))
        .fix(format!("List the versions: aws s3api list-object-versions --bucket {bucket} --prefix {key:?}")),
        Absence::MalformedVersion { current } => Detail::new(format!(
            "No such version: S3 refused version id {:?} of {key:?} (400 Bad Request){}: the id is malformed — unless that version is encrypted with SSE-C, whose metadata S3 shows only with its key.",
            object.version_id.as_deref().unwrap_or_default(),
            current.as_deref().map(|c| format!("; the current version is {c:?}")).unwrap_or_default()
        ))
        .fix(format!("List the versions: aws s3api list-object-versions --bucket {bucket} --prefix {key:?}")),
        Absence::NoSuchKey { near } if near.is_empty() => Detail::new(format!("No such key: {bucket} has no object {key:?}."))
            .fix("Check the key: it is case-sensitive and taken as it is (not URL-encoded: a space is a space, not %20 or +)."),
        Absence::NoSuchKey { near } => Detail::new(format!(
            "No such key: {bucket} has no object {key:?}. Did you mean {}?",
            near.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(" or ")
        ))
        .fix("Check the key: it is case-sensitive and taken as it is (not URL-encoded)."),
        Absence::NotExplained => Detail::new(format!(
            "No such object version in {bucket}: {key:?}{} does not exist (never written, or deleted since it was named).",
            object.version_id.as_deref().map(|v| format!(" version {v:?}")).unwrap_or_default()
        )),
        Absence::Unknown(why) => Detail::new(format!("{bucket} has no object version {key:?} as named; looking for what was meant failed: {why}")),
    }
}

fn unreplicated_detail(coverage: RuleCoverage) -> Detail {
    match coverage {
        RuleCoverage::Covered => Detail::new("The object has no replication status although a rule covers it.").fix(fix::UNREPLICATED_COVERED),
        RuleCoverage::NotCovered => Detail::new("The object has no replication status: no enabled rule covers its key.").fix(fix::UNREPLICATED_NOT_COVERED),
        RuleCoverage::ExcludedByTags => Detail::new("The object has no replication status: the replication rule's tag filter leaves it out, as configured."),
        RuleCoverage::Ineligible(Ineligibility::KmsNotSelected) => Detail::new("The object is encrypted with SSE-KMS (or DSSE-KMS), and the rule that covers it does not select KMS-encrypted objects (SourceSelectionCriteria.SseKmsEncryptedObjects): S3 does not replicate it.").fix(fix::INELIGIBLE_KMS),
        RuleCoverage::Ineligible(Ineligibility::ArchiveStorageClass(class)) => Detail::new(format!("The object is stored in {}: a rule covers it, but S3 does not replicate objects in archive storage classes.", ArchiveClass::as_str(class))).fix(fix::INELIGIBLE_ARCHIVE),
        RuleCoverage::NoConfiguration => Detail::new("The source bucket has no replication configuration.")
            .fix("Add a replication configuration to the source bucket (docs/operations.md, \"Deploy\")."),
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
        (ProbeErrorKind::Unreachable, _) => fix::UNREACHABLE,
        (ProbeErrorKind::NoSuchBucket, _) => fix::NO_SUCH_BUCKET,
        (ProbeErrorKind::BadRequest, _) => fix::UNVERIFIABLE_SSE_C,
        (ProbeErrorKind::Other, _) => "Check the auditor's configuration and permissions; the error text says what S3 answered.",
    };
    let mut detail = Detail::new(format!("Could not check the {side}: {error}.")).fix(remediation);
    detail.cause = Some(error.kind);
    detail.request_id = error.request_id.clone();
    detail.extended_request_id = error.extended_request_id.clone();
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
    //! One test (at least) per row of the decision table: GIVEN what S3 showed, THEN the verdict.
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
    }

    #[test]
    fn every_row_of_the_table_is_a_row_of_the_docs_and_the_last_applies_to_anything() {
        let docs = include_str!("../../docs/verdicts.md");
        for row in TABLE.iter().filter(|row| row.row != "-") {
            assert!(
                docs.lines()
                    .any(|line| line.starts_with(&format!("| {} |", row.row))),
                "row {} of TABLE is not a row of docs/verdicts.md",
                row.row
            );
        }
        let object = object();
        let input = AuditInput::of(&object, &Probe::NotAsked, RuleCoverage::Unknown, now());
        let policy = VerdictPolicy::default();
        let last = TABLE.last().unwrap();
        assert!((last.when)(&Situation::new(&input, None, &policy)));
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
            ..ObjectFacts::default()
        })
    }

    fn replica() -> Probe {
        Probe::Found(ObjectFacts {
            version_id: Some("v1".into()),
            replication_status: Some(ReplicationStatus::Replica),
            size: Some(10),
            etag: Some("\"e\"".into()),
            last_modified: Some(now() - Duration::seconds(30)),
            kms_encrypted: false,
            ..ObjectFacts::default()
        })
    }

    fn error(kind: ProbeErrorKind) -> Probe {
        Probe::Failed(ProbeError {
            kind,
            operation: "HeadObject",
            message: "boom".into(),
            request_id: Some("REQ1".into()),
            extended_request_id: Some("HOST1".into()),
        })
    }

    fn event(
        kind: ReplicationEventKind,
        reason: Option<&str>,
        destination: &str,
    ) -> ReplicationEvent {
        ReplicationEvent {
            kind,
            failure_reason: reason.map(str::to_string),
            destination_bucket: Some(destination.into()),
            rule_id: None,
            operation: ReplicatedOperation::parse(Some("OBJECT_PUT"), reason),
            request_time: None,
            replication_time: None,
        }
    }

    fn failed_event(reason: &str, destination: &str) -> ReplicationEvent {
        event(
            ReplicationEventKind::OperationFailedReplication,
            Some(reason),
            destination,
        )
    }

    /// GIVEN a source probe and a replica probe for destination "dst" WHEN deciding THEN …
    fn verdict_of(object: &ObjectRef, source: Probe, replica: Option<Probe>) -> Finding {
        decide_with(object, source, replica, None, RuleCoverage::Covered)
    }

    fn decide_with(
        object: &ObjectRef,
        source: Probe,
        replica: Option<Probe>,
        current: Option<Probe>,
        coverage: RuleCoverage,
    ) -> Finding {
        let destination = Destination::new("dst", None);
        let input = AuditInput {
            object,
            source: &source,
            destination: Some(&destination),
            replica: replica.as_ref(),
            current: current.as_ref(),
            source_current: None,
            tags_in_sync: None,
            absence: None,
            coverage,
            now: now(),
        };
        decide(&input, &VerdictPolicy::default())
    }

    #[test]
    fn row1_version_in_the_destination_is_replicated_without_an_invented_lag() {
        let finding = verdict_of(&object(), source(Some("COMPLETED"), 30), Some(replica()));
        assert_eq!(finding.verdict, Verdict::Replicated);
        assert!(!finding.alarming);
        assert_eq!(
            finding.lag_seconds, None,
            "Last-Modified is kept by S3: no lag"
        );
    }

    #[test]
    fn row1_lag_comes_only_from_s3s_replication_time() {
        let mut object = object();
        let mut after = event(
            ReplicationEventKind::OperationReplicatedAfterThreshold,
            None,
            "dst",
        );
        after.request_time = Some(now() - Duration::seconds(1000));
        after.replication_time = Some(now() - Duration::seconds(40));
        object.events.push(after);
        let finding = verdict_of(&object, source(Some("COMPLETED"), 1000), Some(replica()));
        assert_eq!(finding.verdict, Verdict::Replicated);
        assert_eq!(finding.lag_seconds, Some(960.0));
    }

    #[test]
    fn row1_complete_spelling_is_accepted() {
        let finding = verdict_of(&object(), source(Some("COMPLETE"), 30), Some(replica()));
        assert_eq!(finding.verdict, Verdict::Replicated);
        assert_eq!(finding.source_status.as_deref(), Some("COMPLETED"));
    }

    #[test]
    fn row1_failed_aggregate_with_a_replica_here_is_replicated_for_this_destination() {
        let finding = verdict_of(&object(), source(Some("FAILED"), 60), Some(replica()));
        assert_eq!(finding.verdict, Verdict::Replicated);
    }

    #[test]
    fn row1_pending_with_replica_already_here_is_replicated_for_this_destination() {
        let finding = verdict_of(&object(), source(Some("PENDING"), 60), Some(replica()));
        assert_eq!(finding.verdict, Verdict::Replicated);
    }

    #[test]
    fn row1_a_replica_hidden_by_a_delete_marker_or_newer_version_is_a_mismatch() {
        let marker = decide_with(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(replica()),
            Some(Probe::DeleteMarker(Some("dm1".into()))),
            RuleCoverage::Covered,
        );
        assert_eq!(marker.verdict, Verdict::Mismatch);
        assert!(marker.detail.reason.contains("delete marker (dm1)"));
        let newer = ObjectFacts {
            version_id: Some("v9".into()),
            ..ObjectFacts::default()
        };
        let overwritten = decide_with(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(replica()),
            Some(Probe::Found(newer)),
            RuleCoverage::Covered,
        );
        assert_eq!(overwritten.verdict, Verdict::Mismatch);
        let current = decide_with(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(replica()),
            Some(replica()),
            RuleCoverage::Covered,
        );
        assert_eq!(current.verdict, Verdict::Replicated);
    }

    #[test]
    fn row1_an_older_version_checked_is_replicated_when_the_destination_shows_the_source_s_current()
    {
        let newer = |v: &str| {
            Probe::Found(ObjectFacts {
                version_id: Some(v.into()),
                ..ObjectFacts::default()
            })
        };
        let destination = Destination::new("dst", None);
        let judge = |destination_current: Probe, source_current: Probe| {
            let object = object();
            let source = source(Some("COMPLETED"), 30);
            let replica = replica();
            let input = AuditInput {
                object: &object,
                source: &source,
                destination: Some(&destination),
                replica: Some(&replica),
                current: Some(&destination_current),
                source_current: Some(&source_current),
                tags_in_sync: None,
                absence: None,
                coverage: RuleCoverage::Covered,
                now: now(),
            };
            decide(&input, &VerdictPolicy::default()).verdict
        };
        // v1 is checked; v2 is current in both buckets.
        assert_eq!(judge(newer("v2"), newer("v2")), Verdict::Replicated);
        // The destination's current is a version the source never had as current.
        assert_eq!(judge(newer("v9"), newer("v2")), Verdict::Mismatch);
        // Both sides show the same (replicated) delete marker as current.
        assert_eq!(
            judge(
                Probe::DeleteMarker(Some("dm".into())),
                Probe::DeleteMarker(Some("dm".into()))
            ),
            Verdict::Replicated
        );
        assert_eq!(
            judge(Probe::DeleteMarker(Some("dm".into())), newer("v2")),
            Verdict::Mismatch
        );
    }

    #[test]
    fn row2_failure_event_carries_s3s_reason_and_a_specific_hint() {
        let mut object = object();
        object
            .events
            .push(failed_event("DstPutObjectNotPermitted", "dst"));
        let finding = verdict_of(&object, source(Some("FAILED"), 60), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Failed);
        assert_eq!(
            finding.detail.failure_reason.as_deref(),
            Some("DstPutObjectNotPermitted")
        );
        assert!(finding.detail.remediation.unwrap().contains("account's id"));
    }

    #[test]
    fn row2_a_later_missed_threshold_event_does_not_erase_the_failure_reason() {
        let mut object = object();
        object
            .events
            .push(failed_event("DstPutObjectNotPermitted", "dst"));
        object.events.push(event(
            ReplicationEventKind::OperationMissedThreshold,
            None,
            "dst",
        ));
        let finding = verdict_of(&object, source(Some("FAILED"), 60), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Failed);
        assert_eq!(
            finding.detail.failure_reason.as_deref(),
            Some("DstPutObjectNotPermitted")
        );
    }

    #[test]
    fn row2_a_failure_event_for_another_destination_does_not_decide_this_one() {
        let mut object = object();
        object
            .events
            .push(failed_event("DstPutObjectNotPermitted", "other"));
        let finding = verdict_of(&object, source(Some("PENDING"), 60), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Pending);
    }

    #[test]
    fn row2_a_failure_event_decides_even_when_the_source_is_unreadable() {
        let mut object = object();
        object.events.push(failed_event("DstBucketNotFound", "dst"));
        assert_eq!(
            verdict_of(&object, error(ProbeErrorKind::Throttled), None).verdict,
            Verdict::Failed
        );
    }

    #[test]
    fn row2a_a_failure_for_a_source_version_deleted_since_is_source_gone_and_quiet() {
        // User guide: SrcKeyNotFound / SrcVersionNotFound — deleted before replication completed.
        for code in ["SrcVersionNotFound", "SrcKeyNotFound", "DstBucketNotFound"] {
            let mut object = object();
            object.events.push(failed_event(code, "dst"));
            let finding = verdict_of(&object, Probe::NotFound, Some(Probe::NotFound));
            assert_eq!(finding.verdict, Verdict::SourceGone, "{code}");
            assert!(!finding.alarming);
            assert!(finding.detail.reason.contains(code), "{code}");
        }
        // …but while the version exists, the event is believed.
        let mut object = object();
        object
            .events
            .push(failed_event("SrcVersionNotFound", "dst"));
        let finding = verdict_of(&object, source(Some("FAILED"), 60), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Failed);
    }

    #[test]
    fn row0_a_metadata_failure_with_the_replica_there_is_failed_naming_what_failed() {
        for (code, what) in [
            ("DstPutTaggingNotPermitted", "tags"),
            ("DstPutAclNotPermitted", "ACL"),
            ("DstPutRetentionNotPermitted", "Object Lock retention"),
            ("DstPutLegalHoldNotPermitted", "Object Lock legal hold"),
            ("SrcGetTaggingNotPermitted", "tags"),
            ("DstVersionNotFound", "metadata"),
        ] {
            let mut object = object();
            object.events.push(failed_event(code, "dst"));
            let finding = verdict_of(&object, Probe::NotAsked, Some(replica()));
            assert_eq!(finding.verdict, Verdict::Failed, "{code}");
            assert!(finding.alarming);
            assert_eq!(finding.detail.failure_reason.as_deref(), Some(code));
            assert!(
                finding.detail.reason.contains(&format!("its {what}")),
                "{}",
                finding.detail.reason
            );
            assert!(finding.destination.is_some(), "the replica is reported");
        }
    }

    #[test]
    fn row1_an_object_failure_healed_since_is_replicated_and_keeps_the_code_visible() {
        let mut object = object();
        object
            .events
            .push(failed_event("DstPutObjectNotPermitted", "dst"));
        let finding = verdict_of(&object, Probe::NotAsked, Some(replica()));
        assert_eq!(finding.verdict, Verdict::Replicated);
        assert!(finding.detail.reason.contains("DstPutObjectNotPermitted"));
    }

    #[test]
    fn row2_an_undocumented_reason_is_reported_as_unknown_and_never_copied_raw() {
        let mut object = object();
        let forged = format!("Visit https://evil.example/login now {}", "x".repeat(5000));
        object.events.push(failed_event(&forged, "dst"));
        let finding = verdict_of(&object, source(Some("PENDING"), 60), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Failed);
        assert_eq!(finding.detail.failure_reason, None);
        let text = format!(
            "{} {}",
            finding.detail.reason,
            finding.detail.remediation.as_deref().unwrap_or_default()
        );
        assert!(text.contains("unknown failure reason"));
        assert!(!text.contains("https://") && !text.contains("evil.example"));
        assert!(text.len() < 1000, "{} characters", text.len());
    }

    #[test]
    fn row2_every_documented_code_gets_its_own_fix_and_the_way_back() {
        for row in failure_codes::FAILURE_CODES {
            let mut object = object();
            object.events.push(failed_event(row.code, "dst"));
            let finding = verdict_of(&object, source(Some("FAILED"), 60), Some(Probe::NotFound));
            assert_eq!(finding.verdict, Verdict::Failed, "{}", row.code);
            let fix = finding.detail.remediation.unwrap();
            assert!(
                fix.contains(row.fix) && fix.contains(row.redrive.as_str()),
                "{}",
                row.code
            );
            assert_eq!(finding.detail.failure_reason.as_deref(), Some(row.code));
        }
    }

    #[test]
    fn row3a_an_sse_c_source_is_unverifiable_quiet_and_points_to_inventory() {
        let finding = verdict_of(
            &object(),
            error(ProbeErrorKind::BadRequest),
            Some(error(ProbeErrorKind::BadRequest)),
        );
        assert_eq!(finding.verdict, Verdict::Unverifiable);
        assert!(!finding.alarming);
        assert!(
            !finding.verdict.needs_retry(),
            "once: a retry cannot read it either"
        );
        assert!(finding.detail.reason.contains("SSE-C"));
        assert!(finding.detail.remediation.unwrap().contains("reconcile"));
    }

    #[test]
    fn row7_a_covered_but_ineligible_object_names_the_real_cause_and_alarms() {
        let kms = decide_with(
            &object(),
            source(None, 60),
            None,
            None,
            RuleCoverage::Ineligible(Ineligibility::KmsNotSelected),
        );
        assert_eq!((kms.verdict, kms.alarming), (Verdict::Unreplicated, true));
        let fix = kms.detail.remediation.unwrap();
        assert!(fix.contains("SseKmsEncryptedObjects") && fix.contains("ReplicaKmsKeyID"));
        let archived = decide_with(
            &object(),
            source(None, 60),
            None,
            None,
            RuleCoverage::Ineligible(Ineligibility::ArchiveStorageClass(
                ArchiveClass::DeepArchive,
            )),
        );
        assert_eq!(archived.verdict, Verdict::Unreplicated);
        assert!(archived.detail.reason.contains("DEEP_ARCHIVE"));
        assert!(!archived
            .detail
            .remediation
            .unwrap()
            .contains("Batch Replication"));
    }

    #[test]
    fn row8a_a_kms_object_replicating_elsewhere_is_unreplicated_for_the_unselecting_rule() {
        let finding = decide_with(
            &object(),
            source(Some("COMPLETED"), 60),
            None,
            None,
            RuleCoverage::Ineligible(Ineligibility::KmsNotSelected),
        );
        assert_eq!(
            (finding.verdict, finding.alarming),
            (Verdict::Unreplicated, true)
        );
    }

    #[test]
    fn row2_a_failed_delete_marker_is_reported_as_such_not_as_source_gone() {
        let mut object = object();
        let mut failure = failed_event("DstDelObjNotPermitted", "dst");
        failure.operation = ReplicatedOperation::parse(Some("DELETE_MARKER_PUT"), None);
        object.events.push(failure);
        let finding = verdict_of(
            &object,
            Probe::DeleteMarker(Some("v1".into())),
            Some(Probe::NotFound),
        );
        assert_eq!(finding.verdict, Verdict::Failed);
        assert!(finding.delete_marker);
        assert!(finding.detail.reason.contains("delete marker"));
        assert!(finding
            .detail
            .remediation
            .unwrap()
            .contains("s3:ReplicateDelete"));
    }

    #[test]
    fn delete_failure_reasons_mark_a_delete_marker_when_s3_operation_is_absent() {
        assert_eq!(
            ReplicatedOperation::parse(None, Some("DstDelObjNotPermitted")),
            ReplicatedOperation::DeleteMarker
        );
        assert_eq!(
            ReplicatedOperation::parse(Some("OBJECT_PUT"), Some("DstDelObjNotPermitted")),
            ReplicatedOperation::Object
        );
    }

    #[test]
    fn row3_source_probe_errors_are_errors_with_the_kind_and_request_ids() {
        let throttled = verdict_of(&object(), error(ProbeErrorKind::Throttled), None);
        assert_eq!(throttled.verdict, Verdict::Error);
        assert!(throttled
            .detail
            .remediation
            .unwrap()
            .contains("delivered again"));
        assert_eq!(throttled.detail.request_id.as_deref(), Some("REQ1"));
        assert_eq!(
            throttled.detail.extended_request_id.as_deref(),
            Some("HOST1")
        );
    }

    #[test]
    fn row4_deleted_source_is_source_gone_and_quiet() {
        let finding = verdict_of(&object(), Probe::NotFound, None);
        assert_eq!(finding.verdict, Verdict::SourceGone);
        assert!(!finding.alarming);
    }

    #[test]
    fn row5_a_delete_marker_no_rule_replicates_is_quiet() {
        let input_object = object();
        let source = Probe::DeleteMarker(Some("v1".into()));
        let input = AuditInput {
            object: &input_object,
            source: &source,
            destination: None,
            replica: None,
            current: None,
            source_current: None,
            tags_in_sync: None,
            absence: None,
            coverage: RuleCoverage::Covered,
            now: now(),
        };
        let finding = decide(&input, &VerdictPolicy::default());
        assert_eq!(finding.verdict, Verdict::SourceGone);
        assert!(finding.delete_marker && !finding.alarming);
    }

    #[test]
    fn row6_a_replicated_rule_s_delete_marker_missing_is_pending_then_late() {
        let mut young = object();
        young.event_time = Some(now() - Duration::seconds(10));
        let marker = Probe::DeleteMarker(Some("v1".into()));
        assert_eq!(
            verdict_of(&young, marker.clone(), Some(Probe::NotFound)).verdict,
            Verdict::Pending
        );
        let mut old = object();
        old.event_time = Some(now() - Duration::seconds(1000));
        assert_eq!(
            verdict_of(&old, marker.clone(), Some(Probe::NotFound)).verdict,
            Verdict::Late
        );
        assert_eq!(
            verdict_of(&old, marker, Some(Probe::DeleteMarker(Some("v1".into())))).verdict,
            Verdict::Replicated
        );
    }

    #[test]
    fn row7_no_status_is_unreplicated_alarming_by_coverage() {
        let covered = decide_with(
            &object(),
            source(None, 30),
            None,
            None,
            RuleCoverage::Covered,
        );
        assert_eq!(covered.verdict, Verdict::Unreplicated);
        assert!(
            covered.alarming,
            "a covering rule and no status: really broken"
        );
        let by_tags = decide_with(
            &object(),
            source(None, 30),
            None,
            None,
            RuleCoverage::ExcludedByTags,
        );
        assert!(
            !by_tags.alarming,
            "a tag filter leaving it out is the configuration"
        );
        assert!(by_tags.detail.reason.contains("tag filter"));
        let input_object = object();
        let no_status = source(None, 30);
        let input = AuditInput {
            object: &input_object,
            source: &no_status,
            destination: None,
            replica: None,
            current: None,
            source_current: None,
            tags_in_sync: None,
            absence: None,
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
        assert!(decide(&input, &VerdictPolicy::default()).alarming);
    }

    #[test]
    fn row8_a_replica_in_the_watched_bucket_is_quiet_and_says_why() {
        let finding = verdict_of(&object(), source(Some("REPLICA"), 30), None);
        assert_eq!(finding.verdict, Verdict::Replica);
        assert!(!finding.alarming);
        assert!(finding
            .detail
            .reason
            .contains("never replicates a replica onward"));
    }

    #[test]
    fn row9_unknown_status_is_kept_visible_as_an_error() {
        let finding = verdict_of(&object(), source(Some("WEIRD"), 30), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Error);
        assert_eq!(finding.source_status.as_deref(), Some("WEIRD"));
    }

    #[test]
    fn row10_status_without_known_destination_is_an_error() {
        let input_object = object();
        let completed = source(Some("COMPLETED"), 30);
        let input = AuditInput {
            object: &input_object,
            source: &completed,
            destination: None,
            replica: None,
            current: None,
            source_current: None,
            tags_in_sync: None,
            absence: None,
            coverage: RuleCoverage::Unknown,
            now: now(),
        };
        assert_eq!(
            decide(&input, &VerdictPolicy::default()).verdict,
            Verdict::Error
        );
    }

    #[test]
    fn rows11_14_young_pending_is_pending_old_pending_is_late() {
        let pending = verdict_of(
            &object(),
            source(Some("PENDING"), 60),
            Some(Probe::NotFound),
        );
        assert_eq!(pending.verdict, Verdict::Pending);
        let late = verdict_of(
            &object(),
            source(Some("PENDING"), 901),
            Some(Probe::NotFound),
        );
        assert_eq!(late.verdict, Verdict::Late);
        assert!(late.alarming);
    }

    #[test]
    fn row14_a_missed_threshold_event_makes_pending_late_at_once() {
        let mut object = object();
        object.events.push(event(
            ReplicationEventKind::OperationMissedThreshold,
            None,
            "dst",
        ));
        let finding = verdict_of(&object, source(Some("PENDING"), 60), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Late);
        assert!(finding.detail.reason.contains("threshold"));
    }

    #[test]
    fn row12_completed_with_failing_destination_probe_is_an_error() {
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
        let denied = verdict_of(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(error(ProbeErrorKind::AccessDenied)),
        );
        assert_eq!(denied.verdict, Verdict::Error, "403 is never missing");
        let no_bucket = verdict_of(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(error(ProbeErrorKind::NoSuchBucket)),
        );
        assert!(no_bucket
            .detail
            .remediation
            .unwrap()
            .contains("does not exist"));
    }

    #[test]
    fn row13_failed_status_without_replica_is_failed_with_generic_hint() {
        let finding = verdict_of(&object(), source(Some("FAILED"), 60), Some(Probe::NotFound));
        assert_eq!(finding.verdict, Verdict::Failed);
        assert!(finding.detail.failure_reason.is_none());
    }

    #[test]
    fn row15_completed_without_replica_is_missing() {
        let finding = verdict_of(
            &object(),
            source(Some("COMPLETED"), 30),
            Some(Probe::NotFound),
        );
        assert_eq!(finding.verdict, Verdict::Missing);
        assert!(finding.alarming);
    }
}
