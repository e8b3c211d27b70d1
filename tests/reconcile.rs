//! `reconcile` end to end: GIVEN the classic bucket pairs in the local world with objects in
//! every state (replicated, held PENDING, replica deleted in B, source version deleted in A,
//! written while no rule existed, FAILED by the broken pair, delete markers replicated or not;
//! keys with `+`, spaces and unicode) WHEN the world writes S3 Inventory reports of both buckets
//! (CSV and Parquet, all versions or current only, optional columns left out, taken now or an
//! hour later) and the real binary reconciles them (from S3, and from a local copy, in memory and
//! spilled) THEN the verdict counts, the exit code and the re-drive manifest; corrupt input
//! exits 2 with a message.

mod common;

use common::world::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const REPORTS: &str = "acme-inventory-reports";

/// Has the world write an S3 Inventory report of `bucket` (CSV unless `query` says otherwise:
/// `&format=Parquet`, `&versions=current`, `&fields=…`, `&now=EPOCH`); its s3:// manifest URL.
fn inventory(world: &World, bucket: &str, query: &str) -> String {
    let written = world.control(
        "POST",
        &format!("/_world/inventory?bucket={bucket}&destination={REPORTS}&prefix=inventory&rows_per_file=3{query}"),
        "",
    );
    let key = written["manifest_key"]
        .as_str()
        .unwrap_or_else(|| panic!("{written}"));
    format!("s3://{REPORTS}/{key}")
}

/// Every healthy and broken state the healthy pair can show, plus the broken pair's failures.
async fn objects_in_every_state(world: &World) {
    let a = world.s3(SOURCE_KEY);
    a.create_bucket().bucket(REPORTS).send().await.unwrap();
    world.fault(json!({"fault": "stay_pending", "bucket": HEALTHY_SOURCE, "key_regex": "^slow"}));
    world
        .put(HEALTHY_SOURCE, "Screen Shot 1+1 ☕.png", b"ok")
        .await;
    world.put(HEALTHY_SOURCE, "slow upload.bin", b"x").await;
    let lost = world.put(HEALTHY_SOURCE, "lost/receipt 1.png", b"x").await;
    let gone = world.put(HEALTHY_SOURCE, "gone.txt", b"x").await;
    world.put(HEALTHY_SOURCE, "versions.txt", b"one").await;
    world.put(HEALTHY_SOURCE, "versions.txt", b"two").await;
    // A delete marker the rule does not replicate (DeleteMarkerReplication Disabled).
    world
        .delete(SOURCE_KEY, HEALTHY_SOURCE, "versions.txt")
        .await;
    world
        .put(BROKEN_SOURCE, "monthly report November.pdf", b"pdf")
        .await;
    world.drain();
    // Written while the source had no replication rule (S3 gives it no status).
    world
        .put_before_the_rule(HEALTHY_SOURCE, "before the rule.txt", b"x")
        .await;
    // Someone deleted a replica in B; someone deleted a source version in A.
    world
        .s3(DESTINATION_KEY)
        .delete_object()
        .bucket(HEALTHY_DESTINATION)
        .key("lost/receipt 1.png")
        .version_id(&lost)
        .send()
        .await
        .unwrap();
    a.delete_object()
        .bucket(HEALTHY_SOURCE)
        .key("gone.txt")
        .version_id(&gone)
        .send()
        .await
        .unwrap();
    world.drain();
}

fn run(world: &World, args: &[&str]) -> (i32, Value, String) {
    let output = world.auditor(args, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report, stderr)
}

fn reconcile(
    world: &World,
    source: &str,
    destination: &str,
    extra: &[&str],
) -> (i32, Value, String, PathBuf) {
    let redrive = world.temp_path("redrive.csv");
    let mut args = vec![
        "reconcile",
        "--source-manifest",
        source,
        "--destination-manifest",
        destination,
        "--redrive-manifest",
        redrive.to_str().unwrap(),
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let (code, report, stderr) = run(world, &args);
    (code, report, stderr, redrive)
}

fn nonzero_counts(report: &Value) -> Vec<(String, u64)> {
    report["counts"]
        .as_object()
        .unwrap_or_else(|| panic!("no counts: {report}"))
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(v, n)| (v.clone(), n.as_u64().unwrap()))
        .collect()
}

