"""Snapshot manifests: the small, write-once document that says what one backup stored.

A manifest lists, per subscription, whether it was backed up and, per integration, the content
hash of its stored config. It is written after every object it names, so a manifest that exists
never claims more than was stored. Manifests chain: each carries the hash of the previous
complete manifest's bytes, which makes a removed or edited snapshot detectable.

Two shapes, one meaning:

- ``ManifestRecord`` (format 3) is what is stored: per subscription, the content address of its
  ``EntryList`` (the integration entries, stored once as their own write-once blob) and how many
  entries it holds. Like a tree object in restic or git, a subscription that did not change
  between two snapshots names the same entry list, so an unchanged estate writes one small
  record and comparing two snapshots starts by comparing 20 hashes, not 10,000 entries.
- ``SnapshotManifest`` is the whole picture with every entry inline: what readers (restore,
  verify, reports) work with, assembled from a record and its entry lists (``assemble``), and
  what formats 1 and 2 stored as one document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core.canonical import canonical_bytes, content_hash

# 2: subscriptions record ``listing_sha256``, and manifests are stored compressed
# (``shared.store.codec``). 3: the stored manifest is a ``ManifestRecord`` whose subscriptions
# name their entries by ``EntryList`` hash. Formats 1 and 2 read as before.
MANIFEST_FORMAT_VERSION = 3
ENTRY_LIST_FORMAT_VERSION = 1

# 20261204T020000Z-3f9a1c: the UTC second, then a 6-hex-digit suffix whose first three digits are
# the millisecond (000-3e7) and last three random. Ids therefore sort in time order to the
# millisecond, and two backups started in the same millisecond still get distinct ids.
SNAPSHOT_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


class Trigger(StrEnum):
    TIMER = "timer"
    HTTP = "http"
    CLI = "cli"
    PRE_RESTORE = "pre-restore"


class SnapshotStatus(StrEnum):
    COMPLETE = "complete"  # every subscription discovered was backed up
    PARTIAL = "partial"  # some subscriptions were skipped or failed; each says why
    FAILED = "failed"  # nothing could be backed up


class SubscriptionStatus(StrEnum):
    COMPLETE = "complete"
    SKIPPED = "skipped"  # deliberately not read (e.g. no API key configured)
    FAILED = "failed"  # reading it failed; ``reason`` says how


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ``IntegrationEntry`` and ``EntryList`` declare their fields in sorted order on purpose: pydantic
# then serialises them as canonical JSON directly (see ``entry_list_bytes``).
# tests/unit/test_manifest_bytes.py fails if a field is added out of order.


class IntegrationEntry(_Frozen):
    """One stored integration config, by reference."""

    hash: str  # sha256 of the canonical JSON bytes; the object's content address
    id: str
    label: str  # human label from transactionType / sender / receiver
    size: int  # byte length of the canonical JSON
    updated_at: str | None = None  # the config's updatedAtUtc, as the API wrote it
    updated_by: str | None = None  # the config's updatedBy, for attribution without a read


class EntryList(_Frozen):
    """One subscription's integration entries, sorted by id: a write-once, content-addressed
    blob that every snapshot in which the subscription did not change names again."""

    format_version: Literal[1] = ENTRY_LIST_FORMAT_VERSION
    integrations: tuple[IntegrationEntry, ...] = ()


class _SubscriptionFields(_Frozen):
    # SHA-256 of the GET /v2/integrations answer the entries were made from, byte for byte.
    # The next backup that receives the same bytes reuses the entries instead of parsing again.
    listing_sha256: str | None = None
    name: str | None = None
    reason: str | None = None  # why it was skipped or failed; never holds a secret
    status: SubscriptionStatus
    subscription_id: str


class SubscriptionEntry(_SubscriptionFields):
    """A subscription with its entries inline (the whole picture; formats 1 and 2 stored it)."""

    integrations: tuple[IntegrationEntry, ...] = ()

    @property
    def integration_count(self) -> int:
        return len(self.integrations)


class SubscriptionRecord(_SubscriptionFields):
    """A subscription as a format 3 manifest stores it: its entries by reference."""

    entries_sha256: str  # content address of its ``EntryList`` (the canonical bytes' sha256)
    integration_count: int = 0


class _ManifestFields(_Frozen):
    finished_at: datetime
    # Subscriptions whose mass-change guard tripped in this snapshot: pruning of their older
    # snapshots is suspended until someone acknowledges it (see ``cxbackup acknowledge``).
    mass_change_subscriptions: tuple[str, ...] = ()
    note: str | None = Field(default=None, description="free text, e.g. the restore it preceded")
    previous_manifest_hash: str | None = None  # sha256 of that manifest's canonical bytes
    previous_snapshot_id: str | None = None  # the previous complete snapshot
    snapshot_id: str
    started_at: datetime
    status: SnapshotStatus
    trigger: Trigger
    warnings: tuple[str, ...] = ()

    @property
    def is_good(self) -> bool:
        """A complete, regular snapshot: what "the previous complete snapshot" and retention's
        "last good" mean. A pre-restore snapshot covers only a restore's scope, so it is kept
        (never pruned) but never stands in for the whole estate."""
        return self.status is SnapshotStatus.COMPLETE and self.trigger is not Trigger.PRE_RESTORE


class ManifestRecord(_ManifestFields):
    """The stored manifest (format 3). Its hash, over its canonical bytes, is what the next
    snapshot's ``previous_manifest_hash`` records; through the entry hashes it covers every
    entry, and through them every object."""

    format_version: Literal[3] = MANIFEST_FORMAT_VERSION
    subscriptions: tuple[SubscriptionRecord, ...] = ()

    def integration_count(self) -> int:
        return sum(s.integration_count for s in self.subscriptions)


class SnapshotManifest(_ManifestFields):
    """A snapshot with every entry inline: assembled from a record and its entry lists, or a
    format 1 or 2 manifest as it was stored."""

    format_version: Literal[1, 2, 3] = MANIFEST_FORMAT_VERSION
    subscriptions: tuple[SubscriptionEntry, ...] = ()

    def integration_count(self) -> int:
        return sum(len(s.integrations) for s in self.subscriptions)

    def find_integration(self, integration_id: str) -> tuple[SubscriptionEntry, IntegrationEntry]:
        """The subscription and entry of ``integration_id``; ``KeyError`` when not in it."""
        for subscription in self.subscriptions:
            for entry in subscription.integrations:
                if entry.id == integration_id:
                    return subscription, entry
        raise KeyError(integration_id)

    def referenced_hashes(self) -> frozenset[str]:
        return frozenset(e.hash for s in self.subscriptions for e in s.integrations)


# Either shape: for what needs only the header and the subscriptions' statuses (the chain,
# retention), never the entries.
AnyManifest = ManifestRecord | SnapshotManifest
# Entry lists by their hash: what ``assemble`` and the audit read entries from.
EntriesByHash = Mapping[str, tuple[IntegrationEntry, ...]]


def new_snapshot_id(at: datetime, suffix: str) -> str:
    """A snapshot id for time ``at`` (any timezone; stored as UTC) and a 6-hex-digit suffix."""
    if not re.fullmatch(r"[0-9a-f]{6}", suffix):
        raise ValueError("snapshot id suffix must be 6 lowercase hex digits")
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{suffix}"


def time_ordered_suffix(at: datetime, entropy: str) -> str:
    """The suffix for ``at``: its millisecond as 3 hex digits, then 3 hex digits of entropy."""
    if not re.fullmatch(r"[0-9a-f]{3}", entropy):
        raise ValueError("snapshot id entropy must be 3 lowercase hex digits")
    return f"{at.microsecond // 1000:03x}{entropy}"


def is_snapshot_id(value: str) -> bool:
    return bool(SNAPSHOT_ID_PATTERN.fullmatch(value))


def integration_label(config: dict) -> str:
    """``transactionType: sender → receiver``, from whichever parts the config has."""
    parts = [str(config[k]) for k in ("sender", "receiver") if config.get(k)]
    route = " → ".join(parts)
    kind = config.get("transactionType")
    if kind and route:
        return f"{kind}: {route}"
    return str(kind or route or config.get("id") or "(unnamed)")


def overall_status(
    subscriptions: tuple[SubscriptionEntry, ...] | tuple[SubscriptionRecord, ...],
) -> SnapshotStatus:
    """complete when all were backed up; failed when none was (or none exist); else partial."""
    done = sum(1 for s in subscriptions if s.status is SubscriptionStatus.COMPLETE)
    if subscriptions and done == len(subscriptions):
        return SnapshotStatus.COMPLETE
    if done == 0:
        return SnapshotStatus.FAILED
    return SnapshotStatus.PARTIAL


def entry_list_bytes(entries: tuple[IntegrationEntry, ...]) -> bytes:
    """The stored form of an entry list: its canonical JSON, whose sha256 is its address.

    Written by pydantic's serializer, which emits fields in declaration order, compact, UTF-8
    as is, with ``json.dumps``'s string escapes: with the fields declared in sorted order that
    is canonical JSON byte for byte, at a third of the cost of ``canonical_bytes(model_dump())``.
    """
    entry_list = EntryList(integrations=entries)
    return entry_list.__pydantic_serializer__.to_json(entry_list)


def record_bytes(record: ManifestRecord) -> bytes:
    """The stored form of a manifest record: canonical JSON (small: one line per subscription)."""
    return canonical_bytes(record.model_dump(mode="json"))


def record_of(manifest: SnapshotManifest) -> tuple[ManifestRecord, dict[str, bytes]]:
    """The record of a whole manifest, and the entry lists it names (canonical bytes by hash)."""
    lists: dict[str, bytes] = {}
    subscriptions = []
    for subscription in manifest.subscriptions:
        data = entry_list_bytes(subscription.integrations)
        digest = content_hash(data)
        lists[digest] = data
        subscriptions.append(
            SubscriptionRecord(
                **subscription.model_dump(exclude={"integrations"}),
                entries_sha256=digest,
                integration_count=len(subscription.integrations),
            )
        )
    header = manifest.model_dump(exclude={"subscriptions", "format_version"})
    return ManifestRecord(**header, subscriptions=tuple(subscriptions)), lists


def as_record(manifest: AnyManifest) -> tuple[ManifestRecord, EntriesByHash]:
    """``manifest`` as a record, with the entry lists it holds inline by hash (a record holds
    none: its lists are stored on their own)."""
    if isinstance(manifest, ManifestRecord):
        return manifest, {}
    record, _ = record_of(manifest)
    pairs = zip(record.subscriptions, manifest.subscriptions, strict=True)
    return record, {named.entries_sha256: whole.integrations for named, whole in pairs}


def assemble(record: ManifestRecord, entries: EntriesByHash) -> SnapshotManifest:
    """The whole manifest of ``record``, given the entries of each list it names, by hash.

    ``KeyError`` names a list that ``entries`` lacks."""
    subscriptions = tuple(
        whole_subscription(s, entries[s.entries_sha256]) for s in record.subscriptions
    )
    header = record.model_dump(exclude={"subscriptions", "format_version"})
    return SnapshotManifest(**header, subscriptions=subscriptions)


def changed_lists(old: ManifestRecord, new: ManifestRecord) -> dict[str, tuple[str, str]]:
    """By subscription id, ``(old list, new list)`` of every subscription both records name
    with different entry lists: the only ones whose entries can differ."""
    before = {s.subscription_id: s.entries_sha256 for s in old.subscriptions}
    return {
        s.subscription_id: (before[s.subscription_id], s.entries_sha256)
        for s in new.subscriptions
        if s.subscription_id in before and before[s.subscription_id] != s.entries_sha256
    }


def whole_subscription(
    record: SubscriptionRecord, entries: tuple[IntegrationEntry, ...]
) -> SubscriptionEntry:
    """``record`` with ``entries`` (its entry list's) inline."""
    fields = record.model_dump(exclude={"entries_sha256", "integration_count"})
    return SubscriptionEntry(**fields, integrations=entries)


def parse_manifest(data: bytes) -> ManifestRecord | SnapshotManifest:
    """A stored manifest's canonical bytes: a record (format 3), or a whole format 1 or 2
    manifest. Raises pydantic's ``ValidationError`` (a ``ValueError``) when it is neither."""
    try:
        return ManifestRecord.model_validate_json(data)
    except ValidationError as error:
        if not any(e["loc"] == ("format_version",) for e in error.errors()):
            raise  # a format 3 record, damaged: its own errors say where
    return SnapshotManifest.model_validate_json(data)
