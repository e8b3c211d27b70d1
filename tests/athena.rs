//! `reconcile --engine athena`, proven against the local join: GIVEN the world's bucket pairs
//! with versions in every state an inventory can show (replicated, pending, late, missing,
//! failed, unreplicated, source gone, delete markers replicated or not, keys with `+`, spaces
//! and unicode) WHEN the world writes S3 Inventory reports (CSV and Parquet, all versions or
//! current only, taken now or an hour later) and the very SQL of src/reconcile/athena.sql runs
//! in DuckDB over them (`python -m world.athena`: the stand-in for Athena, the world's own) THEN every
//! version gets the verdict and alarm the local join gives it, row by row.
//!
//! The local join's verdict of one version comes from the public `reconcile` over a
//! one-version report of each side (a row with no source row: a known source row beside it,
//! whose own verdict is taken away), so the local join itself judges every row.

mod common;

use common::world::*;
use flate2::read::MultiGzDecoder;
use md5::Digest;
use s3_replication_auditor::audit::VerdictPolicy;
use s3_replication_auditor::event::keys::encode_event_key;
use s3_replication_auditor::reconcile::athena::{Plan, Side};
use s3_replication_auditor::reconcile::manifest::{parse_row, Columns, Manifest, Row};
use s3_replication_auditor::reconcile::{reconcile, Inventory, Rules, Settings};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const REPORTS: &str = "acme-athena-reports";

/// (key, version id, verdict, alarming) of one version.
type Judged = (String, String, String, bool);

/// One side's report, downloaded as `aws s3 sync` lays it out.
struct Report {
    url: String,
    text: String,
    manifest: Manifest,
    files: Vec<PathBuf>,
    rows: Vec<Row>,
}

async fn report(world: &World, dir: &Path, bucket: &str, query: &str) -> Report {
    let written = world.control(
        "POST",
        &format!("/_world/inventory?bucket={bucket}&destination={REPORTS}&prefix=inventory&rows_per_file=4{query}"),
        "",
    );
    let key = written["manifest_key"]
        .as_str()
        .unwrap_or_else(|| panic!("{written}"));
    let s3 = world.s3(SOURCE_KEY);
    let get = |key: String| {
        let s3 = s3.clone();
        async move {
            let object = s3
                .get_object()
                .bucket(REPORTS)
                .key(&key)
                .send()
                .await
                .unwrap();
            object.body.collect().await.unwrap().into_bytes().to_vec()
        }
    };
    let text = String::from_utf8(get(key.to_string()).await).unwrap();
    let manifest = Manifest::parse(key, &text).unwrap();
    let names = manifest.column_names(key).unwrap();
    let columns = Columns::from_names(key, &names).unwrap();
    let (mut files, mut rows) = (Vec::new(), Vec::new());
    for file in &manifest.files {
        let path = dir.join(&file.key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, get(file.key.clone()).await).unwrap();
        if manifest.file_format == "CSV" {
            let mut text = String::new();
            MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
                .read_to_string(&mut text)
                .unwrap();
            rows.extend(text.lines().map(|line| parse_row(line, &columns).unwrap()));
        } else {
            let read = s3_replication_auditor::reconcile::parquet::rows(&path).unwrap();
            rows.extend(read.map(Result::unwrap));
        }
        files.push(path);
    }
    Report {
        url: format!("s3://{REPORTS}/{key}"),
        text,
        manifest,
        files,
        rows,
    }
}

