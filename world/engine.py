"""S3 replication on top of moto, the way S3 does it (user guide: "Replicating objects
within and across Regions", "What does Amazon S3 replicate?", "Replicating encrypted objects
(SSE-S3, SSE-KMS, DSSE-KMS, SSE-C)", "Getting replication status information", "Replicating
delete markers between buckets", "Receiving replication failure events with Amazon S3 Event
Notifications").

moto stores a bucket's replication configuration but never replicates. This engine keeps the
configuration exactly as it was PUT (moto's own copy loses the V2 `Filter`) and models:

Objects. Every object version written to a bucket (PUT, POST, copy, multipart complete) is
matched against the rules with the tags it was written with (`x-amz-tagging`): per destination
bucket the covering rule with the highest `Priority` applies (a disabled one means: not
replicated there). A version no rule covers gets no replication status at all. Versions in the
GLACIER or DEEP_ARCHIVE storage class are never covered; SSE-KMS and DSSE-KMS versions (sent on
the PUT or from the bucket's default encryption) only by rules with
`SourceSelectionCriteria/SseKmsEncryptedObjects` `Enabled`. A covered version is PENDING at once
(HEAD/GET show `x-amz-replication-status`); after `delay` seconds it is replicated to each
destination one by one. For each destination the engine checks what S3 checks — bucket exists,
is versioned, the replication role exists in the source account and, across accounts, the
destination bucket policy allows `s3:ReplicateObject` to the source account or the role — and
either copies the version (same key, body, metadata, content type, ETag, tags, version id and
Last-Modified: S3 keeps "the original object creation times and version IDs"; the rule's
`Destination/StorageClass` if it has one; SSE-KMS/DSSE-KMS replicas under the rule's
`ReplicaKmsKeyID`; SSE-C replicas under the same customer key) as a REPLICA, or records S3's
failure reason and sends `s3:Replication:OperationFailedReplication` (an SSE-C version into a
bucket that blocks SSE-C: `DstPutObjectNotPermitted`). A version deleted before its replication
ran fails with `SrcKeyNotFound` (no version of the key left) or `SrcVersionNotFound`. The source is PENDING while any destination is not done, FAILED if any
destination failed (the replicas already written elsewhere stay), COMPLETED only when every
destination succeeded. S3 sends the destination bucket's `s3:ObjectCreated:*` notification for
the replica. A replica (status REPLICA) is never replicated onward, so two buckets can replicate
to each other.

Tag changes. PutObjectTagging / DeleteObjectTagging of a version that replication already
delivered sends `s3:ObjectTagging:Put` / `:Delete` and replicates the new tag set to each
destination holding the replica: across accounts that needs `s3:ReplicateTags` in the
destination bucket policy, else it fails with `DstPutTaggingNotPermitted` (the replica keeps
its old tags), and a replica no longer there fails with `DstVersionNotFound` (`s3Operation`
`OBJECT_TAGGING_PUT`, this world's name for it). Meanwhile the source is PENDING, then COMPLETED
or FAILED (documented for replica modification sync; this world applies it to the source). ACL
changes are not replicated (see `_note_tag_change`).

Delete markers. A DELETE without a version id in a versioned source bucket creates a delete
marker (and S3's `s3:ObjectRemoved:DeleteMarkerCreated` notification). It is replicated only
when the rule that applies has `DeleteMarkerReplication` `Enabled` (V1 rules, without `Filter`,
always replicate delete markers; rules with tag filters never do — S3 does not support
delete-marker replication for them). Replication writes a delete marker with the same version id
and Last-Modified into the destination; across accounts it needs `s3:ReplicateDelete` in the
destination bucket policy, else it fails with `DstDelObjNotPermitted` and an
`OperationFailedReplication` event whose `s3Operation` is `DELETE_MARKER_PUT`. Deletes of a
specific version are never replicated (S3 does not replicate them), nor are the delete markers
an S3 Lifecycle expiration creates (`lifecycle_expire`, which sends
`s3:LifecycleExpiration:DeleteMarkerCreated` instead).

Deterministic faults (`faults.Faults`, per destination) can keep a version PENDING, FAIL it with
any of S3's failure reasons (`failure_codes.py`), or report it done while the replica is never
written or is deleted afterwards. SSE-C itself (which moto ignores) is `sse_c.py`.

It hooks moto at these points, all pinned to the moto version in requirements.txt:
`S3Backend.put_object` (every write path ends there), `S3Backend._set_delete_marker` (DELETE
and multi-object delete without version ids), `S3Backend.put_object_tagging` /
`delete_object_tagging` (tag changes), `S3Backend.create_multipart_upload` (an upload's SSE-C
key) and `FakeKey.response_dict` (headers of HEAD/GET).
"""

from __future__ import annotations

import fnmatch
import heapq
import itertools
import json
import logging
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from moto.iam.models import iam_backends
from moto.s3.models import FakeDeleteMarker, FakeKey, S3Backend, s3_backends

from . import cloudwatch, notifications, sse_c
from .failure_codes import METADATA, failure_class, is_about_tags
from .faults import DELETE_MARKER_VERSION, OBJECT_VERSION, TAG_CHANGE, Faults

