"""The classic cross-account replication setup, built the way the common how-to builds it.

Two pairs, both "source bucket in A, destination in B, versioning on both, a destination bucket
policy, a replication role in A, one rule for all objects with ownership changed to B":
  healthy  acme-screenshots (A) -> acme-screenshots-replica (B); policy principal account A's root
  broken   acme-reports (A) -> acme-reports-replica (B); a mistake AWS accepts: the policy names
           *account B's own id* where account A's belongs, so replication FAILS
           (DstPutObjectNotPermitted). (The how-to author's other mistake, the source bucket's
           name as principal, AWS refuses when the policy is saved: `howto_author_policy`.)
Plus what the auditor needs: its read-only audit role in B, an SNS alert topic in A whose messages
land in an SQS inbox (so alerts can be read back) and go to the on-call e-mail address and to Amazon
Q Developer in chat applications (its https endpoint) — recorded, never sent, and shown by
`GET /_world/sns-deliveries` (`sns_delivery.py`) —, an SQS queue in A that receives the source
buckets' "object created" and "replication failed" notifications, and the CloudWatch alarms of
infra/auditor.yaml, one auditor stack per source bucket, read from the template (`alarms.py`).

Named extra scenarios (`build(name, url)`, or `POST /_world/scenario/<name>` on a running world)
add what real setups have — tag filters, tag routing, several destination accounts, delete-marker
replication, two-way replication, SSE-KMS opt-in, tag replication without s3:ReplicateTags, V1
rules — notifying the same auditor event queue; see EXTRA_SCENARIOS.
"""

from __future__ import annotations

import json
import os

import boto3
from botocore.config import Config

from botocore.exceptions import ClientError

from . import alarms
from .accounts import DESTINATION, REGION, SOURCE, THIRD, Account
from .sns_delivery import AMAZON_Q_ENDPOINT

HEALTHY_SOURCE = "acme-screenshots"
HEALTHY_DESTINATION = "acme-screenshots-replica"
BROKEN_SOURCE = "acme-reports"
BROKEN_DESTINATION = "acme-reports-replica"
REPLICATION_ROLE = "s3-replication-role"
AUDITOR_ROLE = "replication-auditor"
AUDIT_ROLE = "replication-auditor-read"
EXTERNAL_ID = "replication-auditor-local"
ALERT_TOPIC = "replication-auditor-alerts"
ALERT_INBOX = "replication-auditor-alerts-inbox"
ONCALL_EMAIL = "oncall@example.com"  # the alert topic's e-mail subscriber
EVENT_QUEUE = "replication-auditor-events"
AUDITOR_TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "infra", "auditor.yaml")


def auditor_stack_name(source_bucket: str) -> str:
    return f"auditor-{source_bucket}"


def client(service: str, url: str, account: Account):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


def _trust(principal: dict, condition: dict | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def create_replication_role(url: str, role_name: str = REPLICATION_ROLE) -> str:
    """Step 3 of the how-to: the role S3 assumes in A to replicate."""
    iam = client("iam", url, SOURCE)
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=_trust({"Service": "s3.amazonaws.com"}))
    iam.put_role_policy(
        RoleName=role_name,
        PolicyName="replication",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": "arn:aws:s3:::*"},
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObjectVersion", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                        "Resource": "arn:aws:s3:::*/*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                        "Resource": "arn:aws:s3:::*/*",
                    },
                ],
            }
        ),
    )
    return role["Role"]["Arn"]