/// A one-file CSV report of `rows` of `bucket` (the columns the verdicts read).
fn small_report(
    dir: &Path,
    bucket: &str,
    rows: &[&Row],
    versioned: bool,
    created: &str,
) -> Inventory {
    let name = format!("{}-{}", bucket, rows.len());
    let base = unique_temp_path(&name);
    let mut fields = vec!["Bucket", "Key"];
    if versioned {
        fields.extend(["VersionId", "IsDeleteMarker"]);
    }
    fields.extend(["LastModifiedDate", "ReplicationStatus"]);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for row in rows {
        let mut line = vec![bucket.to_string(), encode_event_key(&row.key)];
        if versioned {
            line.extend([row.version_id.clone(), row.is_delete_marker.to_string()]);
        }
        let modified = row
            .last_modified
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        line.extend([modified.unwrap_or_default(), row.replication_status.clone()]);
        let quoted: Vec<String> = line
            .iter()
            .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
            .collect();
        writeln!(gzip, "{}", quoted.join(",")).unwrap();
    }
    let body = gzip.finish().unwrap();
    let folder = base.file_name().unwrap().to_string_lossy().to_string();
    std::fs::create_dir_all(dir.join(&folder)).unwrap();
    let data = format!("{folder}/data.csv.gz");
    std::fs::write(dir.join(&data), &body).unwrap();
    let manifest = json!({
        "sourceBucket": bucket, "destinationBucket": format!("arn:aws:s3:::{REPORTS}"),
        "creationTimestamp": created, "fileFormat": "CSV", "fileSchema": fields.join(", "),
        "files": [{"key": data, "size": body.len(), "MD5checksum": ""}],
    });
    let path = dir.join(format!(
        "{}.json",
        base.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&path, manifest.to_string()).unwrap();
    Inventory::local(&path).unwrap()
}

/// The local join's verdict of every version of the two reports, one version at a time.
fn local_verdicts(
    dir: &Path,
    source: &Report,
    destination: &Report,
    rules: &Rules,
    policy: &VerdictPolicy,
) -> Vec<Judged> {
    let versioned = source
        .manifest
        .file_schema
        .to_ascii_lowercase()
        .contains("version");
    let created = source.manifest.creation_timestamp.clone().unwrap();
    let (from, to) = (
        &source.manifest.source_bucket,
        &destination.manifest.source_bucket,
    );
    let settings = Settings {
        policy: policy.clone(),
        memory_budget_bytes: 1 << 20,
        spill_dir: dir.to_path_buf(),
        redrive: None,
        progress: false,
        workers: 1,
    };
    let judge = |source_rows: &[&Row], destination_rows: &[&Row]| {
        let outcome = reconcile(
            &small_report(dir, from, source_rows, versioned, &created),
            &small_report(dir, to, destination_rows, versioned, &created),
            rules,
            &settings,
        )
        .unwrap();
        let verdicts: Vec<(String, u64)> = outcome
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(v, n)| (v.to_string(), *n))
            .collect();
        (verdicts, outcome.alarming, outcome.rows.destination_only)
    };
    let same = |a: &Row, b: &Row| a.key == b.key && a.version_id == b.version_id;
    let mut judged = Vec::new();
    for row in &source.rows {
        let replicas: Vec<&Row> = destination.rows.iter().filter(|d| same(row, d)).collect();
        let (verdicts, alarming, _) = judge(&[row], &replicas);
        assert_eq!(verdicts.len(), 1, "{row:?}: {verdicts:?}");
        judged.push((
            row.key.clone(),
            row.version_id.clone(),
            verdicts[0].0.clone(),
            alarming > 0,
        ));
    }
    // A destination row no source row names, beside a source row of a key no report has.
    let known = Row {
        key: "athena-test/known source row".into(),
        version_id: if versioned {
            "v-known".into()
        } else {
            String::new()
        },
        replication_status: "COMPLETED".into(),
        ..Row::default()
    };
    let (alone, alone_alarming, _) = judge(&[&known], &[]);
    for row in destination
        .rows
        .iter()
        .filter(|d| !source.rows.iter().any(|s| same(s, d)))
    {
        let (mut verdicts, alarming, destination_only) = judge(&[&known], &[row]);
        for (verdict, n) in &alone {
            let at = verdicts.iter().position(|(v, _)| v == verdict).unwrap();
            verdicts[at].1 -= n;
        }
        verdicts.retain(|(_, n)| *n > 0);
        let verdict = match (verdicts.as_slice(), destination_only) {
            ([(verdict, 1)], 0) => verdict.clone(),
            ([], 1) => "destination_only".to_string(),
            other => panic!("{row:?}: {other:?}"),
        };
        judged.push((
            row.key.clone(),
            row.version_id.clone(),
            verdict,
            alarming > alone_alarming,
        ));
    }
    judged.sort();
    judged
}

