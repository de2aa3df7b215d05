"""Served connections send small answers at once (TCP_NODELAY), in production and in the bench,
and the server freezes what start-up made.

Without TCP_NODELAY, Nagle's algorithm holds an answer's body until the client ACKs its
headers, and Linux delays that ACK by 40 ms: every request took ~44 ms more (issue #13). Without
the freeze, each full collection re-walked the app's ~350,000 start-up objects: a request that met
one waited ~180 ms more.
"""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.responses import PlainTextResponse

from bench.web_burst import loopback_socket
from tests.polling import eventually
from tests.smtp import free_port
from web.serving import Server, server_config

APP = FastAPI()


@APP.get("/")
async def _ok() -> PlainTextResponse:
    return PlainTextResponse("ok")


@asynccontextmanager
async def running(server: uvicorn.Server, *sockets: socket.socket) -> AsyncIterator[None]:
    task = asyncio.create_task(server.serve(sockets=list(sockets) or None))

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    try:
        await eventually(started, within=30)
        yield
    finally:
        server.should_exit = True
        await task


async def nodelay_of_open_connections(server: uvicorn.Server, base_url: str) -> list[int]:
    """Ask once over a kept-alive connection; return TCP_NODELAY of the server's connections."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        assert (await client.get("/")).text == "ok"
        connections = list(server.server_state.connections)
        socks = [c.transport.get_extra_info("socket") for c in connections]
        return [s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in socks]


async def test_duban_web_connections_have_tcp_nodelay() -> None:
    # `duban web --host --port`: uvicorn binds its own socket.
    port = free_port()
    config = server_config(APP, host="127.0.0.1", port=port, log_level="warning")
    server = Server(config)
    async with running(server):
        flags = await nodelay_of_open_connections(server, f"http://127.0.0.1:{port}")
    assert flags and all(flags), flags


async def test_bench_served_connections_have_tcp_nodelay() -> None:
    # bench.web_burst.served hands uvicorn a socket of its own: it must name its protocol.
    sock = loopback_socket()
    assert sock.proto == socket.IPPROTO_TCP
    server = uvicorn.Server(uvicorn.Config(APP, log_level="warning"))
    async with running(server, sock):
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        flags = await nodelay_of_open_connections(server, base_url)
    sock.close()
    assert flags and all(flags), flags


async def test_the_server_freezes_what_start_up_made() -> None:
    gc.unfreeze()
    port = free_port()
    server = Server(server_config(APP, host="127.0.0.1", port=port, log_level="warning"))
    try:
        async with running(server):
            frozen = gc.get_freeze_count()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                assert (await client.get("/")).text == "ok"
        # Everything the process held once serving began is out of the collector's reach: the
        # imported modules' functions among it.
        assert frozen > 10_000
        assert gc.is_tracked(_ok) and not any(o is _ok for o in gc.get_objects())
    finally:
        gc.unfreeze()
