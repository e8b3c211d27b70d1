"""Starts one local world for the test session, exactly as users and the Rust tests do."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RunningWorld:
    def __init__(self, process: subprocess.Popen, url: str, startup_seconds: float):
        self.process = process
        self.url = url
        self.startup_seconds = startup_seconds

    def control(self, path: str, method: str = "GET", payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read())

    def drain(self) -> None:
        assert self.control("/_world/drain?timeout=20", "POST")["drained"]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)


def start_world(*args: str) -> RunningWorld:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "world", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline().strip()
    assert line.startswith("READY http://127.0.0.1:"), f"unexpected first line {line!r}"
    return RunningWorld(process, line.split(" ", 1)[1], time.monotonic() - started)


@pytest.fixture(scope="session")
def world():
    running = start_world("--scenario", "classic", "--replication-delay", "0.2", "--alarm-interval", "0")
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="session")
def extras(world):
    """Every named extra scenario, built once through the control endpoint (shared by every
    test module of the session)."""
    from world import scenario

    built = dict(world.control("/_world/scenario").get("extras", {}))
    for name in scenario.EXTRA_SCENARIOS:
        if name not in built:
            built[name] = world.control(f"/_world/scenario/{name}", "POST")
    for name, answer in built.items():
        assert "error" not in answer, (name, answer)
    return built


@pytest.fixture
def pending_window(world):
    """Every write stays PENDING for 4 s before it is replicated (a `delay` fault): a test that
    checks PENDING right after a write must not race the world's 0.2 s replication delay on a
    busy machine. `drain` still waits for the replication."""
    assert world.control("/_world/faults", "POST", {"fault": "delay", "seconds": 4})["added"] == 1


@pytest.fixture(autouse=True)
def _no_leftover_faults(world):
    yield
    world.control("/_world/faults", "DELETE")
