//! One invocation: event → objects → audit (concurrent, bounded, deadline-aware) → metrics and
//! alert → report. The same [`Auditor::handle`] serves the Lambda runtime and the CLI.
//!
//! Nothing is dropped: each record of the event ends as a finding, a skip or a rejection, and
//! for SQS triggers every message whose objects are not settled (pending, audit error,
//! malformed, or not reached before the deadline) is returned in `batchItemFailures`.

use crate::alert;
use crate::audit::rules::ReplicationRules;
use crate::audit::verdict::{AuditInput, RuleCoverage};
use crate::audit::{
    decide, Detail, Finding, ObjectRef, Origin, Probe, ProbeError, ProbeErrorKind,
    ReplicationStatus, Verdict, VerdictPolicy,
};
use crate::config::{Config, LogKeys, MetricsMode};
use crate::event::{self, Content, EventError, Trigger};
use crate::metrics;
use crate::ports::{AlertPublisher, MetricsPublisher, ObjectProbe};
use crate::report::{Rejected, Report, Skipped};
use aws_lambda_events::sqs::SqsBatchResponse;
use chrono::Utc;
use futures::stream::{self, StreamExt};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{error, info, warn};

/// How long a bucket's replication rules are trusted before being read again.
pub const RULES_CACHE_TTL: Duration = Duration::from_secs(300);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Time kept after publishing for the runtime to send the response.
const PUBLISH_MARGIN: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

#[derive(Debug, Error)]
pub enum HandlerError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    DriftCheck(#[from] crate::aws::doctor::DriftCheckError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::Event(_) => "UnrecognisedEvent",
            HandlerError::DriftCheck(_) => "DriftCheckNotConfigured",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

/// Where Embedded Metric Format lines are written: stdout inside Lambda (CloudWatch Logs reads
/// it), stderr on the command line (stdout carries the JSON report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmfOutput {
    Stdout,
    Stderr,
}

struct CachedRules {
    fetched: Instant,
    rules: Option<ReplicationRules>,
}

/// Built once per container; audits every invocation.
pub struct Auditor<P, M, A> {
    config: Config,
    policy: VerdictPolicy,
    probe: P,
    metrics: M,
    alerts: A,
    emf_output: EmfOutput,
    rules_cache: Mutex<HashMap<String, CachedRules>>,
}