def destination_policy(destination: str, principal: str) -> str:
    """Step 2 of the how-to: let the source account replicate into the destination bucket."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReplicationFromSourceAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    "Resource": f"arn:aws:s3:::{destination}/*",
                }
            ],
        }
    )


def howto_author_policy(destination: str = BROKEN_DESTINATION, source_bucket: str = BROKEN_SOURCE) -> str:
    """The how-to author's policy: the source bucket's name where account A's id belongs
    (`arn:aws:iam::acme-reports:root`). AWS refuses it on PutBucketPolicy with
    `MalformedPolicy: Invalid principal in policy`, and so does this world."""
    return destination_policy(destination, f"arn:aws:iam::{source_bucket}:root")


def create_pair(url: str, source: str, destination: str, role_arn: str, policy_principal: str) -> None:
    """Steps 1, 2 and 4: versioned buckets, destination policy, one rule for all objects."""
    s3_a = client("s3", url, SOURCE)
    s3_b = client("s3", url, DESTINATION)
    s3_a.create_bucket(Bucket=source)
    s3_b.create_bucket(Bucket=destination)
    for s3, bucket in ((s3_a, source), (s3_b, destination)):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3_b.put_bucket_policy(Bucket=destination, Policy=destination_policy(destination, policy_principal))
    s3_a.put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={
            "Role": role_arn,
            "Rules": [
                {
                    "ID": "everything",
                    "Priority": 1,
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "Destination": {
                        "Bucket": f"arn:aws:s3:::{destination}",
                        "Account": DESTINATION.account_id,
                        "AccessControlTranslation": {"Owner": "Destination"},
                    },
                }
            ],
        },
    )


def create_auditor_alarms(url: str, pairs: dict[str, str], topic_arn: str) -> list[str]:
    """The alarms infra/auditor.yaml would create for each source bucket, via PutMetricAlarm."""
    cloudwatch = client("cloudwatch", url, SOURCE)
    names = []
    for source, destination in pairs.items():
        specs = alarms.alarms_from_template(
            AUDITOR_TEMPLATE,
            {
                "SourceBucketName": source,
                "DestinationBucketName": destination,
                "DestinationAccountId": DESTINATION.account_id,
                "ExternalId": EXTERNAL_ID,
            },
            stack_name=auditor_stack_name(source),
            account_id=SOURCE.account_id,
            region=REGION,
            physical_ids={"AlertTopic": topic_arn},
        )
        for spec in specs:
            cloudwatch.put_metric_alarm(**spec)
            names.append(spec["AlarmName"])
    return names


def build_classic(url: str) -> dict:
    """Builds both pairs and the auditor's surroundings; returns their names for callers."""
    role_arn = create_replication_role(url)
    create_pair(url, HEALTHY_SOURCE, HEALTHY_DESTINATION, role_arn, f"arn:aws:iam::{SOURCE.account_id}:root")
    # The mistake AWS accepts: account B's own id where account A's belongs.
    create_pair(url, BROKEN_SOURCE, BROKEN_DESTINATION, role_arn, f"arn:aws:iam::{DESTINATION.account_id}:root")

    iam_a = client("iam", url, SOURCE)
    auditor_role = iam_a.create_role(RoleName=AUDITOR_ROLE, AssumeRolePolicyDocument=_trust({"Service": "lambda.amazonaws.com"}))
    iam_b = client("iam", url, DESTINATION)
    audit_role = iam_b.create_role(
        RoleName=AUDIT_ROLE,
        AssumeRolePolicyDocument=_trust(
            {"AWS": auditor_role["Role"]["Arn"]}, {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
        ),
    )

    sqs = client("sqs", url, SOURCE)
    sns = client("sns", url, SOURCE)
    topic_arn = sns.create_topic(Name=ALERT_TOPIC)["TopicArn"]
    inbox_url = sqs.create_queue(QueueName=ALERT_INBOX)["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # The alert topic's subscribers: the inbox the tests read, the on-call e-mail address, and
    # Amazon Q Developer in chat applications (the subscription Amazon Q makes for a channel that
    # maps the topic: https, raw message delivery off). moto confirms every subscription when it is
    # made (real SNS waits for the e-mail's confirmation link; Amazon Q confirms its own).
    alert_subscriptions = []
    for protocol, endpoint in (("sqs", inbox_arn), ("email", ONCALL_EMAIL), ("https", AMAZON_Q_ENDPOINT)):
        arn = sns.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, ReturnSubscriptionArn=True)["SubscriptionArn"]
        alert_subscriptions.append({"protocol": protocol, "endpoint": endpoint, "subscription_arn": arn})

    events_url = sqs.create_queue(QueueName=EVENT_QUEUE)["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3_a = client("s3", url, SOURCE)
    for bucket in (HEALTHY_SOURCE, BROKEN_SOURCE):
        s3_a.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": events_arn,
                        "Events": ["s3:ObjectCreated:*", "s3:Replication:OperationFailedReplication"],
                    }
                ]
            },
        )
    alarm_names = create_auditor_alarms(url, {HEALTHY_SOURCE: HEALTHY_DESTINATION, BROKEN_SOURCE: BROKEN_DESTINATION}, topic_arn)
    return {
        "url": url,
        "alarms": alarm_names,
        "source_account": SOURCE.account_id,
        "destination_account": DESTINATION.account_id,
        "healthy": {"source": HEALTHY_SOURCE, "destination": HEALTHY_DESTINATION},
        "broken": {"source": BROKEN_SOURCE, "destination": BROKEN_DESTINATION},
        "replication_role_arn": role_arn,
        "auditor_role_arn": auditor_role["Role"]["Arn"],
        "audit_role_arn": audit_role["Role"]["Arn"],
        "external_id": EXTERNAL_ID,
        "alert_topic_arn": topic_arn,
        "alert_inbox_url": inbox_url,
        "alert_subscriptions": alert_subscriptions,
        "event_queue_url": events_url,
    }


