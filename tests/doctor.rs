//! `replication-auditor doctor` end to end: the real binary on documents (`--offline`) and
//! against the local world (moto + the replication engine). Each live misconfiguration is made
//! the way a person makes it by hand — with the SDK, as account A or B — on a fresh pair, so the
//! tests do not depend on which variant of the classic scenario the world builds.

mod common;

use aws_sdk_s3::types::{
    BucketVersioningStatus, DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination,
    Metrics, MetricsStatus, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    ReplicationConfiguration, ReplicationRule, ReplicationRuleFilter, ReplicationRuleStatus,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, VersioningConfiguration,
};
use common::world::*;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

const DESTINATION_ACCOUNT: &str = "222222222222";
const REPLICATION_ROLE: &str = "arn:aws:iam::111111111111:role/s3-replication-role";

// ---------------------------------------------------------------------------------------------
// --offline: no world, only files.

/// A file of this test's own: tests run at once, and two of them writing the same
/// `bucket-policy` path read each other's policy.
fn write(name: &str, content: &str) -> PathBuf {
    let path = unique_temp_path(&format!("doctor-{name}"));
    std::fs::write(&path, content).unwrap();
    path
}

fn offline(files: &[(&str, &str)], extra: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_replication-auditor"));
    command.args(["doctor", "--offline"]);
    for (flag, content) in files {
        let path = write(&flag.replace("--", ""), content);
        command.arg(flag).arg(path);
    }
    command.args([
        "--source-account",
        "111111111111",
        "--destination-account",
        DESTINATION_ACCOUNT,
        "--source-bucket",
        "acme-reports",
        "--destination-bucket",
        "acme-reports-replica",
    ]);
    command.args(extra);
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

/// The how-to's destination bucket policy, with its author's mistake.
const HOWTO_BUCKET_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "ReplicationFromSourceAccount",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::acme-reports:root"},
    "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
    "Resource": "arn:aws:s3:::acme-reports-replica/*"
  }]
}"#;

#[test]
fn offline_names_the_howtos_bucket_name_principal_and_prints_the_corrected_statement() {
    let (code, stdout, stderr) = offline(&[("--bucket-policy", HOWTO_BUCKET_POLICY)], &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let principal = stdout
        .lines()
        .find(|l| l.contains("destination-policy.principal"))
        .unwrap();
    assert!(principal.starts_with("FAIL"), "{principal}");
    assert!(
        principal.contains("arn:aws:iam::acme-reports:root puts the source bucket name")
            && principal.contains("Invalid principal in policy"),
        "{principal}"
    );
    assert!(
        stdout.contains(r#""Principal": {"AWS": "arn:aws:iam::111111111111:root"}"#),
        "{stdout}"
    );
    assert!(stdout.contains(r#""Resource": "arn:aws:s3:::acme-reports-replica/*""#));
}

#[test]
fn offline_json_is_for_machines_and_the_howto_done_right_has_no_fail() {
    let right = HOWTO_BUCKET_POLICY.replace("acme-reports:root", "111111111111:root");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["s3:GetReplicationConfiguration","s3:ListBucket"],"Resource":"arn:aws:s3:::acme-reports"},
        {"Effect":"Allow","Action":["s3:GetObjectVersion","s3:GetObjectVersionAcl","s3:GetObjectVersionTagging"],"Resource":"arn:aws:s3:::acme-reports/*"},
        {"Effect":"Allow","Action":["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags"],"Resource":"arn:aws:s3:::acme-reports-replica/*"}]}"#;
    let (code, stdout, stderr) = offline(
        &[
            ("--bucket-policy", &right),
            ("--role-policy", role),
            ("--trust-policy", trust),
        ],
        &["--output", "json"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["summary"]["fail"], 0);
    // What offline cannot know (delete markers, owner override) is a WARN, not a guess.
    let warned: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "WARN")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        warned,
        [
            "destination-policy.actions",
            "destination-policy.grant",
            "role-policy.destination-objects"
        ]
    );
}

