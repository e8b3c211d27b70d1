//! What S3 shows → what the auditor says, end to end: one test per case of `docs/verdicts.md`,
//! each against the local world (moto + the replication engine) with the real binary.
//!
//! GIVEN a setup made the way a person makes it (tag filters, several destinations in several
//! accounts, delete-marker replication, two-way replication) WHEN S3's own notifications (as
//! SQS delivers them) or a person's request reach the auditor THEN the verdict per destination.

mod common;

use common::world::*;
use serde_json::{json, Value};

/// Every finding as (key, destination, verdict, alarming).
fn rows(report: &Value) -> Vec<(String, String, String, bool)> {
    let mut rows: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap().to_string(),
                f["destination_bucket"].as_str().unwrap_or("-").to_string(),
                f["verdict"].as_str().unwrap().to_string(),
                f["alarming"].as_bool().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(
    key: &str,
    destination: &str,
    verdict: &str,
    alarming: bool,
) -> (String, String, String, bool) {
    (key.into(), destination.into(), verdict.into(), alarming)
}

/// The auditor's environment for destinations in accounts B and C.
const BOTH_ACCOUNTS: &[(&str, &str)] = &[(
    "AUDITOR_DESTINATION_ROLE_ARNS",
    THIRD_ACCOUNT_AUDIT_ROLE_ARN,
)];

#[tokio::test(flavor = "multi_thread")]
async fn failure_events_keep_their_reason_whatever_else_arrives_and_name_their_destination() {
    let world = World::start();
    world.put(BROKEN_SOURCE, "q3 report.pdf", b"x").await;
    world.drain();
    let messages = world.take_messages(EVENT_QUEUE).await;
    let failure_body = messages
        .iter()
        .map(|(_, body)| body)
        .find(|body| body.contains("OperationFailedReplication"))
        .expect("S3 sent a failure event")
        .clone();
    // A later threshold event for the same version must not erase the failure's reason.
    let mut later: Value = serde_json::from_str(&failure_body).unwrap();
    later["Records"][0]["eventName"] = json!("Replication:OperationMissedThreshold");
    later["Records"][0]["replicationEventData"]
        .as_object_mut()
        .unwrap()
        .remove("failureReason");
    let event = json!({"Records": [
        sqs_record("failure", &failure_body),
        sqs_record("threshold", &later.to_string()),
    ]});
    // A configured destination bucket never overrides the destination S3 named.
    let (code, report, stderr) = world.invoke(
        &event,
        &[("AUDITOR_DESTINATION_BUCKET", HEALTHY_DESTINATION)],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        rows(&report),
        [row("q3 report.pdf", BROKEN_DESTINATION, "failed", true)]
    );
    let found = finding(&report, "q3 report.pdf");
    assert_eq!(
        found["detail"]["failure_reason"],
        "DstPutObjectNotPermitted"
    );
    assert_eq!(world.alerts().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_delete_marker_replication_is_reported_never_source_gone() {
    let world = World::start();
    world.scenario("delete-markers");
    world.put(BROKEN_DELETES, "old invoice.pdf", b"x").await;
    world.drain();
    world.take_messages(EVENT_QUEUE).await;
    world
        .delete(SOURCE_KEY, BROKEN_DELETES, "old invoice.pdf")
        .await;
    world.drain();
    let event = world.sqs_event_from_queue().await;
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 1, "{stderr}");
    let failed: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["verdict"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["delete_marker"], true);
    assert_eq!(
        failed[0]["detail"]["failure_reason"],
        "DstDelObjNotPermitted"
    );
    assert!(failed[0]["detail"]["remediation"]
        .as_str()
        .unwrap()
        .contains("s3:ReplicateDelete"));
    assert_eq!(report["counts"]["source_gone"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replicated_delete_marker_is_replicated() {
    let world = World::start();
    world.scenario("delete-markers");
    world.put(HEALTHY_DELETES, "draft.txt", b"x").await;
    world.drain();
    let marker = world.delete(SOURCE_KEY, HEALTHY_DELETES, "draft.txt").await;
    world.drain();
    let event = json!({"bucket": HEALTHY_DELETES, "key": "draft.txt", "version_id": marker});
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        rows(&report),
        [row(
            "draft.txt",
            "acme-deletes-ok-replica",
            "replicated",
            false
        )]
    );
    assert_eq!(report["findings"][0]["delete_marker"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_filter_leaves_untagged_objects_out_quietly_and_replicates_tagged_ones() {
    let world = World::start();
    world.scenario("tag-filter");
    let tagged = world
        .put_tagged("acme-tagged", "keep.png", "replicate=yes")
        .await;
    let untagged = world.put("acme-tagged", "scratch.png", b"x").await;
    world.drain();
    let event = json!({"objects": [
        {"bucket": "acme-tagged", "key": "keep.png", "version_id": tagged},
        {"bucket": "acme-tagged", "key": "scratch.png", "version_id": untagged},
    ]});
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 0, "no alarm for what the filter leaves out; {stderr}");
    assert_eq!(
        rows(&report),
        [
            row("keep.png", "acme-tagged-replica", "replicated", false),
            row("scratch.png", "-", "unreplicated", false),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_routing_checks_each_object_only_where_its_rule_sent_it() {
    let world = World::start();
    world.scenario("tag-routing");
    let gold = world
        .put_tagged("acme-routed", "gold.bin", "tier=gold")
        .await;
    let silver = world
        .put_tagged("acme-routed", "silver.bin", "tier=silver")
        .await;
    world.drain();
    let event = json!({"objects": [
        {"bucket": "acme-routed", "key": "gold.bin", "version_id": gold},
        {"bucket": "acme-routed", "key": "silver.bin", "version_id": silver},
    ]});
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        rows(&report),
        [
            row("gold.bin", "acme-routed-gold", "replicated", false),
            row("silver.bin", "acme-routed-silver", "replicated", false),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_destinations_in_several_accounts_are_judged_each_by_its_own_replica() {
    let world = World::start();
    world.scenario("multi-destination");
    let version = world.put("acme-multi", "ledger.csv", b"x").await;
    world.drain();
    let event = json!({"bucket": "acme-multi", "key": "ledger.csv", "version_id": version});
    let (code, report, stderr) = world.invoke(&event, BOTH_ACCOUNTS);
    assert_eq!(code, 1, "{stderr}");
    // S3's aggregate says FAILED; the replica in account B is there, account C refused it.
    assert_eq!(report["findings"][0]["source_status"], "FAILED");
    assert_eq!(
        rows(&report),
        [
            row("ledger.csv", "acme-multi-b", "replicated", false),
            row("ledger.csv", "acme-multi-c", "failed", true),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_until_every_destination_is_done_with_replicas_already_there_counted() {
    let world = World::start();
    world.scenario("multi-destination");
    world.fault(json!({"fault": "stay_pending", "destination": "acme-multi-c"}));
    let version = world.put("acme-multi", "slow.csv", b"x").await;
    world.drain();
    let event = json!({"bucket": "acme-multi", "key": "slow.csv", "version_id": version});
    let (code, report, stderr) = world.invoke(&event, BOTH_ACCOUNTS);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["findings"][0]["source_status"], "PENDING");
    assert_eq!(
        rows(&report),
        [
            row("slow.csv", "acme-multi-b", "replicated", false),
            row("slow.csv", "acme-multi-c", "pending", false),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_in_the_watched_bucket_is_quiet_and_explained() {
    let world = World::start();
    world.scenario("two-way");
    world.put("acme-west", "from the west.png", b"x").await;
    world.drain();
    let event = world.sqs_event_from_queue().await;
    let (code, report, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 0, "{stderr}");
    let found = finding(&report, "from the west.png");
    assert_eq!(found["source_bucket"], "acme-east");
    assert_eq!(found["verdict"], "replica");
    assert!(found["detail"]["reason"]
        .as_str()
        .unwrap()
        .contains("never replicates a replica onward"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_hidden_by_a_delete_marker_in_the_destination_is_a_mismatch_for_check() {
    let world = World::start();
    world.put(HEALTHY_SOURCE, "contract.pdf", b"x").await;
    world.drain();
    world
        .delete(DESTINATION_KEY, HEALTHY_DESTINATION, "contract.pdf")
        .await;
    let output = world.auditor(
        &[
            "check",
            "s3://acme-screenshots/contract.pdf",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["findings"][0]["verdict"], "mismatch", "{report}");
    assert!(report["findings"][0]["detail"]["reason"]
        .as_str()
        .unwrap()
        .contains("delete marker"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_destination_bucket_is_an_error_naming_it_never_missing() {
    let world = World::start();
    let version = world.put(HEALTHY_SOURCE, "a.png", b"x").await;
    world.drain();
    let event = json!({"bucket": HEALTHY_SOURCE, "key": "a.png", "version_id": version});
    let (code, report, _) = world.invoke(&event, &[("AUDITOR_DESTINATION_BUCKET", "acme-nowhere")]);
    assert_eq!(code, 1);
    let found = finding(&report, "a.png");
    assert_eq!(found["verdict"], "error");
    assert_eq!(found["detail"]["cause"], "no_such_bucket");
    assert!(found["detail"]["reason"]
        .as_str()
        .unwrap()
        .contains("acme-nowhere does not exist"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_sqs_will_retry_is_counted_not_paged_and_the_last_delivery_pages() {
    let world = World::start();
    let body = world
        .healthy_object_whose_replica_cannot_be_read("busy.png")
        .await;
    let env = [
        ("AUDITOR_MAX_RECEIVE_COUNT", "3"),
        ("AUDITOR_METRICS_MODE", "emf"),
    ];

    let first = json!({"Records": [sqs_delivery("m1", &body, 1)]});
    let (code, report, stderr) = world.invoke(&first, &env);
    assert_eq!(
        code, 0,
        "an error SQS retries is nobody's page yet; {stderr}"
    );
    let found = finding(&report, "busy.png");
    assert_eq!(found["verdict"], "error");
    assert_eq!(found["alarming"], false);
    assert_eq!(found["detail"]["retried"], true);
    assert_eq!(report["batchItemFailures"][0]["itemIdentifier"], "m1");
    let metrics = &emf_lines(&stderr)[0];
    assert_eq!(
        (
            metrics["AuditRetries"].as_u64(),
            metrics["AuditErrors"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert!(world.alerts().await.is_empty());

    let last = json!({"Records": [sqs_delivery("m1", &body, 3)]});
    let (code, report, stderr) = world.invoke(&last, &env);
    assert_eq!(code, 1);
    assert_eq!(finding(&report, "busy.png")["alarming"], true);
    assert_eq!(emf_lines(&stderr)[0]["AuditErrors"], 1);
    assert_eq!(world.alerts().await.len(), 1, "the last delivery pages");
}
