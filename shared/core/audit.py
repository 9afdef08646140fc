"""The change audit of two snapshots: who changed which integration, and which fields.

A stored format (``audits/<snapshot-id>.json``), so frozen models with ``format_version``. Built
from two manifests, their entry lists and a loader of stored configs; pure, so the service
decides where lists and configs come from and what time it is.

Cost grows with what changed, not with the estate: a subscription that names the same entry
list on both sides is counted as unchanged without its entries being read
(``lists_to_read`` says which lists are needed), and integrations whose content hashes are
equal are counted as unchanged without being loaded or diffed. An integration whose hash changed but
whose diff is empty (only server-managed fields such as ``_etag`` moved) counts as unchanged too.

No secret value ever reaches an audit: a change at a secret location keeps only its path and a
summary ("secret changed"); every other value is passed through
:func:`shared.core.secrets.redact`, and a change whose value still contains one of the
document's secret strings (a password pasted into a description) is hidden the same way.

A subscription that was not backed up on one side (skipped, failed) is not comparable: it is
listed with a note and none of its integrations are reported as added or removed, since their
absence says nothing about the estate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from shared.core.diff import DEFAULT_DIFF_OPTIONS, Change, DiffOptions, diff_documents
from shared.core.manifest import (
    AnyManifest,
    EntriesByHash,
    IntegrationEntry,
    ManifestRecord,
    SubscriptionRecord,
    SubscriptionStatus,
    as_record,
)
from shared.core.secrets import redact, secret_values

AUDIT_FORMAT_VERSION = 1

# Secret strings shorter than this are not searched for in other fields' values: they would
# match ordinary text by chance. Their own fields are still hidden by location.
_MIN_SCANNED_SECRET_LENGTH = 4

SECRET_SUMMARIES: dict[str, str] = {
    "add": "secret added",
    "remove": "secret removed",
    "replace": "secret changed",
}
HIDDEN_VALUE_SUMMARY = "value hidden: it contains a secret"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldChange(_Frozen):
    """One changed field, safe to show: a secret's values are None and ``summary`` says so.

    ``old`` is None for an add and ``new`` for a remove (``op`` tells them from a JSON null).
    """

    op: Literal["add", "remove", "replace"]
    path: str
    old: JsonValue = None
    new: JsonValue = None
    secret: bool = False
    in_string: bool = False
    summary: str | None = None


class IntegrationAudit(_Frozen):
    """An added, removed or modified integration.

    Attribution (``updated_by``/``updated_at``) comes from the newer version; for a removed
    integration from the last version seen, i.e. who changed it last, not who removed it.
    ``changes`` is empty for added and removed integrations: the whole config is the change.
    """

    integration_id: str
    label: str
    old_hash: str | None = None
    new_hash: str | None = None
    updated_by: str | None = None
    updated_at: str | None = None
    changes: tuple[FieldChange, ...] = ()


class SubscriptionAudit(_Frozen):
    subscription_id: str
    name: str | None = None
    status: Literal["added", "removed", "present"]
    comparable: bool = True  # False when one side was skipped or failed: nothing compared
    added: tuple[IntegrationAudit, ...] = ()
    removed: tuple[IntegrationAudit, ...] = ()
    modified: tuple[IntegrationAudit, ...] = ()
    unchanged_count: int = 0
    notes: tuple[str, ...] = ()


class AuditSummary(_Frozen):
    subscriptions_added: int = 0
    subscriptions_removed: int = 0
    subscriptions_not_comparable: int = 0
    integrations_added: int = 0
    integrations_removed: int = 0
    integrations_modified: int = 0
    integrations_unchanged: int = 0
    changes: int = 0


class AuditOptions(_Frozen):
    """The options the audit was built with, so a reader knows what it left out."""

    ignored_fields: tuple[str, ...]
    identity_keys: tuple[str, ...]
    parse_json_strings: bool
    subscription_ids: tuple[str, ...] | None = None
    integration_ids: tuple[str, ...] | None = None


class Audit(_Frozen):
    format_version: Literal[1] = AUDIT_FORMAT_VERSION
    from_snapshot_id: str | None  # None: the first snapshot, everything is added
    to_snapshot_id: str
    from_taken_at: datetime | None
    to_taken_at: datetime
    generated_at: datetime
    options: AuditOptions
    summary: AuditSummary
    subscriptions: tuple[SubscriptionAudit, ...] = ()

    @property
    def has_changes(self) -> bool:
        """Whether anything a person would act on changed: integrations or subscriptions."""
        s = self.summary
        return (
            s.integrations_added
            + s.integrations_removed
            + s.integrations_modified
            + s.subscriptions_added
            + s.subscriptions_removed
        ) > 0

    def changed_integration_ids(self) -> tuple[str, ...]:
        """Ids of added, removed and modified integrations, in report order, each once."""
        seen: dict[str, None] = {}
        for subscription in self.subscriptions:
            for group in (subscription.added, subscription.removed, subscription.modified):
                for integration in group:
                    seen.setdefault(integration.integration_id, None)
        return tuple(seen)


Loader = Callable[[str], Any]


def _in_scope(
    old: ManifestRecord | None,
    new: ManifestRecord,
    subscription_ids: frozenset[str] | None,
) -> list[tuple[SubscriptionRecord | None, SubscriptionRecord | None]]:
    """(old, new) per subscription on either side, in report order: new's, then old-only."""
    old_subs = {s.subscription_id: s for s in old.subscriptions} if old else {}
    new_subs = {s.subscription_id: s for s in new.subscriptions}
    order = [*new_subs, *(sid for sid in old_subs if sid not in new_subs)]
    return [
        (old_subs.get(sid), new_subs.get(sid))
        for sid in order
        if subscription_ids is None or sid in subscription_ids
    ]