/// The `rows` query of athena.sql, run by DuckDB over the downloaded reports.
fn sql_verdicts(
    source: &Report,
    destination: &Report,
    rules: &Rules,
    policy: &VerdictPolicy,
) -> Vec<Judged> {
    let side = |r: &Report| Side::from_manifest(&r.url, &r.text).unwrap();
    let plan = Plan {
        database: "auditor".into(),
        source: side(source),
        destination: side(destination),
        rules: rules.clone(),
        policy: policy.clone(),
        redrive: None,
    };
    let tables: Vec<Value> = [(&plan.source, source), (&plan.destination, destination)]
        .iter()
        .map(|(side, report)| {
            json!({
                "name": side.table(&plan.database),
                "format": report.manifest.file_format,
                "columns": side.columns.iter().map(|(name, _)| name).collect::<Vec<_>>(),
                "dt": side.dt,
                "files": report.files,
            })
        })
        .collect();
    let request = json!({"sql": plan.rows_query().unwrap(), "tables": tables});
    let mut child = Command::new(world_python())
        .args(["-m", "world.athena"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run DuckDB");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        request["sql"]
    );
    let rows: Vec<(String, String, String, bool)> = serde_json::from_slice(&output.stdout).unwrap();
    let mut rows: Vec<Judged> = rows.into_iter().collect();
    rows.sort();
    rows
}

/// The source bucket's rules, as `reconcile` reads them.
async fn rules_of(world: &World, bucket: &str) -> Rules {
    match world
        .s3(SOURCE_KEY)
        .get_bucket_replication()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(answer) => Rules::Read(Some(s3_replication_auditor::aws::rules::replication_rules(
            answer.replication_configuration.unwrap(),
        ))),
        Err(_) => Rules::Read(None),
    }
}