# --- named extra scenarios ---------------------------------------------------------------------

EVENTS = [
    "s3:ObjectCreated:*",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:Replication:OperationFailedReplication",
    # Metadata changes after replication, and S3 Lifecycle's own delete markers (which S3 never
    # replicates): moto accepts all three in a notification configuration.
    "s3:ObjectTagging:*",
    "s3:ObjectAcl:Put",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
]


def _ignore_exists(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("EntityAlreadyExists", "EntityAlreadyExistsException"):
            raise
        return None


def _ensure_common(url: str) -> dict:
    """What every extra scenario shares with the classic one, created if it is not there yet:
    the replication role in A, the auditor's role in A, its audit role in B and C, the event queue."""
    iam_a = client("iam", url, SOURCE)
    _ignore_exists(create_replication_role, url)
    role_arn = iam_a.get_role(RoleName=REPLICATION_ROLE)["Role"]["Arn"]
    _ignore_exists(iam_a.create_role, RoleName=AUDITOR_ROLE, AssumeRolePolicyDocument=_trust({"Service": "lambda.amazonaws.com"}))
    auditor_arn = iam_a.get_role(RoleName=AUDITOR_ROLE)["Role"]["Arn"]
    audit_roles = {}
    for account in (DESTINATION, THIRD):
        iam = client("iam", url, account)
        _ignore_exists(
            iam.create_role,
            RoleName=AUDIT_ROLE,
            AssumeRolePolicyDocument=_trust({"AWS": auditor_arn}, {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}),
        )
        audit_roles[account.account_id] = iam.get_role(RoleName=AUDIT_ROLE)["Role"]["Arn"]
    sqs = client("sqs", url, SOURCE)
    events_url = sqs.create_queue(QueueName=EVENT_QUEUE)["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {
        "replication_role_arn": role_arn,
        "auditor_role_arn": auditor_arn,
        "audit_role_arns": audit_roles,
        "external_id": EXTERNAL_ID,
        "event_queue_url": events_url,
        "event_queue_arn": events_arn,
    }


def _versioned_bucket(url: str, account: Account, bucket: str) -> None:
    s3 = client("s3", url, account)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _policy(destination: str, principal: str, actions: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReplicationFromSourceAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": actions,
                    "Resource": f"arn:aws:s3:::{destination}/*",
                }
            ],
        }
    )


def _rule(rule_id: str, priority: int, destination: str, account: Account, filter_: dict, delete_markers: bool) -> dict:
    return {
        "ID": rule_id,
        "Priority": priority,
        "Status": "Enabled",
        "Filter": filter_,
        "DeleteMarkerReplication": {"Status": "Enabled" if delete_markers else "Disabled"},
        "Destination": {
            "Bucket": f"arn:aws:s3:::{destination}",
            "Account": account.account_id,
            "AccessControlTranslation": {"Owner": "Destination"},
        },
    }


def _notify(url: str, account: Account, bucket: str, queue_arn: str) -> None:
    client("s3", url, account).put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue_arn, "Events": EVENTS}]},
    )


ALL_REPLICATION_ACTIONS = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
A_ROOT = f"arn:aws:iam::{SOURCE.account_id}:root"


def build_tag_filter(url: str) -> dict:
    """acme-tagged (A) -> acme-tagged-replica (B): only objects tagged replicate=yes."""
    common = _ensure_common(url)
    source, destination = "acme-tagged", "acme-tagged-replica"
    _versioned_bucket(url, SOURCE, source)
    _versioned_bucket(url, DESTINATION, destination)
    client("s3", url, DESTINATION).put_bucket_policy(Bucket=destination, Policy=_policy(destination, A_ROOT, ALL_REPLICATION_ACTIONS))
    rule = _rule("replicate-yes", 1, destination, DESTINATION, {"Tag": {"Key": "replicate", "Value": "yes"}}, False)
    client("s3", url, SOURCE).put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": common["replication_role_arn"], "Rules": [rule]}
    )
    _notify(url, SOURCE, source, common["event_queue_arn"])
    return {
        "scenario": "tag-filter",
        "source": source,
        "destinations": {destination: {"account": DESTINATION.account_id, "rule_id": "replicate-yes", "tag": {"replicate": "yes"}}},
        **common,
    }


