//! S3 Batch Operations `LambdaInvoke` end to end: GIVEN objects in the local world (replicated,
//! failed, held PENDING, throttled, deleted) WHEN a Batch Operations invocation of schema 1.0 or
//! 2.0 reaches the real binary (the CLI's `invoke` and the Lambda runtime) THEN the exact
//! Batch Operations response: the invocation echoed, one result per task, the verdict as
//! `resultString` and the result code S3 acts on.

mod common;

use common::world::*;
use s3_replication_auditor::event::keys::encode_event_key;
use serde_json::{json, Value};

/// A schema 1.0 task (bucket by ARN) or a 2.0 task (bucket by name); keys URL-encoded.
fn task(schema: &str, id: &str, bucket: &str, key: &str, version: Option<&str>) -> Value {
    let mut task = json!({"taskId": id, "s3Key": encode_event_key(key), "s3VersionId": version});
    if schema == "1.0" {
        task["s3BucketArn"] = json!(format!("arn:aws:s3:::{bucket}"));
    } else {
        task["s3Bucket"] = json!(bucket);
    }
    task
}

fn invocation(schema: &str, tasks: Vec<Value>) -> Value {
    let mut job = json!({"id": "job-1"});
    if schema == "2.0" {
        job["userArguments"] = json!({"note": "inventory audit"});
    }
    json!({"invocationSchemaVersion": schema, "invocationId": format!("inv-{schema}"),
           "job": job, "tasks": tasks})
}

/// (taskId, resultCode, the verdict that starts resultString).
fn results(response: &Value) -> Vec<(String, String, String)> {
    response["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {response}"))
        .iter()
        .map(|r| {
            let text = r["resultString"].as_str().unwrap();
            (
                r["taskId"].as_str().unwrap().to_string(),
                r["resultCode"].as_str().unwrap().to_string(),
                text.split([' ', ':']).next().unwrap().to_string(),
            )
        })
        .collect()
}

fn result(id: &str, code: &str, verdict: &str) -> (String, String, String) {
    (id.into(), code.into(), verdict.into())
}

/// Exactly the documented fields, echoed where they must be.
fn assert_shape(response: &Value, event: &Value) {
    let mut fields: Vec<&str> = response
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "invocationId",
            "invocationSchemaVersion",
            "results",
            "treatMissingKeysAs"
        ]
    );
    assert_eq!(
        response["invocationSchemaVersion"],
        event["invocationSchemaVersion"]
    );
    assert_eq!(response["invocationId"], event["invocationId"]);
    assert_eq!(response["treatMissingKeysAs"], "PermanentFailure");
    for result in response["results"].as_array().unwrap() {
        let mut fields: Vec<&str> = result
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort();
        assert_eq!(fields, ["resultCode", "resultString", "taskId"]);
        assert!(result["resultString"].as_str().unwrap().len() <= 512);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn both_schemas_answer_one_result_per_task_with_the_verdict() {
    let world = World::start();
    let shot = "Screen Shot 2026-11-24 at 10.15.03 + copy ☕.png";
    let shot_version = world.put(HEALTHY_SOURCE, shot, b"png").await;
    world
        .put(BROKEN_SOURCE, "monthly report November.pdf", b"pdf")
        .await;
    world.drain();

    for schema in ["1.0", "2.0"] {
        let event = invocation(
            schema,
            vec![
                task(schema, "t-shot", HEALTHY_SOURCE, shot, Some(&shot_version)),
                // No version id (null): the current version is audited.
                task(
                    schema,
                    "t-report",
                    BROKEN_SOURCE,
                    "monthly report November.pdf",
                    None,
                ),
                // Deleted from the source before the job ran (or never there): not found, and
                // no retry finds it.
                task(schema, "t-gone", HEALTHY_SOURCE, "gone.txt", None),
                json!({"taskId": "t-bad", "s3Key": "%zz", "s3Bucket": HEALTHY_SOURCE}),
            ],
        );
        let (code, response, stderr) = world.invoke(&event, &[]);
        assert_eq!(code, 1, "a failed object is alarming: {stderr}");
        assert_shape(&response, &event);
        assert_eq!(
            results(&response),
            [
                result("t-shot", "Succeeded", "replicated"),
                result("t-report", "PermanentFailure", "failed"),
                result("t-gone", "PermanentFailure", "not_found"),
                result("t-bad", "PermanentFailure", "rejected"),
            ],
            "schema {schema}: {response:#}"
        );
        let failed = response["results"][1]["resultString"].as_str().unwrap();
        assert!(failed.contains(BROKEN_DESTINATION), "{failed}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_and_throttled_objects_are_temporary_failures_under_the_lambda_runtime() {
    let world = World::start();
    world.fault(json!({"fault": "stay_pending", "bucket": HEALTHY_SOURCE, "key_regex": "^slow"}));
    let slow = world.put(HEALTHY_SOURCE, "slow upload.bin", b"x").await;
    let busy = world.put(HEALTHY_SOURCE, "busy.bin", b"x").await;
    world.drain();
    world.fault(
        json!({"fault": "throttle", "operation": "HeadObject", "key_regex": "^busy",
                       "count": 100000}),
    );
    let event = invocation(
        "2.0",
        vec![
            task(
                "2.0",
                "t-slow",
                HEALTHY_SOURCE,
                "slow upload.bin",
                Some(&slow),
            ),
            task("2.0", "t-busy", HEALTHY_SOURCE, "busy.bin", Some(&busy)),
        ],
    );
    let (answers, log) = world.lambda(std::slice::from_ref(&event), 20_000, &[]);
    assert_eq!(answers[0]["status"], "response", "{log}");
    let response = &answers[0]["body"];
    assert_shape(response, &event);
    assert_eq!(
        results(response),
        [
            result("t-slow", "TemporaryFailure", "pending"),
            result("t-busy", "TemporaryFailure", "error"),
        ],
        "{response:#}"
    );
    // Batch Operations runs both tasks again: the throttled audit is counted, nobody is paged.
    let lines = emf_lines(&log);
    let sum = |metric: &str| -> u64 {
        lines
            .iter()
            .filter(|line| line.get("DestinationBucket").is_some())
            .filter_map(|line| line[metric].as_u64())
            .sum()
    };
    assert_eq!((sum("AuditRetries"), sum("AuditErrors")), (1, 0), "{log}");
    assert_eq!(world.alerts().await, [], "{log}");
}
