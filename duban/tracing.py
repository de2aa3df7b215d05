"""OpenTelemetry tracing: one trace from an HTTP request through the Update into the workflow
and its activities. Off (nothing installed, nothing exported) unless an OTLP endpoint is set:
DUBAN_OTEL_ENDPOINT, or the standard OTEL_EXPORTER_OTLP_ENDPOINT /
OTEL_EXPORTER_OTLP_TRACES_EXPORTER.

The Temporal client gets temporalio's `TracingInterceptor`; a worker built on that client
uses it too (the SDK hands a client's worker interceptors to its workers). The web app is
instrumented with opentelemetry-instrumentation-fastapi.

An Update nests in the trace of the request that sent it: HTTP request → StartWorkflowUpdate →
ValidateUpdate / HandleUpdate and StartActivity → RunActivity of what the handler does. As
shipped, TracingInterceptor parents every workflow-side span on the context the workflow was
started with and only *links* an Update's spans to the client span that sent it
(`TracingWorkflowInboundInterceptor.handle_update_handler` runs under
`_top_level_workflow_context`, which extracts `workflow.info().headers`); `NestedUpdates`
below, the subclass its docstring invites, parents them on the Update's own header instead and
links the workflow's start span. Spans of the workflow's own run (timers, reminders) stay on
the start's trace.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import opentelemetry.context
import temporalio.worker
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.api.common.v1 import Payload
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor

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


class _Carrier:
    """Headers that receive a new span's context (the shape of an outbound input)."""

    def __init__(self) -> None:
        self.headers: Mapping[str, Payload] = {}


class UpdateSpans(TracingWorkflowInboundInterceptor):
    """Parent an Update's spans, and what its handler starts, on the span that sent the Update."""

    @contextmanager
    def _attached(self, header: Payload | None) -> Iterator[bool]:
        """Make the context in a tracing header current for the block; no header: False."""
        if header is None:
            yield False
            return
        carrier = self.payload_converter.from_payloads([header])[0]
        context = self._set_on_context(self.text_map_propagator.extract(carrier))
        token = opentelemetry.context.attach(context)
        try:
            yield True
        finally:
            # As temporalio's own attach does: an evicted workflow's block may finish in
            # another contextvars.Context, where this token cannot be reset (nothing to undo).
            if opentelemetry.context.get_current() is context:
                with suppress(ValueError):
                    token.var.reset(token)

    def _span(self, name: str) -> Payload | None:
        """Record a span under the current context; return its context as a header."""
        made = _Carrier()
        self._completed_span(
            name,
            link_context_carrier=self._load_workflow_context_carrier(),
            add_to_outbound=made,
            kind=trace.SpanKind.SERVER,
        )
        return made.headers.get(self.header_key)  # None on replay: no span then

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        """Trace the validator as a child of the Update's client span."""
        with self._attached(input.headers.get(self.header_key)) as nested:
            if not nested:  # sent without a trace: as shipped (the workflow's context)
                return super().handle_update_validator(input)
            self._span(f"ValidateUpdate:{input.update}")
            return self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        """Trace the handler under the Update's client span, and what it starts under it."""
        with self._attached(input.headers.get(self.header_key)) as nested:
            if not nested:
                return await super().handle_update_handler(input)
            handled = self._span(f"HandleUpdate:{input.update}")
            with self._attached(handled):
                return await self.next.handle_update_handler(input)


class NestedUpdates(TracingInterceptor):
    """temporalio's TracingInterceptor with Updates nested in the sender's trace (UpdateSpans)."""

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        """Register the span externs as the parent does, and use UpdateSpans in workflows."""
        super().workflow_interceptor_class(input)
        return UpdateSpans


def temporal_interceptors(provider: TracerProvider | None) -> list[Interceptor]:
    """Return the client interceptors: the tracing one when a provider is given, else none."""
    if provider is None:
        return []
    return [NestedUpdates(provider.get_tracer("duban.temporal"))]


def instrument_web(app: FastAPI, provider: TracerProvider | None) -> None:
    """Trace every request of the app when a provider is given (probes and scrapes excluded)."""
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="/healthz,/readyz,/metrics,/static"
    )
