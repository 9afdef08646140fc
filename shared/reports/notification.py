"""The short message a webhook receives after a scheduled backup (pure).

``{"text": ...}`` is the body that both Slack incoming webhooks and Teams incoming webhooks
accept; Markdown in the text renders in both. No config values, old or new, are included: only
counts, names and who changed what, so nothing secret can reach a chat channel.
"""

from __future__ import annotations

from shared.core.audit import Audit
from shared.core.manifest import AnyManifest, SnapshotStatus

MAX_LISTED = 10


def should_notify(manifest: AnyManifest, audit: Audit | None) -> bool:
    """Changes found, a partial or failed backup, or a mass-change warning."""
    return (
        manifest.status is not SnapshotStatus.COMPLETE
        or bool(manifest.mass_change_subscriptions)
        or (audit is not None and audit.has_changes and audit.from_snapshot_id is not None)
    )


def webhook_message(manifest: AnyManifest, audit: Audit | None) -> dict[str, str]:
    lines = [
        f"**cxbackup**: snapshot `{manifest.snapshot_id}` is **{manifest.status.value}** "
        f"({manifest.integration_count()} integrations)."
    ]
    for sub in manifest.subscriptions:
        if sub.reason:
            lines.append(f"- {sub.name or sub.subscription_id}: {sub.status.value}: {sub.reason}")
    for warning in manifest.warnings:
        lines.append(f"- ⚠ {warning}")
    if audit is not None and audit.from_snapshot_id is not None and audit.has_changes:
        s = audit.summary
        lines.append(
            f"Changes since `{audit.from_snapshot_id}`: {s.integrations_added} added, "
            f"{s.integrations_modified} modified, {s.integrations_removed} removed."
        )
        listed = 0
        for sub in audit.subscriptions:
            for kind, group in (
                ("added", sub.added),
                ("modified", sub.modified),
                ("removed", sub.removed),
            ):
                for item in group:
                    if listed == MAX_LISTED:
                        break
                    who = f" by {item.updated_by}" if item.updated_by else ""
                    lines.append(f"- {kind}: {item.label}{who}")
                    listed += 1
        hidden = len(audit.changed_integration_ids()) - listed
        if hidden > 0:
            lines.append(f"- … and {hidden} more (see the audit report)")
    return {"text": "\n".join(lines)}
