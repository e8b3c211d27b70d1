//! An EventBridge event from `aws.s3` (S3 sends to EventBridge when the bucket says so).

use super::batch::{reject, skip, Item, NamedObject};
use crate::audit::Origin;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

pub(super) fn decode_eventbridge(
    value: &Value,
    message_id: Option<String>,
    origin: String,
) -> Item {
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
