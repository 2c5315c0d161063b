"""A loopback HTTP proxy in front of moto's S3 server, for what moto itself will not do.

It can strip `If-None-Match` / `If-Match` before forwarding (a store that ignores
conditional writes, like the `s3rver` package the issue was found with), it
records every request (to count round trips), and it can be stopped while a
client still points at it (an endpoint that went away).
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.quiet_http import QuietHTTPServer

CONDITIONAL_HEADERS = ("if-none-match", "if-match")
NOT_IMPLEMENTED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code>'
    b"<Message>A header you provided implies functionality that is not implemented</Message></Error>"
)
HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "proxy-connection", "content-length")


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class S3Proxy:
    upstream: str
    strip_conditions: bool = False
    refuse_conditions: bool = False  # answer 501 NotImplemented to a conditional request
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    _server: QuietHTTPServer | None = None
    _thread: threading.Thread | None = None

    def requests_to(self, method: str, fragment: str) -> list[Seen]:
        return [item for item in self.seen if item.method == method and fragment in item.path]

    def stop(self) -> None:
        """Stop listening: every later request is refused (each connection closes after one answer)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def _handler(proxy: S3Proxy) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(proxy.upstream)

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: stop() leaves nothing open

        def _forward(self) -> None:
            if self.headers.get("Expect", "").lower() == "100-continue":
                # boto asks before sending a PUT's body and waits a second for this answer;
                # http.server sends it only on HTTP/1.1 connections, and this one speaks 1.0.
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.wfile.flush()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            conditional = any(name.lower() in CONDITIONAL_HEADERS for name in self.headers)
            if proxy.refuse_conditions and conditional:
                headers = {k.lower(): v for k, v in self.headers.items()}
                proxy.seen.append(Seen(self.command, self.path, headers))
                self._answer(501, NOT_IMPLEMENTED)
                return
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in HOP_BY_HOP
                and not (proxy.strip_conditions and name.lower() in CONDITIONAL_HEADERS)
            }
            proxy.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
            upstream = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            finally:
                upstream.close()

        def _answer(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Forward


@contextmanager
def running(proxy: S3Proxy) -> Iterator[S3Proxy]:
    """Serve `proxy` on a free loopback port until the block ends (even when it fails)."""
    server = QuietHTTPServer(("127.0.0.1", 0), _handler(proxy))
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    proxy._server = server
    proxy._thread = threading.Thread(target=server.serve_forever, daemon=True)
    proxy._thread.start()
    try:
        yield proxy
    finally:
        proxy.stop()
