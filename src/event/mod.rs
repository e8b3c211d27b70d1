//! Event decoding: every trigger shape the auditor accepts → a [`Batch`] of [`Item`]s.
//!
//! Accepted shapes (see docs/reference.md, "Event shapes"):
//! - S3 event notification (`Records[].s3`), including S3 replication events
//!   (`Replication:OperationFailedReplication`, …) with their `replicationEventData`;
//! - SQS (`Records[].body`) whose bodies hold an S3 event, an `s3:TestEvent`, an SNS
//!   notification wrapping an S3 event, an EventBridge event or a manual payload;
//! - SNS (`Records[].Sns.Message`) wrapping an S3 event;
//! - EventBridge `Object Created` from `aws.s3`;
//! - a manual payload `{"bucket": "...", "key": "...", "version_id": "..."}` (key not encoded),
//!   or `{"objects": [ {…}, … ]}`;
//! - an S3 Batch Operations `LambdaInvoke` invocation, schema 1.0 (`tasks[].s3BucketArn`) or
//!   2.0 (`tasks[].s3Bucket`, `job.userArguments`); keys URL-encoded, `s3VersionId` optional
//!   (S3 user guide, "S3 Batch Operations" / "Invoke AWS Lambda function").
//!
//! Every record becomes exactly one item per object it names: something to audit, a skip with
//! a reason (deletes, test events, other event types), or a rejection with a clear error
//! (malformed record). Only a payload of no known shape at all is an [`EventError`].

pub mod keys;

use crate::audit::{
    ObjectRef, Origin, ReplicatedOperation, ReplicationEvent, ReplicationEventKind,
};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3EventRecord;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use thiserror::Error;

/// The shape that carried the batch; decides the response format (SQS partial batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    S3,
    Sqs,
    Sns,
    EventBridge,
    Manual,
    /// S3 Batch Operations `LambdaInvoke`: the response is the Batch Operations shape.
    BatchOperations,
}

/// The S3 Batch Operations invocation a batch came from: what the response must echo.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchJob {
    /// `invocationSchemaVersion`: `1.0` or `2.0`.
    pub schema_version: String,
    pub invocation_id: String,
    pub job_id: Option<String>,
    /// Schema 2.0 `job.userArguments` (accepted; the auditor needs none).
    pub user_arguments: Map<String, Value>,
}

