"""A loopback HTTP server that answers nothing useful and remembers every request it was sent.

It stands for a host a hostile config points ctconfig at: a test asserts that it heard
nothing (the config was refused before any request) or exactly what was allowed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.quiet_http import QuietHTTPServer


@dataclass
class Recorder:
    """The server's origin and the requests it received (method, path, headers)."""

    url: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def heard(self, needle: str) -> bool:
        """Whether `needle` was in any request line or header value."""
        return any(
            needle in path or any(needle in value for value in headers.values())
            for _, path, headers in self.requests
        )


@contextmanager
def recording_server() -> Iterator[Recorder]:
    """Serve on 127.0.0.1 (a free port) until the block ends, even when the test fails."""
    recorder = Recorder("")

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            recorder.requests.append((self.command, self.path, dict(self.headers.items())))
            body = b'{"status": "fail", "error": "recorded", "code": 401}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = QuietHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
