//! The local world for integration tests: starts `python -m world` (moto + replication engine)
//! on a free loopback port, gives SDK clients acting as account A or B, runs the real
//! `replication-auditor` binary against it, and kills the world when dropped.

use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const SOURCE_ACCOUNT: &str = "111111111111";
pub const SOURCE_KEY: &str = "AKIASOURCEACCOUNT111";
pub const DESTINATION_KEY: &str = "AKIADESTACCOUNT22222";
/// The world verifies signatures: each access key signs with its account's secret (world/accounts.py).
pub const SOURCE_SECRET: &str = "wJalrXUtnFEMI-do-not-log-this-secret";
pub const DESTINATION_SECRET: &str = "Q9dXv2LmR7tYc4HkWz8NbPe3JsAf6UgK1oVrDyTx";
pub const HEALTHY_SOURCE: &str = "acme-screenshots";
pub const HEALTHY_DESTINATION: &str = "acme-screenshots-replica";
pub const BROKEN_SOURCE: &str = "acme-reports";
pub const BROKEN_DESTINATION: &str = "acme-reports-replica";
pub const AUDIT_ROLE_ARN: &str = "arn:aws:iam::222222222222:role/replication-auditor-read";
pub const EXTERNAL_ID: &str = "replication-auditor-local";
pub const ALERT_TOPIC_ARN: &str = "arn:aws:sns:us-east-1:111111111111:replication-auditor-alerts";
pub const ALERT_INBOX: &str = "replication-auditor-alerts-inbox";
pub const EVENT_QUEUE: &str = "replication-auditor-events";
/// The `delete-markers` scenario: delete markers replicate to a destination whose policy lacks
/// s3:ReplicateDelete (broken), and to one that grants it (healthy).
pub const BROKEN_DELETES: &str = "acme-deletes";
pub const HEALTHY_DELETES: &str = "acme-deletes-ok";
/// The audit role in the third account (destinations of the `multi-destination` scenario).
pub const THIRD_ACCOUNT_AUDIT_ROLE_ARN: &str =
    "arn:aws:iam::333333333333:role/replication-auditor-read";

static STARTED: AtomicUsize = AtomicUsize::new(0);

pub struct World {
    child: Child,
    pub url: String,
    pub log: PathBuf,
}

/// `<target tmp>/<process id>-<counter>-<name>`: unique across the tests of one process (the
/// counter) and across test binaries running at the same time (the process id).
pub fn unique_temp_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{}-{}-{name}",
        std::process::id(),
        STARTED.fetch_add(1, Ordering::SeqCst)
    ))
}