def build_tag_routing(url: str) -> dict:
    """acme-routed (A) -> acme-routed-gold (B) for tier=gold, acme-routed-silver (B) for tier=silver."""
    common = _ensure_common(url)
    source = "acme-routed"
    routes = {"acme-routed-gold": ("tier-gold", 1, "gold"), "acme-routed-silver": ("tier-silver", 2, "silver")}
    _versioned_bucket(url, SOURCE, source)
    rules = []
    for destination, (rule_id, priority, tier) in routes.items():
        _versioned_bucket(url, DESTINATION, destination)
        client("s3", url, DESTINATION).put_bucket_policy(Bucket=destination, Policy=_policy(destination, A_ROOT, ALL_REPLICATION_ACTIONS))
        rules.append(_rule(rule_id, priority, destination, DESTINATION, {"Tag": {"Key": "tier", "Value": tier}}, False))
    client("s3", url, SOURCE).put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": common["replication_role_arn"], "Rules": rules}
    )
    _notify(url, SOURCE, source, common["event_queue_arn"])
    return {
        "scenario": "tag-routing",
        "source": source,
        "destinations": {
            destination: {"account": DESTINATION.account_id, "rule_id": rule_id, "priority": priority, "tag": {"tier": tier}}
            for destination, (rule_id, priority, tier) in routes.items()
        },
        **common,
    }


def build_multi_destination(url: str) -> dict:
    """acme-multi (A) -> acme-multi-b (B, healthy) and acme-multi-c (C, whose policy wrongly
    names account B's id: that destination FAILS with DstPutObjectNotPermitted)."""
    common = _ensure_common(url)
    source = "acme-multi"
    targets = {
        "acme-multi-b": ("to-b", 1, DESTINATION, A_ROOT),
        "acme-multi-c": ("to-c", 2, THIRD, f"arn:aws:iam::{DESTINATION.account_id}:root"),
    }
    _versioned_bucket(url, SOURCE, source)
    rules = []
    for destination, (rule_id, priority, account, principal) in targets.items():
        _versioned_bucket(url, account, destination)
        client("s3", url, account).put_bucket_policy(Bucket=destination, Policy=_policy(destination, principal, ALL_REPLICATION_ACTIONS))
        rules.append(_rule(rule_id, priority, destination, account, {"Prefix": ""}, False))
    client("s3", url, SOURCE).put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": common["replication_role_arn"], "Rules": rules}
    )
    _notify(url, SOURCE, source, common["event_queue_arn"])
    return {
        "scenario": "multi-destination",
        "source": source,
        "destinations": {
            destination: {"account": account.account_id, "rule_id": rule_id, "priority": priority, "policy_principal": principal}
            for destination, (rule_id, priority, account, principal) in targets.items()
        },
        "expected": {"acme-multi-b": "replicated", "acme-multi-c": "DstPutObjectNotPermitted"},
        **common,
    }


def build_delete_markers(url: str) -> dict:
    """acme-deletes (A) -> acme-deletes-replica (B) with DeleteMarkerReplication Enabled but no
    s3:ReplicateDelete in the destination policy (delete markers fail: DstDelObjNotPermitted);
    acme-deletes-ok (A) -> acme-deletes-ok-replica (B) with it granted (delete markers replicate)."""
    common = _ensure_common(url)
    pairs = {
        "acme-deletes": ("acme-deletes-replica", "deletes-not-permitted", ["s3:ReplicateObject", "s3:ReplicateTags"]),
        "acme-deletes-ok": ("acme-deletes-ok-replica", "deletes-permitted", ALL_REPLICATION_ACTIONS),
    }
    for source, (destination, rule_id, actions) in pairs.items():
        _versioned_bucket(url, SOURCE, source)
        _versioned_bucket(url, DESTINATION, destination)
        client("s3", url, DESTINATION).put_bucket_policy(Bucket=destination, Policy=_policy(destination, A_ROOT, actions))
        client("s3", url, SOURCE).put_bucket_replication(
            Bucket=source,
            ReplicationConfiguration={
                "Role": common["replication_role_arn"],
                "Rules": [_rule(rule_id, 1, destination, DESTINATION, {"Prefix": ""}, True)],
            },
        )
        _notify(url, SOURCE, source, common["event_queue_arn"])
    return {
        "scenario": "delete-markers",
        "pairs": {
            source: {"destination": destination, "account": DESTINATION.account_id, "rule_id": rule_id, "policy_actions": actions}
            for source, (destination, rule_id, actions) in pairs.items()
        },
        "expected": {"acme-deletes": "DstDelObjNotPermitted", "acme-deletes-ok": "delete markers replicated"},
        **common,
    }


