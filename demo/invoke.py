"""`make invoke EVENT=events/sqs-s3.json`: the function run locally the way Lambda runs it.

Starts the local world (the classic bucket pairs), then the real binary under a Lambda Runtime
API (`world/lambda_runtime.py`: the runtime loop, the deadline header, the response or error
post) with the deployed function's environment, invokes it once with the event file, and prints
what Lambda would answer — the response JSON, or the function error with its `errorType` — and
the function's own log (JSON lines, as CloudWatch Logs would show them).

The objects an event names (S3 and EventBridge records, SQS and SNS wrapping them, manual
payloads, Batch Operations tasks) are first written into the world's bucket they name, when
that bucket exists there, and the event's version ids are replaced by the new objects' (a
version id is S3's to choose): the verdicts are then about objects that exist, replicated as
the pair replicates them. `KEEP_EVENT=1` sends the event untouched (its objects are then
unknown to the world: `not_found` for manual payloads, `source_gone` for S3 events).
"""

from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from urllib.parse import unquote_plus  # noqa: E402

from run_demo import BINARY, auditor_env, start_world  # noqa: E402
from world import scenario  # noqa: E402
from world.accounts import SOURCE  # noqa: E402
from world.lambda_runtime import Runtime  # noqa: E402


def with_world_objects(event, s3) -> tuple[object, list[str]]:
    """The event with each object it names written into the world (when its bucket exists)
    and its version id replaced by the written one's; also what was written."""
    written: list[str] = []
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}

    def put(bucket: str, key: str) -> str | None:
        if bucket not in buckets:
            return None
        version = s3.put_object(Bucket=bucket, Key=key, Body=b"written by make invoke")["VersionId"]
        written.append(f"s3://{bucket}/{key} (version {version})")
        return version

    def walk(value):
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                inner = json.loads(value)
            except ValueError:
                return value
            return json.dumps(walk(inner))
        if isinstance(value, list):
            return [walk(v) for v in value]
        if not isinstance(value, dict):
            return value
        value = {k: walk(v) for k, v in value.items()}
        s3_part = value.get("s3") if isinstance(value.get("s3"), dict) else None
        if s3_part and "object" in s3_part and "bucket" in s3_part:  # an S3 event record
            obj = s3_part["object"]
            version = put(s3_part["bucket"].get("name", ""), unquote_plus(obj.get("key", "")))
            if version:
                obj["versionId"] = version
        elif value.get("source") == "aws.s3" and isinstance(value.get("detail"), dict):  # EventBridge
            detail = value["detail"]
            version = put(detail.get("bucket", {}).get("name", ""), detail.get("object", {}).get("key", ""))
            if version:
                detail["object"]["version-id"] = version
        elif "s3Key" in value:  # a Batch Operations task (keys URL-encoded)
            bucket = value.get("s3Bucket") or str(value.get("s3BucketArn", "")).rsplit(":", 1)[-1]
            version = put(bucket, unquote_plus(value["s3Key"]))
            if version:
                value["s3VersionId"] = version
        elif "bucket" in value and "key" in value and isinstance(value["bucket"], str):  # manual
            version = put(value["bucket"], value["key"])
            if version:
                value.pop("versionId", None)
                value["version_id"] = version
        return value

    return walk(event), written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make invoke EVENT=events/sqs-s3.json [TIMEOUT_MS=60000]", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        event = json.load(handle)
    world, url = start_world()
    try:
        if os.environ.get("KEEP_EVENT") != "1":
            s3 = scenario.client("s3", url, SOURCE)
            event, written = with_world_objects(event, s3)
            for line in written:
                print(f"--- wrote {line} into the world ---", file=sys.stderr)
            # Replication runs in the background: let it finish, as minutes would on AWS.
            import urllib.request

            urllib.request.urlopen(f"{url}/_world/drain?timeout=15").read()
        env = auditor_env(url)
        # As the template sets it: inside Lambda the bucket allow-list is required.
        env["AUDITOR_SOURCE_BUCKETS"] = f"{scenario.HEALTHY_SOURCE},{scenario.BROKEN_SOURCE}"
        env.pop("AUDITOR_PENDING_WAIT_SECONDS", None)
        env.pop("RUST_LOG", None)
        with Runtime([BINARY], env) as runtime:
            result = runtime.invoke(event, timeout_ms=int(os.environ.get("TIMEOUT_MS", "60000")))
        print(f"--- function log ({len(runtime.stderr) + len(runtime.stdout)} bytes) ---", file=sys.stderr)
        sys.stderr.write(runtime.stdout.decode(errors="replace"))
        sys.stderr.write(runtime.stderr.decode(errors="replace"))
        if result.status == "error":
            print(f"--- function error ({result.error_type}), {result.wall_seconds * 1000:.0f} ms ---", file=sys.stderr)
        else:
            print(f"--- response, {result.wall_seconds * 1000:.0f} ms ---", file=sys.stderr)
        print(json.dumps(result.body, indent=2, ensure_ascii=False))
        return 0 if result.status == "response" else 1
    finally:
        world.terminate()
        world.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
