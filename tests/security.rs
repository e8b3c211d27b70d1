//! Security properties a user can check in their own logs: GIVEN a full run against the local
//! world with verbose logging, THEN no secret key, session token or object body appears in what
//! the auditor writes, and `AUDITOR_LOG_KEYS=hash` keeps object keys out of the logs.

mod common;

use common::world::*;
use serde_json::Value;

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
