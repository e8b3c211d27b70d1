//! Handler tests over every sample event in `events/`: GIVEN a fake S3 holding the objects the
//! events name, WHEN the handler runs on the file, THEN the report says what a user expects.

mod common;

use common::fakes::{FakeS3, RecordingAlerts, RecordingMetrics};
use s3_replication_auditor::config::Config;
use s3_replication_auditor::handler::Auditor;
use s3_replication_auditor::metrics::EmfOutput;
use serde_json::Value;
use std::path::Path;

const SHOTS: &str = "acme-screenshots";
const SHOTS_REPLICA: &str = "acme-screenshots-replica";
const REPORTS: &str = "acme-reports";
const REPORTS_REPLICA: &str = "acme-reports-replica";
const TOPIC: &str = "arn:aws:sns:us-east-1:111111111111:replication-auditor-alerts";

fn fake_world() -> FakeS3 {
    FakeS3::default()
        .pair(SHOTS, SHOTS_REPLICA)
        .pair(REPORTS, REPORTS_REPLICA)
        .replicated(
            SHOTS,
            SHOTS_REPLICA,
            "Screen Shot 2026-11-24 at 10.15.03.png",
            "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
        )
        .replicated(
            SHOTS,
            SHOTS_REPLICA,
            "Screen Shot 2026-11-24 at 10.16.44.png",
            "Sq8vH8y5yQJm1yE7x0kAOjJYgX1a.b33",
        )
        .replicated(
            SHOTS,
            SHOTS_REPLICA,
            "reports/Q4 + forecast (final).pdf",
            "Zq1vA8y5yQJm1yE7x0kAOjJYgX1a.b2c",
        )
        .replicated(
            SHOTS,
            SHOTS_REPLICA,
            "café/menü ☕.png",
            "Lq2vB8y5yQJm1yE7x0kAOjJYgX1a.b2d",
        )
        .replicated(
            SHOTS,
            SHOTS_REPLICA,
            "100% done/a&b=c?d.txt",
            "Mq3vC8y5yQJm1yE7x0kAOjJYgX1a.b2e",
        )
        .replicated(
            SHOTS,
            SHOTS_REPLICA,
            "deep/path/with/encoded-slash.txt",
            "Nq4vD8y5yQJm1yE7x0kAOjJYgX1a.b2f",
        )
        .with_status(
            REPORTS,
            "monthly report November.pdf",
            "Rq7vG8y5yQJm1yE7x0kAOjJYgX1a.b32",
            Some("FAILED"),
        )
}

fn auditor() -> Auditor<FakeS3, RecordingMetrics, RecordingAlerts> {
    let config = Config {
        alert_topic_arn: Some(TOPIC.into()),
        pending_wait: std::time::Duration::ZERO,
        ..Config::default()
    };
    Auditor::new(
        config,
        fake_world(),
        RecordingMetrics::default(),
        RecordingAlerts::default(),
        EmfOutput::Stderr,
    )
}

/// What one sample event must produce.
struct Expect {
    file: &'static str,
    /// (key, verdict) per finding, in order.
    findings: &'static [(&'static str, &'static str)],
    skipped: usize,
    /// `Some(n)`: an SQS trigger returning n batch item failures.
    batch_failures: Option<usize>,
}

