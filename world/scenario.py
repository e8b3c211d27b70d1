"""The classic cross-account replication setup, built the way the common how-to builds it.

Two pairs, both "source bucket in A, destination in B, versioning on both, a destination bucket
policy, a replication role in A, one rule for all objects with ownership changed to B":
  healthy  acme-screenshots (A) -> acme-screenshots-replica (B); policy principal account A's root
  broken   acme-reports (A) -> acme-reports-replica (B); the classic mistake: the policy names
           the *source bucket name* instead of account A's id, so replication FAILS.
Plus what the auditor needs: its read-only audit role in B, an SNS alert topic in A whose messages
land in an SQS inbox (so alerts can be read back), an SQS queue in A that receives the source
buckets' "object created" and "replication failed" notifications, and the CloudWatch alarms of
infra/auditor.yaml, one auditor stack per source bucket, read from the template (`alarms.py`).
"""

from __future__ import annotations

import json
import os

import boto3
from botocore.config import Config

from . import alarms
from .accounts import DESTINATION, REGION, SOURCE, Account

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
    # The classic mistake: the source bucket's name where account A's id belongs.
    create_pair(url, BROKEN_SOURCE, BROKEN_DESTINATION, role_arn, f"arn:aws:iam::{BROKEN_SOURCE}:root")

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
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)

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
        "event_queue_url": events_url,
    }
