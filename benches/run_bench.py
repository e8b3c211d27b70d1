"""`make bench`: what the user pays, for the Rust auditor and a boto3 baseline, against the local world.

Every ratio is computed within this one run (timings on a shared 2-core machine are noisy;
ratios measured together are what we compare). Exits 1 when a budget is missed.

  the bill      the same SQS batches of 10 S3 notifications (10% of the objects still PENDING at
                first look, replicated 3 s later) fed to each auditor as Lambda runs it: the
                Rust binary under a Lambda Runtime API (world/lambda_runtime.py, one warm
                container), the baseline as one warm Python container. The world answers S3 in
                15 ms and STS in 30 ms, like AWS. API calls counted at the world; billed
                duration per invocation modelled at 128 MB arm64; dollars per million audited
                objects from the dated price table below, beside the floor.
  cold start    wall time exec -> response for one object, fresh process; peak RSS (VmHWM)
  CPU / object  (user+sys CPU of a 1,000-object run - of a 1-object run) / 999; HEADs per
                healthy object counted at the world in that run
  micro         criterion (benches/core.rs): decode + verdict + metrics per object, no network
  artefact      `cargo lambda build --release` zip (x86_64)

The billed-duration model: Lambda bills wall time; at 128 MB a function gets 128/1769 of a
vCPU (memory and CPU are allocated in proportion, a full vCPU at 1,769 MB), so the CPU time
measured here on a full core stretches by 1769/128 ≈ 13.8 while waiting on the network does
not: billed_ms = ceil(wall_ms + cpu_ms * (1769/128 - 1)).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from world import scenario  # noqa: E402
from world.accounts import SOURCE  # noqa: E402

TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BINARY = os.path.join(TARGET, "lambda", "replication-auditor", "bootstrap")
ZIP = os.path.join(TARGET, "lambda", "replication-auditor", "bootstrap.zip")
BASELINE = [sys.executable, os.path.join(ROOT, "benches", "baseline_auditor.py")]
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "7"))
CPU_RUNS = int(os.environ.get("BENCH_CPU_RUNS", "3"))
BATCH = int(os.environ.get("BENCH_BATCH", "10000"))

BILL_OBJECTS = int(os.environ.get("BENCH_BILL_OBJECTS", "500"))
PENDING_SHARE = 0.10
PENDING_SECONDS = 3
LATENCY = {"s3": 0.015, "sts": 0.030, "monitoring": 0.015, "sns": 0.015, "sqs": 0.015}
CPU_STRETCH = 1769 / 128

# us-east-1 list prices (USD) as used on 2026-11-25 (AWS pricing pages for S3, Lambda, SQS,
# CloudWatch, SNS); requests are per request, Lambda compute per GB-second on arm64.
PRICES = {
    "s3 GET-class request (HEAD, GetObjectTagging, GetBucketReplication)": 0.0004 / 1000,
    "lambda request": 0.20 / 1_000_000,
    "lambda GB-second (arm64)": 0.0000133334,
    "sqs request (standard)": 0.40 / 1_000_000,
    "cloudwatch PutMetricData request": 0.01 / 1000,
    "cloudwatch logs ingestion per GB": 0.50,
    "sns publish": 0.50 / 1_000_000,
}

# (name, value, budget, "max" | "min")
BUDGETS = [
    ("HEADs per healthy replicated object", "heads_healthy", 1.1),
    ("seconds of sleep billed per invocation (max wall of a PENDING invocation, s)", "pending_wall", 0.5),
    ("cost / floor", "cost_floor_ratio", 1.25),
    ("cost / boto3 baseline", "cost_baseline_ratio", 1 / 3),
    ("cold start ratio", "cold_ratio", 1 / 15),
    ("peak RSS ratio", "rss_ratio", 1 / 4),
    ("CPU per object ratio", "cpu_ratio", 1 / 4),
    ("zip MB", "zip_mb", 5.0),
]


def control(url: str, path: str, method: str = "GET") -> dict:
    with urllib.request.urlopen(urllib.request.Request(url + path, method=method), timeout=120) as response:
        return json.loads(response.read())


def start_world():
    process = subprocess.Popen(
        [sys.executable, "-m", "world", "--scenario", "classic", "--replication-delay", "0.1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("READY "):
        sys.exit(f"the local world did not start: {line!r}")
    return process, line.split(" ", 1)[1]


def upload(url: str, prefix: str, count: int) -> list[dict]:
    """Creates `count` replicated objects in the healthy pair (world bulk endpoint: PUT speed is
    not what is measured here)."""
    query = urllib.parse.urlencode({"bucket": scenario.HEALTHY_SOURCE, "prefix": prefix, "count": count})
    created = control(url, f"/_world/bulk-put?{query}", "POST")
    return [{"bucket": scenario.HEALTHY_SOURCE, "key": o["key"], "version_id": o["version_id"]} for o in created]


def environment(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUDITOR_", "RUST_LOG"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": SOURCE.access_key_id,
            "AWS_SECRET_ACCESS_KEY": SOURCE.secret_access_key, "AWS_EC2_METADATA_DISABLED": "true",
            "AUDITOR_DESTINATION_ROLE_ARN": f"arn:aws:iam::222222222222:role/{scenario.AUDIT_ROLE}",
            "AUDITOR_EXTERNAL_ID": scenario.EXTERNAL_ID, "AUDITOR_PENDING_WAIT_SECONDS": "0", "RUST_LOG": "warn",
        }
    )
    return env


def peak_rss_kb(pid: int, peak: list[int], done: threading.Event) -> None:
    """Follows /proc/PID/status VmHWM (the program's own high-water mark after exec). wait4's
    ru_maxrss cannot be used: it counts the forked copy of this Python process before exec."""
    path = f"/proc/{pid}/status"
    while not done.is_set():
        try:
            with open(path, encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
        except (OSError, ValueError):
            return
        time.sleep(0.001)


def run(command: list[str], event_path: str, env: dict) -> dict:
    """Runs one auditor process: wall time and CPU from the kernel (wait4), peak RSS from VmHWM."""
    started = time.perf_counter()
    process = subprocess.Popen([*command, event_path], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak, done = [0], threading.Event()
    watcher = threading.Thread(target=peak_rss_kb, args=(process.pid, peak, done))
    watcher.start()
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    watcher.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    report = json.loads(stdout)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": peak[0] / 1024, "report": report}


MEMORY_GB = 128 / 1024


def write_event(objects: list[dict] | None, payload=None) -> str:
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"objects": objects} if payload is None else payload, handle)
    handle.close()
    return handle.name


def criterion_ns_per_object() -> float | None:
    result = subprocess.run(
        ["cargo", "bench", "--locked", "--bench", "core", "--", "--output-format", "bencher"],
        cwd=ROOT, capture_output=True, text=True,
    )
    match = re.search(r"handle_100_objects\s+\.\.\.\s+bench:\s+([\d,]+) ns/iter", result.stdout)
    if not match:
        print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
        return None
    return int(match.group(1).replace(",", "")) / 100


def extract_binary() -> None:
    """The measured binary is the one in the Lambda zip."""
    import zipfile

    if not os.path.exists(ZIP):
        sys.exit(f"{ZIP} missing: `make bench` builds it with `make lambda`")
    if os.path.exists(BINARY) and os.path.getmtime(BINARY) >= os.path.getmtime(ZIP):
        return
    with zipfile.ZipFile(ZIP) as archive, open(BINARY, "wb") as out:
        out.write(archive.read("bootstrap"))
    os.chmod(BINARY, 0o755)


def s3_record(obj: dict) -> dict:
    """The S3 notification S3 sends for a new object (key form-URL-encoded)."""
    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "auditor",
        "bucket": {"name": obj["bucket"], "ownerIdentity": {"principalId": "A"}, "arn": f"arn:aws:s3:::{obj['bucket']}"},
        "object": {"key": urllib.parse.quote_plus(obj["key"], safe="/"), "size": 11, "versionId": obj["version_id"], "sequencer": "0"}},
    }


def sqs_message(message_id: str, obj: dict, receive_count: int = 1) -> dict:
    return {
        "messageId": message_id, "receiptHandle": f"handle-{message_id}",
        "body": json.dumps({"Records": [s3_record(obj)]}),
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:111111111111:replication-auditor-events", "awsRegion": "us-east-1",
    }


def batches_of(messages: list[dict]) -> list[dict]:
    return [{"Records": messages[i:i + 10]} for i in range(0, len(messages), 10)]


def bill_workload(url: str, name: str) -> tuple[list[dict], dict[str, dict]]:
    """BILL_OBJECTS new objects, PENDING_SHARE of them still PENDING for PENDING_SECONDS: their
    messages, shuffled the same way for both auditors, and the objects by message id."""
    import random

    pending_count = int(BILL_OBJECTS * PENDING_SHARE)
    healthy = upload(url, f"bill/{name}/ok ", BILL_OBJECTS - pending_count)
    control(url, "/_world/drain?timeout=300", "POST")
    fault = json.dumps({"fault": "delay", "key_regex": f"^bill/{name}/pending", "seconds": PENDING_SECONDS}).encode()
    with urllib.request.urlopen(urllib.request.Request(url + "/_world/faults", data=fault, method="POST"), timeout=60):
        pass
    pending = upload(url, f"bill/{name}/pending ", pending_count)
    objects = healthy + pending
    random.Random(7).shuffle(objects)
    by_id = {f"{name}-{i}": obj for i, obj in enumerate(objects)}
    return [sqs_message(i, o) for i, o in by_id.items()], by_id


def bill_project(url: str, env: dict) -> dict:
    """The Rust auditor as Lambda runs it: one warm container, SQS redelivering what it hands back
    (after the queue's visibility timeout; here: once the PENDING objects are replicated)."""
    from world.lambda_runtime import Runtime

    messages, by_id = bill_workload(url, "project")
    control(url, "/_world/stats", "DELETE")
    invocations, pending_walls = [], []
    with Runtime([BINARY], env) as runtime:
        warm = runtime.invoke({"objects": []})  # the cold start is measured separately
        assert warm.status == "response", warm.body
        log_bytes_before = len(runtime.stdout) + len(runtime.stderr)
        receive_count = 1
        while messages:
            handed_back = []
            for batch in batches_of(messages):
                result = runtime.invoke(batch)
                assert result.status == "response", result.body
                invocations.append(result)
                failed = {f["itemIdentifier"] for f in result.body.get("batchItemFailures", [])}
                if failed:
                    pending_walls.append(result.wall_seconds)
                handed_back += [m for m in batch["Records"] if m["messageId"] in failed]
            control(url, "/_world/drain?timeout=300", "POST")
            receive_count += 1
            assert receive_count < 6, "objects never settled"
            messages = [sqs_message(m["messageId"], by_id[m["messageId"]], receive_count) for m in handed_back]
        log_bytes = len(runtime.stdout) + len(runtime.stderr) - log_bytes_before
        counts: dict[str, int] = {}
        for result in invocations:
            for verdict, n in result.body["counts"].items():
                counts[verdict] = counts.get(verdict, 0) + n
    stats = control(url, "/_world/stats")
    assert counts.get("replicated") == BILL_OBJECTS, counts
    return {"invocations": invocations, "pending_walls": pending_walls, "stats": stats, "log_bytes": log_bytes}


def bill_baseline(url: str, env: dict) -> dict:
    """The boto3 baseline as one warm Python container: it waits for PENDING objects inside
    the invocation, as a team's first version does."""
    messages, _ = bill_workload(url, "baseline")
    path = write_event(None, batches_of(messages))
    control(url, "/_world/stats", "DELETE")
    # A warm container: the imports and clients exist before the first batch is timed.
    output = subprocess.run([*BASELINE, "--batches", path], env=env, capture_output=True, text=True, check=True)
    runs = json.loads(output.stdout)
    stats = control(url, "/_world/stats")
    replicated = sum(r["counts"].get("replicated", 0) for r in runs)
    assert replicated == BILL_OBJECTS, [r["counts"] for r in runs]

    class Run:
        def __init__(self, r):
            self.wall_seconds, self.cpu_seconds = r["wall"], r["cpu"]

    return {"invocations": [Run(r) for r in runs], "pending_walls": [], "stats": stats, "log_bytes": 0}


def billed_ms(wall_seconds: float, cpu_seconds: float) -> int:
    import math

    return math.ceil(wall_seconds * 1000 + cpu_seconds * 1000 * (CPU_STRETCH - 1))


def dollars(run: dict) -> dict[str, float]:
    """Dollars per million audited objects, by item (see PRICES and the delivery model)."""
    stats = run["stats"]
    s3 = sum(n for op, n in stats.get("s3", {}).items() if op in ("HeadObject", "HeadBucket", "GetObjectTagging", "GetBucketReplication"))
    invocations = len(run["invocations"])
    gb_seconds = sum(billed_ms(r.wall_seconds, r.cpu_seconds) for r in run["invocations"]) / 1000 * MEMORY_GB
    # SQS: S3's SendMessage per object; Lambda's poller: one ReceiveMessage and one
    # DeleteMessageBatch per invocation (empty polls of an idle queue are a fixed cost, left out).
    sqs = BILL_OBJECTS + 2 * invocations
    per_million = 1_000_000 / BILL_OBJECTS
    return {
        "S3 requests": s3 * PRICES["s3 GET-class request (HEAD, GetObjectTagging, GetBucketReplication)"] * per_million,
        "Lambda requests": invocations * PRICES["lambda request"] * per_million,
        "Lambda GB-s": gb_seconds * PRICES["lambda GB-second (arm64)"] * per_million,
        "SQS": sqs * PRICES["sqs request (standard)"] * per_million,
        "CloudWatch": (stats.get("monitoring", {}).get("PutMetricData", 0) * PRICES["cloudwatch PutMetricData request"]
                       + run["log_bytes"] / 1e9 * PRICES["cloudwatch logs ingestion per GB"]) * per_million,
        "SNS": stats.get("sns", {}).get("Publish", 0) * PRICES["sns publish"] * per_million,
    }


def floor_dollars() -> float:
    """One HEAD per object plus the delivery every SQS-fed auditor pays (S3's SendMessage, one
    Lambda request, ReceiveMessage and DeleteMessageBatch per 10 objects), no compute."""
    invocations = BILL_OBJECTS / 10
    per_million = 1_000_000 / BILL_OBJECTS
    return (BILL_OBJECTS * PRICES["s3 GET-class request (HEAD, GetObjectTagging, GetBucketReplication)"]
            + invocations * PRICES["lambda request"]
            + (BILL_OBJECTS + 2 * invocations) * PRICES["sqs request (standard)"]) * per_million


def main() -> int:
    extract_binary()
    project = [BINARY, "invoke", "--event"]
    world, url = start_world()
    results: dict[str, float] = {}
    try:
        env = environment(url)
        print(f"world {url}; uploading {1 + 1000 + BATCH} objects ...", flush=True)
        one = upload(url, "bench/one ", 1)
        thousand = upload(url, "bench/k ", 1000)
        batch = upload(url, "batch/", BATCH)
        control(url, "/_world/drain?timeout=300", "POST")
        one_event, thousand_event, batch_event = write_event(one), write_event(thousand), write_event(batch)

        print(f"cold start: {COLD_RUNS} runs each ...", flush=True)
        cold = {"project": [], "baseline": []}
        for _ in range(COLD_RUNS):
            cold["project"].append(run(project, one_event, env))
            cold["baseline"].append(run(BASELINE, one_event, env))
        for name, runs in cold.items():
            assert runs[-1]["report"]["counts"]["replicated"] == 1, runs[-1]["report"]["counts"]
            results[f"{name} cold wall ms"] = statistics.median(r["wall"] for r in runs) * 1000
            results[f"{name} peak RSS MB"] = statistics.median(r["rss_mb"] for r in runs)

        print(f"CPU per object: 1 vs 1,000 objects, {CPU_RUNS} runs each ...", flush=True)
        for name, command in (("project", project), ("baseline", BASELINE)):
            small = [run(command, one_event, env)["cpu"] for _ in range(CPU_RUNS)]
            control(url, "/_world/stats", "DELETE")
            large_runs = [run(command, thousand_event, env) for _ in range(CPU_RUNS)]
            stats = control(url, "/_world/stats")
            assert large_runs[-1]["report"]["counts"]["replicated"] == 1000, large_runs[-1]["report"]["counts"]
            per_object = (statistics.median(r["cpu"] for r in large_runs) - statistics.median(small)) / 999
            results[f"{name} CPU per object ms"] = per_object * 1000
            results[f"{name} HEADs per object"] = stats["s3"]["HeadObject"] / (1000 * CPU_RUNS)

        print(f"{BATCH:,}-object batch ...", flush=True)
        for name, command in (("project", project), ("baseline", BASELINE)):
            big = run(command, batch_event, env)
            assert big["report"]["counts"]["replicated"] == BATCH, big["report"]["counts"]
            results[f"{name} {BATCH}-batch wall s"] = big["wall"]
            results[f"{name} {BATCH}-batch peak RSS MB"] = big["rss_mb"]

        print(f"the bill: {BILL_OBJECTS} objects in SQS batches of 10, {PENDING_SHARE:.0%} PENDING at first look, "
              f"world latency {LATENCY} ...", flush=True)
        post = json.dumps(LATENCY).encode()
        with urllib.request.urlopen(urllib.request.Request(url + "/_world/latency", data=post, method="POST"), timeout=60):
            pass
        # As deployed: default log level, and the baseline waits for PENDING objects as written.
        bill_env = {k: v for k, v in env.items() if k not in ("AUDITOR_PENDING_WAIT_SECONDS", "RUST_LOG")}
        bills = {"project": bill_project(url, bill_env), "baseline": bill_baseline(url, bill_env)}
    finally:
        world.terminate()
        world.wait(timeout=10)

    print("criterion micro-benchmark ...", flush=True)
    micro = criterion_ns_per_object()
    zip_mb = os.path.getsize(ZIP) / 1_000_000 if os.path.exists(ZIP) else float("nan")

    cost = {name: dollars(bill) for name, bill in bills.items()}
    total = {name: sum(items.values()) for name, items in cost.items()}
    floor = floor_dollars()
    billed = {name: statistics.mean(billed_ms(r.wall_seconds, r.cpu_seconds) for r in bill["invocations"]) for name, bill in bills.items()}
    values = {
        "heads_healthy": results["project HEADs per object"],
        "pending_wall": max(bills["project"]["pending_walls"], default=0.0),
        "cost_floor_ratio": total["project"] / floor,
        "cost_baseline_ratio": total["project"] / total["baseline"],
        "cold_ratio": results["project cold wall ms"] / results["baseline cold wall ms"],
        "rss_ratio": results["project peak RSS MB"] / results["baseline peak RSS MB"],
        "cpu_ratio": results["project CPU per object ms"] / results["baseline CPU per object ms"],
        "zip_mb": zip_mb,
    }

    def per_object(name: str, service: str, operation: str) -> str:
        return f"{bills[name]['stats'].get(service, {}).get(operation, 0) / BILL_OBJECTS:.2f}"

    print()
    print(f"The bill ({BILL_OBJECTS} objects, {PENDING_SHARE:.0%} PENDING at first look; dollars per million audited objects)")
    print()
    print("| item | Rust auditor | boto3 baseline | floor |")
    print("| --- | --- | --- | --- |")
    for item in cost["project"]:
        print(f"| {item} | ${cost['project'][item]:.3f} | ${cost['baseline'][item]:.3f} | |")
    print(f"| **total per million objects** | **${total['project']:.3f}** | **${total['baseline']:.3f}** | **${floor:.3f}** |")
    print(f"| HEADs per object (all, PENDING ones included) | {per_object('project', 's3', 'HeadObject')} | {per_object('baseline', 's3', 'HeadObject')} | 1.00 |")
    print(f"| other S3 calls per object (HeadBucket, GetBucketReplication) | {(bills['project']['stats'].get('s3', {}).get('HeadBucket', 0) + bills['project']['stats'].get('s3', {}).get('GetBucketReplication', 0)) / BILL_OBJECTS:.3f} | {bills['baseline']['stats'].get('s3', {}).get('GetBucketReplication', 0) / BILL_OBJECTS:.3f} | 0 |")
    print(f"| PutMetricData per object | {per_object('project', 'monitoring', 'PutMetricData')} | {per_object('baseline', 'monitoring', 'PutMetricData')} | 0 |")
    print(f"| invocations per object | {len(bills['project']['invocations']) / BILL_OBJECTS:.3f} | {len(bills['baseline']['invocations']) / BILL_OBJECTS:.3f} | 0.100 |")
    print(f"| billed duration per invocation, 128 MB arm64 (model) | {billed['project']:.0f} ms | {billed['baseline']:.0f} ms | |")
    print(f"| log bytes per object (EMF and logs, CloudWatch Logs) | {bills['project']['log_bytes'] / BILL_OBJECTS:.0f} | 0 | |")
    print()
    print("| measure | Rust auditor | boto3 baseline | ratio | budget |")
    print("| --- | --- | --- | --- | --- |")
    rows = [
        ("cold start, exec -> answer (1 object)", f"{results['project cold wall ms']:.0f} ms", f"{results['baseline cold wall ms']:.0f} ms", f"{values['cold_ratio']:.3f}", "<= 1/15 (0.067)"),
        ("peak RSS, cold (1 object)", f"{results['project peak RSS MB']:.1f} MB", f"{results['baseline peak RSS MB']:.1f} MB", f"{values['rss_ratio']:.3f}", "<= 1/4"),
        ("client CPU per object (1,000 vs 1)", f"{results['project CPU per object ms']:.3f} ms", f"{results['baseline CPU per object ms']:.3f} ms", f"{values['cpu_ratio']:.3f}", "<= 1/4"),
        ("HEADs per healthy replicated object", f"{results['project HEADs per object']:.2f}", f"{results['baseline HEADs per object']:.2f}", "", "<= 1.1"),
        ("max wall of an invocation holding a PENDING object", f"{values['pending_wall']:.3f} s", "(sleeps)", "", "< 0.5 s: no sleeping"),
        ("cost per million objects vs floor", f"${total['project']:.3f}", f"${total['baseline']:.3f}", f"{values['cost_floor_ratio']:.3f} of floor, {values['cost_baseline_ratio']:.3f} of baseline", "<= 1.25x floor, <= 1/3 baseline"),
        (f"{BATCH:,}-object batch, wall", f"{results[f'project {BATCH}-batch wall s']:.1f} s", f"{results[f'baseline {BATCH}-batch wall s']:.1f} s", "", ""),
        (f"{BATCH:,}-object batch, peak RSS", f"{results[f'project {BATCH}-batch peak RSS MB']:.1f} MB", f"{results[f'baseline {BATCH}-batch peak RSS MB']:.1f} MB", "", ""),
        ("decode+verdict+metrics per object (criterion)", f"{micro:.0f} ns" if micro else "n/a", "", "", ""),
        ("Lambda zip (x86_64)", f"{zip_mb:.2f} MB", "", "", "<= 5 MB"),
    ]
    for row in rows:
        print("| " + " | ".join(row) + " |")
    missed = [f"{name}: {values[key]:.3f} (budget {budget:.3f})" for name, key, budget in BUDGETS if not values[key] <= budget]
    print()
    if missed:
        print("BUDGETS MISSED:\n  " + "\n  ".join(missed))
        return 1
    print("all budgets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
