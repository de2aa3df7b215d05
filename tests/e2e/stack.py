"""A live duban for the browser: dev server, worker and uvicorn in one background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable

import uvicorn
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions.starter import start_policy
from cli.worker import running_worker
from duban.models import AuditEvent
from duban.settings import Settings
from tests.temporal_env import start_local_env
from tests.two_factor import code_for, enrol_everyone
from web.app import create_app


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], *, within: float = 60.0, what: str = "condition") -> None:
    """Poll `check` until it is true, or fail at the deadline."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within}s")
        time.sleep(0.1)


def second_step(page: Page, username: str) -> None:
    """After the password, type the TOTP code when the account has one (enrolled above)."""
    code = code_for(username)
    if code is None:
        return
    page.wait_for_url("**/login/2fa**")
    page.get_by_label("验证码或恢复码").fill(code)
    page.get_by_role("button", name="验证").click()


class LiveStack(threading.Thread):
    """Temporal dev server + worker + the web app on a free port, until `stop()`."""

    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], policy_key: str | None
    ) -> None:
        super().__init__(name="duban-e2e", daemon=True)
        self.settings, self.factory, self.policy_key = settings, factory, policy_key
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced to the test by `started()`
            self.error = exc

    async def _main(self) -> None:
        env = await start_local_env()
        try:
            async with running_worker(env.client, self.settings, self.factory, scheduler=False):
                if self.policy_key is not None:  # None: the test publishes its own policy
                    await start_policy(
                        env.client,
                        session_factory=self.factory,
                        settings=self.settings,
                        policy_key=self.policy_key,
                    )
                enrol_everyone(
                    self.factory, self.settings.secret_key
                )  # supervisors, assessors, leaders, admins: TOTP
                app = create_app(self.settings, temporal_client=env.client)
                config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
                self.server = uvicorn.Server(config)
                await self.server.serve()
        finally:
            await env.shutdown()

    def started(self, assignment_ids: list[int]) -> None:
        """Wait until the web answers and every assignment has opened its first period."""

        def ready() -> bool:
            if self.error is not None:
                raise AssertionError(f"stack failed: {self.error!r}")
            if self.server is None or not self.server.started:
                return False
            with self.factory() as s:
                opened = set(
                    s.scalars(
                        select(AuditEvent.assignment_id).where(AuditEvent.kind == "period_opened")
                    )
                )
            return set(assignment_ids) <= opened

        wait_until(ready, within=90, what="live stack")

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread to wind down."""
        if self.server is not None:
            self.server.should_exit = True
        self.join(timeout=60)
