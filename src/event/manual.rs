//! A payload a person writes: `{"bucket","key","version_id"}` or `{"objects":[…]}`.

use super::batch::{reject, Content, Item};
use super::keys;
use crate::audit::{ObjectRef, Origin};
use serde_json::{Map, Value};

pub(super) fn decode_manual(
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

pub(super) fn manual_item(
    entry: &Map<String, Value>,
    message_id: Option<String>,
    origin: String,
) -> Item {
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