def lists_to_read(
    old: ManifestRecord | None,
    new: ManifestRecord,
    *,
    subscription_ids: frozenset[str] | None = None,
    integration_ids: frozenset[str] | None = None,
) -> frozenset[str]:
    """The entry lists ``build_audit`` reads for these arguments: those of subscriptions added,
    removed or changed; with ``integration_ids``, every list in scope (to find who holds them)."""
    needed: set[str] = set()
    for old_sub, new_sub in _in_scope(old, new, subscription_ids):
        sides = [s for s in (old_sub, new_sub) if s is not None]
        # Without an integration filter, only sides that will be compared are read.
        compared = all(_backed_up(s) for s in sides) and not _same_entries(old_sub, new_sub)
        if integration_ids is not None or compared:
            needed.update(s.entries_sha256 for s in sides)
    return frozenset(needed)


def build_audit(
    old: AnyManifest | None,
    new: AnyManifest,
    load: Loader,
    entries: EntriesByHash | None = None,
    *,
    generated_at: datetime,
    options: DiffOptions = DEFAULT_DIFF_OPTIONS,
    subscription_ids: frozenset[str] | None = None,
    integration_ids: frozenset[str] | None = None,
) -> Audit:
    """The audit of ``new`` against ``old`` (None: ``new`` is the first snapshot).

    ``entries`` holds, by hash, the entry lists that ``lists_to_read`` names (a whole manifest
    brings its own). ``load(hash)`` returns the parsed config stored under a content hash; it
    is called only for integrations present on both sides whose hashes differ.
    ``subscription_ids`` and ``integration_ids`` narrow the audit; with ``integration_ids``,
    only subscriptions holding one of them (on either side) are listed. Snapshot times are the
    snapshots' start times.
    """
    new_record, lists = as_record(new)
    old_record, old_lists = as_record(old) if old is not None else (None, {})
    lists = {**(entries or {}), **old_lists, **lists}
    builder = _Builder(load, lists, options, integration_ids)
    audits = [
        builder.subscription(old_sub, new_sub)
        for old_sub, new_sub in _in_scope(old_record, new_record, subscription_ids)
        if integration_ids is None or builder.holds_any(old_sub, new_sub)
    ]
    subscriptions = tuple(audits)
    return Audit(
        from_snapshot_id=old.snapshot_id if old else None,
        to_snapshot_id=new.snapshot_id,
        from_taken_at=old.started_at if old else None,
        to_taken_at=new.started_at,
        generated_at=generated_at,
        options=AuditOptions(
            ignored_fields=tuple(sorted(options.ignored_fields)),
            identity_keys=options.identity_keys,
            parse_json_strings=options.parse_json_strings,
            subscription_ids=None if subscription_ids is None else tuple(sorted(subscription_ids)),
            integration_ids=None if integration_ids is None else tuple(sorted(integration_ids)),
        ),
        summary=_summarise(subscriptions),
        subscriptions=subscriptions,
    )


