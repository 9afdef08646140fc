"""JSON renderings: the audit as stored, and the JSON text of single values the other reports show.

The stored audit is already safe to print (no secret values, see :mod:`shared.core.audit`), so
the JSON report is its model dump, indented for people. The value helpers live here because
showing a config value as JSON (``"abc"`` vs ``abc``, ``1`` vs ``"1"``, ``null``) is what keeps
the markdown and HTML reports unambiguous.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import JsonValue

from shared.core.audit import Audit

ELLIPSIS = "…"


def render_json(audit: Audit) -> str:
    """The audit's model dump as indented JSON text, ending with a newline."""
    return audit.model_dump_json(indent=2) + "\n"


def value_text(value: JsonValue, *, indent: int | None = None) -> str:
    """``value`` spelt as JSON, non-ASCII kept; compact on one line unless ``indent`` is set."""
    separators = (", ", ": ") if indent is None else (",", ": ")
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with ``…`` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def format_time(moment: datetime) -> str:
    """A snapshot time for people: UTC to the second (``2026-12-04 02:00:00 UTC``)."""
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
