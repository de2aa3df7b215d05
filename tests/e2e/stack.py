"""A live duban for the browser: dev server, worker and uvicorn in one background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions.starter import start_policy
from cli.worker import running_worker
from duban.db import make_engine, make_session_factory
from duban.models import AuditEvent
from duban.settings import Settings
from tests.db import sqlite_url
from tests.temporal_env import start_local_env
from tests.two_factor import code_for, enrol_everyone
from web.app import create_app

PASSWORD = "correct-horse-1"  # every seeded account's
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
# The escalation ladder in seconds: an assignment due now reaches level 3 within ten seconds,
# through the workflow's own timers (DUBAN_ESCALATION_OFFSETS).
FAST_LADDER = "PT2S,PT4S,PT6S"


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


def signed_in(
    browser: Browser,
    base: str,
    username: str,
    viewport: ViewportSize = DESKTOP,
    *,
    confirm: bool = True,
) -> Page:
    """A fresh browser context at `viewport`, signed in as `username` (second factor too).

    With `confirm`, the confirmations before irreversible actions (报送, 通过) are accepted, as
    the person means it."""
    context = browser.new_context(
        viewport=viewport, device_scale_factor=1, is_mobile=viewport["width"] < 600
    )
    page = context.new_page()
    if confirm:
        page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    second_step(page, username)
    expect(page.locator(".who-name")).to_be_visible()
    return page


def api_headers(base: str, username: str) -> dict[str, str]:
    """The bearer header of an API token for `username` (second factor typed too)."""
    answer = httpx.post(
        f"{base}/api/v1/auth/token",
        json={"username": username, "password": PASSWORD, "otp": code_for(username)},
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def fits_phone(page: Page) -> None:
    """Assert the page does not scroll sideways on a phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{page.url} is {width}px wide"


@dataclass
class Live:
    """A running stack: its address, database, settings and what the seed returned."""

    url: str
    factory: sessionmaker[Session]
    settings: Settings
    ids: list[int]
    extra: dict[str, Any] = field(default_factory=dict)


# A seed gets the open transaction and the settings; it returns the assignment ids the stack
# waits for, the policy key to start (None: the test publishes its own), and anything else.
Seed = Callable[[Session, Settings], tuple[list[int], str | None, dict[str, Any]]]


@contextmanager
def live_stack(tmp: Path, name: str, seed: Seed, **overrides: Any) -> Iterator[Live]:
    """Seed a SQLite database in `tmp`, serve it on the live stack, and stop it afterwards."""
    url = sqlite_url(tmp)
    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        secret_key=f"e2e-{name}",
        task_queue=f"e2e-{name}",
        **overrides,
    )
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        ids, policy_key, extra = seed(s, settings)
    stack = LiveStack(settings, factory, policy_key)
    stack.start()
    try:
        stack.started(ids)
        yield Live(stack.base_url, factory, settings, ids, extra)
    finally:
        stack.stop()
        engine.dispose()


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
