"""S3 replication on top of moto, the way S3 does it (user guide: "Replication status information").

moto stores a bucket's replication configuration but never replicates. This engine keeps the
configuration exactly as it was PUT (moto's own copy loses the V2 `Filter`), and for every object
written to a bucket (PUT, POST, copy, multipart complete) whose configuration has a rule covering
the key it:
  1. marks the new version PENDING at once (HEAD/GET show `x-amz-replication-status: PENDING`);
  2. after `delay` seconds checks the destination the way S3 would — bucket exists, is versioned,
     the replication role exists in the source account, and (cross-account) the destination
     bucket policy allows `s3:ReplicateObject` to the source account — and either copies the
     version (same key, body, metadata, content type, ETag, tags, version id) marking the source
     COMPLETED and the replica REPLICA, or marks the source FAILED with S3's failure reason code.
Deterministic faults (`faults.Faults`) can keep a key PENDING, FAIL it, or report COMPLETED while
the replica is never written or is deleted afterwards.

It hooks moto at two points, both pinned to the moto version in requirements.txt:
`S3Backend.put_object` (every write path ends there) and `FakeKey.response_dict` (headers of
HEAD/GET).
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
from moto.s3.models import FakeKey, S3Backend, s3_backends

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
INJECTED_FAILURE = "DstPutObjectNotPermitted"  # what an injected failure reports

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
        rules.append(
            Rule(
                rule_id=_text(rule_el, "ID") or f"rule-{index}",
                priority=int(priority_text) if priority_text else 0,
                enabled=_text(rule_el, "Status") == "Enabled",
                prefix=prefix,
                tags=tags,
                destination_bucket=bucket_arn.rsplit(":", 1)[-1],
                destination_account=_text(destination, "Account") or None,
            )
        )
    return ReplicationConfiguration(raw_xml=raw_xml, role_arn=_text(root, "Role"), rules=tuple(rules))


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_allows_replication(
    policy: bytes | str | None, source_account: str, role_arn: str, destination_bucket: str, key: str
) -> bool:
    """Whether a destination bucket policy lets the source account replicate `key` into it."""
    if not policy:
        return False
    document = json.loads(policy)
    resource = f"arn:aws:s3:::{destination_bucket}/{key}"
    principals_of_source = {source_account, f"arn:aws:iam::{source_account}:root", role_arn}
    allowed = False
    for statement in _as_list(document.get("Statement")):
        actions = [a.lower() for a in _as_list(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase("s3:replicateobject", a) for a in actions):
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


def _find_version(bucket, key_name: str, version_id: str) -> FakeKey | None:
    for candidate in bucket.keys.getlist(key_name, []):
        if isinstance(candidate, FakeKey) and candidate.version_id == version_id:
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


class ReplicationEngine:
    """Marks covered writes PENDING and replicates them on a background thread after `delay`."""

    def __init__(self, delay: float, faults: Faults):
        self.delay = delay
        self.faults = faults
        self._configs: dict[str, ReplicationConfiguration] = {}
        self._failures: dict[tuple[str, str, str], str] = {}
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
        versions = bucket_obj.keys.getlist(key, [])
        found = [v for v in versions if isinstance(v, FakeKey)]
        if version_id:
            found = [v for v in found if v.version_id == version_id]
        if not found:
            return {"error": "NoSuchKey"}
        latest = found[-1]
        return {
            "version_id": latest.version_id,
            "status": getattr(latest, STATUS_ATTRIBUTE, None),
            "failure_reason": self._failures.get((bucket, key, latest.version_id)),
        }

    # --- hooks -----------------------------------------------------------------------------
    def _install_moto_hooks(self) -> None:
        engine = self
        notifications.install()
        cloudwatch.install()
        if getattr(S3Backend.put_object, "_world_hooked", False):
            raise RuntimeError("the replication engine is already installed in this process")
        original_put = S3Backend.put_object
        original_response_dict = FakeKey.response_dict

        def put_object(backend, bucket_name, key_name, *args, **kwargs):
            key = original_put(backend, bucket_name, key_name, *args, **kwargs)
            engine.note_written(bucket_name, key)
            return key

        put_object._world_hooked = True  # type: ignore[attr-defined]

        def response_dict(key):
            headers = original_response_dict.fget(key)
            status = getattr(key, STATUS_ATTRIBUTE, None)
            if status:
                headers["x-amz-replication-status"] = status
            return headers

        S3Backend.put_object = put_object
        FakeKey.response_dict = property(response_dict)

    def note_written(self, bucket: str, key: FakeKey) -> None:
        """Called inside moto for every stored object version; acted on when the request ends."""
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
            config = self._configs.get(bucket)
            backend, _ = _find_bucket(bucket)
            if config is None or backend is None:
                continue
            # The bucket's owner, not the caller's account (an unsigned POST lands in moto's default).
            account_id = backend.account_id
            tags = backend.tagger.get_tag_dict_for_resource(key.arn)
            rules = config.rules_for(key.name, tags)
            if not rules:
                continue
            setattr(key, STATUS_ATTRIBUTE, PENDING)
            job = _Job(
                due=time.monotonic() + self.delay,
                seq=next(self._seq),
                account_id=account_id,
                bucket=bucket,
                key=key.name,
                version_id=key.version_id,
                role_arn=config.role_arn,
                rules=rules,
            )
            with self._cond:
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
                self._replicate(job)
            except Exception:  # a bug here must not kill the engine thread
                LOG.exception("replication of %s/%s failed inside the engine", job.bucket, job.key)
            finally:
                self._internal.active = False
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _replicate(self, job: _Job) -> None:
        source_backend = s3_backends[job.account_id][PARTITION]
        bucket = source_backend.buckets.get(job.bucket)
        source = _find_version(bucket, job.key, job.version_id) if bucket else None
        if source is None:
            return  # deleted before replication: nothing to do
        fault = self.faults.replication_fault(job.bucket, job.key)
        if fault == "stay_pending":
            return
        if fault == "fail":
            self._fail(job, source, bucket, job.rules[0], INJECTED_FAILURE)
            return
        for rule in job.rules:
            reason = self._destination_problem(job, rule)
            if reason:
                self._fail(job, source, bucket, rule, reason)
                return
        if fault != "complete_without_replica":
            for rule in job.rules:
                replica = self._write_replica(source_backend, source, rule.destination_bucket)
                if fault == "mismatch_replica":
                    replica.value = source.value + b" (altered in the destination)"
                    replica._etag = None
                if fault == "delete_replica":
                    dest_backend, _ = _find_bucket(rule.destination_bucket)
                    dest_backend.delete_object(rule.destination_bucket, source.name, source.version_id)
        setattr(source, STATUS_ATTRIBUTE, COMPLETED)

    def _fail(self, job: _Job, source: FakeKey, bucket, rule: Rule, reason: str) -> None:
        self._failures[(job.bucket, job.key, job.version_id)] = reason
        setattr(source, STATUS_ATTRIBUTE, FAILED)
        LOG.info("replication FAILED %s/%s (%s): %s", job.bucket, job.key, job.version_id, reason)
        notifications.send_replication_event(
            job.account_id,
            bucket,
            source,
            "OperationFailedReplication",
            {
                "replicationRuleId": rule.rule_id,
                "destinationBucket": f"arn:aws:s3:::{rule.destination_bucket}",
                "s3Operation": "OBJECT_PUT",
                "requestTime": source.last_modified_ISO8601,
                "failureReason": reason,
            },
        )

    def _destination_problem(self, job: _Job, rule: Rule) -> str | None:
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
            dest_bucket.policy, job.account_id, job.role_arn, rule.destination_bucket, job.key
        ):
            return DST_PUT_OBJECT_NOT_PERMITTED
        return None

    def _write_replica(self, source_backend, source: FakeKey, destination: str) -> FakeKey:
        dest_backend, _ = _find_bucket(destination)
        replica = dest_backend.put_object(
            destination,
            source.name,
            source.value,
            storage=source.storage_class,
            etag=source.etag.strip('"'),
            disable_notification=True,
        )
        replica._version_id = source.version_id
        replica.set_metadata(dict(source.metadata))
        tags = source_backend.tagger.get_tag_dict_for_resource(source.arn)
        if tags:
            dest_backend.put_object_tagging(replica, tags)
        setattr(replica, STATUS_ATTRIBUTE, REPLICA)
        return replica
