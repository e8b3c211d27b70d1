//! Fuzzes the event decoder and S3 key decoding with arbitrary bytes (seeded from events/ and
//! tests/corpus/cases). Invariants: no panic; every S3 record of a decodable event becomes
//! exactly one item; a decoded key re-encodes to something that decodes to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_replication_auditor::event::{self, keys};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(key) = keys::decode_event_key(text) {
        assert_eq!(keys::decode_event_key(&keys::encode_event_key(&key)), Ok(key));
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else { return };
    if let Ok(batch) = event::decode(&value) {
        let records = value.get("Records").and_then(|r| r.as_array());
        let direct_s3 = batch.trigger == event::Trigger::S3 && records.is_some();
        if direct_s3 {
            assert_eq!(batch.items.len(), records.map_or(0, Vec::len));
        }
    }
});
