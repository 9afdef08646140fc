"""Integrity: verify re-reads what snapshots reference, and the chain shows removed or edited
manifests. Real backups against the simulator, damage done directly in the real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.manifest import SnapshotManifest, Trigger, manifest_bytes
from shared.core.retention import RetentionPolicy
from shared.errors import NotFoundError
from shared.services.audit import audit_manifests, store_audit
from shared.services.prune import prune
from shared.services.verify import verify_all, verify_repository, verify_snapshot
from shared.store.repository import SnapshotRepository, object_name, snapshot_name
from tests.support import edit_first_integration


def overwrite(repository: SnapshotRepository, name: str, data: bytes) -> None:
    """Replace a stored object's bytes behind cxbackup's back, as an intruder could."""
    repository.backend.delete(name)
    repository.backend.create(name, data)


def some_entry(manifest: SnapshotManifest):
    return manifest.subscriptions[0].integrations[0]


async def test_intact_snapshot_verifies_ok_after_reading_every_object(backup_service, repository):
    manifest = (await backup_service.run(Trigger.CLI)).manifest
    result = await verify_snapshot(repository, manifest.snapshot_id)
    assert result.ok
    assert result.objects_checked == len(manifest.referenced_hashes())


async def test_missing_object_is_reported_with_the_integration_that_needs_it(
    backup_service, repository
):
    manifest = (await backup_service.run(Trigger.CLI)).manifest
    entry = some_entry(manifest)
    repository.backend.delete(object_name(entry.hash))
    result = await verify_snapshot(repository, manifest.snapshot_id)
    assert not result.ok
    assert [(p.hash, p.integration_ids) for p in result.missing] == [(entry.hash, (entry.id,))]
    assert result.corrupt == ()


async def test_object_with_changed_bytes_is_reported_as_corrupt(backup_service, repository):
    manifest = (await backup_service.run(Trigger.CLI)).manifest
    entry = some_entry(manifest)
    overwrite(repository, object_name(entry.hash), b'{"id": "tampered", "password": "hunter2"}')
    result = await verify_snapshot(repository, manifest.snapshot_id)
    assert [(p.hash, p.integration_ids) for p in result.corrupt] == [(entry.hash, (entry.id,))]
    assert "hunter2" not in result.model_dump_json()


async def test_object_holding_another_integration_than_the_manifest_names_is_corrupt(
    backup_service, repository
):
    manifest = (await backup_service.run(Trigger.CLI)).manifest
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
    manifest = (await backup_service.run(Trigger.CLI)).manifest
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
    manifest = (await backup_service.run(Trigger.CLI)).manifest
    overwrite(repository, snapshot_name(manifest.snapshot_id), b"not a manifest")
    result = await verify_snapshot(repository, manifest.snapshot_id)
    assert not result.ok
    assert "does not parse" in result.manifest_problem


async def test_verify_all_of_an_intact_repository_is_ok_and_reads_shared_objects_once(
    backup_service, repository
):
    first = (await backup_service.run(Trigger.CLI)).manifest
    await backup_service.run(Trigger.CLI)
    report = await verify_all(repository)
    assert report.ok
    assert len(report.snapshots) == 2
    assert report.objects_checked == len(first.referenced_hashes())
    assert report.chain.verified_links == 1


async def test_verify_all_reports_a_corrupt_object_in_every_snapshot_that_uses_it(
    backup_service, repository
):
    first = (await backup_service.run(Trigger.CLI)).manifest
    await backup_service.run(Trigger.CLI)
    overwrite(repository, object_name(some_entry(first).hash), b"{}")
    report = await verify_all(repository)
    assert not report.ok
    assert [len(s.corrupt) for s in report.snapshots] == [1, 1]


async def test_verify_all_reports_an_edited_manifest_naming_it(backup_service, repository):
    first = (await backup_service.run(Trigger.CLI)).manifest
    await backup_service.run(Trigger.CLI)
    edited = first.model_copy(update={"warnings": ("nothing to see here",)})
    overwrite(repository, snapshot_name(first.snapshot_id), manifest_bytes(edited))
    report = await verify_all(repository)
    assert not report.ok
    assert [(p.snapshot_id, p.kind) for p in report.chain.problems] == [
        (first.snapshot_id, "hash_mismatch")
    ]


async def test_verify_all_reports_a_deleted_manifest_naming_it(backup_service, repository):
    await backup_service.run(Trigger.CLI)
    middle = (await backup_service.run(Trigger.CLI)).manifest
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
    first = (await backup_service.run(Trigger.CLI)).manifest
    newest = (await backup_service.run(Trigger.CLI)).manifest
    await store_audit(
        repository, await audit_manifests(repository, first, newest, generated_at=clock.now())
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
    first = (await backup_service.run(Trigger.CLI)).manifest
    second = (await backup_service.run(Trigger.CLI)).manifest
    overwrite(
        repository,
        snapshot_name(first.snapshot_id),
        manifest_bytes(first.model_copy(update={"note": "edited"})),
    )
    report = await verify_repository(repository, [second.snapshot_id])
    assert [s.snapshot_id for s in report.snapshots] == [second.snapshot_id]
    assert report.snapshots[0].ok
    assert not report.ok
    assert report.chain.problems[0].snapshot_id == first.snapshot_id


async def test_object_that_is_not_json_is_reported_as_corrupt_under_a_matching_hash(
    backup_service, repository
):
    manifest = (await backup_service.run(Trigger.CLI)).manifest
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