/// `aws s3 sync s3://REPORTS dir`: every object at `dir/<key>`.
async fn sync(world: &World, dir: &Path) {
    let a = world.s3(SOURCE_KEY);
    let listed = a.list_objects_v2().bucket(REPORTS).send().await.unwrap();
    for object in listed.contents() {
        let key = object.key().unwrap();
        let body = a
            .get_object()
            .bucket(REPORTS)
            .key(key)
            .send()
            .await
            .unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        let path = dir.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

fn local_manifest(dir: &Path, s3_url: &str) -> String {
    let key = s3_url.trim_start_matches(&format!("s3://{REPORTS}/"));
    dir.join(key).to_str().unwrap().to_string()
}

/// The healthy pair's verdicts (every version, delete markers included), whatever the format.
fn healthy_pair_counts() -> Vec<(String, u64)> {
    [
        ("missing", 1),
        ("pending", 1),
        ("replicated", 3),
        // The replica whose source version was deleted, and the delete marker no rule
        // replicates (DeleteMarkerReplication Disabled): quiet, as the handler judges them.
        ("source_gone", 2),
        ("unreplicated", 1),
    ]
    .iter()
    .map(|(v, n)| (v.to_string(), *n))
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_verdict_from_world_written_inventories_in_both_formats_in_memory_spilled_and_from_a_local_copy(
) {
    let world = World::start();
    objects_in_every_state(&world).await;
    let expected = healthy_pair_counts();
    for format in ["CSV", "Parquet"] {
        let query = format!("&format={format}");
        let source = inventory(&world, HEALTHY_SOURCE, &query);
        let destination = inventory(&world, HEALTHY_DESTINATION, &query);

        let (code, report, stderr, redrive) = reconcile(&world, &source, &destination, &[]);
        assert_eq!(code, 1, "{format}: {stderr}");
        assert_eq!(
            nonzero_counts(&report),
            expected,
            "{format}: {report:#} {stderr}"
        );
        assert_eq!(report["join"]["spilled"], false);
        assert!(report["rules"].as_str().unwrap().starts_with("read from"));
        let mut lines: Vec<String> = std::fs::read_to_string(&redrive)
            .unwrap()
            .lines()
            .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
            .collect();
        lines.sort();
        assert_eq!(
            lines,
            [
                format!("{HEALTHY_SOURCE},before+the+rule.txt"),
                format!("{HEALTHY_SOURCE},lost/receipt+1.png"),
            ],
            "{format}"
        );
        assert_eq!(report["redrive"]["objects"], 2);

        // The same verdicts when the destination does not fit the memory budget.
        let (code, spilled, stderr, _) =
            reconcile(&world, &source, &destination, &["--memory-budget-kib", "1"]);
        assert_eq!(code, 1, "{format}: {stderr}");
        assert_eq!(spilled["join"]["spilled"], true, "{spilled:#}");
        assert!(spilled["join"]["partitions"].as_u64().unwrap() > 1);
        assert!(stderr.contains("spilling"), "{stderr}");
        assert_eq!(nonzero_counts(&spilled), expected, "{format} spilled");

        // From a local copy laid out as `aws s3 sync` leaves it.
        let dir = world.temp_path("reports");
        sync(&world, &dir).await;
        let (code, local, stderr, _) = reconcile(
            &world,
            &local_manifest(&dir, &source),
            &local_manifest(&dir, &destination),
            &[],
        );
        assert_eq!(code, 1, "{format}: {stderr}");
        assert_eq!(nonzero_counts(&local), expected, "{format} local");
    }

    // The broken pair: S3 marked the report FAILED; it is re-driven, and with --metrics the
    // counts reach CloudWatch as the Lambda's do (PutMetricData, or EMF lines on stderr).
    let broken_source = inventory(&world, BROKEN_SOURCE, "");
    let broken_destination = inventory(&world, BROKEN_DESTINATION, "");
    let (code, broken, stderr, redrive) =
        reconcile(&world, &broken_source, &broken_destination, &["--metrics"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(nonzero_counts(&broken), [("failed".to_string(), 1)]);
    assert!(std::fs::read_to_string(redrive)
        .unwrap()
        .starts_with(&format!("{BROKEN_SOURCE},monthly+report+November.pdf,")));
    assert_eq!(broken["metrics"], "put_metric_data", "{broken:#}");
    for (metric, expected) in [("Failed", 1.0), ("ObjectsAudited", 1.0), ("Missing", 0.0)] {
        assert_eq!(
            world
                .metric_sum(metric, BROKEN_SOURCE, Some(BROKEN_DESTINATION))
                .await,
            expected,
            "{metric}"
        );
    }
    let output = world.auditor(
        &[
            "reconcile",
            "--source-manifest",
            &broken_source,
            "--destination-manifest",
            &broken_destination,
            "--metrics",
        ],
        &[("AUDITOR_METRICS_MODE", "emf")],
    );
    let lines = emf_lines(&String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines.len(), 1, "{output:?}");
    assert_eq!(lines[0]["Failed"], 1);
    assert_eq!(lines[0]["DestinationBucket"], BROKEN_DESTINATION);
    assert!(String::from_utf8_lossy(&output.stdout).contains("metrics: Emf"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_turns_late_by_the_time_s3_took_the_report_and_optional_columns_may_be_absent() {
    let world = World::start();
    objects_in_every_state(&world).await;
    let destination = inventory(&world, HEALTHY_DESTINATION, "");

    // The same source report taken an hour later: the held object is past the SLA.
    let later = chrono::Utc::now().timestamp() + 3600;
    let source = inventory(&world, HEALTHY_SOURCE, &format!("&now={later}"));
    let (code, report, stderr, redrive) = reconcile(&world, &source, &destination, &[]);
    assert_eq!(code, 1, "{stderr}");
    let mut expected = healthy_pair_counts();
    expected.retain(|(verdict, _)| verdict != "pending");
    expected.insert(0, ("late".to_string(), 1));
    assert_eq!(nonzero_counts(&report), expected, "{report:#}");
    assert!(std::fs::read_to_string(redrive)
        .unwrap()
        .contains(&format!("{HEALTHY_SOURCE},slow+upload.bin,")));

    // Current-version-only reports listing only the required columns and ReplicationStatus (no
    // version id, size, dates or ETag): joined by key; the replica deleted in B is still found.
    for format in ["CSV", "Parquet"] {
        let query = format!("&format={format}&versions=current&fields=ReplicationStatus");
        let source = inventory(&world, HEALTHY_SOURCE, &query);
        let destination = inventory(&world, HEALTHY_DESTINATION, &query);
        let (code, report, stderr, _) = reconcile(&world, &source, &destination, &[]);
        assert_eq!(code, 1, "{format}: {stderr}");
        let counts = nonzero_counts(&report);
        assert!(
            counts.contains(&("missing".to_string(), 1)),
            "{format}: {report:#}"
        );
        assert!(
            counts.contains(&("unreplicated".to_string(), 1)),
            "{format}: {report:#}"
        );
    }
}

/// Delete markers carry no replication status (S3 answers a HEAD of one with 405, and the local
/// world lists them with none): one missing from a destination whose rule replicates delete
/// markers is pending, then late by the report's time, and re-driven.
#[tokio::test(flavor = "multi_thread")]
async fn delete_markers_replicated_and_not_from_both_formats() {
    let world = World::start();
    world.scenario("delete-markers");
    world
        .s3(SOURCE_KEY)
        .create_bucket()
        .bucket(REPORTS)
        .send()
        .await
        .unwrap();
    for bucket in [HEALTHY_DELETES, BROKEN_DELETES] {
        world.put(bucket, "old draft.txt", b"x").await;
    }
    world.drain();
    for bucket in [HEALTHY_DELETES, BROKEN_DELETES] {
        world.delete(SOURCE_KEY, bucket, "old draft.txt").await;
    }
    world.drain();
    let counts = |pairs: &[(&str, u64)]| -> Vec<(String, u64)> {
        pairs.iter().map(|(v, n)| (v.to_string(), *n)).collect()
    };
    let later = chrono::Utc::now().timestamp() + 3600;
    for format in ["CSV", "Parquet"] {
        let query = format!("&format={format}");
        let (code, healthy, stderr, _) = reconcile(
            &world,
            &inventory(&world, HEALTHY_DELETES, &query),
            &inventory(&world, &format!("{HEALTHY_DELETES}-replica"), &query),
            &[],
        );
        assert_eq!(code, 0, "{format}: {stderr}");
        assert_eq!(
            nonzero_counts(&healthy),
            counts(&[("replicated", 2)]),
            "{format}: {healthy:#}"
        );

        let destination = inventory(&world, &format!("{BROKEN_DELETES}-replica"), &query);
        let (code, fresh, stderr, _) = reconcile(
            &world,
            &inventory(&world, BROKEN_DELETES, &query),
            &destination,
            &[],
        );
        assert_eq!(code, 0, "{format}: {stderr}");
        assert_eq!(
            nonzero_counts(&fresh),
            counts(&[("pending", 1), ("replicated", 1)]),
            "{format}: {fresh:#}"
        );

        let (code, old, stderr, redrive) = reconcile(
            &world,
            &inventory(&world, BROKEN_DELETES, &format!("{query}&now={later}")),
            &destination,
            &[],
        );
        assert_eq!(code, 1, "{format}: {stderr}");
        assert_eq!(
            nonzero_counts(&old),
            counts(&[("late", 1), ("replicated", 1)]),
            "{format}: {old:#}"
        );
        let late = &old["findings"][0];
        assert_eq!(late["key"], "old draft.txt", "{old:#}");
        assert_eq!(late["delete_marker"], true, "{old:#}");
        assert!(std::fs::read_to_string(redrive)
            .unwrap()
            .starts_with(&format!("{BROKEN_DELETES},old+draft.txt,")));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_input_exits_2_with_a_clear_message() {
    let world = World::start();
    let a = world.s3(SOURCE_KEY);
    a.create_bucket().bucket(REPORTS).send().await.unwrap();
    world.put(HEALTHY_SOURCE, "a.txt", b"x").await;
    world.drain();
    let source = inventory(&world, HEALTHY_SOURCE, "");
    let destination = inventory(&world, HEALTHY_DESTINATION, "");
    let dir = world.temp_path("corrupt");
    sync(&world, &dir).await;
    let source_path = local_manifest(&dir, &source);
    let destination_path = local_manifest(&dir, &destination);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&source_path).unwrap()).unwrap();

    // The source manifest with one change: reconcile exits 2 with a message naming the problem.
    let refused = |name: &str, change: &dyn Fn(&mut Value), expected: &str| {
        let mut changed = manifest.clone();
        change(&mut changed);
        let path = source_path.replace("manifest.json", &format!("{name}.json"));
        std::fs::write(&path, changed.to_string()).unwrap();
        let (code, _, stderr, _) = reconcile(&world, &path, &destination_path, &["--offline"]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    };
    refused(
        "missing-file",
        &|m| m["files"][0]["key"] = json!("inventory/nope/data/missing.csv.gz"),
        "missing.csv.gz",
    );
    refused(
        "keyless",
        &|m| m["fileSchema"] = json!("Bucket, VersionId, Size"),
        "no Key column",
    );
    refused(
        "orc",
        &|m| m["fileFormat"] = json!("ORC"),
        "\"ORC\" is not supported",
    );
    // A Parquet manifest whose data file is not Parquet.
    refused(
        "parquet",
        &|m| {
            m["fileFormat"] = json!("Parquet");
            m["fileSchema"] = json!("message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional binary version_id (UTF8); }");
        },
        "not a readable Parquet file",
    );

    // An all-versions report against a current-version one: nothing could match.
    let current = inventory(&world, HEALTHY_DESTINATION, "&versions=current");
    let (code, _, stderr, _) = reconcile(&world, &source, &current, &["--offline"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("lists object versions"), "{stderr}");

    // A data file that is not gzip.
    let data = dir.join(manifest["files"][0]["key"].as_str().unwrap());
    std::fs::write(&data, b"this is not gzip").unwrap();
    let (code, _, stderr, _) = reconcile(&world, &source_path, &destination_path, &["--offline"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("gzip"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
