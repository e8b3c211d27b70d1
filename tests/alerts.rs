//! Alerts a team acts on, end to end: GIVEN a storm of failures in the world's broken pair WHEN
//! the auditor runs on the notifications S3 queued THEN the world's SNS delivers one message,
//! grouped by cause, rendered for each subscriber — e-mail text, an Amazon Q custom
//! notification (judged by the world against the custom-notification schema), JSON for SQS —
//! and a container holds a cause back within its cool-down.

mod common;

use common::world::*;
use serde_json::{json, Value};

/// What the world's SNS delivered to each protocol's subscriber of the alert topic.
fn deliveries(world: &World, protocol: &str) -> Vec<Value> {
    let listed = world.control(
        "GET",
        &format!("/_world/sns-deliveries?topic={ALERT_TOPIC_ARN}&protocol={protocol}"),
        "",
    );
    listed.as_array().cloned().unwrap_or_default()
}

/// `n` objects written to the broken pair: the notifications S3 queued (creations and
/// DstPutObjectNotPermitted failures) as one SQS event.
async fn storm(world: &World, prefix: &str, n: usize) -> Value {
    for i in 0..n {
        world
            .put(BROKEN_SOURCE, &format!("{prefix}/report {i}.pdf"), b"pdf")
            .await;
    }
    world.drain();
    world.sqs_event_from_queue().await
}

#[tokio::test(flavor = "multi_thread")]
async fn forty_failures_of_one_cause_are_one_message_per_subscriber_with_the_count_and_the_fix_once(
) {
    let world = World::start();
    let event = storm(&world, "q4", 40).await;
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["counts"]["failed"], 40);

    let email = deliveries(&world, "email");
    assert_eq!(email.len(), 1, "{email:#?}");
    let subject = email[0]["subject"].as_str().unwrap();
    assert_eq!(
        subject,
        "S3 replication: 40 objects FAILED to acme-reports-replica - DstPutObjectNotPermitted"
    );
    let text = email[0]["message"].as_str().unwrap();
    assert_eq!(text.matches("fix: ").count(), 1, "{text}");
    assert!(text.contains("40 objects FAILED"), "{text}");
    assert!(text.contains("…and 35 more"), "{text}");
    assert!(text.len() < 8_000, "{} bytes", text.len());

    let chat = deliveries(&world, "https");
    assert_eq!(chat.len(), 1);
    assert_eq!(
        chat[0]["accepted"], true,
        "Amazon Q would drop it: {}",
        chat[0]["reason"]
    );
    let envelope: Value = serde_json::from_str(chat[0]["message"].as_str().unwrap()).unwrap();
    let notification: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(notification["source"], "custom");
    assert_eq!(
        notification["metadata"]["threadId"],
        "s3-replication/acme-reports/acme-reports-replica/failed/DstPutObjectNotPermitted"
    );

    let sqs = deliveries(&world, "sqs");
    assert_eq!(sqs.len(), 1);
    let envelope: Value = serde_json::from_str(sqs[0]["message"].as_str().unwrap()).unwrap();
    let data: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(data["causes"].as_array().unwrap().len(), 1);
    assert_eq!(data["causes"][0]["count"], 40);
    assert_eq!(data["causes"][0]["code"], "DstPutObjectNotPermitted");
    assert_eq!(data["causes"][0]["examples"].as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_causes_are_both_named_with_their_counts() {
    let world = World::start();
    let mut event = storm(&world, "a", 3).await;
    // A second cause: a missing replica in the healthy pair.
    world.fault(json!({"fault": "complete_without_replica", "bucket": HEALTHY_SOURCE, "key_regex": "^lost/"}));
    world.put(HEALTHY_SOURCE, "lost/receipt.png", b"png").await;
    world.drain();
    let more = world.sqs_event_from_queue().await;
    let records = event["Records"].as_array_mut().unwrap();
    records.extend(more["Records"].as_array().unwrap().iter().cloned());
    let (code, _, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 1, "{stderr}");
    let email = deliveries(&world, "email");
    assert_eq!(email.len(), 1);
    let text = email[0]["message"].as_str().unwrap();
    assert!(
        text.contains("3 objects FAILED to acme-reports-replica - DstPutObjectNotPermitted")
            || text.contains("3 objects FAILED to acme-reports-replica — DstPutObjectNotPermitted"),
        "{text}"
    );
    assert!(
        text.contains("1 object MISSING to acme-screenshots-replica"),
        "{text}"
    );
    assert!(email[0]["subject"]
        .as_str()
        .unwrap()
        .ends_with("(+1 more causes)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cause_alerted_by_a_container_is_held_back_within_the_cool_down() {
    let world = World::start();
    let first = storm(&world, "first", 2).await;
    let second = storm(&world, "second", 3).await;
    // One warm container, two invocations with the same cause.
    let (answers, log) = world.lambda(&[first, second], 60_000, &[]);
    assert_eq!(answers.len(), 2, "{log}");
    let email = deliveries(&world, "email");
    assert_eq!(
        email.len(),
        1,
        "the second invocation is held back: {email:#?}\n{log}"
    );
    assert!(log.contains("AUDITOR_ALERT_COOLDOWN_SECONDS"), "{log}");
    // Without a cool-down every invocation alerts.
    let world = World::start();
    let first = storm(&world, "first", 1).await;
    let second = storm(&world, "second", 1).await;
    world.lambda(
        &[first, second],
        60_000,
        &[("AUDITOR_ALERT_COOLDOWN_SECONDS", "0")],
    );
    assert_eq!(deliveries(&world, "email").len(), 2);
}
