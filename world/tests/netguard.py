"""Refuses every network connection and name lookup that is not loopback, in this process, and
writes each attempt to a file — so a test can prove that the world sent nothing off this machine.

    python -c "from world.tests import netguard; netguard.run_world('/tmp/attempts')" ARGS...

runs `python -m world ARGS...` with the guard on.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading

_LOCK = threading.Lock()


def _loopback(host) -> bool:
    if host is None:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host.lower() in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def install(log_path: str) -> None:
    def note(what: str) -> None:
        with _LOCK, open(log_path, "a", encoding="utf-8") as handle:
            handle.write(what + "\n")

    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo

    def allowed(sock, address) -> bool:
        return sock.family not in (socket.AF_INET, socket.AF_INET6) or _loopback(address[0])

    def connect(sock, address):
        if not allowed(sock, address):
            note(f"connect {address!r}")
            raise OSError(f"netguard: no connection to {address!r} from the local world")
        return original_connect(sock, address)

    def connect_ex(sock, address):
        if not allowed(sock, address):
            note(f"connect {address!r}")
            raise OSError(f"netguard: no connection to {address!r} from the local world")
        return original_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _loopback(host):
            note(f"getaddrinfo {host!r}")
            raise socket.gaierror(f"netguard: no name lookup of {host!r} from the local world")
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo


def run_world(log_path: str) -> None:
    install(log_path)
    open(log_path, "a", encoding="utf-8").close()
    from world.server import main

    sys.exit(main(sys.argv[1:]))
