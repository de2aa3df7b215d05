"""OpenTelemetry: an HTTP action traced through the Update into the workflow and its activity."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from cli.worker import running_worker
from duban.db import make_session_factory
from duban.domain import UserRole
from duban.settings import Settings
from duban.tracing import otlp_endpoint, temporal_interceptors, tracer_provider
from tests.web.browser import add_user, api_token, new_client
from tests.web.workspace_temporal import eventually, start_lead_and_co, workspace_temporal
from web.app import create_app

__all__ = ["workspace_temporal"]


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def app(
    settings: Settings, workspace_temporal: WorkflowEnvironment, spans: InMemorySpanExporter
) -> AsyncIterator[FastAPI]:
    """The app and a worker, both on a client with the tracing interceptor, into memory."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    config = workspace_temporal.client.config()
    config["interceptors"] = temporal_interceptors(provider)
    client = Client(**config)
    tuned = settings.model_copy(update={"task_queue": f"tq-{uuid.uuid4()}"})
    application = create_app(tuned, temporal_client=client, tracing=provider)
    async with application.router.lifespan_context(application):
        factory = make_session_factory(application.state.engine)
        async with running_worker(client, tuned, factory, scheduler=False):
            yield application


def test_tracing_is_off_unless_an_endpoint_is_set(monkeypatch):
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert otlp_endpoint(settings) is None and tracer_provider(settings) is None
    assert temporal_interceptors(None) == []
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert otlp_endpoint(settings) == "http://127.0.0.1:4318"
    assert otlp_endpoint(Settings(otel_endpoint="http://c:4318")) == "http://c:4318"


async def test_http_action_traced_through_update_into_workflow_and_activity(app, db, spans):
    mine, _theirs = await start_lead_and_co(app, db)
    _uid, username = add_user(db, UserRole.STAFF, department="fpb")
    workflow_traces = {
        s.context.trace_id
        for s in spans.get_finished_spans()
        if s.name == "RunWorkflow:AssignmentWorkflow"
    }
    assert workflow_traces  # the start was traced (start_lead_and_co's client carries it)
    spans.clear()
    async with new_client(app) as client:
        sent = await client.post(
            f"/api/v1/assignments/{mine}/acknowledge",
            json={"key": "traced-ack"},
            headers=await api_token(client, username),
        )
    assert sent.status_code == 200, sent.text

    def named(prefix: str) -> list[Any]:
        return [s for s in spans.get_finished_spans() if s.name.startswith(prefix)]

    async def activity_ran() -> bool:
        return bool(named("RunActivity:record") and named("POST /api/v1/assignments/"))

    await eventually(activity_ran)
    (server,) = [s for s in named("POST /api/v1/assignments/") if s.parent is None]
    assert server.name == "POST /api/v1/assignments/{assignment_id}/acknowledge"
    (update,) = named("StartWorkflowUpdate:acknowledge")
    (validated,) = named("ValidateUpdate:acknowledge")
    (handled,) = named("HandleUpdate:acknowledge")
    started, ran = named("StartActivity:record"), named("RunActivity:record")
    assert started and ran
    # One trace, the HTTP request's, and a parent chain: request → Update sent → validator and
    # handler → the activity the handler starts → the activity run (duban.tracing.UpdateSpans).
    traced = (update, validated, handled, *started, *ran)
    assert {s.context.trace_id for s in traced} == {server.context.trace_id}
    assert update.parent is not None and update.parent.span_id == server.context.span_id
    assert validated.parent is not None and handled.parent is not None
    assert validated.parent.span_id == handled.parent.span_id == update.context.span_id
    assert {s.parent.span_id for s in started if s.parent} == {handled.context.span_id}
    assert {r.parent.span_id for r in ran if r.parent} <= {s.context.span_id for s in started}
    # The workflow's own trace (its start) stays one link away.
    [link] = handled.links
    assert link.context.trace_id in workflow_traces
    assert link.context.trace_id != server.context.trace_id
