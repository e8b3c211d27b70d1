"""What each SNS subscriber receives, recorded on this machine instead of sent (SNS API
reference, Publish and Subscribe; SNS developer guide, "Amazon SNS message publishing",
"HTTP/HTTPS notification JSON format", "Amazon SNS raw message delivery").

moto 5.2 delivers a topic's messages itself: to SQS queues (an envelope, or the bare message when
the subscription's RawMessageDelivery is on), to Lambda (a placeholder event: Subject "TestInvoke",
made-up message attributes; through Docker), and to http/https endpoints with a real
`requests.post` — out of this machine. It sends nothing for email/email-json. `install()` replaces
that delivery (`Topic.publish` / `Subscription.publish`) with SNS's, per subscription protocol:

- the message: with `MessageStructure=json`, the value of the protocol's key (`sqs`, `https`,
  `email`, `email-json`, `lambda`, ...; a non-string value is ignored) or else `default`;
  otherwise the message as published;
- `sqs` (into the moto queue, as before), `http`/`https`, `firehose`: the SNS JSON envelope (Type
  Notification, MessageId, TopicArn, Subject if one was given, Message, Timestamp, SignatureVersion,
  Signature, SigningCertURL, UnsubscribeURL, MessageAttributes if any — pretty-printed as SNS
  prints it), or the bare message when RawMessageDelivery is true; http/https also record SNS's
  `x-amz-sns-*` headers;
- `email`: the message text, with the Subject as the e-mail's subject ("AWS Notification Message"
  when the publish had none); `email-json`: the envelope;
- `lambda`: the event Lambda receives from SNS (`Records[0].Sns`, with the real topic, subscription,
  subject and attributes); the function is not invoked (moto would need Docker);
- `sms`, `application`: the message, recorded.

Nothing is sent over the network: http/https/email/email-json/lambda/sms deliveries are only
recorded (`LOG`, served as `GET /_world/sns-deliveries`), and moto's `requests` in its SNS module is
replaced by a guard that refuses to be used. An https delivery to Amazon Q Developer in chat
applications (`AMAZON_Q_ENDPOINT`, the endpoint its SNS subscriptions use) is also judged as
Amazon Q would: it shows only custom notifications that fit
tests/fixtures/amazon-q-custom-notification.schema.json (or the AWS service notifications it knows,
here: CloudWatch alarms), and needs the envelope (raw delivery off) — `accepted` and `reason`.

Publish is refused as SNS refuses it (400 InvalidParameter), which moto does not fully do: an
empty message; a message over the topic's maximum size (256 KiB = 262,144 *bytes* by default,
message attributes included — moto counts characters and ignores attributes); a Subject that is
empty, longer than 100 characters or has line breaks/control characters (moto checks only the
length); `MessageStructure=json` whose message is not a JSON object without duplicate keys or has no
string `default` (moto checks only per subscription, so with no subscriber nothing is checked).
SetSubscriptionAttributes refuses RawMessageDelivery for protocols without raw delivery.
RawMessageDelivery "false" means false (moto treats any non-empty value as true).

Pinned to moto 5.2.5: replaces `SNSBackend.publish` (checks first), `Topic.publish`,
`Subscription.publish` and wraps `SNSBackend.set_subscription_attributes`.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import threading
import unicodedata
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlparse

AMAZON_Q_ENDPOINT = "https://global.sns-api.chatbot.amazonaws.com"
AMAZON_Q_HOST = "global.sns-api.chatbot.amazonaws.com"
SCHEMA_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "amazon-q-custom-notification.schema.json"
)
DEFAULT_EMAIL_SUBJECT = "AWS Notification Message"
DEFAULT_MAXIMUM_MESSAGE_SIZE = 262_144  # bytes (SNS API reference, Publish: Message)
LARGEST_MAXIMUM_MESSAGE_SIZE = 1_048_576  # a topic's MaximumMessageSize may go up to 1 MiB
MAXIMUM_SUBJECT_LENGTH = 100
RAW_CAPABLE = ("sqs", "http", "https", "firehose")  # SNS developer guide, raw message delivery
KEEP = 10_000  # deliveries kept at most (the oldest go first) ...
KEEP_BYTES = 64 * 1024 * 1024  # ... and at most this much message text


class DeliveryLog:
    """Deliveries in the order SNS made them (the newest KEEP, within KEEP_BYTES)."""

    def __init__(self, keep: int = KEEP, keep_bytes: int = KEEP_BYTES):
        self._entries: collections.deque = collections.deque()
        self._keep, self._keep_bytes, self._bytes = keep, keep_bytes, 0
        self._lock = threading.Lock()

    def record(self, entry: dict) -> None:
        with self._lock:
            self._entries.append(entry)
            self._bytes += len(entry["message"])
            while len(self._entries) > 1 and (len(self._entries) > self._keep or self._bytes > self._keep_bytes):
                self._bytes -= len(self._entries.popleft()["message"])

    def list(self, topic_arn: str | None = None, protocol: str | None = None) -> list[dict]:
        with self._lock:
            return [
                dict(entry)
                for entry in self._entries
                if (topic_arn is None or entry["topic_arn"] == topic_arn) and (protocol is None or entry["protocol"] == protocol)
            ]

    def clear(self, topic_arn: str | None = None) -> int:
        with self._lock:
            before = len(self._entries)
            kept = [entry for entry in self._entries if topic_arn is not None and entry["topic_arn"] != topic_arn]
            self._entries.clear()
            self._entries.extend(kept)
            self._bytes = sum(len(entry["message"]) for entry in kept)
            return before - len(kept)


LOG = DeliveryLog()


# --- Publish checks ---------------------------------------------------------------------------
def _invalid(message: str) -> Exception:
    from moto.sns.exceptions import InvalidParameterValue

    return InvalidParameterValue(message)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _DuplicateKey("duplicate key")
    return dict(pairs)


def parse_structure(message: str) -> dict:
    """The per-protocol messages of a `MessageStructure=json` publish, or SNS's refusal."""
    try:
        structure = json.loads(message, object_pairs_hook=_no_duplicates)
    except ValueError:
        structure = None
    if not isinstance(structure, dict):
        raise _invalid("Invalid parameter: Message Structure - JSON message body failed to parse")
    if not isinstance(structure.get("default"), str):
        raise _invalid("Invalid parameter: Message Structure - No default entry in JSON message body")
    return structure