LOG = logging.getLogger("world.engine")

PENDING = "PENDING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
REPLICA = "REPLICA"

# S3's replication failure reason codes (S3 user guide, "Replication failure reasons").
DST_BUCKET_NOT_FOUND = "DstBucketNotFound"
DST_BUCKET_UNVERSIONED = "DstBucketUnversioned"
ASSUME_ROLE_NOT_PERMITTED = "AssumeRoleNotPermitted"
DST_PUT_OBJECT_NOT_PERMITTED = "DstPutObjectNotPermitted"
DST_DEL_OBJ_NOT_PERMITTED = "DstDelObjNotPermitted"
DST_PUT_TAGGING_NOT_PERMITTED = "DstPutTaggingNotPermitted"
DST_VERSION_NOT_FOUND = "DstVersionNotFound"
SRC_BUCKET_NOT_FOUND = "SrcBucketNotFound"
SRC_KEY_NOT_FOUND = "SrcKeyNotFound"
SRC_VERSION_NOT_FOUND = "SrcVersionNotFound"

# What each destination-policy action guards, and the reason S3 gives without it.
NOT_PERMITTED = {
    "s3:ReplicateObject": DST_PUT_OBJECT_NOT_PERMITTED,
    "s3:ReplicateDelete": DST_DEL_OBJ_NOT_PERMITTED,
    # The failure table says s3:ReplicateObject "might be missing"; the permissions page
    # ("Setting up permissions for live replication") names s3:ReplicateTags for tags.
    "s3:ReplicateTags": DST_PUT_TAGGING_NOT_PERMITTED,
}

# replicationEventData.s3Operation. AWS's published sample event only shows "OBJECT_PUT" (object
# replication); the strings S3 uses for delete-marker and tag replication are not documented, so
# "DELETE_MARKER_PUT" and "OBJECT_TAGGING_PUT" (a tag change, DeleteObjectTagging included: the
# replica gets the new, possibly empty, tag set) are this world's choice.
OBJECT_PUT = "OBJECT_PUT"
DELETE_MARKER_PUT = "DELETE_MARKER_PUT"
OBJECT_TAGGING_PUT = "OBJECT_TAGGING_PUT"

# Not replicated (user guide, "What does Amazon S3 replicate?": "Objects that are stored in the
# S3 Glacier Flexible Retrieval or S3 Glacier Deep Archive storage class"). Objects move to the
# Intelligent-Tiering archive access tiers only after 90+ days without access: not modelled.
ARCHIVE_STORAGE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
# Replicated only under rules that opt in ("Replicating encrypted objects": "By default, Amazon
# S3 doesn't replicate objects that are encrypted with SSE-KMS or DSSE-KMS").
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")

PARTITION = "aws"
STATUS_ATTRIBUTE = "_world_replication_status"


@dataclass(frozen=True)
class Rule:
    """One replication rule, as S3 reads it from the stored XML."""

    rule_id: str
    priority: int
    enabled: bool
    prefix: str
    tags: dict[str, str]
    destination_bucket: str
    destination_account: str | None
    # Whether delete markers are replicated under this rule: V2 rules say so in
    # DeleteMarkerReplication; V1 rules (no Filter) always replicate them; rules with a tag filter
    # never do (S3 user guide, "Replicating delete markers between buckets").
    delete_markers: bool = False
    # SourceSelectionCriteria/SseKmsEncryptedObjects/Status as written (None: not there).
    sse_kms_status: str | None = None
    replica_kms_key_id: str | None = None  # Destination/EncryptionConfiguration/ReplicaKmsKeyID
    storage_class: str | None = None  # Destination/StorageClass (None: the source's)

    @property
    def sse_kms_objects(self) -> bool:
        return self.sse_kms_status == "Enabled"

    def covers(self, key: str, object_tags: dict[str, str], encryption: str | None = None) -> bool:
        if not key.startswith(self.prefix):
            return False
        # A rule that did not opt in does not select KMS-encrypted versions, so a lower-priority
        # rule that did can still apply (this world's reading: the guide calls it a selection
        # criterion of the rule).
        if encryption in KMS_ALGORITHMS and not self.sse_kms_objects:
            return False
        return all(object_tags.get(k) == v for k, v in self.tags.items())


@dataclass(frozen=True)
class ReplicationConfiguration:
    raw_xml: bytes
    role_arn: str
    rules: tuple[Rule, ...]

    def rules_for(self, key: str, object_tags: dict[str, str], encryption: str | None = None) -> list[Rule]:
        """The rule that applies per destination: highest priority among covering rules."""
        chosen: dict[str, Rule] = {}
        for rule in self.rules:
            if not rule.covers(key, object_tags, encryption):
                continue
            current = chosen.get(rule.destination_bucket)
            if current is None or rule.priority > current.priority:
                chosen[rule.destination_bucket] = rule
        return [rule for rule in chosen.values() if rule.enabled]

    def delete_marker_rules_for(self, key: str) -> list[Rule]:
        """The rules under which a delete marker for `key` is replicated, one per destination.

        A delete marker has no tags, so only rules without a tag filter can cover it."""
        return [rule for rule in self.rules_for(key, {}) if rule.delete_markers and not rule.tags]

    def problem(self) -> str | None:
        """Why PutBucketReplication refuses this configuration (moto accepts it). API reference,
        Destination: EncryptionConfiguration — "If SourceSelectionCriteria is specified, you
        must specify this element"; S3 answers 400 InvalidRequest with this message."""
        for rule in self.rules:
            if rule.sse_kms_status is not None and not rule.replica_kms_key_id:
                return "ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present."
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _descendant(element: ET.Element | None, *names: str) -> ET.Element | None:
    for name in names:
        if element is None:
            return None
        element = _child(element, name)
    return element


