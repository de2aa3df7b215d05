"""How uvicorn serves duban: one config and one server for `duban web`, `duban dev` and the bench."""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from duban.process import freeze_after_start_up


def server_config(app: FastAPI, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """Return uvicorn's config with its own proxy-header handling off.

    uvicorn would otherwise take X-Forwarded-For from any peer on 127.0.0.1 as the client's
    address; the app reads it itself, from DUBAN_TRUSTED_PROXIES only (web/security.py).
    """
    options.setdefault("log_config", None)  # its lines go through duban.logs (JSON or console)
    options.setdefault("access_log", False)  # web/request_log.py logs each request instead
    return uvicorn.Config(
        app, host=host, port=port, proxy_headers=False, server_header=False, **options
    )


class Server(uvicorn.Server):
    """uvicorn's server that, once the app has started, freezes what start-up made: without it
    every full collection re-walks ~350,000 start-up objects and the request it lands in waits
    ~180 ms (`make bench` section (f))."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then freeze."""
        await super().startup(sockets)
        if not self.should_exit:
            freeze_after_start_up()
