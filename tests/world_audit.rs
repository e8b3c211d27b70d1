//! End to end against the local world: the real binary, the real SDK, moto over HTTP, and the
//! replication engine. GIVEN objects engineered for each verdict WHEN the auditor runs on their
//! events THEN the report, the metrics CloudWatch holds and the alert SNS sent say so.

mod common;

use common::world::*;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn s3_notifications_through_sqs_end_in_replicated_with_metrics_and_no_alert() {
    let world = World::start();
    let keys = [
        "Screen Shot 2026-11-24 at 10.15.03.png",
        "q4 1+1=2 café/ünï 100%.png",
    ];
    for key in keys {
        world.put(HEALTHY_SOURCE, key, b"\x89PNG screenshot").await;
    }
    world.drain();
    let event = world.sqs_event_from_queue().await;
    // Two puts, plus the s3:TestEvent S3 sent when each source bucket's notifications were set up.
    assert_eq!(event["Records"].as_array().unwrap().len(), 4);

    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        verdicts(&report),
        keys.iter()
            .map(|k| (k.to_string(), "replicated".to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(report["batchItemFailures"], json!([]));
    assert_eq!(
        report["skipped"].as_array().unwrap().len(),
        2,
        "test events are acknowledged"
    );
    let first = finding(&report, keys[0]);
    assert_eq!(first["destination_bucket"], HEALTHY_DESTINATION);
    // The replica found by the event's version id is the proof: the source is not HEADed.
    assert!(first["source_status"].is_null(), "{first}");
    assert_eq!(first["destination"]["version_id"], first["version_id"]);
    assert_eq!(first["destination"]["replication_status"], "REPLICA");

    assert_eq!(
        world
            .metric_sum("Replicated", HEALTHY_SOURCE, Some(HEALTHY_DESTINATION))
            .await,
        2.0
    );
    assert_eq!(
        world
            .metric_sum("ObjectsAudited", HEALTHY_SOURCE, None)
            .await,
        2.0
    );
    assert_eq!(
        world
            .metric_sum("Missing", HEALTHY_SOURCE, Some(HEALTHY_DESTINATION))
            .await,
        0.0
    );
    assert!(
        world.alerts().await.is_empty(),
        "a healthy run sends no alert"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_verdict_end_to_end_with_metrics_and_one_alert() {
    let world = World::start();
    let s3_a = world.s3(SOURCE_KEY);
    world.fault(json!({"fault": "stay_pending", "key_regex": "^slow/"}));
    world.fault(json!({"fault": "complete_without_replica", "key_regex": "^lost/"}));
    // Deleted before S3 replicated it: no replica anywhere.
    world.fault(json!({"fault": "stay_pending", "key_regex": "^gone/"}));
    world.fault(json!({"fault": "deny", "operation": "HeadObject", "bucket": HEALTHY_DESTINATION, "key_regex": "^locked/"}));

    // A bucket without any replication configuration.
    s3_a.create_bucket()
        .bucket("acme-scratch")
        .send()
        .await
        .unwrap();

    let replicated = world
        .put(HEALTHY_SOURCE, "ok/Screen Shot 1.png", b"a")
        .await;
    let pending = world.put(HEALTHY_SOURCE, "slow/big upload.bin", b"b").await;
    let failed = world.put(BROKEN_SOURCE, "monthly report.pdf", b"c").await;
    let missing = world.put(HEALTHY_SOURCE, "lost/receipt.png", b"d").await;
    let error = world.put(HEALTHY_SOURCE, "locked/payroll.csv", b"f").await;
    s3_a.put_object()
        .bucket("acme-scratch")
        .key("notes.txt")
        .body(b"g".to_vec().into())
        .send()
        .await
        .unwrap();
    let gone = world
        .put(HEALTHY_SOURCE, "gone/deleted soon.png", b"h")
        .await;
    world.drain();
    s3_a.delete_object()
        .bucket(HEALTHY_SOURCE)
        .key("gone/deleted soon.png")
        .version_id(&gone)
        .send()
        .await
        .unwrap();

    let objects = json!({"objects": [
        {"bucket": HEALTHY_SOURCE, "key": "ok/Screen Shot 1.png", "version_id": replicated},
        {"bucket": HEALTHY_SOURCE, "key": "slow/big upload.bin", "version_id": pending},
        {"bucket": BROKEN_SOURCE, "key": "monthly report.pdf", "version_id": failed},
        {"bucket": HEALTHY_SOURCE, "key": "lost/receipt.png", "version_id": missing},
        {"bucket": HEALTHY_SOURCE, "key": "locked/payroll.csv", "version_id": error},
        {"bucket": "acme-scratch", "key": "notes.txt"},
        {"bucket": HEALTHY_SOURCE, "key": "gone/deleted soon.png", "version_id": gone},
    ]});
    let (code, report, stderr) = world.invoke(&objects, &[]);
    assert_eq!(code, 1, "alarming findings exit 1; {stderr}");
    assert_eq!(
        verdicts(&report),
        [
            ("ok/Screen Shot 1.png", "replicated"),
            ("slow/big upload.bin", "pending"),
            ("monthly report.pdf", "failed"),
            ("lost/receipt.png", "missing"),
            ("locked/payroll.csv", "error"),
            ("notes.txt", "unreplicated"),
            // A version a person names that is not there is "not found", not "deleted since".
            ("gone/deleted soon.png", "not_found"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<Vec<_>>()
    );
    let denied = finding(&report, "locked/payroll.csv");
    assert!(
        denied["detail"]["reason"]
            .as_str()
            .unwrap()
            .contains("AccessDenied"),
        "{denied:#}"
    );
    assert!(denied["detail"]["remediation"]
        .as_str()
        .unwrap()
        .contains("s3:ListBucket"));
    let scratch = finding(&report, "notes.txt");
    assert!(scratch["detail"]["reason"]
        .as_str()
        .unwrap()
        .contains("no replication configuration"));
    for (verdict, count) in [
        ("replicated", 1),
        ("pending", 1),
        ("failed", 1),
        ("missing", 1),
        ("mismatch", 0),
        ("error", 1),
        ("unreplicated", 1),
        ("source_gone", 0),
        ("not_found", 1),
        ("late", 0),
    ] {
        assert_eq!(report["counts"][verdict], count, "{verdict}");
    }
    assert!(
        report.get("batchItemFailures").is_none(),
        "not an SQS trigger"
    );

    // Metrics, as CloudWatch (the world) holds them.
    assert_eq!(
        world
            .metric_sum("Missing", HEALTHY_SOURCE, Some(HEALTHY_DESTINATION))
            .await,
        1.0
    );
    assert_eq!(
        world.metric_sum("AuditErrors", HEALTHY_SOURCE, None).await,
        1.0
    );
    assert_eq!(
        world
            .metric_sum("Failed", BROKEN_SOURCE, Some(BROKEN_DESTINATION))
            .await,
        1.0
    );
    assert_eq!(
        world
            .metric_sum("Unreplicated", "acme-scratch", Some("none"))
            .await,
        1.0
    );
    assert_eq!(
        world
            .metric_sum("ObjectsAudited", HEALTHY_SOURCE, None)
            .await,
        5.0
    );

    // One alert, naming every alarming object and nothing else.
    let sent = world.alerts().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (subject, message) = &sent[0];
    // Grouped by cause: the largest (here each has one object) names the subject.
    assert_eq!(
        subject,
        "S3 replication: 1 object FAILED to acme-reports-replica (+3 more causes)"
    );
    for key in [
        "monthly report.pdf",
        "lost/receipt.png",
        "locked/payroll.csv",
        "notes.txt",
    ] {
        assert!(
            message.contains(key),
            "{key} missing from alert:\n{message}"
        );
    }
    assert!(!message.contains("ok/Screen Shot 1.png") && !message.contains("slow/big upload.bin"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sqs_batch_hands_back_pending_and_poison_but_not_terminal_findings() {
    let world = World::start();
    world.fault(json!({"fault": "stay_pending", "key_regex": "^slow/"}));
    world.put(HEALTHY_SOURCE, "ok.png", b"a").await;
    world.put(HEALTHY_SOURCE, "slow/pending.bin", b"b").await;
    world.put(BROKEN_SOURCE, "broken.pdf", b"c").await;
    world.drain();
    let mut event = world.sqs_event_from_queue().await;
    let records = event["Records"].as_array_mut().unwrap();
    records.push(sqs_record("poison-1", "{\"Records\": [{\"s3\": 42}]}"));
    let message_of = |key: &str, records: &[Value]| -> String {
        let encoded = s3_replication_auditor::event::keys::encode_event_key(key);
        records
            .iter()
            .find(|r| {
                r["body"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("\"key\": \"{encoded}\""))
                    && r["body"].as_str().unwrap().contains("ObjectCreated")
            })
            .unwrap_or_else(|| panic!("no message for {key}"))["messageId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let pending_id = message_of("slow/pending.bin", records);

    let (code, report, _) = world.invoke(&event, &[]);
    assert_eq!(code, 1);
    let returned: Vec<&str> = report["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(
        returned,
        vec![pending_id.as_str(), "poison-1"],
        "{report:#}"
    );
    assert_eq!(report["rejected"][0]["message_id"], "poison-1");
    assert!(report["rejected"][0]["error"]
        .as_str()
        .unwrap()
        .contains("malformed S3 event record"));
    // The broken pair's creation event and S3's failure event name one version: one finding.
    let broken: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["key"] == "broken.pdf")
        .collect();
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0]["verdict"], "failed");
    assert_eq!(
        broken[0]["detail"]["failure_reason"],
        "DstPutObjectNotPermitted"
    );
    assert!(broken[0]["detail"]["remediation"]
        .as_str()
        .unwrap()
        .contains("not the destination account's own id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_past_the_sla_is_late() {
    let world = World::start();
    world.fault(json!({"fault": "stay_pending", "key_regex": "stuck"}));
    let version = world.put(HEALTHY_SOURCE, "stuck.bin", b"x").await;
    world.drain();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let event = json!({"bucket": HEALTHY_SOURCE, "key": "stuck.bin", "version_id": version});
    let (code, report, _) = world.invoke(&event, &[("AUDITOR_LATE_AFTER_SECONDS", "1")]);
    assert_eq!(code, 1);
    assert_eq!(
        verdicts(&report),
        vec![("stuck.bin".to_string(), "late".to_string())]
    );
    assert!(report["findings"][0]["age_seconds"].as_f64().unwrap() >= 1.0);
    assert_eq!(world.metric_sum("Late", HEALTHY_SOURCE, None).await, 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_object_is_rechecked_within_the_wait_budget() {
    let world = World::start_with(&["--replication-delay", "1.5"]);
    let version = world.put(HEALTHY_SOURCE, "soon.png", b"x").await;
    let event = json!({"bucket": HEALTHY_SOURCE, "key": "soon.png", "version_id": version});
    let (code, report, _) = world.invoke(&event, &[("AUDITOR_PENDING_WAIT_SECONDS", "10")]);
    assert_eq!(code, 0);
    assert_eq!(
        verdicts(&report),
        vec![("soon.png".to_string(), "replicated".to_string())]
    );
    assert!(
        report["findings"][0]["lag_seconds"].is_null(),
        "S3 keeps Last-Modified on the replica: no lag can be measured from it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn api_calls_per_object_counted_at_the_world() {
    let world = World::start();
    let mut objects = Vec::new();
    for i in 0..5 {
        let key = format!("batch/shot {i}.png");
        let version = world.put(HEALTHY_SOURCE, &key, b"x").await;
        objects.push(json!({"bucket": HEALTHY_SOURCE, "key": key, "version_id": version}));
    }
    world.drain();
    world.reset_stats();
    let (code, report, _) = world.invoke(&json!({ "objects": objects }), &[]);
    assert_eq!(code, 0);
    assert_eq!(report["counts"]["replicated"], 5);
    let stats = world.stats();
    assert_eq!(
        stats["s3"]["HeadObject"], 5,
        "1 HEAD per replicated object (the replica by version id; no source HEAD): {stats}"
    );
    assert_eq!(
        stats["s3"]["GetBucketReplication"], 1,
        "rules read once per container: {stats}"
    );
    assert_eq!(
        stats["sts"]["AssumeRole"], 1,
        "one AssumeRole per process: {stats}"
    );
    assert_eq!(
        stats["monitoring"]["PutMetricData"], 1,
        "one PutMetricData per invocation: {stats}"
    );
    assert!(
        stats.get("sns").is_none(),
        "no alert for a healthy batch: {stats}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_destination_bucket_is_used_without_reading_rules() {
    let world = World::start();
    let version = world.put(HEALTHY_SOURCE, "direct.png", b"x").await;
    world.drain();
    world.reset_stats();
    let (code, report, _) = world.invoke(
        &json!({"bucket": HEALTHY_SOURCE, "key": "direct.png", "version_id": version}),
        &[("AUDITOR_DESTINATION_BUCKET", HEALTHY_DESTINATION)],
    );
    assert_eq!(code, 0);
    assert_eq!(
        report["findings"][0]["destination_bucket"],
        HEALTHY_DESTINATION
    );
    assert!(world.stats()["s3"].get("GetBucketReplication").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_command_exit_codes() {
    let world = World::start();
    world.put(HEALTHY_SOURCE, "fine.png", b"x").await;
    world.put(BROKEN_SOURCE, "bad.pdf", b"x").await;
    world.drain();

    let healthy = world.auditor(&["check", "s3://acme-screenshots/fine.png"], &[]);
    assert_eq!(healthy.status.code(), Some(0));
    let table = String::from_utf8_lossy(&healthy.stdout);
    assert!(
        table.contains("replicated") && table.contains("s3://acme-screenshots/fine.png"),
        "{table}"
    );

    let broken = world.auditor(
        &["check", "s3://acme-reports/bad.pdf", "--output", "json"],
        &[],
    );
    assert_eq!(broken.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&broken.stdout).unwrap();
    assert_eq!(report["findings"][0]["verdict"], "failed");

    let usage = world.auditor(&["check", "acme-reports/bad.pdf"], &[]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("s3://BUCKET/KEY"));

    let misconfigured = world.auditor(
        &["check", "s3://acme-reports/bad.pdf"],
        &[
            ("AUDITOR_DESTINATION_ROLE_ARN", "reader"),
            ("AUDITOR_MAX_CONCURRENCY", "lots"),
        ],
    );
    assert_eq!(misconfigured.status.code(), Some(2));
    let message = String::from_utf8_lossy(&misconfigured.stderr);
    assert!(
        message.contains("AUDITOR_DESTINATION_ROLE_ARN")
            && message.contains("AUDITOR_MAX_CONCURRENCY"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_rejects_unknown_event_shapes_with_exit_2() {
    let world = World::start();
    let path = world.write_event(&json!({"hello": "world"}));
    let output = world.auditor(&["invoke", "--event", path.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("unrecognised event shape") && message.contains("hello"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn emf_mode_writes_metrics_to_the_log_instead_of_calling_cloudwatch() {
    let world = World::start();
    let version = world.put(HEALTHY_SOURCE, "emf.png", b"x").await;
    world.drain();
    world.reset_stats();
    let (code, report, stderr) = world.invoke(
        &json!({"bucket": HEALTHY_SOURCE, "key": "emf.png", "version_id": version}),
        &[
            ("AUDITOR_METRICS_MODE", "emf"),
            ("AUDITOR_METRICS_NAMESPACE", "EmfTest"),
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        report["counts"]["replicated"], 1,
        "stdout carries only the report"
    );
    let emf = emf_lines(&stderr);
    assert_eq!(emf.len(), 1, "{stderr}");
    assert_eq!(
        emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "EmfTest"
    );
    assert_eq!(emf[0]["Replicated"], 1);
    assert!(
        world.stats().get("monitoring").is_none(),
        "no PutMetricData in EMF mode"
    );
}
