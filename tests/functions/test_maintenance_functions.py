"""The verify, prune and acknowledge functions, and retention after the scheduled backup, called
as the Functions host calls them (real requests, settings → wiring, simulator and Azurite)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from shared.clock import FixedClock, TickingClock
from shared.connxio import RetryPolicy
from shared.core.manifest import SnapshotStatus, Trigger
from shared.services.locks import RepositoryBusyError
from shared.settings import load_settings
from shared.store.repository import object_name
from shared.triggers.context import use_runtime
from shared.triggers.http import start_backup
from shared.triggers.maintenance import acknowledge_snapshot, prune_snapshots, verify_snapshots
from shared.triggers.problems import problem_for
from shared.triggers.timer import scheduled_backup
from shared.wiring import Runtime
from tests.functions.conftest import http_request
from tests.support import no_sleep

KEEP_ONE = {
    "RETENTION_KEEP_LAST": "1",
    "RETENTION_KEEP_DAILY": "0",
    "RETENTION_KEEP_WEEKLY": "0",
    "RETENTION_KEEP_MONTHLY": "0",
    "RETENTION_GRACE_DAYS": "0",
}


def install_runtime(app_settings: dict[str, str], clock) -> Runtime:
    runtime = Runtime.from_settings(load_settings(app_settings), clock=clock)
    runtime.retry = RetryPolicy(sleep=no_sleep, max_attempts=3)
    use_runtime(runtime)
    return runtime


@pytest.fixture
def keep_one_runtime(app_settings):
    """A runtime whose retention keeps only the newest snapshot, with no grace period."""
    runtime = install_runtime(
        {**app_settings, **KEEP_ONE}, TickingClock(datetime(2026, 12, 4, 2, tzinfo=UTC))
    )
    yield runtime
    use_runtime(None)
    runtime.repository.close()


def problem(response: func.HttpResponse) -> dict:
    assert response.mimetype == "application/problem+json"
    document = json.loads(response.get_body())
    assert document["status"] == response.status_code
    return document


def body_of(response: func.HttpResponse) -> dict:
    return json.loads(response.get_body())


async def backup() -> str:
    response = await start_backup(http_request("POST", "/api/backups"))
    assert response.status_code == 201
    return body_of(response)["snapshotId"]


def post(route: str, body: object | None = None, **route_params: str) -> func.HttpRequest:
    data = b"" if body is None else json.dumps(body).encode()
    return http_request("POST", f"/api/{route}", body=data, route_params=route_params)


# -- verify ------------------------------------------------------------------------------------


async def test_verify_without_a_body_checks_every_snapshot_and_answers_200_ok(runtime):
    await backup()
    await backup()
    response = await verify_snapshots(post("verify"))
    assert response.status_code == 200
    report = body_of(response)
    assert report["ok"] is True
    assert report["scope"] == "all"
    assert len(report["snapshots"]) == 2


async def test_verify_of_one_snapshot_checks_only_it(runtime):
    await backup()
    latest = await backup()
    report = body_of(await verify_snapshots(post("verify", {"snapshot": "latest"})))
    assert [s["snapshot_id"] for s in report["snapshots"]] == [latest]


async def test_verify_that_finds_a_missing_object_answers_200_with_ok_false(runtime):
    snapshot_id = await backup()
    manifest = await runtime.repository.read_manifest(snapshot_id)
    entry = manifest.subscriptions[0].integrations[0]
    runtime.repository.backend.delete(object_name(entry.hash))
    response = await verify_snapshots(post("verify", {"all": True}))
    assert response.status_code == 200
    report = body_of(response)
    assert report["ok"] is False
    assert report["snapshots"][0]["missing"][0]["integration_ids"] == [entry.id]


async def test_verify_with_both_snapshot_and_all_is_a_400_problem(runtime):
    response = await verify_snapshots(post("verify", {"snapshot": "latest", "all": True}))
    assert response.status_code == 400
    assert "not both" in problem(response)["detail"]


@pytest.mark.parametrize("body", [{"snapshot": "../x"}, {"all": "yes"}, {"everything": True}, [1]])
async def test_verify_with_a_malformed_body_is_a_400_problem(runtime, body):
    response = await verify_snapshots(post("verify", body))
    assert response.status_code == 400
    problem(response)


async def test_verify_of_an_unknown_snapshot_is_a_404_problem(runtime):
    response = await verify_snapshots(post("verify", {"snapshot": "20200101T000000Z-abcdef"}))
    assert response.status_code == 404
    problem(response)


# -- prune -------------------------------------------------------------------------------------


async def test_prune_dry_run_reports_and_deletes_nothing(keep_one_runtime):
    first = await backup()
    await backup()
    response = await prune_snapshots(post("prune", {"dryRun": True}))
    assert response.status_code == 200
    report = body_of(response)
    assert report["dry_run"] is True
    assert report["forget"] == [first]
    assert len(await keep_one_runtime.repository.list_snapshot_ids()) == 2


async def test_prune_applies_the_retention_policy_of_the_app_settings(keep_one_runtime):
    await backup()
    newest = await backup()
    report = body_of(await prune_snapshots(post("prune")))
    assert report["stopped"] is None
    assert await keep_one_runtime.repository.list_snapshot_ids() == [newest]


@pytest.mark.parametrize("body", [{"dryRun": "true"}, {"dry_run": True}, {"extra": 1}])
async def test_prune_with_a_malformed_body_is_a_400_problem_and_prunes_nothing(
    keep_one_runtime, body
):
    await backup()
    await backup()
    response = await prune_snapshots(post("prune", body))
    assert response.status_code == 400
    problem(response)
    assert len(await keep_one_runtime.repository.list_snapshot_ids()) == 2


async def test_scheduled_backup_applies_retention_afterwards(keep_one_runtime):
    for _ in range(3):
        await scheduled_backup(TimerRequest(past_due=False))
    ids = await keep_one_runtime.repository.list_snapshot_ids()
    assert len(ids) == 1
    assert (await keep_one_runtime.repository.read_manifest(ids[0])).trigger is Trigger.TIMER
    assert len(await keep_one_runtime.repository.list_documents("state/prunes")) == 3


async def test_on_demand_backups_do_not_prune(keep_one_runtime):
    await backup()
    await backup()
    assert len(await keep_one_runtime.repository.list_snapshot_ids()) == 2


# -- acknowledge -------------------------------------------------------------------------------


async def mass_change(runtime, simulator) -> str:
    """Two backups with most of one subscription deleted in between; the second is flagged."""
    await backup()
    victim = simulator.subscription_ids[0]
    for config in simulator.integrations(victim)[1:]:
        simulator.delete_integration(victim, config["id"])
    flagged = await backup()
    manifest = await runtime.repository.read_manifest(flagged)
    assert manifest.mass_change_subscriptions == (victim,)
    return flagged


async def test_acknowledge_records_who_and_why_and_answers_201(runtime, simulator):
    flagged = await mass_change(runtime, simulator)
    response = await acknowledge_snapshot(
        post("snapshots/x/acknowledge", {"by": "alice", "note": "planned"}, snapshotId=flagged)
    )
    assert response.status_code == 201
    recorded = body_of(response)
    assert (recorded["snapshot_id"], recorded["acknowledged_by"]) == (flagged, "alice")
    assert await runtime.repository.list_documents("state/acks") == [flagged]


async def test_acknowledging_twice_is_a_409_problem(runtime, simulator):
    flagged = await mass_change(runtime, simulator)
    request = post("snapshots/x/acknowledge", {"by": "alice"}, snapshotId=flagged)
    assert (await acknowledge_snapshot(request)).status_code == 201
    again = await acknowledge_snapshot(request)
    assert again.status_code == 409
    assert "already acknowledged by alice" in problem(again)["detail"]


async def test_acknowledging_a_snapshot_without_a_mass_change_is_a_422_problem(runtime):
    quiet = await backup()
    response = await acknowledge_snapshot(
        post("snapshots/x/acknowledge", {"by": "alice"}, snapshotId=quiet)
    )
    assert response.status_code == 422
    problem(response)


@pytest.mark.parametrize(
    ("snapshot_id", "body", "status"),
    [
        ("latest", {}, 400),
        ("latest", {"by": ""}, 400),
        ("latest", {"by": "a", "who": "b"}, 400),
        ("../etc", {"by": "alice"}, 400),
        ("20200101T000000Z-abcdef", {"by": "alice"}, 404),
    ],
)
async def test_bad_acknowledgements_are_problems(runtime, snapshot_id, body, status):
    await backup()
    response = await acknowledge_snapshot(
        post("snapshots/x/acknowledge", body, snapshotId=snapshot_id)
    )
    assert response.status_code == status
    problem(response)


# -- overlap -----------------------------------------------------------------------------------


async def test_timer_and_http_backups_at_the_same_moment_both_store_complete_snapshots(
    app_settings, simulator
):
    runtime = install_runtime(app_settings, FixedClock(datetime(2026, 12, 4, 2, tzinfo=UTC)))
    try:
        simulator.latency = 0.02
        _, response = await asyncio.gather(
            scheduled_backup(TimerRequest(past_due=False)),
            start_backup(http_request("POST", "/api/backups")),
        )
        assert response.status_code == 201
        ids = await runtime.repository.list_snapshot_ids()
        assert len(ids) == 2
        manifests = [await runtime.repository.read_manifest(i) for i in ids]
        assert {m.trigger for m in manifests} == {Trigger.TIMER, Trigger.HTTP}
        assert {m.status for m in manifests} == {SnapshotStatus.COMPLETE}
        assert body_of(await verify_snapshots(post("verify")))["ok"] is True
    finally:
        use_runtime(None)
        runtime.repository.close()


def test_a_backup_held_up_by_a_prune_is_a_409_problem_saying_to_retry():
    response = problem_for(
        RepositoryBusyError("a prune is still working on the store; retry in a few minutes")
    )
    assert response.status_code == 409
    assert problem(response)["title"] == "Repository busy"
