"""`make demo`: the auditor against a local two-account world, the way a user would see it.

1. starts the local world (moto + replication engine) on a free loopback port;
2. builds the classic pair (acme-screenshots -> acme-screenshots-replica) and the same pair with
   the classic mistake (acme-reports -> acme-reports-replica, bucket policy naming account B's own
   id where account A's belongs);
3. uploads a few "screenshots" and a report;
4. runs the auditor (the real binary, `invoke`) on the S3 notifications the world queued in SQS —
   once right away (objects still PENDING: handed back to SQS), once after replication;
5. runs it on a sample event from events/, `check`s one object, and reconciles the broken pair's
   S3 Inventory reports into verdicts and a re-drive manifest;
   (before the uploads: `doctor --offline` catches the how-to author's bucket-name principal,
   which AWS refuses, and live `doctor` checks both pairs: PASS, and a FAIL naming the principal)
6. prints the findings, the metrics as CloudWatch holds them, and the alert that was sent;
7. stops the world.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from world import scenario  # noqa: E402
from world.accounts import SOURCE  # noqa: E402

BINARY = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "replication-auditor")
SCREENSHOTS = [
    "Screen Shot 2026-11-24 at 10.15.03.png",
    "Screen Shot 2026-11-24 at 10.16.44.png",
    "team/offsite photo #1 (café).jpg",
]
REPORT = "monthly report November.pdf"


def heading(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 86 - len(text)))


def start_world() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "world", "--scenario", "classic", "--replication-delay", "1.5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("READY "):
        process.kill()
        sys.exit(f"the local world did not start: {line!r}")
    return process, line.split(" ", 1)[1]


def auditor_env(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUDITOR_"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": SOURCE.access_key_id,
            "AWS_SECRET_ACCESS_KEY": SOURCE.secret_access_key,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AUDITOR_DESTINATION_ROLE_ARN": f"arn:aws:iam::222222222222:role/{scenario.AUDIT_ROLE}",
            "AUDITOR_EXTERNAL_ID": scenario.EXTERNAL_ID,
            "AUDITOR_ALERT_TOPIC_ARN": f"arn:aws:sns:us-east-1:{SOURCE.account_id}:{scenario.ALERT_TOPIC}",
            "AUDITOR_PENDING_WAIT_SECONDS": "0",
            "RUST_LOG": "warn",
        }
    )
    return env


def run_auditor(url: str, *args: str) -> tuple[int, str]:
    result = subprocess.run([BINARY, *args], env=auditor_env(url), capture_output=True, text=True)
    return result.returncode, result.stdout


def invoke(url: str, event: dict) -> tuple[int, dict]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(event, handle)
    try:
        code, stdout = run_auditor(url, "invoke", "--event", handle.name)
    finally:
        os.unlink(handle.name)
    return code, json.loads(stdout)


def show_report(code: int, report: dict) -> None:
    rows = [("VERDICT", "OBJECT", "VERSION", "DESTINATION")]
    details = []
    for f in report["findings"]:
        version = (f["version_id"] or "-")[:8]
        rows.append((f["verdict"].upper() if f["alarming"] else f["verdict"], f"{f['source_bucket']}/{f['key']}", version, f["destination_bucket"] or "-"))
        details.append(f)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
    for f in details:
        if f["alarming"]:
            print(textwrap.fill(f"  ! {f['key']}: {f['detail']['reason']}", 100, subsequent_indent="      "))
            if f["detail"]["remediation"]:
                print(textwrap.fill(f"    fix: {f['detail']['remediation']}", 100, subsequent_indent="      "))
    for skip in report["skipped"]:
        print(f"  skipped: {skip['reason']}")
    counts = ", ".join(f"{v} {n}" for v, n in report["counts"].items() if n)
    print(f"  counts: {counts or 'nothing audited'}   exit code: {code}")
    if "batchItemFailures" in report:
        ids = [f["itemIdentifier"] for f in report["batchItemFailures"]]
        print(f"  batchItemFailures (SQS delivers these again): {len(ids)} message(s)")


def sqs_event(url: str, handed_back: list[dict] | None = None) -> dict:
    """The messages the world queued, shaped as Lambda's SQS event (plus ones handed back)."""
    sqs = scenario.client("sqs", url, SOURCE)
    queue = sqs.get_queue_url(QueueName=scenario.EVENT_QUEUE)["QueueUrl"]
    records = list(handed_back or [])
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            records.append(
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:us-east-1:{SOURCE.account_id}:{scenario.EVENT_QUEUE}",
                    "awsRegion": "us-east-1",
                }
            )
    return {"Records": records}


