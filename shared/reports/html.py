"""The audit as one self-contained HTML page: readable at a glance, safe to open anywhere.

Inline CSS only: no scripts, fonts, images or links to fetch, so the page works from a mail
attachment or a blob with no network and leaks no request. Every piece of text from the audit is
escaped. Sections collapse with ``<details>``, which needs no JavaScript.

Stable hooks for tests and tooling: each subscription is ``<section class="subscription"
data-subscription-id>``, each integration carries ``data-integration-id``, and each change is
``<tr class="change" data-path data-op>`` (``data-secret="true"`` for hidden values).
"""

from __future__ import annotations

from html import escape

from pydantic import JsonValue

from shared.core.audit import Audit, FieldChange, IntegrationAudit, SubscriptionAudit
from shared.reports.json_report import format_time, shorten, value_text

_CSS = """
:root { color-scheme: light; --red-bg: #ffebe9; --red: #cf222e; --green-bg: #e6ffec;
  --green: #1a7f37; --amber-bg: #fff8c5; --amber: #9a6700; --grey: #656d76; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto,
  Helvetica, Arial, sans-serif; color: #1f2328; background: #f6f8fa; }
main { max-width: 1200px; margin: 0 auto; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { display: inline; font-size: 18px; margin: 0; }
h3 { font-size: 15px; margin: 16px 0 8px; }
code, pre { font: 12px/1.45 ui-monospace, SFMono-Regular, Consolas, "Liberation Mono", monospace; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.meta { color: var(--grey); margin: 0; }
.stats { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 24px; padding: 0;
  list-style: none; }
.stat { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 16px;
  min-width: 120px; }
.stat b { display: block; font-size: 22px; }
.stat.added b { color: var(--green); } .stat.removed b { color: var(--red); }
.stat.modified b { color: var(--amber); }
.verdict { font-weight: 600; }
section.subscription { background: #fff; border: 1px solid var(--line); border-radius: 6px;
  margin: 0 0 16px; padding: 12px 16px; }
summary { cursor: pointer; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px;
  font-weight: 600; border: 1px solid transparent; vertical-align: middle; }
.badge.added { background: var(--green-bg); color: var(--green); }
.badge.removed { background: var(--red-bg); color: var(--red); }
.badge.modified { background: var(--amber-bg); color: var(--amber); }
.badge.secret { background: #ddf4ff; color: #0969da; border-color: #54aeff; }
.badge.muted, .badge.in-string { background: #eaeef2; color: var(--grey); }
.note { background: var(--amber-bg); border-left: 4px solid var(--amber); padding: 6px 10px;
  margin: 8px 0; }
ul.integrations { margin: 0; padding-left: 20px; }
.id { color: var(--grey); }
.who { color: var(--grey); }
details.integration { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; }
details.integration > summary { padding: 6px 10px; background: #f6f8fa; }
table.changes { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.changes th, table.changes td { border-top: 1px solid var(--line); padding: 4px 8px;
  text-align: left; vertical-align: top; }
table.changes th { font-size: 12px; color: var(--grey); font-weight: 600; }
table.changes col.path { width: 30%; }
td.path code { overflow-wrap: anywhere; }
td.old { background: var(--red-bg); border-left: 3px solid var(--red); }
td.new { background: var(--green-bg); border-left: 3px solid var(--green); }
td.absent { background: #f6f8fa; color: var(--grey); border-left-color: var(--line); }
td.hidden { background: #ddf4ff; color: #0969da; border-left-color: #54aeff; font-style: italic; }
.unchanged { color: var(--grey); margin: 8px 0 0; }
"""


def render_html(audit: Audit, *, max_value_chars: int = 4000) -> str:
    """The audit as a complete HTML document; values longer than ``max_value_chars`` are cut."""
    title = f"Connxio change audit: {audit.to_snapshot_id}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f'<main class="audit" data-from="{_e(audit.from_snapshot_id or "")}" '
        f'data-to="{_e(audit.to_snapshot_id)}">',
        *_header(audit),
        *_summary(audit),
    ]
    for subscription in audit.subscriptions:
        parts += _subscription(subscription, max_value_chars)
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _e(text: str) -> str:
    return escape(text, quote=True)


def _header(audit: Audit) -> list[str]:
    to_part = (
        f"<code>{_e(audit.to_snapshot_id)}</code> "
        f'<time datetime="{_e(audit.to_taken_at.isoformat())}">'
        f"{_e(format_time(audit.to_taken_at))}</time>"
    )
    if audit.from_snapshot_id is None or audit.from_taken_at is None:
        span = f"First snapshot {to_part}: everything in it is new."
    else:
        span = (
            f"From <code>{_e(audit.from_snapshot_id)}</code> "
            f'<time datetime="{_e(audit.from_taken_at.isoformat())}">'
            f"{_e(format_time(audit.from_taken_at))}</time> to {to_part}"
        )
    return [
        "<header>",
        "<h1>Connxio change audit</h1>",
        f'<p class="meta snapshots">{span}</p>',
        f'<p class="meta generated">Generated {_e(format_time(audit.generated_at))}</p>',
        "</header>",
    ]


