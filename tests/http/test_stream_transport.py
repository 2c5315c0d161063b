"""The stream transport's pool: kept-alive connections reused, bounded in number, stale ones dropped."""

from __future__ import annotations

import asyncio

import httpx

from ctconfig.providers.http_streams import StreamTransport
from tests.http.scripted import scripted


def test_requests_beyond_the_connection_bound_wait_for_a_connection() -> None:
    answers = [(200, {"status": "success"})] * 12

    async def scenario() -> None:
        async with scripted(answers) as server:
            transport = StreamTransport(deadline=10, connect_timeout=5, max_connections=2)
            requests = [httpx.Request("GET", f"{server.url}/1/x{i}.json") for i in range(12)]
            answered = await asyncio.gather(*(transport.handle_async_request(r) for r in requests))
            assert [a.status_code for a in answered] == [200] * 12
            assert transport.opened == 2  # never more than the bound, each reused
            await transport.aclose()

    asyncio.run(scenario())


def test_an_idle_connection_older_than_the_keepalive_is_not_reused() -> None:
    now = [0.0]
    answers = [(200, {"status": "success"})] * 3

    async def scenario() -> None:
        async with scripted(answers) as server:
            transport = StreamTransport(deadline=10, connect_timeout=5, keepalive=4.0, clock=lambda: now[0])
            url = f"{server.url}/1/x.json"
            await transport.handle_async_request(httpx.Request("GET", url))
            now[0] = 3.9
            await transport.handle_async_request(httpx.Request("GET", url))
            assert transport.opened == 1  # reused within the keep-alive
            now[0] = 8.0
            await transport.handle_async_request(httpx.Request("GET", url))
            assert transport.opened == 2  # idle 4.1 s: closed, a new one opened
            await transport.aclose()

    asyncio.run(scenario())
