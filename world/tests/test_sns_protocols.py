"""What each SNS subscriber receives (world/sns_delivery.py): the body per protocol with and without
`MessageStructure=json`, raw delivery, SNS's Publish refusals, Amazon Q's verdict on custom
notifications, and that nothing leaves this machine."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid

import boto3
import botocore
import pytest
from botocore.config import Config

from world import scenario, sns_delivery
from world.accounts import REGION, SOURCE

from .conftest import ROOT, RunningWorld

AMAZON_Q = sns_delivery.AMAZON_Q_ENDPOINT
SCHEMA = os.path.join(ROOT, "tests", "fixtures", "amazon-q-custom-notification.schema.json")


def client(world, service):
    return boto3.client(
        service,
        endpoint_url=world.url,
        region_name=REGION,
        aws_access_key_id=SOURCE.access_key_id,
        aws_secret_access_key=SOURCE.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def custom_notification(**content) -> dict:
    return {
        "version": "1.0",
        "source": "custom",
        "id": "replication-failed-acme-reports",
        "content": {"textType": "client-markdown", "title": ":x: Replication failed", "description": "2 objects FAILED", **content},
        "metadata": {
            "threadId": "acme-reports/DstPutObjectNotPermitted",
            "summary": "acme-reports: replication failing",
            "eventType": "ReplicationFailed",
            "relatedResources": ["arn:aws:s3:::acme-reports"],
            "additionalContext": {"reason": "DstPutObjectNotPermitted"},
            "enableCustomActions": False,
        },
    }


@pytest.fixture
def topic(world):
    """A fresh topic with one subscriber of each protocol (two SQS queues: envelope and raw)."""
    sns, sqs = client(world, "sns"), client(world, "sqs")
    name = f"alerts-{uuid.uuid4().hex[:8]}"
    arn = sns.create_topic(Name=name)["TopicArn"]
    queues = {}
    for kind in ("envelope", "raw"):
        url = sqs.create_queue(QueueName=f"{name}-{kind}")["QueueUrl"]
        queues[kind] = (url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    subscriptions = {}
    for key, protocol, endpoint, raw in (
        ("sqs", "sqs", queues["envelope"][1], False),
        ("sqs-raw", "sqs", queues["raw"][1], True),
        ("email", "email", "oncall@example.com", False),
        ("email-json", "email-json", "robot@example.com", False),
        ("http", "http", "http://hooks.example.com/sns", False),
        ("https-raw", "https", "https://hooks.example.com/raw", True),
        ("amazon-q", "https", AMAZON_Q, False),
        ("lambda", "lambda", f"arn:aws:lambda:{REGION}:{SOURCE.account_id}:function:on-alert", False),
    ):
        attributes = {"RawMessageDelivery": "true"} if raw else {}
        subscriptions[key] = sns.subscribe(
            TopicArn=arn, Protocol=protocol, Endpoint=endpoint, Attributes=attributes, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
    yield {"arn": arn, "sns": sns, "sqs": sqs, "queues": queues, "subscriptions": subscriptions}
    world.control(f"/_world/sns-deliveries?topic={arn}", "DELETE")


def deliveries(world, topic_arn, protocol=None):
    query = f"topic={topic_arn}" + (f"&protocol={protocol}" if protocol else "")
    return world.control(f"/_world/sns-deliveries?{query}")


def by_subscription(world, topic):
    names = {arn: key for key, arn in topic["subscriptions"].items()}
    return {names[d["subscription_arn"]]: d for d in deliveries(world, topic["arn"])}


def queue_bodies(topic, kind):
    sqs, (url, _) = topic["sqs"], topic["queues"][kind]
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])]


ENVELOPE_KEYS = ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"]


def test_a_plain_publish_gives_each_protocol_what_sns_delivers(world, topic):
    message_id = topic["sns"].publish(TopicArn=topic["arn"], Subject="Replication FAILED", Message="2 objects FAILED")["MessageId"]
    got = by_subscription(world, topic)
    assert set(got) == set(topic["subscriptions"])
    for key in ("sqs", "email-json", "http", "amazon-q"):
        document = json.loads(got[key]["message"])
        assert list(document) == ENVELOPE_KEYS, key  # SNS's keys, in SNS's order
        assert document["Type"] == "Notification" and document["MessageId"] == message_id
        assert document["TopicArn"] == topic["arn"] and document["Subject"] == "Replication FAILED"
        assert document["Message"] == "2 objects FAILED"
        assert document["UnsubscribeURL"].endswith(got[key]["subscription_arn"])
        assert got[key]["raw"] is False
    assert got["sqs"]["message"].startswith('{\n  "Type" : "Notification",')  # printed as SNS prints it
    # Raw delivery: the bare message (SQS and HTTP/S only).
    assert got["sqs-raw"]["message"] == got["https-raw"]["message"] == "2 objects FAILED"
    assert got["sqs-raw"]["raw"] is got["https-raw"]["raw"] is True
    assert got["https-raw"]["headers"]["x-amz-sns-rawdelivery"] == "true"
    # E-mail: the text, the Subject as the e-mail's subject.
    assert got["email"]["message"] == "2 objects FAILED" and got["email"]["subject"] == "Replication FAILED"
    # HTTP/S: SNS's headers.
    headers = got["http"]["headers"]
    assert headers["x-amz-sns-message-type"] == "Notification" and headers["x-amz-sns-message-id"] == message_id
    assert headers["x-amz-sns-topic-arn"] == topic["arn"] and headers["x-amz-sns-subscription-arn"] == topic["subscriptions"]["http"]
    # Lambda: the SNS event, with the real subscription, subject and message.
    record = json.loads(got["lambda"]["message"])["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == topic["subscriptions"]["lambda"]
    assert record["Sns"]["Message"] == "2 objects FAILED" and record["Sns"]["Subject"] == "Replication FAILED"
    assert record["Sns"]["MessageAttributes"] == {} and record["Sns"]["TopicArn"] == topic["arn"]
    # The queues hold exactly what was recorded.
    assert queue_bodies(topic, "envelope") == [got["sqs"]["message"]]
    assert queue_bodies(topic, "raw") == ["2 objects FAILED"]
    # Only deliveries to Amazon Q are judged; plain text is not something it shows.
    assert all(got[key]["accepted"] is None for key in got if key != "amazon-q")
    assert got["amazon-q"]["accepted"] is False and "not JSON" in got["amazon-q"]["reason"]


def test_without_a_subject_the_envelope_has_none_and_the_email_gets_snss_default(world, topic):
    topic["sns"].publish(TopicArn=topic["arn"], Message="hello")
    got = by_subscription(world, topic)
    assert "Subject" not in json.loads(got["sqs"]["message"])
    assert got["sqs"]["subject"] is None
    assert got["email"]["subject"] == "AWS Notification Message"
    assert json.loads(got["lambda"]["message"])["Records"][0]["Sns"]["Subject"] is None


def test_message_structure_json_gives_each_protocol_its_own_message(world, topic):
    chat = json.dumps(custom_notification())
    topic["sns"].publish(
        TopicArn=topic["arn"],
        Subject="Replication FAILED",
        MessageStructure="json",
        Message=json.dumps({"default": "default text", "sqs": "for queues", "email": "for people", "https": chat, "lambda": {"not": "a string"}}),
    )
    got = by_subscription(world, topic)
    assert json.loads(got["sqs"]["message"])["Message"] == "for queues"
    assert got["sqs-raw"]["message"] == "for queues"
    assert got["email"]["message"] == "for people"
    assert json.loads(got["email-json"]["message"])["Message"] == "default text"  # no email-json key
    assert json.loads(got["http"]["message"])["Message"] == "default text"  # no http key
    assert got["https-raw"]["message"] == chat
    assert json.loads(got["amazon-q"]["message"])["Message"] == chat
    # A non-string value is ignored: the default goes instead.
    assert json.loads(got["lambda"]["message"])["Records"][0]["Sns"]["Message"] == "default text"
    assert got["amazon-q"]["accepted"] is True, got["amazon-q"]["reason"]
    assert queue_bodies(topic, "envelope") == [got["sqs"]["message"]]


def refusal(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        call()
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "InvalidParameter"
    return error["Message"]


@pytest.mark.parametrize(
    "structure, expected",
    [
        ({"email": "no default"}, "No default entry in JSON message body"),
        ({"default": {"not": "a string"}}, "No default entry in JSON message body"),
        ('{"default": "a", "default": "b"}', "JSON message body failed to parse"),
        ("not json", "JSON message body failed to parse"),
        ('["default"]', "JSON message body failed to parse"),
    ],
)
def test_message_structure_json_needs_a_json_object_with_a_default(world, topic, structure, expected):
    message = structure if isinstance(structure, str) else json.dumps(structure)
    assert expected in refusal(lambda: topic["sns"].publish(TopicArn=topic["arn"], MessageStructure="json", Message=message))
    assert deliveries(world, topic["arn"]) == []


def test_message_structure_is_checked_even_without_subscribers(world):
    sns = client(world, "sns")
    arn = sns.create_topic(Name=f"lonely-{uuid.uuid4().hex[:8]}")["TopicArn"]
    assert "No default entry" in refusal(lambda: sns.publish(TopicArn=arn, MessageStructure="json", Message='{"sqs": "x"}'))


def test_oversized_messages_and_bad_subjects_are_refused(world, topic):
    sns, arn = topic["sns"], topic["arn"]
    publish = lambda **kw: sns.publish(TopicArn=arn, **kw)  # noqa: E731
    assert refusal(lambda: publish(Message="x" * 262_145)) == "Invalid parameter: Message too long"
    # 256 KiB is bytes, not characters: 131,073 two-byte characters are too many.
    assert refusal(lambda: publish(Message="é" * 131_073)) == "Invalid parameter: Message too long"
    # Message attributes count too.
    attribute = {"a": {"DataType": "String", "StringValue": "v"}}
    assert refusal(lambda: publish(Message="x" * 262_140, MessageAttributes=attribute)) == "Invalid parameter: Message too long"
    assert refusal(lambda: publish(Message="x", Subject="s" * 101)) == "Invalid parameter: Subject"
    assert refusal(lambda: publish(Message="x", Subject="two\nlines")) == "Invalid parameter: Subject"
    assert refusal(lambda: publish(Message="x", Subject="")) == "Invalid parameter: Subject"
    assert refusal(lambda: publish(Message="")) == "Invalid parameter: Empty message"
    assert deliveries(world, arn) == []
    # Right at the limits is fine.
    publish(Message="x" * 262_144, Subject="s" * 100)
    assert len(deliveries(world, arn, "email")) == 1
    assert deliveries(world, arn, "email")[0]["message"] == "x" * 262_144


def test_raw_message_delivery_false_means_false_and_email_has_no_raw_delivery(world, topic):
    sns = topic["sns"]
    sns.set_subscription_attributes(SubscriptionArn=topic["subscriptions"]["sqs-raw"], AttributeName="RawMessageDelivery", AttributeValue="false")
    sns.publish(TopicArn=topic["arn"], Message="hello")
    assert json.loads(queue_bodies(topic, "raw")[0])["Message"] == "hello"
    message = refusal(
        lambda: sns.set_subscription_attributes(
            SubscriptionArn=topic["subscriptions"]["email"], AttributeName="RawMessageDelivery", AttributeValue="true"
        )
    )
    assert "does not support raw message delivery" in message


def test_deliveries_filter_by_protocol_and_clear(world, topic):
    topic["sns"].publish(TopicArn=topic["arn"], Message="one")
    topic["sns"].publish(TopicArn=topic["arn"], Message="two")
    emails = deliveries(world, topic["arn"], "email")
    assert [d["message"] for d in emails] == ["one", "two"]  # in order
    assert set(emails[0]) == {
        "topic_arn", "subscription_arn", "message_id", "timestamp", "protocol", "endpoint", "subject", "message", "raw", "headers", "accepted", "reason",
    }
    assert world.control(f"/_world/sns-deliveries?topic={topic['arn']}", "DELETE") == {"cleared": 2 * len(topic["subscriptions"])}
    assert deliveries(world, topic["arn"]) == []


# --- Amazon Q ---------------------------------------------------------------------------------
def amazon_q_verdict(world, topic, message):
    topic["sns"].publish(TopicArn=topic["arn"], MessageStructure="json", Message=json.dumps({"default": "plain", "https": message}))
    got = [d for d in deliveries(world, topic["arn"], "https") if d["endpoint"] == AMAZON_Q]
    return got[-1]["accepted"], got[-1]["reason"]


def test_a_custom_notification_that_fits_the_schema_is_accepted(world, topic):
    minimal = {"version": "1.0", "source": "custom", "content": {"description": "Replication of acme-reports is failing"}}
    assert amazon_q_verdict(world, topic, json.dumps(minimal))[0] is True
    full = custom_notification(nextSteps=["Fix the bucket policy of acme-reports-replica"], keywords=["acme-reports", "FAILED"])
    accepted, reason = amazon_q_verdict(world, topic, json.dumps(full))
    assert accepted is True, reason


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda n: n.update(version="2.0"), "version: must be \"1.0\""),
        (lambda n: n.update(source="aws.s3"), "source: must be \"custom\""),
        (lambda n: n.pop("version"), "missing version"),
        (lambda n: n["content"].pop("description"), "content: missing description"),
        (lambda n: n["content"].update(textType="markdown"), "content/textType"),
        (lambda n: n["content"].update(title="t" * 251), "content/title: 251 characters, at most 250"),
        (lambda n: n["content"].update(description="d" * 8001), "content/description: 8001 characters, at most 8000"),
        (lambda n: n["content"].update(nextSteps=["s" * 351]), "content/nextSteps/0: 351 characters, at most 350"),
        (lambda n: n["content"].update(keywords=["k" * 76]), "content/keywords/0: 76 characters, at most 75"),
        (lambda n: n["metadata"]["additionalContext"].update(count=4100), "metadata/additionalContext/count"),
        (lambda n: n["metadata"].update(enableCustomActions="no"), "metadata/enableCustomActions"),
        (lambda n: n["metadata"].update(relatedResources="arn:aws:s3:::acme-reports"), "metadata/relatedResources"),
    ],
)
def test_a_custom_notification_that_does_not_fit_is_not_accepted(world, topic, change, why):
    notification = custom_notification()
    change(notification)
    accepted, reason = amazon_q_verdict(world, topic, json.dumps(notification))
    assert accepted is False
    assert why in reason, reason


def test_amazon_q_needs_the_envelope(world, topic):
    sns = topic["sns"]
    raw_q = sns.subscribe(
        TopicArn=topic["arn"], Protocol="https", Endpoint=AMAZON_Q + "/", Attributes={"RawMessageDelivery": "true"}, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    sns.publish(TopicArn=topic["arn"], Message=json.dumps(custom_notification()))
    verdicts = {d["subscription_arn"]: (d["accepted"], d["reason"]) for d in deliveries(world, topic["arn"], "https")}
    assert verdicts[topic["subscriptions"]["amazon-q"]][0] is True
    assert verdicts[raw_q][0] is False and "raw message delivery" in verdicts[raw_q][1]
    assert verdicts[topic["subscriptions"]["https-raw"]] == (None, None)  # not Amazon Q


def test_amazon_q_shows_cloudwatch_alarms(world, topic):
    alarm = {"AlarmName": "replication-failed", "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed", "Trigger": {}}
    assert amazon_q_verdict(world, topic, json.dumps(alarm))[0] is True


def test_the_schema_fixture_is_a_valid_json_schema_that_names_its_source():
    import jsonschema

    with open(SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.validators.validator_for(schema).check_schema(schema)
    assert "docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html" in schema["$comment"]
    assert schema["required"] == ["version", "source", "content"]
    assert schema["properties"]["content"]["required"] == ["description"]


# --- the classic scenario -----------------------------------------------------------------------
def test_the_alert_topic_goes_to_the_inbox_the_oncall_email_and_amazon_q(world):
    built = world.control("/_world/scenario")
    sns = client(world, "sns")
    listed = sns.list_subscriptions_by_topic(TopicArn=built["alert_topic_arn"])["Subscriptions"]
    assert sorted((s["Protocol"], s["Endpoint"]) for s in listed) == [
        ("email", scenario.ONCALL_EMAIL),
        ("https", AMAZON_Q),
        ("sqs", f"arn:aws:sqs:{REGION}:{SOURCE.account_id}:{scenario.ALERT_INBOX}"),
    ]
    for subscription in listed:  # confirmed: a real ARN, not "PendingConfirmation"
        assert subscription["SubscriptionArn"].startswith(built["alert_topic_arn"] + ":")
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
        assert attributes["PendingConfirmation"] == "false" and attributes["RawMessageDelivery"] == "false"
    assert sorted((s["protocol"], s["endpoint"]) for s in built["alert_subscriptions"]) == sorted(
        (s["Protocol"], s["Endpoint"]) for s in listed
    )


# --- nothing leaves this machine ----------------------------------------------------------------
def test_moto_never_posts_to_http_endpoints():
    """In this process: moto's own delivery is replaced and its `requests` refuses to be used."""
    from moto.sns import models

    sns_delivery.install()
    with pytest.raises(RuntimeError, match="does not send SNS deliveries over the network"):
        models.requests.post("https://global.sns-api.chatbot.amazonaws.com", json={})
    assert models.Subscription.publish.__module__ == "world.sns_delivery"
    assert models.Topic.publish.__module__ == "world.sns_delivery"


