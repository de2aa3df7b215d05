"""How uvicorn serves duban: one config for `duban web`, `duban dev` and tests."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI


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