async fn objects_in_every_state(world: &World) {
    world
        .s3(SOURCE_KEY)
        .create_bucket()
        .bucket(REPORTS)
        .send()
        .await
        .unwrap();
    world.scenario("delete-markers");
    world.fault(json!({"fault": "stay_pending", "bucket": HEALTHY_SOURCE, "key_regex": "^slow"}));
    world
        .put(HEALTHY_SOURCE, "Screen Shot 1+1 ☕.png", b"ok")
        .await;
    world.put(HEALTHY_SOURCE, "slow upload.bin", b"x").await;
    let lost = world.put(HEALTHY_SOURCE, "lost/receipt 1.png", b"x").await;
    let gone = world.put(HEALTHY_SOURCE, "gone.txt", b"x").await;
    world.put(HEALTHY_SOURCE, "versions.txt", b"one").await;
    world
        .delete(SOURCE_KEY, HEALTHY_SOURCE, "versions.txt")
        .await;
    world
        .put(BROKEN_SOURCE, "monthly report November.pdf", b"pdf")
        .await;
    for bucket in [HEALTHY_DELETES, BROKEN_DELETES] {
        world.put(bucket, "old draft.txt", b"x").await;
    }
    world.drain();
    for bucket in [HEALTHY_DELETES, BROKEN_DELETES] {
        world.delete(SOURCE_KEY, bucket, "old draft.txt").await;
    }
    // Written while the source had no replication rule (S3 gives it no status).
    world
        .put_before_the_rule(HEALTHY_SOURCE, "before the rule.txt", b"x")
        .await;
    let b = world.s3(DESTINATION_KEY);
    b.delete_object()
        .bucket(HEALTHY_DESTINATION)
        .key("lost/receipt 1.png")
        .version_id(&lost)
        .send()
        .await
        .unwrap();
    b.put_object()
        .bucket(HEALTHY_DESTINATION)
        .key("written in B.txt")
        .body(b"b".to_vec().into())
        .send()
        .await
        .unwrap();
    world
        .s3(SOURCE_KEY)
        .delete_object()
        .bucket(HEALTHY_SOURCE)
        .key("gone.txt")
        .version_id(&gone)
        .send()
        .await
        .unwrap();
    world.drain();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_athena_sql_gives_every_version_the_local_joins_verdict_in_duckdb() {
    let world = World::start();
    objects_in_every_state(&world).await;
    let dir = unique_temp_path("athena-reports");
    std::fs::create_dir_all(&dir).unwrap();
    let later = chrono::Utc::now().timestamp() + 3600;
    let pairs = [
        (HEALTHY_SOURCE, HEALTHY_DESTINATION),
        (BROKEN_SOURCE, BROKEN_DESTINATION),
        (HEALTHY_DELETES, "acme-deletes-ok-replica"),
        (BROKEN_DELETES, "acme-deletes-replica"),
    ];
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (from, to) in pairs {
        let rules = rules_of(&world, from).await;
        for query in [
            "&format=CSV",
            "&format=Parquet",
            "&format=CSV&versions=current",
            "&format=Parquet&versions=current&fields=ReplicationStatus",
        ] {
            let destination = report(&world, &dir, to, query).await;
            for taken in [String::new(), format!("&now={later}")] {
                let source = report(&world, &dir, from, &format!("{query}{taken}")).await;
                for alarm_on_unreplicated in [true, false] {
                    let policy = VerdictPolicy {
                        late_after: chrono::Duration::seconds(900),
                        alarm_on_unreplicated,
                    };
                    let local = local_verdicts(&dir, &source, &destination, &rules, &policy);
                    let sql = sql_verdicts(&source, &destination, &rules, &policy);
                    assert_eq!(sql, local, "{from} -> {to} {query}{taken} alarm_on_unreplicated={alarm_on_unreplicated}");
                    for (_, _, verdict, _) in &local {
                        *seen.entry(verdict.clone()).or_default() += 1;
                    }
                }
            }
        }
        // Without rules (offline) and with a source bucket that has none.
        let destination = report(&world, &dir, to, "").await;
        let source = report(&world, &dir, from, "").await;
        for rules in [Rules::NotAsked, Rules::Read(None)] {
            let policy = VerdictPolicy {
                late_after: chrono::Duration::seconds(900),
                alarm_on_unreplicated: true,
            };
            if matches!(rules, Rules::Read(None))
                && source
                    .rows
                    .iter()
                    .all(|r| r.replication_status == "REPLICA")
            {
                continue;
            }
            let local = local_verdicts(&dir, &source, &destination, &rules, &policy);
            assert_eq!(
                sql_verdicts(&source, &destination, &rules, &policy),
                local,
                "{from} {rules:?}"
            );
        }
    }
    // The proof covers every verdict an inventory row can earn here.
    for verdict in [
        "replicated",
        "pending",
        "late",
        "missing",
        "failed",
        "unreplicated",
        "source_gone",
        "destination_only",
    ] {
        assert!(
            seen.contains_key(verdict),
            "no {verdict} row among {seen:?}"
        );
    }
}

/// The local world's Python (where DuckDB is installed): `WORLD_PYTHON` or the project's `.venv`.
fn world_python() -> PathBuf {
    std::env::var_os("WORLD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

const RESULTS: &str = "acme-athena-results";

/// (exit code, JSON report, stderr) of `replication-auditor ARGS`.
fn auditor(world: &World, args: &[&str]) -> (i32, Value, String) {
    let output = world.auditor(args, &[]);
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (output.status.code().unwrap_or(-1), report, stderr)
}

/// `bucket,key[,version]` lines with the key decoded (the two engines may encode differently).
fn decoded(lines: &str) -> Vec<String> {
    let mut lines: Vec<String> = lines
        .lines()
        .map(|line| {
            let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
            fields[1] = s3_replication_auditor::event::keys::decode_event_key(&fields[1]).unwrap();
            fields.join(",")
        })
        .collect();
    lines.sort();
    lines
}

/// Every file UNLOAD wrote under `prefix` in the results bucket, gunzipped and joined.
async fn unloaded(world: &World, prefix: &str) -> String {
    let s3 = world.s3(SOURCE_KEY);
    let listed = s3
        .list_objects_v2()
        .bucket(RESULTS)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    for object in listed.contents() {
        if object.key().unwrap().ends_with("manifest.json") {
            continue;
        }
        let body = s3
            .get_object()
            .bucket(RESULTS)
            .key(object.key().unwrap())
            .send()
            .await
            .unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
    }
    text
}

/// The real binary, `--engine athena`, against the world's Athena (moto's API, queries run in
/// DuckDB over the world's S3, world/athena.py): the local join's counts and exit code, the
/// re-drive manifest written to S3 by the UNLOAD, bytes scanned and the cost printed; a missing
/// workgroup, a failed query, a used re-drive prefix and bad flags exit 2 with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn reconcile_through_the_worlds_athena_matches_the_local_join_and_writes_the_redrive_to_s3() {
    let world = World::start();
    objects_in_every_state(&world).await;
    world
        .s3(SOURCE_KEY)
        .create_bucket()
        .bucket(RESULTS)
        .send()
        .await
        .unwrap();
    let dir = unique_temp_path("athena-cli");
    let athena_flags = |redrive: &str| -> Vec<String> {
        [
            "--engine",
            "athena",
            "--athena-database",
            "auditor",
            "--athena-output",
            &format!("s3://{RESULTS}/queries/"),
            "--redrive-manifest",
            &format!("s3://{RESULTS}/{redrive}/"),
            "--output",
            "json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    for format in ["CSV", "Parquet"] {
        let query = format!("&format={format}");
        let source = report(&world, &dir, HEALTHY_SOURCE, &query).await;
        let destination = report(&world, &dir, HEALTHY_DESTINATION, &query).await;
        let local_redrive = world.temp_path("redrive.csv");
        let base = [
            "reconcile",
            "--source-manifest",
            &source.url,
            "--destination-manifest",
            &destination.url,
        ];
        let mut local_args = base.to_vec();
        local_args.extend([
            "--output",
            "json",
            "--redrive-manifest",
            local_redrive.to_str().unwrap(),
        ]);
        let (local_code, local, stderr) = auditor(&world, &local_args);
        assert_eq!(local_code, 1, "{stderr}");
        let flags = athena_flags(&format!("redrive-{format}"));
        let mut args = base.to_vec();
        args.extend(flags.iter().map(String::as_str));
        let (code, athena, stderr) = auditor(&world, &args);
        assert_eq!(code, 1, "{format}: {stderr}");
        for field in ["counts", "alarming", "rows"] {
            assert_eq!(athena[field], local[field], "{format} {field}: {athena:#}");
        }
        assert_eq!(athena["athena"]["workgroup"], "primary");
        assert_eq!(
            athena["athena"]["output_location"],
            format!("s3://{RESULTS}/queries/")
        );
        assert_eq!(
            athena["athena"]["query_execution_ids"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
        let scanned = athena["athena"]["bytes_scanned"].as_u64().unwrap();
        let files: u64 = source.manifest.total_size() + destination.manifest.total_size();
        assert_eq!(
            scanned,
            2 * files,
            "{format}: the counts query and the UNLOAD read both reports"
        );
        assert!(athena["athena"]["cost_usd"].as_f64().unwrap() >= 2.0 * 0.00005);
        let written = unloaded(&world, &format!("redrive-{format}/")).await;
        let local_lines = std::fs::read_to_string(&local_redrive).unwrap();
        assert_eq!(decoded(&written), decoded(&local_lines), "{format}");
        assert_eq!(athena["redrive"]["objects"], local["redrive"]["objects"]);
        // The UNLOAD's files in one S3InventoryReport_CSV_20161130 manifest.json, which the
        // local join's own reader takes: the same versions again.
        let url = format!("s3://{RESULTS}/redrive-{format}/manifest.json");
        assert_eq!(athena["redrive"]["path"], url.as_str());
        let key = url.trim_start_matches(&format!("s3://{RESULTS}/"));
        let s3 = world.s3(SOURCE_KEY);
        let object = s3
            .get_object()
            .bucket(RESULTS)
            .key(key)
            .send()
            .await
            .unwrap();
        let text =
            String::from_utf8(object.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
        let manifest = Manifest::parse(&url, &text).unwrap();
        assert_eq!(manifest.file_schema, "Bucket, Key, VersionId");
        assert_eq!(manifest.source_bucket, HEALTHY_SOURCE);
        assert_eq!(manifest.files.len(), 1, "{text}");
        let listed = s3
            .get_object()
            .bucket(RESULTS)
            .key(&manifest.files[0].key)
            .send()
            .await
            .unwrap();
        let bytes = listed.body.collect().await.unwrap().into_bytes();
        assert_eq!(manifest.files[0].size, Some(bytes.len() as u64));
        assert_eq!(
            manifest.files[0].md5.as_deref(),
            Some(hex::encode(md5::Md5::digest(&bytes)).as_str())
        );

        // UNLOAD refuses a prefix that holds data: the run fails with Athena's reason.
        let (code, _, stderr) = auditor(&world, &args);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("HIVE_PATH_ALREADY_EXISTS"), "{stderr}");
    }

    let source = report(&world, &dir, BROKEN_SOURCE, "").await;
    let destination = report(&world, &dir, BROKEN_DESTINATION, "").await;
    let base = [
        "reconcile",
        "--source-manifest",
        &source.url,
        "--destination-manifest",
        &destination.url,
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend(extra);
        auditor(&world, &args)
    };
    let output = format!("s3://{RESULTS}/queries/");
    let athena = [
        "--engine",
        "athena",
        "--athena-database",
        "auditor",
        "--athena-output",
        &output,
    ];
    // A workgroup Athena does not have: the flag is named.
    let (code, _, stderr) = run(&[&athena[..], &["--athena-workgroup", "nope"]].concat());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--athena-workgroup nope") && stderr.contains("WorkGroup"),
        "{stderr}"
    );
    // Flags refused before any call, each naming itself.
    for (flags, expected) in [
        (
            vec!["--engine", "athena", "--athena-output", &output],
            "--athena-database is required",
        ),
        (
            vec!["--engine", "athena", "--athena-database", "auditor"],
            "--athena-output is required",
        ),
        (
            vec![
                "--engine",
                "athena",
                "--athena-database",
                "Bad-Name",
                "--athena-output",
                &output,
            ],
            "--athena-database \"Bad-Name\"",
        ),
        (
            [&athena[..], &["--redrive-manifest", "redrive.csv"]].concat(),
            "--redrive-manifest redrive.csv",
        ),
    ] {
        let (code, _, stderr) = run(&flags);
        assert_eq!(code, 2, "{flags:?}: {stderr}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
    }
    // The same report as source and destination: refused before any query, as the local join
    // refuses it (every version would join itself and read "replicated").
    let mut same = vec![
        "reconcile",
        "--source-manifest",
        &source.url,
        "--destination-manifest",
        &source.url,
    ];
    same.extend(athena);
    let (code, report, stderr) = auditor(&world, &same);
    assert_eq!(code, 2, "{report} {stderr}");
    assert!(
        stderr.contains("both manifests are reports of bucket"),
        "{stderr}"
    );
    // A data file Athena cannot read: the query FAILED, and its reason is the error.
    let data = &source.manifest.files[0].key;
    world
        .s3(SOURCE_KEY)
        .put_object()
        .bucket(REPORTS)
        .key(data)
        .body(b"not gzip".to_vec().into())
        .send()
        .await
        .unwrap();
    let (code, _, stderr) = run(&athena);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("FAILED:") && stderr.contains("GENERIC_INTERNAL_ERROR"),
        "{stderr}"
    );
}