def _text(element: ET.Element | None, name: str, default: str = "") -> str:
    if element is None:
        return default
    child = _child(element, name)
    return (child.text or "") if child is not None else default


def _tag_pair(element: ET.Element) -> tuple[str, str]:
    return _text(element, "Key"), _text(element, "Value")


def parse_replication_configuration(raw_xml: bytes) -> ReplicationConfiguration:
    """Parses a PutBucketReplication body (V1 rule-level Prefix and V2 Filter/And/Tag)."""
    root = ET.fromstring(raw_xml)
    rules = []
    for index, rule_el in enumerate(c for c in root if _local(c.tag) == "Rule"):
        prefix = _text(rule_el, "Prefix")
        tags: dict[str, str] = {}
        filter_el = _child(rule_el, "Filter")
        if filter_el is not None:
            prefix = _text(filter_el, "Prefix")
            tag_el = _child(filter_el, "Tag")
            if tag_el is not None:
                k, v = _tag_pair(tag_el)
                tags[k] = v
            and_el = _child(filter_el, "And")
            if and_el is not None:
                prefix = _text(and_el, "Prefix")
                for tag_el in (c for c in and_el if _local(c.tag) == "Tag"):
                    k, v = _tag_pair(tag_el)
                    tags[k] = v
        destination = _child(rule_el, "Destination")
        bucket_arn = _text(destination, "Bucket")
        priority_text = _text(rule_el, "Priority")
        if filter_el is None:
            delete_markers = True  # V1 configuration
        else:
            delete_markers = _text(_child(rule_el, "DeleteMarkerReplication"), "Status") == "Enabled" and not tags
        sse_kms_el = _descendant(rule_el, "SourceSelectionCriteria", "SseKmsEncryptedObjects")
        encryption_el = _descendant(rule_el, "Destination", "EncryptionConfiguration")
        rules.append(
            Rule(
                rule_id=_text(rule_el, "ID") or f"rule-{index}",
                priority=int(priority_text) if priority_text else 0,
                enabled=_text(rule_el, "Status") == "Enabled",
                prefix=prefix,
                tags=tags,
                destination_bucket=bucket_arn.rsplit(":", 1)[-1],
                destination_account=_text(destination, "Account") or None,
                delete_markers=delete_markers,
                sse_kms_status=_text(sse_kms_el, "Status") if sse_kms_el is not None else None,
                replica_kms_key_id=_text(encryption_el, "ReplicaKmsKeyID") or None,
                storage_class=_text(destination, "StorageClass") or None,
            )
        )
    return ReplicationConfiguration(raw_xml=raw_xml, role_arn=_text(root, "Role"), rules=tuple(rules))


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_allows_replication(
    policy: bytes | str | None,
    source_account: str,
    role_arn: str,
    destination_bucket: str,
    key: str,
    action: str = "s3:ReplicateObject",
) -> bool:
    """Whether a destination bucket policy lets the source account do `action` on `key`
    (s3:ReplicateObject for object versions, s3:ReplicateDelete for delete markers)."""
    if not policy:
        return False
    document = json.loads(policy)
    resource = f"arn:aws:s3:::{destination_bucket}/{key}"
    principals_of_source = {source_account, f"arn:aws:iam::{source_account}:root", role_arn}
    allowed = False
    for statement in _as_list(document.get("Statement")):
        actions = [a.lower() for a in _as_list(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase(action.lower(), a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement.get("Resource"))):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            named = {"*"}
        elif isinstance(principal, dict):
            named = set(_as_list(principal.get("AWS")))
        else:
            named = set()
        if not ("*" in named or named & principals_of_source):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def _find_bucket(name: str):
    location = s3_backends.bucket_accounts.get(name)
    if location is None:
        return None, None
    partition, account_id = location
    backend = s3_backends[account_id][partition]
    return backend, backend.buckets.get(name)


def _find_version(bucket, key_name: str, version_id: str, kind=FakeKey):
    for candidate in bucket.keys.getlist(key_name, []):
        if isinstance(candidate, kind) and candidate.version_id == version_id:
            return candidate
    return None


@dataclass(frozen=True)
class _GoneVersion:
    """A version deleted before S3 got to it: what its failure event can still name."""

    name: str
    version_id: str


OBJECT_JOB, DELETE_MARKER_JOB, TAGS_JOB = "object", "delete_marker", "tags"


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    account_id: str = field(compare=False)
    bucket: str = field(compare=False)
    key: str = field(compare=False)
    version_id: str = field(compare=False)
    role_arn: str = field(compare=False)
    rules: list = field(compare=False)
    kind: str = field(default=OBJECT_JOB, compare=False)
    # replicationEventData.requestTime: the write (or the tag change) being replicated.
    request_time: str = field(default="", compare=False)

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.bucket, self.key, self.version_id)


