//! Each joined row judged by the auditor's decision table ([`crate::audit::decide`]) as if
//! the two HEADs had answered what the inventories say; counts, findings and re-drive lines
//! per worker ([`Tally`]).

use super::error::ReconcileError;
use super::manifest::Row;
use super::outcome::MAX_REPORTED_FINDINGS;
use super::settings::{Rules, Settings};
use crate::audit::rules::Destination;
use crate::audit::rules::RuleCoverage;
use crate::audit::verdict::AuditInput;
use crate::audit::{
    decide, Finding, ObjectFacts, ObjectRef, Origin, Probe, ReplicationStatus, Verdict,
};
use crate::event::keys::encode_event_key;
use chrono::{DateTime, Utc};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Mutex;

/// What every worker judges against (shared, read-only but for the re-drive manifest).
pub(super) struct Context<'a> {
    pub(super) settings: &'a Settings,
    pub(super) rules: &'a Rules,
    pub(super) source_bucket: String,
    pub(super) destination: Destination,
    pub(super) now: DateTime<Utc>,
    /// The re-drive manifest and the lines written to it.
    pub(super) redrive: Option<&'a Mutex<(BufWriter<File>, u64)>>,
    /// The reports list versions: every re-drive line then names one (`null` for the null
    /// version), as S3 Batch Operations wants a version on all lines or none.
    pub(super) versioned: bool,
}

/// One worker's verdicts; merged when every worker is done.
#[derive(Default)]
pub(super) struct Tally {
    /// Per verdict, in the order of [`Verdict::ALL`].
    pub(super) counts: [u64; Verdict::ALL.len()],
    /// Source rows whose status is REPLICA (all of them: the manifests are swapped).
    pub(super) source_replicas: u64,
    pub(super) findings: Vec<Finding>,
    pub(super) truncated: bool,
    pub(super) alarming: u64,
    pub(super) destination_only: u64,
}

impl Context<'_> {
    pub(super) fn coverage(&self, row: &Row) -> RuleCoverage {
        self.rules
            .coverage_of(&row.key, row.is_delete_marker, &self.destination.bucket)
    }

    pub(super) fn object(&self, row: &Row) -> ObjectRef {
        ObjectRef {
            bucket: self.source_bucket.clone(),
            key: row.key.clone(),
            version_id: Some(row.version_id.clone()).filter(|v| !v.is_empty()),
            // A delete marker's age counts from when it was written, as an event's would.
            event_time: row.last_modified,
            origin: Origin::Manual,
            events: Vec::new(),
        }
    }

    /// Judges one source row by the replica the destination inventory has for it.
    pub(super) fn source(
        &self,
        tally: &mut Tally,
        row: &Row,
        replica: Option<&Row>,
    ) -> Result<(), ReconcileError> {
        let object = self.object(row);
        let source = probe_of(row);
        if is_replica_status(&row.replication_status) {
            tally.source_replicas += 1;
        }
        let replica = replica.map_or(Probe::NotFound, probe_of);
        let coverage = self.coverage(row);
        // A delete marker no rule replicates here has no destination or replica to be judged by
        // (as the handler decides from the rules); a replica of it, if any, still says replicated.
        let unreplicated_marker = row.is_delete_marker
            && replica == Probe::NotFound
            && matches!(
                coverage,
                RuleCoverage::NotCovered | RuleCoverage::NoConfiguration
            );
        let input = AuditInput {
            destination: (!unreplicated_marker).then_some(&self.destination),
            replica: (!unreplicated_marker).then_some(&replica),
            ..AuditInput::of(&object, &source, coverage, self.now)
        };
        self.record(tally, decide(&input, &self.settings.policy))
    }

    /// A destination row no source row names: a replica (or replicated delete marker) whose
    /// source version is gone; any other row was written to the destination directly.
    pub(super) fn orphan(&self, tally: &mut Tally, row: &Row) -> Result<(), ReconcileError> {
        let is_replica = is_replica_status(&row.replication_status);
        if !is_replica && !row.is_delete_marker {
            tally.destination_only += 1;
            return Ok(());
        }
        let object = self.object(row);
        let input = AuditInput {
            destination: Some(&self.destination),
            ..AuditInput::of(&object, &Probe::NotFound, RuleCoverage::Unknown, self.now)
        };
        self.record(tally, decide(&input, &self.settings.policy))
    }

    /// A source row the destination has a row for (same key and version id), judged without
    /// building its [`Finding`]: [`decide`] finds every such row `replicated` and quiet
    /// (row 1 of the table: the version is in the destination; no event, failure, tag
    /// comparison or current-version HEAD comes from an inventory, and coverage is not asked
    /// once the replica is there), so nothing is reported or re-driven. The unit test
    /// `a_matched_row_is_judged_as_decide_judges_it` holds this to [`Self::source`] on every
    /// kind of row.
    pub(super) fn matched(&self, tally: &mut Tally, source_status: &str) {
        if is_replica_status(source_status) {
            tally.source_replicas += 1;
        }
        tally.counts[verdict_slot(Verdict::Replicated)] += 1;
    }

    pub(super) fn record(&self, tally: &mut Tally, finding: Finding) -> Result<(), ReconcileError> {
        tally.counts[verdict_slot(finding.verdict)] += 1;
        if needs_redrive(&finding) {
            if let Some(redrive) = &self.redrive {
                let mut line = format!(
                    "{},{}",
                    finding.source_bucket,
                    encode_event_key(&finding.key)
                );
                match finding.version_id.as_deref() {
                    Some(version) => {
                        line.push(',');
                        line.push_str(version);
                    }
                    None if self.versioned => line.push_str(",null"),
                    None => {}
                }
                line.push('\n');
                let mut redrive = redrive.lock().unwrap_or_else(|e| e.into_inner());
                redrive
                    .0
                    .write_all(line.as_bytes())
                    .map_err(|source| ReconcileError::Redrive {
                        path: redrive_path(self.settings),
                        source,
                    })?;
                redrive.1 += 1;
            }
        }
        if finding.alarming {
            tally.alarming += 1;
            if tally.findings.len() < MAX_REPORTED_FINDINGS {
                tally.findings.push(finding);
            } else {
                tally.truncated = true;
            }
        }
        Ok(())
    }
}

