//! One object version audited: the cheapest proof first (the replicas HEADed before the source
//! when the event names the version), then the source, the rules' plan of where the version
//! should be, and one [`decide`] per destination.

use super::auditor::{Auditor, CachedRules, RULES_CACHE_TTL};
use crate::audit::rules::RuleCoverage;
use crate::audit::rules::{Destination, Ineligibility, ReplicationRules};
use crate::audit::verdict::AuditInput;
use crate::audit::{
    decide, Absence, Detail, Finding, ObjectRef, Origin, Probe, ProbeError, ProbeErrorKind,
    ReplicationStatus, Verdict,
};
use crate::ports::{AlertPublisher, MetricsPublisher, ObjectProbe};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Where a version should be: the destinations to ask, what the rules say about it, and the
/// destinations whose rule covers it but to which S3 will not replicate it (and why).
pub(super) type Plan = (
    Vec<Destination>,
    RuleCoverage,
    Vec<(Destination, Ineligibility)>,
);

impl<P: ObjectProbe, M: MetricsPublisher, A: AlertPublisher> Auditor<P, M, A> {
    /// A version someone named (`check`, a manual payload, Batch Operations) that is not
    /// there is "not found" (and which part), not "deleted since": only an S3 event says the
    /// version existed.
    async fn named_but_absent(&self, object: &ObjectRef, source: &Probe) -> Option<Finding> {
        if object.origin != Origin::Manual || !object.events.is_empty() {
            return None;
        }
        match source {
            Probe::NotFound => Some(self.not_found(object, source).await),
            Probe::Failed(e) if e.kind == ProbeErrorKind::BadRequest => {
                self.malformed_version(object, source).await
            }
            _ => None,
        }
    }

    /// After a tag change, per destination whose replica is there: whether its tags are the
    /// source's (`None` where not compared).
    async fn tag_syncs(
        &self,
        object: &ObjectRef,
        destinations: &[Destination],
        probes: &[(Option<Probe>, Option<Probe>)],
        version: Option<&str>,
        tags: &ObjectTags,
    ) -> Vec<Option<Result<bool, ProbeError>>> {
        futures::future::join_all(destinations.iter().zip(probes).map(
            |(destination, (replica, _))| async move {
                match replica {
                    Some(replica) => {
                        self.tags_in_sync(object, destination, replica, version, tags)
                            .await
                    }
                    None => None,
                }
            },
        ))
        .await
    }

    /// One look at an object. The cheapest proof comes first: with the event's version id, the
    /// destinations are HEADed before the source, and a replica found in every one of them
    /// proves the replication (one HEAD per healthy object); the source is HEADed only when
    /// some replica is absent (PENDING, FAILED, no status, gone) — its answers are reused.
    pub(super) async fn audit_once(
        &self,
        object: &ObjectRef,
        invocation: &Invocation,
    ) -> Vec<Finding> {
        let tags = ObjectTags::new();
        let replicas = match self.fast_path(object, invocation, &tags).await {
            FastPath::Proven(findings) => return findings,
            FastPath::Replicas(replicas) => replicas,
        };
        let source = self.read_source(object).await;
        if let Some(finding) = self.named_but_absent(object, &source).await {
            return vec![finding];
        }
        let (destinations, coverage, ineligible) = match self.plan(object, &source, &tags).await {
            Ok(plan) => plan,
            Err(error) => return vec![rules_unreadable(object, &source, &error)],
        };
        let now = Utc::now();
        let judged = |destination, coverage| AuditInput {
            destination,
            ..AuditInput::of(object, &source, coverage, now)
        };
        // A destination S3 will not replicate this version to is judged without a HEAD there.
        let mut findings: Vec<Finding> = ineligible
            .iter()
            .map(|(d, why)| {
                decide(
                    &judged(Some(d), RuleCoverage::Ineligible(*why)),
                    &self.policy,
                )
            })
            .collect();
        if destinations.is_empty() {
            if findings.is_empty() {
                findings.push(decide(&judged(None, coverage), &self.policy));
            }
            return findings;
        }
        let version_id = match &source {
            Probe::Found(facts) => facts.version_id.clone(),
            Probe::DeleteMarker(version) => version.clone(),
            _ => None,
        }
        .or_else(|| object.version_id.clone());
        let known = (version_id == object.version_id).then_some(&replicas);
        let (probes, source_current) = futures::future::join(
            self.destination_probes(
                object,
                invocation,
                &source,
                &destinations,
                &version_id,
                known,
            ),
            self.source_current(object, &source),
        )
        .await;
        let syncs = self
            .tag_syncs(object, &destinations, &probes, version_id.as_deref(), &tags)
            .await;
        for ((destination, (replica, current)), sync) in
            destinations.iter().zip(&probes).zip(&syncs)
        {
            let input = AuditInput {
                replica: replica.as_ref(),
                current: current.as_ref(),
                source_current: source_current.as_ref(),
                tags_in_sync: sync.as_ref(),
                ..judged(Some(destination), coverage)
            };
            findings.push(decide(&input, &self.policy));
        }
        findings
    }

