"""Renderings of stored documents for people: JSON, Markdown and self-contained HTML.

Every renderer is pure: it takes a model and returns text. They print only what the model holds,
and the models hold no secret values, so a report is as safe to share as its model.
"""

from collections.abc import Callable

from shared.core.audit import Audit
from shared.reports.html import render_html
from shared.reports.json_report import render_json
from shared.reports.markdown import render_markdown

# Each audit format: its renderer and the media type it is served with.
AUDIT_FORMATS: dict[str, tuple[Callable[[Audit], str], str]] = {
    "json": (render_json, "application/json"),
    "markdown": (render_markdown, "text/markdown"),
    "html": (render_html, "text/html"),
}

__all__ = ["AUDIT_FORMATS", "render_html", "render_json", "render_markdown"]
