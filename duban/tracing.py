"""OpenTelemetry tracing: one trace from an HTTP request through the Update into the workflow
and its activities. Off (nothing installed, nothing exported) unless an OTLP endpoint is set:
DUBAN_OTEL_ENDPOINT, or the standard OTEL_EXPORTER_OTLP_ENDPOINT /
OTEL_EXPORTER_OTLP_TRACES_EXPORTER.

The Temporal client gets temporalio's `TracingInterceptor`; a worker built on that client
uses it too (the SDK hands a client's worker interceptors to its workers). The web app is
instrumented with opentelemetry-instrumentation-fastapi.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from duban.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)
_provider: TracerProvider | None = None


def otlp_endpoint(settings: Settings) -> str | None:
    """Return where spans go: DUBAN_OTEL_ENDPOINT, else OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT."""
    return (
        settings.otel_endpoint
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or None
    )


def tracer_provider(settings: Settings, service: str = "duban") -> TracerProvider | None:
    """Return the process's provider exporting over OTLP/HTTP, made once; None when tracing is off."""
    global _provider
    endpoint = otlp_endpoint(settings)
    if endpoint is None:
        return None
    if _provider is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        traces = endpoint.rstrip("/")
        if not traces.endswith("/v1/traces"):
            traces += "/v1/traces"
        name = os.environ.get("OTEL_SERVICE_NAME") or service
        _provider = TracerProvider(resource=Resource.create({"service.name": name}))
        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
        trace.set_tracer_provider(_provider)
        log.info("tracing on: spans of %s go to %s", service, traces)
    return _provider


def temporal_interceptors(provider: TracerProvider | None) -> list[Interceptor]:
    """Return the client interceptors: the tracing one when a provider is given, else none."""
    if provider is None:
        return []
    return [TracingInterceptor(provider.get_tracer("duban.temporal"))]


def instrument_web(app: FastAPI, provider: TracerProvider | None) -> None:
    """Trace every request of the app when a provider is given (probes and scrapes excluded)."""
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="/healthz,/readyz,/metrics,/static"
    )
