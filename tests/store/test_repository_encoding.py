"""The repository stores gzip-compressed canonical JSON and reads what older versions wrote.

Run against both backends (a folder and a real Azurite container): compression must be
invisible above the repository, and plain JSON from before it must stay readable.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.core.canonical import canonical_bytes, content_hash
from shared.core.manifest import (
    IntegrationEntry,
    SnapshotManifest,
    SnapshotStatus,
    SubscriptionEntry,
    SubscriptionStatus,
    Trigger,
    entry_list_bytes,
    record_bytes,
    record_of,
)
from shared.errors import CorruptObjectError, NotFoundError
from shared.store import Backend, codec
from shared.store.blob import content_type_for
from shared.store.repository import (
    SnapshotRepository,
    entry_list_name,
    object_name,
    snapshot_name,
)

CONFIG = {"id": "4f1c", "transactionType": "Order", "secret": {"decryptedValue": "x"}, "n": 1}
AT = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


@pytest.fixture
def repository(backend: Backend):
    repository = SnapshotRepository(backend, max_workers=4)
    yield repository
    repository.close()


def a_manifest(snapshot_id: str = "20261204T020000Z-000abc", version: int = 3) -> SnapshotManifest:
    data = canonical_bytes(CONFIG)
    entry = IntegrationEntry(id="4f1c", label="Order", hash=content_hash(data), size=len(data))
    return SnapshotManifest(
        format_version=version,
        snapshot_id=snapshot_id,
        trigger=Trigger.CLI,
        status=SnapshotStatus.COMPLETE,
        started_at=AT,
        finished_at=AT,
        subscriptions=(
            SubscriptionEntry(
                subscription_id="s1", status=SubscriptionStatus.COMPLETE, integrations=(entry,)
            ),
        ),
    )


async def test_an_object_is_stored_compressed_and_read_back_as_canonical_bytes(repository, backend):
    stored = await repository.put_document_object(CONFIG)

    raw = backend.read(object_name(stored.hash))
    assert codec.is_encoded(raw)
    assert stored.stored_size == len(raw) and stored.size == len(canonical_bytes(CONFIG))
    assert await repository.read_object(stored.hash) == canonical_bytes(CONFIG)


async def test_an_uncompressed_object_from_before_compression_still_reads(repository, backend):
    data = canonical_bytes(CONFIG)
    backend.create(object_name(content_hash(data)), data)

    assert await repository.load_document(content_hash(data)) == CONFIG


async def test_a_damaged_compressed_object_is_reported_corrupt(repository, backend):
    data = canonical_bytes(CONFIG)
    backend.create(object_name(content_hash(data)), codec.encode(data)[:-9])

    with pytest.raises(CorruptObjectError, match="damaged gzip"):
        await repository.read_object(content_hash(data))


async def test_a_manifest_is_stored_compressed_and_hashed_over_its_canonical_bytes(
    repository, backend
):
    manifest = a_manifest()

    returned = await repository.put_manifest(manifest)

    assert codec.is_encoded(backend.read(snapshot_name(manifest.snapshot_id)))
    assert returned == record_bytes(record_of(manifest)[0])
    assert await repository.read_manifest_bytes(manifest.snapshot_id) == returned
    assert await repository.read_manifest(manifest.snapshot_id) == manifest


async def test_a_manifest_stores_each_subscriptions_entries_as_a_compressed_entry_list(
    repository, backend
):
    manifest = a_manifest()

    await repository.put_manifest(manifest)

    data = entry_list_bytes(manifest.subscriptions[0].integrations)
    assert codec.decode(backend.read(entry_list_name(content_hash(data)))) == data
    assert codec.is_encoded(backend.read(entry_list_name(content_hash(data))))


async def test_two_manifests_with_the_same_entries_share_one_entry_list(repository):
    await repository.put_manifest(a_manifest("20261204T020000Z-000abc"))
    await repository.put_manifest(a_manifest("20261205T020000Z-000abc"))

    assert len(await repository.list_entry_list_hashes()) == 1


async def test_a_record_is_read_without_its_entry_lists(repository, backend):
    manifest = a_manifest()
    await repository.put_manifest(manifest)
    (digest,) = await repository.list_entry_list_hashes()
    backend.delete(entry_list_name(digest))

    stored = await repository.read_record(manifest.snapshot_id)

    assert stored.record.subscriptions[0].entries_sha256 == digest
    assert stored.record.integration_count() == 1
    assert stored.inline == {}


async def test_a_missing_entry_list_is_named_when_the_whole_manifest_is_read(repository, backend):
    manifest = a_manifest()
    await repository.put_manifest(manifest)
    (digest,) = await repository.list_entry_list_hashes()
    backend.delete(entry_list_name(digest))

    with pytest.raises(NotFoundError, match=f"entry list {digest}"):
        await repository.read_manifest(manifest.snapshot_id)


async def test_an_entry_list_that_does_not_match_its_hash_is_reported_corrupt(repository, backend):
    manifest = a_manifest()
    await repository.put_manifest(manifest)
    (digest,) = await repository.list_entry_list_hashes()
    backend.delete(entry_list_name(digest))
    backend.create(entry_list_name(digest), codec.encode(entry_list_bytes(())))

    with pytest.raises(CorruptObjectError, match="does not match its hash"):
        await repository.read_manifest(manifest.snapshot_id)


def legacy_bytes(manifest: SnapshotManifest) -> bytes:
    """How formats 1 and 2 stored a manifest: the whole of it as one canonical document."""
    return canonical_bytes(manifest.model_dump(mode="json"))


async def test_a_format_1_manifest_stored_as_plain_json_still_reads(repository, backend):
    old = a_manifest(version=1)
    backend.create(snapshot_name(old.snapshot_id), legacy_bytes(old))

    read = await repository.read_manifest(old.snapshot_id)

    assert read.format_version == 1
    assert read.subscriptions[0].listing_sha256 is None
    assert await repository.read_manifest_bytes(old.snapshot_id) == legacy_bytes(old)


async def test_a_format_2_manifest_reads_as_a_record_with_its_entries_inline(repository, backend):
    old = a_manifest(version=2)
    backend.create(snapshot_name(old.snapshot_id), codec.encode(legacy_bytes(old)))

    stored = await repository.read_record(old.snapshot_id)

    (subscription,) = stored.record.subscriptions
    assert stored.inline == {subscription.entries_sha256: old.subscriptions[0].integrations}
    assert stored.manifest_hash == content_hash(legacy_bytes(old))
    assert await repository.list_entry_list_hashes() == []


async def test_a_damaged_compressed_manifest_is_reported_corrupt(repository, backend):
    manifest = a_manifest()
    backend.create(
        snapshot_name(manifest.snapshot_id), codec.encode(record_bytes(record_of(manifest)[0]))[:20]
    )

    with pytest.raises(CorruptObjectError, match="verify --all"):
        await repository.read_manifest(manifest.snapshot_id)


async def test_documents_are_stored_compressed_and_read_back(repository, backend):
    await repository.put_document("audits", "20261204T020000Z-000abc", a_manifest())

    assert codec.is_encoded(backend.read("audits/20261204T020000Z-000abc.json"))
    assert (
        await repository.read_document("audits", "20261204T020000Z-000abc", SnapshotManifest)
        == a_manifest()
    )


def test_a_compressed_blob_is_labelled_as_gzip_for_the_portal():
    assert content_type_for("objects/ab/x.json", codec.encode(b"{}")) == "application/gzip"