def show_metrics(url: str) -> None:
    cloudwatch = scenario.client("cloudwatch", url, SOURCE)
    now = datetime.datetime.now(datetime.timezone.utc)
    metrics = cloudwatch.list_metrics(Namespace="S3ReplicationAuditor")["Metrics"]
    rows = []
    seen = set()
    for metric in metrics:
        dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        identity = (metric["MetricName"], tuple(sorted(dims.items())))
        if "DestinationBucket" not in dims or identity in seen:
            continue
        seen.add(identity)
        points = cloudwatch.get_metric_statistics(
            Namespace="S3ReplicationAuditor",
            MetricName=metric["MetricName"],
            Dimensions=metric["Dimensions"],
            StartTime=now - datetime.timedelta(hours=1),
            EndTime=now + datetime.timedelta(minutes=5),
            Period=3600,
            Statistics=["Sum", "Maximum"],
        )["Datapoints"]
        value = sum(p["Sum"] for p in points)
        if metric["MetricName"] == "ReplicationLag":
            value = max((p["Maximum"] for p in points), default=0)
            rows.append((metric["MetricName"], dims["SourceBucket"], dims["DestinationBucket"], f"{value:.1f}s (max)"))
        elif value:
            rows.append((metric["MetricName"], dims["SourceBucket"], dims["DestinationBucket"], f"{value:g}"))
    rows.sort()
    print(f"  {'METRIC':<16}{'SourceBucket':<20}{'DestinationBucket':<28}VALUE (Sum over the last hour)")
    for row in rows:
        print(f"  {row[0]:<16}{row[1]:<20}{row[2]:<28}{row[3]}")
    print("  (every count is also published with SourceBucket alone; zero counts are published but not shown)")


def show_alerts(url: str) -> None:
    """What each subscriber of the alert topic received (the world's SNS records every delivery):
    the e-mail text, the Amazon Q Developer chat notification, the JSON an SQS consumer gets."""
    import urllib.parse
    import urllib.request

    topic = f"arn:aws:sns:us-east-1:{SOURCE.account_id}:{scenario.ALERT_TOPIC}"
    query = urllib.parse.urlencode({"topic": topic})
    with urllib.request.urlopen(f"{url}/_world/sns-deliveries?{query}") as response:
        deliveries = json.load(response)
    if not deliveries:
        print("  (no alert was sent)")
    for delivery in deliveries:
        protocol = delivery["protocol"]
        if protocol == "email":
            print(f"  E-mail to {delivery['endpoint']} — Subject: {delivery['subject']}")
            for line in delivery["message"].splitlines():
                print(textwrap.fill(line, 100, initial_indent="  | ", subsequent_indent="  |      ") if line else "  |")
        elif protocol == "https":
            verdict = "accepted" if delivery.get("accepted") else f"DROPPED ({delivery.get('reason')})"
            notification = json.loads(json.loads(delivery["message"])["Message"])
            print(f"  Chat (Amazon Q Developer, {verdict}): thread {notification['metadata']['threadId']}")
            print(f"  | {notification['content']['title']}")
            for line in notification["content"]["description"].splitlines():
                print(f"  | {line[:120]}")
            for step in notification["content"].get("nextSteps", []):
                print(f"  | next: {step[:120]}")
        elif protocol == "sqs":
            data = json.loads(json.loads(delivery["message"])["Message"])
            causes = ", ".join(f"{c['verdict']} {c.get('code') or ''} x{c['count']}".replace("  ", " ") for c in data["causes"])
            print(f"  SQS consumer (JSON): {len(data['causes'])} cause(s): {causes}")
        print()


