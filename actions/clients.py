"""The web's Temporal client, connected on first use so the web starts while Temporal is down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import Client

from actions.temporal import connect
from duban.settings import Settings

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 5.0
T = TypeVar("T")


class TemporalUnavailable(Exception):
    """Temporal could not be reached; the web answers 503 (the one allowed 5xx)."""


class LazyTemporal:
    """Hold one Temporal client per app, connecting (and reconnecting after failure) on demand."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        """Use `client` when given (tests, `duban dev`), else connect with `settings` on first use."""
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        """Return the client, connecting now if needed; raise TemporalUnavailable on failure."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(
                        connect(self._settings), CONNECT_TIMEOUT_SECONDS
                    )
                except (TimeoutError, RuntimeError, OSError) as exc:
                    log.warning("Temporal unreachable: %s", exc)
                    raise TemporalUnavailable(str(exc)) from exc
            return self._client

    async def run(self, call: Callable[[Client], Awaitable[T]]) -> T:
        """Run one call on the client, bounded by the action timeout (else TemporalUnavailable).

        An Update the worker never picks up would otherwise wait for ever. The call may still
        complete later; actions carry an idempotency key, so the client's retry is safe.
        """
        client = await self.get()
        try:
            async with asyncio.timeout(self._settings.temporal_action_timeout):
                return await call(client)
        except TimeoutError as exc:
            log.warning(
                "Temporal did not answer within %ss", self._settings.temporal_action_timeout
            )
            raise TemporalUnavailable("timeout") from exc
