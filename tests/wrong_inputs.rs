//! Wrong inputs never read as healthy: every refusal names the input and the fix.
//!
//! One table of what a person types wrong with the README open — a key in the wrong case or
//! URL-encoded, a version id or bucket that does not exist, an invalid bucket name, no region,
//! no credentials, an endpoint that does not answer, flags that go together given apart, two
//! inventory manifests that cannot be a pair — each run through the real binary against the
//! local world, with the exit code and the words the person must see (and must not see: an SDK
//! dump, a "retried" that nothing retries, a fix that would overwrite what was never read).

mod common;

use common::world::*;
use serde_json::{json, Value};
use std::process::Command;

struct Case {
    name: &'static str,
    args: Vec<String>,
    /// Settings taken out of the deployed environment.
    unset: &'static [&'static str],
    set: Vec<(&'static str, String)>,
    code: i32,
    says: &'static [&'static str],
    never: &'static [&'static str],
}

impl Case {
    fn new(name: &'static str, args: &[&str], code: i32, says: &'static [&'static str]) -> Self {
        Self {
            name,
            args: args.iter().map(|a| a.to_string()).collect(),
            unset: &[],
            set: Vec::new(),
            code,
            says,
            never: &[
                "panicked",
                "DispatchFailure",
                "SdkError",
                "source_gone",
                "is retried",
            ],
        }
    }

    fn unset(mut self, names: &'static [&'static str]) -> Self {
        self.unset = names;
        self
    }

    fn set(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.set.push((name, value.into()));
        self
    }

    fn never(mut self, words: &'static [&'static str]) -> Self {
        self.never = words;
        self
    }
}

