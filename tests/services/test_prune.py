"""Retention through the real prune: many real backups a day apart (a TickingClock), a real
store, and checks of what stays, what goes, and what must never go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from shared.clock import TickingClock
from shared.core.canonical import canonical_bytes, content_hash
from shared.core.manifest import (
    IntegrationEntry,
    SnapshotManifest,
    SnapshotStatus,
    Trigger,
    entry_list_bytes,
)
from shared.core.retention import REASON_PRE_RESTORE, REASON_WITHIN_GRACE, RetentionPolicy
from shared.services import locks
from shared.services.audit import audit_snapshots, store_audit
from shared.services.backup import BackupService
from shared.services.prune import (
    ACKS,
    FORGOTTEN,
    AcknowledgementRefused,
    ForgottenSnapshot,
    NothingToAcknowledge,
    acknowledge,
    held_subscriptions,
    prune,
)
from shared.store.repository import (
    SnapshotRepository,
    entry_list_name,
    object_name,
    snapshot_name,
)
from tests.support import assert_every_reference_is_stored, edit_first_integration

# 2026-12-01 is a Tuesday: ISO week 49 runs to Sunday 6 December, week 50 starts on the 7th.
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LATER = datetime(2027, 1, 1, tzinfo=UTC)


def policy(**counts: object) -> RetentionPolicy:
    """A policy with only the named rules switched on and no grace period."""
    base = {"keep_last": 0, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}
    return RetentionPolicy(**{**base, "grace": timedelta(0), **counts})


@pytest.fixture
def daily(simulator, client, repository) -> BackupService:
    """Backups one day apart: a run reads the clock twice (start, finish), 12 hours a step."""
    return BackupService(
        client=client,
        repository=repository,
        api_keys=simulator.api_keys,
        clock=TickingClock(START, step=timedelta(hours=12)),
    )


async def take_days(
    service: BackupService,
    simulator,
    repository: SnapshotRepository,
    days: int,
    *,
    trigger: Trigger = Trigger.TIMER,
) -> list[SnapshotManifest]:
    """One backup a day, each after a small edit, so every snapshot has an object (and, for the
    first subscription, an entry list) of its own; the manifests as stored, read back whole."""
    sid = simulator.subscription_ids[0]
    manifests = []
    for _ in range(days):
        edit_first_integration(simulator, sid, f"edited before backup {len(manifests)}")
        snapshot_id = (await service.run(trigger)).manifest.snapshot_id
        manifests.append(await repository.read_manifest(snapshot_id))
    return manifests


async def named_lists(repository: SnapshotRepository, snapshot_id: str) -> dict[str, str]:
    """The entry list a stored record names for each subscription, by subscription id."""
    record = (await repository.read_record(snapshot_id)).record
    return {s.subscription_id: s.entries_sha256 for s in record.subscriptions}


def legacy_bytes(manifest: SnapshotManifest) -> bytes:
    """``manifest`` as format 2 stored it: one document, entries inline."""
    return canonical_bytes(
        manifest.model_copy(update={"format_version": 2}).model_dump(mode="json")
    )


async def stored_ids(repository: SnapshotRepository) -> list[str]:
    return await repository.list_snapshot_ids()


async def test_keep_last_keeps_the_newest_and_forgets_the_rest(daily, simulator, repository):
    taken = await take_days(daily, simulator, repository, 6)
    report = await prune(repository, policy(keep_last=2), now=LATER)
    kept = [m.snapshot_id for m in taken[-2:]]
    assert await stored_ids(repository) == kept
    assert set(report.manifests_deleted) == {m.snapshot_id for m in taken[:4]}
    assert report.finished_cleanly


async def test_weekly_rule_keeps_the_newest_snapshot_of_each_iso_week(daily, simulator, repository):
    taken = await take_days(daily, simulator, repository, 10)  # 1-10 December
    by_day = {m.started_at.day: m.snapshot_id for m in taken}
    report = await prune(repository, policy(keep_weekly=2), now=LATER)
    assert await stored_ids(repository) == [by_day[6], by_day[10]]
    assert report.keep[0].reasons == ("weekly 2026-W50", "last good")
    assert report.keep[1].reasons == ("weekly 2026-W49",)


async def test_daily_rule_keeps_one_snapshot_per_day_for_the_newest_days(
    simulator, client, repository
):
    # Two backups a day: the clock moves 6 hours a reading, 12 hours a run.
    service = BackupService(
        client=client,
        repository=repository,
        api_keys=simulator.api_keys,
        clock=TickingClock(START, step=timedelta(hours=6)),
    )
    taken = await take_days(service, simulator, repository, 6)  # three days, two each
    await prune(repository, policy(keep_daily=2), now=LATER)
    assert await stored_ids(repository) == [taken[3].snapshot_id, taken[5].snapshot_id]


async def test_objects_only_forgotten_snapshots_referenced_are_deleted(
    daily, simulator, repository
):
    taken = await take_days(daily, simulator, repository, 5)
    report = await prune(repository, policy(keep_last=1), now=LATER)
    kept = taken[-1].referenced_hashes()
    assert set(await repository.list_object_hashes()) == kept
    assert report.objects_deleted == 4  # one edited object per forgotten day
    await assert_every_reference_is_stored(repository)


async def test_orphan_objects_from_a_crashed_backup_are_collected(daily, simulator, repository):
    await take_days(daily, simulator, repository, 1)
    orphan = await repository.put_object(canonical_bytes({"id": "written-before-a-crash"}))
    report = await prune(repository, policy(keep_last=1), now=LATER)
    assert report.objects_deleted == 1
    assert not repository.backend.exists(object_name(orphan.hash))


async def test_pre_restore_snapshots_are_never_forgotten(daily, simulator, repository):
    safety = (await take_days(daily, simulator, repository, 1, trigger=Trigger.PRE_RESTORE))[0]
    await take_days(daily, simulator, repository, 3)
    report = await prune(repository, policy(keep_last=1), now=LATER)
    assert safety.snapshot_id in await stored_ids(repository)
    assert REASON_PRE_RESTORE in report.keep[-1].reasons


async def test_failed_snapshots_never_push_out_the_last_good_one(daily, simulator, repository):
    good = await take_days(daily, simulator, repository, 2)
    for sid in simulator.subscription_ids:
        simulator.revoke_key(sid)
    failed = [(await daily.run(Trigger.TIMER)).manifest for _ in range(3)]
    assert {m.status for m in failed} == {SnapshotStatus.FAILED}
    await prune(repository, policy(keep_last=1), now=LATER)
    assert await stored_ids(repository) == [good[-1].snapshot_id]
    await assert_every_reference_is_stored(repository)


async def test_snapshots_within_the_grace_period_are_never_forgotten(daily, simulator, repository):
    taken = await take_days(daily, simulator, repository, 6)
    # Backups finish at 14:00; the newest on 6 December. Three days of grace before the 7th
    # 12:00 reach back to the 4th 12:00: the snapshots of the 4th, 5th and 6th stay.
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    report = await prune(repository, policy(keep_last=1, grace=timedelta(days=3)), now=now)
    assert await stored_ids(repository) == [m.snapshot_id for m in taken[3:]]
    assert all(REASON_WITHIN_GRACE in k.reasons for k in report.keep)


async def test_policy_with_every_count_zero_keeps_everything(daily, simulator, repository):
    taken = await take_days(daily, simulator, repository, 3)
    report = await prune(repository, policy(), now=LATER)
    assert await stored_ids(repository) == [m.snapshot_id for m in taken]
    assert report.forget == ()
    assert report.warnings


async def test_dry_run_reports_what_would_go_and_changes_nothing(daily, simulator, repository):
    taken = await take_days(daily, simulator, repository, 4)
    names_before = list(repository.backend.list())
    report = await prune(repository, policy(keep_last=1), now=LATER, dry_run=True)
    assert list(repository.backend.list()) == names_before
    assert set(report.forget) == {m.snapshot_id for m in taken[:3]}
    assert (report.objects_unreferenced, report.entry_lists_unreferenced) == (3, 3)
    assert (report.manifests_deleted, report.objects_deleted, report.entry_lists_deleted) == (
        (),
        0,
        0,
    )


async def test_forgotten_snapshots_are_logged_with_the_hash_of_their_manifest(
    daily, simulator, repository
):
    taken = await take_days(daily, simulator, repository, 2)
    first = taken[0]
    manifest_data = await repository.read_manifest_bytes(first.snapshot_id)
    await prune(repository, policy(keep_last=1), now=LATER)
    entry = await repository.read_document(FORGOTTEN, first.snapshot_id, ForgottenSnapshot)
    assert entry.manifest_hash == content_hash(manifest_data)
    assert entry.manifest_hash == taken[1].previous_manifest_hash


async def test_audits_of_forgotten_snapshots_are_deleted_with_them(daily, simulator, repository):
    taken = await take_days(daily, simulator, repository, 3)
    for old, new in pairwise(taken):
        await store_audit(
            repository, await audit_snapshots(repository, old, new, generated_at=LATER)
        )
    await prune(repository, policy(keep_last=1), now=LATER)
    assert await repository.list_documents("audits") == [taken[-1].snapshot_id]


async def test_unreadable_manifest_is_kept_and_stops_object_deletion(daily, simulator, repository):
    taken = await take_days(daily, simulator, repository, 3)
    broken = taken[0].snapshot_id
    repository.backend.delete(snapshot_name(broken))
    repository.backend.create(snapshot_name(broken), b"{not a manifest")
    objects_before = await repository.list_object_hashes()
    report = await prune(repository, policy(keep_last=1), now=LATER)
    assert report.unreadable == (broken,)
    assert report.objects_skipped
    assert await repository.list_object_hashes() == objects_before
    assert broken in await stored_ids(repository)


# -- entry lists -------------------------------------------------------------------------------


async def test_entry_lists_only_forgotten_snapshots_named_are_deleted(daily, simulator, repository):
    taken = await take_days(daily, simulator, repository, 3)
    report = await prune(repository, policy(keep_last=1), now=LATER)
    kept = await named_lists(repository, taken[-1].snapshot_id)
    assert sorted(await repository.list_entry_list_hashes()) == sorted(set(kept.values()))
    assert report.entry_lists_deleted == 2  # the first subscription's list of each forgotten day
    await assert_every_reference_is_stored(repository)


async def test_entry_list_a_kept_manifest_shares_with_forgotten_ones_is_kept(
    daily, simulator, repository
):
    taken = await take_days(daily, simulator, repository, 2)
    unchanged = simulator.subscription_ids[1]  # only the first subscription is edited
    shared = (await named_lists(repository, taken[0].snapshot_id))[unchanged]
    assert (await named_lists(repository, taken[1].snapshot_id))[unchanged] == shared
    await prune(repository, policy(keep_last=1), now=LATER)
    assert await repository.entry_list_exists(shared)


async def test_orphan_entry_list_from_a_crashed_backup_is_collected(daily, simulator, repository):
    await take_days(daily, simulator, repository, 1)
    entry = IntegrationEntry(id="written-before-a-crash", label="x", hash="0" * 64, size=1)
    orphan = await repository.put_entry_list(entry_list_bytes((entry,)))
    report = await prune(repository, policy(keep_last=1), now=LATER)
    assert (report.entry_lists_unreferenced, report.entry_lists_deleted) == (1, 1)
    assert not await repository.entry_list_exists(orphan)


async def test_missing_entry_list_of_a_kept_snapshot_blocks_object_deletion_with_a_reason(
    daily, simulator, repository
):
    taken = await take_days(daily, simulator, repository, 3)
    lost = (await named_lists(repository, taken[-1].snapshot_id))[simulator.subscription_ids[0]]
    repository.backend.delete(entry_list_name(lost))
    objects_before = await repository.list_object_hashes()
    lists_before = await repository.list_entry_list_hashes()
    report = await prune(repository, policy(keep_last=1), now=LATER)
    assert report.unreadable_entry_lists == (lost,)
    assert f"{lost} (missing, named by {taken[-1].snapshot_id})" in report.objects_skipped
    assert (report.objects_deleted, report.entry_lists_deleted) == (0, 0)
    assert await repository.list_object_hashes() == objects_before
    assert await repository.list_entry_list_hashes() == lists_before
    assert len(report.manifests_deleted) == 2  # forgetting does not depend on the lists


async def test_missing_entry_list_named_only_by_a_forgotten_snapshot_does_not_block(
    daily, simulator, repository
):
    taken = await take_days(daily, simulator, repository, 3)
    edited = simulator.subscription_ids[0]  # its list of the first day is named by no other
    repository.backend.delete(
        entry_list_name((await named_lists(repository, taken[0].snapshot_id))[edited])
    )
    report = await prune(repository, policy(keep_last=1), now=LATER)
    assert report.objects_skipped is None
    assert report.objects_deleted == 2


async def test_objects_a_kept_legacy_manifest_holds_inline_are_kept(daily, simulator, repository):
    taken = await take_days(daily, simulator, repository, 2)
    newest = taken[-1]
    # As a store written before records: the newest manifest a format 2 document.
    repository.backend.delete(snapshot_name(newest.snapshot_id))
    repository.backend.create(snapshot_name(newest.snapshot_id), legacy_bytes(newest))
    report = await prune(repository, policy(keep_last=1), now=LATER)
    assert report.finished_cleanly
    assert set(await repository.list_object_hashes()) == newest.referenced_hashes()
    assert await repository.list_entry_list_hashes() == []  # no stored manifest names any
    await assert_every_reference_is_stored(repository)


async def test_prune_stops_and_deletes_nothing_while_a_backup_holds_a_fresh_lock(
    daily, simulator, repository
):
    await take_days(daily, simulator, repository, 3)
    names_before = [n for n in repository.backend.list() if not n.startswith("locks/")]
    held = await locks.acquire(repository, "backup", at=LATER, holder="test backup")
    report = await prune(repository, policy(keep_last=1), now=LATER + timedelta(minutes=1))
    assert report.stopped and "test backup" in report.stopped
    assert report.running == (held,)
    after = [n for n in repository.backend.list() if not n.startswith(("locks/", "state/prunes/"))]
    assert after == names_before


async def test_stale_backup_lock_is_ignored_and_removed(daily, simulator, repository):
    await take_days(daily, simulator, repository, 3)
    stale = await locks.acquire(repository, "backup", at=LATER, holder="crashed backup")
    report = await prune(repository, policy(keep_last=1), now=LATER + timedelta(hours=7))
    assert report.stopped is None
    assert report.ignored_locks == (stale,)
    assert await locks.list_locks(repository) == ()
    assert len(await stored_ids(repository)) == 1


async def test_lock_left_by_a_backup_that_finished_is_ignored_and_removed(
    daily, simulator, repository
):
    taken = await take_days(daily, simulator, repository, 3)
    # As if the store had refused to remove the lock (a container-level WORM policy).
    leftover = await locks.acquire(
        repository, "backup", at=LATER, holder="timer backup", run_id=taken[-1].snapshot_id
    )
    report = await prune(repository, policy(keep_last=1), now=LATER)
    assert report.stopped is None
    assert report.ignored_locks == (leftover,)
    assert await stored_ids(repository) == [taken[-1].snapshot_id]


async def test_prune_leaves_no_lock_behind(daily, simulator, repository):
    await take_days(daily, simulator, repository, 2)
    await prune(repository, policy(keep_last=1), now=LATER)
    assert await locks.list_locks(repository) == ()


async def test_real_prune_stores_its_report(daily, simulator, repository):
    await take_days(daily, simulator, repository, 2)
    report = await prune(repository, policy(keep_last=1), now=LATER)
    assert await repository.list_documents("state/prunes") == [report.prune_id]


# -- the mass-change hold ----------------------------------------------------------------------


async def wipe_most_of(simulator, subscription_id: str) -> None:
    for config in simulator.integrations(subscription_id)[1:]:
        simulator.delete_integration(subscription_id, config["id"])


async def test_mass_change_holds_the_subscriptions_history_until_acknowledged(
    daily, simulator, repository
):
    before = await take_days(daily, simulator, repository, 4)
    victim = simulator.subscription_ids[1]
    await wipe_most_of(simulator, victim)
    flagged = (await daily.run(Trigger.TIMER)).manifest
    assert flagged.mass_change_subscriptions == (victim,)
    after = await take_days(daily, simulator, repository, 2)

    held = await prune(repository, policy(keep_last=1), now=LATER)
    assert [h.subscription_id for h in held.held] == [victim]
    assert held.held[0].flagged_in == (flagged.snapshot_id,)
    assert len(await stored_ids(repository)) == len(before) + 1 + len(after)

    await acknowledge(
        repository, flagged.snapshot_id, by="alice", note="planned clean-up", at=LATER
    )
    released = await prune(repository, policy(keep_last=1), now=LATER)
    assert released.held == ()
    assert await stored_ids(repository) == [after[-1].snapshot_id]


async def test_a_subscription_suddenly_empty_is_held(daily, simulator, repository):
    await take_days(daily, simulator, repository, 2)
    victim = simulator.subscription_ids[2]
    for config in simulator.integrations(victim):
        simulator.delete_integration(victim, config["id"])
    flagged = (await daily.run(Trigger.TIMER)).manifest
    assert flagged.mass_change_subscriptions == (victim,)
    holds = await held_subscriptions(repository)
    assert [(h.subscription_id, h.flagged_in) for h in holds] == [(victim, (flagged.snapshot_id,))]


async def test_acknowledging_a_snapshot_without_a_mass_change_is_refused(
    daily, simulator, repository
):
    (quiet,) = await take_days(daily, simulator, repository, 1)
    with pytest.raises(NothingToAcknowledge, match="nothing to"):
        await acknowledge(repository, quiet.snapshot_id, by="alice", at=LATER)
    assert await repository.list_documents(ACKS) == []


async def test_acknowledging_twice_is_refused_naming_who_did_it_first(daily, simulator, repository):
    await take_days(daily, simulator, repository, 1)
    await wipe_most_of(simulator, simulator.subscription_ids[0])
    flagged = (await daily.run(Trigger.TIMER)).manifest
    await acknowledge(repository, flagged.snapshot_id, by="alice", at=LATER)
    with pytest.raises(AcknowledgementRefused, match="already acknowledged by alice"):
        await acknowledge(repository, "latest", by="bob", at=LATER)


async def test_acknowledgement_needs_a_name(daily, simulator, repository):
    await take_days(daily, simulator, repository, 1)
    with pytest.raises(AcknowledgementRefused, match="who reviewed"):
        await acknowledge(repository, "latest", by="   ", at=LATER)


# -- a store that refuses deletes --------------------------------------------------------------


async def test_delete_refused_by_the_store_is_kept_reported_and_retried_next_time(
    blob_backend, simulator, client
):
    """Azurite has no immutability policies, but a leased blob refuses deletes the same way
    (a 4xx from a store that is otherwise fine): prune must keep going and say what it kept."""
    repository = SnapshotRepository(blob_backend)
    service = BackupService(
        client=client,
        repository=repository,
        api_keys=simulator.api_keys,
        clock=TickingClock(START, step=timedelta(hours=12)),
    )
    taken = await take_days(service, simulator, repository, 3)
    doomed = sorted(taken[0].referenced_hashes() - taken[-1].referenced_hashes())
    assert len(doomed) == 1
    lease = blob_backend.container_client.get_blob_client(object_name(doomed[0])).acquire_lease()
    try:
        report = await prune(repository, policy(keep_last=1), now=LATER)
        assert [r.name for r in report.refused] == [object_name(doomed[0])]
        assert "immutability policy" in report.refused[0].reason
        assert report.objects_deleted == 1  # the other forgotten day's object
        assert await stored_ids(repository) == [taken[-1].snapshot_id]
        assert blob_backend.exists(object_name(doomed[0]))
    finally:
        lease.break_lease(lease_break_period=0)
    retry = await prune(repository, policy(keep_last=1), now=LATER)
    assert (retry.objects_deleted, retry.refused) == (1, ())
    repository.close()
