//! One invocation: event → objects → audit (concurrent, bounded, deadline-aware) → metrics and
//! alert → report. The same [`Auditor::handle`] serves the Lambda runtime and the CLI.
//!
//! Nothing is dropped: each record of the event ends as a finding, a skip or a rejection, and
//! for SQS triggers every message whose objects are not settled (pending, audit error,
//! malformed, or not reached before the deadline) is returned in `batchItemFailures`.

mod audit;
mod auditor;

use audit::{not_audited, Invocation};
pub use auditor::{Auditor, HandlerError, RULES_CACHE_TTL};

use crate::alert;
use crate::audit::{Finding, ObjectRef, ProbeErrorKind, Verdict};
use crate::batch_operations::{task_result, BatchOperationsResponse, TaskOutcome};
use crate::event::{self, Content, Trigger};
use crate::metrics::{self};
use crate::ports::{AlertPublisher, DisplayChain, MetricsPublisher, ObjectProbe};
use crate::report::{Rejected, Report, Skipped};
use aws_lambda_events::sqs::SqsBatchResponse;
use futures::stream::{self, StreamExt};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{error, info, warn};

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Time kept after publishing for the runtime to send the response.
const PUBLISH_MARGIN: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

impl<P: ObjectProbe, M: MetricsPublisher, A: AlertPublisher> Auditor<P, M, A> {
    /// Handles one payload. `deadline` is when Lambda kills the invocation (None: no limit).
    pub async fn handle(
        &self,
        payload: &Value,
        deadline: Option<Instant>,
    ) -> Result<Report, HandlerError> {
        let batch = event::decode(payload)?;
        let audit_until = deadline.map(|d| d.checked_sub(self.config.deadline_margin).unwrap_or(d));
        let decoded = self.distinct_objects(&batch);
        let invocation = Invocation::default();
        let outcomes = self
            .audit_all(&decoded.objects, audit_until, &invocation)
            .await;
        let settled = self.settle(&batch, &decoded, outcomes);
        let batch_item_failures = (batch.trigger == Trigger::Sqs)
            .then(|| batch_item_failures(&batch, &decoded, &settled));
        let batch_operations = batch
            .job
            .as_ref()
            .map(|job| batch_operations_response(job, &batch, &decoded, &settled));
        let Decoded {
            skipped, rejected, ..
        } = decoded;
        let mut report = Report::new(settled.findings, skipped, rejected, batch_item_failures);
        report.batch_operations = batch_operations;
        self.publish(&report, deadline).await;
        self.log_summary(&batch.trigger, &report, &invocation);
        Ok(report)
    }

    /// One audit per distinct object version, however often the batch names it (every mention
    /// is kept: all its replication events); what is skipped or rejected, with why.
    fn distinct_objects(&self, batch: &event::Batch) -> Decoded {
        let mut decoded = Decoded::default();
        let mut index_of: HashMap<(String, String, Option<String>), usize> = HashMap::new();
        for item in &batch.items {
            let skip = |reason: String| Skipped {
                origin: item.origin.clone(),
                reason,
            };
            let object = match &item.content {
                Content::Audit(object) if !self.watches(&object.bucket) => {
                    decoded.skipped.push(skip(format!(
                        "bucket {} is not in AUDITOR_SOURCE_BUCKETS; not audited",
                        object.bucket
                    )));
                    None
                }
                Content::Audit(object) => Some(match index_of.get(&object.identity()) {
                    Some(&index) => {
                        decoded.objects[index].absorb(object);
                        index
                    }
                    None => {
                        index_of.insert(object.identity(), decoded.objects.len());
                        decoded.objects.push(object.clone());
                        decoded.objects.len() - 1
                    }
                }),
                Content::Skip(reason) => {
                    decoded.skipped.push(skip(reason.clone()));
                    None
                }
                Content::Reject(why) => {
                    warn!(origin = %item.origin, error = %why, "rejected malformed record");
                    decoded.rejected.push(Rejected {
                        origin: item.origin.clone(),
                        message_id: item.message_id.clone(),
                        error: why.clone(),
                    });
                    None
                }
            };
            decoded.object_of_item.push(object);
        }
        decoded
    }