def variant(structure: dict | None, message: str, protocol: str) -> str:
    """What a subscriber of `protocol` gets: its key's string value, else `default`."""
    if structure is None:
        return message
    value = structure.get(protocol)
    return value if isinstance(value, str) else structure["default"]


def subject_problem(subject: str | None) -> bool:
    if subject is None:
        return False
    if not subject or len(subject) > MAXIMUM_SUBJECT_LENGTH:
        return True
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in subject)


def attributes_size(message_attributes: dict | None) -> int:
    size = 0
    for name, value in (message_attributes or {}).items():
        size += len(name.encode()) + len(str(value.get("Type", "")).encode()) + len(str(value.get("Value", "")).encode())
    return size


def maximum_message_size(topic) -> int:
    try:
        configured = int(getattr(topic, "maximum_message_size", DEFAULT_MAXIMUM_MESSAGE_SIZE))
    except (TypeError, ValueError):
        configured = DEFAULT_MAXIMUM_MESSAGE_SIZE
    return min(max(configured, 1), LARGEST_MAXIMUM_MESSAGE_SIZE)


def check_publish(backend, message, arn, phone_number, subject, message_attributes, message_structure) -> None:
    """Raises InvalidParameter where SNS refuses this Publish."""
    if message is None or message == "":
        raise _invalid("Invalid parameter: Empty message")
    if subject_problem(subject):
        raise _invalid("Invalid parameter: Subject")
    if phone_number is None:
        topic = backend.topics.get(arn or "")
        limit = maximum_message_size(topic) if topic is not None else DEFAULT_MAXIMUM_MESSAGE_SIZE
        if len(message.encode("utf-8")) + attributes_size(message_attributes) > limit:
            raise _invalid("Invalid parameter: Message too long")
    if message_structure == "json":
        parse_structure(message)


# --- what each protocol receives --------------------------------------------------------------
_CERTIFICATES: dict[str, str] = {}  # subscription ARN -> SigningCertURL
_CERTIFICATES_LOCK = threading.Lock()


