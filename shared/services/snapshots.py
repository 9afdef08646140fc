"""Read-side use cases: list snapshots, show one, fetch a stored integration as it was."""

from __future__ import annotations

from dataclasses import dataclass

from shared.core.manifest import (
    IntegrationEntry,
    ManifestRecord,
    SnapshotManifest,
    SubscriptionEntry,
)
from shared.errors import NotFoundError
from shared.store.repository import SnapshotRepository

MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class SnapshotPage:
    items: tuple[ManifestRecord, ...]  # records: listing reads no entry list
    total: int
    next_cursor: str | None  # pass as ``before`` to get the next (older) page


@dataclass(frozen=True)
class StoredIntegration:
    snapshot_id: str
    subscription: SubscriptionEntry
    entry: IntegrationEntry
    data: bytes  # canonical JSON exactly as stored


async def list_snapshots(
    repository: SnapshotRepository, *, limit: int = 50, before: str | None = None
) -> SnapshotPage:
    """Newest first; ``before`` is an exclusive snapshot-id cursor."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    ids = list(reversed(await repository.list_snapshot_ids()))
    if before is not None:
        ids = [i for i in ids if i < before]
    page_ids = ids[:limit]
    items = tuple([(await repository.read_record(i)).record for i in page_ids])
    next_cursor = page_ids[-1] if len(ids) > limit else None
    return SnapshotPage(items, len(ids), next_cursor)


async def get_snapshot(repository: SnapshotRepository, reference: str) -> SnapshotManifest:
    return await repository.read_manifest(await repository.resolve_snapshot_id(reference))


async def get_stored_integration(
    repository: SnapshotRepository, snapshot_reference: str, integration_id: str
) -> StoredIntegration:
    manifest = await get_snapshot(repository, snapshot_reference)
    try:
        subscription, entry = manifest.find_integration(integration_id)
    except KeyError:
        raise NotFoundError(
            f"integration {integration_id[:80]!r} is not in snapshot {manifest.snapshot_id}"
        ) from None
    data = await repository.read_object(entry.hash)
    return StoredIntegration(manifest.snapshot_id, subscription, entry, data)