def _same_entries(old: SubscriptionRecord | None, new: SubscriptionRecord | None) -> bool:
    return old is not None and new is not None and old.entries_sha256 == new.entries_sha256


def _backed_up(entry: SubscriptionRecord | None) -> bool:
    return entry is not None and entry.status is SubscriptionStatus.COMPLETE


def _not_backed_up_note(side: str, entry: SubscriptionRecord) -> str:
    reason = f": {entry.reason}" if entry.reason else ""
    return (
        f"not backed up in the {side} snapshot ({entry.status.value}{reason}); "
        "its integrations are not compared"
    )


class _Builder:
    def __init__(
        self,
        load: Loader,
        entries: EntriesByHash,
        options: DiffOptions,
        ids: frozenset[str] | None,
    ) -> None:
        self.load = load
        self.entries = entries
        self.options = options
        self.ids = ids

    def holds_any(self, old: SubscriptionRecord | None, new: SubscriptionRecord | None) -> bool:
        assert self.ids is not None
        return any(
            e.id in self.ids
            for s in (old, new)
            if s is not None
            for e in self.entries[s.entries_sha256]
        )

    def selected(self, entries: tuple[IntegrationEntry, ...]) -> list[IntegrationEntry]:
        return [e for e in entries if self.ids is None or e.id in self.ids]

    def subscription(
        self, old: SubscriptionRecord | None, new: SubscriptionRecord | None
    ) -> SubscriptionAudit:
        either = new if new is not None else old
        assert either is not None  # the caller iterates ids found on at least one side
        status: Literal["added", "removed", "present"] = (
            "added" if old is None else "removed" if new is None else "present"
        )
        name = (new.name if new is not None else None) or (old.name if old is not None else None)
        notes = []
        if new is not None and not _backed_up(new):
            notes.append(_not_backed_up_note("newer", new))
        if old is not None and not _backed_up(old):
            notes.append(_not_backed_up_note("older", old))
        base = {"subscription_id": either.subscription_id, "name": name, "status": status}
        if notes:
            return SubscriptionAudit(**base, comparable=False, notes=tuple(notes))
        if old is None:
            assert new is not None
            return SubscriptionAudit(**base, added=self.whole(new, new=True))
        if new is None:
            return SubscriptionAudit(**base, removed=self.whole(old, new=False))
        if self.ids is None and _same_entries(old, new):
            return SubscriptionAudit(**base, unchanged_count=new.integration_count)
        return self.compare(
            base, self.entries[old.entries_sha256], self.entries[new.entries_sha256]
        )

    def whole(self, record: SubscriptionRecord, *, new: bool) -> tuple[IntegrationAudit, ...]:
        entries = self.entries[record.entries_sha256]
        return tuple(_entry_audit(e, new=new) for e in self.selected(entries))

    def compare(
        self,
        base: dict[str, Any],
        old: tuple[IntegrationEntry, ...],
        new: tuple[IntegrationEntry, ...],
    ) -> SubscriptionAudit:
        old_by_id = {e.id: e for e in old}
        new_ids = {e.id for e in new}
        added, modified = [], []
        unchanged = 0
        for entry in self.selected(new):
            before = old_by_id.get(entry.id)
            if before is None:
                added.append(_entry_audit(entry, new=True))
                continue
            if before.hash == entry.hash:
                unchanged += 1
                continue
            changes = self.field_changes(before.hash, entry.hash)
            if not changes:
                unchanged += 1
                continue
            modified.append(
                IntegrationAudit(
                    integration_id=entry.id,
                    label=entry.label,
                    old_hash=before.hash,
                    new_hash=entry.hash,
                    updated_by=entry.updated_by,
                    updated_at=entry.updated_at,
                    changes=changes,
                )
            )
        removed = [_entry_audit(e, new=False) for e in self.selected(old) if e.id not in new_ids]
        return SubscriptionAudit(
            **base,
            added=tuple(added),
            removed=tuple(removed),
            modified=tuple(modified),
            unchanged_count=unchanged,
        )

    def field_changes(self, old_hash: str, new_hash: str) -> tuple[FieldChange, ...]:
        old_doc, new_doc = self.load(old_hash), self.load(new_hash)
        changes = diff_documents(old_doc, new_doc, self.options)
        if not changes:
            return ()
        secrets: list[str] = []
        if not all(c.secret for c in changes):  # values will be shown: know what to look for
            secrets = [
                s
                for s in secret_values(old_doc) | secret_values(new_doc)
                if len(s) >= _MIN_SCANNED_SECRET_LENGTH
            ]
        return tuple(safe_field_change(c, secrets) for c in changes)


