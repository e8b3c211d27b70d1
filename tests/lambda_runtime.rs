//! The binary as Lambda runs it: `serve_lambda` behind a Lambda Runtime API
//! (`world/lambda_runtime.py`), against the local world. GIVEN events as Lambda delivers them
//! WHEN the runtime loop handles them THEN the answers Lambda would pass on (to SQS, to a
//! caller) and the function's log.

mod common;

use common::world::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn an_sqs_batch_is_answered_with_the_partial_batch_response_and_emf_metrics() {
    let world = World::start();
    world.fault(json!({"fault": "stay_pending", "key_regex": "^slow/"}));
    world.put(HEALTHY_SOURCE, "fast.png", b"x").await;
    world.put(HEALTHY_SOURCE, "slow/big.bin", b"x").await;
    world.drain();
    let event = world.sqs_event_from_queue().await;
    let slow_message = event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["body"].as_str().unwrap().contains("slow/big.bin"))
        .unwrap()["messageId"]
        .clone();
    world.reset_stats();
    let (answers, log) = world.lambda(&[event], 60_000, &[]);
    let answer = &answers[0];
    assert_eq!(answer["status"], "response", "{log}");
    let body = &answer["body"];
    assert_eq!(body["counts"]["replicated"], 1);
    assert_eq!(body["counts"]["pending"], 1);
    assert_eq!(
        body["batchItemFailures"],
        json!([{ "itemIdentifier": slow_message }]),
        "only the PENDING object's message is handed back"
    );
    // Inside Lambda: EMF on stdout (no PutMetricData), JSON logs.
    assert!(
        world.stats().get("monitoring").is_none(),
        "{}",
        world.stats()
    );
    let emf: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert!(!emf.is_empty(), "{log}");
    assert!(
        log.lines().any(|l| l.contains("\"audit complete\"")),
        "{log}"
    );
    // And no sleeping on the PENDING object: handed back at once.
    assert!(answer["wall_ms"].as_f64().unwrap() < 5_000.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_runtime_deadline_is_honoured_and_unaudited_messages_are_handed_back() {
    let world = World::start();
    world.put(HEALTHY_SOURCE, "late arrival.png", b"x").await;
    world.drain();
    let event = world.sqs_event_from_queue().await;
    // 1.5 s until Lambda's deadline, 2 s of margin: no time to audit anything.
    let (answers, log) = world.lambda(&[event], 1_500, &[]);
    assert!(
        log.contains("AUDITOR_DEADLINE_MARGIN_MS is as long as the function's timeout"),
        "the first invocation warns that nothing can be audited: {log}"
    );
    let body = &answers[0]["body"];
    assert_eq!(answers[0]["status"], "response");
    assert_eq!(body["counts"]["error"], 1);
    assert!(body["findings"][0]["detail"]["reason"]
        .as_str()
        .unwrap()
        .contains("deadline"));
    assert_eq!(body["batchItemFailures"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unrecognised_event_is_a_function_error_with_its_type_and_the_container_lives_on() {
    let world = World::start();
    let (answers, _) = world.lambda(
        &[json!({"hello": "world"}), json!({"objects": []})],
        10_000,
        &[],
    );
    assert_eq!(answers[0]["status"], "error");
    assert_eq!(answers[0]["errorType"], "UnrecognisedEvent");
    assert!(answers[0]["body"]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("hello"));
    assert_eq!(
        answers[1]["status"], "response",
        "the next invocation is served"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_s_log_level_and_format_controls_are_honoured() {
    let world = World::start();
    let (_, text) = world.lambda(
        &[json!({"objects": []})],
        10_000,
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "Text"),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        ],
    );
    let summary = text
        .lines()
        .find(|l| l.contains("audit complete"))
        .expect(&text);
    assert!(
        serde_json::from_str::<Value>(summary).is_err(),
        "plain text: {summary}"
    );
    let (_, quiet) = world.lambda(
        &[json!({"objects": []})],
        10_000,
        &[("AWS_LAMBDA_LOG_LEVEL", "WARN")],
    );
    assert!(!quiet.contains("audit complete"), "{quiet}");
}
