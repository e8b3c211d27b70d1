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

mod batch;
mod batch_operations;
mod eventbridge;
pub mod keys;
mod manual;
mod s3;

use batch::{reject, skip, test_event_item};
pub use batch::{Batch, BatchJob, Content, EventError, Item, Trigger, ACCEPTED_SHAPES};
use batch_operations::decode_batch_operations;
use eventbridge::decode_eventbridge;
use manual::decode_manual;
use s3::decode_s3_record;

use serde_json::{Map, Value};
use std::collections::HashMap;

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
    if object.get("Type").is_some()
        && decode_sns_envelope(object, &message_id, origin, items, depth)
    {
        return;
    }
    if is_test_event(object) {
        items.push(test_event_item(message_id, origin.to_string()));
        return;
    }
    if let Some(records) = object.get("Records").and_then(Value::as_array) {
        decode_records(records, message_id, origin, items);
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

/// An SNS envelope in a message body (SNS → SQS without raw message delivery): its message,
/// decoded once, or a (un)subscription confirmation to skip. `false`: not an SNS envelope.
fn decode_sns_envelope(
    object: &Map<String, Value>,
    message_id: &Option<String>,
    origin: &str,
    items: &mut Vec<Item>,
    depth: u8,
) -> bool {
    match object.get("Type").and_then(Value::as_str) {
        Some(kind @ ("SubscriptionConfirmation" | "UnsubscribeConfirmation")) => {
            // SNS sends these to a subscribed queue when the subscription is made or removed
            // (SNS developer guide, "HTTP/S message formats"); with an SQS subscription SNS
            // confirms itself, so there is nothing to do, and nothing to hand to the DLQ.
            items.push(skip(
                message_id.clone(),
                origin.to_string(),
                format!("SNS {kind} message: not an S3 event; nothing to audit"),
            ));
            true
        }
        Some("Notification") if depth == 0 => {
            match object.get("Message").and_then(Value::as_str) {
                Some(message) => {
                    decode_embedded(message, message_id.clone(), origin, items, depth + 1)
                }
                None => items.push(reject(
                    message_id.clone(),
                    origin.to_string(),
                    "SNS notification has no string `Message`",
                )),
            }
            true
        }
        _ => false,
    }
}

/// An S3 event notification's records, one item each.
fn decode_records(
    records: &[Value],
    message_id: Option<String>,
    origin: &str,
    items: &mut Vec<Item>,
) {
    if records.is_empty() {
        items.push(skip(
            message_id.clone(),
            origin.to_string(),
            "S3 event with no records".into(),
        ));
    }
    for (index, record) in records.iter().enumerate() {
        items.push(decode_s3_record(
            record,
            message_id.clone(),
            format!("{origin} Records[{index}]"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{ObjectRef, Origin, ReplicatedOperation};
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
