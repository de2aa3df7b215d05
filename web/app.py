"""The web composition root: create_app(settings) wires DB, Temporal, sessions, CSRF, errors, routers."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from actions.clients import LazyTemporal
from duban.db import make_engine, make_session_factory
from duban.services.cockpit import Snapshots
from duban.services.evidence_s3 import evidence_store_for
from duban.services.policy import hide_pending_starts
from duban.services.user import ensure_admin
from duban.settings import Settings
from duban.tracing import instrument_web, tracer_provider
from web.deps import remember_lang, verify_csrf
from web.errors import install_error_handlers
from web.headers import SecurityHeadersMiddleware
from web.limits import BodyLimitMiddleware
from web.metrics import HttpMetrics, MetricsMiddleware
from web.openapi import install_openapi
from web.rendering import served_paths
from web.request_log import RequestLogMiddleware
from web.security import TokenSigner, parse_networks

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"

# Every router of the web, in order; each module exposes `router`. Imported strictly, so a
# misspelt or missing module fails at start-up.
ROUTER_MODULES: tuple[str, ...] = (
    "web.api.health",
    "web.api.auth",
    "web.api.account",
    "web.api.users",
    "web.api.departments",
    "web.api.assignments",
    "web.api.escalations",
    "web.api.assessment",
    "web.api.notifications",
    "web.api.board",
    "web.api.reviews",
    "web.api.policies",
    "web.api.conversation",
    "web.api.adhoc",
    "web.api.report_templates",
    "web.api.cascade",
    "web.pages.auth",
    "web.pages.oidc",
    "web.pages.account",
    "web.pages.home",
    "web.pages.admin",
    "web.pages.assignments",
    "web.pages.evidence",
    "web.pages.papers",
    "web.pages.preview",
    "web.pages.board",
    "web.pages.escalations",
    "web.pages.assessment",
    "web.pages.notifications",
    "web.pages.reviews",
    "web.pages.cockpit",
    "web.pages.policies",
    "web.pages.drafts",
    "web.pages.conversation",
    "web.pages.adhoc",
    "web.pages.draft_departments",
    "web.pages.report_templates",
    "web.pages.cascade",
)


def load_routers(names: tuple[str, ...] = ROUTER_MODULES) -> list[APIRouter]:
    """Import every router module and return its `router` (a missing one raises)."""
    routers: list[APIRouter] = []
    for name in names:
        router = importlib.import_module(name).router
        if not isinstance(router, APIRouter):
            raise TypeError(f"{name}.router is not an APIRouter")
        routers.append(router)
    return routers


def bootstrap_admin(session_factory: sessionmaker[Session], settings: Settings) -> None:
    """Create user `admin` at first start; a generated password is logged exactly once."""
    try:
        with session_factory.begin() as session:
            _user, generated = ensure_admin(session=session, password=settings.admin_password)
    except SQLAlchemyError as exc:  # unmigrated DB, or another replica won the race
        log.warning("could not ensure the admin account: %s", exc)
        return
    if generated:
        log.warning("created user 'admin' with generated password: %s", generated)


def create_app(
    settings: Settings,
    *,
    temporal_client: Client | None = None,
    dev_mode: bool = False,
    tracing: TracerProvider | None = None,
) -> FastAPI:
    """Build the ASGI app; `temporal_client` skips the lazy connection (tests, `duban dev`).

    `tracing` traces the requests into that provider; None: as configured (duban/tracing.py).

    `dev_mode` (only `duban dev`) accepts the published demo password and asks seeded
    accounts for no password change.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.sqlalchemy_url, **settings.engine_options())
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        hide_pending_starts(app.state.session_factory)
        bootstrap_admin(app.state.session_factory, settings)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="督办 duban API",
        version="1",
        lifespan=lifespan,
        dependencies=[Depends(verify_csrf), Depends(remember_lang)],
    )
    app.state.settings = settings
    app.state.temporal = LazyTemporal(settings, temporal_client)
    app.state.evidence_store = evidence_store_for(settings)
    app.state.token_signer = TokenSigner(settings.secret_key)
    app.state.dev_mode = dev_mode
    app.state.cockpit_snapshots = Snapshots()  # the cockpit's counts, kept 30 s
    app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="duban_session",
        max_age=settings.session_max_hours * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.state.metrics = HttpMetrics()
    # Outermost, so a request refused by any other layer is timed and counted too.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestLogMiddleware)  # outermost: every line of a request has its id
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    routers = load_routers()
    for router in routers:
        app.include_router(router)
    app.state.page_paths = served_paths(routers)
    instrument_web(app, tracing or tracer_provider(settings))
    install_openapi(app)
    return app
