"""End to end in Debian's chromium: 统一身份认证登录 through a real OIDC provider process
(tests/oidc/provider.mjs): the login page's button, the provider's form, back signed in as
the mapped department user; an unknown department gets the refusal page."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, expect

from duban.db import make_engine, make_session_factory
from duban.models import Department, OidcIdentity, User
from duban.settings import Settings
from tests.db import sqlite_url
from tests.e2e.stack import free_port, wait_until
from tests.oidc.provider import OidcProvider
from web.app import create_app

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")
USERS = {
    "e2e-staff": {"name": "周承办", "duban_department": "ORG-A", "duban_role": "承办人"},
    "e2e-stranger": {"name": "吴", "duban_department": "ORG-Z", "duban_role": "承办人"},
}


class Served(threading.Thread):
    """The app under uvicorn in a thread, on `port`."""

    def __init__(self, settings: Settings, port: int) -> None:
        super().__init__(name="duban-e2e-oidc", daemon=True)
        self.app = create_app(settings)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        )

    def run(self) -> None:
        asyncio.run(self.server.serve())


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """The app with single sign-on through a real provider; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = OidcProvider(USERS, [f"{base}/login/oidc/callback"])
    url = sqlite_url(tmp_path)
    settings = provider.settings(
        Settings(data_dir=tmp_path / "data", database_url=url, secret_key="e2e-oidc"),
        base_url=base,
        oidc_department_map="ORG-A=fpb",
        oidc_role_map="承办人=staff",
    )
    engine = make_engine(url)
    with make_session_factory(engine).begin() as s:
        s.add(Department(code="fpb", name="省扶贫办"))
    server = Served(settings, port)
    server.start()
    wait_until(lambda: server.server.started, within=30, what="the app serving")
    try:
        yield base, settings
    finally:
        server.server.should_exit = True
        server.join(timeout=10)
        provider.stop()
        engine.dispose()


def test_single_sign_on_in_the_browser(browser: Browser, live: tuple[str, Settings]) -> None:
    base, settings = live
    RESULTS.mkdir(exist_ok=True)
    for name, viewport in (
        ("desktop", {"width": 1280, "height": 900}),
        ("phone", {"width": 390, "height": 844}),
    ):
        context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(f"{base}/login")
        button = page.get_by_role("link", name="统一身份认证登录")
        expect(button).to_be_visible()
        page.screenshot(path=str(RESULTS / f"oidc-login-{name}.png"), full_page=True)
        button.click()
        page.get_by_label("Subject").fill("e2e-staff")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/")
        expect(page.get_by_text("周承办").first).to_be_visible()
        context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.get_by_role("link", name="统一身份认证登录").click()
    page.get_by_label("Subject").fill("e2e-stranger")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("ORG-Z")
    expect(page.get_by_role("heading", name="统一身份认证登录未成功")).to_be_visible()
    page.screenshot(path=str(RESULTS / "oidc-refused-desktop.png"), full_page=True)
    context.close()

    engine = make_engine(str(settings.database_url))
    with make_session_factory(engine)() as s:
        links = s.query(OidcIdentity).all()
        assert [link.subject for link in links] == ["e2e-staff"]
        user = s.get(User, links[0].user_id)
        assert user is not None and user.role == "staff" and user.department is not None
        assert user.department.code == "fpb"
    engine.dispose()
