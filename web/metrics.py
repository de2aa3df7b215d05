"""Prometheus metrics of the web: request latency and counts per route template, per app."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages answer in tens of milliseconds; the upper buckets catch Temporal waits and outages.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    """The HTTP metrics of one app, in a registry of its own (several apps may share a process)."""

    def __init__(self) -> None:
        """Create the registry and its request histogram and counter."""
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "duban_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ("method", "route"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.responses = Counter(
            "duban_http_responses",
            "HTTP responses by method, route template and status class.",
            ("method", "route", "status"),
            registry=self.registry,
        )


def route_of(scope: Scope) -> str:
    """Return the matched route's template (never the raw path: ids would explode the labels)."""
    route = scope.get("route")
    path = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
    return path if isinstance(path, str) else "unmatched"


class MetricsMiddleware:
    """Time every HTTP request and count its answer by status class (2xx, 4xx, 5xx)."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        """Wrap `app`, recording into `metrics`."""
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and record its duration once the answer has started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route, method = route_of(scope), str(scope["method"])
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
            self.metrics.responses.labels(method, route, f"{status // 100}xx").inc()
