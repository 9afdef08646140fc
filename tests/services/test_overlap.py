"""Overlap: backups beside backups and prunes beside backups, run at the same time for real
(asyncio.gather, simulator latency so the runs interleave), against a real local store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shared.app import take_backup
from shared.clock import FixedClock
from shared.core.canonical import canonical_bytes
from shared.core.manifest import SnapshotStatus, Trigger
from shared.core.retention import RetentionPolicy
from shared.services import locks
from shared.services.backup import BackupService
from shared.services.locks import RepositoryBusyError
from shared.services.prune import prune
from shared.services.verify import verify_all
from shared.settings import StorageSettings, load_settings
from shared.simulator import Fault, describe_settings
from shared.wiring import Runtime
from tests.support import assert_every_reference_is_stored, edit_first_integration

NOW = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
KEEP_ONE = RetentionPolicy(
    keep_last=1, keep_daily=0, keep_weekly=0, keep_monthly=0, grace=timedelta(0)
)


def service_at(simulator, client, repository, at: datetime, **options) -> BackupService:
    return BackupService(
        client=client,
        repository=repository,
        api_keys=simulator.api_keys,
        clock=FixedClock(at),
        lock_poll_seconds=0.01,
        **options,
    )


async def test_timer_and_http_backups_at_the_same_moment_both_complete_and_are_distinct(
    simulator, repository, retry, tmp_path
):
    settings = load_settings(
        describe_settings(simulator), storage=StorageSettings(local_path=str(tmp_path / "store"))
    )
    runtime = Runtime(settings, repository, FixedClock(NOW), retry)
    simulator.latency = 0.02  # every API call takes a while, so the two runs interleave
    timer, http = await asyncio.gather(
        take_backup(runtime, Trigger.TIMER), take_backup(runtime, Trigger.HTTP)
    )
    assert timer.manifest.snapshot_id != http.manifest.snapshot_id
    assert {timer.manifest.status, http.manifest.status} == {SnapshotStatus.COMPLETE}
    assert timer.manifest.integration_count() == http.manifest.integration_count() == 12
    assert sorted(await repository.list_snapshot_ids()) == sorted(
        [timer.manifest.snapshot_id, http.manifest.snapshot_id]
    )
    assert timer.prune is not None  # retention ran after the scheduled backup
    await assert_every_reference_is_stored(repository)
    assert (await verify_all(repository)).ok


async def test_many_overlapping_backups_keep_the_chain_in_order(simulator, client, repository):
    await service_at(simulator, client, repository, NOW - timedelta(days=1)).run(Trigger.TIMER)
    simulator.latency = 0.01
    services = [
        service_at(simulator, client, repository, NOW + timedelta(milliseconds=i)) for i in range(4)
    ]
    results = await asyncio.gather(*(s.run(Trigger.HTTP) for s in services))
    for result in results:
        assert result.manifest.previous_snapshot_id < result.manifest.snapshot_id
    report = await verify_all(repository)
    assert report.ok, report.chain.problems


@pytest.mark.parametrize("prune_delay", [0.0, 0.01, 0.05, 0.15, 0.4])
async def test_prune_beside_a_backup_never_deletes_an_object_the_backup_references(
    simulator, client, repository, prune_delay
):
    for day in (3, 2):
        await service_at(simulator, client, repository, NOW - timedelta(days=day)).run(
            Trigger.TIMER
        )
    # An edit whose exact bytes are already stored, unreferenced (left by a backup that
    # crashed before its manifest): the backup finds the object there and reuses it, and
    # prune, on its own, would delete it as garbage.
    sid = simulator.subscription_ids[0]
    config = edit_first_integration(simulator, sid, "edited while prune runs")
    orphan = await repository.put_object(
        canonical_bytes(simulator.get_integration(sid, config["id"]))
    )

    simulator.latency = 0.02
    backup = service_at(simulator, client, repository, NOW)

    async def delayed_prune():
        await asyncio.sleep(prune_delay)
        return await prune(repository, KEEP_ONE, now=NOW + timedelta(minutes=1))

    result, report = await asyncio.gather(backup.run(Trigger.TIMER), delayed_prune())
    whole = await repository.read_manifest(result.manifest.snapshot_id)
    assert orphan.hash in whole.referenced_hashes()
    await assert_every_reference_is_stored(repository)
    assert await locks.list_locks(repository) == ()
    # Whichever went first, the other one did its work afterwards or left it for next time.
    assert report.stopped is not None or report.manifests_deleted


async def test_prune_in_the_gap_between_a_backups_objects_and_its_manifest_deletes_nothing(
    simulator, client, repository
):
    """The dangerous moment, made certain: one subscription is stored (reusing an object that
    nothing references yet) while another is still being read; prune runs right then."""
    await service_at(simulator, client, repository, NOW - timedelta(days=2)).run(Trigger.TIMER)
    fast, slow = simulator.subscription_ids[0], simulator.subscription_ids[1]
    config = edit_first_integration(simulator, fast, "edited before the backup")
    orphan = await repository.put_object(
        canonical_bytes(simulator.get_integration(fast, config["id"]))
    )
    simulator.inject(Fault("latency", path="/v2/integrations", subscription_id=slow, delay=0.5))
    fast_name = next(s["name"] for s in simulator.subscriptions() if s["id"] == fast)
    fast_stored = asyncio.Event()

    def progress(message: str) -> None:
        if message.startswith(f"subscription {fast_name}:"):
            fast_stored.set()

    backup = service_at(simulator, client, repository, NOW)
    running = asyncio.create_task(backup.run(Trigger.HTTP, progress=progress))
    await fast_stored.wait()
    report = await prune(repository, KEEP_ONE, now=NOW + timedelta(seconds=1))
    manifest = await repository.read_manifest((await running).manifest.snapshot_id)

    assert "http backup" in report.stopped
    assert orphan.hash in manifest.referenced_hashes()
    await assert_every_reference_is_stored(repository)


async def test_prune_started_first_makes_the_backup_wait_until_it_is_done(
    simulator, client, repository
):
    prune_lock = await locks.acquire(repository, "prune", at=NOW, holder="test prune")
    seen_while_waiting: list[int] = []

    async def prune_finishes(_seconds: float) -> None:
        seen_while_waiting.append(len(simulator.requests))
        await locks.release(repository, prune_lock)

    service = service_at(simulator, client, repository, NOW, sleep=prune_finishes)
    result = await service.run(Trigger.HTTP)
    assert seen_while_waiting == [0]  # nothing read from Connxio while the prune held on
    assert result.manifest.status is SnapshotStatus.COMPLETE


async def test_backup_gives_up_with_a_clear_error_when_a_prune_holds_on_too_long(
    simulator, client, repository, sleeps
):
    await locks.acquire(repository, "prune", at=NOW, holder="stuck prune")
    service = service_at(simulator, client, repository, NOW, sleep=sleeps, lock_wait_seconds=0.05)
    with pytest.raises(RepositoryBusyError, match="stuck prune"):
        await service.run(Trigger.HTTP)
    assert await repository.list_snapshot_ids() == []
    assert [lock.kind for lock in await locks.list_locks(repository)] == ["prune"]


async def test_the_follow_up_runs_on_the_stored_snapshot_and_the_lock_is_gone_after(
    simulator, client, repository
):
    seen: list[tuple[bool, str]] = []

    async def follow_up(result) -> str:
        stored = await repository.manifest_exists(result.manifest.snapshot_id)
        seen.append((stored, result.manifest.snapshot_id))
        return "audited"

    service = service_at(simulator, client, repository, NOW)
    result, followed = await service.run_then(Trigger.CLI, follow_up)

    assert followed == "audited"
    assert seen == [(True, result.manifest.snapshot_id)]
    assert await locks.list_locks(repository) == ()


async def test_the_follow_up_is_not_run_when_the_backup_fails(
    simulator, client, repository, sleeps
):
    await locks.acquire(repository, "prune", at=NOW, holder="stuck prune")
    called: list[object] = []

    async def follow_up(result) -> None:
        called.append(result)

    service = service_at(simulator, client, repository, NOW, sleep=sleeps, lock_wait_seconds=0.05)
    with pytest.raises(RepositoryBusyError):
        await service.run_then(Trigger.HTTP, follow_up)
    assert called == []
    assert [lock.kind for lock in await locks.list_locks(repository)] == ["prune"]


async def test_a_stale_prune_lock_does_not_hold_backups_up(simulator, client, repository, sleeps):
    await locks.acquire(repository, "prune", at=NOW - timedelta(hours=2), holder="crashed prune")
    result = await service_at(simulator, client, repository, NOW, sleep=sleeps).run(Trigger.CLI)
    assert result.manifest.status is SnapshotStatus.COMPLETE
    assert sleeps.waits == []


async def test_lock_of_a_prune_that_stored_its_report_does_not_hold_backups_up(
    simulator, client, repository, sleeps
):
    finished = await prune(repository, KEEP_ONE, now=NOW)
    # As if the store had refused to remove the prune's lock (a container-level WORM policy).
    await locks.acquire(repository, "prune", at=NOW, holder="timer prune", run_id=finished.prune_id)
    result = await service_at(simulator, client, repository, NOW, sleep=sleeps).run(Trigger.CLI)
    assert result.manifest.status is SnapshotStatus.COMPLETE
    assert sleeps.waits == []


async def test_a_failed_backup_still_removes_its_lock(simulator, client, repository):
    repository.backend.create("objects", b"a file where the objects folder goes")
    service = service_at(simulator, client, repository, NOW)
    with pytest.raises(Exception):  # noqa: B017 - any store failure; the lock is the point
        await service.run(Trigger.CLI)
    assert await locks.list_locks(repository) == ()


async def test_waiting_for_prunes_reads_only_prune_locks(repository):
    await locks.acquire(repository, "backup", at=NOW, holder="a backup")
    prune_lock = await locks.acquire(repository, "prune", at=NOW, holder="a prune")

    assert await locks.list_locks(repository, kind="prune") == (prune_lock,)
