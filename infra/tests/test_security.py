"""Issue 24, "Nobody else can make it lie or leak": who may feed the auditor's queue, publish to its
alert topic, replicate into the destination bucket or assume its service roles - held by reading
the templates (docs/security.md says what each control defends against).

The resource policies are evaluated here by a small model of IAM's rules for what these templates
use (IAM User Guide, "Policy evaluation logic" and "Condition operators"): an explicit Deny wins, a
statement applies when its principal, action and every condition match, and a negated operator
(StringNotEquals, ArnNotEquals, ArnNotLike) is true when the key is absent from the request. The
requests are the ones AWS documents: S3 and EventBridge deliveries carry aws:SourceArn (and S3
aws:SourceAccount), a call by an IAM principal carries aws:PrincipalArn and no aws:SourceArn."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import stat
import subprocess

import pytest
from cfnlint.decode import cfn_yaml

INFRA = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(INFRA)
ACCOUNT = "111111111111"
OTHER_ACCOUNT = "999999999999"
BUCKET = "acme-reports"
STACK = "auditor-acme-reports"
NO_VALUE = object()


def load(name: str) -> dict:
    return cfn_yaml.load(os.path.join(INFRA, name))


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


class Stack:
    """Resolves the intrinsic functions these templates use, for given parameters and conditions.
    !GetAtt X.Arn resolves to "<X.Arn>", which the requests below use as that resource's ARN."""

    def __init__(self, template: dict, conditions: dict[str, bool] | None = None, **parameters):
        self.template = template
        self.conditions = conditions or {}
        self.values = {
            "AWS::Partition": "aws",
            "AWS::Region": "us-east-1",
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": STACK,
        }
        for name, spec in template.get("Parameters", {}).items():
            if "Default" in spec:
                self.values[name] = str(spec["Default"])
        self.values.update(parameters)

    def sub(self, text: str) -> str:
        def one(match):
            name = match.group(1)
            if "." in name and not name.startswith("AWS::"):
                return f"<{name}>"
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def ref(self, name: str):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.values:
            return self.values[name]
        assert name in self.template["Resources"], f"!Ref {name}: unknown"
        return f"<{name}>"

    def resolve(self, value):
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1:
                [(key, argument)] = value.items()
                if key == "Ref":
                    return self.ref(argument)
                if key == "Fn::Sub":
                    assert isinstance(argument, str)
                    return self.sub(argument)
                if key == "Fn::GetAtt":
                    return f"<{argument[0]}.{argument[1]}>"
                if key == "Fn::If":
                    condition, yes, no = argument
                    assert condition in self.conditions, f"say whether {condition} holds"
                    return self.resolve(yes if self.conditions[condition] else no)
                if key == "Fn::Split":
                    return str(self.resolve(argument[1])).split(argument[0])
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        return value

    def statements(self, resource: str, key: str = "PolicyDocument") -> list[dict]:
        props = self.template["Resources"][resource]["Properties"]
        return as_list(self.resolve(props[key])["Statement"])


def request(action: str, service: str | None = None, principal: str | None = None, tls: bool = True, **context):
    """A request as IAM sees it: from a service principal or an IAM principal (its ARN)."""
    keys = {"aws:SecureTransport": "true" if tls else "false"}
    keys.update({k.replace("__", ":"): v for k, v in context.items()})
    if principal:
        keys["aws:PrincipalArn"] = principal
    return {"action": action, "service": service, "principal": principal, "context": keys}


def _principal_matches(element, req) -> bool:
    if element == "*":
        return True
    if "Service" in element:
        return req["service"] in as_list(element["Service"])
    if "AWS" in element and req["principal"]:
        for grantee in as_list(element["AWS"]):
            account_root = re.fullmatch(r"arn:aws:iam::(\d{12}):root", grantee)
            if grantee == req["principal"] or (account_root and f"::{account_root.group(1)}:" in req["principal"]):
                return True
    return False


