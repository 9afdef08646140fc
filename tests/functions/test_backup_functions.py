"""The backup and snapshot functions, called as the Functions host calls them."""

from __future__ import annotations

import json

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from shared.core.canonical import canonical_bytes
from shared.core.manifest import SnapshotStatus, Trigger
from shared.settings import load_settings
from shared.simulator import Fault
from shared.triggers.context import use_runtime
from shared.triggers.http import snapshot, snapshot_integration, snapshots, start_backup
from shared.triggers.timer import ScheduledBackupFailed, scheduled_backup
from shared.wiring import Runtime
from tests.functions.conftest import http_request


def problem(response: func.HttpResponse) -> dict:
    assert response.mimetype == "application/problem+json"
    document = json.loads(response.get_body())
    assert {"type", "title", "status", "detail"} <= document.keys()
    assert document["status"] == response.status_code
    return document


async def test_post_backups_takes_a_snapshot_and_answers_201(runtime):
    response = await start_backup(http_request("POST", "/api/backups"))
    assert response.status_code == 201
    summary = json.loads(response.get_body())
    assert summary["status"] == "complete"
    assert summary["trigger"] == "http"
    assert response.headers["Location"] == f"/api/snapshots/{summary['snapshotId']}"
    assert await runtime.repository.list_snapshot_ids() == [summary["snapshotId"]]


async def test_timer_trigger_takes_a_scheduled_snapshot(runtime):
    await scheduled_backup(TimerRequest(past_due=False))
    manifest = await runtime.repository.latest_manifest()
    assert manifest.trigger is Trigger.TIMER
    assert manifest.status is SnapshotStatus.COMPLETE


async def test_timer_trigger_fails_when_nothing_could_be_backed_up(runtime, simulator):
    for sid in simulator.subscription_ids:
        simulator.revoke_key(sid)
    with pytest.raises(ScheduledBackupFailed):
        await scheduled_backup(TimerRequest(past_due=False))
    assert (await runtime.repository.latest_manifest()).status is SnapshotStatus.FAILED


async def test_get_snapshots_lists_newest_first_with_paging(runtime):
    for _ in range(3):
        await start_backup(http_request("POST", "/api/backups"))
    response = await snapshots(http_request("GET", "/api/snapshots", params={"limit": "2"}))
    page = json.loads(response.get_body())
    ids = await runtime.repository.list_snapshot_ids()
    assert [i["snapshotId"] for i in page["items"]] == ids[::-1][:2]
    assert page["total"] == 3
    rest = await snapshots(
        http_request("GET", "/api/snapshots", params={"limit": "2", "before": page["next"]})
    )
    assert [i["snapshotId"] for i in json.loads(rest.get_body())["items"]] == [ids[0]]


async def test_get_snapshot_returns_its_manifest(runtime):
    created = json.loads((await start_backup(http_request("POST", "/api/backups"))).get_body())
    sid = created["snapshotId"]
    response = await snapshot(
        http_request("GET", f"/api/snapshots/{sid}", route_params={"snapshotId": sid})
    )
    assert response.status_code == 200
    assert json.loads(response.get_body())["snapshot_id"] == sid


async def test_get_stored_integration_returns_it_exactly_as_stored(runtime, simulator):
    created = json.loads((await start_backup(http_request("POST", "/api/backups"))).get_body())
    live = simulator.integrations(simulator.subscription_ids[0])[0]
    response = await snapshot_integration(
        http_request(
            "GET",
            "/api/snapshots/x/integrations/y",
            route_params={"snapshotId": created["snapshotId"], "integrationId": live["id"]},
        )
    )
    assert response.status_code == 200
    assert response.get_body() == canonical_bytes(live)


async def test_latest_is_accepted_as_a_snapshot_reference(runtime):
    created = json.loads((await start_backup(http_request("POST", "/api/backups"))).get_body())
    response = await snapshot(
        http_request("GET", "/api/snapshots/latest", route_params={"snapshotId": "latest"})
    )
    assert json.loads(response.get_body())["snapshot_id"] == created["snapshotId"]


async def test_unknown_snapshot_is_a_404_problem(runtime):
    response = await snapshot(
        http_request(
            "GET", "/api/snapshots/x", route_params={"snapshotId": "20200101T000000Z-abcdef"}
        )
    )
    assert response.status_code == 404
    assert "does not exist" in problem(response)["detail"]


@pytest.mark.parametrize("bad", ["../etc", "%2e%2e", "/abs", "not-an-id", "20261204T020000Z"])
async def test_malformed_snapshot_id_is_a_400_problem(runtime, bad):
    response = await snapshot(
        http_request("GET", "/api/snapshots/x", route_params={"snapshotId": bad})
    )
    assert response.status_code == 400
    problem(response)


async def test_unknown_integration_in_a_snapshot_is_a_404_problem(runtime):
    created = json.loads((await start_backup(http_request("POST", "/api/backups"))).get_body())
    response = await snapshot_integration(
        http_request(
            "GET",
            "/api/snapshots/x/integrations/y",
            route_params={"snapshotId": created["snapshotId"], "integrationId": "nope"},
        )
    )
    assert response.status_code == 404
    problem(response)


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b"[1,2]", 400), (b'{"unexpected": 1}', 400), (b"x" * 70000, 413)],
)
async def test_malformed_backup_body_is_rejected_and_takes_no_backup(runtime, body, status):
    response = await start_backup(http_request("POST", "/api/backups", body=body))
    assert response.status_code == status
    problem(response)
    assert await runtime.repository.list_snapshot_ids() == []


@pytest.mark.parametrize(("name", "value"), [("limit", "0"), ("limit", "x"), ("before", "../")])
async def test_bad_listing_query_is_a_400_problem(runtime, name, value):
    response = await snapshots(http_request("GET", "/api/snapshots", params={name: value}))
    assert response.status_code == 400
    problem(response)


async def test_storage_unavailable_is_a_503_problem_without_secrets(app_settings, isolated_azurite):
    settings = load_settings(
        {**app_settings, "BACKUP_STORAGE_CONNECTION_STRING": isolated_azurite.connection_string}
    )
    use_runtime(Runtime.from_settings(settings))
    try:
        isolated_azurite.stop()
        response = await snapshots(http_request("GET", "/api/snapshots"))
    finally:
        use_runtime(None)
    assert response.status_code == 503
    detail = problem(response)["detail"]
    assert isolated_azurite.account_key not in detail
    assert "AccountKey" not in detail


async def test_connxio_outage_during_backup_still_records_a_failed_snapshot(runtime, simulator):
    simulator.inject(Fault("status", status=503, times=None))
    response = await start_backup(http_request("POST", "/api/backups"))
    assert response.status_code == 201
    assert json.loads(response.get_body())["status"] == "failed"


async def test_backup_note_from_the_body_is_stored_with_the_snapshot(runtime):
    response = await start_backup(
        http_request("POST", "/api/backups", body=b'{"note": "before the release"}')
    )
    snapshot_id = json.loads(response.get_body())["snapshotId"]
    assert (await runtime.repository.read_manifest(snapshot_id)).note == "before the release"
