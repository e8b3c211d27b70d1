"""The baseline: a straightforward boto3 replication auditor, the Python a competent team would
write for the same job — module-level clients reused across invocations, one AssumeRole per
container, a thread pool, for each object the source HEAD then the destination HEAD, a PENDING
object re-checked every second inside the invocation (up to AUDITOR_PENDING_WAIT_SECONDS,
default 10), one PutMetricData per invocation, one SNS message. Same environment variables as
the Rust auditor (the subset it needs). Used only by `make bench`.

    python benches/baseline_auditor.py EVENT.json        # prints the JSON report, like `invoke`
    python benches/baseline_auditor.py --batches FILE    # one warm container: every event in the
                                                         # JSON list FILE, one invocation each;
                                                         # prints per-invocation wall and CPU
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4},
    s3={"addressing_style": "path"} if os.environ.get("AWS_ENDPOINT_URL") else {},
)
S3 = boto3.client("s3", config=CONFIG)
CLOUDWATCH = boto3.client("cloudwatch", config=CONFIG)
SNS = boto3.client("sns", config=CONFIG)
NAMESPACE = os.environ.get("AUDITOR_METRICS_NAMESPACE", "S3ReplicationAuditorBaseline")
LATE_AFTER = int(os.environ.get("AUDITOR_LATE_AFTER_SECONDS", "900"))
PENDING_WAIT = float(os.environ.get("AUDITOR_PENDING_WAIT_SECONDS", "10"))
_destination_s3 = None
_destination_lock = threading.Lock()
_rules: dict[str, list] = {}


def destination_s3():
    global _destination_s3
    with _destination_lock:
        return _destination_s3 or _assume()


def _assume():
    global _destination_s3
    if _destination_s3 is None:
        role = os.environ.get("AUDITOR_DESTINATION_ROLE_ARN")
        if not role:
            _destination_s3 = S3
        else:
            credentials = boto3.client("sts").assume_role(
                RoleArn=role, RoleSessionName="replication-auditor", ExternalId=os.environ.get("AUDITOR_EXTERNAL_ID", "")
            )["Credentials"]
            _destination_s3 = boto3.client(
                "s3",
                config=CONFIG,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
    return _destination_s3


def objects(event):
    """(bucket, key, version) from S3, SQS-wrapped S3 or manual events."""
    if "objects" in event:
        for o in event["objects"]:
            yield o["bucket"], o["key"], o.get("version_id")
        return
    if "bucket" in event:
        yield event["bucket"], event["key"], event.get("version_id")
        return
    for record in event.get("Records", []):
        if "body" in record:
            yield from objects(json.loads(record["body"]))
        elif record.get("eventName", "").startswith("ObjectCreated:"):
            o = record["s3"]["object"]
            yield record["s3"]["bucket"]["name"], unquote_plus(o["key"]), o.get("versionId")


def destinations(bucket, key):
    if os.environ.get("AUDITOR_DESTINATION_BUCKET"):
        return [os.environ["AUDITOR_DESTINATION_BUCKET"]]
    if bucket not in _rules:
        try:
            _rules[bucket] = S3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
        except ClientError:
            _rules[bucket] = []
    found = []
    for rule in _rules[bucket]:
        prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
        if rule["Status"] == "Enabled" and key.startswith(prefix):
            found.append(rule["Destination"]["Bucket"].split(":::")[-1])
    return found


def head(client, bucket, key, version):
    kwargs = {"Bucket": bucket, "Key": key}
    if version:
        kwargs["VersionId"] = version
    try:
        return client.head_object(**kwargs), None
    except ClientError as error:
        return None, error.response["ResponseMetadata"]["HTTPStatusCode"]


def audit(obj):
    bucket, key, version = obj
    source, code = head(S3, bucket, key, version)
    waited = 0.0
    while source is not None and source.get("ReplicationStatus") == "PENDING" and waited < PENDING_WAIT:
        time.sleep(1.0)
        waited += 1.0
        source, code = head(S3, bucket, key, version)
    if source is None:
        return [{"source_bucket": bucket, "key": key, "verdict": "source_gone" if code == 404 else "error"}]
    status = source.get("ReplicationStatus")
    if status is None:
        return [{"source_bucket": bucket, "key": key, "verdict": "unreplicated"}]
    findings = []
    for destination in destinations(bucket, key):
        replica, code = head(destination_s3(), destination, key, source.get("VersionId"))
        if replica is not None:
            same = replica.get("VersionId") == source.get("VersionId") and replica["ContentLength"] == source["ContentLength"]
            verdict = "replicated" if same else "mismatch"
        elif code == 403:
            verdict = "error"
        elif status in ("COMPLETED", "COMPLETE"):
            verdict = "missing"
        elif status == "FAILED":
            verdict = "failed"
        else:
            age = (datetime.now(timezone.utc) - source["LastModified"]).total_seconds()
            verdict = "late" if age > LATE_AFTER else "pending"
        findings.append({"source_bucket": bucket, "key": key, "destination_bucket": destination, "verdict": verdict})
    return findings


def handler(event, context=None):
    with ThreadPoolExecutor(max_workers=int(os.environ.get("AUDITOR_MAX_CONCURRENCY", "16"))) as pool:
        findings = [f for group in pool.map(audit, objects(event)) for f in group]
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding["verdict"]] = counts.get(finding["verdict"], 0) + 1
    if findings:
        CLOUDWATCH.put_metric_data(
            Namespace=NAMESPACE,
            MetricData=[{"MetricName": verdict, "Value": n, "Unit": "Count"} for verdict, n in counts.items()],
        )
    alarming = [f for f in findings if f["verdict"] not in ("replicated", "pending", "source_gone")]
    topic = os.environ.get("AUDITOR_ALERT_TOPIC_ARN")
    if alarming and topic:
        SNS.publish(TopicArn=topic, Subject=f"{len(alarming)} objects need attention", Message=json.dumps(alarming)[:200000])
    return {"findings": findings, "counts": counts}


if __name__ == "__main__":
    if sys.argv[1] == "--batches":
        with open(sys.argv[2], encoding="utf-8") as handle:
            batches = json.load(handle)
        runs = []
        for event in batches:
            wall, cpu = time.perf_counter(), time.process_time()
            report = handler(event)
            runs.append({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "counts": report["counts"]})
        print(json.dumps(runs))
    else:
        with open(sys.argv[1], encoding="utf-8") as handle:
            print(json.dumps(handler(json.load(handle))))
