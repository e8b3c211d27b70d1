//! Security properties a user can check in their own logs: GIVEN a full run against the local
//! world with verbose logging, THEN no secret key, session token or object body appears in what
//! the auditor writes, and `AUDITOR_LOG_KEYS=hash` keeps object keys out of the logs.

mod common;

use common::world::*;
use serde_json::{json, Value};

const SECRET: &str = "wJalrXUtnFEMI-do-not-log-this-secret";
const BODY_MARKER: &str = "BODY-MARKER-7f3a9c-private-screenshot-bytes";

async fn run_everything(world: &World, extra_env: &[(&str, &str)]) -> (String, String) {
    world
        .put(
            HEALTHY_SOURCE,
            "private/passport scan.png",
            BODY_MARKER.as_bytes(),
        )
        .await;
    world
        .put(
            BROKEN_SOURCE,
            "private/salary review.pdf",
            BODY_MARKER.as_bytes(),
        )
        .await;
    world.drain();
    let event = world.sqs_event_from_queue().await;
    // Each test its own file: both tests run at once in this process.
    let path = world.write_event(&event);
    let mut env = vec![("AWS_SECRET_ACCESS_KEY", SECRET)];
    env.extend_from_slice(extra_env);
    let output = world.auditor(&["invoke", "--event", path.to_str().unwrap()], &env);
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let report: Value = serde_json::from_str(&stdout).expect("a report");
    assert_eq!(report["counts"]["replicated"], 1);
    assert_eq!(report["counts"]["failed"], 1);
    (stdout, String::from_utf8_lossy(&output.stderr).to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_logs_hold_no_secret_no_session_token_and_no_object_body() {
    let world = World::start();
    let (stdout, stderr) = run_everything(&world, &[("RUST_LOG", "trace")]).await;
    assert!(stderr.lines().count() > 20, "trace logging is really on");
    let issued = world.control("GET", "/_world/issued-credentials", "");
    let issued = issued.as_array().expect("credentials list");
    assert!(!issued.is_empty(), "the auditor assumed the audit role");
    let mut secrets = vec![SECRET.to_string()];
    for credentials in issued {
        secrets.push(
            credentials["secret_access_key"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        secrets.push(credentials["session_token"].as_str().unwrap().to_string());
    }
    for output in [&stdout, &stderr] {
        for secret in &secrets {
            assert!(
                !output.contains(secret.as_str()),
                "a secret reached the output"
            );
        }
        assert!(
            !output.contains(BODY_MARKER),
            "an object body reached the output"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hashed_keys_keep_object_names_out_of_the_logs() {
    let world = World::start();
    let (stdout, stderr) = run_everything(&world, &[("AUDITOR_LOG_KEYS", "hash")]).await;
    assert!(
        stdout.contains("private/salary review.pdf"),
        "the report itself still names objects"
    );
    assert!(
        !stderr.contains("salary review") && !stderr.contains("passport scan"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sha256:"),
        "the alarming finding is logged with a hashed key: {stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Forged events and where keys go (the security review's findings).

fn forged_failure(key: &str, version: &str, reason: &str) -> Value {
    let record = json!({"Records": [{
        "eventVersion": "2.2", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-12-01T00:00:00.000Z", "eventName": "Replication:OperationFailedReplication",
        "s3": {"bucket": {"name": HEALTHY_SOURCE}, "object": {"key": key, "versionId": version}},
        "replicationEventData": {"replicationRuleId": "r", "destinationBucket": format!("arn:aws:s3:::{HEALTHY_DESTINATION}"),
            "s3Operation": "OBJECT_PUT", "requestTime": "2026-12-01T00:00:00Z", "failureReason": reason}}]});
    json!({"Records": [sqs_record("forged", &record.to_string())]})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_failure_for_a_version_that_never_existed_is_quiet() {
    let world = World::start();
    let event = forged_failure(
        "never/written.txt",
        "3HL4kqtJvjVBH40Nrjfkd",
        "DstPutObjectNotPermitted",
    );
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        report["findings"][0]["verdict"], "source_gone",
        "{report:#}"
    );
    assert!(world.alerts().await.is_empty(), "nobody is paged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_failure_reason_never_reaches_the_alert() {
    let world = World::start();
    // A real object whose replica is not there (the world holds replication back).
    world.fault(json!({"fault": "stay_pending", "bucket": HEALTHY_SOURCE, "key_regex": "^held/"}));
    let version = world.put(HEALTHY_SOURCE, "held/a.txt", b"x").await;
    world.drain();
    let phishing = format!(
        "Your replication is broken: log in at https://evil.example/login to fix it {}",
        "x".repeat(5000)
    );
    let (code, report, stderr) =
        world.invoke(&forged_failure("held/a.txt", &version, &phishing), &[]);
    assert_eq!(code, 1, "{stderr}");
    let finding = &report["findings"][0];
    assert_eq!(finding["verdict"], "failed");
    assert_eq!(
        finding["detail"]["failure_reason"],
        Value::Null,
        "not believed: {finding:#}"
    );
    let alerts = world.alerts().await;
    assert_eq!(alerts.len(), 1);
    let (subject, message) = &alerts[0];
    for text in [subject, message, &report.to_string(), &stderr] {
        assert!(!text.contains("evil.example/login"), "{text}");
        assert!(!text.contains("https://evil"), "{text}");
    }
    assert!(message.len() < 20_000, "{} bytes", message.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn hashed_keys_appear_in_no_log_and_no_alert() {
    let world = World::start();
    let secret_key = "customers/jane.doe@example.com/passport.pdf";
    world.put(BROKEN_SOURCE, secret_key, b"x").await;
    world.drain();
    let event = world.sqs_event_from_queue().await;
    let (code, report, stderr) = world.invoke(&event, &[("AUDITOR_LOG_KEYS", "hash")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("jane.doe"), "{stderr}");
    let alerts = world.alerts().await;
    assert_eq!(alerts.len(), 1);
    for (subject, message) in &alerts {
        assert!(
            !subject.contains("jane.doe") && !message.contains("jane.doe"),
            "{message}"
        );
        assert!(message.contains("sha256:"), "{message}");
    }
    // The response goes back to the caller only, and still names the object.
    assert!(report.to_string().contains("jane.doe"));
    // A person holding the key finds the hash the alert shows.
    let url = format!("s3://{BROKEN_SOURCE}/{secret_key}");
    let output = world.auditor(&["check", &url], &[("AUDITOR_LOG_KEYS", "hash")]);
    let said = String::from_utf8_lossy(&output.stderr);
    let hash = said
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(alerts[0].1.contains(hash), "{hash} not in the alert");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_s3_call_of_the_auditor_names_the_expected_bucket_owner() {
    let world = World::start();
    world.scenario("tag-filter");
    world.put(HEALTHY_SOURCE, "owner/a.png", b"x").await;
    world.put(BROKEN_SOURCE, "owner/b.pdf", b"x").await;
    world
        .put_tagged("acme-tagged", "owner/c.txt", "replicate=yes")
        .await;
    world.drain();
    let event = world.sqs_event_from_queue().await;
    world.reset_stats();
    let (_, report, stderr) = world.invoke(&event, &[]);
    assert!(
        report["findings"].as_array().unwrap().len() >= 3,
        "{stderr}"
    );
    for args in [
        vec!["check", "s3://acme-screenshots/owner/a.png"],
        vec!["check", "s3://acme-screenshots/owner/A.png"],
        vec!["doctor", "--source-bucket", HEALTHY_SOURCE],
    ] {
        let output = world.auditor(&args, &[]);
        assert!(output.status.code().is_some(), "{args:?}");
    }
    let stats = world.stats();
    assert_eq!(
        stats.get("s3-without-expected-owner"),
        None,
        "S3 calls without ExpectedBucketOwner: {stats:#}"
    );
    assert!(
        stats["s3"]["HeadObject"].as_u64().unwrap() >= 3,
        "{stats:#}"
    );
}
