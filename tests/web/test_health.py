"""Liveness, readiness and metrics answer without signing in, and readiness says what is down."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from duban.settings import Settings
from tests.s3 import MotoServer
from tests.web.browser import new_client
from tests.web.workspace_temporal import workspace_temporal  # noqa: F401
from web.app import create_app


async def test_healthz_answers_without_signing_in(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_503_with_retry_after_when_temporal_is_unreachable(tmp_path, settings):
    # Nothing listens on port 1: the lazy client fails to connect, the database answers.
    unreachable = settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    app = create_app(unreachable)
    async with app.router.lifespan_context(app), new_client(app) as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert "Temporal" in body["checks"]["temporal"]


async def test_readyz_is_200_with_database_and_temporal(
    settings,
    workspace_temporal: WorkflowEnvironment,  # noqa: F811
):
    app = create_app(settings, temporal_client=workspace_temporal.client)
    async with app.router.lifespan_context(app), new_client(app) as c:
        response = await c.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "temporal": "ok"}


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///{tmp}/no/such/folder/duban.sqlite3",
        # Nothing listens on port 1: the connection is refused at once.
        "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2",
    ],
    ids=["sqlite", "postgresql"],
)
async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path, settings: Settings, url):
    broken = settings.model_copy(update={"database_url": url.format(tmp=tmp_path)})
    app = create_app(broken)
    async with app.router.lifespan_context(app), new_client(app) as c:
        response = await c.get("/readyz")
        alive = await c.get("/healthz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["checks"]["database"] != "ok"
    assert alive.status_code == 200


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient):
    await client.get("/healthz")
    await client.get("/api/v1/assignments/12345")  # 401, counted under its template
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'duban_http_responses_total{method="GET",route="/healthz",status="2xx"} 1.0' in text
    assert 'route="/api/v1/assignments/{assignment_id}",status="4xx"' in text
    assert "12345" not in text
    assert (
        'duban_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"}'
        in text
    )


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_are_not_in_the_api_contract(app: FastAPI, path):
    assert path not in app.openapi()["paths"]


async def test_readyz_checks_the_evidence_store_when_s3_is_set(
    settings,
    workspace_temporal: WorkflowEnvironment,  # noqa: F811
):
    """The same app against a real moto server process: 200 while it runs, 503 once stopped."""
    server = MotoServer()
    try:
        app = create_app(
            server.settings(settings, server.bucket()), temporal_client=workspace_temporal.client
        )
        async with app.router.lifespan_context(app), new_client(app) as c:
            up = await c.get("/readyz")
            server.stop()
            down = await c.get("/readyz")
            alive = await c.get("/healthz")
    finally:
        server.stop()
    assert up.status_code == 200, up.text
    assert up.json()["checks"] == {"database": "ok", "temporal": "ok", "evidence_store": "ok"}
    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    checks = down.json()["checks"]
    assert (checks["database"], checks["temporal"]) == ("ok", "ok")
    assert "证据存储" in checks["evidence_store"] and "evidence store" in checks["evidence_store"]
    assert alive.status_code == 200


async def test_readyz_is_503_when_the_bucket_is_missing(
    settings,
    s3_server: MotoServer,
    workspace_temporal: WorkflowEnvironment,  # noqa: F811
):
    """The store answers but the configured bucket is not there: evidence cannot be kept."""
    app = create_app(
        s3_server.settings(settings, "no-such-bucket"), temporal_client=workspace_temporal.client
    )
    async with app.router.lifespan_context(app), new_client(app) as c:
        response = await c.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.json()["checks"]["evidence_store"] != "ok"