/// What one record (or one object inside a record) asks of the auditor.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Audit(ObjectRef),
    /// Acknowledged, not audited (delete events, `s3:TestEvent`, …).
    Skip(String),
    /// Malformed: cannot be audited; the string says what is wrong.
    Reject(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The identifier the response names the record by: the SQS `messageId` (partial-batch
    /// item identifier) or the Batch Operations `taskId`.
    pub message_id: Option<String>,
    /// Where in the event this came from, for messages (`Records[3]`).
    pub origin: String,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub trigger: Trigger,
    pub items: Vec<Item>,
    /// SQS `attributes.ApproximateReceiveCount` per message id: how often SQS has delivered it.
    pub receive_counts: HashMap<String, u32>,
    /// Present when the trigger is S3 Batch Operations.
    pub job: Option<BatchJob>,
}

pub const ACCEPTED_SHAPES: &str = "an S3 event notification ({\"Records\":[{\"s3\":…}]}), an SQS event ({\"Records\":[{\"messageId\",\"body\"}]}), an SNS event ({\"Records\":[{\"Sns\":{\"Message\"}}]}), an EventBridge \"Object Created\" event from aws.s3, an s3:TestEvent, a manual payload ({\"bucket\",\"key\",\"version_id\"} or {\"objects\":[…]}), or an S3 Batch Operations invocation ({\"invocationSchemaVersion\",\"invocationId\",\"tasks\":[…]})";

#[derive(Debug, Error, PartialEq)]
pub enum EventError {
    #[error("the event is {0}, not a JSON object; expected {ACCEPTED_SHAPES}")]
    NotAnObject(&'static str),
    #[error("unrecognised event shape (top-level fields: {fields}); expected {ACCEPTED_SHAPES}")]
    UnknownShape { fields: String },
    #[error("S3 Batch Operations invocation: {0}")]
    BatchOperations(String),
}

/// Decodes a whole Lambda payload.
pub fn decode(event: &Value) -> Result<Batch, EventError> {
    let Some(object) = event.as_object() else {
        return Err(EventError::NotAnObject(json_type(event)));
    };
    if let Some(records) = object.get("Records") {
        let Some(records) = records.as_array() else {
            return Err(unknown_shape(object));
        };
        let trigger = records.first().map(record_trigger).unwrap_or(Trigger::S3);
        let mut items = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            let origin = format!("Records[{index}]");
            match trigger {
                Trigger::Sqs => decode_sqs_record(record, &origin, &mut items),
                Trigger::Sns => decode_sns_record(record, &origin, &mut items),
                _ => items.push(decode_s3_record(record, None, origin)),
            }
        }
        let receive_counts = records
            .iter()
            .filter_map(|record| {
                let id = record.get("messageId")?.as_str()?;
                let count = record
                    .pointer("/attributes/ApproximateReceiveCount")?
                    .as_str()?
                    .parse()
                    .ok()?;
                Some((id.to_string(), count))
            })
            .collect();
        return Ok(Batch {
            trigger,
            items,
            receive_counts,
            job: None,
        });
    }
    if object.contains_key("invocationSchemaVersion") {
        return decode_batch_operations(object);
    }
    if object.contains_key("detail-type") {
        return Ok(Batch {
            trigger: Trigger::EventBridge,
            items: vec![decode_eventbridge(event, None, "event".into())],
            receive_counts: HashMap::new(),
            job: None,
        });
    }
    if is_test_event(object) {
        return Ok(Batch {
            trigger: Trigger::S3,
            items: vec![test_event_item(None, "event".into())],
            receive_counts: HashMap::new(),
            job: None,
        });
    }
    if object.contains_key("bucket") || object.contains_key("objects") {
        let mut items = Vec::new();
        decode_manual(object, None, "event", &mut items);
        return Ok(Batch {
            trigger: Trigger::Manual,
            items,
            receive_counts: HashMap::new(),
            job: None,
        });
    }
    Err(unknown_shape(object))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn unknown_shape(object: &Map<String, Value>) -> EventError {
    let mut fields: Vec<&str> = object.keys().map(String::as_str).take(10).collect();
    if fields.is_empty() {
        fields.push("none");
    }
    EventError::UnknownShape {
        fields: fields.join(", "),
    }
}

fn record_trigger(record: &Value) -> Trigger {
    let source = record
        .get("eventSource")
        .or_else(|| record.get("EventSource"))
        .and_then(Value::as_str);
    match source {
        Some("aws:sqs") => Trigger::Sqs,
        Some("aws:sns") => Trigger::Sns,
        Some(_) => Trigger::S3,
        None if record.get("body").is_some() || record.get("messageId").is_some() => Trigger::Sqs,
        None if record.get("Sns").is_some() => Trigger::Sns,
        None => Trigger::S3,
    }
}

fn is_test_event(object: &Map<String, Value>) -> bool {
    object.get("Event").and_then(Value::as_str) == Some("s3:TestEvent")
}

fn test_event_item(message_id: Option<String>, origin: String) -> Item {
    Item {
        message_id,
        origin,
        content: Content::Skip(
            "s3:TestEvent: S3 confirming the notification configuration; nothing to audit".into(),
        ),
    }
}

fn reject(message_id: Option<String>, origin: String, why: impl Into<String>) -> Item {
    Item {
        message_id,
        origin,
        content: Content::Reject(why.into()),
    }
}

fn decode_sqs_record(record: &Value, origin: &str, items: &mut Vec<Item>) {
    let message_id = record
        .get("messageId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let origin = match &message_id {
        Some(id) => format!("{origin} (SQS message {id})"),
        None => origin.to_string(),
    };
    let Some(body) = record.get("body").and_then(Value::as_str) else {
        items.push(reject(
            message_id,
            origin,
            "SQS record has no string `body`",
        ));
        return;
    };
    decode_embedded(body, message_id, &origin, items, 0);
}

fn decode_sns_record(record: &Value, origin: &str, items: &mut Vec<Item>) {
    match record
        .get("Sns")
        .and_then(|sns| sns.get("Message"))
        .and_then(Value::as_str)
    {
        Some(message) => decode_embedded(message, None, origin, items, 0),
        None => items.push(reject(
            None,
            origin.to_string(),
            "SNS record has no string `Sns.Message`",
        )),
    }
}

/// A JSON document carried as a string (SQS body, SNS message), possibly nested once more.
fn decode_embedded(
    text: &str,
    message_id: Option<String>,
    origin: &str,
    items: &mut Vec<Item>,
    depth: u8,
) {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            items.push(reject(
                message_id,
                origin.to_string(),
                format!("message body is not JSON: {error}"),
            ));
            return;
        }
    };
    let Some(object) = value.as_object() else {
        items.push(reject(
            message_id,
            origin.to_string(),
            format!("message body is {}, not a JSON object", json_type(&value)),
        ));
        return;
    };
    if let Some(kind @ ("SubscriptionConfirmation" | "UnsubscribeConfirmation")) =
        object.get("Type").and_then(Value::as_str)
    {
        // SNS sends these to a subscribed queue when the subscription is made or removed (SNS
        // developer guide, "HTTP/S message formats"); with an SQS subscription SNS confirms
        // itself, so there is nothing to do, and nothing to hand to the dead-letter queue.
        items.push(skip(
            message_id,
            origin.to_string(),
            format!("SNS {kind} message: not an S3 event; nothing to audit"),
        ));
        return;
    }
    if object.get("Type").and_then(Value::as_str) == Some("Notification") && depth == 0 {
        match object.get("Message").and_then(Value::as_str) {
            Some(message) => decode_embedded(message, message_id, origin, items, depth + 1),
            None => items.push(reject(
                message_id,
                origin.to_string(),
                "SNS notification has no string `Message`",
            )),
        }
        return;
    }
    if is_test_event(object) {
        items.push(test_event_item(message_id, origin.to_string()));
        return;
    }
    if let Some(records) = object.get("Records").and_then(Value::as_array) {
        if records.is_empty() {
            items.push(Item {
                message_id: message_id.clone(),
                origin: origin.to_string(),
                content: Content::Skip("S3 event with no records".into()),
            });
        }
        for (index, record) in records.iter().enumerate() {
            items.push(decode_s3_record(
                record,
                message_id.clone(),
                format!("{origin} Records[{index}]"),
            ));
        }
        return;
    }
    if object.contains_key("detail-type") {
        items.push(decode_eventbridge(&value, message_id, origin.to_string()));
        return;
    }
    if object.contains_key("bucket") || object.contains_key("objects") {
        decode_manual(object, message_id, origin, items);
        return;
    }
    items.push(reject(
        message_id,
        origin.to_string(),
        format!("{}", unknown_shape(object)),
    ));
}