    /// With the event's version id: the replicas the rules point at, HEADed first. Found as
    /// REPLICA in every destination (and, after a tag change, carrying the source's tags),
    /// they prove the replication without a source HEAD.
    pub(super) async fn fast_path(
        &self,
        object: &ObjectRef,
        invocation: &Invocation,
        tags: &ObjectTags,
    ) -> FastPath {
        let Some(version_id) = object.version_id.as_deref() else {
            return FastPath::Replicas(HashMap::new());
        };
        let Ok((destinations, _, _)) = self.plan(object, &Probe::NotAsked, tags).await else {
            return FastPath::Replicas(HashMap::new());
        };
        let heads = destinations.iter().map(|destination| {
            invocation.head_destination(&self.probe, destination, &object.key, Some(version_id))
        });
        let found = futures::future::join_all(heads).await;
        // A replica proves replication only as a REPLICA: a copy with another status is the
        // original (this object is then itself the replica: two-way setups).
        let proven = !destinations.is_empty()
            && !self.config.verify_current_version
            && found.iter().all(|probe| match probe {
                Probe::Found(facts) => facts.replication_status == Some(ReplicationStatus::Replica),
                Probe::DeleteMarker(_) => true,
                _ => false,
            });
        if !proven {
            return FastPath::Replicas(
                destinations
                    .into_iter()
                    .map(|d| d.bucket)
                    .zip(found)
                    .collect(),
            );
        }
        let syncs = futures::future::join_all(destinations.iter().zip(&found).map(
            |(destination, replica)| {
                self.tags_in_sync(object, destination, replica, Some(version_id), tags)
            },
        ))
        .await;
        let now = Utc::now();
        let not_asked = Probe::NotAsked;
        FastPath::Proven(
            destinations
                .iter()
                .zip(&found)
                .zip(&syncs)
                .map(|((destination, replica), sync)| {
                    let input = AuditInput {
                        destination: Some(destination),
                        replica: Some(replica),
                        tags_in_sync: sync.as_ref(),
                        ..AuditInput::of(object, &not_asked, RuleCoverage::Covered, now)
                    };
                    decide(&input, &self.policy)
                })
                .collect(),
        )
    }

    /// HEAD of the source version.
    pub(super) async fn read_source(&self, object: &ObjectRef) -> Probe {
        self.probe
            .head_source(&object.bucket, &object.key, object.version_id.as_deref())
            .await
    }

    /// S3 answers a HEAD with a malformed version id 400, as it answers an SSE-C object
    /// without its key: for a person's `check`, a current version readable without a key makes
    /// the version id the likelier cause — said as such (`not_found`, naming both).
    pub(super) async fn malformed_version(
        &self,
        object: &ObjectRef,
        source: &Probe,
    ) -> Option<Finding> {
        if !self.config.explain_absence || object.version_id.is_none() {
            return None;
        }
        let current = match self
            .probe
            .head_source(&object.bucket, &object.key, None)
            .await
        {
            Probe::Found(facts) => facts.version_id,
            Probe::DeleteMarker(marker) => marker,
            _ => return None,
        };
        let absence = Absence::MalformedVersion { current };
        let input = AuditInput {
            absence: Some(&absence),
            ..AuditInput::of(object, source, RuleCoverage::Unknown, Utc::now())
        };
        Some(decide(&input, &self.policy))
    }

