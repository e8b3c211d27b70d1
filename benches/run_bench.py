"""`make bench`: the Rust auditor side by side with a boto3 baseline, against the local world.

Every figure is a median over repeated runs and every ratio is computed within this one run
(timings on a shared 2-core machine are noisy; ratios measured together are what we compare).
Exits 1 when a budget is missed. Both auditors run as fresh processes, the way a cold Lambda
starts: exec -> configuration -> clients -> AssumeRole -> HEADs -> PutMetricData -> answer.

  cold start    wall time exec -> response for one object; peak RSS (VmHWM of that process)
  CPU / object  (user+sys CPU of a 1,000-object run - of a 1-object run) / 999
  API calls     counted by the world: HEADs per object, PutMetricData per run, AssumeRole per process
  10,000 batch  one invocation with 10,000 objects: wall time and peak RSS
  micro         criterion (benches/core.rs): decode + verdict + metrics per object, no network
  artefact      `cargo lambda build --release` zip (x86_64)
  reference     (when curl is installed) client CPU of curl sending the same SigV4-signed HEADs on
                one kept-alive connection: what a mainstream C HTTP client pays per object against
                this world on this machine (context for the CPU budget; not budgeted)
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

BUDGETS = {
    "cold wall ratio": 1 / 15,
    "peak RSS ratio": 1 / 4,
    "CPU per object ratio": 1 / 40,
    "HEADs per replicated object": 2.0,
    "PutMetricData per invocation": 1,
    "AssumeRole per process": 1,
    "zip MB": 5.0,
}


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


def curl_cpu(url: str, objects: list[dict]) -> float:
    """CPU seconds of one curl process HEADing every object (SigV4-signed, one connection)."""
    with tempfile.NamedTemporaryFile("w", suffix=".curl", delete=False) as handle:
        for o in objects:
            path = urllib.parse.quote(f"{o['bucket']}/{o['key']}")
            handle.write(f'url = "{url}/{path}?versionId={urllib.parse.quote(o["version_id"])}"\noutput = "/dev/null"\n')
    command = [
        "curl", "--silent", "--fail", "--head", "--aws-sigv4", "aws:amz:us-east-1:s3",
        "--user", f"{SOURCE.access_key_id}:{SOURCE.secret_access_key}", "--config", handle.name,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    os.unlink(handle.name)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"curl reference measurement failed: exit {os.waitstatus_to_exitcode(status)}")
    return usage.ru_utime + usage.ru_stime


def write_event(objects: list[dict]) -> str:
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"objects": objects}, handle)
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
            results[f"{name} 1000-object wall s"] = statistics.median(r["wall"] for r in large_runs)
            results[f"{name} HEADs per object"] = stats["s3"]["HeadObject"] / (1000 * CPU_RUNS)
            results[f"{name} PutMetricData per invocation"] = stats.get("monitoring", {}).get("PutMetricData", 0) / CPU_RUNS
            results[f"{name} AssumeRole per process"] = stats.get("sts", {}).get("AssumeRole", 0) / CPU_RUNS

        if shutil.which("curl"):
            print("reference: curl, the same HEADs ...", flush=True)
            small = statistics.median(curl_cpu(url, one) for _ in range(CPU_RUNS))
            large = statistics.median(curl_cpu(url, thousand) for _ in range(CPU_RUNS))
            # Two HEADs per audited object (source and replica).
            results["curl CPU per object ms"] = 2 * (large - small) / 999 * 1000

        print(f"{BATCH:,}-object batch ...", flush=True)
        for name, command in (("project", project), ("baseline", BASELINE)):
            big = run(command, batch_event, env)
            assert big["report"]["counts"]["replicated"] == BATCH, big["report"]["counts"]
            results[f"{name} {BATCH}-batch wall s"] = big["wall"]
            results[f"{name} {BATCH}-batch peak RSS MB"] = big["rss_mb"]
    finally:
        world.terminate()
        world.wait(timeout=10)

    print("criterion micro-benchmark ...", flush=True)
    micro = criterion_ns_per_object()
    zip_mb = os.path.getsize(ZIP) / 1_000_000 if os.path.exists(ZIP) else float("nan")

    ratios = {
        "cold wall ratio": results["project cold wall ms"] / results["baseline cold wall ms"],
        "peak RSS ratio": results["project peak RSS MB"] / results["baseline peak RSS MB"],
        "CPU per object ratio": results["project CPU per object ms"] / results["baseline CPU per object ms"],
        "HEADs per replicated object": results["project HEADs per object"],
        "PutMetricData per invocation": results["project PutMetricData per invocation"],
        "AssumeRole per process": results["project AssumeRole per process"],
        "zip MB": zip_mb,
    }
    rows = [
        ("cold start, exec -> answer (1 object)", f"{results['project cold wall ms']:.0f} ms", f"{results['baseline cold wall ms']:.0f} ms", f"{ratios['cold wall ratio']:.3f}", "<= 1/15 (0.067)"),
        ("peak RSS, cold (1 object)", f"{results['project peak RSS MB']:.1f} MB", f"{results['baseline peak RSS MB']:.1f} MB", f"{ratios['peak RSS ratio']:.3f}", "<= 1/4 (0.25)"),
        ("client CPU per object (1,000 vs 1)", f"{results['project CPU per object ms']:.3f} ms", f"{results['baseline CPU per object ms']:.3f} ms", f"{ratios['CPU per object ratio']:.3f}", "<= 1/40 (0.025)"),
    ] + (
        [("reference: curl, the same 2 signed HEADs, one kept-alive connection", f"{results['curl CPU per object ms']:.3f} ms", "", f"{results['curl CPU per object ms'] / results['baseline CPU per object ms']:.3f}", "(not budgeted)")]
        if "curl CPU per object ms" in results else []
    ) + [
        ("1,000 objects, wall", f"{results['project 1000-object wall s']:.2f} s", f"{results['baseline 1000-object wall s']:.2f} s", "", ""),
        ("HEADs per replicated object", f"{results['project HEADs per object']:.2f}", f"{results['baseline HEADs per object']:.2f}", "", "= 2.0"),
        ("PutMetricData per invocation", f"{results['project PutMetricData per invocation']:.2f}", f"{results['baseline PutMetricData per invocation']:.2f}", "", "<= 1"),
        ("AssumeRole per process", f"{results['project AssumeRole per process']:.2f}", f"{results['baseline AssumeRole per process']:.2f}", "", "<= 1"),
        (f"{BATCH:,}-object batch, wall", f"{results[f'project {BATCH}-batch wall s']:.1f} s", f"{results[f'baseline {BATCH}-batch wall s']:.1f} s", "", ""),
        (f"{BATCH:,}-object batch, peak RSS", f"{results[f'project {BATCH}-batch peak RSS MB']:.1f} MB", f"{results[f'baseline {BATCH}-batch peak RSS MB']:.1f} MB", "", ""),
        ("decode+verdict+metrics per object (criterion)", f"{micro:.0f} ns" if micro else "n/a", "", "", ""),
        ("Lambda zip (x86_64)", f"{zip_mb:.2f} MB", "", "", "<= 5 MB"),
    ]
    print()
    print(f"| measure | Rust auditor | boto3 baseline | ratio | budget |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    missed = []
    for name, budget in BUDGETS.items():
        value = ratios[name]
        ok = abs(value - budget) < 1e-9 if name == "HEADs per replicated object" else value <= budget
        if not ok:
            missed.append(f"{name}: {value:.3f} (budget {budget:.3f})")
    print()
    if missed:
        print("BUDGETS MISSED:\n  " + "\n  ".join(missed))
        return 1
    print("all budgets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
