"""Blob storage failing: Azurite (real, private to the test) stopped before or during a backup.

A backup that cannot reach its store fails clearly (503 problem, a failed timer run, exit 1 with a
message naming the store and the setting, never the key); one interrupted mid-way leaves no
manifest, only unreferenced objects; once storage is back the next backup completes and reuses
the objects that were already stored. Every other endpoint that touches the store answers 503
while it is down: an outage is never reported as a result (a verify finding, an empty prune).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from azure.functions.timer import TimerRequest

from shared.app import take_backup
from shared.cli import main
from shared.clock import TickingClock
from shared.connxio import RetryPolicy
from shared.core.manifest import SnapshotStatus, SubscriptionStatus, Trigger
from shared.errors import StoreUnavailableError
from shared.services.backup import BackupService
from shared.settings import StorageSettings, load_settings
from shared.simulator import Fault, Simulator, describe_settings, seed_estate
from shared.triggers.context import use_runtime
from shared.triggers.http import start_backup
from shared.triggers.maintenance import acknowledge_snapshot, prune_snapshots, verify_snapshots
from shared.triggers.restore import restore
from shared.triggers.timer import scheduled_backup
from shared.wiring import Runtime, build_repository
from tests.azurite import Azurite
from tests.functions.conftest import http_request
from tests.reliability.conftest import (
    api_writes,
    assert_manifest_fully_stored,
    subscription_entry,
)
from tests.service_fixtures import START


@pytest.fixture
def down_settings(simulator, isolated_azurite) -> dict[str, str]:
    """App settings pointing at a private Azurite that is stopped: storage down at the start."""
    settings = {
        **describe_settings(simulator),
        "BACKUP_STORAGE_CONNECTION_STRING": isolated_azurite.connection_string,
        "BACKUP_CONTAINER": "cxbackup",
        "BACKUP_SCHEDULE": "0 0 2 * * *",
    }
    isolated_azurite.stop()
    return settings


@pytest.fixture
def process_settings(down_settings, monkeypatch):
    """The settings as the Functions host's environment, with no Runtime built yet (a cold
    start): the trigger builds it from the environment on its first call."""
    for name, value in down_settings.items():
        monkeypatch.setenv(name, value)
    use_runtime(None)
    yield down_settings
    use_runtime(None)


def problem(response) -> dict:
    assert response.mimetype == "application/problem+json"
    document = json.loads(response.get_body())
    assert document["status"] == response.status_code
    return document


def assert_names_the_store_but_no_secret(text: str, azurite) -> None:
    assert f"127.0.0.1:{azurite.port}" in text
    assert "BACKUP_STORAGE_CONNECTION_STRING" in text
    assert azurite.account_key not in text
    assert "AccountKey" not in text


# -- storage down at the start -----------------------------------------------------------------


async def test_http_backup_with_storage_down_at_start_is_a_503_problem_naming_the_store(
    process_settings, isolated_azurite, simulator
):
    response = await start_backup(http_request("POST", "/api/backups"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    document = problem(response)
    assert document["title"] == "Storage unavailable"
    assert_names_the_store_but_no_secret(document["detail"], isolated_azurite)
    assert simulator.requests == []  # nothing was read from Connxio for a backup with no store


async def test_http_backup_succeeds_once_storage_is_back_without_restarting_the_app(
    process_settings, isolated_azurite
):
    failed = await start_backup(http_request("POST", "/api/backups"))
    assert failed.status_code == 503
    isolated_azurite.start()
    response = await start_backup(http_request("POST", "/api/backups"))
    assert response.status_code == 201
    assert json.loads(response.get_body())["status"] == "complete"


async def test_timer_backup_with_storage_down_at_start_fails_the_trigger(
    process_settings, isolated_azurite, simulator
):
    with pytest.raises(StoreUnavailableError) as raised:
        await scheduled_backup(TimerRequest(past_due=False))
    assert_names_the_store_but_no_secret(str(raised.value), isolated_azurite)
    assert simulator.requests == []


async def test_http_backup_when_storage_stops_after_startup_is_a_503_and_reads_no_connxio(
    down_settings, isolated_azurite, simulator
):
    isolated_azurite.start()
    runtime = Runtime.from_settings(load_settings(down_settings), clock=TickingClock(START))
    use_runtime(runtime)
    try:
        isolated_azurite.stop()
        response = await start_backup(http_request("POST", "/api/backups"))
    finally:
        use_runtime(None)
        runtime.repository.close()
    assert response.status_code == 503
    assert_names_the_store_but_no_secret(problem(response)["detail"], isolated_azurite)
    assert simulator.requests == []


def test_cli_backup_with_storage_down_exits_1_naming_the_store_and_setting(
    down_settings, isolated_azurite, simulator, monkeypatch, capsys
):
    for name, value in down_settings.items():
        monkeypatch.setenv(name, value)
    code = main(["backup", "--store", "blob"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("cxbackup: error: ")
    assert len(captured.err.strip().splitlines()) == 1  # one line, no traceback
    assert_names_the_store_but_no_secret(captured.err, isolated_azurite)
    assert simulator.requests == []


# -- storage stopped mid-backup ----------------------------------------------------------------


async def test_storage_stopped_mid_backup_leaves_no_manifest_and_the_next_run_reuses_objects(
    simulator, client, isolated_azurite, clock
):
    """Subscriptions are read one at a time. Once the first one's objects are stored, Azurite
    is stopped while the second subscription's listing is still on its way (a slow answer)."""
    repository = build_repository(
        StorageSettings(
            connection_string=isolated_azurite.connection_string,
            container=f"mid-{uuid.uuid4().hex[:12]}",
        )
    )
    first, second, _third = sorted(simulator.subscription_ids)
    simulator.inject(
        Fault("latency", delay=1.5, path=r"/v2/integrations", subscription_id=second, times=1)
    )
    first_stored = asyncio.Event()

    def progress(message: str) -> None:
        if message.startswith("subscription "):
            first_stored.set()

    service = BackupService(
        client=client,
        repository=repository,
        api_keys=simulator.api_keys,
        clock=clock,
        concurrency=1,
    )
    try:
        run = asyncio.create_task(service.run(Trigger.CLI, progress=progress))
        await first_stored.wait()
        await asyncio.to_thread(isolated_azurite.stop)
        with pytest.raises(StoreUnavailableError) as raised:
            await run
        assert f"127.0.0.1:{isolated_azurite.port}" in str(raised.value)
        assert isolated_azurite.account_key not in str(raised.value)

        await asyncio.to_thread(isolated_azurite.start)
        assert await repository.list_snapshot_ids() == []  # no manifest claims anything
        left_over = set(await repository.list_object_hashes())
        first_count = len(simulator.integrations(first))
        assert len(left_over) >= first_count  # the first subscription's objects were stored

        again = await service.run(Trigger.CLI)
        manifest = await repository.read_manifest(again.manifest.snapshot_id)
        assert manifest.status is SnapshotStatus.COMPLETE
        assert subscription_entry(manifest, first).status is SubscriptionStatus.COMPLETE
        await assert_manifest_fully_stored(repository, manifest)
        total = manifest.integration_count()
        # What was stored is reused: at least the first subscription's objects are not written
        # again. (Not an exact count: a write of the crashed run whose thread was still retrying
        # may land once storage is back, and is then reused too.)
        assert total - again.objects_written >= first_count
        assert again.objects_written <= total - first_count
    finally:
        repository.close()


