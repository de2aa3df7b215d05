"""What every browser test shares: Debian's Chromium, launched the one way this machine allows."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium, headless, without a sandbox or GPU."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": flags}
