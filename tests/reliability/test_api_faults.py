"""Connxio misbehaving during a backup: every fault ends in the right snapshot status, with the
reason recorded, what succeeded kept, and nothing recorded that was not stored.

The backup runs for real (BackupService → ConnxioClient → simulator on loopback → local store);
the faults are the simulator's. Retry waits are recorded by ``sleeps``, never slept.
"""

from __future__ import annotations

import json

import pytest
from azure.functions.timer import TimerRequest

from shared.cli import main
from shared.connxio import RetryPolicy
from shared.core.manifest import SnapshotStatus, SubscriptionStatus, Trigger
from shared.services.backup import BackupService
from shared.simulator import Fault, describe_settings
from shared.triggers.http import start_backup
from shared.triggers.timer import ScheduledBackupFailed, scheduled_backup
from tests.functions.conftest import http_request
from tests.reliability.conftest import assert_manifest_fully_stored, subscription_entry
from tests.service_fixtures import connxio_client
from tests.support import whole_snapshot

LIST = r"/v2/integrations"
TOKEN = r"/oauth/token"


def others_complete(manifest, failed_id: str, simulator) -> None:
    """Every subscription but ``failed_id`` is complete with all its live integrations."""
    for sid in simulator.subscription_ids:
        if sid == failed_id:
            continue
        entry = subscription_entry(manifest, sid)
        assert entry.status is SubscriptionStatus.COMPLETE, (sid, entry.reason)
        assert {e.id for e in entry.integrations} == {i["id"] for i in simulator.integrations(sid)}


def assert_failed_with(manifest, subscription_id: str, *fragments: str) -> str:
    entry = subscription_entry(manifest, subscription_id)
    assert entry.status is SubscriptionStatus.FAILED
    assert entry.integrations == ()  # nothing claimed for what could not be read
    for fragment in fragments:
        assert fragment in entry.reason, (fragment, entry.reason)
    return entry.reason


# -- throttling and gateway errors -------------------------------------------------------------


async def test_429_storm_with_retry_after_is_waited_out_and_the_backup_completes(
    backup_service, simulator, repository, sleeps
):
    for sid in simulator.subscription_ids:
        simulator.inject(
            Fault("status", status=429, retry_after=7, path=LIST, subscription_id=sid, times=2)
        )
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.COMPLETE
    assert sleeps.waits == [7.0] * 6  # Retry-After honoured as is, twice per subscription
    await assert_manifest_fully_stored(repository, manifest)


async def test_429_storm_that_outlasts_the_retries_fails_only_that_subscription(
    backup_service, simulator, repository, sleeps
):
    throttled = simulator.subscription_ids[1]
    simulator.inject(
        Fault("status", status=429, retry_after=5, path=LIST, subscription_id=throttled, times=None)
    )
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.PARTIAL
    assert_failed_with(manifest, throttled, "HTTP 429", "gave up after 4 attempts")
    others_complete(manifest, throttled, simulator)
    assert sleeps.waits == [5.0] * 3
    await assert_manifest_fully_stored(repository, manifest)


@pytest.mark.parametrize("status", [502, 503])
async def test_passing_gateway_error_is_retried_and_the_backup_completes(
    backup_service, simulator, repository, sleeps, status
):
    simulator.inject(Fault("status", status=status, path=LIST, times=2))
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.COMPLETE
    assert len(sleeps.waits) == 2
    await assert_manifest_fully_stored(repository, manifest)


@pytest.mark.parametrize("status", [502, 503])
async def test_lasting_gateway_error_fails_that_subscription_with_the_status_as_reason(
    backup_service, simulator, repository, status
):
    failing = simulator.subscription_ids[0]
    simulator.inject(Fault("status", status=status, path=LIST, subscription_id=failing, times=None))
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.PARTIAL
    assert_failed_with(manifest, failing, f"HTTP {status}", "GET /v2/integrations")
    others_complete(manifest, failing, simulator)
    await assert_manifest_fully_stored(repository, manifest)


# -- slow, dropped and broken answers ----------------------------------------------------------


async def test_slow_answer_past_the_timeout_is_retried_and_the_backup_completes(
    simulator, repository, clock, sleeps
):
    simulator.inject(Fault("latency", delay=1.5, path=LIST, times=1))
    async with connxio_client(simulator, RetryPolicy(sleep=sleeps), request_timeout=0.5) as client:
        service = BackupService(
            client=client, repository=repository, api_keys=simulator.api_keys, clock=clock
        )
        manifest = await whole_snapshot(service, repository)
    assert manifest.status is SnapshotStatus.COMPLETE
    assert sleeps.waits  # the timed-out request was retried (>= 1: a busy CI box may add one)
    await assert_manifest_fully_stored(repository, manifest)


