"""Proves the least-privilege and wiring claims the README makes about infra/, by reading the
templates (parsed with cfn-lint's CloudFormation YAML loader, so intrinsic functions survive).

Metric names and AUDITOR_* variables are checked against the Rust code, their source of truth,
by tests/infra_contract.rs."""

from __future__ import annotations

import glob
import json
import os

import pytest
from cfnlint.decode import cfn_yaml

INFRA = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATES = sorted(glob.glob(os.path.join(INFRA, "*.yaml")))
WRITE_PREFIXES = ("Put", "Delete", "Replicate", "Restore", "Abort", "Create", "Update", "Bypass", "ObjectOwnerOverride")


def load(name: str) -> dict:
    return cfn_yaml.load(os.path.join(INFRA, name))


def resources(template: dict, kind: str) -> dict:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def statements(document: dict) -> list[dict]:
    return [s for s in as_list(document["Statement"]) if isinstance(s, dict) and "Effect" in s]


def policy_documents(template: dict):
    """(resource name, statement) for every policy document in the template."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []):
            for statement in statements(policy["PolicyDocument"]):
                yield name, statement
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in props:
                for statement in statements(props[key]):
                    yield name, statement


def role_actions(role: dict) -> set[str]:
    actions = set()
    for policy in role["Properties"]["Policies"]:
        for statement in statements(policy["PolicyDocument"]):
            assert statement["Effect"] == "Allow"
            actions.update(as_list(statement["Action"]))
    return actions


def role_statements(role: dict) -> list[dict]:
    return [s for p in role["Properties"]["Policies"] for s in statements(p["PolicyDocument"])]


@pytest.mark.parametrize("path", TEMPLATES, ids=os.path.basename)
def test_no_wildcard_action_is_allowed(path):
    template = cfn_yaml.load(path)
    for name, statement in policy_documents(template):
        if statement["Effect"] != "Allow":
            continue  # a wildcard Deny (e.g. insecure transport) only narrows access
        if statement.get("Sid") == "AccountAdministersTheKeyThroughIam":
            continue  # the default KMS key policy: delegates the key to this account's IAM
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{name}: wildcard action {action}"


def test_auditor_role_reads_the_source_bucket_and_writes_nothing():
    role = load("auditor.yaml")["Resources"]["AuditorRole"]
    s3_actions = {a for a in role_actions(role) if a.startswith("s3:")}
    # Tags: only read when a replication rule filters on them (coverage is the whole filter).
    assert s3_actions == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetObjectTagging",
        "s3:GetObjectVersionTagging",
        "s3:ListBucket",
        "s3:GetReplicationConfiguration",
        # the drift check (doctor): configuration reads only
        "s3:GetBucketVersioning",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetBucketNotification",
    }
    for statement in role_statements(role):
        if any(a.startswith("s3:") for a in as_list(statement["Action"])):
            resource = json.dumps(statement["Resource"])
            assert "${SourceBucketName}" in resource and "Destination" not in resource


def test_auditor_assumes_exactly_the_audit_role():
    role = load("auditor.yaml")["Resources"]["AuditorRole"]
    [assume] = [s for s in role_statements(role) if s["Action"] == "sts:AssumeRole"]
    assert assume["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${DestinationAccountId}:role/${AuditRoleName}"}


def test_metrics_only_to_the_auditors_namespace():
    # Granted beside the role, and only in the cloudwatch metrics mode (test_security.py).
    policy = load("auditor.yaml")["Resources"]["MetricsApiPolicy"]["Properties"]["PolicyDocument"]
    [put] = [s for s in statements(policy) if s["Action"] == "cloudwatch:PutMetricData"]
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": {"Ref": "MetricsNamespace"}}}


def test_other_auditor_permissions_name_their_resources():
    role = load("auditor.yaml")["Resources"]["AuditorRole"]
    for statement in role_statements(role):
        if statement["Action"] != "cloudwatch:PutMetricData":  # PutMetricData has no resource-level ARN
            assert statement["Resource"] != "*", statement


def test_audit_role_trusts_only_the_auditor_with_the_external_id():
    role = load("audit-role.yaml")["Resources"]["AuditRole"]
    [trust] = statements(role["Properties"]["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"AWS": {"Ref": "AuditorRoleArn"}}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}


def test_audit_role_only_reads_the_destination_bucket():
    role = load("audit-role.yaml")["Resources"]["AuditRole"]
    assert role_actions(role) == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
        # after a tag change: the replica's tags, compared with the source's
        "s3:GetObjectTagging",
        "s3:GetObjectVersionTagging",
        # the drift check (doctor): configuration reads only
        "s3:GetBucketVersioning",
        "s3:GetBucketPolicy",
        "s3:GetBucketOwnershipControls",
    }
    for statement in role_statements(role):
        assert "${DestinationBucketName}" in json.dumps(statement["Resource"])


@pytest.mark.parametrize("template, role", [("auditor.yaml", "AuditorRole"), ("audit-role.yaml", "AuditRole")])
def test_auditor_and_audit_role_have_no_write_action(template, role):
    for action in role_actions(load(template)["Resources"][role]):
        service, name = action.split(":")
        if service in ("s3", "iam", "sts"):
            assert not name.startswith(WRITE_PREFIXES), action


def test_drift_check_reads_only_the_replication_roles_configuration():
    role = load("auditor.yaml")["Resources"]["AuditorRole"]
    iam = [s for s in role_statements(role) if any(a.startswith("iam:") for a in as_list(s["Action"]))]
    actions = {a for s in iam for a in as_list(s["Action"])}
    assert actions == {
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    }
    [on_role] = [s for s in iam if "iam:GetRole" in as_list(s["Action"])]
    assert on_role["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${ReplicationRoleName}"}
    [on_policies] = [s for s in iam if "iam:GetPolicy" in as_list(s["Action"])]
    for resource in as_list(on_policies["Resource"]):
        assert resource["Fn::Sub"].endswith(":policy/*"), resource


def test_drift_check_runs_on_a_configurable_schedule_for_the_source_bucket():
    template = load("auditor.yaml")
    assert template["Parameters"]["DriftCheckSchedule"]["Default"] == "rate(1 day)"
    events = template["Resources"]["AuditorFunction"]["Properties"]["Events"]
    [schedule] = [e for e in events.values() if e["Type"] == "Schedule"]
    assert schedule["Properties"]["Schedule"] == {"Ref": "DriftCheckSchedule"}
    assert schedule["Properties"]["Input"] == {"Fn::Sub": '{"doctor": {"source_buckets": ["${SourceBucketName}"]}}'}


def test_setup_problems_alarm_pages_with_a_runbook_and_keeps_its_state_between_checks():
    alarm = load("auditor.yaml")["Resources"]["SetupProblemsAlarm"]["Properties"]
    assert alarm["MetricName"] == "SetupProblems"
    assert alarm["Dimensions"] == [{"Name": "SourceBucket", "Value": {"Ref": "SourceBucketName"}}]
    assert alarm["TreatMissingData"] == "ignore"
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
    assert "Runbook" in alarm["AlarmDescription"]


def test_sqs_trigger_reports_batch_item_failures_and_has_a_dead_letter_queue():
    template = load("auditor.yaml")
    events = template["Resources"]["AuditorFunction"]["Properties"]["Events"]
    [queue_event] = [e for e in events.values() if e["Type"] == "SQS"]
    assert queue_event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    redrive = template["Resources"]["EventQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_default_redelivery_rechecks_pending_objects_until_they_are_late_with_room_for_retries():
    params = load("auditor.yaml")["Parameters"]
    delay = params["QueueDelaySeconds"]["Default"]
    visibility = params["QueueVisibilityTimeoutSeconds"]["Default"]
    receives = params["MaxReceiveCount"]["Default"]
    late_after = params["LateAfterSeconds"]["Default"]
    timeout = params["FunctionTimeoutSeconds"]["Default"]
    assert visibility >= 6 * timeout, "AWS: visibility timeout at least 6x the function timeout"
    # Delivery k (1-based) happens at delay + (k - 1) * visibility.
    first_past_sla = -(-(late_after - delay) // visibility) + 1
    assert delay + (first_past_sla - 1) * visibility >= late_after
    assert receives >= first_past_sla + 3, "a PENDING object is seen after the SLA, with 3 deliveries to spare"


def test_concurrency_is_bounded_on_the_event_source_mapping_not_by_reserved_concurrency():
    function = load("auditor.yaml")["Resources"]["AuditorFunction"]["Properties"]
    assert "ReservedConcurrentExecutions" not in function
    [queue_event] = [e for e in function["Events"].values() if e["Type"] == "SQS"]
    assert queue_event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "MaximumConcurrency"}}
    env = function["Environment"]["Variables"]
    assert "AUDITOR_PENDING_WAIT_SECONDS" not in env, "the function never sleeps on PENDING objects"
    assert env["AUDITOR_MAX_RECEIVE_COUNT"] == {"Ref": "MaxReceiveCount"}


def test_alarms_notify_the_topic_and_treat_missing_data_as_ok():
    alarms = resources(load("auditor.yaml"), "AWS::CloudWatch::Alarm")
    assert len(alarms) == 11
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlertTopic"}], name
        # The drift check's data comes once per schedule tick: it keeps its state in between.
        expected = "ignore" if name == "SetupProblemsAlarm" else "notBreaching"
        assert props["TreatMissingData"] == expected, name
        assert "docs/operations.md" in props["AlarmDescription"], f"{name} must point at its runbook"


def test_alert_topic_is_encrypted_with_a_key_alarms_can_use():
    template = load("auditor.yaml")
    assert template["Resources"]["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertKey"}
    key_statements = statements(template["Resources"]["AlertKey"]["Properties"]["KeyPolicy"])
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in key_statements)


def test_destination_policy_names_the_source_account_id_not_a_bucket_name():
    policy = load("pair-destination.yaml")["Resources"]["DestinationBucketPolicy"]["Properties"]["PolicyDocument"]
    [replicate] = [s for s in statements(policy) if s.get("Sid") == "ReplicationFromSourceAccount"]
    assert replicate["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${SourceAccountId}:root"}}
    # ... narrowed to the replication role (aws:PrincipalArn); ReplicateDelete only for delete markers.
    assert replicate["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::${SourceAccountId}:role/${ReplicationRoleName}"}}
    }
    fixed = {a for a in replicate["Action"] if isinstance(a, str)}
    assert fixed == {"s3:ReplicateObject", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"}
    assert [a for a in replicate["Action"] if not isinstance(a, str)] == [
        {"Fn::If": ["ReplicatesDeleteMarkers", "s3:ReplicateDelete", {"Ref": "AWS::NoValue"}]}
    ]


def test_source_rule_replicates_everything_with_owner_override_and_metrics():
    bucket = load("pair-source.yaml")["Resources"]["SourceBucket"]["Properties"]
    [rule] = bucket["ReplicationConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["Filter"] == {"Prefix": ""}
    assert rule["Destination"]["AccessControlTranslation"] == {"Owner": "Destination"}
    assert rule["Destination"]["Metrics"]["Status"] == "Enabled"
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}


@pytest.mark.parametrize("path", TEMPLATES, ids=os.path.basename)
def test_every_checkov_suppression_says_why(path):
    for name, resource in cfn_yaml.load(path)["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, f"{name}: {skip['id']} needs a reason"


def test_batch_operations_role_invokes_the_auditor_reads_the_manifest_and_writes_the_report_only():
    template = load("auditor.yaml")
    role = template["Resources"]["BatchOperationsRole"]
    assert role["Condition"] == "HasInventoryReports"
    [trust] = statements(role["Properties"]["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "batchoperations.s3.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    granted = {(a, json.dumps(s["Resource"], sort_keys=True)) for s in role_statements(role) for a in as_list(s["Action"])}
    assert granted == {
        ("lambda:InvokeFunction", json.dumps({"Fn::GetAtt": ["AuditorFunction", "Arn"]})),
        ("s3:GetObject", json.dumps({"Fn::Sub": "arn:${AWS::Partition}:s3:::${InventoryReportBucketName}/${InventoryReportPrefix}/${SourceBucketName}/*"})),
        ("s3:PutObject", json.dumps({"Fn::Sub": "arn:${AWS::Partition}:s3:::${InventoryReportBucketName}/${BatchReportPrefix}/*"})),
    }
    outputs = template["Outputs"]
    assert outputs["BatchOperationsRoleArn"]["Condition"] == "HasInventoryReports"
    assert outputs["FunctionArn"]["Value"] == {"Fn::GetAtt": ["AuditorFunction", "Arn"]}
