"""Deterministic fault injection for the local world.

A fault is a JSON object; a list of them is loaded from `--faults FILE` at start-up or posted to
`POST /_world/faults` at run time (`DELETE /_world/faults` clears them). Matching fields:
  bucket       exact bucket name (optional: any bucket)
  key_regex    Python regular expression searched in the object key (optional: any key)
  operation    operation name, e.g. "HeadObject", "AssumeRole", "PutMetricData", "Publish"
               (request faults only; optional: any S3 operation)
  destination  destination bucket name (replication faults only; optional: every destination).
               With several destinations S3 replicates to each one separately, so a fault can
               hit one destination while the others replicate normally.
Replication faults apply to object versions, per destination:
  stay_pending              the destination never gets the version; the source stays PENDING
                            (S3 keeps the source PENDING until every destination is done). It
                            also keeps a later tag change's replication PENDING.
  fail                      replication to the destination FAILS with `reason` (default
                            DstPutObjectNotPermitted); the source turns FAILED once the other
                            destinations are done
  complete_without_replica  the destination counts as done (source COMPLETED) but no replica is
                            written
  delete_replica            the replica is written, then that version is deleted again in the
                            destination (someone deleted it there after replication)
  delay                     the version waits `seconds` longer before it is replicated (large
                            objects, a busy destination): PENDING, then replicated as usual;
                            the replication of its tag changes waits as long
`reason` (fail faults only) is one of S3's replication failure reasons (world/failure_codes.py,
every code of the user guide's table); its class decides what fails:
  object, batch_only  the object version: no replica, destination FAILED (batch_only codes are
                      sent as asked although live replication never sends them)
  metadata            the version's data replicates (the replica is written, same version id)
                      but its metadata does not: OperationFailedReplication, destination FAILED.
                      A tags code writes the replica without its tags. DstVersionNotFound means
                      the replica is not there: the world writes none (or removes it).
                      Metadata codes about tags (or any metadata) also fail the replication of a
                      later tag change (PutObjectTagging / DeleteObjectTagging) of the version.
  delete_marker       delete markers: the fault applies to delete markers (and only to them),
                      which then fail with that reason; no other fault touches delete markers.
There is no fault that alters a replica's body: S3 never rewrites a stored version, so a HEAD by
version id finds the replica as it was replicated, or nothing.
  throttle                  the first `count` matching requests are throttled (S3: `503 SlowDown`,
                            query APIs such as STS, CloudWatch, SNS: `400 Throttling`)
  deny                      matching requests get `403 AccessDenied` (the first `count`, or all)
  unavailable               matching requests get `503 ServiceUnavailable` (the first `count`, or all)
Request faults without an `operation` match S3 requests only; with one, any service's.
The first matching fault of a kind wins; throttle faults are used up request by request.
"""

from __future__ import annotations

import re
import threading

from .failure_codes import DELETE_MARKER, FAILURE_CODES, METADATA, failure_class, is_about_tags

REPLICATION_FAULTS = ("stay_pending", "fail", "complete_without_replica", "delete_replica")
REQUEST_FAULTS = ("throttle", "deny", "unavailable")
SCHEDULING_FAULTS = ("delay",)
KINDS = REPLICATION_FAULTS + REQUEST_FAULTS + SCHEDULING_FAULTS
DEFAULT_FAIL_REASON = "DstPutObjectNotPermitted"

# What a replication fault is asked about: an object version's first replication, a delete
# marker's, or the replication of a later tag change of a version (its metadata).
OBJECT_VERSION = "object"
DELETE_MARKER_VERSION = "delete_marker"
TAG_CHANGE = "metadata"


class FaultError(ValueError):
    """A fault definition that cannot be used; the message says which field is wrong."""


