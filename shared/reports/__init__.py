"""Renderings of stored documents for people: JSON, Markdown and self-contained HTML.

Every renderer is pure: it takes a model and returns text. They print only what the model holds,
and the models hold no secret values, so a report is as safe to share as its model.
"""

from shared.reports.html import render_html
from shared.reports.json_report import render_json
from shared.reports.markdown import render_markdown

__all__ = ["render_html", "render_json", "render_markdown"]