    /// The `not_found` finding for a version someone named: which part is missing, when a
    /// person asks (`check`).
    pub(super) async fn not_found(&self, object: &ObjectRef, source: &Probe) -> Finding {
        let absence = if self.config.explain_absence {
            self.probe
                .explain_absence(&object.bucket, &object.key, object.version_id.as_deref())
                .await
        } else {
            Absence::NotExplained
        };
        let input = AuditInput {
            absence: Some(&absence),
            ..AuditInput::of(object, source, RuleCoverage::Unknown, Utc::now())
        };
        decide(&input, &self.policy)
    }

    /// Per destination: the replica's HEAD (reused from the fast path when it asked for the
    /// same version) and, for `check`, the destination's current version. Only a version S3 is
    /// replicating (or did, or said it failed to) has a replica worth asking for.
    pub(super) async fn destination_probes(
        &self,
        object: &ObjectRef,
        invocation: &Invocation,
        source: &Probe,
        destinations: &[Destination],
        version_id: &Option<String>,
        known: Option<&HashMap<String, Probe>>,
    ) -> Vec<(Option<Probe>, Option<Probe>)> {
        let status = match source {
            Probe::Found(facts) => facts.replication_status.clone(),
            _ => None,
        };
        let replicating = matches!(
            status,
            Some(
                ReplicationStatus::Completed
                    | ReplicationStatus::Pending
                    | ReplicationStatus::Failed
            )
        ) || matches!(source, Probe::DeleteMarker(_));
        let checks = destinations.iter().map(|destination| async move {
            if !replicating && object.failure_for(&destination.bucket).is_none() {
                return (None, None);
            }
            let replica = match known.and_then(|k| k.get(&destination.bucket)) {
                Some(replica) => replica.clone(),
                None => {
                    let version = version_id.as_deref();
                    invocation
                        .head_destination(&self.probe, destination, &object.key, version)
                        .await
                }
            };
            let current =
                if self.config.verify_current_version && matches!(replica, Probe::Found(_)) {
                    Some(
                        invocation
                            .head_destination(&self.probe, destination, &object.key, None)
                            .await,
                    )
                } else {
                    None
                };
            (Some(replica), current)
        });
        futures::future::join_all(checks).await
    }

    /// `check --version-id` of an older version: what the destination should show as its
    /// current version is the source's current one (one more HEAD, for `check` only).
    pub(super) async fn source_current(&self, object: &ObjectRef, source: &Probe) -> Option<Probe> {
        match (source, object.version_id.as_deref()) {
            (Probe::Found(_), Some(_)) if self.config.verify_current_version => Some(
                self.probe
                    .head_source(&object.bucket, &object.key, None)
                    .await,
            ),
            _ => None,
        }
    }

