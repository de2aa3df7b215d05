"""The Temporal SDK's own metrics (workflow and activity task latencies, slots, polls, cache,
request failures) as Prometheus text, served by the SDK's Rust core on
DUBAN_TEMPORAL_METRICS_BIND (e.g. `0.0.0.0:9464`) by `duban worker`. Unset: not served.

The web's /metrics holds the app's HTTP metrics; these are the worker's, on their own port
(the core serves them itself, outside Python's registry).
"""

from __future__ import annotations

import logging

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from duban.settings import Settings

log = logging.getLogger(__name__)
_runtimes: dict[str, Runtime] = {}


def temporal_runtime(settings: Settings) -> Runtime | None:
    """Return the runtime exporting SDK metrics on the configured address (one per process)."""
    bind = settings.temporal_metrics_bind
    if not bind:
        return None
    if bind not in _runtimes:
        telemetry = TelemetryConfig(metrics=PrometheusConfig(bind_address=bind))
        _runtimes[bind] = Runtime(telemetry=telemetry)
        log.info("Temporal SDK metrics on http://%s/metrics", bind)
    return _runtimes[bind]
