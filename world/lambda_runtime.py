"""A Lambda Runtime API on 127.0.0.1, to run the real `bootstrap` binary the way Lambda does.

Lambda starts a custom runtime with `AWS_LAMBDA_RUNTIME_API=host:port` and the function's
environment; the runtime then loops: `GET /2018-06-01/runtime/invocation/next` (the event, with
`Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
`Lambda-Runtime-Invoked-Function-Arn`, `Lambda-Runtime-Trace-Id`), then
`POST /2018-06-01/runtime/invocation/{id}/response` or `.../error` (Lambda Developer Guide,
"Using the Lambda runtime API for custom runtimes"). This module is that server, for one
function process at a time: `invoke(event)` hands an event to the waiting runtime and returns
what it answered, with the invocation's wall time and the CPU the process used meanwhile
(from /proc, all threads).

    with Runtime(env) as runtime:              # starts the binary against this API
        result = runtime.invoke({"Records": []}, timeout_ms=60_000)
        result.status   # "response" | "error"
        result.body     # the JSON the function answered (or its error document)
"""

from __future__ import annotations

import glob
import json
import os
import queue
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
FUNCTION_NAME = "replication-auditor"
MEMORY_MB = 128


@dataclass
class Result:
    request_id: str
    status: str  # "response" or "error"
    body: object
    wall_seconds: float
    cpu_seconds: float
    error_type: str | None = None


def process_cpu_seconds(pid: int) -> float:
    """CPU time of every thread of `pid` (/proc/PID/task/*/schedstat, nanoseconds on CPU)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path, encoding="ascii") as handle:
                total += int(handle.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


class Runtime:
    """One function process served by a Runtime API on a free loopback port."""

    def __init__(self, command: list[str], env: dict[str, str], region: str = "us-east-1", account: str = "111111111111"):
        self.command = command
        self.env = env
        self.function_arn = f"arn:aws:lambda:{region}:{account}:function:{FUNCTION_NAME}"
        self._events: queue.Queue = queue.Queue()
        self._results: dict[str, queue.Queue] = {}
        self._init_error: queue.Queue = queue.Queue()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.process: subprocess.Popen | None = None
        self.stdout = b""
        self.stderr = b""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> "Runtime":
        self._thread.start()
        env = dict(self.env)
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": self.address,
                "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION_NAME}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            }
        )
        self.process = subprocess.Popen(self.command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._pumps = [
            threading.Thread(target=self._pump, args=(self.process.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, "stderr"), daemon=True),
        ]
        for pump in self._pumps:
            pump.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for pump in getattr(self, "_pumps", []):
            pump.join(timeout=5)
        self._server.shutdown()
        self._server.server_close()

    def _pump(self, stream, name: str) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            setattr(self, name, getattr(self, name) + chunk)

    def invoke(self, event, timeout_ms: int = 60_000) -> Result:
        """Hands `event` to the runtime and waits for its answer (the function's deadline is
        `timeout_ms` from now, as Lambda's `Lambda-Runtime-Deadline-Ms`)."""
        request_id = str(uuid.uuid4())
        answer: queue.Queue = queue.Queue()
        self._results[request_id] = answer
        cpu_before = process_cpu_seconds(self.process.pid)
        started = time.perf_counter()
        self._events.put((request_id, json.dumps(event).encode(), int(time.time() * 1000) + timeout_ms))
        try:
            status, body = answer.get(timeout=timeout_ms / 1000 + 30)
        except queue.Empty:
            raise RuntimeError(f"the function did not answer invocation {request_id}; stderr:\n{self.stderr.decode(errors='replace')[-4000:]}")
        wall = time.perf_counter() - started
        cpu = process_cpu_seconds(self.process.pid) - cpu_before
        error_type = body.get("errorType") if status == "error" and isinstance(body, dict) else None
        return Result(request_id, status, body, wall, cpu, error_type)

    def _handler_class(self):
        runtime = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _reply(self, code: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(code)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404)
                request_id, payload, deadline_ms = runtime._events.get()
                self._reply(
                    200,
                    payload,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": runtime.function_arn,
                        "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                    },
                )

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if parts == ["init", "error"]:
                    runtime._init_error.put(body)
                    return self._reply(202)
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    answer = runtime._results.get(parts[1])
                    if answer is None:
                        return self._reply(400)
                    answer.put((parts[2], body))
                    return self._reply(202)
                return self._reply(404)

        return Handler


def main(argv: list[str] | None = None) -> int:
    """`python -m world.lambda_runtime --binary PATH --event FILE [--event FILE…]`: starts the
    binary under this Runtime API with the current environment, invokes it once per event (one
    warm container), prints one JSON line per invocation on stdout — `status`, `errorType`,
    `body`, `wall_ms` — and the function's own log (its stdout and stderr) on stderr."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m world.lambda_runtime", description=main.__doc__)
    parser.add_argument("--binary", required=True, help="the function's bootstrap (e.g. target/debug/replication-auditor)")
    parser.add_argument("--event", action="append", required=True, help="a JSON event file (repeatable)")
    parser.add_argument("--timeout-ms", type=int, default=60_000, help="the function timeout: each invocation's deadline")
    args = parser.parse_args(argv)
    events = []
    for path in args.event:
        with open(path, encoding="utf-8") as handle:
            events.append(json.load(handle))
    with Runtime([args.binary], dict(os.environ)) as runtime:
        for event in events:
            result = runtime.invoke(event, timeout_ms=args.timeout_ms)
            print(json.dumps({"status": result.status, "errorType": result.error_type, "body": result.body,
                              "wall_ms": round(result.wall_seconds * 1000, 1)}), flush=True)
    sys.stderr.write(runtime.stdout.decode(errors="replace"))
    sys.stderr.write(runtime.stderr.decode(errors="replace"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