/// The local world's Python (its pinned packages), `WORLD_PYTHON` or the project's `.venv`.
fn python() -> PathBuf {
    let python = std::env::var_os("WORLD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "{} not found: run `make test`, which installs the local world's pinned Python packages",
        python.display()
    );
    python
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl World {
    /// The classic scenario, replication after 0.2 s.
    pub fn start() -> Self {
        Self::start_with(&["--replication-delay", "0.2"])
    }

    pub fn start_with(args: &[&str]) -> Self {
        let python = python();
        let log = unique_temp_path("world.log");
        let mut child = Command::new(python)
            .args(["-m", "world", "--scenario", "classic"])
            .args(args)
            .current_dir(manifest_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("world log file"))
            .spawn()
            .expect("start the local world");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read READY line");
        let Some(url) = line.trim().strip_prefix("READY ") else {
            let _ = child.kill();
            panic!(
                "the world did not start (got {line:?}); see {}",
                log.display()
            );
        };
        World {
            url: url.to_string(),
            child,
            log,
        }
    }

    /// A raw HTTP call to the world's control API (`/_world/...`).
    pub fn control(&self, method: &str, path: &str, body: &str) -> Value {
        let address = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect to the world");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        serde_json::from_str(body).unwrap_or(Value::Null)
    }

    pub fn fault(&self, fault: Value) {
        let answer = self.control("POST", "/_world/faults", &fault.to_string());
        assert_eq!(answer["added"], 1, "fault rejected: {answer}");
    }

    /// Waits until every scheduled replication has happened.
    pub fn drain(&self) {
        assert_eq!(
            self.control("POST", "/_world/drain?timeout=20", "")["drained"],
            true
        );
    }

    pub fn stats(&self) -> Value {
        self.control("GET", "/_world/stats", "")
    }

    pub fn reset_stats(&self) {
        self.control("DELETE", "/_world/stats", "");
    }

    /// SDK configuration acting as the account of `access_key` against this world.
    fn sdk_config(&self, access_key: &str) -> aws_config::SdkConfig {
        let secret = if access_key == DESTINATION_KEY {
            DESTINATION_SECRET
        } else {
            SOURCE_SECRET
        };
        let credentials = Credentials::new(access_key, secret, None, None, "world");
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build()
    }

    pub fn s3(&self, access_key: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config(access_key))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn iam(&self, access_key: &str) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk_config(access_key))
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.sdk_config(SOURCE_KEY))
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config(SOURCE_KEY))
    }

    /// Builds one of the world's extra scenarios (`POST /_world/scenario/<name>`).
    pub fn scenario(&self, name: &str) -> Value {
        let built = self.control("POST", &format!("/_world/scenario/{name}"), "");
        assert!(built.get("error").is_none(), "scenario {name}: {built}");
        built
    }

    /// PUT an object with tags (`k=v&k2=v2`) into a source bucket as account A.
    pub async fn put_tagged(&self, bucket: &str, key: &str, tagging: &str) -> String {
        let output = self
            .s3(SOURCE_KEY)
            .put_object()
            .bucket(bucket)
            .key(key)
            .tagging(tagging)
            .body(b"tagged".to_vec().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
        output.version_id.expect("versioned bucket")
    }

    /// DELETE without a version id as `access_key`'s account: a delete marker; its version id.
    pub async fn delete(&self, access_key: &str, bucket: &str, key: &str) -> String {
        let output = self
            .s3(access_key)
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete {bucket}/{key}: {e:?}"));
        assert_eq!(output.delete_marker, Some(true), "a versioned bucket");
        output.version_id.expect("a delete marker version")
    }

    /// A replicated object in the healthy pair whose replica HEADs now answer 503 (a transient
    /// fault SQS retries past): the S3 notification body S3 queued for it.
    pub async fn healthy_object_whose_replica_cannot_be_read(&self, key: &str) -> String {
        self.put(HEALTHY_SOURCE, key, b"x").await;
        self.drain();
        let body = self
            .take_messages(EVENT_QUEUE)
            .await
            .into_iter()
            .map(|(_, body)| body)
            .find(|body| body.contains(key))
            .expect("the creation event");
        self.fault(json!({"fault": "unavailable", "operation": "HeadObject", "bucket": HEALTHY_DESTINATION}));
        body
    }

    /// PUT an object into a source bucket as account A; returns its version id.
    pub async fn put(&self, bucket: &str, key: &str, body: &[u8]) -> String {
        let output = self
            .s3(SOURCE_KEY)
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("image/png")
            .body(body.to_vec().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
        output.version_id.expect("versioned bucket")
    }

    /// PUT an object while the source bucket has no replication rule (S3 gives it no
    /// replication status), the rules put back after it; returns its version id.
    pub async fn put_before_the_rule(&self, bucket: &str, key: &str, body: &[u8]) -> String {
        let a = self.s3(SOURCE_KEY);
        let rules = a
            .get_bucket_replication()
            .bucket(bucket)
            .send()
            .await
            .unwrap()
            .replication_configuration
            .unwrap();
        a.delete_bucket_replication()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        let version = self.put(bucket, key, body).await;
        a.put_bucket_replication()
            .bucket(bucket)
            .replication_configuration(rules)
            .send()
            .await
            .unwrap();
        version
    }

    /// Sum of a metric's datapoints in the last 10 minutes, as CloudWatch holds them, for the
    /// exact dimension set (SourceBucket, plus DestinationBucket when given).
    pub async fn metric_sum(&self, name: &str, source: &str, destination: Option<&str>) -> f64 {
        use aws_sdk_cloudwatch::types::{Dimension, Statistic};
        let now = std::time::SystemTime::now();
        let mut dimensions = vec![Dimension::builder()
            .name("SourceBucket")
            .value(source)
            .build()];
        if let Some(destination) = destination {
            dimensions.push(
                Dimension::builder()
                    .name("DestinationBucket")
                    .value(destination)
                    .build(),
            );
        }
        let output = self
            .cloudwatch()
            .get_metric_statistics()
            .namespace("S3ReplicationAuditor")
            .metric_name(name)
            .set_dimensions(Some(dimensions))
            .start_time((now - std::time::Duration::from_secs(600)).into())
            .end_time((now + std::time::Duration::from_secs(600)).into())
            .period(60)
            .statistics(Statistic::Sum)
            .send()
            .await
            .expect("GetMetricStatistics");
        output.datapoints().iter().filter_map(|d| d.sum).sum()
    }

    /// (subject, message) of every alert that reached the SNS → SQS inbox (taken from it).
    pub async fn alerts(&self) -> Vec<(String, String)> {
        self.take_messages(ALERT_INBOX)
            .await
            .into_iter()
            .map(|(_, body)| {
                let envelope: Value = serde_json::from_str(&body).unwrap();
                let subject = envelope["Subject"].as_str().unwrap_or_default().to_string();
                (subject, envelope["Message"].as_str().unwrap().to_string())
            })
            .collect()
    }

    /// Every message now in `queue`, deleted from it (bodies as they are).
    pub async fn take_messages(&self, queue: &str) -> Vec<(String, String)> {
        let sqs = self.sqs();
        let url = sqs
            .get_queue_url()
            .queue_name(queue)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let mut messages = Vec::new();
        loop {
            let received = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let batch = received.messages.unwrap_or_default();
            if batch.is_empty() {
                return messages;
            }
            for message in batch {
                sqs.delete_message()
                    .queue_url(&url)
                    .receipt_handle(message.receipt_handle.unwrap())
                    .send()
                    .await
                    .unwrap();
                messages.push((message.message_id.unwrap(), message.body.unwrap()));
            }
        }
    }

    /// The S3 notifications the world queued, as the SQS event Lambda would deliver.
    pub async fn sqs_event_from_queue(&self) -> Value {
        let records: Vec<Value> = self
            .take_messages(EVENT_QUEUE)
            .await
            .into_iter()
            .map(|(id, body)| sqs_record(&id, &body))
            .collect();
        json!({ "Records": records })
    }

    /// Runs the real binary: `replication-auditor ARGS` as the deployed auditor (account A
    /// credentials, the audit role in B, alerts on), plus `extra_env`.
    pub fn auditor(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_replication-auditor"));
        command.args(args);
        self.deployed_env(&mut command, extra_env);
        command.output().expect("run replication-auditor")
    }

    /// Runs the real binary the way Lambda does: under a Lambda Runtime API
    /// (`world/lambda_runtime.py`), one warm container, one invocation per event with a
    /// deadline `timeout_ms` away. Returns one answer per event (`status`, `errorType`, `body`)
    /// and the function's log.
    pub fn lambda(
        &self,
        events: &[Value],
        timeout_ms: u64,
        extra_env: &[(&str, &str)],
    ) -> (Vec<Value>, String) {
        let mut command = Command::new(python());
        command
            .args(["-m", "world.lambda_runtime", "--binary"])
            .arg(env!("CARGO_BIN_EXE_replication-auditor"))
            .args(["--timeout-ms", &timeout_ms.to_string()])
            .current_dir(manifest_dir());
        for event in events {
            command.arg("--event").arg(self.write_event(event));
        }
        self.deployed_env(&mut command, extra_env);
        // Inside Lambda the allow-list is required (the template sets it); a test's own wins.
        if !extra_env
            .iter()
            .any(|(name, _)| *name == "AUDITOR_SOURCE_BUCKETS")
        {
            command.env(
                "AUDITOR_SOURCE_BUCKETS",
                format!("{HEALTHY_SOURCE},{BROKEN_SOURCE}"),
            );
        }
        let output = command.output().expect("run the Lambda runtime emulator");
        let log = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(
            output.status.success(),
            "the runtime emulator failed: {log}"
        );
        let answers = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON answer per line"))
            .collect();
        (answers, log)
    }

    /// The deployed auditor's environment: account A credentials, the audit role in B,
    /// alerts on.
    fn deployed_env(&self, command: &mut Command, extra_env: &[(&str, &str)]) {
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", &self.url)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", SOURCE_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SOURCE_SECRET)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AUDITOR_DESTINATION_ROLE_ARN", AUDIT_ROLE_ARN)
            .env("AUDITOR_EXTERNAL_ID", EXTERNAL_ID)
            .env("AUDITOR_ALERT_TOPIC_ARN", ALERT_TOPIC_ARN)
            .env("AUDITOR_PENDING_WAIT_SECONDS", "0");
        for (name, value) in extra_env {
            command.env(name, value);
        }
    }

    /// A path no other test (in this process or another) uses: tests run concurrently, so a
    /// fixed or per-process name lets one test read another's file.
    pub fn temp_path(&self, name: &str) -> PathBuf {
        unique_temp_path(name)
    }

    /// Writes `event` to a fresh temporary file and returns its path.
    pub fn write_event(&self, event: &Value) -> PathBuf {
        let path = self.temp_path("event.json");
        std::fs::write(&path, event.to_string()).unwrap();
        path
    }

    /// `invoke --event` on `event`; returns (exit code, parsed JSON report, stderr).
    pub fn invoke(&self, event: &Value, extra_env: &[(&str, &str)]) -> (i32, Value, String) {
        let path = self.write_event(event);
        let output = self.auditor(&["invoke", "--event", path.to_str().unwrap()], extra_env);
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        let report = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\nstderr: {stderr}"));
        (output.status.code().unwrap_or(-1), report, stderr)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One SQS record as Lambda's event source mapping delivers it.
pub fn sqs_record(message_id: &str, body: &str) -> Value {
    sqs_delivery(message_id, body, 1)
}

/// An SQS record on its `receive_count`-th delivery.
pub fn sqs_delivery(message_id: &str, body: &str, receive_count: u32) -> Value {
    json!({
        "messageId": message_id,
        "receiptHandle": format!("handle-{message_id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": receive_count.to_string(), "SentTimestamp": "1764000000000"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:us-east-1:{SOURCE_ACCOUNT}:{EVENT_QUEUE}"),
        "awsRegion": "us-east-1"
    })
}

/// The Embedded Metric Format lines among a run's log lines.
pub fn emf_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|value| value.get("_aws").is_some())
        .collect()
}

/// (key, verdict) of every finding in a report.
pub fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap().to_string(),
                f["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub fn finding<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no finding for {key} in {report:#}"))
}
