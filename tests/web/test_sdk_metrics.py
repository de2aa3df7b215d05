"""The worker's Temporal SDK metrics: served as Prometheus text on DUBAN_TEMPORAL_METRICS_BIND."""

from __future__ import annotations

import uuid

import httpx
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from actions.temporal import connect
from duban.sdk_metrics import temporal_runtime
from duban.settings import Settings
from tests.e2e.stack import free_port
from tests.web.workspace_temporal import eventually, workspace_temporal
from workflows.assignment import AssignmentWorkflow

__all__ = ["workspace_temporal"]


def test_off_unless_a_bind_address_is_set():
    assert temporal_runtime(Settings()) is None


async def test_a_worker_exports_the_sdk_metrics(workspace_temporal: WorkflowEnvironment):
    bind = f"127.0.0.1:{free_port()}"
    settings = Settings(
        temporal_address=workspace_temporal.client.service_client.config.target_host,
        temporal_metrics_bind=bind,
    )
    runtime = temporal_runtime(settings)
    assert runtime is not None and temporal_runtime(settings) is runtime  # one per process
    client = await connect(settings, runtime=runtime)
    worker = Worker(client, task_queue=f"metrics-{uuid.uuid4()}", workflows=[AssignmentWorkflow])

    async def scraped() -> str:
        async with httpx.AsyncClient() as http:
            try:
                text = (await http.get(f"http://{bind}/metrics")).text
            except httpx.TransportError:  # not listening yet
                return ""
        return text if "temporal_worker_task_slots_available" in text else ""

    async with worker:
        text = await eventually(scraped)
    assert 'task_queue="metrics-' in text and "temporal_request" in text
