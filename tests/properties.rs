//! Property tests of the event decoder and S3 key encoding: for any key S3 can hold, decoding
//! what S3 would write gives the key back; for any input at all, decoding never panics and
//! accounts for every record.

use proptest::prelude::*;
use s3_replication_auditor::event::keys::{decode_event_key, encode_event_key, MAX_KEY_BYTES};
use s3_replication_auditor::event::{self, Content};
use serde_json::{json, Value};

/// Keys S3 accepts: 1 to 1024 bytes of UTF-8.
fn s3_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{1,200}",
        "[a-zA-Z0-9 +%/.=&?#é€📸_-]{1,300}",
        any::<String>(),
    ]
    .prop_filter("S3 key length", |k| {
        !k.is_empty() && k.len() <= MAX_KEY_BYTES
    })
}

fn record(name: &str, raw_key: &str, version: Option<&str>) -> Value {
    json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventTime": "2026-11-24T10:00:00.000Z",
        "eventName": name, "userIdentity": {}, "requestParameters": {},
        "s3": {"bucket": {"name": "acme-screenshots"}, "object": {"key": raw_key, "versionId": version}}
    })
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        "\\PC{0,20}".prop_map(Value::from),
        prop::sample::select(vec![
            "Records",
            "s3",
            "body",
            "Sns",
            "Message",
            "detail-type",
            "aws:sqs",
            "s3:TestEvent",
            "ObjectCreated:Put"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        let keys = prop::sample::select(vec![
            "Records",
            "s3",
            "bucket",
            "object",
            "name",
            "key",
            "versionId",
            "eventName",
            "eventTime",
            "eventSource",
            "body",
            "messageId",
            "Sns",
            "Message",
            "Type",
            "detail-type",
            "source",
            "detail",
            "objects",
            "version_id",
            "Event",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..6).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn s3_key_encoding_round_trips(key in s3_key()) {
        prop_assert_eq!(decode_event_key(&encode_event_key(&key)), Ok(key));
    }

    #[test]
    fn key_decoding_never_panics(raw in any::<String>()) {
        let _ = decode_event_key(&raw);
    }

    #[test]
    fn decoding_arbitrary_json_never_panics(value in any_json()) {
        if let Ok(batch) = event::decode(&value) {
            for item in batch.items {
                if let Content::Reject(why) = item.content {
                    prop_assert!(!why.is_empty());
                }
            }
        }
    }

    #[test]
    fn every_s3_record_becomes_exactly_one_item_with_its_key(
        objects in prop::collection::vec((s3_key(), prop::option::of("[a-zA-Z0-9._-]{1,32}"),
            prop::sample::select(vec!["ObjectCreated:Put", "ObjectRemoved:Delete", "Replication:OperationFailedReplication", "Bogus"])), 0..20)
    ) {
        let records: Vec<Value> = objects.iter().map(|(key, version, name)| record(name, &encode_event_key(key), version.as_deref())).collect();
        let batch = event::decode(&json!({ "Records": records })).unwrap();
        prop_assert_eq!(batch.items.len(), objects.len());
        for (item, (key, version, name)) in batch.items.iter().zip(&objects) {
            match (&item.content, *name) {
                (Content::Audit(object), "ObjectCreated:Put" | "Replication:OperationFailedReplication") => {
                    prop_assert_eq!(&object.key, key);
                    prop_assert_eq!(&object.version_id, version);
                }
                (Content::Skip(_), "ObjectRemoved:Delete" | "Bogus") => {}
                (other, name) => prop_assert!(false, "{} gave {:?}", name, other),
            }
        }
    }

    #[test]
    fn sqs_and_sns_wrapping_decode_to_the_same_objects(keys in prop::collection::vec(s3_key(), 1..8)) {
        let direct = json!({ "Records": keys.iter().map(|k| record("ObjectCreated:Put", &encode_event_key(k), Some("v"))).collect::<Vec<_>>() });
        let sqs = json!({ "Records": [{"messageId": "m", "eventSource": "aws:sqs", "body": direct.to_string()}] });
        let sns_in_sqs = json!({ "Records": [{"messageId": "m", "eventSource": "aws:sqs",
            "body": json!({"Type": "Notification", "Message": direct.to_string()}).to_string()}] });
        let objects = |v: &Value| -> Vec<String> {
            event::decode(v).unwrap().items.into_iter().filter_map(|i| match i.content {
                Content::Audit(o) => Some(o.key),
                _ => None,
            }).collect()
        };
        prop_assert_eq!(objects(&direct), keys.clone());
        prop_assert_eq!(objects(&sqs), keys.clone());
        prop_assert_eq!(objects(&sns_in_sqs), keys);
    }
}