impl<P: ObjectProbe, M: MetricsPublisher, A: AlertPublisher> Auditor<P, M, A> {
    pub fn new(config: Config, probe: P, metrics: M, alerts: A, emf_output: EmfOutput) -> Self {
        let policy = VerdictPolicy {
            late_after: chrono::Duration::from_std(config.late_after)
                .unwrap_or(chrono::Duration::seconds(900)),
            alarm_on_unreplicated: config.alarm_on_unreplicated,
        };
        Self {
            config,
            policy,
            probe,
            metrics,
            alerts,
            emf_output,
            rules_cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The probe (tests count its calls).
    pub fn probe(&self) -> &P {
        &self.probe
    }

    /// The metrics and alert publishers (tests read what was sent).
    pub fn sinks(&self) -> (&M, &A) {
        (&self.metrics, &self.alerts)
    }

    /// Handles one payload. `deadline` is when Lambda kills the invocation (None: no limit).
    pub async fn handle(
        &self,
        payload: &Value,
        deadline: Option<Instant>,
    ) -> Result<Report, HandlerError> {
        let batch = event::decode(payload)?;
        let audit_until = deadline.map(|d| d.checked_sub(self.config.deadline_margin).unwrap_or(d));

        // One audit per distinct object version, however often the batch names it.
        let mut objects: Vec<ObjectRef> = Vec::new();
        let mut object_of_item: Vec<Option<usize>> = Vec::with_capacity(batch.items.len());
        let mut index_of: HashMap<(String, String, Option<String>), usize> = HashMap::new();
        let mut skipped = Vec::new();
        let mut rejected = Vec::new();
        for item in &batch.items {
            match &item.content {
                Content::Audit(object) if !self.watches(&object.bucket) => {
                    skipped.push(Skipped {
                        origin: item.origin.clone(),
                        reason: format!(
                            "bucket {} is not in AUDITOR_SOURCE_BUCKETS; not audited",
                            object.bucket
                        ),
                    });
                    object_of_item.push(None);
                }
                Content::Audit(object) => {
                    let index = *index_of.entry(object.identity()).or_insert_with(|| {
                        objects.push(object.clone());
                        objects.len() - 1
                    });
                    // A failure event carries more than a creation event for the same version.
                    if matches!(object.origin, Origin::Replication(_)) {
                        objects[index].origin = object.origin.clone();
                    }
                    object_of_item.push(Some(index));
                }
                Content::Skip(reason) => {
                    skipped.push(Skipped {
                        origin: item.origin.clone(),
                        reason: reason.clone(),
                    });
                    object_of_item.push(None);
                }
                Content::Reject(why) => {
                    warn!(origin = %item.origin, error = %why, "rejected malformed record");
                    rejected.push(Rejected {
                        origin: item.origin.clone(),
                        message_id: item.message_id.clone(),
                        error: why.clone(),
                    });
                    object_of_item.push(None);
                }
            }
        }

        let mut outcomes: Vec<Option<Vec<Finding>>> = vec![None; objects.len()];
        let invocation = Invocation::default();
        let invocation = &invocation;
        let audits = stream::iter(objects.iter().enumerate())
            .map(|(index, object)| async move {
                let findings = match audit_until {
                    Some(until) if Instant::now() >= until => None,
                    Some(until) => tokio::time::timeout_at(
                        until,
                        self.audit_object(object, Some(until), invocation),
                    )
                    .await
                    .ok(),
                    None => Some(self.audit_object(object, None, invocation).await),
                };
                (index, findings)
            })
            .buffer_unordered(self.config.max_concurrency);
        let mut audits = std::pin::pin!(audits);
        while let Some((index, findings)) = audits.next().await {
            outcomes[index] = findings;
        }

        let mut retry_object = vec![false; objects.len()];
        let mut findings = Vec::new();
        for (index, outcome) in outcomes.into_iter().enumerate() {
            let object_findings = outcome.unwrap_or_else(|| vec![not_audited(&objects[index])]);
            retry_object[index] = object_findings.iter().any(|f| f.verdict.needs_retry());
            findings.extend(object_findings);
        }

        let batch_item_failures = (batch.trigger == Trigger::Sqs).then(|| {
            let mut response = SqsBatchResponse::default();
            let mut returned: HashSet<&str> = HashSet::new();
            for (item, object) in batch.items.iter().zip(&object_of_item) {
                let retry = match (&item.content, object) {
                    (Content::Reject(_), _) => true,
                    (_, Some(index)) => retry_object[*index],
                    _ => false,
                };
                if let (true, Some(id)) = (retry, item.message_id.as_deref()) {
                    if returned.insert(id) {
                        response.add_failure(id);
                    }
                }
            }
            response.batch_item_failures
        });

        let report = Report::new(findings, skipped, rejected, batch_item_failures);
        // Metrics and the alert go out together; a failure of either is logged, never fatal, and
        // neither may hold the answer past the Lambda deadline.
        let publish = async {
            tokio::join!(
                self.publish_metrics(&report.findings),
                self.send_alert(&report.findings)
            )
        };
        match deadline {
            Some(deadline) => {
                let answer_by = deadline.checked_sub(PUBLISH_MARGIN).unwrap_or(deadline);
                if tokio::time::timeout_at(answer_by, publish).await.is_err() {
                    error!("metrics or the alert were not sent before the Lambda deadline; the findings are in this response and log");
                }
            }
            None => {
                publish.await;
            }
        }
        self.log_summary(&batch.trigger, &report, invocation);
        Ok(report)
    }

    /// Whether `AUDITOR_SOURCE_BUCKETS` (if set) includes `bucket`.
    fn watches(&self, bucket: &str) -> bool {
        self.config
            .source_buckets
            .as_ref()
            .is_none_or(|watched| watched.iter().any(|b| b == bucket))
    }

    /// Audits one object, re-checking a PENDING one with backoff within the wait budget.
    async fn audit_object(
        &self,
        object: &ObjectRef,
        until: Option<Instant>,
        invocation: &Invocation,
    ) -> Vec<Finding> {
        let budget_end = Instant::now() + self.config.pending_wait;
        let wait_until = until.map_or(budget_end, |until| until.min(budget_end));
        let mut backoff = FIRST_BACKOFF;
        loop {
            let findings = self.audit_once(object, invocation).await;
            let pending = findings.iter().any(|f| f.verdict == Verdict::Pending);
            if !pending || Instant::now() + backoff > wait_until {
                return findings;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn audit_once(&self, object: &ObjectRef, invocation: &Invocation) -> Vec<Finding> {
        let source = self
            .probe
            .head_source(&object.bucket, &object.key, object.version_id.as_deref())
            .await;
        let status = match &source {
            Probe::Found(facts) => facts.replication_status.clone(),
            _ => None,
        };
        let (destinations, coverage) = match &source {
            Probe::Found(_) => match self.destinations(object, status.is_some()).await {
                Ok(found) => found,
                Err(error) => return vec![rules_unreadable(object, &source, &error)],
            },
            _ => (Vec::new(), RuleCoverage::Unknown),
        };
        let version_id = match &source {
            Probe::Found(facts) => facts
                .version_id
                .clone()
                .or_else(|| object.version_id.clone()),
            _ => object.version_id.clone(),
        };
        // Only a version S3 is replicating (or did) has a replica worth asking for.
        let ask_destination = matches!(
            status,
            Some(
                ReplicationStatus::Completed
                    | ReplicationStatus::Pending
                    | ReplicationStatus::Failed
            )
        );
        let now = Utc::now();
        if destinations.is_empty() {
            let input = AuditInput {
                object,
                source: &source,
                destination_bucket: None,
                destination: None,
                coverage,
                now,
            };
            return vec![decide(&input, &self.policy)];
        }
        let checks = destinations.iter().map(|destination| {
            let version_id = version_id.clone();
            async move {
                if !ask_destination {
                    return None;
                }
                Some(
                    invocation
                        .head_destination(
                            &self.probe,
                            destination,
                            &object.key,
                            version_id.as_deref(),
                        )
                        .await,
                )
            }
        });
        let replicas = futures::future::join_all(checks).await;
        destinations
            .iter()
            .zip(replicas.iter())
            .map(|(destination, replica)| {
                let input = AuditInput {
                    object,
                    source: &source,
                    destination_bucket: Some(destination),
                    destination: replica.as_ref(),
                    coverage,
                    now,
                };
                decide(&input, &self.policy)
            })
            .collect()
    }

    /// Where the object should be: configured bucket, the replication event's destination, or
    /// the source bucket's rules (cached per container).
    async fn destinations(
        &self,
        object: &ObjectRef,
        has_status: bool,
    ) -> Result<(Vec<String>, RuleCoverage), ProbeError> {
        if let Some(bucket) = &self.config.destination_bucket {
            return Ok((vec![bucket.clone()], RuleCoverage::Unknown));
        }
        if let Origin::Replication(event) = &object.origin {
            if let Some(bucket) = &event.destination_bucket {
                return Ok((vec![bucket.clone()], RuleCoverage::Covered));
            }
        }
        let rules = match self.rules(&object.bucket).await {
            Ok(rules) => rules,
            // Without a status no destination is needed to judge the object.
            Err(_) if !has_status => return Ok((Vec::new(), RuleCoverage::Unknown)),
            Err(error) => return Err(error),
        };
        let Some(rules) = rules else {
            return Ok((Vec::new(), RuleCoverage::NoConfiguration));
        };
        let coverage = rules.coverage(&object.key);
        if !coverage.destinations.is_empty() {
            return Ok((coverage.destinations, RuleCoverage::Covered));
        }
        if has_status {
            // S3 replicated it, so some rule covered it (e.g. via tags): check every destination.
            return Ok((rules.all_destinations(), RuleCoverage::Covered));
        }
        Ok((Vec::new(), RuleCoverage::NotCovered))
    }

    async fn rules(&self, bucket: &str) -> Result<Option<ReplicationRules>, ProbeError> {
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

    async fn publish_metrics(&self, findings: &[Finding]) {
        if findings.is_empty() || self.config.metrics_mode == MetricsMode::Off {
            return;
        }
        let pairs = metrics::aggregate(findings);
        if self.config.metrics_mode == MetricsMode::CloudWatch {
            match self
                .metrics
                .put(&self.config.metrics_namespace, &metrics::datums(&pairs))
                .await
            {
                Ok(_) => return,
                Err(failure) => error!(
                    error = %DisplayChain(&failure),
                    "could not publish metrics to CloudWatch; writing them as Embedded Metric Format instead"
                ),
            }
        }
        let lines = metrics::emf_lines(
            &self.config.metrics_namespace,
            &pairs,
            Utc::now().timestamp_millis(),
        );
        let text = lines.join("\n") + "\n";
        let written = match self.emf_output {
            EmfOutput::Stdout => std::io::stdout().lock().write_all(text.as_bytes()),
            EmfOutput::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
        };
        if let Err(failure) = written {
            error!(error = %failure, "could not write Embedded Metric Format lines");
        }
    }

    /// How a key appears in logs (`AUDITOR_LOG_KEYS`).
    fn log_key(&self, key: &str) -> String {
        match self.config.log_keys {
            LogKeys::Plain => key.to_string(),
            LogKeys::Hash => {
                let digest = Sha256::digest(key.as_bytes());
                format!("sha256:{}", &hex::encode(digest)[..16])
            }
        }
    }

    /// One line per alarming finding (except those a shared cause explains: one line for
    /// those), then one summary line.
    fn log_summary(&self, trigger: &Trigger, report: &Report, invocation: &Invocation) {
        if let Some(error) = invocation.credentials_failure() {
            let affected = report
                .findings
                .iter()
                .filter(|f| f.detail.cause == Some(ProbeErrorKind::Credentials))
                .count();
            error!(
                role = self.config.destination_role_arn.as_deref().unwrap_or("-"),
                error = %error.message,
                objects = affected,
                "could not assume the destination audit role: every destination check in this invocation is an error and is retried; check AUDITOR_DESTINATION_ROLE_ARN, AUDITOR_EXTERNAL_ID and the role's trust policy"
            );
        }
        for finding in report
            .findings
            .iter()
            .filter(|f| f.alarming && f.detail.cause != Some(ProbeErrorKind::Credentials))
        {
            warn!(
                verdict = finding.verdict.as_str(),
                bucket = %finding.source_bucket,
                key = %self.log_key(&finding.key),
                version_id = finding.version_id.as_deref().unwrap_or("-"),
                destination = finding.destination_bucket.as_deref().unwrap_or("-"),
                reason = %finding.detail.reason,
                "alarming finding"
            );
        }
        info!(
            trigger = ?trigger,
            findings = report.findings.len(),
            skipped = report.skipped.len(),
            rejected = report.rejected.len(),
            retried = report.batch_item_failures.as_ref().map_or(0, Vec::len),
            counts = %serde_json::to_string(&report.counts).unwrap_or_default(),
            "audit complete"
        );
    }

    async fn send_alert(&self, findings: &[Finding]) {
        let Some(topic) = &self.config.alert_topic_arn else {
            return;
        };
        let Some(message) = alert::compose(findings) else {
            return;
        };
        if let Err(failure) = self.alerts.publish(topic, &message).await {
            error!(error = %DisplayChain(&failure), topic = %topic, "could not send the alert; the findings are in this log and the response");
        }
    }
}

/// What one invocation learns that its other audits should know.
#[derive(Default)]
struct Invocation {
    /// Whether a destination HEAD has completed in this invocation (the first runs alone).
    first_destination_done: tokio::sync::Mutex<bool>,
    /// The first failure to obtain the destination audit role's credentials.
    credentials: std::sync::Mutex<Option<ProbeError>>,
}

impl Invocation {
    /// HEADs a replica. The invocation's first destination HEAD runs alone, so that if the audit
    /// role cannot be assumed STS is asked once, not once per concurrent object (the SDK would);
    /// after a credentials failure the rest of the invocation reuses that error.
    async fn head_destination<P: ObjectProbe>(
        &self,
        probe: &P,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Probe {
        let mut done = self.first_destination_done.lock().await;
        if !*done {
            let result = probe.head_destination(bucket, key, version_id).await;
            self.note(&result);
            *done = true;
            return result;
        }
        drop(done);
        if let Some(error) = self.credentials_failure() {
            return Probe::Failed(error);
        }
        let result = probe.head_destination(bucket, key, version_id).await;
        self.note(&result);
        result
    }

    fn credentials_failure(&self) -> Option<ProbeError> {
        self.credentials.lock().map(|c| c.clone()).unwrap_or(None)
    }

    fn note(&self, probe: &Probe) {
        if let Probe::Failed(error) = probe {
            if error.kind == ProbeErrorKind::Credentials {
                if let Ok(mut first) = self.credentials.lock() {
                    first.get_or_insert_with(|| error.clone());
                }
            }
        }
    }
}

/// An object the invocation ran out of time for: an `error` (and, from SQS, a retry).
fn not_audited(object: &ObjectRef) -> Finding {
    audit_error(
        object,
        None,
        Detail::new("Not audited: the Lambda deadline was reached first.")
            .fix("SQS delivers it again; if this repeats, raise the function timeout or lower the batch size."),
    )
}

fn rules_unreadable(object: &ObjectRef, source: &Probe, error: &ProbeError) -> Finding {
    let status = match source {
        Probe::Found(facts) => facts
            .replication_status
            .as_ref()
            .map(|s| s.as_str().to_string()),
        _ => None,
    };
    audit_error(
        object,
        status,
        Detail::new(format!("Could not read the source bucket's replication configuration: {error}."))
            .fix("Grant the auditor s3:GetReplicationConfiguration on the source bucket, or set AUDITOR_DESTINATION_BUCKET."),
    )
}

/// An `error` finding the handler itself decides (no destination was checked).
fn audit_error(object: &ObjectRef, source_status: Option<String>, detail: Detail) -> Finding {
    Finding {
        source_bucket: object.bucket.clone(),
        key: object.key.clone(),
        version_id: object.version_id.clone(),
        destination_bucket: None,
        source_status,
        verdict: Verdict::Error,
        alarming: true,
        detail,
        destination: None,
        age_seconds: None,
        lag_seconds: None,
    }
}

/// Displays an error with its whole `source()` chain on one line.
struct DisplayChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}
