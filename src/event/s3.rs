//! One S3 event notification record (S3 → SQS/SNS/Lambda): an object created, a tag or ACL
//! change, a delete marker, or a replication event with its `replicationEventData`.

use super::batch::{reject, skip, Item, NamedObject};
use crate::audit::{Origin, ReplicatedOperation, ReplicationEvent, ReplicationEventKind};
use aws_lambda_events::s3::S3EventRecord;
use serde_json::{Map, Value};

pub(super) fn decode_s3_record(record: &Value, message_id: Option<String>, origin: String) -> Item {
    let parsed = match parse(record) {
        Ok(parsed) => parsed,
        Err(why) => return reject(message_id, origin, why),
    };
    let name = parsed.event_name.clone().unwrap_or_default();
    let name = name.strip_prefix("s3:").unwrap_or(&name);
    let (origin_kind, events) = match asks(name, record) {
        Asks::Audit(origin_kind, events) => (origin_kind, events),
        Asks::Skip(why) => return skip(message_id, origin, why),
        Asks::Reject(why) => return reject(message_id, origin, why),
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

/// The record as the event type reads it, or why it is not an S3 event record.
fn parse(record: &Value) -> Result<S3EventRecord, String> {
    let source = record
        .get("eventSource")
        .or_else(|| record.get("EventSource"))
        .and_then(Value::as_str);
    if let Some(other) = source.filter(|s| *s != "aws:s3") {
        return Err(format!("a record from {other}, not an S3 event (eventSource aws:s3): this trigger does not belong to the replication auditor"));
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
    serde_json::from_value(record).map_err(|error| format!("malformed S3 event record: {error}"))
}

/// What an event name asks of the auditor.
enum Asks {
    Audit(Origin, Vec<ReplicationEvent>),
    Skip(String),
    Reject(String),
}

/// The event names, `s3:` stripped (S3 user guide, "Supported event types").
fn asks(name: &str, record: &Value) -> Asks {
    if name.starts_with("ObjectCreated:") {
        Asks::Audit(Origin::Created, Vec::new())
    } else if let Some(kind) = name.strip_prefix("Replication:") {
        match ReplicationEventKind::parse(kind) {
            Some(kind) => match replication_event_data(record, kind) {
                Ok(event) => Asks::Audit(Origin::Replication, vec![event]),
                Err(why) => Asks::Reject(why),
            },
            None => Asks::Skip(format!(
                "replication event {name} is not one the auditor acts on"
            )),
        }
    } else if name.starts_with("ObjectTagging:") {
        Asks::Audit(Origin::TagsChanged, Vec::new())
    } else if name == "ObjectAcl:Put" {
        Asks::Audit(Origin::AclChanged, Vec::new())
    } else if name.is_empty() {
        Asks::Reject("S3 event record has no eventName".into())
    } else if name == "LifecycleExpiration:DeleteMarkerCreated" {
        // User guide, "What is replicated with replication configurations": S3 creates delete
        // markers for expired objects but does not replicate those markers.
        Asks::Skip(format!(
            "{name}: S3 never replicates delete markers that S3 Lifecycle creates; not audited"
        ))
    } else if name.starts_with("ObjectRemoved:") {
        Asks::Skip(format!(
            "{name}: deletions are not audited (the object is gone on purpose)"
        ))
    } else {
        Asks::Skip(format!(
            "{name}: not an object creation or replication event; not audited"
        ))
    }
}

/// `replicationEventData`, checked: its `destinationBucket` is a bucket the auditor will HEAD
/// and name in alerts, so anything that is not an S3 bucket ARN or name (text anyone allowed
/// to send to the queue could write) refuses the record.
pub(super) fn replication_event_data(
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