def _signing_cert_url(subscription) -> str:
    """A certificate for the subscription's key, served the way moto serves its own (moto keeps
    the PEM in the default account's backend, by key name)."""
    with _CERTIFICATES_LOCK:
        known = _CERTIFICATES.get(subscription.arn)
        if known:
            return known
        import cryptography.x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509 import Name, NameAttribute
        from cryptography.x509.oid import NameOID
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.core.utils import utcnow
        from moto.moto_api._internal import mock_random
        from moto.sns.models import sns_backends

        key = subscription.private_key()
        issuer = [
            NameAttribute(NameOID.COUNTRY_NAME, "US"),
            NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
            NameAttribute(NameOID.COMMON_NAME, "Amazon RSA 2048 M01"),
        ]
        cert = (
            cryptography.x509.CertificateBuilder()
            .subject_name(Name([NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")]))
            .issuer_name(Name(issuer))
            .public_key(key.public_key())
            .serial_number(cryptography.x509.random_serial_number())
            .not_valid_before(utcnow())
            .not_valid_after(utcnow() + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        key_name = f"SimpleNotificationService-{mock_random.uuid4().hex}.pem"
        region = subscription.topic.sns_backend.region_name
        sns_backends[DEFAULT_ACCOUNT_ID][region]._message_public_keys[key_name] = cert.public_bytes(serialization.Encoding.PEM)
        url = f"https://sns.{region}.amazonaws.com/{key_name}"
        _CERTIFICATES[subscription.arn] = url
        return url


def _signature(subscription, message: str, message_id: str, subject: str | None, timestamp: str, version: str) -> str:
    """SNS's signature of a Notification (developer guide, "Verifying the signatures of Amazon SNS
    messages": Message, MessageId, Subject if present, Timestamp, TopicArn, Type)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    fields = [("Message", message), ("MessageId", message_id)]
    if subject is not None:
        fields.append(("Subject", subject))
    fields += [("Timestamp", timestamp), ("TopicArn", subscription.topic.arn), ("Type", "Notification")]
    string_to_sign = "".join(f"{name}\n{value}\n" for name, value in fields)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = subscription.private_key().sign(string_to_sign.encode("utf-8"), padding.PKCS1v15(), digest)
    return base64.b64encode(signature).decode("ascii")


def _signature_version(topic) -> str:
    return "2" if str(getattr(topic, "signature_version", "1")) == "2" else "1"


def unsubscribe_url(subscription) -> str:
    region = subscription.topic.sns_backend.region_name
    return f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={quote(subscription.arn, safe=':')}"


def envelope(subscription, message: str, message_id: str, subject: str | None, timestamp: str, message_attributes: dict | None) -> dict:
    """The SNS JSON envelope of one notification, in SNS's key order."""
    version = _signature_version(subscription.topic)
    document: dict[str, Any] = {"Type": "Notification", "MessageId": message_id, "TopicArn": subscription.topic.arn}
    if subject is not None:
        document["Subject"] = subject
    document["Message"] = message
    document["Timestamp"] = timestamp
    document["SignatureVersion"] = version
    document["Signature"] = _signature(subscription, message, message_id, subject, timestamp, version)
    document["SigningCertURL"] = _signing_cert_url(subscription)
    document["UnsubscribeURL"] = unsubscribe_url(subscription)
    if message_attributes:
        document["MessageAttributes"] = message_attributes
    return document


def envelope_text(document: dict) -> str:
    # SNS pretty-prints its envelope: two-space indent, `"Key" : value`.
    return json.dumps(document, indent=2, separators=(",", " : "), ensure_ascii=False)


def lambda_event(subscription, message: str, message_id: str, subject: str | None, timestamp: str, message_attributes: dict | None) -> dict:
    """The event Lambda receives from SNS (Lambda developer guide, "Using Lambda with Amazon SNS")."""
    document = envelope(subscription, message, message_id, subject, timestamp, None)
    return {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": document["SignatureVersion"],
                    "Timestamp": timestamp,
                    "Signature": document["Signature"],
                    "SigningCertUrl": document["SigningCertURL"],
                    "MessageId": message_id,
                    "Message": message,
                    "MessageAttributes": message_attributes or {},
                    "Type": "Notification",
                    "UnsubscribeUrl": document["UnsubscribeURL"],
                    "TopicArn": subscription.topic.arn,
                    "Subject": subject,
                },
            }
        ]
    }


def raw_delivery(subscription) -> bool:
    return subscription.protocol in RAW_CAPABLE and str(subscription.attributes.get("RawMessageDelivery", False)).lower() == "true"


def is_amazon_q(protocol: str, endpoint: str) -> bool:
    if protocol != "https":
        return False
    parsed = urlparse(endpoint or "")
    return parsed.scheme == "https" and (parsed.hostname or "").lower() == AMAZON_Q_HOST


_VALIDATOR = None
_VALIDATOR_LOCK = threading.Lock()


def validator():
    global _VALIDATOR
    with _VALIDATOR_LOCK:
        if _VALIDATOR is None:
            import jsonschema

            with open(SCHEMA_PATH, encoding="utf-8") as handle:
                schema = json.load(handle)
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            _VALIDATOR = cls(schema)
        return _VALIDATOR


def _describe(error) -> str:
    where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
    if error.validator == "maxLength":
        return f"{where}: {len(error.instance)} characters, at most {error.validator_value}"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{where}: missing {missing}"
    if error.validator == "const":
        return f"{where}: must be {json.dumps(error.validator_value)}, not {json.dumps(error.instance)[:80]}"
    text = error.message
    return f"{where}: {text if len(text) <= 160 else text[:157] + '...'}"


def amazon_q_verdict(message: str) -> tuple[bool, str]:
    """Would Amazon Q show this message (the envelope's Message) in the channel, and why."""
    try:
        notification = json.loads(message)
    except ValueError:
        return False, (
            "the message is not JSON: Amazon Q shows only custom notifications (version 1.0, source custom) "
            "and the AWS service notifications it supports; it ignores anything else"
        )
    if not isinstance(notification, dict):
        return False, "the message is JSON but not an object: Amazon Q ignores it"
    if "AlarmName" in notification and "NewStateValue" in notification:
        return True, "a CloudWatch alarm notification: Amazon Q formats these itself (not checked further here)"
    errors = sorted(validator().iter_errors(notification), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        return False, "not a valid custom notification, Amazon Q ignores it: " + "; ".join(_describe(e) for e in errors)
    return True, "a custom notification that fits Amazon Q's schema"


def deliver(subscription, message: str, message_id: str, subject: str | None, message_attributes: dict | None,
            group_id: str | None, deduplication_id: str | None, structure: dict | None, timestamp: str) -> None:
    """Delivers one notification to one subscription, as SNS does, and records it."""
    matcher = getattr(subscription, "_filter_policy_matcher", None)
    if matcher is not None and not matcher.matches(message_attributes, message):
        return
    protocol = subscription.protocol
    text = variant(structure, message, protocol)
    raw = raw_delivery(subscription)
    headers = None
    entry_subject = subject
    if protocol in ("sqs", "http", "https", "firehose", "email-json"):
        body = text if raw else envelope_text(envelope(subscription, text, message_id, subject, timestamp, message_attributes))
    elif protocol == "lambda":
        body = json.dumps(lambda_event(subscription, text, message_id, subject, timestamp, message_attributes))
    elif protocol == "email":
        body = text
        entry_subject = subject if subject is not None else DEFAULT_EMAIL_SUBJECT
    else:  # sms, application
        body = text
    if protocol == "sqs":
        _send_to_queue(subscription, body, raw, message_attributes, group_id, deduplication_id)
    if protocol in ("http", "https"):
        headers = {
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": message_id,
            "x-amz-sns-topic-arn": subscription.topic.arn,
            "x-amz-sns-subscription-arn": subscription.arn,
            "Content-Type": "text/plain; charset=UTF-8",
        }
        if raw:
            headers["x-amz-sns-rawdelivery"] = "true"
    accepted = reason = None
    if is_amazon_q(protocol, subscription.endpoint):
        if raw:
            accepted, reason = False, (
                "raw message delivery is on: Amazon Q needs the SNS envelope (do not enable raw message delivery "
                "on subscriptions to Amazon Q)"
            )
        else:
            accepted, reason = amazon_q_verdict(text)
    LOG.record(
        {
            "topic_arn": subscription.topic.arn,
            "subscription_arn": subscription.arn,
            "message_id": message_id,
            "timestamp": timestamp,
            "protocol": protocol,
            "endpoint": subscription.endpoint,
            "subject": entry_subject,
            "message": body,
            "raw": raw,
            "headers": headers,
            "accepted": accepted,
            "reason": reason,
        }
    )


def _send_to_queue(subscription, body: str, raw: bool, message_attributes, group_id, deduplication_id) -> None:
    from moto.sqs import sqs_backends

    parts = subscription.endpoint.split(":")  # arn:aws:sqs:REGION:ACCOUNT:NAME
    region, account, queue_name = parts[3], parts[4] or subscription.account_id, parts[-1]
    attributes = {}
    if raw:
        # As moto does: SNS message attributes become SQS message attributes.
        for key, value in (message_attributes or {}).items():
            kind = "BinaryValue" if value["Type"].startswith("Binary") else "StringValue"
            attributes[key] = {"DataType": value["Type"], kind: value["Value"] if kind == "BinaryValue" else str(value["Value"])}
    sqs_backends[account][region].send_message(
        queue_name,
        body,
        message_attributes=attributes or None,
        deduplication_id=deduplication_id,
        group_id=group_id,
        validate_group_id=False,
    )


class _NoNetwork:
    """Stands in for `requests` in moto's SNS module: the world never POSTs to an endpoint."""

    def __getattr__(self, name):
        raise RuntimeError(f"the local world does not send SNS deliveries over the network (requests.{name})")


def install() -> None:
    from moto.core.utils import iso_8601_datetime_with_milliseconds
    from moto.moto_api._internal import mock_random
    from moto.sns import models

    if getattr(models.SNSBackend.publish, "_world_sns", False):
        return
    original_publish = models.SNSBackend.publish
    original_set_attributes = models.SNSBackend.set_subscription_attributes

    def backend_publish(self, message, arn=None, phone_number=None, subject=None, message_attributes=None,
                        group_id=None, deduplication_id=None, message_structure=None):
        check_publish(self, message, arn, phone_number, subject, message_attributes, message_structure)
        return original_publish(self, message, arn, phone_number=phone_number, subject=subject,
                                message_attributes=message_attributes, group_id=group_id,
                                deduplication_id=deduplication_id, message_structure=message_structure)

    def topic_publish(self, message, subject=None, message_attributes=None, group_id=None,
                      deduplication_id=None, message_structure=None):
        message_id = str(mock_random.uuid4())
        timestamp = iso_8601_datetime_with_milliseconds()
        structure = parse_structure(message) if message_structure == "json" else None
        for subscription in list(self.sns_backend._get_topic_subscriptions(self)):
            deliver(subscription, message, message_id, subject, message_attributes, group_id, deduplication_id, structure, timestamp)
        self.sent_notifications.append((message_id, message, subject, message_attributes, group_id))
        return message_id

    def subscription_publish(self, message, message_id, subject=None, message_attributes=None, group_id=None,
                             deduplication_id=None, message_structure=None):
        structure = parse_structure(message) if message_structure == "json" else None
        deliver(self, message, message_id, subject, message_attributes, group_id, deduplication_id, structure,
                iso_8601_datetime_with_milliseconds())

    def set_subscription_attributes(self, arn, name, value):
        subscription = self.subscriptions.get(arn)
        if name == "RawMessageDelivery" and subscription is not None and subscription.protocol not in RAW_CAPABLE:
            raise _invalid(
                f"Invalid parameter: Attributes Reason: Delivery protocol [{subscription.protocol}] does not support raw message delivery."
            )
        return original_set_attributes(self, arn, name, value)

    backend_publish._world_sns = True  # type: ignore[attr-defined]
    models.SNSBackend.publish = backend_publish
    models.SNSBackend.set_subscription_attributes = set_subscription_attributes
    models.Topic.publish = topic_publish
    models.Subscription.publish = subscription_publish
    models.requests = _NoNetwork()