#[test]
fn offline_usage_problems_and_unreadable_files_exit_2_listing_all() {
    let output = Command::new(env!("CARGO_BIN_EXE_replication-auditor"))
        .args([
            "doctor",
            "--offline",
            "--source-bucket",
            "a",
            "--bucket-policy",
            "/nonexistent/policy.json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "--source-account is required",
        "--destination-bucket is required",
        "cannot read /nonexistent/policy.json",
    ] {
        assert!(stderr.contains(expected), "{stderr}");
    }
}

// ---------------------------------------------------------------------------------------------
// Live: a pair made by hand in the world, the way the how-to makes it.

/// One source → destination pair as a person would click or type it; each test changes one
/// thing from the right setup.
#[derive(Clone)]
struct HandMade {
    source: String,
    destination: String,
    principal: String,
    actions: Vec<&'static str>,
    resource: String,
    extra_statements: Vec<Value>,
    destination_versioned: bool,
    create_destination: bool,
    rule_enabled: bool,
    delete_markers: bool,
    role_arn: String,
}

impl HandMade {
    fn right(name: &str) -> Self {
        let destination = format!("{name}-replica");
        Self {
            source: name.to_string(),
            resource: format!("arn:aws:s3:::{destination}/*"),
            destination,
            principal: format!("arn:aws:iam::{SOURCE_ACCOUNT}:root"),
            actions: vec![
                "s3:ReplicateObject",
                "s3:ReplicateDelete",
                "s3:ReplicateTags",
            ],
            extra_statements: Vec::new(),
            destination_versioned: true,
            create_destination: true,
            rule_enabled: true,
            delete_markers: false,
            role_arn: REPLICATION_ROLE.to_string(),
        }
    }

    fn policy(&self) -> String {
        let mut statements = vec![json!({
            "Sid": "ReplicationFromSourceAccount",
            "Effect": "Allow",
            "Principal": {"AWS": self.principal},
            "Action": self.actions,
            "Resource": self.resource,
        })];
        statements.extend(self.extra_statements.iter().cloned());
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    }

    async fn build(&self, world: &World) {
        let a = world.s3(SOURCE_KEY);
        let b = world.s3(DESTINATION_KEY);
        let versioning = || {
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build()
        };
        a.create_bucket().bucket(&self.source).send().await.unwrap();
        a.put_bucket_versioning()
            .bucket(&self.source)
            .versioning_configuration(versioning())
            .send()
            .await
            .unwrap();
        if self.create_destination {
            b.create_bucket()
                .bucket(&self.destination)
                .send()
                .await
                .unwrap();
            if self.destination_versioned {
                b.put_bucket_versioning()
                    .bucket(&self.destination)
                    .versioning_configuration(versioning())
                    .send()
                    .await
                    .unwrap();
            }
            // What S3 gives every new bucket since April 2023 (moto leaves it unset).
            b.put_bucket_ownership_controls()
                .bucket(&self.destination)
                .ownership_controls(
                    OwnershipControls::builder()
                        .rules(
                            OwnershipControlsRule::builder()
                                .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
            b.put_bucket_policy()
                .bucket(&self.destination)
                .policy(self.policy())
                .send()
                .await
                .unwrap_or_else(|e| panic!("PutBucketPolicy: {e:?}"));
        }
        let rule = ReplicationRule::builder()
            .id("everything")
            .priority(1)
            .status(if self.rule_enabled {
                ReplicationRuleStatus::Enabled
            } else {
                ReplicationRuleStatus::Disabled
            })
            .filter(ReplicationRuleFilter::builder().prefix("").build())
            .delete_marker_replication(
                DeleteMarkerReplication::builder()
                    .status(if self.delete_markers {
                        DeleteMarkerReplicationStatus::Enabled
                    } else {
                        DeleteMarkerReplicationStatus::Disabled
                    })
                    .build(),
            )
            .destination(
                Destination::builder()
                    .bucket(format!("arn:aws:s3:::{}", self.destination))
                    .account(DESTINATION_ACCOUNT)
                    .metrics(
                        Metrics::builder()
                            .status(MetricsStatus::Enabled)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        a.put_bucket_replication()
            .bucket(&self.source)
            .replication_configuration(
                ReplicationConfiguration::builder()
                    .role(&self.role_arn)
                    .rules(rule)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutBucketReplication: {e:?}"));
    }
}

struct Doctor {
    code: i32,
    report: Value,
    table: String,
}

impl Doctor {
    fn run(world: &World, source: &str) -> Self {
        let json = world.auditor(
            &["doctor", "--source-bucket", source, "--output", "json"],
            &[],
        );
        let stdout = String::from_utf8_lossy(&json.stdout).to_string();
        let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout}\n{}",
                String::from_utf8_lossy(&json.stderr)
            )
        });
        let table = world.auditor(&["doctor", "--source-bucket", source], &[]);
        assert_eq!(table.status.code(), json.status.code());
        Self {
            code: json.status.code().unwrap_or(-1),
            report,
            table: String::from_utf8_lossy(&table.stdout).to_string(),
        }
    }

    /// (status, found, fix) of the first line named `name`.
    fn line(&self, name: &str) -> (String, String, String) {
        let check = self.report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} line:\n{}", self.table));
        (
            check["status"].as_str().unwrap().to_string(),
            check["found"].as_str().unwrap().to_string(),
            check["fix"].as_str().unwrap_or_default().to_string(),
        )
    }

    fn failing(&self) -> Vec<String> {
        self.report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "FAIL")
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_healthy_classic_pair_passes_as_s3_creates_buckets_today() {
    let world = World::start();
    // S3 gives new buckets Object Ownership BucketOwnerEnforced (the world does too), under
    // which the rule's owner override needs no extra permission: the how-to's setup is right.
    let doctor = Doctor::run(&world, HEALTHY_SOURCE);
    assert_eq!(doctor.code, 0, "{}", doctor.table);
    assert!(doctor.failing().is_empty(), "{}", doctor.table);
    for name in [
        "source.versioning",
        "destination.versioning",
        "destination.exists",
        "destination-policy.principal",
        "destination-policy.grant",
        "role-trust.s3-service",
        "role-policy.source-bucket",
        "role-policy.source-objects",
        "role-policy.destination-objects",
        "source.notifications",
        "auditor.source-head",
        "auditor.destination-head",
    ] {
        assert_eq!(doctor.line(name).0, "PASS", "{name}:\n{}", doctor.table);
    }
    assert_eq!(doctor.line("destination.owner-override").0, "WARN");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_classic_pair_with_acls_on_fails_for_want_of_the_owner_override_permission() {
    let world = World::start();
    // A destination bucket from before April 2023, or one switched back to ACLs.
    set_object_ownership(&world, HEALTHY_DESTINATION, ObjectOwnership::ObjectWriter).await;
    let doctor = Doctor::run(&world, HEALTHY_SOURCE);
    assert_eq!(doctor.code, 1, "{}", doctor.table);
    let (status, found, fix) = doctor.line("destination-policy.actions");
    assert_eq!(status, "FAIL");
    assert!(
        found.contains("s3:ObjectOwnerOverrideToBucketOwner missing"),
        "{found}"
    );
    assert!(fix.contains("s3:ObjectOwnerOverrideToBucketOwner"), "{fix}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_right_pair_passes() {
    let world = World::start();
    HandMade::right("doctor-right").build(&world).await;
    let doctor = Doctor::run(&world, "doctor-right");
    assert_eq!(doctor.code, 0, "{}", doctor.table);
    // Nothing tells the auditor about new objects in a hand-made source: WARN, not FAIL.
    assert_eq!(doctor.line("source.notifications").0, "WARN");
    assert_eq!(doctor.line("replication.metrics").0, "PASS");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_destination_accounts_own_id_as_principal_fails_with_the_corrected_statement() {
    let world = World::start();
    let mut pair = HandMade::right("doctor-own-id");
    pair.principal = format!("arn:aws:iam::{DESTINATION_ACCOUNT}:root");
    pair.build(&world).await;
    let doctor = Doctor::run(&world, "doctor-own-id");
    assert_eq!(doctor.code, 1, "{}", doctor.table);
    let (status, found, fix) = doctor.line("destination-policy.principal");
    assert_eq!(status, "FAIL");
    assert!(
        found.contains("arn:aws:iam::222222222222:root is the destination account's own id"),
        "{found}"
    );
    assert!(
        fix.contains(r#""Principal": {"AWS": "arn:aws:iam::111111111111:root"}"#)
            && fix.contains(r#""Resource": "arn:aws:s3:::doctor-own-id-replica/*""#),
        "{fix}"
    );
    assert!(doctor.table.contains("the destination account's own id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unversioned_destination_fails() {
    let world = World::start();
    let mut pair = HandMade::right("doctor-unversioned");
    pair.destination_versioned = false;
    pair.build(&world).await;
    let doctor = Doctor::run(&world, "doctor-unversioned");
    assert_eq!(
        doctor.failing(),
        ["destination.versioning"],
        "{}",
        doctor.table
    );
    assert!(doctor.line("destination.versioning").2.contains(
        "put-bucket-versioning --bucket doctor-unversioned-replica --versioning-configuration Status=Enabled"
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resource_without_slash_star_fails() {
    let world = World::start();
    let mut pair = HandMade::right("doctor-no-star");
    pair.resource = "arn:aws:s3:::doctor-no-star-replica".into();
    pair.build(&world).await;
    let doctor = Doctor::run(&world, "doctor-no-star");
    let (status, found, _) = doctor.line("destination-policy.resource");
    assert_eq!(status, "FAIL", "{}", doctor.table);
    assert!(
        found.contains("names the bucket, not its objects"),
        "{found}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn put_object_instead_of_replicate_object_fails() {
    let world = World::start();
    let mut pair = HandMade::right("doctor-put-object");
    pair.actions = vec!["s3:PutObject"];
    pair.build(&world).await;
    let doctor = Doctor::run(&world, "doctor-put-object");
    let (status, found, _) = doctor.line("destination-policy.actions");
    assert_eq!(status, "FAIL", "{}", doctor.table);
    assert!(
        found.contains("s3:PutObject is granted instead of s3:ReplicateObject"),
        "{found}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_markers_replicated_without_replicate_delete_fails() {
    let world = World::start();
    let mut pair = HandMade::right("doctor-deletes");
    pair.delete_markers = true;
    pair.actions = vec!["s3:ReplicateObject", "s3:ReplicateTags"];
    pair.build(&world).await;
    let doctor = Doctor::run(&world, "doctor-deletes");
    let (status, found, _) = doctor.line("destination-policy.actions");
    assert_eq!(status, "FAIL", "{}", doctor.table);
    assert!(
        found.contains("s3:ReplicateDelete missing (the rule replicates delete markers)"),
        "{found}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_explicit_deny_blocking_replication_fails() {
    let world = World::start();
    let mut pair = HandMade::right("doctor-deny");
    pair.extra_statements.push(json!({
        "Sid": "OnlyOurOwnWriters",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::doctor-deny-replica/*",
        "Condition": {"StringNotEquals": {"aws:PrincipalAccount": DESTINATION_ACCOUNT}}
    }));
    pair.build(&world).await;
    let doctor = Doctor::run(&world, "doctor-deny");
    let (status, found, _) = doctor.line("destination-policy.deny");
    assert_eq!(status, "FAIL", "{}", doctor.table);
    assert!(
        found.contains(r#"explicitly denied by statement "OnlyOurOwnWriters""#),
        "{found}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_s3_may_not_assume_fails() {
    let world = World::start();
    let iam = world.iam(SOURCE_KEY);
    let role = iam
        .create_role()
        .role_name("doctor-ec2-role")
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("doctor-ec2-role")
        .policy_name("replication")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": "arn:aws:s3:::doctor-trust"},
                {"Effect": "Allow", "Action": "s3:GetObjectVersionForReplication", "Resource": "arn:aws:s3:::doctor-trust/*"},
                {"Effect": "Allow", "Action": "s3:Replicate*", "Resource": "arn:aws:s3:::doctor-trust-replica/*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let mut pair = HandMade::right("doctor-trust");
    pair.role_arn = role.role.unwrap().arn;
    pair.build(&world).await;
    let doctor = Doctor::run(&world, "doctor-trust");
    let (status, found, fix) = doctor.line("role-trust.s3-service");
    assert_eq!(status, "FAIL", "{}", doctor.table);
    assert!(
        found.contains("trusts ec2.amazonaws.com but not s3.amazonaws.com"),
        "{found}"
    );
    assert!(fix.contains(r#""Principal": {"Service": "s3.amazonaws.com"}"#));
    // Its permissions (inline, read through IAM) are otherwise right, except tagging reads.
    assert_eq!(doctor.line("role-policy.destination-objects").0, "PASS");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_naming_a_role_that_does_not_exist_fails() {
    let world = World::start();
    let mut pair = HandMade::right("doctor-no-role");
    pair.role_arn = "arn:aws:iam::111111111111:role/replication-role-typo".into();
    pair.build(&world).await;
    let doctor = Doctor::run(&world, "doctor-no-role");
    let (status, found, _) = doctor.line("role.exists");
    assert_eq!(status, "FAIL", "{}", doctor.table);
    assert!(
        found.contains("replication-role-typo does not exist"),
        "{found}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_only_rule_disabled_fails_nothing_replicates_and_names_the_rule() {
    let world = World::start();
    let mut pair = HandMade::right("doctor-disabled");
    pair.rule_enabled = false;
    pair.build(&world).await;
    let doctor = Doctor::run(&world, "doctor-disabled");
    let (status, found, _) = doctor.line("replication.rule-status");
    assert_eq!(status, "FAIL", "{}", doctor.table);
    assert!(found.contains("nothing is replicated"), "{found}");
    assert!(
        doctor
            .table
            .contains("Disabled: objects it covers are not replicated"),
        "{}",
        doctor.table
    );
    assert_eq!(doctor.code, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_destination_bucket_fails() {
    let world = World::start();
    let mut pair = HandMade::right("doctor-nowhere");
    pair.create_destination = false;
    pair.build(&world).await;
    let doctor = Doctor::run(&world, "doctor-nowhere");
    let (status, found, _) = doctor.line("destination.exists");
    assert_eq!(status, "FAIL", "{}", doctor.table);
    assert!(found.contains("does not exist"), "{found}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sse_kms_source_without_kms_selection_fails() {
    let world = World::start();
    let pair = HandMade::right("doctor-kms");
    pair.build(&world).await;
    world
        .s3(SOURCE_KEY)
        .put_bucket_encryption()
        .bucket("doctor-kms")
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::AwsKms)
                                .kms_master_key_id("arn:aws:kms:us-east-1:111111111111:key/doctor")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let doctor = Doctor::run(&world, "doctor-kms");
    let (status, found, _) = doctor.line("replication.kms");
    assert_eq!(status, "FAIL", "{}", doctor.table);
    assert!(
        found.contains("SseKmsEncryptedObjects") && found.contains("ReplicaKmsKeyID"),
        "{found}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destination_that_answers_403_for_missing_keys_fails_the_auditors_reach() {
    let world = World::start();
    HandMade::right("doctor-blind").build(&world).await;
    world.fault(json!({"fault": "deny", "operation": "HeadObject",
        "bucket": "doctor-blind-replica", "key_regex": "^replication-auditor-doctor/"}));
    let doctor = Doctor::run(&world, "doctor-blind");
    let (status, _, fix) = doctor.line("auditor.destination-head");
    assert_eq!(status, "FAIL", "{}", doctor.table);
    assert!(
        fix.contains("grant s3:ListBucket on arn:aws:s3:::doctor-blind-replica"),
        "{fix}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_read_exits_2_naming_the_permission() {
    let world = World::start();
    HandMade::right("doctor-refused").build(&world).await;
    world.fault(json!({"fault": "deny", "operation": "GetBucketPolicy", "bucket": "doctor-refused-replica"}));
    let doctor = Doctor::run(&world, "doctor-refused");
    assert_eq!(doctor.code, 2, "{}", doctor.table);
    let problems = doctor.report["access_problems"].to_string();
    assert!(
        problems.contains(
            "grant s3:GetBucketPolicy on arn:aws:s3:::doctor-refused-replica to the audit role"
        ),
        "{problems}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_audit_role_that_cannot_be_assumed_exits_2_naming_sts_assume_role() {
    let world = World::start();
    HandMade::right("doctor-no-assume").build(&world).await;
    world.fault(json!({"fault": "deny", "operation": "AssumeRole"}));
    let doctor = Doctor::run(&world, "doctor-no-assume");
    assert_eq!(doctor.code, 2, "{}", doctor.table);
    let (status, found, _) = doctor.line("auditor.assume-role");
    assert_eq!(status, "FAIL");
    assert!(
        found.contains(&format!(
            "grant sts:AssumeRole on {AUDIT_ROLE_ARN} to the caller"
        )),
        "{found}"
    );
    // Account A was still read and judged.
    assert_eq!(doctor.line("role-trust.s3-service").0, "PASS");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_role_can_be_given_on_the_command_line() {
    let world = World::start();
    HandMade::right("doctor-flags").build(&world).await;
    let other = "arn:aws:iam::222222222222:role/another-audit-role";
    let output = world.auditor(
        &[
            "doctor",
            "--source-bucket",
            "doctor-flags",
            "--destination-role",
            other,
            "--external-id",
            "another-id",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let assume = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "auditor.assume-role")
        .unwrap();
    assert_eq!(assume["subject"], other);
    assert_eq!(assume["status"], "PASS");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_drift_check_publishes_setup_problems_and_one_alert_naming_the_fault() {
    let world = World::start();
    HandMade::right("doctor-drift-ok").build(&world).await;
    let mut broken = HandMade::right("doctor-drift");
    broken.principal = format!("arn:aws:iam::{DESTINATION_ACCOUNT}:root");
    broken.build(&world).await;
    // The schedule's input, as infra/auditor.yaml gives it to the function.
    let event = json!({"doctor": {"source_buckets": ["doctor-drift-ok", "doctor-drift"]}});
    let (code, response, stderr) = world.invoke(&event, &[]);
    assert_eq!(code, 1, "{stderr}");
    let buckets = response["doctor"].as_array().unwrap();
    assert_eq!(buckets[0]["setup_problems"], 0, "{response:#}");
    assert!(buckets[1]["setup_problems"].as_u64().unwrap() >= 1);
    assert!(buckets[1]["failing"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "destination-policy.principal"));

    assert_eq!(
        world
            .metric_sum("SetupProblems", "doctor-drift-ok", None)
            .await,
        0.0
    );
    assert!(
        world
            .metric_sum("SetupProblems", "doctor-drift", None)
            .await
            >= 1.0
    );
    let alerts = world.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let (subject, message) = &alerts[0];
    assert!(
        subject.starts_with("S3 replication setup:") && subject.ends_with("in doctor-drift"),
        "{subject}"
    );
    assert!(
        message.contains("the destination account's own id"),
        "{message}"
    );
    assert!(
        message.contains(r#""Principal": {"AWS": "arn:aws:iam::111111111111:root"}"#),
        "{message}"
    );
}

/// Object Ownership of a destination bucket, set as account B does.
async fn set_object_ownership(world: &World, bucket: &str, ownership: ObjectOwnership) {
    world
        .s3(DESTINATION_KEY)
        .put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(
            OwnershipControls::builder()
                .rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(ownership)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}