def test_an_in_process_publish_connects_nowhere_and_its_envelope_verifies(monkeypatch):
    """moto's backend in this process, every socket connect and name lookup refused: the
    https delivery is recorded, and its signature verifies with the certificate SNS names."""
    import socket

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    sns_delivery.install()
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    backend = sns_backends["999999999999"][REGION]
    topic = backend.create_topic(f"offline-{uuid.uuid4().hex[:8]}")
    subscription = backend.subscribe(topic.arn, "https://hooks.example.com/alerts", "https")
    backend.subscribe(topic.arn, AMAZON_Q, "https")
    backend.publish("hello", arn=topic.arn, subject="Offline")
    assert attempts == []
    got = sns_delivery.LOG.list(topic.arn)
    assert sorted(d["endpoint"] for d in got) == sorted(["https://hooks.example.com/alerts", AMAZON_Q])
    document = json.loads(next(d for d in got if d["subscription_arn"] == subscription.arn)["message"])
    key_name = document["SigningCertURL"].rsplit("/", 1)[1]
    certificate = x509.load_pem_x509_certificate(sns_backends[DEFAULT_ACCOUNT_ID][REGION]._message_public_keys[key_name])
    signed = "".join(f"{k}\n{document[k]}\n" for k in ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"))
    certificate.public_key().verify(base64.b64decode(document["Signature"]), signed.encode(), padding.PKCS1v15(), hashes.SHA1())
    sns_delivery.LOG.clear(topic.arn)


def test_a_running_world_sends_nothing_off_this_machine(tmp_path):
    """A world whose process refuses (and notes) every non-loopback connection and name lookup:
    the classic scenario's alert topic, an http and an https subscriber elsewhere, a publish."""
    attempts = tmp_path / "attempts.txt"
    code = f"from world.tests import netguard; netguard.run_world({str(attempts)!r})"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--scenario", "classic", "--alarm-interval", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline().strip()
    assert line.startswith("READY http://127.0.0.1:"), line
    guarded = RunningWorld(process, line.split(" ", 1)[1], 0.0)
    try:
        sns = client(guarded, "sns")
        arn = guarded.control("/_world/scenario")["alert_topic_arn"]
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint="http://hooks.example.com/sns")
        sns.subscribe(TopicArn=arn, Protocol="https", Endpoint="https://203.0.113.7/sns")
        sns.publish(TopicArn=arn, Subject="Replication FAILED", Message=json.dumps(custom_notification()))
        protocols = sorted(d["protocol"] for d in guarded.control(f"/_world/sns-deliveries?topic={arn}"))
        assert protocols == ["email", "http", "https", "https", "sqs"]
    finally:
        assert guarded.stop() == 0
    assert attempts.read_text() == ""