async def test_answers_always_slower_than_the_timeout_fail_that_subscription_as_timed_out(
    simulator, repository, clock, sleeps
):
    slow = simulator.subscription_ids[2]
    simulator.inject(Fault("latency", delay=1.5, path=LIST, subscription_id=slow, times=None))
    policy = RetryPolicy(sleep=sleeps, max_attempts=2)
    async with connxio_client(simulator, policy, request_timeout=0.5) as client:
        service = BackupService(
            client=client, repository=repository, api_keys=simulator.api_keys, clock=clock
        )
        manifest = await whole_snapshot(service, repository)
    assert manifest.status is SnapshotStatus.PARTIAL
    assert_failed_with(
        manifest,
        slow,
        "no answer within 0.5 s",
        "CONNXIO_TIMEOUT_SECONDS",
        "gave up after 2 attempts",
    )
    others_complete(manifest, slow, simulator)
    await assert_manifest_fully_stored(repository, manifest)


# kind → what the recorded reason says
BROKEN_ANSWERS = {
    "drop_mid_body": "the connection failed during the exchange",
    "drop": "the connection failed during the exchange",
    "malformed": "not JSON",
    "truncated": "not JSON",
    "html": "text/html",
}


@pytest.mark.parametrize("kind", sorted(BROKEN_ANSWERS))
async def test_one_broken_answer_is_retried_and_the_backup_completes(
    backup_service, simulator, repository, sleeps, kind
):
    simulator.inject(Fault(kind, path=LIST, subscription_id=simulator.subscription_ids[0]))
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.COMPLETE
    assert len(sleeps.waits) == 1
    await assert_manifest_fully_stored(repository, manifest)


@pytest.mark.parametrize("kind", sorted(BROKEN_ANSWERS))
async def test_lasting_broken_answers_fail_that_subscription_with_the_reason(
    backup_service, simulator, repository, kind
):
    broken = simulator.subscription_ids[1]
    simulator.inject(Fault(kind, path=LIST, subscription_id=broken, times=None))
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.PARTIAL
    assert_failed_with(manifest, broken, BROKEN_ANSWERS[kind], "gave up after 4 attempts")
    others_complete(manifest, broken, simulator)
    await assert_manifest_fully_stored(repository, manifest)


async def test_html_error_page_with_status_200_is_never_stored_as_a_config(
    backup_service, simulator, repository
):
    broken = simulator.subscription_ids[0]
    simulator.inject(Fault("html", status=200, path=LIST, subscription_id=broken, times=None))
    manifest = await whole_snapshot(backup_service, repository)
    assert_failed_with(manifest, broken, "HTTP 200", "text/html")
    for digest in await repository.list_object_hashes():
        assert b"<html" not in (await repository.read_object(digest)).lower()


# -- the token endpoint ------------------------------------------------------------------------


async def test_failing_token_endpoint_gives_a_failed_snapshot_with_the_reason_and_no_objects(
    backup_service, simulator, repository
):
    simulator.inject(Fault("status", status=503, path=TOKEN, times=None))
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.FAILED
    for sid in simulator.subscription_ids:
        assert_failed_with(manifest, sid, "token endpoint", "HTTP 503")
    assert any("discovery failed" in w for w in manifest.warnings)
    assert await repository.list_object_hashes() == []
    assert not [r for r in simulator.requests if r.path.startswith("/v2/")]
    await assert_manifest_fully_stored(repository, manifest)


async def test_token_endpoint_refusing_the_client_fails_every_subscription_without_retrying(
    backup_service, simulator, repository, sleeps
):
    simulator.inject(Fault("status", status=401, path=TOKEN, times=None))
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.FAILED
    for sid in simulator.subscription_ids:
        assert_failed_with(manifest, sid, "CONNXIO_CLIENT_ID / CONNXIO_CLIENT_SECRET")
    assert sleeps.waits == []
    await assert_manifest_fully_stored(repository, manifest)


async def test_token_endpoint_refusal_points_at_the_oauth_client_not_the_api_keys(
    backup_service, simulator, repository
):
    simulator.inject(Fault("status", status=401, path=TOKEN, times=None))
    manifest = await whole_snapshot(backup_service, repository)
    for sid in simulator.subscription_ids:
        reason = assert_failed_with(manifest, sid, "CONNXIO_CLIENT_SECRET")
        assert "CONNXIO_API_KEYS" not in reason  # the keys are fine; the client was refused


async def test_token_endpoint_failing_once_is_retried_and_the_backup_completes(
    backup_service, simulator, repository, sleeps
):
    simulator.inject(Fault("status", status=502, path=TOKEN, times=1))
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.COMPLETE
    assert sleeps.waits
    await assert_manifest_fully_stored(repository, manifest)


# -- a key revoked halfway ---------------------------------------------------------------------


