"""Writes the bad-input corpus: one file per case in tests/corpus/cases/ and expected.json, which
says what each case must produce (a human's intent, not the auditor's output):
  {"audit": n, "skip": n, "reject": n}  handled: n distinct objects audited, n skipped, n rejected
  "error"                                 the handler refuses the whole payload (unknown shape)
  "invalid_json"                          not JSON at all: the CLI refuses the file (exit 2)
Run `python3 tests/corpus/generate.py` after changing a case; tests/corpus.rs replays them all.
The auditor under test watches acme-screenshots and acme-reports only (AUDITOR_SOURCE_BUCKETS).
"""

import json
import os
import shutil
import unicodedata
from urllib.parse import quote_plus

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
cases: dict[str, tuple[object, object]] = {}


def ok(audit=0, skip=0, reject=0):
    return {"audit": audit, "skip": skip, "reject": reject}


def record(name="ObjectCreated:Put", bucket="acme-screenshots", key="a.png", version="v1", **overrides):
    r = {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-24T10:00:00.000Z", "eventName": name,
        "userIdentity": {"principalId": "AWS:X"}, "requestParameters": {"sourceIPAddress": "203.0.113.1"},
        "responseElements": {},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "X"}, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": key, "size": 1, "eTag": "e", "versionId": version, "sequencer": "1"}},
    }
    for path, value in overrides.items():
        target = r
        *parents, last = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is DELETE:
            target.pop(last, None)
        else:
            target[last] = value
    return r


DELETE = object()


class Raw(str):
    """A case written to its file as it is, not as JSON."""


def s3(*records):
    return {"Records": list(records)}


def sqs(*bodies):
    return {"Records": [{"messageId": f"m{i}", "receiptHandle": "h", "body": b if isinstance(b, str) else json.dumps(b),
                         "eventSource": "aws:sqs", "awsRegion": "us-east-1"} for i, b in enumerate(bodies)]}


def sns(*messages):
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": m if isinstance(m, str) else json.dumps(m)}} for m in messages]}


