"""Connections are kept alive and bounded: each account reuses at most 3, across many requests.

A counting TCP relay on loopback sits between the provider and `sandbox serve`
and records every connection the provider opens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ctconfig.domain import AccountTarget
from tests.http.conftest import ServerFactory, run

ACCOUNTS = tuple(f"CON-000-{n:04d}" for n in range(40))  # 120 in flight: more than httpx's default pool
PER_ACCOUNT = 6


@dataclass
class Relay:
    """Forwards bytes both ways and counts the connections it accepted."""

    port: int
    accepted: int = 0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def relay_to(host: str, port: int) -> AsyncIterator[Relay]:
    relay = Relay(0)
    tasks: set[asyncio.Task[None]] = set()

    async def accept(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        relay.accepted += 1
        server_reader, server_writer = await asyncio.open_connection(host, port)
        for task in (_pipe(client_reader, server_writer), _pipe(server_reader, client_writer)):
            tasks.add(asyncio.create_task(task))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    relay.port = server.sockets[0].getsockname()[1]
    try:
        yield relay
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_every_account_runs_three_in_flight_on_three_kept_alive_connections(
    start_server: ServerFactory,
) -> None:
    server = start_server("--latency", "0.05")
    env = {f"CT_CON{n}": server.admin(account) for n, account in enumerate(ACCOUNTS)}
    targets = [AccountTarget(f"a{n}", a, "eu1", f"CT_CON{n}") for n, a in enumerate(ACCOUNTS)]
    host, port = server.url.removeprefix("http://").rsplit(":", 1)

    async def scenario() -> None:
        async with relay_to(host, int(port)) as relay:
            provider = server.provider(env, base_url=f"http://127.0.0.1:{relay.port}")
            await asyncio.gather(
                *(provider.create_passcode(t, f"p{i:02d}", 30) for t in targets for i in range(PER_ACCOUNT))
            )
            await asyncio.gather(*(provider.read_account(t) for t in targets))
            assert provider.stats.requests == len(ACCOUNTS) * (PER_ACCOUNT + 3)
            assert provider.stats.retries == 0
            # Each account: 3 connections, opened once and reused; no account waits for another's.
            assert relay.accepted == 3 * len(ACCOUNTS)
            await provider.aclose()

    run(scenario)
    assert server.stats()["peak_inflight"] == 3