async def test_key_revoked_halfway_fails_that_subscription_and_keeps_the_rest(
    simulator, client, repository, clock, sleeps
):
    """One subscription at a time; when the first is done, a later one's key is revoked."""
    revoked = sorted(simulator.subscription_ids)[1]  # the first is read before the revoke
    done: list[str] = []

    def progress(message: str) -> None:
        if message.startswith("subscription ") and not done:
            done.append(message)
            simulator.revoke_key(revoked)

    service = BackupService(
        client=client,
        repository=repository,
        api_keys=simulator.api_keys,
        clock=clock,
        concurrency=1,
    )
    manifest = await whole_snapshot(service, repository, progress=progress)
    assert done  # the revoke happened mid-run, after the first subscription was stored
    assert manifest.status is SnapshotStatus.PARTIAL
    reason = assert_failed_with(manifest, revoked, "HTTP 401", "API key", "CONNXIO_API_KEYS")
    assert simulator.api_keys[revoked] not in reason
    others_complete(manifest, revoked, simulator)
    assert sleeps.waits == []  # an auth error is an answer, not a hiccup: never retried
    await assert_manifest_fully_stored(repository, manifest)


async def test_key_revoked_between_discovery_and_listing_fails_only_that_subscription(
    backup_service, simulator, repository
):
    revoked = simulator.subscription_ids[2]
    simulator.inject(Fault("status", status=401, path=LIST, subscription_id=revoked, times=None))
    manifest = await whole_snapshot(backup_service, repository)
    assert manifest.status is SnapshotStatus.PARTIAL
    assert_failed_with(manifest, revoked, "API key")
    others_complete(manifest, revoked, simulator)
    await assert_manifest_fully_stored(repository, manifest)


# -- what succeeded is kept --------------------------------------------------------------------


async def test_after_a_partial_backup_the_next_one_stores_only_what_was_missing(
    backup_service, simulator, repository
):
    failing = simulator.subscription_ids[0]
    simulator.inject(Fault("status", status=503, path=LIST, subscription_id=failing, times=None))
    partial = await whole_snapshot(backup_service, repository)
    assert partial.status is SnapshotStatus.PARTIAL

    simulator.clear_faults()
    second = await backup_service.run(Trigger.CLI)
    assert second.manifest.status is SnapshotStatus.COMPLETE
    assert second.objects_written == len(simulator.integrations(failing))
    await assert_manifest_fully_stored(
        repository, await repository.read_manifest(second.manifest.snapshot_id)
    )
    assert (await repository.read_manifest(partial.snapshot_id)) == partial  # kept as it was


async def test_failing_subscription_discovery_still_backs_up_every_keyed_subscription(
    backup_service, simulator, repository
):
    simulator.inject(Fault("status", status=502, path=r"/v2/subscriptions", times=None))
    manifest = await whole_snapshot(backup_service, repository)
    assert {s.subscription_id for s in manifest.subscriptions} == set(simulator.subscription_ids)
    assert all(s.status is SubscriptionStatus.COMPLETE for s in manifest.subscriptions)
    assert any("discovery failed" in w and "HTTP 502" in w for w in manifest.warnings)
    await assert_manifest_fully_stored(repository, manifest)


# -- what the user sees: HTTP, timer, CLI ------------------------------------------------------


async def test_http_backup_during_a_connxio_auth_outage_answers_with_the_failed_snapshot(
    runtime, simulator
):
    simulator.inject(Fault("status", status=401, path=TOKEN, times=None))
    response = await start_backup(http_request("POST", "/api/backups"))
    summary = json.loads(response.get_body())
    assert response.status_code == 201
    assert summary["status"] == "failed"
    assert all("token endpoint" in s["reason"] for s in summary["subscriptions"])
    manifest = await runtime.repository.read_manifest(summary["snapshotId"])
    await assert_manifest_fully_stored(runtime.repository, manifest)


async def test_timer_backup_that_stored_nothing_fails_the_trigger_with_the_reasons(
    runtime, simulator
):
    simulator.inject(Fault("status", status=401, path=TOKEN, times=None))
    with pytest.raises(ScheduledBackupFailed) as raised:
        await scheduled_backup(TimerRequest(past_due=False))
    assert "token endpoint refused the client credentials" in str(raised.value)
    assert simulator.client_secret not in str(raised.value)
    assert (await runtime.repository.latest_manifest()).status is SnapshotStatus.FAILED


async def test_timer_backup_that_is_partial_succeeds_and_records_the_failure(runtime, simulator):
    failing = simulator.subscription_ids[1]
    simulator.inject(Fault("status", status=503, path=LIST, subscription_id=failing, times=None))
    await scheduled_backup(TimerRequest(past_due=False))
    manifest = await runtime.repository.latest_manifest()
    assert manifest.status is SnapshotStatus.PARTIAL
    assert_failed_with(manifest, failing, "HTTP 503")


def test_cli_backup_with_a_throttled_subscription_exits_3_and_prints_the_reason(
    simulator, monkeypatch, tmp_path, capsys
):
    for name, value in describe_settings(simulator).items():
        monkeypatch.setenv(name, value)
    throttled = simulator.subscription_ids[0]
    # Retry-After: 0 keeps the CLI's real retry policy from sleeping.
    simulator.inject(
        Fault("status", status=429, retry_after=0, path=LIST, subscription_id=throttled, times=None)
    )
    code = main(["backup", "--store", str(tmp_path / "store")])
    out = capsys.readouterr().out
    assert code == 3
    assert f"({throttled}): failed" in out
    assert "HTTP 429" in out