fn decode_s3_record(record: &Value, message_id: Option<String>, origin: String) -> Item {
    let source = record
        .get("eventSource")
        .or_else(|| record.get("EventSource"))
        .and_then(Value::as_str);
    if let Some(other) = source.filter(|s| *s != "aws:s3") {
        return reject(
            message_id,
            origin,
            format!("a record from {other}, not an S3 event (eventSource aws:s3): this trigger does not belong to the replication auditor"),
        );
    }
    // userIdentity and requestParameters are required by the event type but carry nothing the
    // audit needs: a producer that leaves them out still gets its objects audited.
    let mut record = record.clone();
    if let Some(fields) = record.as_object_mut() {
        for name in ["userIdentity", "requestParameters"] {
            fields
                .entry(name)
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    let record = &record;
    let parsed: S3EventRecord = match serde_json::from_value(record.clone()) {
        Ok(parsed) => parsed,
        Err(error) => {
            return reject(
                message_id,
                origin,
                format!("malformed S3 event record: {error}"),
            )
        }
    };
    let name = parsed.event_name.clone().unwrap_or_default();
    let name = name.strip_prefix("s3:").unwrap_or(&name);
    let mut events = Vec::new();
    let origin_kind = if name.starts_with("ObjectCreated:") {
        Origin::Created
    } else if let Some(kind) = name.strip_prefix("Replication:") {
        match ReplicationEventKind::parse(kind) {
            Some(kind) => match replication_event_data(record, kind) {
                Ok(event) => {
                    events.push(event);
                    Origin::Replication
                }
                Err(why) => return reject(message_id, origin, why),
            },
            None => {
                return skip(
                    message_id,
                    origin,
                    format!("replication event {name} is not one the auditor acts on"),
                )
            }
        }
    } else if name.starts_with("ObjectTagging:") {
        Origin::TagsChanged
    } else if name == "ObjectAcl:Put" {
        Origin::AclChanged
    } else if name.is_empty() {
        return reject(message_id, origin, "S3 event record has no eventName");
    } else if name == "LifecycleExpiration:DeleteMarkerCreated" {
        // User guide, "What is replicated with replication configurations": S3 creates delete
        // markers for expired objects but does not replicate those markers.
        return skip(
            message_id,
            origin,
            format!(
                "{name}: S3 never replicates delete markers that S3 Lifecycle creates; not audited"
            ),
        );
    } else if name.starts_with("ObjectRemoved:") {
        return skip(
            message_id,
            origin,
            format!("{name}: deletions are not audited (the object is gone on purpose)"),
        );
    } else {
        return skip(
            message_id,
            origin,
            format!("{name}: not an object creation or replication event; not audited"),
        );
    };
    let named = NamedObject {
        bucket: parsed.s3.bucket.name,
        raw_key: parsed.s3.object.key,
        version_id: parsed.s3.object.version_id,
        event_time: Some(parsed.event_time),
        origin: origin_kind,
        events,
    };
    named.into_item(
        message_id,
        origin,
        "S3 event record",
        "s3.bucket.name",
        "s3.object.key",
    )
}

/// An object as a notification names it, before its key is decoded and checked.
struct NamedObject {
    bucket: Option<String>,
    raw_key: Option<String>,
    version_id: Option<String>,
    event_time: Option<chrono::DateTime<chrono::Utc>>,
    origin: Origin,
    events: Vec<ReplicationEvent>,
}

impl NamedObject {
    fn into_item(
        self,
        message_id: Option<String>,
        origin: String,
        shape: &str,
        bucket_field: &str,
        key_field: &str,
    ) -> Item {
        let Some(bucket) = self.bucket.filter(|b| !b.is_empty()) else {
            return reject(message_id, origin, format!("{shape} has no {bucket_field}"));
        };
        let Some(raw_key) = self.raw_key else {
            return reject(message_id, origin, format!("{shape} has no {key_field}"));
        };
        let key = match keys::decode_event_key(&raw_key) {
            Ok(key) => key,
            // The raw key is left out on purpose: rejections are logged (AUDITOR_LOG_KEYS).
            Err(error) => return reject(message_id, origin, error.to_string()),
        };
        let object = ObjectRef {
            bucket,
            key,
            version_id: self.version_id.filter(|v| !v.is_empty()),
            event_time: self.event_time,
            origin: self.origin,
            events: self.events,
        };
        Item {
            message_id,
            origin,
            content: Content::Audit(object),
        }
    }
}

fn skip(message_id: Option<String>, origin: String, why: String) -> Item {
    Item {
        message_id,
        origin,
        content: Content::Skip(why),
    }
}

/// `replicationEventData`, checked: its `destinationBucket` is a bucket the auditor will HEAD
/// and name in alerts, so anything that is not an S3 bucket ARN or name (text anyone allowed
/// to send to the queue could write) refuses the record.
fn replication_event_data(
    record: &Value,
    kind: ReplicationEventKind,
) -> Result<ReplicationEvent, String> {
    let data = record.get("replicationEventData");
    let field = |name: &str| {
        data.and_then(|d| d.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let time = |name: &str| {
        field(name)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let failure_reason = field("failureReason").filter(|r| !r.is_empty());
    let destination_bucket =
        field("destinationBucket").map(|b| crate::audit::rules::bucket_name_from_arn(&b));
    if let Some(bucket) = destination_bucket
        .as_deref()
        .filter(|b| !crate::config::looks_like_bucket_name(b))
    {
        return Err(format!(
            "replicationEventData.destinationBucket is not an S3 bucket ARN ({} characters that are not a bucket name): not S3's event",
            bucket.chars().count()
        ));
    }
    Ok(ReplicationEvent {
        kind,
        operation: ReplicatedOperation::parse(
            field("s3Operation").as_deref(),
            failure_reason.as_deref(),
        ),
        failure_reason,
        destination_bucket,
        rule_id: field("replicationRuleId"),
        request_time: time("requestTime"),
        replication_time: time("replicationTime"),
    })
}

fn decode_eventbridge(value: &Value, message_id: Option<String>, origin: String) -> Item {
    let event: EventBridgeEvent<Value> = match serde_json::from_value(value.clone()) {
        Ok(event) => event,
        Err(error) => {
            return reject(
                message_id,
                origin,
                format!("malformed EventBridge event: {error}"),
            )
        }
    };
    if event.source != "aws.s3" {
        return reject(
            message_id,
            origin,
            format!("EventBridge event from {:?}, not aws.s3", event.source),
        );
    }
    // EventBridge names tag and ACL changes "Object Tags Added", "Object Tags Deleted" and
    // "Object ACL Updated" (S3 user guide, "Using EventBridge").
    let origin_kind = match event.detail_type.as_str() {
        "Object Created" => Some(Origin::Created),
        "Object Tags Added" | "Object Tags Deleted" => Some(Origin::TagsChanged),
        "Object ACL Updated" => Some(Origin::AclChanged),
        _ => None,
    };
    let Some(origin_kind) = origin_kind else {
        return skip(
            message_id,
            origin,
            format!(
                "EventBridge {:?}: not an object creation, tag or ACL change; not audited",
                event.detail_type
            ),
        );
    };
    let text = |pointer: &str| {
        event
            .detail
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let named = NamedObject {
        bucket: text("/bucket/name"),
        raw_key: text("/object/key"),
        version_id: text("/object/version-id"),
        event_time: event.time,
        origin: origin_kind,
        events: Vec::new(),
    };
    named.into_item(
        message_id,
        origin,
        "EventBridge Object Created event",
        "detail.bucket.name",
        "detail.object.key",
    )
}

/// An S3 Batch Operations `LambdaInvoke` invocation: one item per task, named by its `taskId`.
/// Only an invocation the auditor cannot answer in its own shape (no `invocationId`, no
/// `tasks` array, an unknown schema version) is an error; a malformed task is rejected alone.
fn decode_batch_operations(object: &Map<String, Value>) -> Result<Batch, EventError> {
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
fn batch_task(task: &Value, origin: String) -> Item {
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
fn bucket_from_arn(arn: &str) -> Option<String> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service) = (parts.next()?, parts.next()?);
    let bucket = parts.nth(2)?;
    (service == "s3" && !bucket.is_empty() && !bucket.contains('/')).then(|| bucket.to_string())
}

fn decode_manual(
    object: &Map<String, Value>,
    message_id: Option<String>,
    origin: &str,
    items: &mut Vec<Item>,
) {
    if let Some(objects) = object.get("objects") {
        let Some(objects) = objects.as_array() else {
            items.push(reject(
                message_id,
                origin.to_string(),
                "manual payload: `objects` must be an array",
            ));
            return;
        };
        for (index, entry) in objects.iter().enumerate() {
            let origin = format!("{origin} objects[{index}]");
            match entry.as_object() {
                Some(entry) => items.push(manual_item(entry, message_id.clone(), origin)),
                None => items.push(reject(
                    message_id.clone(),
                    origin,
                    "manual payload entry is not an object",
                )),
            }
        }
        return;
    }
    items.push(manual_item(object, message_id, origin.to_string()));
}

fn manual_item(entry: &Map<String, Value>, message_id: Option<String>, origin: String) -> Item {
    let text = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_string);
    let Some(bucket) = text("bucket").filter(|b| !b.is_empty()) else {
        return reject(message_id, origin, "manual payload needs a string `bucket`");
    };
    let Some(key) = text("key").filter(|k| !k.is_empty()) else {
        return reject(
            message_id,
            origin,
            "manual payload needs a non-empty string `key` (not URL-encoded)",
        );
    };
    if key.len() > keys::MAX_KEY_BYTES {
        return reject(
            message_id,
            origin,
            format!("{}", keys::KeyError::TooLong(key.len())),
        );
    }
    let version_id = text("version_id")
        .or_else(|| text("versionId"))
        .filter(|v| !v.is_empty());
    let object = ObjectRef {
        bucket,
        key,
        version_id,
        event_time: None,
        origin: Origin::Manual,
        events: Vec::new(),
    };
    Item {
        message_id,
        origin,
        content: Content::Audit(object),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s3_record(name: &str, key: &str) -> Value {
        json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-24T10:00:00.000Z", "eventName": name,
            "userIdentity": {"principalId": "AWS:X"}, "requestParameters": {"sourceIPAddress": "1.2.3.4"},
            "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
            "bucket": {"name": "src", "ownerIdentity": {"principalId": "X"}, "arn": "arn:aws:s3:::src"},
            "object": {"key": key, "size": 3, "eTag": "e", "versionId": "v1", "sequencer": "1"}}
        })
    }

    fn audited(batch: &Batch) -> Vec<&ObjectRef> {
        batch
            .items
            .iter()
            .filter_map(|i| match &i.content {
                Content::Audit(o) => Some(o),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn direct_s3_event_decodes_keys() {
        let batch =
            decode(&json!({"Records": [s3_record("ObjectCreated:Put", "Screen+Shot%2B1.png")]}))
                .unwrap();
        assert_eq!(batch.trigger, Trigger::S3);
        let objects = audited(&batch);
        assert_eq!(objects[0].key, "Screen Shot+1.png");
        assert_eq!(objects[0].version_id.as_deref(), Some("v1"));
    }

    #[test]
    fn sqs_wrapping_s3_and_sns_and_test_events() {
        let s3_body = json!({"Records": [s3_record("ObjectCreated:Put", "a")]}).to_string();
        let sns_body = json!({"Type": "Notification", "Message": s3_body.clone()}).to_string();
        let test_body = json!({"Event": "s3:TestEvent", "Bucket": "src"}).to_string();
        let event = json!({"Records": [
            {"messageId": "m1", "body": s3_body, "eventSource": "aws:sqs"},
            {"messageId": "m2", "body": sns_body, "eventSource": "aws:sqs"},
            {"messageId": "m3", "body": test_body, "eventSource": "aws:sqs"},
            {"messageId": "m4", "body": "{not json", "eventSource": "aws:sqs"},
        ]});
        let batch = decode(&event).unwrap();
        assert_eq!(batch.trigger, Trigger::Sqs);
        assert_eq!(audited(&batch).len(), 2);
        assert!(matches!(batch.items[2].content, Content::Skip(_)));
        assert_eq!(batch.items[3].message_id.as_deref(), Some("m4"));
        assert!(
            matches!(&batch.items[3].content, Content::Reject(why) if why.contains("not JSON"))
        );
    }

    #[test]
    fn deletes_are_skipped_not_audited() {
        let batch = decode(&json!({"Records": [s3_record("ObjectRemoved:Delete", "a")]})).unwrap();
        assert!(matches!(&batch.items[0].content, Content::Skip(why) if why.contains("deletions")));
    }

    #[test]
    fn replication_failure_carries_reason_and_destination() {
        let mut record = s3_record("Replication:OperationFailedReplication", "a");
        record["replicationEventData"] = json!({"replicationRuleId": "r", "destinationBucket": "arn:aws:s3:::dst", "s3Operation": "OBJECT_PUT", "requestTime": "2026-11-24T10:00:00Z", "failureReason": "DstPutObjectNotPermitted"});
        let batch = decode(&json!({"Records": [record]})).unwrap();
        let object = audited(&batch)[0];
        assert_eq!(object.origin, Origin::Replication);
        let event = &object.events[0];
        assert_eq!(
            event.failure_reason.as_deref(),
            Some("DstPutObjectNotPermitted")
        );
        assert_eq!(event.destination_bucket.as_deref(), Some("dst"));
        assert_eq!(event.operation, ReplicatedOperation::Object);
        assert!(event.request_time.is_some());
    }

    #[test]
    fn a_destination_that_is_not_a_bucket_rejects_the_record() {
        let mut record = s3_record("Replication:OperationFailedReplication", "k");
        record["replicationEventData"] = json!({
            "destinationBucket": "arn:aws:s3:::log in at https://evil.example now",
            "failureReason": "DstPutObjectNotPermitted"
        });
        let batch = decode(&json!({ "Records": [record] })).unwrap();
        assert!(audited(&batch).is_empty());
        match &batch.items[0].content {
            Content::Reject(why) => {
                assert!(why.contains("destinationBucket"), "{why}");
                assert!(!why.contains("evil"), "{why}");
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn a_delete_marker_replication_failure_is_known_as_one() {
        let mut record = s3_record("Replication:OperationFailedReplication", "a");
        record["replicationEventData"] = json!({"destinationBucket": "arn:aws:s3:::dst", "s3Operation": "DELETE_MARKER_PUT", "failureReason": "DstDelObjNotPermitted"});
        let batch = decode(&json!({"Records": [record]})).unwrap();
        assert!(audited(&batch)[0].is_delete_marker());
    }

    #[test]
    fn records_of_other_services_and_sns_confirmations_are_named_as_such() {
        let ses =
            json!({"Records": [{"eventSource": "aws:ses", "eventVersion": "1.0", "ses": {}}]});
        let batch = decode(&ses).unwrap();
        assert!(
            matches!(&batch.items[0].content, Content::Reject(why) if why.contains("aws:ses") && why.contains("not an S3 event"))
        );
        let confirmation = json!({"Type": "SubscriptionConfirmation", "Message": "You have chosen to subscribe", "SubscribeURL": "https://sns.example"}).to_string();
        let event = json!({"Records": [{"messageId": "m1", "body": confirmation, "eventSource": "aws:sqs"}]});
        let batch = decode(&event).unwrap();
        assert!(
            matches!(&batch.items[0].content, Content::Skip(why) if why.contains("SubscriptionConfirmation"))
        );
    }

    #[test]
    fn sqs_receive_counts_are_read_per_message() {
        let body = json!({"Records": [s3_record("ObjectCreated:Put", "a")]}).to_string();
        let event = json!({"Records": [
            {"messageId": "m1", "body": body, "eventSource": "aws:sqs", "attributes": {"ApproximateReceiveCount": "3"}},
        ]});
        assert_eq!(decode(&event).unwrap().receive_counts["m1"], 3);
    }

    #[test]
    fn eventbridge_object_created() {
        let event = json!({"version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3", "account": "111111111111",
            "time": "2026-11-24T10:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"bucket": {"name": "src"}, "object": {"key": "a+b", "version-id": "v9"}}});
        let batch = decode(&event).unwrap();
        assert_eq!(batch.trigger, Trigger::EventBridge);
        assert_eq!(audited(&batch)[0].key, "a b");
    }

    #[test]
    fn manual_payloads_take_keys_literally() {
        let batch = decode(&json!({"bucket": "src", "key": "a+b %41", "version_id": "v"})).unwrap();
        assert_eq!(audited(&batch)[0].key, "a+b %41");
        let many = decode(&json!({"objects": [{"bucket": "src", "key": "a"}, {"bucket": "src"}]}))
            .unwrap();
        assert_eq!(audited(&many).len(), 1);
        assert!(matches!(many.items[1].content, Content::Reject(_)));
    }

    #[test]
    fn unknown_shapes_name_what_is_accepted() {
        let error = decode(&json!({"hello": 1})).unwrap_err();
        assert!(error.to_string().contains("hello"));
        assert!(error.to_string().contains("EventBridge"));
        assert_eq!(
            decode(&json!([1])).unwrap_err(),
            EventError::NotAnObject("an array")
        );
    }

    #[test]
    fn batch_operations_schema_1_names_the_bucket_by_arn_and_keys_are_url_encoded() {
        let event = json!({"invocationSchemaVersion": "1.0", "invocationId": "inv", "job": {"id": "j"},
            "tasks": [{"taskId": "t1", "s3Key": "Screen+Shot%2B1.png", "s3VersionId": "1", "s3BucketArn": "arn:aws:s3:::src"},
                      {"taskId": "t2", "s3Key": "a", "s3VersionId": null, "s3BucketArn": "arn:aws:s3:us-east-1:0123456788:other"},
                      {"taskId": "t3", "s3Key": "a", "s3BucketArn": "{{{bucket_arn}}}"}]});
        let batch = decode(&event).unwrap();
        assert_eq!(batch.trigger, Trigger::BatchOperations);
        let job = batch.job.as_ref().unwrap();
        assert_eq!(
            (job.schema_version.as_str(), job.invocation_id.as_str()),
            ("1.0", "inv")
        );
        let objects = audited(&batch);
        assert_eq!(objects[0].key, "Screen Shot+1.png");
        assert_eq!(objects[0].bucket, "src");
        assert_eq!(objects[1].bucket, "other");
        assert_eq!(objects[1].version_id, None);
        assert_eq!(batch.items[0].message_id.as_deref(), Some("t1"));
        assert!(
            matches!(&batch.items[2].content, Content::Reject(why) if why.contains("not an S3 bucket ARN"))
        );
    }

    #[test]
    fn batch_operations_schema_2_names_the_bucket_and_carries_user_arguments() {
        let event = json!({"invocationSchemaVersion": "2.0", "invocationId": "inv",
            "job": {"id": "j", "userArguments": {"k1": "v1"}},
            "tasks": [{"taskId": "t1", "s3Key": "caf%C3%A9", "s3VersionId": "v", "s3Bucket": "src"},
                      {"taskId": "t2", "s3Bucket": "src"}, {"s3Key": "x", "s3Bucket": "src"}]});
        let batch = decode(&event).unwrap();
        assert_eq!(batch.job.as_ref().unwrap().user_arguments["k1"], "v1");
        assert_eq!(audited(&batch)[0].key, "café");
        assert!(matches!(&batch.items[1].content, Content::Reject(why) if why.contains("s3Key")));
        assert!(matches!(&batch.items[2].content, Content::Reject(why) if why.contains("taskId")));
    }

    #[test]
    fn a_batch_operations_invocation_that_cannot_be_answered_is_an_error() {
        for event in [
            json!({"invocationSchemaVersion": "3.0", "invocationId": "i", "tasks": []}),
            json!({"invocationSchemaVersion": "1.0", "tasks": []}),
            json!({"invocationSchemaVersion": "1.0", "invocationId": "i"}),
        ] {
            assert!(
                matches!(decode(&event), Err(EventError::BatchOperations(_))),
                "{event}"
            );
        }
    }

    #[test]
    fn malformed_records_are_rejected_not_dropped() {
        let batch = decode(
            &json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}),
        )
        .unwrap();
        assert_eq!(batch.items.len(), 1);
        assert!(
            matches!(&batch.items[0].content, Content::Reject(why) if why.contains("malformed"))
        );
    }
}
