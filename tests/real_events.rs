//! Real AWS event samples published by others (`REAL_EVENTS_DIR`, by default beside the
//! repository: see `common::real_events_dir`; skipped with a message where absent): the decoder handles every one as AWS means
//! it — audits what was created (keys form-decoded), skips what is not a creation with a reason,
//! rejects what is not an S3 event with a clear message, never panics.

mod common;

use common::real_event_samples as samples;
use s3_replication_auditor::event::{decode, Content};

#[test]
fn every_real_sample_is_decoded_as_aws_means_it() {
    let Some(samples) = samples() else { return };
    assert!(samples.len() >= 40, "only {} samples", samples.len());
    for (name, event) in &samples {
        let result = std::panic::catch_unwind(|| decode(event));
        let Ok(result) = result else {
            panic!("{name}: the decoder panicked");
        };
        let batch = match result {
            Ok(batch) => batch,
            // Not an event shape the auditor takes at all: the error names what it accepts.
            Err(error) => {
                assert!(error.to_string().contains("expected"), "{name}: {error}");
                continue;
            }
        };
        for item in &batch.items {
            match &item.content {
                Content::Audit(object) => {
                    assert!(!object.bucket.is_empty(), "{name}: {item:?}");
                    assert!(
                        !object.key.contains('+') || name.contains("decoded"),
                        "{name}: a form-encoded key left undecoded: {:?}",
                        object.key
                    );
                }
                Content::Skip(reason) | Content::Reject(reason) => {
                    assert!(reason.len() > 10, "{name}: a reason says why: {reason:?}")
                }
            }
        }
        let lower = name.to_ascii_lowercase();
        let audited = batch
            .items
            .iter()
            .filter(|i| matches!(i.content, Content::Audit(_)))
            .count();
        if lower.contains("delete")
            || lower.contains("lifecycle")
            || lower.contains("restore")
            || lower.contains("expired")
            || lower.contains("intelligenttier")
        {
            assert_eq!(
                audited, 0,
                "{name}: not a creation, nothing to audit: {:?}",
                batch.items
            );
        }
        let not_s3 = lower.contains("-ses-") || lower.contains("object-lambda");
        if not_s3 {
            assert_eq!(audited, 0, "{name}: not an S3 event: {:?}", batch.items);
        }
        if !not_s3 && lower.contains("object-created")
            || lower.ends_with("s3event.json")
            || (!not_s3 && lower.contains("s3-event.json"))
            || lower.contains("s3put")
        {
            assert!(
                audited > 0,
                "{name}: an object creation is audited: {:?}",
                batch.items
            );
        }
    }
}

#[test]
fn the_replication_failure_sample_keeps_s3s_reason_and_destination() {
    let Some(samples) = samples() else { return };
    let (_, event) = samples
        .iter()
        .find(|(name, _)| name.contains("OperationFailedReplication"))
        .expect("AWS's OperationFailedReplication sample");
    let batch = decode(event).unwrap();
    let Content::Audit(object) = &batch.items[0].content else {
        panic!("{:?}", batch.items[0]);
    };
    let failure = &object.events[0];
    assert!(failure.failure_reason.is_some());
    assert!(failure.destination_bucket.is_some());
}