def build_two_way(url: str) -> dict:
    """acme-east (A) <-> acme-west (B): each replicates to the other with a role in its own
    account; replicas are never replicated back. acme-east notifies the auditor event queue."""
    common = _ensure_common(url)
    _ignore_exists(create_replication_role_in, url, DESTINATION)
    west_role = client("iam", url, DESTINATION).get_role(RoleName=REPLICATION_ROLE)["Role"]["Arn"]
    sides = {
        "acme-east": (SOURCE, "acme-west", DESTINATION, common["replication_role_arn"], "east-to-west"),
        "acme-west": (DESTINATION, "acme-east", SOURCE, west_role, "west-to-east"),
    }
    for bucket, (account, *_rest) in sides.items():
        _versioned_bucket(url, account, bucket)
    for bucket, (account, other, other_account, role_arn, rule_id) in sides.items():
        # The other side's bucket lets this side's account replicate into it.
        client("s3", url, other_account).put_bucket_policy(
            Bucket=other, Policy=_policy(other, f"arn:aws:iam::{account.account_id}:root", ALL_REPLICATION_ACTIONS)
        )
        client("s3", url, account).put_bucket_replication(
            Bucket=bucket,
            ReplicationConfiguration={"Role": role_arn, "Rules": [_rule(rule_id, 1, other, other_account, {"Prefix": ""}, False)]},
        )
    _notify(url, SOURCE, "acme-east", common["event_queue_arn"])
    return {
        "scenario": "two-way",
        "buckets": {
            bucket: {"account": account.account_id, "replicates_to": other, "rule_id": rule_id, "replication_role_arn": role_arn}
            for bucket, (account, other, _, role_arn, rule_id) in sides.items()
        },
        "notifying": ["acme-east"],
        **common,
    }


