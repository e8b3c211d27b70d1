//! The alarms people are paged by, as CloudWatch would evaluate them: the alarms of
//! infra/auditor.yaml live in the world (one stack per source bucket), the real binary
//! publishes its metrics there, and the world evaluates the alarms now.

mod common;

use common::world::*;
use serde_json::{json, Value};

fn alarm(board: &Value, name: &str) -> (String, String) {
    let entry = board
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no alarm {name} in {board}"));
    (
        entry["state"].as_str().unwrap().to_string(),
        entry["reason"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_replication_fires_its_alarm_and_nothing_else() {
    let world = World::start();
    world.put(BROKEN_SOURCE, "q4 report.pdf", b"x").await;
    world.drain();
    let event = world.sqs_event_from_queue().await;
    let (code, _, _) = world.invoke(&event, &[]);
    assert_eq!(code, 1);
    let board = world.control("GET", "/_world/alarms?evaluate=1", "");
    let (state, reason) = alarm(&board, "auditor-acme-reports-replication-failed");
    assert_eq!(state, "ALARM", "{reason}");
    assert!(reason.starts_with("Threshold Crossed"), "{reason}");
    assert_eq!(alarm(&board, "auditor-acme-reports-auditor-blind").0, "OK");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transient_error_sqs_retries_does_not_page_the_last_delivery_does() {
    let world = World::start();
    let body = world
        .healthy_object_whose_replica_cannot_be_read("blip.png")
        .await;
    let env = [("AUDITOR_MAX_RECEIVE_COUNT", "3")];
    let first = json!({"Records": [sqs_delivery("m1", &body, 1)]});
    world.invoke(&first, &env);
    let board = world.control("GET", "/_world/alarms?evaluate=1", "");
    let (state, reason) = alarm(&board, "auditor-acme-screenshots-auditor-blind");
    assert_eq!(state, "OK", "a blip SQS retries pages nobody: {reason}");

    let last = json!({"Records": [sqs_delivery("m1", &body, 3)]});
    world.invoke(&last, &env);
    let board = world.control("GET", "/_world/alarms?evaluate=1", "");
    assert_eq!(
        alarm(&board, "auditor-acme-screenshots-auditor-blind").0,
        "ALARM",
        "the error on the last delivery is persistent"
    );
}