const EXPECTATIONS: &[Expect] = &[
    Expect {
        file: "s3-put.json",
        findings: &[("Screen Shot 2026-11-24 at 10.15.03.png", "replicated")],
        skipped: 0,
        batch_failures: None,
    },
    Expect {
        file: "s3-tricky-keys.json",
        findings: &[
            ("reports/Q4 + forecast (final).pdf", "replicated"),
            ("café/menü ☕.png", "replicated"),
            ("100% done/a&b=c?d.txt", "replicated"),
            ("deep/path/with/encoded-slash.txt", "replicated"),
        ],
        skipped: 1,
        batch_failures: None,
    },
    Expect {
        file: "s3-delete.json",
        findings: &[],
        skipped: 1,
        batch_failures: None,
    },
    Expect {
        file: "s3-test-event.json",
        findings: &[],
        skipped: 1,
        batch_failures: None,
    },
    Expect {
        file: "sqs-s3.json",
        findings: &[
            ("Screen Shot 2026-11-24 at 10.15.03.png", "replicated"),
            ("monthly report November.pdf", "failed"),
        ],
        skipped: 1,
        batch_failures: Some(0),
    },
    Expect {
        file: "sqs-sns-s3.json",
        findings: &[("Screen Shot 2026-11-24 at 10.16.44.png", "replicated")],
        skipped: 0,
        batch_failures: Some(0),
    },
    Expect {
        file: "sns-s3.json",
        findings: &[("Screen Shot 2026-11-24 at 10.15.03.png", "replicated")],
        skipped: 0,
        batch_failures: None,
    },
    Expect {
        file: "eventbridge-object-created.json",
        findings: &[("Screen Shot 2026-11-24 at 10.15.03.png", "replicated")],
        skipped: 0,
        batch_failures: None,
    },
    Expect {
        file: "replication-failed.json",
        findings: &[("monthly report November.pdf", "failed")],
        skipped: 0,
        batch_failures: None,
    },
    // Three events for one object version: audited once.
    Expect {
        file: "replication-threshold.json",
        findings: &[("monthly report November.pdf", "failed")],
        skipped: 0,
        batch_failures: None,
    },
    // S3 Batch Operations: the report behind the Batch Operations response (checked below).
    Expect {
        file: "batch-operations-1.0.json",
        findings: &[("Screen Shot 2026-11-24 at 10.15.03.png", "replicated")],
        skipped: 0,
        batch_failures: None,
    },
    Expect {
        file: "batch-operations-2.0.json",
        findings: &[("monthly report November.pdf", "failed")],
        skipped: 0,
        batch_failures: None,
    },
    Expect {
        file: "manual.json",
        findings: &[("Screen Shot 2026-11-24 at 10.15.03.png", "replicated")],
        skipped: 0,
        batch_failures: None,
    },
    Expect {
        file: "manual-many.json",
        findings: &[
            ("Screen Shot 2026-11-24 at 10.15.03.png", "replicated"),
            ("monthly report November.pdf", "failed"),
        ],
        skipped: 0,
        batch_failures: None,
    },
];

fn load(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[tokio::test]
async fn every_sample_event_produces_the_expected_report() {
    for expect in EXPECTATIONS {
        let auditor = auditor();
        let report = auditor
            .handle(&load(expect.file), None)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", expect.file));
        let got: Vec<(&str, &str)> = report
            .findings
            .iter()
            .map(|f| (f.key.as_str(), f.verdict.as_str()))
            .collect();
        assert_eq!(got, expect.findings, "{}", expect.file);
        assert_eq!(
            report.skipped.len(),
            expect.skipped,
            "{}: {:?}",
            expect.file,
            report.skipped
        );
        assert!(
            report.rejected.is_empty(),
            "{}: {:?}",
            expect.file,
            report.rejected
        );
        assert_eq!(
            report.batch_item_failures.as_ref().map(Vec::len),
            expect.batch_failures,
            "{}",
            expect.file
        );
    }
}

#[test]
fn every_file_in_events_is_exercised() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut covered: Vec<String> = EXPECTATIONS.iter().map(|e| e.file.to_string()).collect();
    covered.sort();
    assert_eq!(files, covered, "add an expectation for each sample event");
}

#[tokio::test]
async fn failure_event_reason_reaches_the_finding_and_the_alert() {
    let auditor = auditor();
    let report = auditor
        .handle(&load("replication-failed.json"), None)
        .await
        .unwrap();
    let finding = &report.findings[0];
    assert_eq!(
        finding.detail.failure_reason.as_deref(),
        Some("DstPutObjectNotPermitted")
    );
    assert_eq!(finding.destination_bucket.as_deref(), Some(REPORTS_REPLICA));
    let response = serde_json::to_value(&report).unwrap();
    assert_eq!(response["counts"]["failed"], 1);
    assert!(response.get("batchItemFailures").is_none());
}

#[tokio::test]
async fn one_metrics_call_and_one_alert_per_invocation() {
    let config = Config {
        alert_topic_arn: Some(TOPIC.into()),
        pending_wait: std::time::Duration::ZERO,
        ..Config::default()
    };
    let metrics = RecordingMetrics::default();
    let alerts = RecordingAlerts::default();
    let auditor = Auditor::new(config, fake_world(), metrics, alerts, EmfOutput::Stderr);
    auditor
        .handle(&load("manual-many.json"), None)
        .await
        .unwrap();
    let (metrics, alerts) = auditor.sinks();
    let calls = metrics.calls.lock().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "S3ReplicationAuditor");
    let sent = alerts.sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].1.subject,
        "S3 replication: 1 object FAILED to acme-reports-replica"
    );
    assert!(sent[0].1.body.contains("monthly report November.pdf"));
}

