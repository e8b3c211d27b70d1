"""Faithful S3 event notifications for the local world.

moto's S3 events lack fields real S3 always sends (`userIdentity`, `requestParameters`,
`responseElements`, the object's `versionId` and `sequencer`) and encode `/` in keys; the AWS
Lambda event types the auditor uses require the first two. `install()` replaces moto's event
builder with one shaped like S3's (S3 user guide, "Event message structure"). `send_event`
delivers events moto itself never sends (`s3:ObjectRemoved:DeleteMarkerCreated`, the
`s3:ObjectCreated:*` of a replica written by the engine), and `send_replication_event` delivers
`s3:Replication:*` events with `replicationEventData`, as S3 does when replication metrics are
enabled. A delete marker's event has no `size` or `eTag` (it has no content), as in S3's.

moto also sends `s3:ObjectTagging:Put` whenever it stores a PUT's tags (even none); S3 sends the
tagging events for PutObjectTagging and DeleteObjectTagging (user guide, "Event notification
types and destinations": "when a tag is PUT on an object or an existing tag is updated"), so the
engine runs moto's write-path tagging inside `quiet()`, which drops moto's own events.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import uuid
from urllib.parse import quote_plus

from moto.core.utils import iso_8601_datetime_with_milliseconds
from moto.s3 import notifications as moto_notifications
from moto.s3.models import FakeKey

_SEQUENCER = itertools.count(0x617F08299329D189)
_QUIET = threading.local()

# eventVersion per event family (user guide, "Event message structure": 2.1 for most events, 2.2
# for replication events, 2.3 for S3 Lifecycle, object ACL and object tagging events).
_EVENT_VERSIONS = {"s3:Replication": "2.2", "s3:LifecycleExpiration": "2.3", "s3:ObjectAcl": "2.3", "s3:ObjectTagging": "2.3"}


def _event_version(event_name: str) -> str:
    return _EVENT_VERSIONS.get(":".join(event_name.split(":")[:2]), "2.1")


def s3_event(event_name: str, bucket, key, notification_id: str, extra: dict | None = None) -> dict:
    record = {
        "eventVersion": _event_version(event_name),
        "eventSource": "aws:s3",
        "awsRegion": bucket.region_name,
        "eventTime": iso_8601_datetime_with_milliseconds(),
        "eventName": event_name[3:] if event_name.startswith("s3:") else event_name,
        "userIdentity": {"principalId": f"AWS:{bucket.account_id}"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": notification_id,
            "bucket": {
                "name": bucket.name,
                "ownerIdentity": {"principalId": bucket.account_id},
                "arn": bucket.arn,
            },
            "object": {
                # S3 form-encodes keys in events: space -> '+', '+' -> '%2B', '/' kept.
                "key": quote_plus(key.name, safe="/"),
            },
        },
    }
    obj = record["s3"]["object"]
    if isinstance(key, FakeKey):
        obj["size"] = key.size
        obj["eTag"] = key.etag.replace('"', "")
    if key.version_id and key.version_id != "null":
        obj["versionId"] = key.version_id
    obj["sequencer"] = format(next(_SEQUENCER), "X")
    if extra:
        record.update(extra)
    return {"Records": [record]}


def install() -> None:
    def get_s3_event(event_name, bucket, key, notification_id):
        return s3_event(event_name, bucket, key, notification_id)

    moto_notifications._get_s3_event = get_s3_event
    original_send = moto_notifications.send_event

    def send_unless_quiet(account_id, event_name, bucket, key):
        if not getattr(_QUIET, "on", False):
            original_send(account_id, event_name, bucket, key)

    moto_notifications.send_event = send_unless_quiet


@contextlib.contextmanager
def quiet():
    """Drops the events moto itself sends on this thread meanwhile (ours still go out)."""
    before = getattr(_QUIET, "on", False)
    _QUIET.on = True
    try:
        yield
    finally:
        _QUIET.on = before


def send_event(account_id: str, event_name: str, bucket, key, extra: dict | None = None) -> None:
    """Sends `event_name` about `key` (an object version or a delete marker) to the bucket's queue,
    topic and Lambda notifications whose event list and key filter match, like S3."""
    configuration = bucket.notification_configuration
    if configuration is None:
        return
    for notification in configuration.queue:
        if notification.matches(event_name, key.name):
            body = s3_event(event_name, bucket, key, notification.id, extra)
            moto_notifications._send_sqs_message(
                account_id, body, notification.arn.split(":")[-1], notification.arn.split(":")[3]
            )
    for notification in configuration.topic:
        if notification.matches(event_name, key.name):
            body = s3_event(event_name, bucket, key, notification.id, extra)
            moto_notifications._send_sns_message(account_id, body, notification.arn, notification.arn.split(":")[3])
    for notification in configuration.cloud_function:
        if notification.matches(event_name, key.name):
            body = s3_event(event_name, bucket, key, notification.id, extra)
            moto_notifications._invoke_awslambda(account_id, body, notification.arn, notification.arn.split(":")[3])


def send_replication_event(account_id: str, bucket, key, kind: str, data: dict) -> None:
    """Sends `s3:Replication:<kind>` to the bucket's notifications that ask for it."""
    send_event(account_id, f"s3:Replication:{kind}", bucket, key, {"replicationEventData": data})
