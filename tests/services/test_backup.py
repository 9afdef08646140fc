"""The backup use case, end to end against the simulator and a real local store."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

from shared.clock import FixedClock, TickingClock
from shared.core.canonical import canonical_bytes, content_hash, parse_json
from shared.core.manifest import SnapshotStatus, SubscriptionStatus, Trigger
from shared.services.backup import BackupService
from shared.services.verify import verify_snapshot
from shared.simulator import Fault
from shared.store import codec
from shared.store.repository import entry_list_name, snapshot_name
from tests.support import edit_first_integration, live_secret_values, whole_snapshot


async def test_first_backup_stores_every_integration_of_every_subscription(
    backup_service, simulator, repository
):
    result = await backup_service.run(Trigger.CLI)
    manifest = await repository.read_manifest(result.manifest.snapshot_id)
    assert manifest.status is SnapshotStatus.COMPLETE
    expected = {
        sid: {i["id"] for i in simulator.integrations(sid)} for sid in simulator.subscription_ids
    }
    stored = {s.subscription_id: {e.id for e in s.integrations} for s in manifest.subscriptions}
    assert stored == expected
    assert result.objects_written == sum(len(v) for v in expected.values())


async def test_stored_object_is_the_canonical_json_the_api_returned(
    backup_service, simulator, repository
):
    manifest = await whole_snapshot(backup_service, repository)
    sid = simulator.subscription_ids[0]
    live = simulator.integrations(sid)[0]
    _, entry = manifest.find_integration(live["id"])
    assert await repository.read_object(entry.hash) == canonical_bytes(live)


async def test_unknown_properties_survive_backup_byte_for_byte(
    backup_service, simulator, repository
):
    sid = simulator.subscription_ids[0]
    config = simulator.integrations(sid)[0]
    config["futureFeature"] = {"nested": {"flag": True, "list": [1, "two", None]}}
    config["inboundConnection"]["newAdapterSetting"] = "kept"
    simulator.put_integration(sid, config)
    live = simulator.get_integration(sid, config["id"])

    manifest = await whole_snapshot(backup_service, repository)
    _, entry = manifest.find_integration(config["id"])
    stored = await repository.read_object(entry.hash)
    assert stored == canonical_bytes(live)
    assert parse_json(stored)["futureFeature"]["nested"]["list"] == [1, "two", None]


async def test_second_backup_with_nothing_changed_writes_only_its_manifest(
    backup_service, repository
):
    await backup_service.run(Trigger.CLI)
    objects_before = await repository.list_object_hashes()
    second = await backup_service.run(Trigger.CLI)
    assert second.objects_written == 0
    assert await repository.list_object_hashes() == objects_before
    assert len(await repository.list_snapshot_ids()) == 2


async def test_second_backup_with_nothing_changed_names_the_same_entry_lists(
    backup_service, repository
):
    first = await backup_service.run(Trigger.CLI)
    lists_before = sorted(await repository.list_entry_list_hashes())

    second = await backup_service.run(Trigger.CLI)

    assert sorted(await repository.list_entry_list_hashes()) == lists_before
    named = [s.entries_sha256 for s in second.manifest.subscriptions]
    assert named == [s.entries_sha256 for s in first.manifest.subscriptions]


async def test_a_changed_subscription_gets_a_new_entry_list_and_the_others_keep_theirs(
    backup_service, simulator, repository
):
    first = await backup_service.run(Trigger.CLI)
    sid = simulator.subscription_ids[1]
    edit_first_integration(simulator, sid, "edited by a person")

    second = await backup_service.run(Trigger.CLI)

    before = {s.subscription_id: s.entries_sha256 for s in first.manifest.subscriptions}
    after = {s.subscription_id: s.entries_sha256 for s in second.manifest.subscriptions}
    assert [s for s in after if after[s] != before[s]] == [sid]
    assert after[sid] in await repository.list_entry_list_hashes()


async def test_a_backup_after_a_format_2_manifest_stores_the_entry_lists_it_names_again(
    backup_service, repository
):
    first = await whole_snapshot(backup_service, repository)
    # Rewrite the store as format 2 left it: the whole manifest as one document, no lists.
    repository.backend.delete(snapshot_name(first.snapshot_id))
    for digest in await repository.list_entry_list_hashes():
        repository.backend.delete(entry_list_name(digest))
    legacy = first.model_copy(update={"format_version": 2})
    repository.backend.create(
        snapshot_name(first.snapshot_id),
        codec.encode(canonical_bytes(legacy.model_dump(mode="json"))),
    )

    second = await backup_service.run(Trigger.CLI)

    assert second.objects_written == 0
    whole = await repository.read_manifest(second.manifest.snapshot_id)
    assert [s.integrations for s in whole.subscriptions] == [
        s.integrations for s in first.subscriptions
    ]
    assert second.manifest.previous_manifest_hash == content_hash(
        canonical_bytes(legacy.model_dump(mode="json"))
    )


async def test_an_unreadable_previous_entry_list_is_a_warning_not_a_failed_backup(
    backup_service, simulator, repository
):
    first = await backup_service.run(Trigger.CLI)
    sid = simulator.subscription_ids[0]
    edit_first_integration(simulator, sid, "edited by a person")
    lost = next(s.entries_sha256 for s in first.manifest.subscriptions if s.subscription_id == sid)
    repository.backend.delete(entry_list_name(lost))

    second = await backup_service.run(Trigger.CLI)

    assert second.manifest.status is SnapshotStatus.COMPLETE
    assert second.objects_written == 1  # the others were offered again and found stored
    assert any(f"entry list {lost}" in w for w in second.manifest.warnings)
    assert (await verify_snapshot(repository, second.manifest.snapshot_id)).ok


async def test_a_previous_record_naming_no_hash_is_a_warning_not_a_failed_backup(
    backup_service, simulator, repository
):
    first = await backup_service.run(Trigger.CLI)
    sid = simulator.subscription_ids[0]
    edit_first_integration(simulator, sid, "edited by a person")
    edited = tuple(
        s.model_copy(update={"entries_sha256": "not-a-hash"}) if s.subscription_id == sid else s
        for s in first.manifest.subscriptions
    )
    repository.backend.delete(snapshot_name(first.manifest.snapshot_id))
    await repository.put_record(first.manifest.model_copy(update={"subscriptions": edited}))

    second = await backup_service.run(Trigger.CLI)

    assert second.manifest.status is SnapshotStatus.COMPLETE
    assert any("not-a-hash" in w and "not a content hash" in w for w in second.manifest.warnings)


async def test_backup_after_one_change_writes_one_object(backup_service, simulator):
    await backup_service.run(Trigger.CLI)
    sid = simulator.subscription_ids[1]
    edit_first_integration(simulator, sid, "edited by a person")
    second = await backup_service.run(Trigger.CLI)
    assert second.objects_written == 1


async def test_a_subscription_answering_the_same_bytes_keeps_its_entries_and_answer_hash(
    backup_service, repository
):
    first = await whole_snapshot(backup_service, repository)
    second = await whole_snapshot(backup_service, repository)

    assert [s.listing_sha256 for s in second.subscriptions] == [
        s.listing_sha256 for s in first.subscriptions
    ]
    assert all(s.listing_sha256 for s in second.subscriptions)
    assert [s.integrations for s in second.subscriptions] == [
        s.integrations for s in first.subscriptions
    ]


async def test_a_changed_answer_is_read_again_and_only_its_subscription_changes(
    backup_service, simulator, repository
):
    first = await whole_snapshot(backup_service, repository)
    sid = simulator.subscription_ids[1]
    config = edit_first_integration(simulator, sid, "edited by a person")

    second = await whole_snapshot(backup_service, repository)

    before = {s.subscription_id: s.listing_sha256 for s in first.subscriptions}
    after = {s.subscription_id: s.listing_sha256 for s in second.subscriptions}
    assert [s for s in after if after[s] != before[s]] == [sid]
    _, entry = second.find_integration(config["id"])
    assert entry.hash == content_hash(canonical_bytes(simulator.get_integration(sid, config["id"])))


async def test_a_subscription_that_failed_before_is_read_in_full_once_it_answers(
    backup_service, simulator, repository
):
    revoked = simulator.subscription_ids[1]
    simulator.revoke_key(revoked)
    await backup_service.run(Trigger.CLI)
    simulator.restore_key(revoked)

    manifest = await whole_snapshot(backup_service, repository)

    recovered = next(s for s in manifest.subscriptions if s.subscription_id == revoked)
    assert recovered.status is SubscriptionStatus.COMPLETE
    assert {e.id for e in recovered.integrations} == {
        i["id"] for i in simulator.integrations(revoked)
    }


async def test_a_backup_that_reused_entries_verifies_every_object_it_names(
    backup_service, repository
):
    await backup_service.run(Trigger.CLI)
    second = await whole_snapshot(backup_service, repository)

    result = await verify_snapshot(repository, second.snapshot_id)

    assert result.ok
    assert result.objects_checked == len(second.referenced_hashes())


async def test_manifest_entries_carry_label_size_and_attribution(
    backup_service, simulator, repository
):
    manifest = await whole_snapshot(backup_service, repository)
    sid = simulator.subscription_ids[0]
    live = simulator.integrations(sid)[0]
    _, entry = manifest.find_integration(live["id"])
    assert live["transactionType"] in entry.label
    assert entry.size == len(canonical_bytes(live))
    assert entry.updated_by == live["updatedBy"]
    assert entry.updated_at == live["updatedAtUtc"]


async def test_manifests_chain_to_the_previous_complete_snapshot(backup_service, repository):
    first = await whole_snapshot(backup_service, repository)
    second = await whole_snapshot(backup_service, repository)
    assert first.previous_snapshot_id is None
    assert second.previous_snapshot_id == first.snapshot_id
    assert second.previous_manifest_hash == content_hash(
        await repository.read_manifest_bytes(first.snapshot_id)
    )


async def test_two_backups_started_in_the_same_instant_both_survive(simulator, client, repository):
    service = BackupService(
        client=client,
        repository=repository,
        api_keys=simulator.api_keys,
        clock=FixedClock(datetime(2026, 12, 4, 2, tzinfo=UTC)),
    )
    first, second = [
        r.manifest
        for r in await asyncio.gather(service.run(Trigger.TIMER), service.run(Trigger.HTTP))
    ]
    assert first.snapshot_id != second.snapshot_id
    assert first.snapshot_id[:16] == second.snapshot_id[:16]  # same UTC second
    assert len(await repository.list_snapshot_ids()) == 2


async def test_colliding_snapshot_id_draws_a_new_suffix(simulator, client, repository):
    clock = FixedClock(datetime(2026, 12, 4, 2, tzinfo=UTC))
    suffixes = iter(["aaaaaa", "aaaaaa", "bbbbbb"])
    service = BackupService(
        client=client,
        repository=repository,
        api_keys=simulator.api_keys,
        clock=clock,
        make_suffix=lambda _at: next(suffixes),
    )
    first = await whole_snapshot(service, repository)
    second = await whole_snapshot(service, repository)
    assert first.snapshot_id.endswith("aaaaaa")
    assert second.snapshot_id.endswith("bbbbbb")


async def test_subscription_without_a_key_is_skipped_with_its_reason(
    simulator, client, repository, clock
):
    keys = simulator.api_keys
    missing = simulator.subscription_ids[2]
    del keys[missing]
    service = BackupService(client=client, repository=repository, api_keys=keys, clock=clock)
    manifest = await whole_snapshot(service, repository)
    assert manifest.status is SnapshotStatus.PARTIAL
    entry = next(s for s in manifest.subscriptions if s.subscription_id == missing)
    assert entry.status is SubscriptionStatus.SKIPPED
    assert "CONNXIO_API_KEYS" in entry.reason


async def test_integration_reads_do_not_wait_for_subscription_discovery(
    backup_service, simulator, repository
):
    # Discovery answers half a second late; every keyed subscription is read meanwhile.
    simulator.inject(Fault("latency", path="/v2/subscriptions", delay=0.5))
    read_when_discovered: list[set[str | None]] = []

    def progress(message: str) -> None:
        if message.startswith("found "):
            read_when_discovered.append(
                {r.subscription_id for r in simulator.requests if r.path == "/v2/integrations"}
            )

    manifest = await whole_snapshot(backup_service, repository, progress=progress)

    assert read_when_discovered == [set(simulator.api_keys)]
    names = {s["id"]: s["name"] for s in simulator.subscriptions()}
    assert {s.subscription_id: s.name for s in manifest.subscriptions} == names


async def test_revoked_key_gives_a_partial_snapshot_with_the_others_complete(
    backup_service, simulator, repository
):
    revoked = simulator.subscription_ids[1]
    simulator.revoke_key(revoked)
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.PARTIAL
    statuses = {s.subscription_id: s.status for s in manifest.subscriptions}
    assert statuses.pop(revoked) is SubscriptionStatus.FAILED
    assert set(statuses.values()) == {SubscriptionStatus.COMPLETE}
    failed = next(s for s in manifest.subscriptions if s.subscription_id == revoked)
    assert failed.integrations == ()
    assert "API key" in failed.reason


async def test_throttling_with_retry_after_is_retried_and_the_backup_completes(
    backup_service, simulator, sleeps, repository
):
    simulator.inject(Fault("status", status=429, retry_after=2, path=r"/v2/integrations", times=2))
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.COMPLETE
    assert sleeps.waits.count(2) == 2


async def test_transient_server_errors_are_retried_and_the_backup_completes(
    backup_service, simulator, repository
):
    simulator.inject(Fault("status", status=502, path=r"/v2/integrations", times=2))
    simulator.inject(Fault("status", status=503, path=r"/v2/integrations", times=1))
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.COMPLETE


async def test_persistent_server_errors_fail_only_that_subscription(
    backup_service, simulator, repository
):
    broken = simulator.subscription_ids[0]
    simulator.inject(
        Fault("status", status=503, path=r"/v2/integrations", subscription_id=broken, times=None)
    )
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.PARTIAL
    failed = next(s for s in manifest.subscriptions if s.subscription_id == broken)
    assert failed.status is SubscriptionStatus.FAILED
    assert "503" in failed.reason


async def test_every_key_revoked_gives_a_failed_snapshot(backup_service, simulator, repository):
    for sid in simulator.subscription_ids:
        simulator.revoke_key(sid)
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.FAILED
    assert manifest.warnings  # discovery failed too, and says so


async def test_no_secret_value_appears_in_any_log_line_of_a_backup(
    backup_service, simulator, caplog
):
    simulator.revoke_key(simulator.subscription_ids[2])  # error paths log too
    caplog.set_level(logging.DEBUG)
    await backup_service.run(Trigger.CLI)
    text = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    secrets = live_secret_values(simulator) | set(simulator.api_keys.values())
    secrets.add(simulator.client_secret)
    assert secrets
    leaked = [s for s in secrets if s in text]
    assert leaked == []


async def test_snapshot_ids_sort_in_start_time_order_to_the_millisecond(
    simulator, client, repository
):
    clock = TickingClock(datetime(2026, 12, 4, 2, tzinfo=UTC), step=timedelta(milliseconds=1))
    service = BackupService(
        client=client, repository=repository, api_keys=simulator.api_keys, clock=clock
    )
    taken = [(await service.run(Trigger.CLI)).manifest.snapshot_id for _ in range(5)]
    assert await repository.list_snapshot_ids() == taken


async def test_a_scoped_pre_restore_snapshot_is_never_the_previous_complete_one(
    backup_service, simulator, repository
):
    full = await whole_snapshot(backup_service, repository)
    await backup_service.run(Trigger.PRE_RESTORE, subscription_ids={simulator.subscription_ids[0]})
    after = await whole_snapshot(backup_service, repository)
    assert after.previous_snapshot_id == full.snapshot_id


async def test_a_first_backup_hands_no_documents_to_its_audit(backup_service):
    result = await backup_service.run(Trigger.CLI)
    assert result.written_documents == {}  # nothing to diff against: memory stays flat


async def test_a_backup_hands_its_audit_the_changed_configs_it_stored(backup_service, simulator):
    await backup_service.run(Trigger.CLI)
    sid = simulator.subscription_ids[0]
    config = edit_first_integration(simulator, sid, "changed")
    result = await backup_service.run(Trigger.CLI)
    (document,) = result.written_documents.values()
    assert document["id"] == config["id"]