def build_encryption(url: str) -> dict:
    """acme-kms (A) -> acme-kms-replica (B), rule "all-objects" without SourceSelectionCriteria:
    SSE-KMS and DSSE-KMS objects are not replicated there (no replication status), SSE-S3 ones
    are; acme-kms-ok (A) -> acme-kms-ok-replica (B), rule "kms-objects" with
    SseKmsEncryptedObjects Enabled and ReplicaKmsKeyID a KMS key of account B: replicated, the
    replicas under that key (user guide, "Replicating encrypted objects")."""
    common = _ensure_common(url)
    pairs = {"acme-kms": ("acme-kms-replica", "all-objects"), "acme-kms-ok": ("acme-kms-ok-replica", "kms-objects")}
    for source, (destination, _) in pairs.items():
        _versioned_bucket(url, SOURCE, source)
        _versioned_bucket(url, DESTINATION, destination)
        client("s3", url, DESTINATION).put_bucket_policy(Bucket=destination, Policy=_policy(destination, A_ROOT, ALL_REPLICATION_ACTIONS))
    key = client("kms", url, DESTINATION).create_key(Description="acme-kms-ok-replica: replicas of SSE-KMS objects")
    replica_key_arn = key["KeyMetadata"]["Arn"]
    for source, (destination, rule_id) in pairs.items():
        rule = _rule(rule_id, 1, destination, DESTINATION, {"Prefix": ""}, False)
        if source == "acme-kms-ok":
            rule["SourceSelectionCriteria"] = {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
            rule["Destination"]["EncryptionConfiguration"] = {"ReplicaKmsKeyID": replica_key_arn}
        client("s3", url, SOURCE).put_bucket_replication(
            Bucket=source, ReplicationConfiguration={"Role": common["replication_role_arn"], "Rules": [rule]}
        )
        _notify(url, SOURCE, source, common["event_queue_arn"])
    return {
        "scenario": "encryption",
        "pairs": {
            "acme-kms": {"destination": "acme-kms-replica", "account": DESTINATION.account_id, "rule_id": "all-objects", "sse_kms_objects": False},
            "acme-kms-ok": {
                "destination": "acme-kms-ok-replica",
                "account": DESTINATION.account_id,
                "rule_id": "kms-objects",
                "sse_kms_objects": True,
                "replica_kms_key_id": replica_key_arn,
            },
        },
        "expected": {
            "acme-kms": "SSE-KMS and DSSE-KMS objects not replicated (no replication status); others replicated",
            "acme-kms-ok": "SSE-KMS and DSSE-KMS objects replicated, the replicas under replica_kms_key_id",
        },
        **common,
    }


def build_metadata(url: str) -> dict:
    """acme-meta (A) -> acme-meta-replica (B), rule "meta-all", whose destination policy grants
    s3:ReplicateObject and s3:ReplicateDelete but not s3:ReplicateTags: objects replicate (with
    the tags they were written with), a tag change afterwards fails with DstPutTaggingNotPermitted
    and the replica keeps its old tags."""
    common = _ensure_common(url)
    source, destination = "acme-meta", "acme-meta-replica"
    actions = ["s3:ReplicateObject", "s3:ReplicateDelete"]
    _versioned_bucket(url, SOURCE, source)
    _versioned_bucket(url, DESTINATION, destination)
    client("s3", url, DESTINATION).put_bucket_policy(Bucket=destination, Policy=_policy(destination, A_ROOT, actions))
    rule = _rule("meta-all", 1, destination, DESTINATION, {"Prefix": ""}, False)
    client("s3", url, SOURCE).put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": common["replication_role_arn"], "Rules": [rule]}
    )
    _notify(url, SOURCE, source, common["event_queue_arn"])
    return {
        "scenario": "metadata",
        "source": source,
        "destinations": {destination: {"account": DESTINATION.account_id, "rule_id": "meta-all", "policy_actions": actions}},
        "expected": {"objects": "replicated", "tag changes after replication": "DstPutTaggingNotPermitted"},
        **common,
    }


def build_v1_rules(url: str) -> dict:
    """acme-v1 (A) -> acme-v1-replica (B): a V1 rule "v1-everything" (rule-level Prefix "", no
    Filter, no Priority, no DeleteMarkerReplication), every replication action granted. S3
    replicates delete markers from user deletes under V1 rules ("Replication configuration file
    elements", Backward compatibility considerations)."""
    common = _ensure_common(url)
    source, destination = "acme-v1", "acme-v1-replica"
    _versioned_bucket(url, SOURCE, source)
    _versioned_bucket(url, DESTINATION, destination)
    client("s3", url, DESTINATION).put_bucket_policy(Bucket=destination, Policy=_policy(destination, A_ROOT, ALL_REPLICATION_ACTIONS))
    rule = {
        "ID": "v1-everything",
        "Status": "Enabled",
        "Prefix": "",
        "Destination": {"Bucket": f"arn:aws:s3:::{destination}", "Account": DESTINATION.account_id},
    }
    client("s3", url, SOURCE).put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": common["replication_role_arn"], "Rules": [rule]}
    )
    _notify(url, SOURCE, source, common["event_queue_arn"])
    return {
        "scenario": "v1-rules",
        "source": source,
        "destinations": {destination: {"account": DESTINATION.account_id, "rule_id": "v1-everything", "version": "V1"}},
        "expected": {"objects": "replicated", "delete markers": "replicated (V1 rules replicate user delete markers)"},
        **common,
    }


def create_replication_role_in(url: str, account: Account, role_name: str = REPLICATION_ROLE) -> str:
    """The replication role of `account` (the how-to's step 3, in any account)."""
    iam = client("iam", url, account)
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=_trust({"Service": "s3.amazonaws.com"}))
    return role["Role"]["Arn"]


EXTRA_SCENARIOS = {
    "tag-filter": build_tag_filter,
    "tag-routing": build_tag_routing,
    "multi-destination": build_multi_destination,
    "delete-markers": build_delete_markers,
    "two-way": build_two_way,
    "encryption": build_encryption,
    "metadata": build_metadata,
    "v1-rules": build_v1_rules,
}


def build(name: str, url: str) -> dict:
    """Builds the named extra scenario (see EXTRA_SCENARIOS) and returns what it built."""
    if name == "classic":
        return build_classic(url)
    return EXTRA_SCENARIOS[name](url)