def _summary(audit: Audit) -> list[str]:
    s = audit.summary
    stats = [
        ("added", s.integrations_added, "integrations added"),
        ("removed", s.integrations_removed, "integrations removed"),
        ("modified", s.integrations_modified, "integrations modified"),
        ("unchanged", s.integrations_unchanged, "integrations unchanged"),
        ("changes", s.changes, "field changes"),
        ("subscriptions-added", s.subscriptions_added, "subscriptions added"),
        ("subscriptions-removed", s.subscriptions_removed, "subscriptions removed"),
    ]
    if s.subscriptions_not_comparable:
        stats.append(
            ("not-comparable", s.subscriptions_not_comparable, "subscriptions not compared")
        )
    items = [
        f'<li class="stat {kind}" data-stat="{kind}"><b>{count}</b>{_e(text)}</li>'
        for kind, count, text in stats
    ]
    verdict = "Changes found." if audit.has_changes else "No changes."
    return [
        '<section class="summary" aria-label="Summary">',
        f'<p class="verdict">{verdict}</p>',
        '<ul class="stats">',
        *items,
        "</ul>",
        "</section>",
    ]


def _badge(kind: str, text: str) -> str:
    return f'<span class="badge {kind}">{_e(text)}</span>'


def _subscription(subscription: SubscriptionAudit, max_value: int) -> list[str]:
    name = subscription.name or subscription.subscription_id
    badges = []
    if subscription.status != "present":
        badges.append(_badge(subscription.status, f"subscription {subscription.status}"))
    if not subscription.comparable:
        badges.append(_badge("muted", "not compared"))
    for kind, group in (
        ("added", subscription.added),
        ("removed", subscription.removed),
        ("modified", subscription.modified),
    ):
        if group:
            badges.append(_badge(kind, f"{len(group)} {kind}"))
    if subscription.comparable and subscription.status == "present":
        badges.append(_badge("muted", f"{subscription.unchanged_count} unchanged"))
    busy = bool(
        subscription.added or subscription.removed or subscription.modified or subscription.notes
    )
    parts = [
        f'<section class="subscription status-{_e(subscription.status)}" '
        f'data-subscription-id="{_e(subscription.subscription_id)}">',
        f"<details{' open' if busy else ''}>",
        f'<summary><h2>{_e(name)}</h2> <code class="id">{_e(subscription.subscription_id)}</code> '
        f"{' '.join(badges)}</summary>",
    ]
    parts += [f'<p class="note">{_e(note)}</p>' for note in subscription.notes]
    for kind, group in (("added", subscription.added), ("removed", subscription.removed)):
        if group:
            parts.append(f"<h3>{kind.capitalize()} ({len(group)})</h3>")
            parts.append(f'<ul class="integrations {kind}">')
            parts += [
                f'<li class="integration {kind}" data-integration-id="{_e(i.integration_id)}">'
                f"{_integration_title(i)}</li>"
                for i in group
            ]
            parts.append("</ul>")
    if subscription.modified:
        parts.append(f"<h3>Modified ({len(subscription.modified)})</h3>")
        for integration in subscription.modified:
            parts += _modified(integration, max_value)
    if not busy and subscription.comparable and subscription.status == "present":
        parts.append('<p class="unchanged">No changes in this subscription.</p>')
    parts += ["</details>", "</section>"]
    return parts


def _integration_title(integration: IntegrationAudit) -> str:
    title = (
        f'<span class="label">{_e(integration.label)}</span> '
        f'<code class="id">{_e(integration.integration_id)}</code>'
    )
    who = []
    if integration.updated_by:
        who.append(f"by {_e(integration.updated_by)}")
    if integration.updated_at:
        # As the API spelt it (seven fractional digits): shown as text, not as a <time> value.
        who.append(f'at <span class="when">{_e(integration.updated_at)}</span>')
    if who:
        title += f' <span class="who">{" ".join(who)}</span>'
    return title


def _modified(integration: IntegrationAudit, max_value: int) -> list[str]:
    count = len(integration.changes)
    return [
        f'<details class="integration modified" data-integration-id="'
        f'{_e(integration.integration_id)}" open>',
        f"<summary>{_integration_title(integration)} "
        f"{_badge('modified', f'{count} change' + ('s' if count != 1 else ''))}</summary>",
        '<table class="changes">',
        '<colgroup><col class="path"><col class="old"><col class="new"></colgroup>',
        "<thead><tr><th>Field</th><th>Before</th><th>After</th></tr></thead>",
        "<tbody>",
        *(_change_row(change, max_value) for change in integration.changes),
        "</tbody>",
        "</table>",
        "</details>",
    ]


def _change_row(change: FieldChange, max_value: int) -> str:
    attributes = f'class="change op-{change.op}{" secret" if change.secret else ""}" '
    attributes += f'data-path="{_e(change.path)}" data-op="{change.op}"'
    if change.secret:
        attributes += ' data-secret="true"'
    path = f"<code>{_e(change.path or '/')}</code>"
    if change.in_string:
        path += " " + _badge("in-string", "inside JSON string")
    if change.secret:
        summary = change.summary or "secret changed"
        path += " " + _badge("secret", summary)
        old = _hidden_cell("old", change.op != "add")
        new = _hidden_cell("new", change.op != "remove")
    else:
        old = _value_cell("old", change.old, present=change.op != "add", limit=max_value)
        new = _value_cell("new", change.new, present=change.op != "remove", limit=max_value)
    return f'<tr {attributes}><td class="path">{path}</td>{old}{new}</tr>'


def _hidden_cell(side: str, present: bool) -> str:
    if not present:
        return f'<td class="{side} absent">(absent)</td>'
    return f'<td class="{side} hidden">hidden</td>'


def _value_cell(side: str, value: JsonValue, *, present: bool, limit: int) -> str:
    if not present:
        return f'<td class="{side} absent">(absent)</td>'
    text = value_text(value, indent=2)
    if len(text) > limit:
        text = shorten(text, limit) + f"\n({len(text) - limit + 1} more characters)"
    return f'<td class="{side}"><pre>{_e(text)}</pre></td>'
