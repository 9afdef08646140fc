"""Audit use cases: the change audit of two snapshots, and one integration's timeline.

The diff itself is pure (``shared.core.audit``); this module finds the snapshots, reads just the
entry lists of subscriptions that changed and the configs whose hashes differ (concurrently),
and stores or returns the result. Unchanged subscriptions and integrations are never read, so
the cost follows what changed, not the size of the estate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.core.audit import Audit, build_audit, lists_to_read
from shared.core.diff import DEFAULT_DIFF_OPTIONS, DiffOptions, diff_documents
from shared.core.manifest import (
    AnyManifest,
    EntriesByHash,
    ManifestRecord,
    SnapshotManifest,
    SubscriptionStatus,
    as_record,
    changed_lists,
)
from shared.errors import CorruptObjectError, NotFoundError
from shared.store.repository import SnapshotRepository

AUDITS = "audits"
HISTORY_FORMAT_VERSION = 1


def diff_options(ignored_fields: tuple[str, ...] | None) -> DiffOptions:
    """The diff options for a configured ``AUDIT_IGNORE_FIELDS`` (None: the defaults)."""
    if ignored_fields is None:
        return DEFAULT_DIFF_OPTIONS
    return DiffOptions(ignored_fields=frozenset(ignored_fields))


def _differing_hashes(old: ManifestRecord, new: ManifestRecord, entries: EntriesByHash) -> set[str]:
    """Hashes of integrations present on both sides of a changed subscription whose content
    differs (the audit compares within a subscription, so only those are diffed)."""
    needed: set[str] = set()
    for old_list, new_list in changed_lists(old, new).values():
        if old_list not in entries or new_list not in entries:
            continue  # not compared (a side not backed up), so not read
        old_hashes = {e.id: e.hash for e in entries[old_list]}
        for entry in entries[new_list]:
            previous = old_hashes.get(entry.id)
            if previous is not None and previous != entry.hash:
                needed.update((previous, entry.hash))
    return needed


async def _load_all(
    repository: SnapshotRepository, hashes: set[str], known: Mapping[str, Any]
) -> dict[str, Any]:
    """The documents of ``hashes``: from ``known`` where the caller has them, else the store."""
    ordered = sorted(h for h in hashes if h not in known)
    documents = await asyncio.gather(*(repository.load_document(h) for h in ordered))
    loaded = dict(zip(ordered, documents, strict=True))
    loaded.update((h, known[h]) for h in hashes if h in known)
    return loaded


async def audit_snapshots(
    repository: SnapshotRepository,
    old: AnyManifest | None,
    new: AnyManifest,
    *,
    generated_at: datetime,
    options: DiffOptions = DEFAULT_DIFF_OPTIONS,
    subscription_ids: frozenset[str] | None = None,
    integration_ids: frozenset[str] | None = None,
    known_entries: EntriesByHash | None = None,
    known_documents: Mapping[str, Any] | None = None,
) -> Audit:
    """The audit of ``new`` against ``old``, reading only what it compares.

    ``known_entries`` and ``known_documents``: entry lists and configs by hash that the caller
    already holds (a backup's fresh ones, a format 2 manifest's inline entries)."""
    new_record, new_inline = as_record(new)
    old_record, old_inline = as_record(old) if old is not None else (None, {})
    needed_lists = lists_to_read(
        old_record,
        new_record,
        subscription_ids=subscription_ids,
        integration_ids=integration_ids,
    )
    entries = await repository.read_entry_lists(
        needed_lists, known={**(known_entries or {}), **old_inline, **new_inline}
    )
    needed = _differing_hashes(old_record, new_record, entries) if old_record else set()
    loaded = await _load_all(repository, needed, known_documents or {})
    return build_audit(
        old_record,
        new_record,
        loaded.__getitem__,
        entries,
        generated_at=generated_at,
        options=options,
        subscription_ids=subscription_ids,
        integration_ids=integration_ids,
    )


async def audit_between(
    repository: SnapshotRepository,
    from_reference: str | None,
    to_reference: str | None,
    *,
    generated_at: datetime,
    options: DiffOptions = DEFAULT_DIFF_OPTIONS,
    subscription_ids: frozenset[str] | None = None,
    integration_ids: frozenset[str] | None = None,
) -> Audit:
    """Audit two snapshots; by default the two latest (or the only one, against nothing)."""
    ids = await repository.list_snapshot_ids()
    if not ids:
        raise NotFoundError(f"there are no snapshots in {repository.description} yet")
    to_id = await repository.resolve_snapshot_id(to_reference or "latest")
    if from_reference is None:
        earlier = [i for i in ids if i < to_id]
        from_id = earlier[-1] if earlier else None
    else:
        from_id = await repository.resolve_snapshot_id(from_reference)
    if subscription_ids is None and integration_ids is None:
        stored = await _stored_audit_for(repository, from_id, to_id, options)
        if stored is not None:
            return stored
    new = await repository.read_record(to_id)
    old = await repository.read_record(from_id) if from_id else None
    return await audit_snapshots(
        repository,
        old.record if old else None,
        new.record,
        known_entries={**(old.inline if old else {}), **new.inline},
        generated_at=generated_at,
        options=options,
        subscription_ids=subscription_ids,
        integration_ids=integration_ids,
    )


async def _stored_audit_for(
    repository: SnapshotRepository, from_id: str | None, to_id: str, options: DiffOptions
) -> Audit | None:
    """The audit stored after the backup of ``to_id``, when it is exactly the one asked for
    (same pair, same options); None when there is none or it differs."""
    try:
        audit = await stored_audit(repository, to_id)
    except (NotFoundError, CorruptObjectError):
        return None
    same = (
        audit.from_snapshot_id == from_id
        and audit.options.ignored_fields == tuple(sorted(options.ignored_fields))
        and audit.options.identity_keys == options.identity_keys
        and audit.options.parse_json_strings == options.parse_json_strings
        and audit.options.subscription_ids is None
        and audit.options.integration_ids is None
    )
    return audit if same else None


async def store_audit(repository: SnapshotRepository, audit: Audit) -> None:
    await repository.put_document(AUDITS, audit.to_snapshot_id, audit)


async def stored_audit(repository: SnapshotRepository, snapshot_id: str) -> Audit:
    return await repository.read_document(AUDITS, snapshot_id, Audit)


# -- history -----------------------------------------------------------------------------------


class HistoryEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    snapshot_id: str
    taken_at: datetime
    kind: Literal["added", "modified", "removed"]
    label: str
    updated_by: str | None = None
    updated_at: str | None = None
    changed_paths: tuple[str, ...] = ()  # for "modified": what changed (values never shown)


class IntegrationHistory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: Literal[1] = HISTORY_FORMAT_VERSION
    integration_id: str
    snapshots_examined: int
    events: tuple[HistoryEvent, ...]


async def integration_history(
    repository: SnapshotRepository,
    integration_id: str,
    *,
    options: DiffOptions = DEFAULT_DIFF_OPTIONS,
) -> IntegrationHistory:
    """Every snapshot in which ``integration_id`` appeared, changed or went away.

    A snapshot where the integration's subscription was skipped or failed says nothing about it
    and is passed over. A hash change that touches only ignored fields (``_etag``...) is not an
    event. Raises ``NotFoundError`` when no snapshot ever held the integration.
    """
    ids = await repository.list_snapshot_ids()
    events: list[HistoryEvent] = []
    current = None  # (subscription id, entry) as last seen
    for snapshot_id in ids:
        manifest = await repository.read_manifest(snapshot_id)
        try:
            subscription, entry = manifest.find_integration(integration_id)
        except KeyError:
            subscription, entry = None, None
        if entry is None:
            if current is not None and _saw_subscription_complete(manifest, current[0]):
                events.append(
                    HistoryEvent(
                        snapshot_id=snapshot_id,
                        taken_at=manifest.started_at,
                        kind="removed",
                        label=current[1].label,
                    )
                )
                current = None
            continue
        if current is None:
            kind: Literal["added", "modified"] | None = "added"
            paths: tuple[str, ...] = ()
        elif current[1].hash != entry.hash:
            old_doc, new_doc = await asyncio.gather(
                repository.load_document(current[1].hash), repository.load_document(entry.hash)
            )
            changes = diff_documents(old_doc, new_doc, options)
            kind = "modified" if changes else None
            paths = tuple(c.path for c in changes)
        else:
            kind = None
        if kind is not None:
            events.append(
                HistoryEvent(
                    snapshot_id=snapshot_id,
                    taken_at=manifest.started_at,
                    kind=kind,
                    label=entry.label,
                    updated_by=entry.updated_by,
                    updated_at=entry.updated_at,
                    changed_paths=paths,
                )
            )
        current = (subscription.subscription_id, entry)
    if not events:
        raise NotFoundError(
            f"integration {integration_id[:80]!r} is in none of the {len(ids)} snapshot(s)"
        )
    return IntegrationHistory(
        integration_id=integration_id, snapshots_examined=len(ids), events=tuple(events)
    )


def _saw_subscription_complete(manifest: SnapshotManifest, subscription_id: str) -> bool:
    return any(
        s.subscription_id == subscription_id and s.status is SubscriptionStatus.COMPLETE
        for s in manifest.subscriptions
    )
