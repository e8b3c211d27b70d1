//! The bad-input corpus (tests/corpus/cases, written by tests/corpus/generate.py with the
//! expected outcome of each case in expected.json): GIVEN each case WHEN the handler (or, for
//! text that is not JSON, the CLI) runs on it THEN it audits, skips or rejects exactly what the
//! case says — never a panic, never a hang, never a record silently dropped.

mod common;

use common::fakes::{EverythingReplicated, RecordingAlerts, RecordingMetrics};
use s3_replication_auditor::config::Config;
use s3_replication_auditor::handler::Auditor;
use s3_replication_auditor::metrics::EmfOutput;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn expectations() -> BTreeMap<String, Value> {
    serde_json::from_str(&std::fs::read_to_string(corpus_dir().join("expected.json")).unwrap())
        .unwrap()
}

fn auditor() -> Auditor<EverythingReplicated, RecordingMetrics, RecordingAlerts> {
    let config = Config {
        destination_bucket: Some("acme-replica".into()),
        source_buckets: Some(vec!["acme-screenshots".into(), "acme-reports".into()]),
        pending_wait: Duration::ZERO,
        ..Config::default()
    };
    Auditor::new(
        config,
        EverythingReplicated::default(),
        RecordingMetrics::default(),
        RecordingAlerts::default(),
        EmfOutput::Stderr,
    )
}

#[test]
fn the_corpus_has_at_least_100_cases_and_each_has_an_expectation() {
    let files: Vec<String> = std::fs::read_dir(corpus_dir().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let expected = expectations();
    assert!(files.len() >= 100, "only {} cases", files.len());
    assert_eq!(files.len(), expected.len());
    for file in files {
        assert!(expected.contains_key(&file), "{file} has no expectation");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_case_ends_as_expected() {
    let mut failures = Vec::new();
    for (file, expected) in expectations() {
        let text = std::fs::read_to_string(corpus_dir().join("cases").join(&file)).unwrap();
        if expected == "invalid_json" {
            if serde_json::from_str::<Value>(&text).is_ok() {
                failures.push(format!("{file}: parsed as JSON"));
            }
            continue;
        }
        let payload: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let started = Instant::now();
        let result =
            tokio::time::timeout(Duration::from_secs(5), auditor().handle(&payload, None)).await;
        let Ok(result) = result else {
            failures.push(format!("{file}: hung"));
            continue;
        };
        match (&expected, result) {
            (Value::String(kind), Err(error)) if kind == "error" => {
                if !error.to_string().contains("expected") {
                    failures.push(format!(
                        "{file}: error does not name the accepted shapes: {error}"
                    ));
                }
            }
            (Value::Object(counts), Ok(report)) => {
                let got = json!({"audit": report.findings.len(), "skip": report.skipped.len(), "reject": report.rejected.len()});
                if got != Value::Object(counts.clone()) {
                    failures.push(format!(
                        "{file}: expected {expected}, got {got} (skipped {:?}, rejected {:?})",
                        report.skipped, report.rejected
                    ));
                }
                for rejected in &report.rejected {
                    if rejected.error.len() < 10 {
                        failures.push(format!("{file}: unclear rejection {:?}", rejected.error));
                    }
                }
            }
            (_, outcome) => failures.push(format!(
                "{file}: expected {expected}, got {:?}",
                outcome.map(|r| r.findings.len())
            )),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{file} took {:?}",
            started.elapsed()
        );
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn text_that_is_not_json_is_a_usage_error_naming_the_file() {
    for (file, expected) in expectations() {
        if expected != "invalid_json" {
            continue;
        }
        let path = corpus_dir().join("cases").join(&file);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_replication-auditor"))
            .args(["invoke", "--event", path.to_str().unwrap()])
            .env_clear()
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{file}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("is not valid JSON") && stderr.contains(&file),
            "{file}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_10000_records_is_audited_completely() {
    let records: Vec<Value> = (0..10_000)
        .map(|i| {
            json!({"eventVersion": "2.1", "eventSource": "aws:s3", "eventTime": "2026-11-24T10:00:00.000Z",
                "eventName": "ObjectCreated:Put", "userIdentity": {}, "requestParameters": {},
                "s3": {"bucket": {"name": "acme-screenshots"}, "object": {"key": format!("batch/shot+{i}.png"), "versionId": format!("v{i}")}}})
        })
        .collect();
    let auditor = auditor();
    let started = Instant::now();
    let report = auditor
        .handle(&json!({ "Records": records }), None)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.findings.len(), 10_000);
    assert_eq!(report.counts["replicated"], 10_000);
    assert_eq!(report.findings[9_999].key, "batch/shot 9999.png");
    assert_eq!(
        auditor
            .probe()
            .heads
            .load(std::sync::atomic::Ordering::Relaxed),
        10_000,
        "one HEAD per healthy object: the replica found by the event's version id is the proof"
    );
    let (metrics, _) = auditor.sinks();
    let calls = metrics.calls.lock().unwrap();
    assert_eq!(calls.len(), 1, "one PutMetricData for the whole batch");
}
