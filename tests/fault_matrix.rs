//! The fault matrix (README, "Fault matrix"): each row is a test against the local world with the
//! real binary. GIVEN a fault the world injects WHEN the auditor runs THEN it reaches the right
//! verdict or hands the item back, and tells the user once, clearly.

mod common;

use common::world::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The SQS message ids a report hands back.
fn handed_back(report: &Value) -> Vec<String> {
    report["batchItemFailures"]
        .as_array()
        .expect("an SQS trigger")
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

/// An SQS event whose messages each carry one S3 creation record for `bucket`/`key`.
async fn creation_event(world: &World, objects: &[(&str, &str)]) -> (Value, Vec<String>) {
    for (bucket, key) in objects {
        world.put(bucket, key, b"payload").await;
    }
    world.drain();
    let mut event = world.sqs_event_from_queue().await;
    let records = event["Records"].as_array_mut().unwrap();
    records.retain(|r| r["body"].as_str().unwrap().contains("ObjectCreated"));
    let ids = records
        .iter()
        .map(|r| r["messageId"].as_str().unwrap().to_string())
        .collect();
    (event, ids)
}

fn lines_containing(stderr: &str, text: &str) -> usize {
    stderr.lines().filter(|l| l.contains(text)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_for_a_few_requests_is_retried_to_the_right_verdict() {
    let world = World::start();
    let (event, _) = creation_event(&world, &[(HEALTHY_SOURCE, "hot/a.png")]).await;
    world.fault(
        json!({"fault": "throttle", "operation": "HeadObject", "key_regex": "^hot/", "count": 2}),
    );
    let (code, report, _) = world.invoke(&event, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        verdicts(&report),
        vec![("hot/a.png".to_string(), "replicated".to_string())]
    );
    assert!(handed_back(&report).is_empty());
    // The destination HEAD by version id comes first: 2 throttled + 1 good, and the replica it
    // finds is proof enough (no source HEAD).
    assert_eq!(world.stats()["s3"]["HeadObject"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttling_brownout_drains_the_sdk_retry_quota_instead_of_quadrupling_the_load() {
    let world = World::start();
    let created = world.control(
        "POST",
        &format!("/_world/bulk-put?bucket={HEALTHY_SOURCE}&prefix=brownout/&count=60"),
        "",
    );
    world.drain();
    let objects: Vec<Value> = created
        .as_array()
        .unwrap()
        .iter()
        .map(|o| json!({"bucket": HEALTHY_SOURCE, "key": o["key"], "version_id": o["version_id"]}))
        .collect();
    world.fault(json!({"fault": "throttle", "operation": "HeadObject", "count": 100000}));
    world.reset_stats();
    let (code, report, _) = world.invoke(&json!({ "objects": objects }), &[]);
    assert_eq!(code, 1);
    assert_eq!(report["counts"]["error"], 60);
    // 60 destination + 60 source HEADs. Without a quota, 4 attempts each would be 480
    // requests; the standard retry mode's token bucket (500 tokens, 5 per throttling retry)
    // allows about 100 retries per client before failing fast.
    let heads = world.stats()["s3"]["HeadObject"].as_u64().unwrap();
    eprintln!("brownout: {heads} HEAD requests for 120 HEAD calls");
    assert!(heads < 480, "retries were not limited: {heads} HEADs");
    assert!(heads <= 120 + 2 * 100 + 20, "{heads} HEADs");
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_throttling_is_an_error_and_the_item_is_handed_back() {
    let world = World::start();
    let (event, ids) = creation_event(&world, &[(HEALTHY_SOURCE, "hot/b.png")]).await;
    world.fault(
        json!({"fault": "throttle", "operation": "HeadObject", "key_regex": "^hot/", "count": 100}),
    );
    let started = Instant::now();
    let (code, report, _) = world.invoke(&event, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "retries are bounded"
    );
    assert_eq!(code, 1);
    let found = finding(&report, "hot/b.png");
    assert_eq!(found["verdict"], "error");
    assert_eq!(found["detail"]["cause"], "throttled");
    assert_eq!(handed_back(&report), ids);
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_destination_is_an_error_with_a_fix_never_missing() {
    let world = World::start();
    let (event, ids) = creation_event(&world, &[(HEALTHY_SOURCE, "secret/c.png")]).await;
    world.fault(json!({"fault": "deny", "operation": "HeadObject", "bucket": HEALTHY_DESTINATION}));
    let (code, report, _) = world.invoke(&event, &[]);
    assert_eq!(code, 1);
    let found = finding(&report, "secret/c.png");
    assert_eq!(found["verdict"], "error");
    assert_eq!(found["detail"]["cause"], "access_denied");
    assert!(found["detail"]["remediation"]
        .as_str()
        .unwrap()
        .contains("s3:ListBucket"));
    assert_eq!(report["counts"]["missing"], 0);
    assert_eq!(handed_back(&report), ids);
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_assume_role_errors_every_destination_check_with_one_log_line() {
    let world = World::start();
    let keys = [
        (HEALTHY_SOURCE, "sts/1.png"),
        (HEALTHY_SOURCE, "sts/2.png"),
        (HEALTHY_SOURCE, "sts/3.png"),
    ];
    let (event, ids) = creation_event(&world, &keys).await;
    world.fault(json!({"fault": "deny", "operation": "AssumeRole"}));
    world.reset_stats();
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 1);
    for (_, key) in keys {
        let found = finding(&report, key);
        assert_eq!(found["verdict"], "error", "{found:#}");
        assert_eq!(found["detail"]["cause"], "credentials");
        assert!(found["detail"]["remediation"]
            .as_str()
            .unwrap()
            .contains("AUDITOR_EXTERNAL_ID"));
    }
    assert_eq!(handed_back(&report), ids);
    assert_eq!(
        world.stats()["sts"]["AssumeRole"],
        1,
        "STS is asked once per invocation, not per object"
    );
    assert_eq!(
        lines_containing(&stderr, "could not assume the destination audit role"),
        1,
        "{stderr}"
    );
    assert_eq!(
        lines_containing(&stderr, "alarming finding"),
        0,
        "no line per object: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_down_still_returns_findings_sends_the_alert_and_writes_emf() {
    let world = World::start();
    let (event, _) = creation_event(&world, &[(BROKEN_SOURCE, "q4.pdf")]).await;
    world.fault(json!({"fault": "unavailable", "operation": "PutMetricData"}));
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 1);
    assert_eq!(finding(&report, "q4.pdf")["verdict"], "failed");
    assert_eq!(world.alerts().await.len(), 1, "the alert still goes out");
    assert_eq!(
        lines_containing(&stderr, "could not publish metrics to CloudWatch"),
        1,
        "{stderr}"
    );
    let emf = emf_lines(&stderr);
    assert_eq!(emf.len(), 1, "metrics fall back to EMF: {stderr}");
    assert_eq!(emf[0]["Failed"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sns_down_is_logged_and_does_not_fail_the_batch() {
    let world = World::start();
    let (event, _) = creation_event(&world, &[(BROKEN_SOURCE, "q3.pdf")]).await;
    world.fault(json!({"fault": "unavailable", "operation": "Publish"}));
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 1, "alarming, not an error of the run");
    assert_eq!(finding(&report, "q3.pdf")["verdict"], "failed");
    assert!(
        handed_back(&report).is_empty(),
        "a terminal finding is not retried because SNS failed"
    );
    assert_eq!(
        lines_containing(&stderr, "could not send the alert"),
        1,
        "{stderr}"
    );
    assert!(world.metric_sum("Failed", BROKEN_SOURCE, None).await >= 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn close_deadline_hands_back_every_unaudited_item_and_answers_in_time() {
    let world = World::start();
    let (event, ids) = creation_event(&world, &[(HEALTHY_SOURCE, "late arrival.png")]).await;
    let path = world.write_event(&event);
    let started = Instant::now();
    // 300 ms left and a 300 ms margin: no time to audit anything.
    let output = world.auditor(
        &[
            "invoke",
            "--event",
            path.to_str().unwrap(),
            "--deadline-ms",
            "300",
        ],
        &[("AUDITOR_DEADLINE_MARGIN_MS", "300")],
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let found = finding(&report, "late arrival.png");
    assert_eq!(found["verdict"], "error");
    assert!(found["detail"]["reason"]
        .as_str()
        .unwrap()
        .contains("deadline"));
    assert_eq!(handed_back(&report), ids);
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_record_is_rejected_once_and_left_to_the_dead_letter_path() {
    let world = World::start();
    let (mut event, _) = creation_event(&world, &[(HEALTHY_SOURCE, "fine.png")]).await;
    event["Records"]
        .as_array_mut()
        .unwrap()
        .push(sqs_record("poison", "this is not an S3 event"));
    let started = Instant::now();
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "not retried inside the invocation"
    );
    assert_eq!(code, 1);
    assert_eq!(finding(&report, "fine.png")["verdict"], "replicated");
    assert_eq!(
        handed_back(&report),
        vec!["poison".to_string()],
        "SQS redrives it to the DLQ after maxReceiveCount"
    );
    assert!(report["rejected"][0]["error"]
        .as_str()
        .unwrap()
        .contains("not JSON"));
    assert_eq!(lines_containing(&stderr, "rejected malformed record"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_deliveries_in_one_batch_are_audited_once() {
    let world = World::start();
    let (mut event, ids) = creation_event(&world, &[(HEALTHY_SOURCE, "twice.png")]).await;
    let mut again = event["Records"][0].clone();
    again["messageId"] = json!("redelivered-copy");
    event["Records"].as_array_mut().unwrap().push(again);
    world.reset_stats();
    let (code, report, _) = world.invoke(&event, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        verdicts(&report),
        vec![("twice.png".to_string(), "replicated".to_string())]
    );
    assert_eq!(
        world.stats()["s3"]["HeadObject"],
        1,
        "one destination HEAD, the replica being the proof"
    );
    assert_eq!(ids.len(), 1);
}
