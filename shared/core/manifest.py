"""Snapshot manifests: the small, write-once document that says what one backup stored.

A manifest lists, per subscription, whether it was backed up and, per integration, the content
hash of its stored config. It is written after every object it names, so a manifest that exists
never claims more than was stored. Manifests chain: each carries the hash of the previous
complete manifest's bytes, which makes a removed or edited snapshot detectable.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# 2: subscriptions record ``listing_sha256``, and manifests are stored compressed
# (``shared.store.codec``). Format 1 manifests read as before.
MANIFEST_FORMAT_VERSION = 2

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


# The models below declare their fields in sorted order on purpose: pydantic then serialises
# them as canonical JSON directly (see ``manifest_bytes``). tests/unit/test_manifest_bytes.py
# fails if a field is added out of order.


class IntegrationEntry(_Frozen):
    """One stored integration config, by reference."""

    hash: str  # sha256 of the canonical JSON bytes; the object's content address
    id: str
    label: str  # human label from transactionType / sender / receiver
    size: int  # byte length of the canonical JSON
    updated_at: str | None = None  # the config's updatedAtUtc, as the API wrote it
    updated_by: str | None = None  # the config's updatedBy, for attribution without a read


class SubscriptionEntry(_Frozen):
    integrations: tuple[IntegrationEntry, ...] = ()
    # SHA-256 of the GET /v2/integrations answer these entries were made from, byte for byte.
    # The next backup that receives the same bytes reuses the entries instead of parsing again.
    listing_sha256: str | None = None
    name: str | None = None
    reason: str | None = None  # why it was skipped or failed; never holds a secret
    status: SubscriptionStatus
    subscription_id: str


class SnapshotManifest(_Frozen):
    finished_at: datetime
    format_version: Literal[1, 2] = MANIFEST_FORMAT_VERSION
    # Subscriptions whose mass-change guard tripped in this snapshot: pruning of their older
    # snapshots is suspended until someone acknowledges it (see ``cxbackup acknowledge``).
    mass_change_subscriptions: tuple[str, ...] = ()
    note: str | None = Field(default=None, description="free text, e.g. the restore it preceded")
    previous_manifest_hash: str | None = None  # sha256 of that manifest's canonical bytes
    previous_snapshot_id: str | None = None  # the previous complete snapshot
    snapshot_id: str
    started_at: datetime
    status: SnapshotStatus
    subscriptions: tuple[SubscriptionEntry, ...] = ()
    trigger: Trigger
    warnings: tuple[str, ...] = ()

    @property
    def is_good(self) -> bool:
        """A complete, regular snapshot: what "the previous complete snapshot" and retention's
        "last good" mean. A pre-restore snapshot covers only a restore's scope, so it is kept
        (never pruned) but never stands in for the whole estate."""
        return self.status is SnapshotStatus.COMPLETE and self.trigger is not Trigger.PRE_RESTORE

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


def overall_status(subscriptions: tuple[SubscriptionEntry, ...]) -> SnapshotStatus:
    """complete when all were backed up; failed when none was (or none exist); else partial."""
    done = sum(1 for s in subscriptions if s.status is SubscriptionStatus.COMPLETE)
    if subscriptions and done == len(subscriptions):
        return SnapshotStatus.COMPLETE
    if done == 0:
        return SnapshotStatus.FAILED
    return SnapshotStatus.PARTIAL


def manifest_bytes(manifest: SnapshotManifest) -> bytes:
    """The stored form of a manifest: canonical JSON of its model dump.

    Written by pydantic's serializer, which emits fields in declaration order, compact, UTF-8
    as is, with ``json.dumps``'s string escapes: with the fields declared in sorted order that
    is canonical JSON byte for byte, at a third of the cost of ``canonical_bytes(model_dump())``
    (10,000 entries: 25 ms instead of 80 ms, on every backup's critical path).
    """
    return manifest.__pydantic_serializer__.to_json(manifest)