impl Tally {
    pub(super) fn merge(mut self, other: Tally) -> Tally {
        for (count, other) in self.counts.iter_mut().zip(other.counts) {
            *count += other;
        }
        self.findings.extend(other.findings);
        self.truncated |= other.truncated;
        self.alarming += other.alarming;
        self.destination_only += other.destination_only;
        self.source_replicas += other.source_replicas;
        self
    }
}

/// Where `verdict` is counted in [`Tally::counts`].
pub(super) fn verdict_slot(verdict: Verdict) -> usize {
    Verdict::ALL
        .iter()
        .position(|v| *v == verdict)
        .unwrap_or(Verdict::ALL.len() - 1)
}

/// `ReplicationStatus::parse(status) == ReplicationStatus::Replica`, without its allocation.
pub(super) fn is_replica_status(status: &str) -> bool {
    status.trim().eq_ignore_ascii_case("REPLICA")
}

pub(super) fn redrive_path(settings: &Settings) -> String {
    settings
        .redrive
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// What S3 Batch Replication can fix: versions that should be in the destination and are not.
pub(super) fn needs_redrive(finding: &Finding) -> bool {
    finding.alarming
        && matches!(
            finding.verdict,
            Verdict::Missing | Verdict::Failed | Verdict::Late | Verdict::Unreplicated
        )
}

/// What a HEAD of this version would have answered, per the inventory row.
pub(super) fn probe_of(row: &Row) -> Probe {
    let version_id = Some(row.version_id.clone()).filter(|v| !v.is_empty());
    if row.is_delete_marker {
        return Probe::DeleteMarker(version_id);
    }
    Probe::Found(ObjectFacts {
        version_id,
        replication_status: Some(row.replication_status.as_str())
            .filter(|s| !s.is_empty())
            .map(ReplicationStatus::parse),
        size: row.size,
        etag: Some(row.etag.clone()).filter(|e| !e.is_empty()),
        last_modified: row.last_modified,
        ..ObjectFacts::default()
    })
}
