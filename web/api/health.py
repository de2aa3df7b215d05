"""Liveness, readiness and metrics: /healthz, /readyz and /metrics, open without signing in."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from actions.clients import LazyTemporal, TemporalUnavailable
from duban.services.evidence_s3 import EvidenceStoreUnavailable, S3EvidenceStore
from web.metrics import HttpMetrics

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
# A probe must answer well inside the orchestrator's own probe timeout (commonly 1-5 s).
CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Answer that the process is up; it checks nothing else."""
    return {"status": "ok"}


def _ping_database(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        session.execute(text("SELECT 1"))


async def _database_ready(request: Request) -> str | None:
    factory: sessionmaker[Session] = request.app.state.session_factory
    try:
        await asyncio.wait_for(run_in_threadpool(_ping_database, factory), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "数据库无响应 / database did not answer"
    except Exception as exc:  # any driver error means "not ready", never a 500
        log.warning("readiness: database unreachable: %s", exc)
        return "数据库不可用 / database unreachable"
    return None


async def _temporal_ready(request: Request) -> str | None:
    temporal: LazyTemporal = request.app.state.temporal
    try:
        client = await asyncio.wait_for(temporal.get(), CHECK_TIMEOUT_SECONDS)
        await asyncio.wait_for(client.service_client.check_health(), CHECK_TIMEOUT_SECONDS)
    except (TimeoutError, TemporalUnavailable, RuntimeError) as exc:
        log.warning("readiness: Temporal unreachable: %s", exc)
        return "Temporal 不可用 / Temporal unreachable"
    return None


async def _evidence_store_ready(store: S3EvidenceStore) -> str | None:
    try:
        await asyncio.wait_for(run_in_threadpool(store.check_ready), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "证据存储无响应 / evidence store did not answer"
    except EvidenceStoreUnavailable:  # logged where it is raised
        return "证据存储不可用 / evidence store unreachable"
    return None


async def _no_check() -> str | None:
    return None


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Answer 200 when the database, Temporal and (if S3 is set) the evidence store answer.

    Otherwise 503 + Retry-After, with each part's check: what is down is named there.
    A folder evidence store is on this machine's disk and is not checked.
    """
    store = request.app.state.evidence_store
    s3 = isinstance(store, S3EvidenceStore)
    database, temporal, evidence = await asyncio.gather(
        _database_ready(request),
        _temporal_ready(request),
        _evidence_store_ready(store) if s3 else _no_check(),
    )
    checks = {"database": database or "ok", "temporal": temporal or "ok"}
    if s3:
        checks["evidence_store"] = evidence or "ok"
    if database or temporal or evidence:
        return JSONResponse(
            {"status": "unavailable", "checks": checks},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ok", "checks": checks})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Return the app's metrics in the Prometheus text format."""
    registry: HttpMetrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