    /// The source version's tags, read once per look at it (the first reader's version id).
    async fn object_tags<'t>(
        &self,
        object: &ObjectRef,
        version_id: Option<&str>,
        tags: &'t ObjectTags,
    ) -> &'t Result<Vec<(String, String)>, ProbeError> {
        tags.get_or_init(|| {
            self.probe
                .object_tags(&object.bucket, &object.key, version_id)
        })
        .await
    }

    /// Where the version should be, and what the rules say about it:
    /// 1. every destination S3's own replication events named (never overridden);
    /// 2. for a creation or manual audit, `AUDITOR_DESTINATION_BUCKET`, or else the destinations
    ///    the source bucket's rules send this version to — evaluated with the object's tags
    ///    when a rule filters on tags, and for a delete marker only under rules that replicate
    ///    delete markers. Accounts come from the rules' `Destination.Account`.
    ///
    /// `tags` keeps the object's tags between the two plans of one look (before and after the
    /// source HEAD), so GetObjectTagging is asked at most once.
    pub(super) async fn plan(
        &self,
        object: &ObjectRef,
        source: &Probe,
        tags: &ObjectTags,
    ) -> Result<Plan, ProbeError> {
        let mut destinations: Vec<Destination> = Vec::new();
        for event in &object.events {
            if let Some(bucket) = &event.destination_bucket {
                add_destination(&mut destinations, Destination::new(bucket, None));
            }
        }
        let (has_status, delete_marker) = match source {
            Probe::Found(facts) => (facts.replication_status.is_some(), false),
            Probe::DeleteMarker(_) => (false, true),
            // Planning before the source HEAD: where would a replicating version be?
            Probe::NotAsked => (true, object.is_delete_marker()),
            _ => (false, object.is_delete_marker()),
        };
        let needs_rules = object.origin != Origin::Replication || destinations.is_empty();
        if let (true, Some(bucket)) = (needs_rules, &self.config.destination_bucket) {
            add_destination(&mut destinations, Destination::new(bucket, None));
            return Ok((destinations, RuleCoverage::Unknown, Vec::new()));
        }
        let source_exists = matches!(
            source,
            Probe::Found(_) | Probe::DeleteMarker(_) | Probe::NotAsked
        );
        let rules = match self.rules(&object.bucket).await {
            Ok(rules) => rules,
            // The rules only add accounts and coverage here: judge without them.
            Err(_) if !needs_rules || !source_exists || !(has_status || delete_marker) => {
                return Ok((destinations, RuleCoverage::Unknown, Vec::new()))
            }
            Err(error) => return Err(error),
        };
        let Some(rules) = rules else {
            return Ok((destinations, RuleCoverage::NoConfiguration, Vec::new()));
        };
        for destination in &mut destinations {
            destination.account = rules.account_of(&destination.bucket);
        }
        if !needs_rules || !source_exists {
            return Ok((destinations, RuleCoverage::Covered, Vec::new()));
        }
        let tags = if delete_marker {
            Some(Vec::new())
        } else if rules.needs_tags(&object.key) {
            Some(
                self.object_tags(object, object.version_id.as_deref(), tags)
                    .await
                    .clone()?,
            )
        } else {
            None
        };
        let traits = eligibility_traits(source);
        let coverage = rules.coverage(&object.key, tags.as_deref(), delete_marker, traits.as_ref());
        let verdict_coverage = coverage.rule_coverage();
        for destination in coverage.destinations {
            add_destination(&mut destinations, destination);
        }
        // S3 named a destination in an event: it did try to replicate there.
        let ineligible = coverage
            .ineligible
            .into_iter()
            .filter(|(d, _)| !destinations.iter().any(|known| known.bucket == d.bucket))
            .collect();
        Ok((destinations, verdict_coverage, ineligible))
    }

    /// After a tag change: whether the replica carries the source version's tag set (`None`:
    /// not a tag change, or no replica to compare). S3 replicates tags after the object, so a
    /// replica with the old tags is metadata not (yet) replicated.
    pub(super) async fn tags_in_sync(
        &self,
        object: &ObjectRef,
        destination: &Destination,
        replica: &Probe,
        version_id: Option<&str>,
        tags: &ObjectTags,
    ) -> Option<Result<bool, ProbeError>> {
        if object.origin != Origin::TagsChanged || !matches!(replica, Probe::Found(_)) {
            return None;
        }
        let source = match self.object_tags(object, version_id, tags).await {
            Ok(source) => source,
            Err(error) => return Some(Err(error.clone())),
        };
        let replica = self
            .probe
            .replica_tags(destination, &object.key, version_id)
            .await;
        Some(replica.map(|replica| same_tag_set(source, &replica)))
    }

    pub(super) async fn rules(&self, bucket: &str) -> Result<Option<ReplicationRules>, ProbeError> {
        let mut cache = self.rules_cache.lock().await;
        if let Some(cached) = cache.get(bucket) {
            if cached.fetched.elapsed() < RULES_CACHE_TTL {
                return Ok(cached.rules.clone());
            }
        }
        let rules = self.probe.replication_rules(bucket).await?;
        cache.insert(
            bucket.to_string(),
            CachedRules {
                fetched: Instant::now(),
                rules: rules.clone(),
            },
        );
        Ok(rules)
    }
}

/// What the replicas HEADed first showed: the replication proven (the findings), or the
/// answers to reuse after the source HEAD.
pub(super) enum FastPath {
    Proven(Vec<Finding>),
    Replicas(HashMap<String, Probe>),
}

/// An object's tags, read once per look at it.
pub(super) type ObjectTags = tokio::sync::OnceCell<Result<Vec<(String, String)>, ProbeError>>;

/// What one invocation learns that its other audits should know.
#[derive(Default)]
pub(super) struct Invocation {
    /// Per destination account: whether a HEAD there has completed (the first runs alone).
    first_done: std::sync::Mutex<HashMap<Option<String>, Arc<Mutex<bool>>>>,
    /// Per destination account: the first failure to obtain the audit role's credentials.
    credentials: std::sync::Mutex<HashMap<Option<String>, ProbeError>>,
}

