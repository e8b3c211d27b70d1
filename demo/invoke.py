"""`make invoke EVENT=events/sqs-s3.json`: the function run locally the way Lambda runs it.

Starts the local world (the classic bucket pairs), then the real binary under a Lambda Runtime
API (`world/lambda_runtime.py`: the runtime loop, the deadline header, the response or error
post) with the deployed function's environment, invokes it once with the event file, and prints
what Lambda would answer — the response JSON, or the function error with its `errorType` — and
the function's own log (JSON lines, as CloudWatch Logs would show them).

The sample events name objects the world does not hold, so their findings are mostly
`source_gone`; upload objects first (`make world` in another terminal and the aws CLI, see the
README) to see other verdicts.
"""

from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run_demo import BINARY, auditor_env, start_world  # noqa: E402
from world.lambda_runtime import Runtime  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make invoke EVENT=events/sqs-s3.json [TIMEOUT_MS=60000]", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        event = json.load(handle)
    world, url = start_world()
    try:
        env = auditor_env(url)
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
