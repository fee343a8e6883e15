"""A small fault-injecting HTTP proxy in front of a real S3 server.

It forwards every request unchanged and, for a configurable share of them (or for every request
whose path matches a pattern), answers instead with one of: 500 InternalError, 503 SlowDown,
a connection reset, or silence longer than the client's read timeout. Decisions come from a
seeded random generator, so a run's faults are repeatable.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

FAULTS = ("500", "503", "reset", "timeout")

_ERROR_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
    "<Message>injected fault</Message></Error>"
)


@dataclass
class FaultPlan:
    rate: float = 0.0  # share of requests that fail
    kinds: tuple[str, ...] = FAULTS
    only_paths_containing: str | None = None  # when set, fail every matching request
    limit: int | None = None  # when set, fail no more requests than this
    seen: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of each request
    timeout_seconds: float = 3.0
    seed: int = 1
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def decide(self, method: str, path: str) -> str | None:
        with self._lock:
            self.counts["requests"] += 1
            self.seen.append((method, path))
            if self.limit is not None and self.counts["faults"] >= self.limit:
                fault = None
            elif self.only_paths_containing is not None:
                fault = self.kinds[0] if self.only_paths_containing in path else None
            elif self._random.random() < self.rate:
                fault = self._random.choice(self.kinds)
            else:
                fault = None
            if fault:
                self.counts[fault] += 1
                self.counts["faults"] += 1
            return fault


def _handler(upstream: str, plan: FaultPlan) -> type[BaseHTTPRequestHandler]:
    parsed = urlparse(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            fault = plan.decide(self.command, self.path)
            if fault == "reset":
                # RST instead of a response: SO_LINGER with a zero timeout, then close.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            if fault == "timeout":
                time.sleep(plan.timeout_seconds)
                self.close_connection = True
                return
            if fault in ("500", "503"):
                code = "InternalError" if fault == "500" else "SlowDown"
                payload = _ERROR_BODY.format(code=code).encode()
                self.send_response(int(fault))
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            connection = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items()}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            finally:
                connection.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    return Handler


@contextmanager
def fault_proxy(upstream: str, plan: FaultPlan) -> Iterator[str]:
    """Run the proxy on a free loopback port; yields its endpoint URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, plan))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
