"""Integrity: verify re-reads what snapshots reference, and the chain shows removed or edited
manifests. Real backups against the simulator, damage done directly in the real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.canonical import canonical_bytes
from shared.core.manifest import (
    IntegrationEntry,
    SnapshotManifest,
    Trigger,
    entry_list_bytes,
    record_bytes,
)
from shared.core.retention import RetentionPolicy
from shared.errors import NotFoundError
from shared.services.audit import audit_snapshots, store_audit
from shared.services.prune import prune
from shared.services.verify import verify_all, verify_repository, verify_snapshot
from shared.store import codec
from shared.store.repository import (
    SnapshotRepository,
    entry_list_name,
    object_name,
    snapshot_name,
)
from tests.support import edit_first_integration, whole_snapshot


def overwrite(repository: SnapshotRepository, name: str, data: bytes) -> None:
    """Replace a stored object's bytes behind cxbackup's back, as an intruder could."""
    repository.backend.delete(name)
    repository.backend.create(name, data)


def some_entry(manifest: SnapshotManifest) -> IntegrationEntry:
    return manifest.subscriptions[0].integrations[0]


async def edited_record_bytes(
    repository: SnapshotRepository, snapshot_id: str, **changes: object
) -> bytes:
    """The stored record of ``snapshot_id`` with ``changes``, as canonical bytes."""
    record = (await repository.read_record(snapshot_id)).record
    return record_bytes(record.model_copy(update=changes))


async def test_intact_snapshot_verifies_ok_after_reading_every_object(backup_service, repository):
    manifest = await whole_snapshot(backup_service, repository)
    result = await verify_snapshot(repository, manifest.snapshot_id)
    assert result.ok
    assert result.objects_checked == len(manifest.referenced_hashes())


async def test_missing_object_is_reported_with_the_integration_that_needs_it(
    backup_service, repository
):
    manifest = await whole_snapshot(backup_service, repository)
    entry = some_entry(manifest)
    repository.backend.delete(object_name(entry.hash))
    result = await verify_snapshot(repository, manifest.snapshot_id)
    assert not result.ok
    assert [(p.hash, p.integration_ids) for p in result.missing] == [(entry.hash, (entry.id,))]
    assert result.corrupt == ()


async def test_object_with_changed_bytes_is_reported_as_corrupt(backup_service, repository):
    manifest = await whole_snapshot(backup_service, repository)
    entry = some_entry(manifest)
    overwrite(repository, object_name(entry.hash), b'{"id": "tampered", "password": "hunter2"}')
    result = await verify_snapshot(repository, manifest.snapshot_id)
    assert [(p.hash, p.integration_ids) for p in result.corrupt] == [(entry.hash, (entry.id,))]
    assert "hunter2" not in result.model_dump_json()


async def test_object_holding_another_integration_than_the_manifest_names_is_corrupt(
    backup_service, repository
):
    manifest = await whole_snapshot(backup_service, repository)
    first, second = manifest.subscriptions[0].integrations[:2]
    swapped = first.model_copy(update={"hash": second.hash, "size": second.size})
    subscription = manifest.subscriptions[0].model_copy(
        update={"integrations": (swapped, *manifest.subscriptions[0].integrations[1:])}
    )
    forged = manifest.model_copy(
        update={
            "snapshot_id": "20261231T000000Z-aaaaaa",
            "subscriptions": (subscription, *manifest.subscriptions[1:]),
        }
    )
    await repository.put_manifest(forged)
    result = await verify_snapshot(repository, forged.snapshot_id)
    assert [(p.hash, p.integration_ids) for p in result.corrupt] == [(second.hash, (first.id,))]
    assert "holds integration" in result.corrupt[0].detail


async def test_scoped_verification_reads_only_the_named_integrations(backup_service, repository):
    manifest = await whole_snapshot(backup_service, repository)
    wanted, broken = manifest.subscriptions[0].integrations[:2]
    repository.backend.delete(object_name(broken.hash))
    result = await verify_snapshot(
        repository, manifest.snapshot_id, integration_ids=frozenset({wanted.id})
    )
    assert result.ok
    assert result.objects_checked == 1


async def test_verifying_an_unknown_snapshot_raises_not_found(repository):
    with pytest.raises(NotFoundError, match="does not exist"):
        await verify_snapshot(repository, "20200101T000000Z-abcdef")


async def test_unparseable_manifest_is_a_finding_not_an_exception(backup_service, repository):
    manifest = await whole_snapshot(backup_service, repository)
    overwrite(repository, snapshot_name(manifest.snapshot_id), b"not a manifest")
    result = await verify_snapshot(repository, manifest.snapshot_id)
    assert not result.ok
    assert "does not parse" in result.manifest_problem


async def test_verify_all_of_an_intact_repository_is_ok_and_reads_shared_objects_once(
    backup_service, repository
):
    first = await whole_snapshot(backup_service, repository)
    await backup_service.run(Trigger.CLI)
    report = await verify_all(repository)
    assert report.ok
    assert len(report.snapshots) == 2
    assert report.objects_checked == len(first.referenced_hashes())
    assert report.chain.verified_links == 1


async def test_verify_all_reports_a_corrupt_object_in_every_snapshot_that_uses_it(
    backup_service, repository
):
    first = await whole_snapshot(backup_service, repository)
    await backup_service.run(Trigger.CLI)
    overwrite(repository, object_name(some_entry(first).hash), b"{}")
    report = await verify_all(repository)
    assert not report.ok
    assert [len(s.corrupt) for s in report.snapshots] == [1, 1]


async def test_verify_all_reports_an_edited_manifest_naming_it(backup_service, repository):
    first = await whole_snapshot(backup_service, repository)
    await backup_service.run(Trigger.CLI)
    edited = await edited_record_bytes(
        repository, first.snapshot_id, warnings=("nothing to see here",)
    )
    overwrite(repository, snapshot_name(first.snapshot_id), edited)
    report = await verify_all(repository)
    assert not report.ok
    assert [(p.snapshot_id, p.kind) for p in report.chain.problems] == [
        (first.snapshot_id, "hash_mismatch")
    ]


async def test_verify_all_reports_a_deleted_manifest_naming_it(backup_service, repository):
    await backup_service.run(Trigger.CLI)
    middle = await whole_snapshot(backup_service, repository)
    await backup_service.run(Trigger.CLI)
    repository.backend.delete(snapshot_name(middle.snapshot_id))
    report = await verify_all(repository)
    assert not report.ok
    assert [(p.snapshot_id, p.kind) for p in report.chain.problems] == [
        (middle.snapshot_id, "missing_previous")
    ]


async def test_removed_newest_manifest_shows_through_its_remaining_audit(
    backup_service, repository, clock
):
    first = await whole_snapshot(backup_service, repository)
    newest = await whole_snapshot(backup_service, repository)
    await store_audit(
        repository, await audit_snapshots(repository, first, newest, generated_at=clock.now())
    )
    repository.backend.delete(snapshot_name(newest.snapshot_id))
    report = await verify_all(repository)
    assert not report.ok
    assert report.orphan_audits == (newest.snapshot_id,)


async def test_snapshots_forgotten_by_prune_are_not_reported_as_removed(
    backup_service, repository, simulator
):
    sid = simulator.subscription_ids[0]
    for day in range(4):
        edit_first_integration(simulator, sid, f"day {day}")
        await backup_service.run(Trigger.TIMER)
    policy = RetentionPolicy(
        keep_last=1, keep_daily=0, keep_weekly=0, keep_monthly=0, grace=timedelta(0)
    )
    pruned = await prune(repository, policy, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert len(pruned.manifests_deleted) == 3
    report = await verify_all(repository)
    assert report.ok, report
    assert report.forgotten == 3


async def test_verifying_one_snapshot_still_walks_the_whole_chain(backup_service, repository):
    first = await whole_snapshot(backup_service, repository)
    second = await whole_snapshot(backup_service, repository)
    edited = await edited_record_bytes(repository, first.snapshot_id, note="edited")
    overwrite(repository, snapshot_name(first.snapshot_id), edited)
    report = await verify_repository(repository, [second.snapshot_id])
    assert [s.snapshot_id for s in report.snapshots] == [second.snapshot_id]
    assert report.snapshots[0].ok
    assert not report.ok
    assert report.chain.problems[0].snapshot_id == first.snapshot_id


async def test_object_that_is_not_json_is_reported_as_corrupt_under_a_matching_hash(
    backup_service, repository
):
    manifest = await whole_snapshot(backup_service, repository)
    junk = b"\x00\x01 not json"
    stored = await repository.put_object(junk)
    entry = some_entry(manifest).model_copy(update={"hash": stored.hash, "size": len(junk)})
    subscription = manifest.subscriptions[0].model_copy(update={"integrations": (entry,)})
    forged = manifest.model_copy(
        update={"snapshot_id": "20261231T000000Z-bbbbbb", "subscriptions": (subscription,)}
    )
    await repository.put_manifest(forged)
    result = await verify_snapshot(repository, forged.snapshot_id)
    assert [p.detail for p in result.corrupt] == ["its bytes match the hash but are not JSON"]


# -- entry lists and legacy manifests ----------------------------------------------------------


async def first_list(repository: SnapshotRepository, snapshot_id: str) -> tuple[str, str]:
    """The first subscription of a stored record, and the entry list it names."""
    subscription = (await repository.read_record(snapshot_id)).record.subscriptions[0]
    return subscription.subscription_id, subscription.entries_sha256


async def test_missing_entry_list_is_reported_naming_its_subscription_and_list(
    backup_service, repository
):
    manifest = await whole_snapshot(backup_service, repository)
    subscription_id, digest = await first_list(repository, manifest.snapshot_id)
    repository.backend.delete(entry_list_name(digest))
    result = await verify_snapshot(repository, manifest.snapshot_id)
    assert not result.ok
    assert f"subscription {subscription_id}: entry list {digest} is missing" in (
        result.manifest_problem
    )


async def test_objects_of_the_lists_still_readable_are_checked_beside_a_missing_one(
    backup_service, repository
):
    manifest = await whole_snapshot(backup_service, repository)
    _, digest = await first_list(repository, manifest.snapshot_id)
    repository.backend.delete(entry_list_name(digest))
    result = await verify_snapshot(repository, manifest.snapshot_id)
    others = {e.hash for s in manifest.subscriptions[1:] for e in s.integrations}
    assert result.objects_checked == len(others)


async def test_tampered_entry_list_is_reported_by_verify_all(backup_service, repository):
    manifest = await whole_snapshot(backup_service, repository)
    subscription_id, digest = await first_list(repository, manifest.snapshot_id)
    # One integration quietly dropped from the list: valid, but no longer what its hash says.
    fewer = entry_list_bytes(manifest.subscriptions[0].integrations[1:])
    overwrite(repository, entry_list_name(digest), codec.encode(fewer))
    report = await verify_all(repository)
    assert not report.ok
    assert report.snapshots[0].manifest_problem == (
        f"subscription {subscription_id}: entry list {digest} does not match its hash or is "
        "not an entry list; its integrations are unknown"
    )


async def test_record_counting_other_than_its_entry_list_holds_is_reported(
    backup_service, repository
):
    manifest = await whole_snapshot(backup_service, repository)
    record = (await repository.read_record(manifest.snapshot_id)).record
    first = record.subscriptions[0]
    inflated = first.model_copy(update={"integration_count": first.integration_count + 1})
    forged = record.model_copy(
        update={
            "snapshot_id": "20261231T000000Z-cccccc",
            "subscriptions": (inflated, *record.subscriptions[1:]),
        }
    )
    await repository.put_record(forged)
    result = await verify_snapshot(repository, forged.snapshot_id)
    assert not result.ok
    assert result.manifest_problem == (
        f"subscription {first.subscription_id}: entry list {first.entries_sha256} holds "
        f"{first.integration_count} integration(s), but the manifest records "
        f"{first.integration_count + 1}"
    )
    assert (result.missing, result.corrupt) == ((), ())


async def test_legacy_format_2_manifest_is_still_verified(backup_service, repository):
    manifest = await whole_snapshot(backup_service, repository)
    # As a store written before records: one document, entries inline, and no entry lists.
    legacy = manifest.model_copy(update={"format_version": 2}).model_dump(mode="json")
    overwrite(repository, snapshot_name(manifest.snapshot_id), canonical_bytes(legacy))
    for digest in await repository.list_entry_list_hashes():
        await repository.delete_entry_list(digest)
    report = await verify_all(repository)
    assert report.ok, report
    assert report.snapshots[0].objects_checked == len(manifest.referenced_hashes())
