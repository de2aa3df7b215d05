"""`duban web` is the production web process: it refuses to start without a real secret key."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_policy_commands import DUBAN, assert_one_line_failure


def _web(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DUBAN_SECRET_KEY"}
    env.update(DUBAN_DATA_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/d.db", **extra)
    return subprocess.run(
        [str(DUBAN), "web", "--port", "1"],  # never reached: the check comes first
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({}, "not set"),
        ({"DUBAN_SECRET_KEY": "change-me-in-production"}, "too weak"),
        ({"DUBAN_SECRET_KEY": "short-but-random-9f2"}, "too weak"),
    ],
    ids=["missing", "published-placeholder", "short"],
)
def test_web_refuses_a_missing_or_weak_secret_key(tmp_path: Path, extra, why):
    proc = _web(tmp_path, **extra)
    assert_one_line_failure(proc)
    assert why in proc.stderr