    /// Every object audited, at most `max_concurrency` at once, each within the deadline (an
    /// object not reached is `None`).
    async fn audit_all(
        &self,
        objects: &[ObjectRef],
        audit_until: Option<Instant>,
        invocation: &Invocation,
    ) -> Vec<Option<Vec<Finding>>> {
        let mut outcomes: Vec<Option<Vec<Finding>>> = vec![None; objects.len()];
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
        outcomes
    }

    /// The findings in object order. An audit error that runs again — an SQS message not on
    /// its last delivery, a Batch Operations task answered `TemporaryFailure` — is counted
    /// (AuditRetries) and logged but pages nobody yet.
    fn settle(
        &self,
        batch: &event::Batch,
        decoded: &Decoded,
        outcomes: Vec<Option<Vec<Finding>>>,
    ) -> Settled {
        let objects = &decoded.objects;
        let mut will_be_redelivered = vec![batch.trigger == Trigger::Sqs; objects.len()];
        for (item, object) in batch.items.iter().zip(&decoded.object_of_item) {
            if let Some(index) = object {
                let count = item
                    .message_id
                    .as_ref()
                    .and_then(|id| batch.receive_counts.get(id));
                let last = match (self.config.max_receive_count, count) {
                    (Some(max), Some(count)) => *count >= max,
                    _ => true,
                };
                will_be_redelivered[*index] &= !last;
            }
        }
        let mut settled = Settled::default();
        for (index, outcome) in outcomes.into_iter().enumerate() {
            settled.reached.push(outcome.is_some());
            let mut object_findings = outcome.unwrap_or_else(|| vec![not_audited(&objects[index])]);
            settled
                .retry_object
                .push(object_findings.iter().any(|f| f.verdict.needs_retry()));
            let runs_again = |finding: &Finding| match batch.trigger {
                Trigger::BatchOperations => crate::batch_operations::retry_may_fix(finding),
                _ => will_be_redelivered[index],
            };
            for finding in object_findings
                .iter_mut()
                .filter(|f| f.verdict == Verdict::Error && runs_again(f))
            {
                finding.alarming = false;
                finding.detail.retried = true;
            }
            let first = settled.findings.len();
            settled.findings.extend(object_findings);
            settled
                .findings_of_object
                .push(first..settled.findings.len());
        }
        settled
    }

