"""A loopback HTTP/1.1 server that answers from a script, for sequences the sandbox cannot stage.

Each request gets the next scripted answer (status and JSON body) and is
recorded with its method, path and headers. Real sockets, keep-alive, nothing
else: the layer under test is the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

REASONS = {200: "OK", 201: "Created", 404: "Not Found", 409: "Conflict", 500: "Internal Server Error"}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class ScriptedServer:
    answers: list[tuple[int, dict[str, Any]]]
    url: str = ""
    seen: list[Seen] = field(default_factory=list)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request_line := await reader.readline():
                method, path, _ = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, value = line.decode("latin-1").split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.seen.append(Seen(method, path, headers))
                status, body = self.answers.pop(0)
                payload = json.dumps(body).encode()
                head = (
                    f"HTTP/1.1 {status} {REASONS.get(status, 'Answer')}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
                )
                writer.write(head.encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def scripted(answers: list[tuple[int, dict[str, Any]]]) -> AsyncIterator[ScriptedServer]:
    """Serve `answers` in order on a free loopback port; closed on exit even if the test fails."""
    script = ScriptedServer(list(answers))
    server = await asyncio.start_server(script._serve, "127.0.0.1", 0)
    script.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield script
    finally:
        server.close()