def _validate(raw: dict) -> dict:
    if not isinstance(raw, dict):
        raise FaultError(f"a fault must be a JSON object, got {raw!r}")
    kind = raw.get("fault")
    if kind not in KINDS:
        raise FaultError(f"unknown fault {kind!r}; expected one of {', '.join(KINDS)}")
    unknown = set(raw) - {"fault", "bucket", "key_regex", "operation", "count", "destination", "seconds", "reason"}
    if unknown:
        raise FaultError(f"unknown fault fields {sorted(unknown)}")
    fault = dict(raw)
    try:
        fault["_regex"] = re.compile(raw.get("key_regex") or "")
    except re.error as error:
        raise FaultError(f"key_regex {raw.get('key_regex')!r} is not a regular expression: {error}") from error
    if "destination" in raw and (kind not in REPLICATION_FAULTS or not isinstance(raw["destination"], str)):
        raise FaultError("`destination` (a bucket name) applies to replication faults only")
    if kind == "delay" and not (isinstance(raw.get("seconds"), (int, float)) and raw["seconds"] >= 0):
        raise FaultError("a delay fault needs `seconds`, a number >= 0")
    if kind != "delay" and "seconds" in raw:
        raise FaultError("`seconds` applies to delay faults only")
    if "reason" in raw and kind != "fail":
        raise FaultError("`reason` applies to fail faults only")
    if kind == "fail":
        reason = raw.get("reason", DEFAULT_FAIL_REASON)
        if not isinstance(reason, str) or reason not in FAILURE_CODES:
            raise FaultError(
                f"`reason` {reason!r} is not one of S3's replication failure reasons: {', '.join(FAILURE_CODES)}"
            )
        fault["reason"] = reason
    if kind == "throttle" and "count" not in raw:
        raise FaultError("a throttle fault needs a positive integer `count`")
    if kind in REQUEST_FAULTS:
        count = raw.get("count", -1)
        if not isinstance(count, int) or count == 0 or count < -1:
            raise FaultError(f"a {kind} fault's `count` must be a positive integer")
        fault["count"] = count
    return fault


def _applies(fault: dict, subject: str) -> bool:
    """Whether a replication fault touches `subject` (see the module docstring)."""
    kind = fault["fault"]
    reason_class = failure_class(fault["reason"]) if kind == "fail" else None
    if subject == DELETE_MARKER_VERSION:
        return reason_class == DELETE_MARKER
    if subject == TAG_CHANGE:
        return kind == "stay_pending" or (reason_class == METADATA and is_about_tags(fault["reason"]))
    return reason_class != DELETE_MARKER


class Faults:
    """The active faults, shared by the engine (replication faults) and the middleware (throttle)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[dict] = []

    def add(self, raw) -> int:
        new = [_validate(item) for item in (raw if isinstance(raw, list) else [raw])]
        with self._lock:
            self._faults.extend(new)
        return len(new)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe(self) -> list[dict]:
        with self._lock:
            return [{k: v for k, v in f.items() if not k.startswith("_")} for f in self._faults]

    @staticmethod
    def _matches(fault: dict, bucket: str | None, key: str | None) -> bool:
        if fault.get("bucket") and fault["bucket"] != bucket:
            return False
        if fault.get("key_regex"):
            return key is not None and fault["_regex"].search(key) is not None
        return True

    def replication_fault(
        self, bucket: str, key: str, destination: str | None = None, subject: str = OBJECT_VERSION
    ) -> str | None:
        """The replication fault (its kind) for replicating `bucket`/`key` into `destination`."""
        found = self.replication_failure(bucket, key, destination, subject)
        return found[0] if found else None

    def replication_failure(
        self, bucket: str, key: str, destination: str | None = None, subject: str = OBJECT_VERSION
    ) -> tuple[str, str | None] | None:
        """(kind, failure reason) of the first replication fault that applies to `subject`
        (OBJECT_VERSION, DELETE_MARKER_VERSION or TAG_CHANGE); the reason is set for fail faults."""
        with self._lock:
            for fault in self._faults:
                if fault["fault"] not in REPLICATION_FAULTS or not self._matches(fault, bucket, key):
                    continue
                if fault.get("destination") and fault["destination"] != destination:
                    continue
                if _applies(fault, subject):
                    return fault["fault"], fault.get("reason")
        return None

    def replication_delay(self, bucket: str, key: str) -> float:
        """Extra seconds before `bucket`/`key` is replicated (the first matching delay fault)."""
        with self._lock:
            for fault in self._faults:
                if fault["fault"] == "delay" and self._matches(fault, bucket, key):
                    return float(fault["seconds"])
        return 0.0

    def take_request_fault(self, service: str, operation: str, bucket: str | None, key: str | None) -> str | None:
        """The request fault to answer with; uses up one of its `count` (-1 never runs out)."""
        with self._lock:
            for fault in self._faults:
                if fault["fault"] not in REQUEST_FAULTS or fault["count"] == 0:
                    continue
                if fault.get("operation") and fault["operation"] != operation:
                    continue
                if not fault.get("operation") and service != "s3":
                    continue
                if self._matches(fault, bucket, key):
                    if fault["count"] > 0:
                        fault["count"] -= 1
                    return fault["fault"]
        return None