    /// Metrics and the alert go out together; a failure of either is logged, never fatal, and
    /// neither may hold the answer past the Lambda deadline.
    async fn publish(&self, report: &Report, deadline: Option<Instant>) {
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

    async fn publish_metrics(&self, findings: &[Finding]) {
        if findings.is_empty() {
            return;
        }
        let pairs = metrics::aggregate(findings);
        let namespace = &self.config.metrics_namespace;
        crate::ports::deliver(
            &self.metrics,
            self.config.metrics_mode,
            namespace,
            &metrics::datums(&pairs),
            self.emf_output,
        )
        .await;
    }

    /// How a key appears in logs (`AUDITOR_LOG_KEYS`).
    fn log_key(&self, key: &str) -> String {
        self.config.log_keys.show(key)
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
        let groups = alert::group(findings);
        if groups.is_empty() {
            return;
        }
        let admitted = self
            .alert_gate
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(groups, std::time::Instant::now());
        let Some(message) = alert::compose(&admitted, findings, self.config.log_keys) else {
            info!("every alarming cause was alerted within AUDITOR_ALERT_COOLDOWN_SECONDS: no message (counted for the next one)");
            return;
        };
        if let Err(failure) = self.alerts.publish(topic, &message).await {
            error!(error = %DisplayChain(&failure), topic = %topic, "could not send the alert; the findings are in this log and the response");
        }
    }
}

/// A batch's distinct object versions, and what became of each item.
#[derive(Default)]
struct Decoded {
    objects: Vec<ObjectRef>,
    /// Per item of the batch: the object it names, if audited.
    object_of_item: Vec<Option<usize>>,
    skipped: Vec<Skipped>,
    rejected: Vec<Rejected>,
}

/// The findings of every object, in object order, and per object what the answer needs.
#[derive(Default)]
struct Settled {
    findings: Vec<Finding>,
    findings_of_object: Vec<std::ops::Range<usize>>,
    retry_object: Vec<bool>,
    reached: Vec<bool>,
}

/// The Lambda partial batch response: every message with an object to look at again (pending,
/// error, not reached) or a malformed record, each message once.
fn batch_item_failures(
    batch: &event::Batch,
    decoded: &Decoded,
    settled: &Settled,
) -> Vec<aws_lambda_events::sqs::BatchItemFailure> {
    let mut response = SqsBatchResponse::default();
    let mut returned: HashSet<&str> = HashSet::new();
    for (item, object) in batch.items.iter().zip(&decoded.object_of_item) {
        let retry = match (&item.content, object) {
            (Content::Reject(_), _) => true,
            (_, Some(index)) => settled.retry_object[*index],
            _ => false,
        };
        if let (true, Some(id)) = (retry, item.message_id.as_deref()) {
            if returned.insert(id) {
                response.add_failure(id);
            }
        }
    }
    response.batch_item_failures
}

/// The S3 Batch Operations response: one result per task.
fn batch_operations_response(
    job: &event::BatchJob,
    batch: &event::Batch,
    decoded: &Decoded,
    settled: &Settled,
) -> BatchOperationsResponse {
    let results = batch
        .items
        .iter()
        .zip(&decoded.object_of_item)
        .filter_map(|(item, object)| {
            // A task without an id cannot be answered; `treatMissingKeysAs` fails it.
            let task_id = item.message_id.as_deref()?;
            let outcome = match (&item.content, object) {
                (Content::Reject(why), _) => TaskOutcome::Rejected(why),
                (Content::Skip(reason), _) => TaskOutcome::Skipped(reason),
                (Content::Audit(_), Some(index)) => TaskOutcome::Audited {
                    findings: &settled.findings[settled.findings_of_object[*index].clone()],
                    reached: settled.reached[*index],
                },
                (Content::Audit(_), None) => {
                    TaskOutcome::Skipped("the bucket is not in AUDITOR_SOURCE_BUCKETS")
                }
            };
            Some(task_result(task_id, outcome))
        })
        .collect();
    BatchOperationsResponse::new(job, results)
}

#[cfg(test)]
mod tests {
    //! The handler's own logic with an in-memory probe: GIVEN answers per (side, bucket, key),
    //! WHEN a payload is handled, THEN the calls made and the findings.
    use super::*;
    use crate::alert::AlertMessage;
    use crate::audit::rules::ReplicationRule;
    use crate::audit::rules::{Destination, ReplicationRules};
    use crate::audit::{Absence, ObjectFacts, Probe, ProbeError, ReplicationStatus};
    use crate::config::Config;
    use crate::metrics::EmfOutput;
    use crate::metrics::MetricDatum;
    use crate::ports::PublishError;
    use chrono::Utc;
    use serde_json::json;
    use std::sync::Mutex as StdMutex;

    #[derive(Default)]
    struct Probes {
        source: HashMap<String, Probe>,
        destination: HashMap<String, Probe>,
        rules: Option<ReplicationRules>,
        tags: Vec<(String, String)>,
        /// Each destination's replica tags.
        replica_tags: HashMap<String, Vec<(String, String)>>,
        /// Destination HEADs never answer (for deadline tests).
        hang: bool,
        calls: StdMutex<Vec<String>>,
    }

