"""Structured run records that Application Insights can query.

Each finished run (backup, audit, restore, prune) logs one record: a sentence for people, then
``cxbackup.event=`` and a JSON object with the run's facts (snapshot id, counts, duration,
status). The JSON sits in the message itself because the Functions Python worker does not pass a
record's ``extra`` fields on to Application Insights; the same fields also go into ``extra`` so
that OpenTelemetry exporters, which do, get them as custom dimensions. Never put a secret in it.

Query in Application Insights (README "Telemetry")::

    traces
    | where message has "cxbackup.event="
    | extend e = parse_json(tostring(split(message, "cxbackup.event=")[1]))
"""

from __future__ import annotations

import json
import logging
from typing import Any

EVENT_MARKER = "cxbackup.event="


def log_event(
    logger: logging.Logger,
    level: int,
    message: str,
    *args: Any,
    event: str,
    **fields: Any,
) -> None:
    """Log ``message % args`` followed by the event's JSON; ``fields`` must be JSON-friendly."""
    payload = {"event": event, **fields}
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    # The JSON is passed as an argument, never formatted into the format string.
    logger.log(level, f"{message} {EVENT_MARKER}%s", *args, text, extra=payload)


def parse_event(message: str) -> dict[str, Any]:
    """The event JSON of a formatted log message (for tests and log tooling)."""
    if EVENT_MARKER not in message:
        raise ValueError("not a cxbackup event record")
    return json.loads(message.split(EVENT_MARKER, 1)[1])