def _condition_holds(operator: str, key: str, values: list, context: dict) -> bool:
    negated = "Not" in operator
    if key not in context:
        return negated
    actual = context[key]
    if operator == "Bool":
        return any(str(v).lower() == actual for v in values)
    like = operator.endswith("Like") or operator.startswith("Arn")
    matched = any(fnmatch.fnmatchcase(actual, v) if like else actual == v for v in values)
    return not matched if negated else matched


def applies(statement: dict, req: dict) -> bool:
    if not _principal_matches(statement.get("Principal", "*"), req):
        return False
    if not any(fnmatch.fnmatchcase(req["action"].lower(), a.lower()) for a in as_list(statement["Action"])):
        return False
    for operator, tests in statement.get("Condition", {}).items():
        for key, values in tests.items():
            if not _condition_holds(operator, key, as_list(values), req["context"]):
                return False
    return True


def decide(statements: list[dict], req: dict) -> str:
    """"deny" (explicit), "allow" (this policy grants it) or "implicit" (left to IAM policies)."""
    matching = [s for s in statements if applies(s, req)]
    if any(s["Effect"] == "Deny" for s in matching):
        return "deny"
    return "allow" if matching else "implicit"


# --- 1. Only S3 for the source bucket (and the EventBridge rule) can feed the auditor's queue ------

SOURCE_BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
REDRIVE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ops-redrive"


def queue_policy(use_eventbridge: bool, redrive_role: bool) -> list[dict]:
    stack = Stack(
        load("auditor.yaml"),
        {"UseEventBridge": use_eventbridge, "HasRedriveRole": redrive_role},
        SourceBucketName=BUCKET,
        RedriveRoleArn=REDRIVE_ROLE if redrive_role else "",
    )
    return stack.statements("EventQueuePolicy")


@pytest.mark.parametrize("use_eventbridge", [False, True])
@pytest.mark.parametrize("redrive_role", [False, True])
def test_only_the_source_bucket_and_the_rule_can_send_to_the_event_queue(use_eventbridge, redrive_role):
    policy = queue_policy(use_eventbridge, redrive_role)
    send = "sqs:SendMessage"
    s3 = dict(service="s3.amazonaws.com", aws__SourceArn=SOURCE_BUCKET_ARN, aws__SourceAccount=ACCOUNT)
    assert decide(policy, request(send, **s3)) == "allow"
    # The same bucket name owned by another account (names are reused), another bucket, another service.
    assert decide(policy, request(send, **{**s3, "aws__SourceAccount": OTHER_ACCOUNT})) == "deny"
    assert decide(policy, request(send, **{**s3, "aws__SourceArn": "arn:aws:s3:::someone-elses"})) == "deny"
    assert decide(policy, request(send, service="sns.amazonaws.com", aws__SourceArn="arn:aws:sns:us-east-1:111111111111:t")) == "deny"
    rule = request(send, service="events.amazonaws.com", aws__SourceArn="<ObjectCreatedRule.Arn>")
    assert decide(policy, rule) == ("allow" if use_eventbridge else "deny")
    # Any IAM principal of this account, whatever its own policies grant (sqs:* included).
    for who in (f"arn:aws:iam::{ACCOUNT}:role/app-with-sqs-star", f"arn:aws:iam::{ACCOUNT}:user/admin", "<AuditorRole.Arn>"):
        assert decide(policy, request(send, principal=who)) == "deny", who
    # The redrive role, only when one is named (a dead-letter queue redrive sends as its caller).
    assert decide(policy, request(send, principal=REDRIVE_ROLE)) == ("implicit" if redrive_role else "deny")


