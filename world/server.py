"""Starts and stops the local world: moto + replication engine + middleware on 127.0.0.1.

`python -m world` (what `make world` runs) serves in the foreground, prints exactly one line
`READY http://127.0.0.1:PORT` on stdout once it answers, and exits 0 on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from . import athena, keepalive, sns_delivery
from .engine import ReplicationEngine
from .faults import FaultError, Faults
from .middleware import WorldMiddleware


class World:
    """One running world. `start()` returns its URL; `stop()` shuts it down."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, replication_delay: float = 1.0, alarm_interval: float = 0.0):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the local world only listens on loopback")
        self.faults = Faults()
        self.engine = ReplicationEngine(replication_delay, self.faults)
        athena.install()  # moto's Athena runs what it is sent (world/athena.py)
        self.middleware = WorldMiddleware(DomainDispatcherApplication(create_backend_app), self.engine, self.faults)
        keepalive.install()
        sns_delivery.install()  # SNS deliveries recorded on this machine, never sent (sns_delivery.py)
        self._server = make_server(
            host, port, self.middleware, threaded=True, request_handler=keepalive.KeepAliveRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="world-http", daemon=True)
        self.url = f"http://{host}:{self._server.server_port}"
        # CloudWatch evaluates alarms about once a minute; 0 = only on request (`/_world/alarms?evaluate=1`).
        self.alarm_interval = alarm_interval
        self._stopping = threading.Event()
        self._alarm_thread = threading.Thread(target=self._evaluate_alarms, name="world-alarms", daemon=True)

    def start(self) -> str:
        self.engine.start()
        self._thread.start()
        if self.alarm_interval > 0:
            self._alarm_thread.start()
        return self.url

    def _evaluate_alarms(self) -> None:
        while not self._stopping.wait(self.alarm_interval):
            try:
                self.middleware.alarms.evaluate()
            except Exception:  # noqa: BLE001 - a bad alarm must not stop the world; the board shows it
                logging.getLogger("world").exception("alarm evaluation failed")

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self.engine.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m world", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--replication-delay", type=float, default=1.0, help="seconds before a PENDING object is replicated (default 1.0)")
    parser.add_argument("--faults", help="JSON file with a list of faults to inject (see world/faults.py)")
    parser.add_argument(
        "--scenario",
        action="append",
        help="build a scenario before READY: classic (the demo's bucket pairs and their alarms from "
        "infra/auditor.yaml) or a named extra one (tag-filter, tag-routing, multi-destination, "
        "delete-markers, two-way, encryption, metadata, v1-rules); repeatable",
    )
    parser.add_argument(
        "--alarm-interval", type=float, default=60.0,
        help="seconds between CloudWatch alarm evaluations (default 60, like CloudWatch; 0 = only on GET /_world/alarms?evaluate=1)",
    )
    parser.add_argument(
        "--latency",
        default="",
        help="per-service answer delay, e.g. s3=0.015,sts=0.03 (seconds; default none): durations like AWS's",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="world: %(message)s")
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    world = World(port=args.port, replication_delay=args.replication_delay, alarm_interval=args.alarm_interval)
    try:
        world.middleware.latency = {
            service: float(seconds)
            for service, seconds in (pair.split("=", 1) for pair in args.latency.split(",") if pair.strip())
        }
    except ValueError:
        print(f"world: --latency {args.latency!r}: expected service=seconds pairs, e.g. s3=0.015,sts=0.03", file=sys.stderr)
        return 2
    if args.faults:
        try:
            with open(args.faults, encoding="utf-8") as handle:
                world.faults.add(json.load(handle))
        except (OSError, ValueError, FaultError) as error:
            print(f"world: cannot load faults from {args.faults}: {error}", file=sys.stderr)
            return 2

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.scenario:
        from . import scenario

        unknown = [name for name in args.scenario if name != "classic" and name not in scenario.EXTRA_SCENARIOS]
        if unknown:
            print(f"world: unknown scenario {unknown[0]!r}", file=sys.stderr)
            return 2
    url = world.start()
    for name in args.scenario or []:
        if name == "classic":
            world.middleware.scenario.update(scenario.build_classic(url))
        else:
            world.middleware.scenario.setdefault("extras", {})[name] = scenario.build(name, url)
    print(f"READY {url}", flush=True)
    while not stop.wait(0.5):
        pass
    world.stop()
    return 0