def _now_iso8601() -> str:
    from moto.core.utils import iso_8601_datetime_with_milliseconds

    return iso_8601_datetime_with_milliseconds()


class ReplicationEngine:
    """Marks covered writes PENDING and replicates them on a background thread after `delay`."""

    def __init__(self, delay: float, faults: Faults):
        self.delay = delay
        self.faults = faults
        self._configs: dict[str, ReplicationConfiguration] = {}
        # (source bucket, key, version id) -> {destination bucket: (status, failure reason)}
        self._destinations: dict[tuple[str, str, str], dict[str, tuple[str, str | None]]] = {}
        # (source bucket, key, version id) -> {destination: rule} where S3 holds the replica as
        # written (what a later tag change is replicated to).
        self._replicated: dict[tuple[str, str, str], dict[str, Rule]] = {}
        self._written = threading.local()
        self._internal = threading.local()
        self._request = threading.local()  # the S3 request being served: operation, SSE-C key
        self._queue: list[_Job] = []
        self._seq = itertools.count()
        self._busy = 0
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="replication-engine", daemon=True)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._install_moto_hooks()
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def drain(self, timeout: float) -> bool:
        """Waits until every scheduled replication has run; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    # --- configuration (kept verbatim; moto's copy loses the Filter) ---------------------------
    def put_configuration(self, bucket: str, raw_xml: bytes) -> None:
        self._configs[bucket] = parse_replication_configuration(raw_xml)

    def delete_configuration(self, bucket: str) -> None:
        self._configs.pop(bucket, None)

    def configuration_xml(self, bucket: str) -> bytes | None:
        config = self._configs.get(bucket)
        return config.raw_xml if config else None

    # --- what a test or a person can ask --------------------------------------------------
    def describe(self, bucket: str, key: str, version_id: str | None) -> dict:
        _, bucket_obj = _find_bucket(bucket)
        if bucket_obj is None:
            return {"error": "NoSuchBucket"}
        versions = [v for v in bucket_obj.keys.getlist(key, []) if isinstance(v, (FakeKey, FakeDeleteMarker))]
        if version_id:
            versions = [v for v in versions if v.version_id == version_id]
        if not versions:
            # A version deleted before (or after) S3 replicated it: what replication recorded.
            recorded = self._destinations.get((bucket, key, version_id or ""))
            if recorded is None:
                return {"error": "NoSuchKey"}
            return {**self._describe_destinations(recorded), "version_id": version_id, "gone": True, "status": None}
        latest = versions[-1]
        destinations = self._destinations.get((bucket, key, latest.version_id), {})
        return {
            "version_id": latest.version_id,
            "delete_marker": isinstance(latest, FakeDeleteMarker),
            "status": getattr(latest, STATUS_ATTRIBUTE, None),
            **self._describe_destinations(destinations),
        }

    @staticmethod
    def _describe_destinations(destinations: dict) -> dict:
        reasons = [reason for _, reason in destinations.values() if reason]
        return {
            "failure_reason": reasons[0] if reasons else None,
            "destinations": {
                name: {"status": status, "failure_reason": reason} for name, (status, reason) in destinations.items()
            },
        }

    # --- S3 Lifecycle ----------------------------------------------------------------------
    def lifecycle_expire(self, bucket: str, key: str) -> dict:
        """Expires the current version of `key` as an S3 Lifecycle Expiration action does in a
        versioned bucket: a delete marker, the `s3:LifecycleExpiration:DeleteMarkerCreated`
        event (not `ObjectRemoved:DeleteMarkerCreated`), and no replication of that marker
        ("Replicating delete markers between buckets": delete markers added by an S3 Lifecycle
        expiration rule are not replicated). Returns {"version_id": …} or {"error", "status"}."""
        backend, bucket_obj = _find_bucket(bucket)
        if bucket_obj is None:
            return {"error": "NoSuchBucket", "status": "404 Not Found"}
        if not bucket_obj.is_versioned:
            return {"error": "the world models lifecycle expiration in versioned buckets only", "status": "400 Bad Request"}
        current = bucket_obj.keys.get(key)
        if not isinstance(current, FakeKey):
            # No current version, or it is a delete marker (ExpiredObjectDeleteMarker's business).
            return {"error": "NoSuchKey: no current object version to expire", "status": "404 Not Found"}
        if getattr(current, STATUS_ATTRIBUTE, None) in (PENDING, FAILED):
            # "Getting replication status information": S3 Lifecycle blocks expiration and
            # transition actions on objects with PENDING or FAILED replication status.
            return {"error": "S3 Lifecycle does not expire objects whose replication is PENDING or FAILED", "status": "409 Conflict"}
        self._internal.active = True  # not a user's delete: the engine leaves the marker alone
        try:
            marker = backend._set_delete_marker(bucket, key)
        finally:
            self._internal.active = False
        # The sample replication event names S3 itself as the actor; this world does the same
        # for the actions S3 takes on its own.
        s3_itself = {"userIdentity": {"principalId": "s3.amazonaws.com"}, "requestParameters": {"sourceIPAddress": "s3.amazonaws.com"}}
        notifications.send_event(backend.account_id, "s3:LifecycleExpiration:DeleteMarkerCreated", bucket_obj, marker, s3_itself)
        return {"version_id": marker.version_id}

    # --- hooks -----------------------------------------------------------------------------
    def _install_moto_hooks(self) -> None:
        engine = self
        notifications.install()
        cloudwatch.install()
        if getattr(S3Backend.put_object, "_world_hooked", False):
            raise RuntimeError("the replication engine is already installed in this process")
        original_put = S3Backend.put_object
        original_set_delete_marker = S3Backend._set_delete_marker
        original_put_tagging = S3Backend.put_object_tagging
        original_delete_tagging = S3Backend.delete_object_tagging
        original_create_multipart = S3Backend.create_multipart_upload
        original_response_dict = FakeKey.response_dict

        def put_object(backend, bucket_name, key_name, *args, **kwargs):
            key = original_put(backend, bucket_name, key_name, *args, **kwargs)
            engine.note_written(bucket_name, key)
            return key

        put_object._world_hooked = True  # type: ignore[attr-defined]

        def set_delete_marker(backend, bucket_name, key_name):
            marker = original_set_delete_marker(backend, bucket_name, key_name)
            engine.note_written(bucket_name, marker)
            return marker

        def put_object_tagging(backend, key, tags, *args, **kwargs):
            if engine._writing(key):  # the tags a write stores: no tagging event
                with notifications.quiet():
                    return original_put_tagging(backend, key, tags, *args, **kwargs)
            result = original_put_tagging(backend, key, tags, *args, **kwargs)
            engine._note_tag_change(key)
            return result

        def delete_object_tagging(backend, bucket_name, key_name, version_id=None):
            original_delete_tagging(backend, bucket_name, key_name, version_id=version_id)
            engine._note_tag_change(backend.get_object(bucket_name, key_name, version_id=version_id))

        def create_multipart_upload(backend, *args, **kwargs):
            multipart = original_create_multipart(backend, *args, **kwargs)
            key_md5 = getattr(engine._request, "sse_c_key_md5", None)
            if key_md5:  # CompleteMultipartUpload carries no key: the upload remembers it
                setattr(multipart, sse_c.KEY_MD5_ATTRIBUTE, key_md5)
            return multipart

        def response_dict(key):
            headers = original_response_dict.fget(key)
            status = getattr(key, STATUS_ATTRIBUTE, None)
            if status:
                headers["x-amz-replication-status"] = status
            if key.encryption == "aws:kms:dsse" and key.kms_key_id:
                # S3 names the KMS key of DSSE-KMS versions too (moto only for aws:kms).
                headers["x-amz-server-side-encryption-aws-kms-key-id"] = key.kms_key_id
            headers.update(sse_c.response_headers(key))
            return headers

        S3Backend.put_object = put_object
        S3Backend._set_delete_marker = set_delete_marker
        S3Backend.put_object_tagging = put_object_tagging
        S3Backend.delete_object_tagging = delete_object_tagging
        S3Backend.create_multipart_upload = create_multipart_upload
        FakeKey.response_dict = property(response_dict)

    def request_started(self, operation: str, sse_c_key_md5: str | None = None) -> None:
        """Called by the middleware before moto serves an S3 request (SSE-C key already checked)."""
        self._request.operation = operation
        self._request.sse_c_key_md5 = sse_c_key_md5

    def note_written(self, bucket: str, key) -> None:
        """Called inside moto for every stored object version or delete marker; acted on when the
        request ends."""
        if getattr(self._internal, "active", False):
            return
        if isinstance(key, FakeKey):
            self._apply_sse_c(key)
        self._pending_writes().append((bucket, key))

    def _pending_writes(self) -> list:
        written = getattr(self._written, "keys", None)
        if written is None:
            written = self._written.keys = []
        return written

    def _writing(self, key) -> bool:
        """Whether moto is storing `key`'s tags as part of writing it (or the engine its replica's)."""
        if getattr(self._internal, "active", False):
            return True
        return any(written is key for _, written in self._pending_writes())

    def _apply_sse_c(self, key: FakeKey) -> None:
        """Marks a version written with SSE-C: the request's key, or for a completed multipart
        upload the key its CreateMultipartUpload named. S3 does not apply the bucket's default
        encryption to it (moto did)."""
        key_md5 = getattr(self._request, "sse_c_key_md5", None)
        if key_md5 is None and getattr(self._request, "operation", None) == "CompleteMultipartUpload" and key.multipart:
            key_md5 = getattr(key.multipart, sse_c.KEY_MD5_ATTRIBUTE, None)
        if key_md5:
            _store_as_sse_c(key, key_md5)

    def _note_tag_change(self, key) -> None:
        """PutObjectTagging / DeleteObjectTagging of `key` (moto sent the ObjectTagging event).
        Only tags are replicated afterwards: ACL updates are not replicated under S3 Object
        Ownership "bucket owner enforced" (ACLs disabled, this world's default) nor when the
        rule changes the replica owner ("What does Amazon S3 replicate?"), so the world does not
        replicate PutObjectAcl; metadata failures about ACLs come from faults only."""
        if isinstance(key, FakeKey) and not getattr(self._internal, "active", False):
            tag_changes = getattr(self._written, "tag_changes", None)
            if tag_changes is None:
                tag_changes = self._written.tag_changes = []
            tag_changes.append(key)

    def request_finished(self) -> None:
        """Marks this request's writes PENDING and schedules them (tags are set by now), and
        schedules the replication of its tag changes."""
        written = getattr(self._written, "keys", None) or []
        tag_changes = getattr(self._written, "tag_changes", None) or []
        self._written.keys = []
        self._written.tag_changes = []
        self._request.operation = None
        self._request.sse_c_key_md5 = None
        for bucket, key in written:
            self._schedule_write(bucket, key)
        for key in tag_changes:
            self._schedule_tag_change(key)

    def _schedule_write(self, bucket: str, key) -> None:
        backend, bucket_obj = _find_bucket(bucket)
        if backend is None:
            return
        # The bucket's owner, not the caller's account (an unsigned POST lands in moto's default).
        account_id = backend.account_id
        delete_marker = isinstance(key, FakeDeleteMarker)
        if delete_marker:
            # S3 sends this whether or not the marker is replicated (moto never sends it).
            notifications.send_event(account_id, "s3:ObjectRemoved:DeleteMarkerCreated", bucket_obj, key)
        config = self._configs.get(bucket)
        if config is None:
            return
        if delete_marker:
            rules = config.delete_marker_rules_for(key.name)
        elif key.storage_class in ARCHIVE_STORAGE_CLASSES:
            rules = []
        else:
            rules = config.rules_for(key.name, backend.tagger.get_tag_dict_for_resource(key.arn), key.encryption)
        if not rules:
            return
        if not delete_marker:
            setattr(key, STATUS_ATTRIBUTE, PENDING)
        kind = DELETE_MARKER_JOB if delete_marker else OBJECT_JOB
        self._enqueue(account_id, bucket, key, config.role_arn, rules, kind, key.last_modified_ISO8601)

    def _schedule_tag_change(self, key: FakeKey) -> None:
        """A tag change of a version S3 already replicated goes to every destination holding
        the replica; a version still PENDING replicates its current tags anyway."""
        backend, _ = _find_bucket(key.bucket_name)
        config = self._configs.get(key.bucket_name)
        ident = (key.bucket_name, key.name, key.version_id)
        with self._cond:
            targets = list(self._replicated.get(ident, {}).values())
        if backend is None or config is None or not targets:
            return
        # "Getting replication status information" documents PENDING while metadata changes are
        # replicating, then FAILED or back, for replica modification sync; the guide is silent
        # on the source of a tag change, so the world applies the same there.
        setattr(key, STATUS_ATTRIBUTE, PENDING)
        self._enqueue(backend.account_id, key.bucket_name, key, config.role_arn, targets, TAGS_JOB, _now_iso8601())

    def _enqueue(self, account_id: str, bucket: str, key, role_arn: str, rules: list, kind: str, request_time: str) -> None:
        job = _Job(
            due=time.monotonic() + self.delay + self.faults.replication_delay(bucket, key.name),
            seq=next(self._seq),
            account_id=account_id,
            bucket=bucket,
            key=key.name,
            version_id=key.version_id,
            role_arn=role_arn,
            rules=rules,
            kind=kind,
            request_time=request_time,
        )
        with self._cond:
            statuses = self._destinations.setdefault(job.ident, {})
            if kind != TAGS_JOB:
                statuses.clear()
            statuses.update({rule.destination_bucket: (PENDING, None) for rule in rules})
            heapq.heappush(self._queue, job)
            self._cond.notify_all()

    # --- the replication itself -----------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (
                    not self._queue or self._queue[0].due > time.monotonic()
                ):
                    timeout = self._queue[0].due - time.monotonic() if self._queue else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                job = heapq.heappop(self._queue)
                self._busy += 1
            try:
                self._internal.active = True
                {OBJECT_JOB: self._replicate, DELETE_MARKER_JOB: self._replicate_delete_marker, TAGS_JOB: self._replicate_tags}[
                    job.kind
                ](job)
            except Exception:  # a bug here must not kill the engine thread
                LOG.exception("replication of %s/%s failed inside the engine", job.bucket, job.key)
            finally:
                self._internal.active = False
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _set_destination(self, job: _Job, destination: str, status: str, reason: str | None = None) -> None:
        with self._cond:
            self._destinations.setdefault(job.ident, {})[destination] = (status, reason)

    def _mark_replicated(self, job: _Job, rule: Rule) -> None:
        with self._cond:
            self._replicated.setdefault(job.ident, {})[rule.destination_bucket] = rule

    def _source_status(self, job: _Job) -> str:
        """S3's source status over all destinations: PENDING until every destination is done,
        then FAILED if any failed, else COMPLETED."""
        with self._cond:
            statuses = [status for status, _ in self._destinations[job.ident].values()]
        if PENDING in statuses:
            return PENDING
        return FAILED if FAILED in statuses else COMPLETED

    def _source_version(self, job: _Job, kind=FakeKey):
        source_backend = s3_backends[job.account_id][PARTITION]
        bucket = source_backend.buckets.get(job.bucket)
        version = _find_version(bucket, job.key, job.version_id, kind) if bucket else None
        return source_backend, bucket, version

    def _replicate(self, job: _Job) -> None:
        source_backend, bucket, source = self._source_version(job)
        if source is None:
            self._source_gone(job, bucket, OBJECT_PUT)
            return
        for rule in job.rules:  # one destination after the other, as S3 does
            self._replicate_to(job, source_backend, bucket, source, rule)
        setattr(source, STATUS_ATTRIBUTE, self._source_status(job))

    def _replicate_to(self, job: _Job, source_backend, bucket, source: FakeKey, rule: Rule) -> None:
        destination = rule.destination_bucket
        fault, injected = self.faults.replication_failure(job.bucket, job.key, destination, OBJECT_VERSION) or (None, None)
        if fault == "stay_pending":
            return
        reason = injected if fault == "fail" else self._destination_problem(job, rule) or self._sse_c_refused(source, rule)
        data_replicates = reason is None or (failure_class(reason) == METADATA and reason != DST_VERSION_NOT_FOUND)
        if not data_replicates:
            self._fail(job, source, bucket, rule, reason, OBJECT_PUT)
            return
        if fault != "complete_without_replica":
            with_tags = reason is None or not is_about_tags(reason)
            self._write_replica(source_backend, source, rule, with_tags)
            if fault == "delete_replica":
                dest_backend, _ = _find_bucket(destination)
                dest_backend.delete_object(destination, source.name, source.version_id)
        self._mark_replicated(job, rule)  # S3 holds it as replicated (metadata failure or not)
        if reason:  # the data is there, some metadata is not
            self._fail(job, source, bucket, rule, reason, OBJECT_PUT)
        else:
            self._set_destination(job, destination, COMPLETED)

    def _sse_c_refused(self, source: FakeKey, rule: Rule) -> str | None:
        """A destination that blocks SSE-C refuses SSE-C replicas ("Blocking or unblocking SSE-C
        for a general purpose bucket": replication requests are rejected, 403 AccessDenied);
        the failure reason S3 gives is not documented: DstPutObjectNotPermitted is this world's."""
        _, dest_bucket = _find_bucket(rule.destination_bucket)
        if sse_c.stored_key_md5(source) and not sse_c.allowed_in(dest_bucket):
            return DST_PUT_OBJECT_NOT_PERMITTED
        return None

    def _replicate_delete_marker(self, job: _Job) -> None:
        _, bucket, marker = self._source_version(job, FakeDeleteMarker)
        if marker is None:
            self._source_gone(job, bucket, DELETE_MARKER_PUT)  # the marker was removed first
            return
        for rule in job.rules:
            found = self.faults.replication_failure(job.bucket, job.key, rule.destination_bucket, DELETE_MARKER_VERSION)
            reason = found[1] if found else self._destination_problem(job, rule, "s3:ReplicateDelete")
            if reason:
                self._fail(job, marker, bucket, rule, reason, DELETE_MARKER_PUT)
                continue
            self._write_delete_marker(marker, rule.destination_bucket)
            self._set_destination(job, rule.destination_bucket, COMPLETED)

    def _replicate_tags(self, job: _Job) -> None:
        """Replicates a tag change: the source version's current tag set onto each replica."""
        source_backend, bucket, source = self._source_version(job)
        if source is None:
            self._source_gone(job, bucket, OBJECT_TAGGING_PUT)
            return
        tags = source_backend.tagger.get_tag_dict_for_resource(source.arn)
        for rule in job.rules:
            destination = rule.destination_bucket
            fault, injected = self.faults.replication_failure(job.bucket, job.key, destination, TAG_CHANGE) or (None, None)
            if fault == "stay_pending":
                continue
            if injected == DST_VERSION_NOT_FOUND:
                self._remove_replica(source, destination)  # so that S3's reason is true
            reason = injected or self._destination_problem(job, rule, "s3:ReplicateTags")
            replica = self._replica_of(source, destination) if reason is None else None
            if reason is None and replica is None:
                reason = DST_VERSION_NOT_FOUND  # deleted in the destination, or never written
            if reason:
                self._fail(job, source, bucket, rule, reason, OBJECT_TAGGING_PUT)
                continue
            _, dest_bucket = _find_bucket(destination)
            dest_backend = s3_backends[dest_bucket.account_id][PARTITION]
            dest_backend.put_object_tagging(replica, tags)  # the engine's own: no event (docs silent)
            self._set_destination(job, destination, COMPLETED)
        setattr(source, STATUS_ATTRIBUTE, self._source_status(job))

    def _source_gone(self, job: _Job, bucket, operation: str) -> None:
        """The source version was deleted before its replication ran (failure reasons
        SrcKeyNotFound: "unable to find the source object key", SrcVersionNotFound: "unable to
        find the source object version"; the world says SrcKeyNotFound when no version of the
        key is left). Without a source bucket nothing can be notified."""
        if bucket is None:
            for rule in job.rules:
                self._set_destination(job, rule.destination_bucket, FAILED, SRC_BUCKET_NOT_FOUND)
            return
        reason = SRC_VERSION_NOT_FOUND if bucket.keys.getlist(job.key, []) else SRC_KEY_NOT_FOUND
        gone = _GoneVersion(job.key, job.version_id)
        for rule in job.rules:
            self._fail(job, gone, bucket, rule, reason, operation)

    def _fail(self, job: _Job, source, bucket, rule: Rule, reason: str, operation: str) -> None:
        self._set_destination(job, rule.destination_bucket, FAILED, reason)
        LOG.info(
            "replication FAILED %s/%s (%s) -> %s: %s", job.bucket, job.key, job.version_id, rule.destination_bucket, reason
        )
        notifications.send_replication_event(
            job.account_id,
            bucket,
            source,
            "OperationFailedReplication",
            {
                "replicationRuleId": rule.rule_id,
                "destinationBucket": f"arn:aws:s3:::{rule.destination_bucket}",
                "s3Operation": operation,
                "requestTime": job.request_time,
                "failureReason": reason,
            },
        )

    def _destination_problem(self, job: _Job, rule: Rule, action: str = "s3:ReplicateObject") -> str | None:
        dest_backend, dest_bucket = _find_bucket(rule.destination_bucket)
        if dest_bucket is None:
            return DST_BUCKET_NOT_FOUND
        if not dest_bucket.is_versioned:
            return DST_BUCKET_UNVERSIONED
        role_account = job.role_arn.split(":")[4] if job.role_arn.count(":") >= 5 else ""
        if role_account != job.account_id:
            return ASSUME_ROLE_NOT_PERMITTED
        try:
            iam_backends[job.account_id]["global"].get_role_by_arn(job.role_arn)
        except Exception:
            return ASSUME_ROLE_NOT_PERMITTED
        if dest_backend.account_id != job.account_id and not policy_allows_replication(
            dest_bucket.policy, job.account_id, job.role_arn, rule.destination_bucket, job.key, action
        ):
            return NOT_PERMITTED[action]
        return None

    def _write_replica(self, source_backend, source: FakeKey, rule: Rule, with_tags: bool = True) -> FakeKey:
        destination = rule.destination_bucket
        dest_backend, dest_bucket = _find_bucket(destination)
        encryption, kms_key_id = source.encryption, source.kms_key_id
        if encryption in KMS_ALGORITHMS:
            # Same type of encryption as the source ("How default bucket encryption affects
            # replication"), under the rule's ReplicaKmsKeyID.
            kms_key_id = rule.replica_kms_key_id or kms_key_id
        replica = dest_backend.put_object(
            destination,
            source.name,
            source.value,
            storage=rule.storage_class or source.storage_class,
            etag=source.etag.strip('"'),
            encryption=encryption,
            kms_key_id=kms_key_id,
            disable_notification=True,
        )
        replica._version_id = source.version_id
        replica.last_modified = source.last_modified  # S3 keeps the original creation time
        replica.set_metadata(dict(source.metadata))
        if sse_c.stored_key_md5(source):
            _store_as_sse_c(replica, sse_c.stored_key_md5(source))  # the same customer key
        tags = source_backend.tagger.get_tag_dict_for_resource(source.arn)
        if tags and with_tags:
            dest_backend.put_object_tagging(replica, tags)
        setattr(replica, STATUS_ATTRIBUTE, REPLICA)
        # S3 notifies the destination bucket's s3:ObjectCreated:* configurations for replicas.
        notifications.send_event(dest_backend.account_id, "s3:ObjectCreated:Put", dest_bucket, replica)
        return replica

    @staticmethod
    def _replica_of(source: FakeKey, destination: str) -> FakeKey | None:
        _, dest_bucket = _find_bucket(destination)
        return _find_version(dest_bucket, source.name, source.version_id) if dest_bucket else None

    def _remove_replica(self, source: FakeKey, destination: str) -> None:
        if self._replica_of(source, destination) is not None:
            dest_backend, _ = _find_bucket(destination)
            dest_backend.delete_object(destination, source.name, source.version_id)

    def _write_delete_marker(self, source: FakeDeleteMarker, destination: str) -> FakeDeleteMarker:
        dest_backend, dest_bucket = _find_bucket(destination)
        current = dest_bucket.keys.get(source.name)
        replica = FakeDeleteMarker.__new__(FakeDeleteMarker)
        replica.key = current if current is not None else source.key
        replica.name = source.name
        replica.last_modified = source.last_modified
        replica._version_id = source.version_id  # same version id as in the source
        dest_bucket.keys[source.name] = replica  # appended as the newest version, like moto does
        return replica


def _store_as_sse_c(key: FakeKey, key_md5: str) -> None:
    """An SSE-C version: S3 names no other server-side encryption for it."""
    setattr(key, sse_c.KEY_MD5_ATTRIBUTE, key_md5)
    key.encryption = None
    key.kms_key_id = None
    key.bucket_key_enabled = None
