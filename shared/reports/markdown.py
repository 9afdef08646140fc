"""The audit as Markdown: short enough for a pull request comment or a Teams message.

A heading with the two snapshots, a summary table, then one section per subscription that has
something to say (changes or a note); subscriptions with nothing changed share one line. Every
modified integration lists its changes as ``path: old → new``, values shortened, secrets as
"secret changed". Long lists are capped with "… and N more" so one mass change cannot produce
a message nobody can post; the JSON and HTML reports carry everything.
"""

from __future__ import annotations

import re

from shared.core.audit import Audit, FieldChange, IntegrationAudit, SubscriptionAudit
from shared.reports.json_report import format_time, shorten, value_text

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~{}!])")


def render_markdown(
    audit: Audit,
    *,
    max_integrations: int = 25,
    max_changes: int = 10,
    max_value_chars: int = 80,
) -> str:
    """The audit as Markdown text.

    ``max_integrations`` caps each added/removed/modified list of a subscription,
    ``max_changes`` the changes shown per integration, ``max_value_chars`` each shown value.
    """
    lines = [*_heading(audit), "", *_summary(audit)]
    quiet: list[SubscriptionAudit] = []
    for subscription in audit.subscriptions:
        if _has_news(subscription):
            lines += [
                "",
                *_subscription(subscription, max_integrations, max_changes, max_value_chars),
            ]
        else:
            quiet.append(subscription)
    if quiet:
        names = ", ".join(f"{_text(_subscription_name(s))} ({s.unchanged_count})" for s in quiet)
        lines += ["", f"Unchanged subscriptions (integrations): {names}"]
    return "\n".join(lines) + "\n"


def _heading(audit: Audit) -> list[str]:
    to_part = f"`{audit.to_snapshot_id}` ({format_time(audit.to_taken_at)})"
    if audit.from_snapshot_id is None or audit.from_taken_at is None:
        span = f"First snapshot {to_part}: everything in it is new."
    else:
        span = f"From `{audit.from_snapshot_id}` ({format_time(audit.from_taken_at)}) to {to_part}."
    return [
        "# Connxio change audit",
        "",
        span,
        "",
        f"Generated {format_time(audit.generated_at)}.",
    ]


def _summary(audit: Audit) -> list[str]:
    s = audit.summary
    lines = [
        "| | added | removed | modified | unchanged |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| integrations | {s.integrations_added} | {s.integrations_removed} "
        f"| {s.integrations_modified} | {s.integrations_unchanged} |",
        f"| subscriptions | {s.subscriptions_added} | {s.subscriptions_removed} | | |",
        "",
    ]
    if audit.has_changes:
        lines.append(
            f"{s.changes} field change{'s' if s.changes != 1 else ''} in modified integrations."
        )
    else:
        lines.append("No changes.")
    if s.subscriptions_not_comparable:
        lines.append("")
        lines.append(
            f"{s.subscriptions_not_comparable} subscription(s) not compared; see the notes."
        )
    return lines


def _has_news(subscription: SubscriptionAudit) -> bool:
    return bool(
        subscription.added
        or subscription.removed
        or subscription.modified
        or subscription.notes
        or subscription.status != "present"
    )


def _subscription_name(subscription: SubscriptionAudit) -> str:
    return subscription.name or subscription.subscription_id


def _subscription(
    subscription: SubscriptionAudit, max_integrations: int, max_changes: int, max_value: int
) -> list[str]:
    title = f"## {_text(_subscription_name(subscription))} (`{subscription.subscription_id}`)"
    if subscription.status != "present":
        title += f" — subscription {subscription.status}"
    lines = [title]
    for note in subscription.notes:
        lines += ["", f"> **Note:** {_text(note)}"]
    for heading, group in (("Added", subscription.added), ("Removed", subscription.removed)):
        if group:
            lines += ["", f"### {heading} ({len(group)})", ""]
            lines += [f"- {_integration_line(i)}" for i in group[:max_integrations]]
            lines += _more(len(group) - max_integrations, "integrations")
    if subscription.modified:
        lines += ["", f"### Modified ({len(subscription.modified)})"]
        for integration in subscription.modified[:max_integrations]:
            lines += ["", f"#### {_integration_line(integration)}", ""]
            changes = integration.changes
            lines += [f"- {_change_line(c, max_value)}" for c in changes[:max_changes]]
            lines += _more(len(changes) - max_changes, "changes")
        hidden = len(subscription.modified) - max_integrations
        if hidden > 0:
            lines += ["", f"… and {hidden} more modified integrations"]
    if subscription.comparable and subscription.status == "present":
        lines += ["", f"{subscription.unchanged_count} integration(s) unchanged."]
    return lines


def _more(count: int, what: str) -> list[str]:
    """The "… and N more" bullet closing a capped list; nothing when nothing was left out."""
    return [f"- … and {count} more {what}"] if count > 0 else []


def _integration_line(integration: IntegrationAudit) -> str:
    line = f"{_text(integration.label)} (`{integration.integration_id}`)"
    if integration.updated_by:
        line += f", by {_text(integration.updated_by)}"
    if integration.updated_at:
        line += f" at {_text(integration.updated_at)}"
    return line


def _change_line(change: FieldChange, max_value: int) -> str:
    where = _code(change.path or "/")
    if change.in_string:
        where += " (inside a JSON string)"
    if change.secret:
        return f"{where}: **{change.summary or 'secret changed'}**"
    if change.op == "add":
        return f"{where} added: {_value(change.new, max_value)}"
    if change.op == "remove":
        return f"{where} removed (was {_value(change.old, max_value)})"
    return f"{where}: {_value(change.old, max_value)} → {_value(change.new, max_value)}"


def _value(value: object, limit: int) -> str:
    return _code(shorten(value_text(value), limit))


def _code(text: str) -> str:
    """``text`` as an inline code span, whatever backticks it holds, on one line."""
    text = " ".join(text.splitlines())
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _text(text: str) -> str:
    """Free text (labels, names, notes) with Markdown and HTML markup neutralised."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))