#[tokio::test]
async fn a_replicated_object_costs_one_head_in_the_destination() {
    let auditor = auditor();
    auditor.handle(&load("s3-put.json"), None).await.unwrap();
    let heads = auditor.probe().heads.lock().unwrap().clone();
    assert_eq!(
        heads,
        vec![format!(
            "destination {SHOTS_REPLICA}/Screen Shot 2026-11-24 at 10.15.03.png"
        )],
        "the replica found by the event's version id proves it: no source HEAD"
    );
}

/// A CloudWatch that never answers in time.
struct StuckMetrics;

impl s3_replication_auditor::ports::MetricsPublisher for StuckMetrics {
    async fn put(
        &self,
        _namespace: &str,
        _data: &[s3_replication_auditor::metrics::MetricDatum],
    ) -> Result<usize, s3_replication_auditor::ports::PublishError> {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        Ok(1)
    }
}

/// Tokio's paused clock: time advances only when every task waits, so the deadline is met or
/// missed by the handler's logic, never by how busy the machine is.
#[tokio::test(start_paused = true)]
async fn a_stuck_metrics_call_does_not_hold_the_answer_past_the_deadline() {
    let config = Config {
        pending_wait: std::time::Duration::ZERO,
        deadline_margin: std::time::Duration::from_millis(300),
        ..Config::default()
    };
    let auditor = Auditor::new(
        config,
        fake_world(),
        StuckMetrics,
        RecordingAlerts::default(),
        EmfOutput::Stderr,
    );
    let started = tokio::time::Instant::now();
    let deadline = started + std::time::Duration::from_secs(1);
    let report = auditor
        .handle(&load("s3-put.json"), Some(deadline))
        .await
        .unwrap();
    assert!(
        tokio::time::Instant::now() < deadline,
        "answered after the deadline"
    );
    assert_eq!(
        report.counts["replicated"], 1,
        "the findings are still returned"
    );
}

/// The Batch Operations samples answer in the Batch Operations response shape: the invocation
/// echoed, one result per task, the verdict as `resultString`.
#[tokio::test]
async fn batch_operations_samples_answer_in_the_batch_operations_shape() {
    for (file, code, verdict) in [
        ("batch-operations-1.0.json", "Succeeded", "replicated"),
        ("batch-operations-2.0.json", "PermanentFailure", "failed"),
    ] {
        let event = load(file);
        let report = auditor().handle(&event, None).await.unwrap();
        let response = report.to_response(usize::MAX).unwrap();
        let mut keys: Vec<&str> = response
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "invocationId",
                "invocationSchemaVersion",
                "results",
                "treatMissingKeysAs"
            ],
            "{file}"
        );
        assert_eq!(
            response["invocationSchemaVersion"],
            event["invocationSchemaVersion"]
        );
        assert_eq!(response["invocationId"], event["invocationId"]);
        assert_eq!(response["treatMissingKeysAs"], "PermanentFailure");
        let result = &response["results"][0];
        assert_eq!(result["taskId"], event["tasks"][0]["taskId"], "{file}");
        assert_eq!(result["resultCode"], code, "{file}");
        assert!(
            result["resultString"]
                .as_str()
                .unwrap()
                .starts_with(verdict),
            "{file}: {result}"
        );
    }
}

/// Published S3 Batch Operations samples (schema 1.0 and 2.0, from AWS's own libraries and
/// tools) decode without a rejection or an error. Skipped when the collection is not beside
/// the repository.
#[tokio::test]
async fn published_batch_operations_samples_decode() {
    let Some(samples) = common::real_event_samples() else {
        return;
    };
    let mut seen = 0;
    for (path, event) in &samples {
        if event.get("invocationSchemaVersion").is_none() {
            continue;
        }
        seen += 1;
        let batch =
            s3_replication_auditor::event::decode(event).unwrap_or_else(|e| panic!("{path}: {e}"));
        let tasks = event["tasks"].as_array().unwrap().len();
        assert_eq!(batch.items.len(), tasks, "{path}");
        let report = auditor().handle(event, None).await.unwrap();
        let response = report.to_response(usize::MAX).unwrap();
        assert_eq!(
            response["results"].as_array().unwrap().len(),
            tasks,
            "{path}: {response}"
        );
        assert_eq!(response["invocationId"], event["invocationId"]);
    }
    assert!(seen >= 2, "expected schema 1.0 and 2.0 samples");
}