/// The deployed auditor's environment (as `World::auditor`), less `unset`, plus `set`; no
/// profile files, no instance metadata.
fn run(world: &World, case: &Case) -> (i32, String) {
    let home = world.temp_path("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut env: Vec<(&str, String)> = vec![
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("HOME", home.display().to_string()),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_ENDPOINT_URL", world.url.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", SOURCE_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", SOURCE_SECRET.into()),
        ("AUDITOR_DESTINATION_ROLE_ARN", AUDIT_ROLE_ARN.into()),
        ("AUDITOR_EXTERNAL_ID", EXTERNAL_ID.into()),
        ("AUDITOR_PENDING_WAIT_SECONDS", "0".into()),
    ];
    env.retain(|(name, _)| !case.unset.contains(name));
    for (name, value) in &case.set {
        env.retain(|(n, _)| n != name);
        env.push((name, value.clone()));
    }
    let output = Command::new(env!("CARGO_BIN_EXE_replication-auditor"))
        .args(&case.args)
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

fn check_all(world: &World, cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let (code, text) = run(world, case);
        if code != case.code {
            failures.push(format!(
                "{}: exit {code}, expected {}:\n{text}",
                case.name, case.code
            ));
            continue;
        }
        for words in case.says {
            if !text.contains(words) {
                failures.push(format!("{}: does not say {words:?}:\n{text}", case.name));
            }
        }
        for words in case.never {
            if text.contains(words) {
                failures.push(format!("{}: says {words:?}:\n{text}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_wrong_input_is_refused_with_what_to_fix() {
    let world = World::start();
    let version = world
        .put(HEALTHY_SOURCE, "reports/Q3 summary.pdf", b"pdf")
        .await;
    world.drain();
    let event = world.write_event(&json!({"Records": [sqs_record("m1", &json!({"Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "2026-12-01T00:00:00Z",
        "s3": {"bucket": {"name": HEALTHY_SOURCE}, "object": {"key": "reports/Q3+summary.pdf", "versionId": version}}}]}).to_string())]}));
    let event = event.to_str().unwrap().to_string();
    let url = |key: &str| format!("s3://{HEALTHY_SOURCE}/{key}");
    let wrong_version = "3HL4kqtJvjVBH40Nrjfkd";
    let cases = vec![
        // check: what is not there is "not found", and which part — exit 2.
        Case::new(
            "key in the wrong case",
            &["check", &url("reports/q3 summary.pdf")],
            2,
            &["No such key", "Did you mean \"reports/Q3 summary.pdf\""],
        ),
        Case::new(
            "key URL-encoded with %20",
            &["check", &url("reports/Q3%20summary.pdf")],
            2,
            &["No such key", "Did you mean \"reports/Q3 summary.pdf\""],
        ),
        Case::new(
            "key URL-encoded with +",
            &["check", &url("reports/Q3+summary.pdf")],
            2,
            &["Did you mean \"reports/Q3 summary.pdf\""],
        ),
        Case::new(
            "a version id that is not the key's",
            &[
                "check",
                &url("reports/Q3 summary.pdf"),
                "--version-id",
                wrong_version,
            ],
            2,
            &["No such version", "its current version is"],
        ),
        Case::new(
            "a bucket that does not exist",
            &["check", "s3://acme-screenshotz/reports/Q3 summary.pdf"],
            2,
            &["No such bucket", "acme-screenshotz"],
        ),
        Case::new(
            "an invalid bucket name",
            &["check", "s3://ab/key.txt"],
            2,
            &["\"ab\"", "not a valid S3 bucket name"],
        ),
        Case::new(
            "an empty version id",
            &["check", &url("reports/Q3 summary.pdf"), "--version-id", ""],
            2,
            &["--version-id is empty"],
        ),
        Case::new(
            "not an s3:// URL",
            &["check", "https://acme-screenshots.s3.amazonaws.com/a.png"],
            2,
            &["expected s3://BUCKET/KEY"],
        ),
        // The environment a person must fix: one line naming the setting.
        Case::new(
            "no region",
            &["invoke", "--event", &event],
            2,
            &["no AWS region is configured", "AWS_REGION"],
        )
        .unset(&["AWS_REGION"]),
        Case::new(
            "no credentials",
            &["invoke", "--event", &event],
            2,
            &["no AWS credentials were found", "AWS_ACCESS_KEY_ID"],
        )
        .unset(&["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
        .never(&["panicked", "is retried", "Caused by", "profile"]),
        Case::new(
            "no credentials, -v shows the chain",
            &["-v", "check", &url("a.png")],
            2,
            &["no AWS credentials were found", "Caused by"],
        )
        .unset(&["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
        .never(&["panicked"]),
        Case::new(
            "an endpoint that does not answer",
            &["check", &url("reports/Q3 summary.pdf")],
            2,
            &["nothing answers at http://127.0.0.1:9", "AWS_ENDPOINT_URL"],
        )
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        // doctor's flags.
        Case::new(
            "doctor --external-id without a role",
            &[
                "doctor",
                "--source-bucket",
                HEALTHY_SOURCE,
                "--external-id",
                "x",
            ],
            2,
            &["--external-id", "--destination-role"],
        )
        .unset(&["AUDITOR_DESTINATION_ROLE_ARN", "AUDITOR_EXTERNAL_ID"]),
        Case::new(
            "doctor --destination-role that is not an ARN",
            &[
                "doctor",
                "--source-bucket",
                HEALTHY_SOURCE,
                "--destination-role",
                "not-an-arn",
            ],
            2,
            &["\"not-an-arn\" is not an IAM role ARN"],
        ),
        Case::new(
            "doctor --offline with an invalid bucket name",
            &[
                "doctor",
                "--offline",
                "--source-bucket",
                "Acme Reports",
                "--destination-bucket",
                "acme-reports-replica",
                "--source-account",
                "111111111111",
                "--destination-account",
                "222222222222",
                "--bucket-policy",
                "events/sqs-s3.json",
            ],
            2,
            &["--source-bucket \"Acme Reports\" is not a valid S3 bucket name"],
        ),
        Case::new(
            "doctor on a source bucket that does not exist",
            &["doctor", "--source-bucket", "acme-screenshotz"],
            1,
            &["FAIL", "source.exists", "no such bucket"],
        )
        .never(&[
            "put-bucket-replication",
            "no replication configuration",
            "panicked",
        ]),
        // invoke: a deadline inside the margin says why nothing was audited.
        Case::new(
            "--deadline-ms inside the margin",
            &["invoke", "--event", &event, "--deadline-ms", "100"],
            // Nothing audited is alarming: the item was handed back with a deadline error.
            1,
            &["within the handler's margin", "AUDITOR_DEADLINE_MARGIN_MS"],
        )
        .never(&["panicked"]),
    ];
    check_all(&world, &cases);
}

const REPORTS: &str = "acme-inventory-reports";

fn inventory(world: &World, bucket: &str) -> String {
    let written = world.control(
        "POST",
        &format!("/_world/inventory?bucket={bucket}&destination={REPORTS}&prefix=inventory"),
        "",
    );
    format!(
        "s3://{REPORTS}/{}",
        written["manifest_key"].as_str().unwrap()
    )
}

/// The manifest at `s3_url` (in the reports bucket): its key and its JSON.
async fn manifest_at(world: &World, s3_url: &str) -> (String, Value) {
    let key = s3_url.trim_start_matches(&format!("s3://{REPORTS}/"));
    let body = world
        .s3(SOURCE_KEY)
        .get_object()
        .bucket(REPORTS)
        .key(key)
        .send()
        .await
        .unwrap();
    let bytes = body.body.collect().await.unwrap().into_bytes();
    (key.to_string(), serde_json::from_slice(&bytes).unwrap())
}

/// Downloads `s3_url`'s manifest, changes it, uploads it beside the original: its s3:// URL.
async fn changed_manifest(
    world: &World,
    s3_url: &str,
    name: &str,
    change: impl Fn(&mut Value),
) -> String {
    let a = world.s3(SOURCE_KEY);
    let (key, mut manifest) = manifest_at(world, s3_url).await;
    change(&mut manifest);
    let changed = key.replace("manifest.json", &format!("{name}.json"));
    a.put_object()
        .bucket(REPORTS)
        .key(&changed)
        .body(manifest.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
    format!("s3://{REPORTS}/{changed}")
}

/// A one-file report whose gzip CSV data file starts with a header row, as a spreadsheet
/// export would write it.
async fn with_header_row(world: &World, s3_url: &str) -> String {
    use std::io::Write;
    let a = world.s3(SOURCE_KEY);
    let (key, manifest) = manifest_at(world, s3_url).await;
    let header: Vec<String> = manifest["fileSchema"]
        .as_str()
        .unwrap()
        .split(',')
        .map(|c| format!("\"{}\"", c.trim()))
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    writeln!(gz, "{}", header.join(",")).unwrap();
    let data_key = key.replace("manifest.json", "header.csv.gz");
    a.put_object()
        .bucket(REPORTS)
        .key(&data_key)
        .body(gz.finish().unwrap().into())
        .send()
        .await
        .unwrap();
    changed_manifest(world, s3_url, "with-header", |m| {
        m["files"] = json!([{"key": data_key, "size": 1, "MD5checksum": "x"}])
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn inventory_manifests_that_cannot_be_a_pair_are_refused() {
    let world = World::start();
    world
        .s3(SOURCE_KEY)
        .create_bucket()
        .bucket(REPORTS)
        .send()
        .await
        .unwrap();
    world.put(HEALTHY_SOURCE, "a.png", b"x").await;
    world.drain();
    world.put(HEALTHY_SOURCE, "b.png", b"x").await; // PENDING when the reports are taken
    let source = inventory(&world, HEALTHY_SOURCE);
    let destination = inventory(&world, HEALTHY_DESTINATION);
    world.drain();
    let other_destination = inventory(&world, BROKEN_DESTINATION);
    let empty_bucket = "acme-empty";
    world
        .s3(SOURCE_KEY)
        .create_bucket()
        .bucket(empty_bucket)
        .send()
        .await
        .unwrap();
    let empty = inventory(&world, empty_bucket);
    let bad_time = changed_manifest(&world, &source, "bad-time", |m| {
        m["creationTimestamp"] = json!("yesterday")
    })
    .await;
    let header = with_header_row(&world, &source).await;
    let reconcile = |source: &str, destination: &str| {
        vec![
            "reconcile".to_string(),
            "--source-manifest".into(),
            source.into(),
            "--destination-manifest".into(),
            destination.into(),
        ]
    };
    let case = |name, args: Vec<String>, says| Case {
        args,
        ..Case::new(name, &[], 2, says)
    };
    let cases = vec![
        case(
            "the same manifest twice",
            reconcile(&source, &source),
            &["both manifests are reports of bucket acme-screenshots"],
        ),
        case(
            "swapped manifests",
            reconcile(&destination, &source),
            &[
                "look swapped",
                "--source-manifest is the report of the bucket that replicates",
            ],
        ),
        case(
            "a destination the source's rules never replicate to",
            reconcile(&source, &other_destination),
            &[
                "acme-screenshots's replication rules never replicate to acme-reports-replica",
                "acme-screenshots-replica",
            ],
        ),
        case(
            "an empty source inventory",
            reconcile(&empty, &destination),
            &["lists no object"],
        ),
        case(
            "a creationTimestamp that is not a time",
            reconcile(&bad_time, &destination),
            &["creationTimestamp \"yesterday\" is not a time"],
        ),
        case(
            "a CSV header row",
            reconcile(&header, &destination),
            &["header row", "S3 Inventory CSV files have none"],
        ),
    ];
    check_all(&world, &cases);
}

#[test]
fn every_subcommand_helps_with_examples_exit_codes_and_its_environment() {
    for subcommand in ["invoke", "check", "doctor", "reconcile"] {
        let output = Command::new(env!("CARGO_BIN_EXE_replication-auditor"))
            .args([subcommand, "--help"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        let help = String::from_utf8_lossy(&output.stdout);
        for words in [
            "Examples:",
            "Exit codes: 0 healthy, 1",
            "AWS_REGION",
            "Reads: AUDITOR_",
        ] {
            assert!(
                help.contains(words),
                "{subcommand} --help lacks {words:?}:\n{help}"
            );
        }
    }
}
