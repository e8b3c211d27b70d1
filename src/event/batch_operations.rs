//! An S3 Batch Operations `LambdaInvoke` invocation (schemas 1.0 and 2.0): one item per task.

use super::batch::{reject, Batch, BatchJob, EventError, Item, NamedObject, Trigger};
use crate::audit::Origin;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// An S3 Batch Operations `LambdaInvoke` invocation: one item per task, named by its `taskId`.
/// Only an invocation the auditor cannot answer in its own shape (no `invocationId`, no
/// `tasks` array, an unknown schema version) is an error; a malformed task is rejected alone.
pub(super) fn decode_batch_operations(object: &Map<String, Value>) -> Result<Batch, EventError> {
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    let schema_version = match text("invocationSchemaVersion") {
        Some(version @ ("1.0" | "2.0")) => version.to_string(),
        Some(other) => {
            return Err(EventError::BatchOperations(format!(
                "invocationSchemaVersion {other:?} is not one the auditor knows (1.0, 2.0)"
            )))
        }
        None => {
            return Err(EventError::BatchOperations(
                "invocationSchemaVersion must be a string (1.0 or 2.0)".into(),
            ))
        }
    };
    let Some(invocation_id) = text("invocationId") else {
        return Err(EventError::BatchOperations(
            "no string invocationId to echo in the response".into(),
        ));
    };
    let Some(tasks) = object.get("tasks").and_then(Value::as_array) else {
        return Err(EventError::BatchOperations("no `tasks` array".into()));
    };
    let job = object.get("job");
    let job = BatchJob {
        schema_version,
        invocation_id: invocation_id.to_string(),
        job_id: job
            .and_then(|j| j.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string),
        user_arguments: job
            .and_then(|j| j.get("userArguments"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    };
    let items = tasks
        .iter()
        .enumerate()
        .map(|(index, task)| batch_task(task, format!("tasks[{index}]")))
        .collect();
    Ok(Batch {
        trigger: Trigger::BatchOperations,
        items,
        receive_counts: HashMap::new(),
        job: Some(job),
    })
}

/// One Batch Operations task. Schema 1.0 names the bucket by ARN (`s3BucketArn`), 2.0 by name
/// (`s3Bucket`); either field is read whatever the version says.
pub(super) fn batch_task(task: &Value, origin: String) -> Item {
    let text = |name: &str| task.get(name).and_then(Value::as_str).map(str::to_string);
    let task_id = text("taskId");
    let origin = match &task_id {
        Some(id) => format!("{origin} (task {id})"),
        None => origin,
    };
    if !task.is_object() {
        return reject(
            task_id,
            origin,
            "Batch Operations task is not a JSON object",
        );
    }
    if task_id.is_none() {
        return reject(
            task_id,
            origin,
            "Batch Operations task has no string taskId",
        );
    }
    let bucket = match (text("s3Bucket"), text("s3BucketArn")) {
        (Some(name), _) => Some(name),
        (None, Some(arn)) => match bucket_from_arn(&arn) {
            Some(name) => Some(name),
            None => {
                return reject(
                    task_id,
                    origin,
                    format!("s3BucketArn {arn:?} is not an S3 bucket ARN (arn:aws:s3:::BUCKET)"),
                )
            }
        },
        (None, None) => None,
    };
    let version_id = match task.get("s3VersionId") {
        None | Some(Value::Null) => None,
        Some(Value::String(version)) => Some(version.clone()),
        Some(_) => {
            return reject(
                task_id,
                origin,
                "Batch Operations task s3VersionId must be a string or null",
            )
        }
    };
    let named = NamedObject {
        bucket,
        raw_key: text("s3Key"),
        version_id,
        event_time: None,
        origin: Origin::Manual,
        events: Vec::new(),
    };
    named.into_item(
        task_id,
        origin,
        "Batch Operations task",
        "s3Bucket (or s3BucketArn)",
        "s3Key",
    )
}

/// `arn:aws:s3:::bucket` → `bucket` (also the regional form some samples show,
/// `arn:aws:s3:REGION:ACCOUNT:bucket`); bucket names never contain `:`.
pub(super) fn bucket_from_arn(arn: &str) -> Option<String> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service) = (parts.next()?, parts.next()?);
    let bucket = parts.nth(2)?;
    (service == "s3" && !bucket.is_empty() && !bucket.contains('/')).then(|| bucket.to_string())
}