def main() -> int:
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is missing: run `make demo` (it builds it)")
    heading("Starting the local AWS world (moto + replication engine, accounts 111111111111 and 222222222222)")
    world, url = start_world()
    try:
        print(f"  {url}")
        print("  acme-screenshots (A) -> acme-screenshots-replica (B): the classic how-to, done right")
        print("  acme-reports     (A) -> acme-reports-replica     (B): bucket policy names arn:aws:iam::222222222222:root")
        print("                                                        (account B's own id where account A's belongs)")
        show_doctor(url)

        s3 = scenario.client("s3", url, SOURCE)
        heading("Uploading screenshots and a report")
        for key in SCREENSHOTS:
            s3.put_object(Bucket=scenario.HEALTHY_SOURCE, Key=key, Body=b"\x89PNG demo " + key.encode(), ContentType="image/png")
            print(f"  s3://{scenario.HEALTHY_SOURCE}/{key}")
        s3.put_object(Bucket=scenario.BROKEN_SOURCE, Key=REPORT, Body=b"%PDF-1.7 demo", ContentType="application/pdf")
        print(f"  s3://{scenario.BROKEN_SOURCE}/{REPORT}")

        heading("Run 1: the S3 notifications from SQS, right after the upload")
        first_event = sqs_event(url)
        code, report = invoke(url, first_event)
        show_report(code, report)
        handed_back_ids = {f["itemIdentifier"] for f in report.get("batchItemFailures", [])}
        handed_back = [r for r in first_event["Records"] if r["messageId"] in handed_back_ids]

        heading("Replication happens (the engine copies, or fails like S3 does)")
        urllib_drain(url)
        time.sleep(0.2)
        print("  done")

        heading("Run 2: SQS redelivers what was handed back, plus S3's replication failure event")
        code, report = invoke(url, sqs_event(url, handed_back))
        show_report(code, report)

        heading("Run 3: the sample event events/manual.json")
        with open(os.path.join(ROOT, "events", "manual.json"), encoding="utf-8") as handle:
            code, report = invoke(url, json.load(handle))
        show_report(code, report)

        heading(f"replication-auditor check s3://{scenario.BROKEN_SOURCE}/{REPORT}")
        code, table = run_auditor(url, "check", f"s3://{scenario.BROKEN_SOURCE}/{REPORT}")
        for line in table.splitlines():
            print(textwrap.fill(line, 160, initial_indent="  ", subsequent_indent="      "))
        print(f"  exit code: {code}")

        show_reconcile(url)

        heading("Metrics, as CloudWatch holds them (namespace S3ReplicationAuditor)")
        show_metrics(url)

        heading("Alerts, as each subscriber of the SNS topic received them (grouped by cause)")
        show_alerts(url)

        show_alarm_board(url)
    finally:
        world.terminate()
        world.wait(timeout=10)
        heading("Local world stopped")
    return 0


def show_doctor(url: str) -> None:
    """`doctor --offline` on the how-to author's own policy before it is pasted, what AWS (and
    the world) says when it is, then live `doctor` on both pairs."""
    from world.accounts import DESTINATION

    heading("Before applying: doctor --offline on the how-to's bucket policy (its author's own mistake)")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        handle.write(scenario.howto_author_policy())
    try:
        code, table = run_auditor(
            url, "doctor", "--offline", "--bucket-policy", handle.name,
            "--source-account", SOURCE.account_id, "--destination-account", DESTINATION.account_id,
            "--source-bucket", scenario.BROKEN_SOURCE, "--destination-bucket", scenario.BROKEN_DESTINATION,
        )
    finally:
        os.unlink(handle.name)
    print_doctor(table, code)
    s3_b = scenario.client("s3", url, DESTINATION)
    try:
        s3_b.put_bucket_policy(Bucket=scenario.BROKEN_DESTINATION, Policy=scenario.howto_author_policy())
        print("  PutBucketPolicy accepted it (unexpected)")
    except s3_b.exceptions.ClientError as error:
        print(f"  and PutBucketPolicy, as on AWS: {error.response['Error']['Code']}: {error.response['Error']['Message']}")

    for source in (scenario.HEALTHY_SOURCE, scenario.BROKEN_SOURCE):
        heading(f"replication-auditor doctor --source-bucket {source}")
        code, table = run_auditor(url, "doctor", "--source-bucket", source)
        print_doctor(table, code)


