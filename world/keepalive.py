"""HTTP/1.1 persistent connections for the world's Werkzeug server, as S3 and every AWS endpoint
keep them.

Werkzeug's development server closes every connection (`Connection: close` on each response), so
every client request paid a TCP handshake and teardown that no client pays against AWS, where
the SDKs and boto3 keep pooled connections open. That is unfaithful and it distorts any client
CPU measurement (`make bench`). Werkzeug closes because it cannot tell where an unread request
body ends; it then drains the socket for 10 ms after each response, which on a kept-alive
connection would swallow the next request.

`KeepAliveRequestHandler` reads each request body completely (by `Content-Length`) before the
application runs and hands the application that buffered body, so nothing of the request is
left on the socket; for those requests the drain is skipped and `Connection: close` is not
sent unless the client asked for it. Requests it cannot buffer safely (chunked transfer
encoding, an unreadable `Content-Length`) keep Werkzeug's behaviour: answered, then closed.
Idle connections are closed after `IDLE_TIMEOUT_SECONDS`; sockets use TCP_NODELAY as AWS
endpoints' clients expect (no 40 ms Nagle/delayed-ACK stalls).
"""

from __future__ import annotations

import io
import selectors
import socket
import threading

import werkzeug.serving
from moto.moto_server.werkzeug_app import MotoRequestHandler

IDLE_TIMEOUT_SECONDS = 60

_request = threading.local()


class _NoDrain:
    """A selector that reports nothing to read: the body was consumed before the app ran."""

    def register(self, *args, **kwargs) -> None:
        pass

    def select(self, timeout=None) -> list:
        return []

    def close(self) -> None:
        pass


class _SelectorsForWerkzeug:
    """Stands in for the `selectors` module inside `werkzeug.serving` (its post-response drain is
    the only user): no drain for a request whose body was buffered on this thread."""

    def __getattr__(self, name: str):
        return getattr(selectors, name)

    @staticmethod
    def DefaultSelector():  # noqa: N802 - mirrors selectors.DefaultSelector
        if getattr(_request, "body_buffered", False):
            return _NoDrain()
        return selectors.DefaultSelector()


def install() -> None:
    """Idempotent; called when a world is created."""
    if not isinstance(werkzeug.serving.selectors, _SelectorsForWerkzeug):
        werkzeug.serving.selectors = _SelectorsForWerkzeug()


class KeepAliveRequestHandler(MotoRequestHandler):
    timeout = IDLE_TIMEOUT_SECONDS

    def setup(self) -> None:
        super().setup()
        # Werkzeug writes a response's head and body in separate sends; on a kept-alive
        # connection Nagle's algorithm would hold the body until the client's delayed ACK (40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        self.keep_alive = False
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return super().run_wsgi()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return super().run_wsgi()
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            del self.headers["Expect"]
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:
            self.close_connection = True
            return None
        socket_reader, self.rfile = self.rfile, io.BytesIO(body)
        self.keep_alive = True
        _request.body_buffered = True
        try:
            return super().run_wsgi()
        finally:
            _request.body_buffered = False
            self.rfile = socket_reader

    def send_header(self, keyword: str, value: str) -> None:
        if (
            keyword.lower() == "connection"
            and value.lower() == "close"
            and getattr(self, "keep_alive", False)
            and not self.close_connection
        ):
            return
        super().send_header(keyword, value)
