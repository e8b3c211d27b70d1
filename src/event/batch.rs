//! What a payload decodes to: a batch of items (one per record, or per object a record
//! names), what each asks of the auditor, and why a payload is refused.

use super::keys;
use crate::audit::{ObjectRef, Origin, ReplicationEvent};
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

pub(super) fn test_event_item(message_id: Option<String>, origin: String) -> Item {
    Item {
        message_id,
        origin,
        content: Content::Skip(
            "s3:TestEvent: S3 confirming the notification configuration; nothing to audit".into(),
        ),
    }
}

pub(super) fn reject(message_id: Option<String>, origin: String, why: impl Into<String>) -> Item {
    Item {
        message_id,
        origin,
        content: Content::Reject(why.into()),
    }
}

/// An object as a notification names it, before its key is decoded and checked.
pub(super) struct NamedObject {
    pub(super) bucket: Option<String>,
    pub(super) raw_key: Option<String>,
    pub(super) version_id: Option<String>,
    pub(super) event_time: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) origin: Origin,
    pub(super) events: Vec<ReplicationEvent>,
}

impl NamedObject {
    pub(super) fn into_item(
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

pub(super) fn skip(message_id: Option<String>, origin: String, why: String) -> Item {
    Item {
        message_id,
        origin,
        content: Content::Skip(why),
    }
}