def test_the_send_deny_leaves_managing_and_consuming_the_queue_alone():
    policy = queue_policy(use_eventbridge=True, redrive_role=False)
    for action in ("sqs:SetQueueAttributes", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue"):
        for who in (f"arn:aws:iam::{ACCOUNT}:role/admin", "<AuditorRole.Arn>"):
            assert decide(policy, request(action, principal=who)) == "implicit", (action, who)
    denies = [s for s in policy if s["Effect"] == "Deny" and "aws:SecureTransport" not in str(s.get("Condition"))]
    assert denies and all(s["Action"] == "sqs:SendMessage" for s in denies)


# --- 1. Only the auditor's role and this stack's alarms can publish alerts --------------------------


def topic_policy() -> list[dict]:
    return Stack(load("auditor.yaml")).statements("AlertTopicPolicy")


def test_only_the_auditor_and_this_stacks_alarms_publish_alerts():
    policy = topic_policy()
    publish = "sns:Publish"
    alarm = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{STACK}-replication-failed"
    cloudwatch = dict(service="cloudwatch.amazonaws.com", aws__SourceArn=alarm, aws__SourceAccount=ACCOUNT)
    assert decide(policy, request(publish, **cloudwatch)) == "allow"
    # Another stack's alarm, another account's alarm with this stack's name, another service.
    other_alarm = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:someone-else-alarm"
    assert decide(policy, request(publish, **{**cloudwatch, "aws__SourceArn": other_alarm})) == "deny"
    foreign = f"arn:aws:cloudwatch:us-east-1:{OTHER_ACCOUNT}:alarm:{STACK}-replication-failed"
    assert decide(policy, request(publish, **{**cloudwatch, "aws__SourceArn": foreign, "aws__SourceAccount": OTHER_ACCOUNT})) == "deny"
    assert decide(policy, request(publish, service="events.amazonaws.com", aws__SourceArn="arn:aws:events:us-east-1:111111111111:rule/x")) == "deny"
    # The auditor's role publishes through its own IAM grant; nobody else may, even over TLS.
    assert decide(policy, request(publish, principal="<AuditorRole.Arn>")) == "implicit"
    for who in (f"arn:aws:iam::{ACCOUNT}:role/app", f"arn:aws:iam::{ACCOUNT}:user/admin", f"arn:aws:iam::{OTHER_ACCOUNT}:root"):
        assert decide(policy, request(publish, principal=who)) == "deny", who
    # Administrators still manage the topic.
    for action in ("sns:Subscribe", "sns:SetTopicAttributes", "sns:GetTopicAttributes"):
        assert decide(policy, request(action, principal=f"arn:aws:iam::{ACCOUNT}:role/admin")) == "implicit"


def test_every_alarm_is_covered_by_the_topic_policys_alarm_pattern():
    template = load("auditor.yaml")
    [allow] = [s for s in topic_policy() if s["Effect"] == "Allow"]
    pattern = allow["Condition"]["ArnLike"]["aws:SourceArn"]
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    stack = Stack(template)
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms
    for alarm in alarms:
        name = stack.resolve(alarm["Properties"]["AlarmName"])
        assert fnmatch.fnmatchcase(f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}", pattern), name


def test_the_alert_key_lets_only_this_accounts_cloudwatch_use_it():
    key = Stack(load("auditor.yaml")).statements("AlertKey", "KeyPolicy")
    [cloudwatch] = [s for s in key if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert set(as_list(cloudwatch["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey"}


# --- 1. TLS only; the dead-letter queue takes messages from the event queue only -------------------


@pytest.mark.parametrize(
    "policy, attached_to, actions",
    [
        ("EventQueuePolicy", "EventQueue", ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SetQueueAttributes"]),
        ("DeadLetterQueuePolicy", "DeadLetterQueue", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:StartMessageMoveTask"]),
        ("AlertTopicPolicy", "AlertTopic", ["sns:Publish", "sns:Subscribe", "sns:SetTopicAttributes", "sns:DeleteTopic"]),
    ],
)
def test_queues_and_topic_refuse_requests_without_tls(policy, attached_to, actions):
    template = load("auditor.yaml")
    props = template["Resources"][policy]["Properties"]
    assert {"Ref": attached_to} in props.get("Queues", props.get("Topics")), f"{policy} is not attached to {attached_to}"
    statements = Stack(template, {"UseEventBridge": True, "HasRedriveRole": False}, SourceBucketName=BUCKET).statements(policy)
    [deny] = [s for s in statements if s.get("Sid") == "DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    # The IAM reference's string form; the Guard registry checks only S3 bucket policies for it.
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for action in actions:
        for req in (request(action, principal=f"arn:aws:iam::{ACCOUNT}:role/admin", tls=False),
                    request(action, service="s3.amazonaws.com", tls=False, aws__SourceArn=SOURCE_BUCKET_ARN, aws__SourceAccount=ACCOUNT)):
            assert decide(statements, req) == "deny", action


def test_the_dead_letter_queue_takes_messages_from_the_event_queue_only():
    template = load("auditor.yaml")
    stack = Stack(template)
    allow = stack.resolve(template["Resources"]["DeadLetterQueue"]["Properties"]["RedriveAllowPolicy"])
    event_queue_name = stack.resolve(template["Resources"]["EventQueue"]["Properties"]["QueueName"])
    assert allow == {"redrivePermission": "byQueue", "sourceQueueArns": [f"arn:aws:sqs:us-east-1:{ACCOUNT}:{event_queue_name}"]}
    assert len(f"{'x' * 73}-events") <= 80, "SQS queue names are at most 80 characters"
    redrive = template["Resources"]["EventQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    # Nobody plants a message in it to be redriven later.
    statements = stack.statements("DeadLetterQueuePolicy")
    for who in (f"arn:aws:iam::{ACCOUNT}:role/admin", REDRIVE_ROLE, "<AuditorRole.Arn>"):
        assert decide(statements, request("sqs:SendMessage", principal=who)) == "deny"
    assert decide(statements, request("sqs:SendMessage", service="s3.amazonaws.com", aws__SourceArn=SOURCE_BUCKET_ARN, aws__SourceAccount=ACCOUNT)) == "deny"


# --- 2. Parameters that end up in policies refuse wildcards -----------------------------------------


def pattern_of(template: str, parameter: str) -> re.Pattern:
    return re.compile(load(template)["Parameters"][parameter]["AllowedPattern"])


def test_additional_audit_role_arns_are_role_arns_or_empty():
    pattern = pattern_of("auditor.yaml", "AdditionalAuditRoleArns")
    good = [
        "",
        "arn:aws:iam::333333333333:role/replication-auditor-read",
        "arn:aws:iam::333333333333:role/replication-auditor-read,arn:aws:iam::444444444444:role/team/audit",
        "arn:aws-us-gov:iam::333333333333:role/audit",
    ]
    bad = [
        "*",
        "arn:aws:iam::333333333333:role/*",
        "arn:aws:iam::*:role/audit",
        "arn:aws:iam::333333333333:root",
        "arn:aws:iam::333333333333:user/someone",
        "arn:aws:iam::333333333333:role/a, arn:aws:iam::444444444444:role/b",
        "arn:aws:iam::333333333333:role/a,",
        "333333333333",
    ]
    for value in good:
        assert pattern.fullmatch(value), value
    for value in bad:
        assert not pattern.fullmatch(value), value


@pytest.mark.parametrize("parameter", ["InventoryReportPrefix", "BatchReportPrefix"])
def test_report_prefixes_refuse_wildcards(parameter):
    spec = load("auditor.yaml")["Parameters"][parameter]
    pattern = re.compile(spec["AllowedPattern"])
    assert pattern.fullmatch(str(spec["Default"]))
    assert spec["MaxLength"] == 200
    for value in ("inventory", "reports/batch-operations", "a.b_c-(1)/x!y'z"):
        assert pattern.fullmatch(value), value
    for value in ("*", "inventory*", "inv?ntory", "a/*", "${aws:username}", "a//b", "/a", "a/", "", "a b"):
        assert not pattern.fullmatch(value), value


# --- 2. No unused grants ---------------------------------------------------------------------------


def test_the_auditor_consumes_the_queue_with_what_lambdas_event_source_mapping_needs_only():
    role = load("auditor.yaml")["Resources"]["AuditorRole"]
    statements = [s for p in role["Properties"]["Policies"] for s in as_list(p["PolicyDocument"]["Statement"]) if "Effect" in s]
    sqs = {a for s in statements for a in as_list(s["Action"]) if a.startswith("sqs:")}
    assert sqs == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    # The function never calls SQS itself: if it ever does, grant what it calls.
    for directory, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in files:
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                text = handle.read()
            assert "change_message_visibility" not in text and "ChangeMessageVisibility" not in text, name


def test_put_metric_data_is_granted_only_in_the_cloudwatch_metrics_mode():
    template = load("auditor.yaml")
    role = template["Resources"]["AuditorRole"]
    assert "cloudwatch:PutMetricData" not in str(role), "the role itself must not grant PutMetricData"
    grants = [
        (name, r) for name, r in template["Resources"].items()
        if "cloudwatch:PutMetricData" in str(r.get("Properties", {}).get("PolicyDocument", ""))
    ]
    assert [name for name, _ in grants] == ["MetricsApiPolicy"]
    [(_, policy)] = grants
    assert policy["Type"] == "AWS::IAM::Policy" and policy["Properties"]["Roles"] == [{"Ref": "AuditorRole"}]
    assert policy["Condition"] == "UseMetricsApi"
    assert template["Conditions"]["UseMetricsApi"] == {"Fn::Equals": [{"Ref": "MetricsMode"}, "cloudwatch"]}
    assert set(template["Parameters"]["MetricsMode"]["AllowedValues"]) == {"emf", "cloudwatch"}


# --- 2. Service roles are assumable by their service for this account's resource only --------------


def test_the_replication_role_trusts_s3_for_the_source_bucket_of_this_account_only():
    template = load("pair-source.yaml")
    stack = Stack(template, SourceBucketName=BUCKET)
    trust = stack.statements("ReplicationRole", "AssumeRolePolicyDocument")
    assume = "sts:AssumeRole"
    s3 = dict(service="s3.amazonaws.com", aws__SourceArn=SOURCE_BUCKET_ARN, aws__SourceAccount=ACCOUNT)
    assert decide(trust, request(assume, **s3)) == "allow"
    assert decide(trust, request(assume, **{**s3, "aws__SourceArn": "arn:aws:s3:::another-bucket"})) == "implicit"
    assert decide(trust, request(assume, **{**s3, "aws__SourceAccount": OTHER_ACCOUNT})) == "implicit"
    assert decide(trust, request(assume, service="s3.amazonaws.com")) == "implicit"


def test_the_batch_operations_role_trusts_jobs_of_this_account_only():
    stack = Stack(load("auditor.yaml"))
    trust = stack.statements("BatchOperationsRole", "AssumeRolePolicyDocument")
    job = dict(service="batchoperations.s3.amazonaws.com", aws__SourceAccount=ACCOUNT)
    assert decide(trust, request("sts:AssumeRole", **job)) == "allow"
    assert decide(trust, request("sts:AssumeRole", **{**job, "aws__SourceAccount": OTHER_ACCOUNT})) == "implicit"


# --- 2. Only account A's replication role writes into the destination bucket ----------------------

REPLICATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/s3-replication-role"


@pytest.mark.parametrize("delete_markers", [False, True])
def test_only_the_replication_role_replicates_into_the_destination(delete_markers):
    template = load("pair-destination.yaml")
    stack = Stack(template, {"ReplicatesDeleteMarkers": delete_markers}, SourceAccountId=ACCOUNT, DestinationBucketName="replica")
    policy = stack.statements("DestinationBucketPolicy")
    role = dict(principal=REPLICATION_ROLE)
    assert decide(policy, request("s3:ReplicateObject", **role)) == "allow"
    assert decide(policy, request("s3:ReplicateTags", **role)) == "allow"
    assert decide(policy, request("s3:ObjectOwnerOverrideToBucketOwner", **role)) == "allow"
    assert decide(policy, request("s3:GetBucketVersioning", **role)) == "allow"
    assert decide(policy, request("s3:ReplicateDelete", **role)) == ("allow" if delete_markers else "implicit")
    # Replication never lists the destination; nothing here lets account A list it.
    assert decide(policy, request("s3:ListBucket", **role)) == "implicit"
    assert not any("s3:List" in str(s["Action"]) for s in policy if s["Effect"] == "Allow")
    # Any other principal of account A gets nothing from this policy.
    for who in (f"arn:aws:iam::{ACCOUNT}:role/developer", f"arn:aws:iam::{ACCOUNT}:user/admin", f"arn:aws:iam::{ACCOUNT}:root"):
        for action in ("s3:ReplicateObject", "s3:ReplicateDelete", "s3:GetBucketVersioning", "s3:ListBucket"):
            assert decide(policy, request(action, principal=who)) == "implicit", (who, action)


def test_the_pair_templates_and_the_auditor_agree_on_the_replication_role_and_delete_markers():
    source, destination, auditor = load("pair-source.yaml"), load("pair-destination.yaml"), load("auditor.yaml")
    names = {t["Parameters"]["ReplicationRoleName"]["Default"] for t in (source, destination, auditor)}
    assert names == {"s3-replication-role"}
    assert source["Resources"]["ReplicationRole"]["Properties"]["RoleName"] == {"Ref": "ReplicationRoleName"}
    for template in (source, destination):
        assert template["Parameters"]["ReplicateDeleteMarkers"]["Default"] == "false"
        assert template["Conditions"]["ReplicatesDeleteMarkers"] == {"Fn::Equals": [{"Ref": "ReplicateDeleteMarkers"}, "true"]}
    for markers in (False, True):
        conditions = {"ReplicatesDeleteMarkers": markers, "UseRtc": False, "NotifyAuditor": False, "LogAccess": False}
        stack = Stack(source, conditions, SourceBucketName=BUCKET, DestinationBucketName="replica", DestinationAccountId="222222222222")
        bucket = stack.resolve(source["Resources"]["SourceBucket"]["Properties"])
        [rule] = bucket["ReplicationConfiguration"]["Rules"]
        assert rule["DeleteMarkerReplication"] == {"Status": "Enabled" if markers else "Disabled"}
        documents = [p["PolicyDocument"] for p in stack.resolve(source["Resources"]["ReplicationRole"]["Properties"]["Policies"])]
        for resource in source["Resources"].values():
            if resource["Type"] == "AWS::IAM::Policy" and conditions.get(resource.get("Condition"), True):
                assert resource["Properties"]["Roles"] == [{"Ref": "ReplicationRole"}]
                documents.append(stack.resolve(resource["Properties"]["PolicyDocument"]))
        actions = {a for d in documents for s in as_list(d["Statement"]) for a in as_list(s["Action"])}
        assert ("s3:ReplicateDelete" in actions) == markers, actions
        assert {"s3:ReplicateObject", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"} <= actions


# --- 2. The log group can take a customer managed key ----------------------------------------------


def test_the_log_group_takes_an_optional_customer_managed_key():
    template = load("auditor.yaml")
    parameter = template["Parameters"]["LogGroupKmsKeyArn"]
    assert parameter["Default"] == ""
    assert "logs.<region>.amazonaws.com" in parameter["Description"]
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    assert not pattern.fullmatch("alias/logs") and not pattern.fullmatch("arn:aws:kms:eu-west-1:111111111111:key/*")
    props = template["Resources"]["LogGroup"]["Properties"]
    assert props["KmsKeyId"] == {"Fn::If": ["HasLogGroupKmsKey", {"Ref": "LogGroupKmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    assert template["Conditions"]["HasLogGroupKmsKey"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "LogGroupKmsKeyArn"}, ""]}]}


# --- 3. Explicit names only where something needs them ----------------------------------------------

NAME_PROPERTIES = {"AWS::IAM::Role": "RoleName", "AWS::CloudWatch::Alarm": "AlarmName"}
NEEDED_NAMES = {
    # account A's auditor.yaml (deployed first) grants and configures role/${AuditRoleName}
    ("audit-role.yaml", "AuditRole"),
    # pair-destination.yaml (deployed first) allows aws:PrincipalArn role/${ReplicationRoleName}
    ("pair-source.yaml", "ReplicationRole"),
}


@pytest.mark.parametrize("name", ["audit-role.yaml", "auditor.yaml", "pair-destination.yaml", "pair-source.yaml"])
def test_explicit_names_only_where_something_points_at_them(name):
    for logical, resource in load(name)["Resources"].items():
        prop = NAME_PROPERTIES.get(resource["Type"])
        if not prop or prop not in resource.get("Properties", {}):
            continue
        # Alarms: the runbooks, the local world (tests/alarms.rs) and the topic policy's pattern.
        needed = (name, logical) in NEEDED_NAMES or resource["Type"] == "AWS::CloudWatch::Alarm"
        assert needed, f"{name}: {logical} has an explicit {prop} nothing needs: drop it"


# --- 2. deploy.sh never prints the external id ------------------------------------------------------

SECRET = "ext-id-Do-Not-Log-7x9Q"


def fake_tools(bin_dir: str, log: str) -> None:
    """sam, aws and cargo-lambda that record their arguments and the files they are pointed at."""
    script = f"""#!/usr/bin/env bash
{{ printf '%s' "$(basename "$0")"; printf ' %q' "$@"; echo; }} >> {log}
for arg in "$@"; do
  case "$arg" in file://*) cat "${{arg#file://}}" >> {log}.files ;; esac
done
prev=""
for arg in "$@"; do
  if [[ "$prev" == --config-file ]]; then cat "$arg" >> {log}.files; fi
  prev="$arg"
done
case "$*" in
  *describe-stacks*AuditorRoleArn*) echo "arn:aws:iam::{ACCOUNT}:role/{STACK}-AuditorRole-ABC" ;;
  *describe-stacks*EventQueueArn*) echo "arn:aws:sqs:us-east-1:{ACCOUNT}:{STACK}-events" ;;
  *get-bucket-notification-configuration*) echo "arn:aws:sqs:us-east-1:{ACCOUNT}:{STACK}-events" ;;
esac
"""
    for tool in ("sam", "aws", "cargo-lambda"):
        path = os.path.join(bin_dir, tool)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(script)
        os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


@pytest.mark.parametrize("pair", ["0", "1"])
@pytest.mark.parametrize("dry_run", ["0", "1"])
def test_deploy_never_prints_or_passes_the_external_id_on_a_command_line(tmp_path, pair, dry_run):
    bash = shutil.which("bash")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = str(tmp_path / "calls.log")
    fake_tools(str(bin_dir), log)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "SOURCE_PROFILE": "prod-a",
        "DESTINATION_PROFILE": "backup-b",
        "SOURCE_BUCKET": BUCKET,
        "DESTINATION_BUCKET": f"{BUCKET}-replica",
        "DESTINATION_ACCOUNT_ID": "222222222222",
        "SOURCE_ACCOUNT_ID": ACCOUNT,
        "EXTERNAL_ID": SECRET,
        "STACK": STACK,
        "PAIR": pair,
        "DRY_RUN": dry_run,
    }
    # `bash -x`: what a CI log with tracing on would show.
    result = subprocess.run([bash, "-x", os.path.join(INFRA, "deploy.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr
    assert SECRET not in shown, "deploy.sh printed the external id"
    assert f"****{SECRET[-4:]}" in shown, "deploy.sh should show the external id masked (last 4 characters)"
    if dry_run == "1":
        return
    with open(log, encoding="utf-8") as handle:
        calls = handle.read()
    assert SECRET not in calls, "the external id was on a command line (visible to ps and set -x)"
    with open(log + ".files", encoding="utf-8") as handle:
        files = handle.read()
    # It does reach both stacks that need it, through their parameter files.
    assert files.count(f"ExternalId=\\\"{SECRET}\\\"") == 1, "sam deploy's config file lacks the external id"
    assert files.count(f'"ExternalId={SECRET}"') == 1, "the audit role's parameter file lacks the external id"
    assert "sam deploy" in calls and "--config-file" in calls and "infra/audit-role.yaml" in calls