def eventbridge(detail_type="Object Created", source="aws.s3", detail=None):
    return {"version": "0", "id": "1", "detail-type": detail_type, "source": source, "account": "111111111111",
            "time": "2026-11-24T10:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail if detail is not None else {"bucket": {"name": "acme-screenshots"}, "object": {"key": "a.png", "version-id": "v1"}}}


def case(name, payload, expected):
    assert name not in cases, name
    cases[name] = (payload, expected)


# --- malformed JSON (raw text) ---------------------------------------------------------------
for i, text in enumerate(['{"Records": [', "", "   ", "{'Records': []}", '{"Records": [],}', "Records", "NaN",
                          '{"a": 1} {"b": 2}', '{"Records": [{"s3": }]}', "\ufeff{}garbage", '{"key": "unterminated}']):
    case(f"json-malformed-{i:02}", Raw(text), "invalid_json")

# --- not an object / unknown shapes -----------------------------------------------------------
for i, value in enumerate([[], [1, 2], "a string", 42, True, None]):
    case(f"shape-not-object-{i:02}", value, "error")
for i, value in enumerate([{}, {"hello": "world"}, {"Records": "nope"}, {"Records": 7}, {"Event": "s3:SomethingElse"}, {"detail": {}}]):
    case(f"shape-unknown-{i:02}", value, "error")

# --- wrong types -------------------------------------------------------------------------------
wrong_types = {
    "records-items-numbers": (s3(1, 2), ok(reject=2)),
    "s3-is-string": (s3(record(s3="text")), ok(reject=1)),
    "bucket-name-number": (s3(record(s3__bucket__name=5)), ok(reject=1)),
    "object-key-number": (s3(record(s3__object__key=5)), ok(reject=1)),
    "event-time-garbage": (s3(record(eventTime="yesterday")), ok(reject=1)),
    "event-name-number": (s3(record(eventName=3)), ok(reject=1)),
    "size-string": (s3(record(s3__object__size="big")), ok(reject=1)),
    "version-number": (s3(record(s3__object__versionId=12)), ok(reject=1)),
    "sqs-body-number": ({"Records": [{"messageId": "m", "body": 5, "eventSource": "aws:sqs"}]}, ok(reject=1)),
    "sqs-body-json-string": (sqs(json.dumps("just a string")), ok(reject=1)),
    "sqs-body-array": (sqs([1, 2]), ok(reject=1)),
    "sns-message-object": ({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": {"Records": []}}}]}, ok(reject=1)),
    "eventbridge-detail-string": (eventbridge(detail="text"), ok(reject=1)),
    "manual-key-number": ({"bucket": "acme-screenshots", "key": 7}, ok(reject=1)),
    "manual-bucket-null": ({"bucket": None, "key": "k"}, ok(reject=1)),
    "manual-objects-not-array": ({"objects": {"bucket": "acme-screenshots"}}, ok(reject=1)),
    "manual-objects-entry-number": ({"objects": [1]}, ok(reject=1)),
    "response-elements-null": (s3(record(responseElements=None)), ok(audit=1)),
}
for name, (payload, expected) in wrong_types.items():
    case(f"type-{name}", payload, expected)

# --- missing fields ------------------------------------------------------------------------------
missing = {
    "s3": (s3(record(s3=DELETE)), ok(reject=1)),
    "bucket-name": (s3(record(s3__bucket__name=DELETE)), ok(reject=1)),
    "object-key": (s3(record(s3__object__key=DELETE)), ok(reject=1)),
    "event-time": (s3(record(eventTime=DELETE)), ok(reject=1)),
    "event-name": (s3(record(eventName=DELETE)), ok(reject=1)),
    "user-identity": (s3(record(userIdentity=DELETE, requestParameters=DELETE)), ok(audit=1)),
    "version-id": (s3(record(s3__object__versionId=DELETE)), ok(audit=1)),
    "sqs-body": ({"Records": [{"messageId": "m", "eventSource": "aws:sqs"}]}, ok(reject=1)),
    "sqs-message-id": ({"Records": [{"body": json.dumps(s3(record())), "eventSource": "aws:sqs"}]}, ok(audit=1)),
    "sns-message": ({"Records": [{"EventSource": "aws:sns", "Sns": {}}]}, ok(reject=1)),
    "sns-notification-message": (sqs({"Type": "Notification"}), ok(reject=1)),
    "eventbridge-bucket": (eventbridge(detail={"object": {"key": "a"}}), ok(reject=1)),
    "eventbridge-key": (eventbridge(detail={"bucket": {"name": "acme-screenshots"}}), ok(reject=1)),
    "eventbridge-source": ({"detail-type": "Object Created", "detail": {}}, ok(reject=1)),
    "manual-key": ({"bucket": "acme-screenshots"}, ok(reject=1)),
    "manual-bucket": ({"objects": [{"key": "k"}]}, ok(reject=1)),
}
for name, (payload, expected) in missing.items():
    case(f"missing-{name}", payload, expected)

# --- empty ------------------------------------------------------------------------------------------
case("empty-records", {"Records": []}, ok())
case("empty-sqs-body-records", sqs({"Records": []}), ok(skip=1))
case("empty-manual-objects", {"objects": []}, ok())

# --- event names -------------------------------------------------------------------------------------
for i, name in enumerate(["ObjectCreated", "Foo:Bar", "s3:Unknown:Thing", "ObjectCreated-Put", "objectcreated:put", " ObjectCreated:Put"]):
    case(f"event-unknown-{i:02}", s3(record(name=name)), ok(skip=1))
case("event-replication-unknown", s3(record(name="Replication:OperationSomethingNew")), ok(skip=1))
case("event-empty-name", s3(record(name="")), ok(reject=1))
for name in ["ObjectCreated:Put", "s3:ObjectCreated:Copy", "ObjectCreated:CompleteMultipartUpload", "ObjectCreated:Post"]:
    case(f"event-created-{name.split(':')[-1].lower()}{'-prefixed' if name.startswith('s3:') else ''}", s3(record(name=name)), ok(audit=1))
for name in ["ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated", "ObjectRestore:Post", "ObjectRestore:Completed",
             "ObjectRestore:Delete", "LifecycleExpiration:Delete", "LifecycleExpiration:DeleteMarkerCreated", "LifecycleTransition",
             "IntelligentTiering", "ReducedRedundancyLostObject"]:
    case(f"event-skipped-{name.replace(':', '-').lower()}", s3(record(name=name)), ok(skip=1))
# Tag and ACL changes replicate after the object: audited (the tag sets compared).
for name in ["ObjectTagging:Put", "ObjectTagging:Delete", "ObjectAcl:Put"]:
    case(f"event-metadata-{name.replace(':', '-').lower()}", s3(record(name=name)), ok(audit=1))
for kind in ["OperationFailedReplication", "OperationMissedThreshold", "OperationReplicatedAfterThreshold", "OperationNotTracked"]:
    case(f"event-replication-{kind.lower()}", s3(record(name=f"Replication:{kind}", replicationEventData={"failureReason": "DstBucketNotFound"})), ok(audit=1))
case("event-replication-no-data", s3(record(name="Replication:OperationFailedReplication")), ok(audit=1))

# --- keys ---------------------------------------------------------------------------------------------
def enc(key):
    return quote_plus(key, safe="/")

keys = {
    "1024-bytes": (enc("k" * 1024), ok(audit=1)),
    "1025-bytes": (enc("k" * 1025), ok(reject=1)),
    "1023-bytes-multibyte": (enc("é" * 511 + "a"), ok(audit=1)),
    "1026-bytes-multibyte": (enc("€" * 342), ok(reject=1)),
    "lone-percent": ("100%", ok(reject=1)),
    "percent-bad-hex": ("a%G1b", ok(reject=1)),
    "percent-truncated": ("a%2", ok(reject=1)),
    "invalid-utf8": ("%FF%FE", ok(reject=1)),
    "overlong-utf8": ("%C0%AF", ok(reject=1)),
    "empty": ("", ok(reject=1)),
    "plus-is-space": ("a+b", ok(audit=1)),
    "encoded-plus": ("a%2Bb", ok(audit=1)),
    "encoded-space": ("a%20b", ok(audit=1)),
    "nfc": (enc(unicodedata.normalize("NFC", "café/Å.png")), ok(audit=1)),
    "nfd": (enc(unicodedata.normalize("NFD", "café/Å.png")), ok(audit=1)),
    "emoji": (enc("📸 shot.png"), ok(audit=1)),
    "control-chars": (enc("line\nbreak\ttab"), ok(audit=1)),
    "nul-byte": ("a%00b", ok(audit=1)),
    "only-slash": ("/", ok(audit=1)),
    "encoded-slash": ("a%2Fb", ok(audit=1)),
    "dots": ("../../etc/passwd", ok(audit=1)),
    "lowercase-hex": ("caf%c3%a9", ok(audit=1)),
    "xml-specials": (enc("<a>&\"'</a>"), ok(audit=1)),
}
for name, (raw, expected) in keys.items():
    case(f"key-{name}", s3(record(key=raw)), expected)
case("key-nfc-and-nfd-are-two-objects", s3(record(key=enc(unicodedata.normalize("NFC", "é"))), record(key=enc(unicodedata.normalize("NFD", "é")))), ok(audit=2))
case("key-plus-and-encoded-plus-are-two-objects", s3(record(key="a+b"), record(key="a%2Bb")), ok(audit=2))
case("key-manual-1025-bytes", {"bucket": "acme-screenshots", "key": "k" * 1025}, ok(reject=1))
case("key-eventbridge-bad-percent", eventbridge(detail={"bucket": {"name": "acme-screenshots"}, "object": {"key": "%zz"}}), ok(reject=1))

# --- version ids ---------------------------------------------------------------------------------------
case("version-null", s3(record(s3__object__versionId=None)), ok(audit=1))
case("version-empty", s3(record(version="")), ok(audit=1))
case("version-literal-null", s3(record(version="null")), ok(audit=1))
case("version-manual-null", {"bucket": "acme-screenshots", "key": "k", "version_id": None}, ok(audit=1))
case("version-same-key-two-versions", s3(record(version="v1"), record(version="v2")), ok(audit=2))

# --- buckets -------------------------------------------------------------------------------------------
case("bucket-not-watched", s3(record(bucket="someone-elses-bucket")), ok(skip=1))
case("bucket-not-watched-manual", {"bucket": "someone-elses-bucket", "key": "k"}, ok(skip=1))
case("bucket-watched-and-not", s3(record(bucket="acme-reports"), record(bucket="other-bucket")), ok(audit=1, skip=1))
case("bucket-empty-name", s3(record(bucket="")), ok(reject=1))

# --- nesting, mixing, duplicates ------------------------------------------------------------------------
case("sqs-sns-test-event", sqs({"Type": "Notification", "Message": json.dumps({"Event": "s3:TestEvent"})}), ok(skip=1))
case("sqs-sns-sns-s3", sqs({"Type": "Notification", "Message": json.dumps({"Type": "Notification", "Message": json.dumps(s3(record()))})}), ok(reject=1))
case("sqs-eventbridge", sqs(eventbridge()), ok(audit=1))
case("sqs-manual", sqs({"bucket": "acme-screenshots", "key": "k"}), ok(audit=1))
case("sqs-mixed-good-and-bad", sqs(s3(record(key="good")), "not json", s3(record(key="%zz")), {"Event": "s3:TestEvent"}), ok(audit=1, skip=1, reject=2))
case("sqs-duplicate-messages", sqs(s3(record()), s3(record())), ok(audit=1))
case("sqs-multi-record-body", sqs(s3(record(key="one"), record(key="two"), record(name="ObjectRemoved:Delete"))), ok(audit=2, skip=1))
case("sqs-deep-nesting", sqs("[" * 5000 + "]" * 5000), ok(reject=1))
case("sns-with-s3", sns(s3(record())), ok(audit=1))
case("sns-not-json", sns("plain text"), ok(reject=1))
case("eventbridge-other-source", eventbridge(source="aws.ec2"), ok(reject=1))
case("eventbridge-object-deleted", eventbridge(detail_type="Object Deleted"), ok(skip=1))
case("eventbridge-tags-added", eventbridge(detail_type="Object Tags Added"), ok(audit=1))
case("s3-test-event-top-level", {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "acme-screenshots"}, ok(skip=1))
case("s3-duplicate-records", s3(record(), record()), ok(audit=1))
case("s3-mixed-valid-invalid", s3(record(key="ok"), 5, record(s3=DELETE), record(name="ObjectRemoved:Delete")), ok(audit=1, skip=1, reject=2))
case("huge-number-size", s3(record(s3__object__size=10**30)), ok(reject=1))
case("unicode-escapes-in-json", Raw('{"bucket": "acme-screenshots", "key": "\\u00e9\\ud83d\\udcf8"}'), ok(audit=1))
case("lone-surrogate-escape", Raw('{"bucket": "acme-screenshots", "key": "\\ud800"}'), "invalid_json")
case("extra-unknown-fields", s3(record(somethingNew={"nested": [1, 2, 3]})), ok(audit=1))


def main():
    shutil.rmtree(CASES, ignore_errors=True)
    os.makedirs(CASES)
    expected = {}
    for name, (payload, outcome) in sorted(cases.items()):
        path = os.path.join(CASES, f"{name}.json")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(payload if isinstance(payload, Raw) else json.dumps(payload, ensure_ascii=False))
        expected[f"{name}.json"] = outcome
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as handle:
        json.dump(expected, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print(f"{len(cases)} cases written to {CASES}")


if __name__ == "__main__":
    main()
