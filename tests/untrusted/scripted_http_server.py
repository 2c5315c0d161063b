"""An HTTP server that answers what the test scripts: any status and any bytes, per HTTP method.

For answers no honest server sends (deeply nested JSON, escape sequences in error pages, lock
records and `error` fields), to a state backend or a provider, over a real socket on 127.0.0.1,
stopped even when the test fails.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.quiet_http import QuietHTTPServer


@dataclass
class ScriptedServer:
    """`paths["METHOD /path"]`, then `paths["/path"]` (the path without its query), then
    `answers[method]`, each `(status, body)`; anything else answers 404 with no body."""

    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    paths: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    url: str = ""

    def address(self) -> str:
        """The state URL, when the server plays a Terraform HTTP state backend."""
        return f"{self.url}/state/ctconfig"

    def state_block(self) -> str:
        """The config's `state:` block, in flow style, for this server (no credentials)."""
        return f'{{backend: http, address: "{self.address()}"}}'


def _handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            status, body = (
                server.paths.get(f"{self.command} {path}")
                or server.paths.get(path)
                or server.answers.get(self.command, (404, b""))
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_LOCK = do_UNLOCK = do_DELETE = _answer

    return Handler


@contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    """Serve on a free 127.0.0.1 port in a thread; always shut down."""
    server = ScriptedServer()
    httpd = QuietHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
