"""Blob storage failing: Azurite (real, private to the test) stopped before or during a backup.

A backup that cannot reach its store fails clearly (503 problem, a failed timer run, exit 1 with a
message naming the store and the setting, never the key); one interrupted mid-way leaves no
manifest, only unreferenced objects; once storage is back the next backup completes and reuses
the objects that were already stored.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from azure.functions.timer import TimerRequest

from shared.cli import main
from shared.clock import TickingClock
from shared.core.manifest import SnapshotStatus, SubscriptionStatus, Trigger
from shared.errors import StoreUnavailableError
from shared.services.backup import BackupService
from shared.settings import StorageSettings, load_settings
from shared.simulator import Fault, describe_settings
from shared.triggers.context import use_runtime
from shared.triggers.http import start_backup
from shared.triggers.timer import scheduled_backup
from shared.wiring import Runtime, build_repository
from tests.functions.conftest import http_request
from tests.reliability.conftest import START, assert_manifest_fully_stored, subscription_entry


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
        Fault("latency", delay=1.0, path=r"/v2/integrations", subscription_id=second, times=1)
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
        manifest = again.manifest
        assert manifest.status is SnapshotStatus.COMPLETE
        assert subscription_entry(manifest, first).status is SubscriptionStatus.COMPLETE
        await assert_manifest_fully_stored(repository, manifest)
        total = manifest.integration_count()
        assert again.objects_written == total - len(left_over)  # what was stored is reused
        assert again.objects_written < total
    finally:
        repository.close()
