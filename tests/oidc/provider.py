"""A real OpenID Connect provider for tests: tests/oidc/provider.mjs (panva's certified
`oidc-provider`, pinned in package-lock.json) as a Node child process.

`ensure_node_modules()` runs `npm ci` here when node_modules is missing (a clean clone;
`make install` does it too). Users are given as {subject: claims}; each may carry `amr`/`acr`,
which the provider puts into the ID token when that subject signs in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from duban.settings import Settings
from tests.e2e.stack import free_port, wait_until

HERE = Path(__file__).resolve().parent
CLIENT_ID, CLIENT_SECRET = "duban-test", "duban-test-client-secret"


def ensure_node_modules() -> None:
    """Install the pinned provider (`npm ci`) unless it is installed already."""
    if (HERE / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed for the OIDC tests (Node 20+)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True)


class OidcProvider:
    """`node provider.mjs` on a free port until `stop()`; `issuer` is its URL."""

    def __init__(self, users: dict[str, dict[str, Any]], redirect_uris: list[str]) -> None:
        ensure_node_modules()
        node = shutil.which("node")
        assert node is not None, "node is needed for the OIDC tests"
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        env = os.environ | {
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
            "OIDC_USERS": json.dumps(users),
        }
        self.process = subprocess.Popen(
            [node, str(HERE / "provider.mjs"), str(self.port)],
            cwd=HERE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # "listening <issuer>" once it serves
        if not line.startswith("listening"):
            self.stop()
            raise RuntimeError(f"the OIDC provider did not start: {line!r}")

    def settings(self, settings: Settings, **extra: Any) -> Settings:
        """Return `settings` with single sign-on through this provider."""
        return settings.model_copy(
            update={
                "oidc_issuer": self.issuer,
                "oidc_client_id": CLIENT_ID,
                "oidc_client_secret": CLIENT_SECRET,
            }
            | extra
        )

    def stop(self) -> None:
        """End the provider process (and wait for it)."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        wait_until(lambda: self.process.poll() is not None, within=10, what="provider ended")