def print_doctor(table: str, code: int) -> None:
    """The FAIL lines with their fixes, and a count of the rest (the full table: run it)."""
    lines = table.splitlines()
    shown = 0
    for index, line in enumerate(lines):
        if line.startswith("FAIL"):
            shown += 1
            print(textwrap.fill(line, 160, initial_indent="  ", subsequent_indent="      "))
            for follow in lines[index + 1:]:
                if follow[:4] in ("PASS", "WARN", "FAIL") or follow.split(" ", 1)[0].isdigit():
                    break
                print("  " + follow)
    counts = {status: sum(1 for line in lines if line.startswith(status)) for status in ("PASS", "WARN", "FAIL")}
    print(f"  {counts['PASS']} PASS, {counts['WARN']} WARN, {counts['FAIL']} FAIL   exit code: {code}")


def show_reconcile(url: str) -> None:
    """What already exists: S3 Inventory reports of the broken pair (written by the world as S3
    writes them), reconciled into verdicts and a re-drive manifest for S3 Batch Replication."""
    import urllib.parse
    import urllib.request

    reports = "acme-inventory-reports"
    scenario.client("s3", url, SOURCE).create_bucket(Bucket=reports)
    manifests = []
    for bucket in (scenario.BROKEN_SOURCE, scenario.BROKEN_DESTINATION):
        query = urllib.parse.urlencode({"bucket": bucket, "destination": reports, "format": "CSV", "prefix": "inventory"})
        request = urllib.request.Request(f"{url}/_world/inventory?{query}", method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            manifests.append(f"s3://{reports}/{json.loads(response.read())['manifest_key']}")
    heading("replication-auditor reconcile: the broken pair's S3 Inventory reports")
    print(f"  source:      {manifests[0]}")
    print(f"  destination: {manifests[1]}")
    redrive = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
    redrive.close()
    try:
        code, table = run_auditor(
            url, "reconcile", "--source-manifest", manifests[0], "--destination-manifest", manifests[1],
            "--redrive-manifest", redrive.name,
        )
        for line in table.splitlines():
            print(textwrap.fill(line, 160, initial_indent="  ", subsequent_indent="      "))
        print(f"  exit code: {code}")
        with open(redrive.name, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        print(f"  re-drive manifest for S3 Batch Replication ({len(lines)} line(s), bucket,key,version):")
        for line in lines:
            print(f"    {line}")
    finally:
        os.unlink(redrive.name)


def show_alarm_board(url: str) -> None:
    """The alarms of infra/auditor.yaml (one stack per source bucket), evaluated now by the world."""
    import urllib.request

    heading("Alarm board (CloudWatch alarms from infra/auditor.yaml, evaluated by the world now)")
    with urllib.request.urlopen(url + "/_world/alarms?evaluate=1", timeout=30) as response:
        board = json.loads(response.read())
    order = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}
    for entry in sorted(board, key=lambda e: (order.get(e["state"], 3), e["name"])):
        print(f"  {entry['state']:<18}{entry['name']}")
        if entry["state"] != "OK":
            print(textwrap.fill(entry["reason"], 100, initial_indent="      ", subsequent_indent="      "))
            print(textwrap.fill(entry["description"] or "", 100, initial_indent="      ", subsequent_indent="      "))
    firing = sum(1 for e in board if e["state"] == "ALARM")
    print(f"  {firing} of {len(board)} alarms in ALARM")


def urllib_drain(url: str) -> None:
    import urllib.request

    request = urllib.request.Request(url + "/_world/drain?timeout=30", method="POST")
    with urllib.request.urlopen(request, timeout=40) as response:
        if not json.loads(response.read())["drained"]:
            sys.exit("replication did not finish in time")


if __name__ == "__main__":
    sys.exit(main())