# -- every endpoint with storage down ----------------------------------------------------------


@pytest.fixture(scope="module")
def stopped_store(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """A runtime built while Azurite was up (with one snapshot stored), then Azurite stopped:
    the app was healthy, and now its storage is gone."""
    data = seed_estate(subscriptions=2, integrations_per_subscription=2, seed=13)
    with Simulator(data) as simulator, Azurite(tmp_path_factory.mktemp("down")) as emulator:
        settings = {
            **describe_settings(simulator),
            "BACKUP_STORAGE_CONNECTION_STRING": emulator.connection_string,
            "BACKUP_CONTAINER": "cxbackup",
        }
        runtime = Runtime.from_settings(load_settings(settings), clock=TickingClock(START))
        runtime.retry = RetryPolicy.none()
        snapshot_id = asyncio.run(take_backup(runtime, Trigger.HTTP)).manifest.snapshot_id
        emulator.stop()
        try:
            yield SimpleNamespace(
                runtime=runtime, simulator=simulator, azurite=emulator, snapshot=snapshot_id
            )
        finally:
            runtime.repository.close()


def _post(function, route: str, document: dict, **route_params):
    async def call(snapshot_id: str):
        body = json.dumps(document).replace("{snapshot}", snapshot_id).encode()
        params = {k: v.replace("{snapshot}", snapshot_id) for k, v in route_params.items()}
        return await function(http_request("POST", route, body=body, route_params=params))

    return call


DOWN_CASES = {
    "restore-plan": _post(restore, "/api/restore", {"snapshot": "{snapshot}"}),
    "verify": _post(verify_snapshots, "/api/verify", {"snapshot": "{snapshot}"}),
    "prune": _post(prune_snapshots, "/api/prune", {"dryRun": False}),
    "acknowledge": _post(
        acknowledge_snapshot,
        "/api/snapshots/x/acknowledge",
        {"by": "ops"},
        snapshotId="{snapshot}",
    ),
}


@pytest.mark.parametrize("name", sorted(DOWN_CASES))
async def test_endpoint_answers_503_not_a_finding_when_storage_goes_down(stopped_store, name):
    """An outage is never reported as a result (no "verify found problems", no empty prune)."""
    use_runtime(stopped_store.runtime)
    try:
        response = await DOWN_CASES[name](stopped_store.snapshot)
    finally:
        use_runtime(None)
    assert response.status_code == 503, response.get_body()[:300]
    assert_names_the_store_but_no_secret(problem(response)["detail"], stopped_store.azurite)
    assert api_writes(stopped_store.simulator) == []
