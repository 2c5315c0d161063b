"""A real HTTP server speaking Terraform's HTTP backend protocol the way GitLab serves it.

States live at `/state/<name>`. Locks are taken either Terraform's way
(`LOCK`/`UNLOCK` on the state URL) or GitLab's (`POST`/`DELETE` on
`/state/<name>/lock`). Like GitLab it refuses a POST whose `ID` does not name
the lock held, answers a taken lock with the holder's lock info, treats an
unlock without ID as a force-unlock, and checks HTTP basic auth.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.quiet_http import QuietHTTPServer

USERNAME = "gitlab-ci-token"
PASSWORD = "glpat-never-printed-7f3a"
READ_ONLY_PASSWORD = "glpat-reporter-only-11c2"


@dataclass
class Stored:
    """One state: its body as last stored and the lock info of its holder."""

    body: bytes | None = None
    lock: dict[str, Any] | None = None


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes


@dataclass
class StateServer:
    """The server's behaviour; `locked_status` 423 is Terraform's, GitLab answers 409."""

    locked_status: int = 423
    empty_status: int = 404
    reformat: bool = False  # store the JSON re-serialised, as a server with its own encoder would
    fail_with: int | None = None  # answer every request with this status
    states: dict[str, Stored] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    mutex: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def address(self, name: str = "ctconfig") -> str:
        return f"{self.url}/state/{name}"

    def stored(self, name: str = "ctconfig") -> Stored:
        with self.mutex:
            return self.states.setdefault(name, Stored())

    def document(self, name: str = "ctconfig") -> dict[str, Any]:
        body = self.stored(name).body
        assert body is not None
        data: dict[str, Any] = json.loads(body)
        return data


def _credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


class _Handler(BaseHTTPRequestHandler):
    """The protocol's answers; `state_server` is set by `_handler` for each served StateServer."""

    state_server: StateServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _answer(self, status: int, body: bytes = b"", content_type: str = "application/json") -> None:
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="state"')
        self.end_headers()
        self.wfile.write(body)

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parse_qs(parts.query)
        with self.state_server.mutex:
            self.state_server.requests.append(Request(self.command, parts.path, query, body))
        if self.state_server.fail_with is not None:
            self._answer(self.state_server.fail_with, b"upstream trouble\n", "text/plain")
            return
        who = _credentials(self.headers.get("Authorization"))
        if who is None or who not in ((USERNAME, PASSWORD), (USERNAME, READ_ONLY_PASSWORD)):
            self._answer(401, b'{"message":"401 Unauthorized"}')
            return
        segments = parts.path.strip("/").split("/")
        if len(segments) < 2 or segments[0] != "state" or len(segments) > 3:
            self._answer(404, b'{"message":"404 Not Found"}')
            return
        name, on_lock = segments[1], len(segments) == 3 and segments[2] == "lock"
        if self.command != "GET" and who[1] == READ_ONLY_PASSWORD:
            self._answer(403, b'{"message":"403 Forbidden"}')
            return
        action = {
            ("GET", False): self._get,
            ("POST", False): self._store,
            ("LOCK", False): self._lock,
            ("UNLOCK", False): self._unlock,
            ("POST", True): self._lock,
            ("DELETE", True): self._unlock,
        }.get((self.command, on_lock))
        if action is None:
            self._answer(405, b'{"message":"405 Method Not Allowed"}')
            return
        with self.state_server.mutex:
            action(self.state_server.states.setdefault(name, Stored()), body, query)

    def _get(self, stored: Stored, body: bytes, query: dict[str, list[str]]) -> None:
        if stored.body is None:
            self._answer(self.state_server.empty_status)
        else:
            self._answer(200, stored.body)

    def _store(self, stored: Stored, body: bytes, query: dict[str, list[str]]) -> None:
        given = query.get("ID", [None])[0]
        held = stored.lock["ID"] if stored.lock else None
        if given != held:  # GitLab: a locked state needs its ID; an unlocked one takes none
            self._answer(409, json.dumps(stored.lock or {"message": "not locked"}).encode())
            return
        stored.body = json.dumps(json.loads(body)).encode() if self.state_server.reformat else body
        self._answer(200)

    def _lock(self, stored: Stored, body: bytes, query: dict[str, list[str]]) -> None:
        if stored.lock is not None:
            self._answer(self.state_server.locked_status, json.dumps(stored.lock).encode())
            return
        stored.lock = json.loads(body)
        self._answer(200)

    def _unlock(self, stored: Stored, body: bytes, query: dict[str, list[str]]) -> None:
        given = json.loads(body).get("ID") if body else None
        force = given is None  # GitLab: Terraform's force-unlock sends no ID
        if force or (stored.lock is not None and stored.lock["ID"] == given):
            stored.lock = None
            self._answer(200)
        else:
            self._answer(409, json.dumps(stored.lock).encode() if stored.lock else b"")

    do_GET = do_POST = do_LOCK = do_UNLOCK = do_DELETE = _dispatch


def _handler(server: StateServer) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"state_server": server})


@contextmanager
def serving(server: StateServer) -> Iterator[StateServer]:
    """Serve on a free 127.0.0.1 port in a thread; always shut down, even when the test fails."""
    httpd = QuietHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="http-state-server", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
