"""S3 replication on top of moto, the way S3 does it (user guide: "Replicating objects
within and across Regions", "Getting replication status information", "Replicating delete
markers between buckets").

moto stores a bucket's replication configuration but never replicates. This engine keeps the
configuration exactly as it was PUT (moto's own copy loses the V2 `Filter`) and models:

Objects. Every object version written to a bucket (PUT, POST, copy, multipart complete) is
matched against the rules with the tags it was written with (`x-amz-tagging`): per destination
bucket the covering rule with the highest `Priority` applies (a disabled one means: not
replicated there). A version no rule covers gets no replication status at all. A covered version
is PENDING at once (HEAD/GET show `x-amz-replication-status`); after `delay` seconds it is
replicated to each destination one by one. For each destination the engine checks what S3 checks
— bucket exists, is versioned, the replication role exists in the source account and, across
accounts, the destination bucket policy allows `s3:ReplicateObject` to the source account or the
role — and either copies the version (same key, body, metadata, content type, ETag, tags,
version id and Last-Modified: S3 keeps "the original object creation times and version IDs")
as a REPLICA, or records S3's failure reason and sends `s3:Replication:OperationFailedReplication`.
The source is PENDING while any destination is not done, FAILED if any destination failed (the
replicas already written elsewhere stay), COMPLETED only when every destination succeeded.
S3 sends the destination bucket's `s3:ObjectCreated:*` notification for the replica. A replica
(status REPLICA) is never replicated onward, so two buckets can replicate to each other.

Delete markers. A DELETE without a version id in a versioned source bucket creates a delete
marker (and S3's `s3:ObjectRemoved:DeleteMarkerCreated` notification). It is replicated only
when the rule that applies has `DeleteMarkerReplication` `Enabled` (V1 rules, without `Filter`,
always replicate delete markers; rules with tag filters never do — S3 does not support
delete-marker replication for them). Replication writes a delete marker with the same version id
and Last-Modified into the destination; across accounts it needs `s3:ReplicateDelete` in the
destination bucket policy, else it fails with `DstDelObjNotPermitted` and an
`OperationFailedReplication` event whose `s3Operation` is `DELETE_MARKER_PUT`. Deletes of a
specific version are never replicated (S3 does not replicate them).

Deterministic faults (`faults.Faults`, per destination) can keep a version PENDING, FAIL it, or
report it done while the replica is never written or is deleted afterwards.

It hooks moto at three points, all pinned to the moto version in requirements.txt:
`S3Backend.put_object` (every write path ends there), `S3Backend._set_delete_marker` (DELETE
and multi-object delete without version ids) and `FakeKey.response_dict` (headers of HEAD/GET).
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

from . import cloudwatch, notifications
from .faults import Faults

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
INJECTED_FAILURE = "DstPutObjectNotPermitted"  # what an injected failure reports

# replicationEventData.s3Operation. AWS's published sample event only shows "OBJECT_PUT" (object
# replication); the exact string S3 uses for delete-marker replication is not in that sample, so
# "DELETE_MARKER_PUT" is this world's choice for it.
OBJECT_PUT = "OBJECT_PUT"
DELETE_MARKER_PUT = "DELETE_MARKER_PUT"

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

    def covers(self, key: str, object_tags: dict[str, str]) -> bool:
        if not key.startswith(self.prefix):
            return False
        return all(object_tags.get(k) == v for k, v in self.tags.items())


@dataclass(frozen=True)
class ReplicationConfiguration:
    raw_xml: bytes
    role_arn: str
    rules: tuple[Rule, ...]

    def rules_for(self, key: str, object_tags: dict[str, str]) -> list[Rule]:
        """The rule that applies per destination: highest priority among covering rules."""
        chosen: dict[str, Rule] = {}
        for rule in self.rules:
            if not rule.covers(key, object_tags):
                continue
            current = chosen.get(rule.destination_bucket)
            if current is None or rule.priority > current.priority:
                chosen[rule.destination_bucket] = rule
        return [rule for rule in chosen.values() if rule.enabled]

    def delete_marker_rules_for(self, key: str) -> list[Rule]:
        """The rules under which a delete marker for `key` is replicated, one per destination.

        A delete marker has no tags, so only rules without a tag filter can cover it."""
        return [rule for rule in self.rules_for(key, {}) if rule.delete_markers and not rule.tags]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


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
    delete_marker: bool = field(default=False, compare=False)


class ReplicationEngine:
    """Marks covered writes PENDING and replicates them on a background thread after `delay`."""

    def __init__(self, delay: float, faults: Faults):
        self.delay = delay
        self.faults = faults
        self._configs: dict[str, ReplicationConfiguration] = {}
        # (source bucket, key, version id) -> {destination bucket: (status, failure reason)}
        self._destinations: dict[tuple[str, str, str], dict[str, tuple[str, str | None]]] = {}
        self._written = threading.local()
        self._internal = threading.local()
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
            return {"error": "NoSuchKey"}
        latest = versions[-1]
        destinations = self._destinations.get((bucket, key, latest.version_id), {})
        reasons = [reason for _, reason in destinations.values() if reason]
        return {
            "version_id": latest.version_id,
            "delete_marker": isinstance(latest, FakeDeleteMarker),
            "status": getattr(latest, STATUS_ATTRIBUTE, None),
            "failure_reason": reasons[0] if reasons else None,
            "destinations": {
                name: {"status": status, "failure_reason": reason} for name, (status, reason) in destinations.items()
            },
        }

    # --- hooks -----------------------------------------------------------------------------
    def _install_moto_hooks(self) -> None:
        engine = self
        notifications.install()
        cloudwatch.install()
        if getattr(S3Backend.put_object, "_world_hooked", False):
            raise RuntimeError("the replication engine is already installed in this process")
        original_put = S3Backend.put_object
        original_set_delete_marker = S3Backend._set_delete_marker
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

        def response_dict(key):
            headers = original_response_dict.fget(key)
            status = getattr(key, STATUS_ATTRIBUTE, None)
            if status:
                headers["x-amz-replication-status"] = status
            return headers

        S3Backend.put_object = put_object
        S3Backend._set_delete_marker = set_delete_marker
        FakeKey.response_dict = property(response_dict)

    def note_written(self, bucket: str, key) -> None:
        """Called inside moto for every stored object version or delete marker; acted on when the
        request ends."""
        if getattr(self._internal, "active", False):
            return
        written = getattr(self._written, "keys", None)
        if written is None:
            written = self._written.keys = []
        written.append((bucket, key))

    def request_finished(self) -> None:
        """Marks this request's writes PENDING and schedules them (tags are set by now)."""
        written = getattr(self._written, "keys", None) or []
        self._written.keys = []
        for bucket, key in written:
            backend, bucket_obj = _find_bucket(bucket)
            if backend is None:
                continue
            # The bucket's owner, not the caller's account (an unsigned POST lands in moto's default).
            account_id = backend.account_id
            delete_marker = isinstance(key, FakeDeleteMarker)
            if delete_marker:
                # S3 sends this whether or not the marker is replicated (moto never sends it).
                notifications.send_event(account_id, "s3:ObjectRemoved:DeleteMarkerCreated", bucket_obj, key)
            config = self._configs.get(bucket)
            if config is None:
                continue
            if delete_marker:
                rules = config.delete_marker_rules_for(key.name)
            else:
                rules = config.rules_for(key.name, backend.tagger.get_tag_dict_for_resource(key.arn))
            if not rules:
                continue
            if not delete_marker:
                setattr(key, STATUS_ATTRIBUTE, PENDING)
            job = _Job(
                due=time.monotonic() + self.delay + self.faults.replication_delay(bucket, key.name),
                seq=next(self._seq),
                account_id=account_id,
                bucket=bucket,
                key=key.name,
                version_id=key.version_id,
                role_arn=config.role_arn,
                rules=rules,
                delete_marker=delete_marker,
            )
            with self._cond:
                self._destinations[(bucket, key.name, key.version_id)] = {
                    rule.destination_bucket: (PENDING, None) for rule in rules
                }
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
                if job.delete_marker:
                    self._replicate_delete_marker(job)
                else:
                    self._replicate(job)
            except Exception:  # a bug here must not kill the engine thread
                LOG.exception("replication of %s/%s failed inside the engine", job.bucket, job.key)
            finally:
                self._internal.active = False
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _set_destination(self, job: _Job, destination: str, status: str, reason: str | None = None) -> None:
        with self._cond:
            self._destinations.setdefault((job.bucket, job.key, job.version_id), {})[destination] = (status, reason)

    def _source_status(self, job: _Job) -> str:
        """S3's source status over all destinations: PENDING until every destination is done,
        then FAILED if any failed, else COMPLETED."""
        with self._cond:
            statuses = [status for status, _ in self._destinations[(job.bucket, job.key, job.version_id)].values()]
        if PENDING in statuses:
            return PENDING
        return FAILED if FAILED in statuses else COMPLETED

    def _replicate(self, job: _Job) -> None:
        source_backend = s3_backends[job.account_id][PARTITION]
        bucket = source_backend.buckets.get(job.bucket)
        source = _find_version(bucket, job.key, job.version_id) if bucket else None
        if source is None:
            return  # deleted before replication: nothing to do
        for rule in job.rules:  # one destination after the other, as S3 does
            destination = rule.destination_bucket
            fault = self.faults.replication_fault(job.bucket, job.key, destination)
            if fault == "stay_pending":
                continue
            reason = INJECTED_FAILURE if fault == "fail" else self._destination_problem(job, rule)
            if reason:
                self._fail(job, source, bucket, rule, reason, OBJECT_PUT)
                continue
            if fault != "complete_without_replica":
                self._write_replica(source_backend, source, destination)
                if fault == "delete_replica":
                    dest_backend, _ = _find_bucket(destination)
                    dest_backend.delete_object(destination, source.name, source.version_id)
            self._set_destination(job, destination, COMPLETED)
        setattr(source, STATUS_ATTRIBUTE, self._source_status(job))

    def _replicate_delete_marker(self, job: _Job) -> None:
        source_backend = s3_backends[job.account_id][PARTITION]
        bucket = source_backend.buckets.get(job.bucket)
        marker = _find_version(bucket, job.key, job.version_id, FakeDeleteMarker) if bucket else None
        if marker is None:
            return  # the delete marker was removed before replication
        for rule in job.rules:
            reason = self._destination_problem(job, rule, delete_marker=True)
            if reason:
                self._fail(job, marker, bucket, rule, reason, DELETE_MARKER_PUT)
                continue
            self._write_delete_marker(marker, rule.destination_bucket)
            self._set_destination(job, rule.destination_bucket, COMPLETED)

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
                "requestTime": source.last_modified_ISO8601,
                "failureReason": reason,
            },
        )

    def _destination_problem(self, job: _Job, rule: Rule, delete_marker: bool = False) -> str | None:
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
        action = "s3:ReplicateDelete" if delete_marker else "s3:ReplicateObject"
        if dest_backend.account_id != job.account_id and not policy_allows_replication(
            dest_bucket.policy, job.account_id, job.role_arn, rule.destination_bucket, job.key, action
        ):
            return DST_DEL_OBJ_NOT_PERMITTED if delete_marker else DST_PUT_OBJECT_NOT_PERMITTED
        return None

    def _write_replica(self, source_backend, source: FakeKey, destination: str) -> FakeKey:
        dest_backend, dest_bucket = _find_bucket(destination)
        replica = dest_backend.put_object(
            destination,
            source.name,
            source.value,
            storage=source.storage_class,
            etag=source.etag.strip('"'),
            disable_notification=True,
        )
        replica._version_id = source.version_id
        replica.last_modified = source.last_modified  # S3 keeps the original creation time
        replica.set_metadata(dict(source.metadata))
        tags = source_backend.tagger.get_tag_dict_for_resource(source.arn)
        if tags:
            dest_backend.put_object_tagging(replica, tags)
        setattr(replica, STATUS_ATTRIBUTE, REPLICA)
        # S3 notifies the destination bucket's s3:ObjectCreated:* configurations for replicas.
        notifications.send_event(dest_backend.account_id, "s3:ObjectCreated:Put", dest_bucket, replica)
        return replica

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
