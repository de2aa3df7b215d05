"""Structured logs (structlog): one JSON object per line in production, readable under `duban dev`.

Every `logging` call of duban and its libraries goes through the same processors, so a line
carries what the context knows: the web binds `request_id`, `route`, `status` and `user_id`
(web/request_log.py); an activity's lines get its `workflow_id`, `run_id` and `activity`
from Temporal's own activity context. DUBAN_LOG_FORMAT (`json` or `console`) overrides the
choice; DUBAN_LOG_LEVEL sets the level.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogFormat = Literal["json", "console"]
FORMATS: tuple[LogFormat, ...] = ("json", "console")


def add_activity_ids(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Add the workflow id, run id and activity type when the line is logged in an activity."""
    activity = sys.modules.get("temporalio.activity")  # not loaded: no activity runs here
    if activity is not None and activity.in_activity():
        info = activity.info()
        event.setdefault("workflow_id", info.workflow_id)
        event.setdefault("run_id", info.workflow_run_id)
        event.setdefault("activity", info.activity_type)
    return event


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        add_activity_ids,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def chosen_format(default: LogFormat) -> LogFormat:
    """Return DUBAN_LOG_FORMAT when it names a format, else `default`."""
    wanted = os.environ.get("DUBAN_LOG_FORMAT", "").strip().lower()
    for fmt in FORMATS:
        if wanted == fmt:
            return fmt
    return default


def configure_logging(fmt: LogFormat = "json", *, stream: Any = None) -> None:
    """Send every log record to `stream` (stderr) as JSON or as readable console lines."""
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    # JSON: the traceback as one string field (never the locals of a frame: they may hold secrets).
    exceptions: list[Processor] = [structlog.processors.format_exc_info] if fmt == "json" else []
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *exceptions,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(os.environ.get("DUBAN_LOG_LEVEL", "INFO").upper())
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
