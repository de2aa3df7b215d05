"""The OpenAPI contract run: the app served by uvicorn in the test's loop, schemathesis as each role.

schemathesis runs as its own process (its CLI, exactly as an operator would run it) against a
real HTTP server, so every check sees real responses: status codes, headers, bodies and 405s.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# What `--checks all` runs in schemathesis 4.32, named one by one to leave out the one timing
# check, max_response_time (any response over 10 s fails): it measures how busy the machine
# is, not the contract; speed is measured in bench/ and never asserted in tests. A request
# that hangs still fails, as a network error after --request-timeout.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)
# Bounded examples per operation keep the run short; a fixed seed makes a failure reproducible.
MAX_EXAMPLES = 5
SEED = 17
PHASES = "examples,coverage,fuzzing"
CONFIG = Path(__file__).with_name("schemathesis.toml")


@dataclass(frozen=True)
class ContractRun:
    """What one role's schemathesis run printed, and its exit code."""

    role: str
    returncode: int
    output: str

    def operations(self) -> tuple[int, int]:
        """Return (operations tested, operations in the document) from the run's summary."""
        selected = re.search(r"Selected: (\d+)/(\d+)", self.output)
        tested = re.search(r"Tested: (\d+)", self.output)
        if not (selected and tested):
            return 0, -1
        return int(tested[1]), int(selected[2])


async def run_schemathesis(base_url: str, role: str, token: str, report_dir: Path) -> ContractRun:
    """Run `schemathesis run --checks all` over the whole document with this role's token."""
    cli = Path(sys.executable).with_name("schemathesis")
    args = [
        str(cli),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--phases",
        PHASES,
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir / role),
    ]
    env = {**os.environ, "NO_COLOR": "1"}
    log = report_dir / f"{role}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=out, stderr=asyncio.subprocess.STDOUT, env=env, cwd=report_dir
        )
        await proc.wait()
    assert proc.returncode is not None
    return ContractRun(role, proc.returncode, log.read_text(errors="replace"))