    impl Probes {
        fn log(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl ObjectProbe for Probes {
        async fn head_source(&self, bucket: &str, key: &str, _: Option<&str>) -> Probe {
            self.log(format!("source {bucket}/{key}"));
            self.source.get(key).cloned().unwrap_or(Probe::NotFound)
        }
        async fn head_destination(&self, d: &Destination, key: &str, _: Option<&str>) -> Probe {
            self.log(format!(
                "destination {}@{}/{key}",
                d.bucket,
                d.account.as_deref().unwrap_or("?")
            ));
            if self.hang {
                std::future::pending::<()>().await;
            }
            self.destination
                .get(&d.bucket)
                .cloned()
                .unwrap_or(Probe::NotFound)
        }
        async fn replication_rules(
            &self,
            bucket: &str,
        ) -> Result<Option<ReplicationRules>, ProbeError> {
            self.log(format!("rules {bucket}"));
            Ok(self.rules.clone())
        }
        async fn object_tags(
            &self,
            _: &str,
            key: &str,
            _: Option<&str>,
        ) -> Result<Vec<(String, String)>, ProbeError> {
            self.log(format!("tags {key}"));
            Ok(self.tags.clone())
        }
        async fn explain_absence(&self, bucket: &str, key: &str, _: Option<&str>) -> Absence {
            self.log(format!("explain {bucket}/{key}"));
            Absence::NoSuchKey {
                near: vec![key.to_uppercase()],
            }
        }
        async fn replica_tags(
            &self,
            d: &Destination,
            key: &str,
            _: Option<&str>,
        ) -> Result<Vec<(String, String)>, ProbeError> {
            self.log(format!("replica tags {}/{key}", d.bucket));
            Ok(self
                .replica_tags
                .get(&d.bucket)
                .cloned()
                .unwrap_or_default())
        }
    }

    struct NoMetrics;
    impl MetricsPublisher for NoMetrics {
        async fn put(&self, _: &str, _: &[MetricDatum]) -> Result<usize, PublishError> {
            Ok(0)
        }
    }
    struct NoAlerts;
    impl AlertPublisher for NoAlerts {
        async fn publish(&self, _: &str, _: &AlertMessage) -> Result<(), PublishError> {
            Ok(())
        }
    }

    fn status(status: &str) -> Probe {
        Probe::Found(ObjectFacts {
            version_id: Some("v1".into()),
            replication_status: Some(ReplicationStatus::parse(status)),
            last_modified: Some(Utc::now()),
            ..ObjectFacts::default()
        })
    }

    fn rule(destination: &str, account: &str) -> ReplicationRule {
        ReplicationRule {
            enabled: true,
            destination_bucket: destination.into(),
            destination_account: Some(account.into()),
            ..ReplicationRule::default()
        }
    }

    fn auditor(probes: Probes, config: Config) -> Auditor<Probes, NoMetrics, NoAlerts> {
        let config = Config {
            pending_wait: Duration::ZERO,
            metrics_mode: crate::config::MetricsMode::Off,
            ..config
        };
        Auditor::new(config, probes, NoMetrics, NoAlerts, EmfOutput::Stderr)
    }

    fn record(name: &str, key: &str, data: Value) -> Value {
        json!({"eventSource": "aws:s3", "eventName": name, "eventTime": "2026-11-25T10:00:00Z",
               "s3": {"bucket": {"name": "src"}, "object": {"key": key, "versionId": "v1"}},
               "replicationEventData": data})
    }

    fn sqs(records: &[Value]) -> Value {
        let records: Vec<Value> = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json!({"messageId": format!("m{i}"), "eventSource": "aws:sqs",
                                 "body": json!({"Records": [r]}).to_string()})
            })
            .collect();
        json!({ "Records": records })
    }