def _entry_audit(entry: IntegrationEntry, *, new: bool) -> IntegrationAudit:
    return IntegrationAudit(
        integration_id=entry.id,
        label=entry.label,
        old_hash=None if new else entry.hash,
        new_hash=entry.hash if new else None,
        updated_by=entry.updated_by,
        updated_at=entry.updated_at,
    )


def safe_field_change(change: Change, secrets: list[str] | tuple[str, ...] = ()) -> FieldChange:
    """The stored, printable form of a diff change: no secret value survives it.

    ``secrets`` are the secret strings of the two documents; a value that contains one of
    them (after redaction by location) is hidden too.
    """
    if change.secret:
        return FieldChange(
            op=change.op,
            path=change.path,
            secret=True,
            in_string=change.in_string,
            summary=SECRET_SUMMARIES[change.op],
        )
    keys = change.keys
    old = redact(change.old, keys) if change.has_old else None
    new = redact(change.new, keys) if change.has_new else None
    if secrets and _contains_any((old, new), secrets):
        return FieldChange(
            op=change.op,
            path=change.path,
            secret=True,
            in_string=change.in_string,
            summary=HIDDEN_VALUE_SUMMARY,
        )
    return FieldChange(op=change.op, path=change.path, old=old, new=new, in_string=change.in_string)


def _contains_any(values: tuple[Any, Any], secrets: list[str] | tuple[str, ...]) -> bool:
    escaped = [(secret, json.dumps(secret, ensure_ascii=False)[1:-1]) for secret in secrets]
    return any(raw in text or spelt in text for text in _strings(values) for raw, spelt in escaped)


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, object keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield key
            yield from _strings(child)
    elif isinstance(value, list | tuple):
        for child in value:
            yield from _strings(child)


def _summarise(subscriptions: tuple[SubscriptionAudit, ...]) -> AuditSummary:
    return AuditSummary(
        subscriptions_added=sum(s.status == "added" for s in subscriptions),
        subscriptions_removed=sum(s.status == "removed" for s in subscriptions),
        subscriptions_not_comparable=sum(not s.comparable for s in subscriptions),
        integrations_added=sum(len(s.added) for s in subscriptions),
        integrations_removed=sum(len(s.removed) for s in subscriptions),
        integrations_modified=sum(len(s.modified) for s in subscriptions),
        integrations_unchanged=sum(s.unchanged_count for s in subscriptions),
        changes=sum(len(m.changes) for s in subscriptions for m in s.modified),
    )