impl Invocation {
    /// HEADs a replica. The invocation's first HEAD in each destination account runs alone, so
    /// that if the audit role there cannot be assumed STS is asked once, not once per
    /// concurrent object (the SDK would); after a credentials failure the rest of the
    /// invocation reuses that error for that account.
    pub(super) async fn head_destination<P: ObjectProbe>(
        &self,
        probe: &P,
        destination: &Destination,
        key: &str,
        version_id: Option<&str>,
    ) -> Probe {
        let account = destination.account.clone();
        let gate = self
            .first_done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(account.clone())
            .or_default()
            .clone();
        let mut done = gate.lock().await;
        if !*done {
            let result = probe.head_destination(destination, key, version_id).await;
            self.note(&account, &result);
            *done = true;
            return result;
        }
        drop(done);
        if let Some(error) = self.failure_for(&account) {
            return Probe::Failed(error);
        }
        let result = probe.head_destination(destination, key, version_id).await;
        self.note(&account, &result);
        result
    }

    pub(super) fn failure_for(&self, account: &Option<String>) -> Option<ProbeError> {
        self.credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)
            .cloned()
    }

    /// The first credentials failure of the invocation, in any account.
    pub(super) fn credentials_failure(&self) -> Option<ProbeError> {
        self.credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .next()
            .cloned()
    }

    pub(super) fn note(&self, account: &Option<String>, probe: &Probe) {
        if let Probe::Failed(error) = probe {
            if error.kind == ProbeErrorKind::Credentials {
                self.credentials
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(account.clone())
                    .or_insert_with(|| error.clone());
            }
        }
    }
}

/// Tag sets are sets: S3 lists them in no promised order.
pub(super) fn same_tag_set(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

/// Adds a destination unless its bucket is already listed (then fills in a missing account).
pub(super) fn add_destination(destinations: &mut Vec<Destination>, destination: Destination) {
    match destinations
        .iter_mut()
        .find(|d| d.bucket == destination.bucket)
    {
        Some(existing) => {
            if existing.account.is_none() {
                existing.account = destination.account;
            }
        }
        None => destinations.push(destination),
    }
}

/// An object the invocation ran out of time for: an `error` (and, from SQS, a retry).
pub(super) fn not_audited(object: &ObjectRef) -> Finding {
    audit_error(
        object,
        None,
        Detail::new("Not audited: the Lambda deadline was reached first.")
            .fix("SQS delivers it again; if this repeats, raise the function timeout or lower the batch size."),
    )
}

pub(super) fn rules_unreadable(object: &ObjectRef, source: &Probe, error: &ProbeError) -> Finding {
    let status = match source {
        Probe::Found(facts) => facts
            .replication_status
            .as_ref()
            .map(|s| s.as_str().to_string()),
        _ => None,
    };
    let fix = if error.operation == "GetObjectTagging" {
        "A replication rule filters on tags, so the auditor reads the object's tags: grant it s3:GetObjectTagging and s3:GetObjectVersionTagging on the source bucket's objects."
    } else {
        "Grant the auditor s3:GetReplicationConfiguration on the source bucket, or set AUDITOR_DESTINATION_BUCKET."
    };
    audit_error(
        object,
        status,
        Detail::new(format!(
            "Could not learn where the object replicates to: {error}."
        ))
        .fix(fix),
    )
}

/// An `error` finding the handler itself decides (no destination was checked).
pub(super) fn audit_error(
    object: &ObjectRef,
    source_status: Option<String>,
    detail: Detail,
) -> Finding {
    Finding {
        source_bucket: object.bucket.clone(),
        key: object.key.clone(),
        version_id: object.version_id.clone(),
        destination_bucket: None,
        source_status,
        verdict: Verdict::Error,
        alarming: true,
        delete_marker: object.is_delete_marker(),
        detail,
        destination: None,
        age_seconds: None,
        lag_seconds: None,
    }
}

/// Eligibility from what the source HEAD showed. The storage class counts only for a version
/// S3 gave no status: one with a status was eligible when written (a lifecycle transition to an
/// archive class afterwards does not undo the replica).
fn eligibility_traits(source: &Probe) -> Option<crate::audit::rules::ObjectTraits> {
    match source {
        Probe::Found(facts) => {
            let mut traits = facts.traits();
            if facts.replication_status.is_some() {
                traits.archive_class = None;
            }
            Some(traits)
        }
        _ => None,
    }
}