    #[tokio::test]
    async fn one_version_named_twice_is_audited_once_with_every_event_kept() {
        let probes = Probes {
            source: HashMap::from([("k".into(), status("FAILED"))]),
            rules: Some(ReplicationRules {
                role_arn: String::new(),
                rules: vec![rule("dst", "222222222222")],
            }),
            ..Probes::default()
        };
        let auditor = auditor(probes, Config::default());
        let failure = json!({"destinationBucket": "arn:aws:s3:::dst", "s3Operation": "OBJECT_PUT",
                             "failureReason": "DstPutObjectNotPermitted"});
        let payload = sqs(&[
            record("ObjectCreated:Put", "k", Value::Null),
            record("Replication:OperationFailedReplication", "k", failure),
            record(
                "Replication:OperationMissedThreshold",
                "k",
                json!({"destinationBucket": "arn:aws:s3:::dst"}),
            ),
        ]);
        let report = auditor.handle(&payload, None).await.unwrap();
        let sources = auditor
            .probe()
            .calls()
            .iter()
            .filter(|c| c.starts_with("source"))
            .count();
        assert_eq!(sources, 1);
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].verdict, Verdict::Failed);
        assert_eq!(
            report.findings[0].detail.failure_reason.as_deref(),
            Some("DstPutObjectNotPermitted")
        );
    }

    fn replica_in(bucket: &str) -> HashMap<String, Probe> {
        HashMap::from([(bucket.to_string(), status("REPLICA"))])
    }

    fn one_rule_to_b() -> Option<ReplicationRules> {
        Some(ReplicationRules {
            role_arn: String::new(),
            rules: vec![rule("b", "222222222222")],
        })
    }

    #[tokio::test]
    async fn a_tag_change_compares_the_tag_sets_pending_then_late() {
        let changed = |time: &str| {
            let mut record = record("ObjectTagging:Put", "k", Value::Null);
            record["eventTime"] = json!(time);
            json!({ "Records": [record] })
        };
        let tags = |value: &str| vec![("team".to_string(), value.to_string())];
        let probes = |replica: &str| Probes {
            destination: replica_in("b"),
            rules: one_rule_to_b(),
            tags: tags("new"),
            replica_tags: HashMap::from([("b".to_string(), tags(replica))]),
            ..Probes::default()
        };
        let just_now = Utc::now().to_rfc3339();
        let judged = |probes, event: Value| async move {
            let auditor = auditor(probes, Config::default());
            let report = auditor.handle(&event, None).await.unwrap();
            (report.findings[0].verdict, auditor.probe().calls())
        };
        let (verdict, calls) = judged(probes("new"), changed(&just_now)).await;
        assert_eq!(verdict, Verdict::Replicated);
        assert!(calls.contains(&"replica tags b/k".to_string()), "{calls:?}");
        assert_eq!(
            judged(probes("old"), changed(&just_now)).await.0,
            Verdict::Pending
        );
        assert_eq!(
            judged(probes("old"), changed("2026-11-25T10:00:00Z"))
                .await
                .0,
            Verdict::Late
        );
        // An object creation compares no tags (one HEAD per healthy object).
        let created = json!({"Records": [record("ObjectCreated:Put", "k", Value::Null)]});
        let (verdict, calls) = judged(probes("old"), created).await;
        assert_eq!(verdict, Verdict::Replicated);
        assert_eq!(calls, ["rules src", "destination b@222222222222/k"]);
    }

    #[tokio::test]
    async fn a_kms_object_under_a_rule_without_the_kms_opt_in_is_unreplicated_with_the_cause() {
        let kms_source = Probe::Found(ObjectFacts {
            version_id: Some("v1".into()),
            last_modified: Some(Utc::now()),
            kms_encrypted: true,
            ..ObjectFacts::default()
        });
        let probes = Probes {
            source: HashMap::from([("k".into(), kms_source)]),
            rules: one_rule_to_b(),
            ..Probes::default()
        };
        let auditor = auditor(probes, Config::default());
        let event = json!({"Records": [record("ObjectCreated:Put", "k", Value::Null)]});
        let report = auditor.handle(&event, None).await.unwrap();
        let finding = &report.findings[0];
        assert_eq!(finding.verdict, Verdict::Unreplicated);
        assert!(finding.alarming);
        assert_eq!(finding.destination_bucket.as_deref(), Some("b"));
        assert!(finding.detail.reason.contains("SSE-KMS"));
        assert!(!finding
            .detail
            .remediation
            .as_deref()
            .unwrap()
            .starts_with("A rule covers this key"));
    }

    #[tokio::test]
    async fn a_version_someone_named_that_is_not_there_is_not_found_never_source_gone() {
        let manual = json!({"bucket": "src", "key": "k", "version_id": "v9"});
        let explained = auditor(
            Probes::default(),
            Config {
                explain_absence: true,
                ..Config::default()
            },
        );
        let report = explained.handle(&manual, None).await.unwrap();
        assert_eq!(report.findings[0].verdict, Verdict::NotFound);
        assert!(!report.findings[0].alarming);
        assert!(report.findings[0]
            .detail
            .reason
            .contains("Did you mean \"K\""));
        // Without a person asking (Batch Operations), nothing more is asked of S3.
        let plain = auditor(Probes::default(), Config::default());
        let report = plain.handle(&manual, None).await.unwrap();
        assert_eq!(report.findings[0].verdict, Verdict::NotFound);
        assert!(!plain
            .probe()
            .calls()
            .iter()
            .any(|c| c.starts_with("explain")));
        // S3's own event about a version gone since: source_gone.
        let event = json!({"Records": [record("ObjectCreated:Put", "k", Value::Null)]});
        let report = plain.handle(&event, None).await.unwrap();
        assert_eq!(report.findings[0].verdict, Verdict::SourceGone);
    }

    #[tokio::test]
    async fn an_event_named_destination_is_kept_beside_a_configured_one() {
        let probes = Probes {
            source: HashMap::from([("k".into(), status("FAILED"))]),
            ..Probes::default()
        };
        let config = Config {
            destination_bucket: Some("configured".into()),
            ..Config::default()
        };
        let auditor = auditor(probes, config);
        let failure = json!({"destinationBucket": "arn:aws:s3:::named", "failureReason": "DstBucketNotFound"});
        let only_failure = json!({"Records": [record("Replication:OperationFailedReplication", "k", failure.clone())]});
        let report = auditor.handle(&only_failure, None).await.unwrap();
        let destinations: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.destination_bucket.clone().unwrap())
            .collect();
        assert_eq!(destinations, ["named"], "S3's own word is never overridden");
        let both = json!({"Records": [record("ObjectCreated:Put", "k", Value::Null),
                                       record("Replication:OperationFailedReplication", "k", failure)]});
        let report = auditor.handle(&both, None).await.unwrap();
        let destinations: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.destination_bucket.clone().unwrap())
            .collect();
        assert_eq!(destinations, ["named", "configured"]);
    }

    #[tokio::test]
    async fn every_destination_is_asked_through_its_own_account() {
        let probes = Probes {
            source: HashMap::from([("k".into(), status("FAILED"))]),
            destination: HashMap::from([("b".into(), status("REPLICA"))]),
            rules: Some(ReplicationRules {
                role_arn: String::new(),
                rules: vec![rule("b", "222222222222"), rule("c", "333333333333")],
            }),
            ..Probes::default()
        };
        let auditor = auditor(probes, Config::default());
        let report = auditor
            .handle(
                &json!({"bucket": "src", "key": "k", "version_id": "v1"}),
                None,
            )
            .await
            .unwrap();
        let verdicts: Vec<_> = report.findings.iter().map(|f| f.verdict).collect();
        assert_eq!(verdicts, [Verdict::Replicated, Verdict::Failed]);
        let calls = auditor.probe().calls();
        assert!(calls.contains(&"destination b@222222222222/k".to_string()));
        assert!(calls.contains(&"destination c@333333333333/k".to_string()));
        assert!(
            !calls.iter().any(|c| c.starts_with("tags")),
            "no tag rule: no tags read"
        );
    }

    /// Source `k` with `source_status`, tagged `replicate=yes`, under one rule to `b` that
    /// filters on that tag.
    fn tag_rule_probes(source_status: &str) -> Probes {
        let mut tagged = rule("b", "222222222222");
        tagged.tags = vec![("replicate".into(), "yes".into())];
        Probes {
            source: HashMap::from([("k".into(), status(source_status))]),
            rules: Some(ReplicationRules {
                role_arn: String::new(),
                rules: vec![tagged],
            }),
            tags: vec![("replicate".into(), "yes".into())],
            ..Probes::default()
        }
    }

    #[tokio::test]
    async fn tags_are_read_only_when_a_covering_rule_filters_on_them() {
        let probes = Probes {
            destination: HashMap::from([("b".into(), status("REPLICA"))]),
            ..tag_rule_probes("COMPLETED")
        };
        let auditor = auditor(probes, Config::default());
        let report = auditor
            .handle(&json!({"bucket": "src", "key": "k"}), None)
            .await
            .unwrap();
        assert_eq!(report.findings[0].verdict, Verdict::Replicated);
        assert!(auditor.probe().calls().contains(&"tags k".to_string()));
    }

    #[tokio::test]
    async fn tags_are_read_once_even_when_the_source_is_headed_too() {
        let probes = tag_rule_probes("PENDING");
        let auditor = auditor(probes, Config::default());
        let report = auditor
            .handle(
                &json!({"bucket": "src", "key": "k", "version_id": "v1"}),
                None,
            )
            .await
            .unwrap();
        assert_eq!(report.findings[0].verdict, Verdict::Pending);
        let calls = auditor.probe().calls();
        assert_eq!(
            calls.iter().filter(|c| c.starts_with("tags")).count(),
            1,
            "{calls:?}"
        );
        assert_eq!(
            calls
                .iter()
                .filter(|c| c.starts_with("destination"))
                .count(),
            1,
            "{calls:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_audit_role_is_asked_once_per_account_per_invocation() {
        let refused = Probe::Failed(ProbeError {
            kind: ProbeErrorKind::Credentials,
            operation: "AssumeRole",
            message: "AccessDenied".into(),
            ..ProbeError::default()
        });
        let probes = Probes {
            source: (0..5)
                .map(|i| (format!("k{i}"), status("COMPLETED")))
                .collect(),
            destination: HashMap::from([("b".into(), refused)]),
            rules: Some(ReplicationRules {
                role_arn: String::new(),
                rules: vec![rule("b", "222222222222")],
            }),
            ..Probes::default()
        };
        let auditor = auditor(probes, Config::default());
        let objects: Vec<Value> = (0..5)
            .map(|i| json!({"bucket": "src", "key": format!("k{i}")}))
            .collect();
        let report = auditor
            .handle(&json!({ "objects": objects }), None)
            .await
            .unwrap();
        assert_eq!(report.counts["error"], 5);
        let destination_calls = auditor
            .probe()
            .calls()
            .iter()
            .filter(|c| c.starts_with("destination"))
            .count();
        assert_eq!(destination_calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_cancels_unfinished_audits_and_hands_their_messages_back() {
        let probes = Probes {
            source: HashMap::from([("k".into(), status("COMPLETED"))]),
            rules: Some(ReplicationRules {
                role_arn: String::new(),
                rules: vec![rule("b", "222222222222")],
            }),
            hang: true,
            ..Probes::default()
        };
        let config = Config {
            deadline_margin: Duration::from_millis(500),
            ..Config::default()
        };
        let auditor = auditor(probes, config);
        let deadline = Instant::now() + Duration::from_secs(3);
        let report = auditor
            .handle(
                &sqs(&[record("ObjectCreated:Put", "k", Value::Null)]),
                Some(deadline),
            )
            .await
            .unwrap();
        assert!(Instant::now() < deadline);
        assert_eq!(report.findings[0].verdict, Verdict::Error);
        assert!(report.findings[0].detail.reason.contains("deadline"));
        let failures = report.batch_item_failures.unwrap();
        assert_eq!(failures[0].item_identifier, "m0");
    }
}
