"""``POST /api/restore``, called as the Functions host calls it: real ``HttpRequest`` objects,
real settings → wiring, the simulator and Azurite (fixtures in ``tests/functions/conftest.py``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import azure.functions as func

import function_app
from shared.clock import FixedClock
from shared.core.diff import DEFAULT_IGNORED_FIELDS, json_equal
from shared.simulator import Fault
from shared.triggers.http import start_backup
from shared.triggers.restore import restore
from tests.functions.conftest import http_request


def post(body: dict | bytes, headers: dict[str, str] | None = None) -> func.HttpRequest:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(
        "POST",
        "/api/restore",
        body=data,
        headers={"content-type": "application/json", **(headers or {})},
    )


def document(response: func.HttpResponse) -> dict:
    return json.loads(response.get_body())


def problem(response: func.HttpResponse) -> dict:
    assert response.mimetype == "application/problem+json"
    body = document(response)
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == response.status_code
    return body


async def backup() -> str:
    response = await start_backup(http_request("POST", "/api/backups"))
    return document(response)["snapshotId"]


def break_one(simulator) -> tuple[str, str]:
    """Edit one integration live, as a person would. Returns (subscription id, integration id)."""
    sid = simulator.subscription_ids[0]
    config = simulator.integrations(sid)[0]
    config["description"] = "broken at 14:05"
    simulator.put_integration(sid, config)
    return sid, config["id"]


def writes(simulator) -> list:
    return [r for r in simulator.requests if r.path.startswith("/v2/") and r.method != "GET"]


async def make_plan(snapshot_id: str, **body: object) -> dict:
    response = await restore(post({"snapshot": snapshot_id, **body}))
    assert response.status_code == 200
    return document(response)


async def apply(plan: dict, **body: object) -> func.HttpResponse:
    return await restore(
        post({"apply": True, "planId": plan["planId"], "confirm": plan["snapshotId"], **body})
    )


# -- registration -----------------------------------------------------------------------------


def test_restore_is_registered_as_its_own_function_on_post_api_restore() -> None:
    functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
    trigger = functions["restore"].get_bindings()[0].get_dict_repr()
    assert trigger["route"] == "restore"
    assert [getattr(m, "value", m) for m in trigger["methods"]] == ["POST"]


# -- plan -------------------------------------------------------------------------------------


async def test_a_plan_request_answers_200_with_the_plan_and_its_id(runtime, simulator):
    snapshot_id = await backup()
    _, edited = break_one(simulator)

    plan = await make_plan(snapshot_id)

    assert plan["snapshotId"] == snapshot_id
    assert plan["plan"]["plan_id"] == plan["planId"]
    updates = [i for i in plan["plan"]["items"] if i["action"] == "update"]
    assert [i["integration_id"] for i in updates] == [edited]


async def test_a_plan_request_only_reads_from_the_api(runtime, simulator):
    snapshot_id = await backup()
    break_one(simulator)
    simulator.clear_requests()

    await make_plan(snapshot_id, deleteExtra=True)

    assert writes(simulator) == []


async def test_latest_is_accepted_as_the_snapshot_to_plan(runtime, simulator):
    snapshot_id = await backup()
    plan = await make_plan("latest")
    assert plan["snapshotId"] == snapshot_id


async def test_apply_as_a_string_is_rejected_and_nothing_is_written(runtime, simulator):
    snapshot_id = await backup()
    break_one(simulator)
    plan = await make_plan(snapshot_id)
    simulator.clear_requests()

    response = await restore(
        post({"apply": "true", "planId": plan["planId"], "confirm": snapshot_id})
    )

    assert response.status_code == 400
    problem(response)
    assert writes(simulator) == []


async def test_apply_members_on_a_plan_request_are_rejected(runtime):
    snapshot_id = await backup()
    response = await restore(post({"snapshot": snapshot_id, "confirm": snapshot_id}))
    assert response.status_code == 400
    assert "confirm" in problem(response)["detail"]


async def test_an_unknown_member_is_rejected(runtime):
    response = await restore(post({"snapshot": "latest", "dryRun": False}))
    assert response.status_code == 400
    problem(response)


async def test_an_unknown_snapshot_is_a_404_problem(runtime):
    await backup()
    response = await restore(post({"snapshot": "20200101T000000Z-abcdef"}))
    assert response.status_code == 404
    problem(response)


async def test_a_plan_without_a_snapshot_is_a_400_problem(runtime):
    response = await restore(post({"subscriptions": ["x"]}))
    assert response.status_code == 400
    assert "snapshot" in problem(response)["detail"]


# -- apply ------------------------------------------------------------------------------------


async def test_apply_with_the_plan_id_and_confirmation_restores_and_answers_200(runtime, simulator):
    snapshot_id = await backup()
    sid, edited = break_one(simulator)
    plan = await make_plan(snapshot_id)

    response = await apply(plan)

    assert response.status_code == 200
    report = document(response)
    assert report["outcome"] == "succeeded"
    assert report["report"]["plan"]["plan_id"] == plan["planId"]
    assert await runtime.repository.document_exists("restores", report["runId"])
    restored = simulator.get_integration(sid, edited)
    assert restored["description"] != "broken at 14:05"


async def test_apply_records_who_asked_from_the_authentication_principal(runtime, simulator):
    snapshot_id = await backup()
    break_one(simulator)
    plan = await make_plan(snapshot_id)

    response = await restore(
        post(
            {"apply": True, "planId": plan["planId"], "confirm": snapshot_id},
            headers={"X-MS-CLIENT-PRINCIPAL-NAME": "kari.hansen@contoso.example"},
        )
    )

    assert document(response)["report"]["requested_by"] == "http:kari.hansen@contoso.example"


async def test_apply_without_a_plan_id_is_a_422_problem(runtime, simulator):
    snapshot_id = await backup()
    response = await restore(post({"apply": True, "confirm": snapshot_id}))
    assert response.status_code == 422
    assert "planId" in problem(response)["detail"]


async def test_apply_without_a_confirmation_is_a_422_problem_and_writes_nothing(runtime, simulator):
    snapshot_id = await backup()
    break_one(simulator)
    plan = await make_plan(snapshot_id)
    simulator.clear_requests()

    response = await restore(post({"apply": True, "planId": plan["planId"]}))

    assert response.status_code == 422
    assert snapshot_id in problem(response)["detail"]
    assert writes(simulator) == []


async def test_apply_with_a_confirmation_naming_another_snapshot_is_a_422_problem(
    runtime, simulator
):
    snapshot_id = await backup()
    break_one(simulator)
    plan = await make_plan(snapshot_id)
    simulator.clear_requests()

    response = await apply(plan, confirm="20261204T020000Z-000000")

    assert response.status_code == 422
    problem(response)
    assert writes(simulator) == []


async def test_scope_members_on_an_apply_request_are_rejected(runtime, simulator):
    snapshot_id = await backup()
    plan = await make_plan(snapshot_id)
    response = await apply(plan, integrations=["other"])
    assert response.status_code == 400
    assert "integrations" in problem(response)["detail"]


async def test_a_replayed_apply_is_a_409_problem_and_writes_nothing(runtime, simulator):
    snapshot_id = await backup()
    break_one(simulator)
    plan = await make_plan(snapshot_id)
    first = document(await apply(plan))
    simulator.clear_requests()

    response = await apply(plan)

    assert response.status_code == 409
    assert first["runId"] in problem(response)["detail"]
    assert writes(simulator) == []


async def test_an_expired_plan_is_a_409_problem(runtime, simulator):
    snapshot_id = await backup()
    break_one(simulator)
    runtime.clock = clock = FixedClock(datetime(2026, 12, 4, 14, tzinfo=UTC))
    plan = await make_plan(snapshot_id)
    clock.advance(hours=1, seconds=1)

    response = await apply(plan)

    assert response.status_code == 409
    assert "expired" in problem(response)["detail"]


async def test_apply_with_a_failed_item_answers_207_with_each_items_status(runtime, simulator):
    snapshot_id = await backup()
    _, edited = break_one(simulator)
    plan = await make_plan(snapshot_id)
    simulator.inject(
        Fault("status", status=400, method="POST", integration_id=edited, message="bad receiver")
    )

    response = await apply(plan)

    assert response.status_code == 207
    items = {i["integration_id"]: i for i in document(response)["report"]["items"]}
    assert items[edited]["status"] == "failed"
    assert "bad receiver" in items[edited]["message"]


async def test_an_apply_stopped_by_an_auth_failure_is_a_502_problem_carrying_the_report(
    runtime, simulator
):
    snapshot_id = await backup()
    _, edited = break_one(simulator)
    plan = await make_plan(snapshot_id)
    simulator.inject(Fault("status", status=401, method="POST", integration_id=edited, times=None))

    response = await apply(plan)

    assert response.status_code == 502
    body = problem(response)
    assert body["report"]["outcome"] == "aborted"
    assert body["runId"] == body["report"]["run_id"]
    assert await runtime.repository.document_exists("restores", body["runId"])


async def test_a_single_integration_restore_over_http_posts_one_upsert(runtime, simulator):
    snapshot_id = await backup()
    sid, edited = break_one(simulator)
    other = simulator.integrations(sid)[1]
    other["description"] = "also broken"
    simulator.put_integration(sid, other)
    plan = await make_plan(snapshot_id, integrations=[edited])
    simulator.clear_requests()

    await apply(plan)

    assert [json.loads(w.body)["id"] for w in writes(simulator)] == [edited]
    assert simulator.get_integration(sid, other["id"])["description"] == "also broken"


async def test_restore_into_another_subscription_over_http_maps_ids(runtime, simulator):
    snapshot_id = await backup()
    source, target = simulator.subscription_ids[:2]
    plan = await make_plan(snapshot_id, subscriptions=[source], targetSubscription=target)

    report = document(await apply(plan))

    assert report["outcome"] == "succeeded"
    assert len(report["idMap"]) == len(simulator.integrations(source))
    live = {c["id"]: c for c in simulator.integrations(target)}
    source_configs = {c["id"]: c for c in simulator.integrations(source)}
    for source_id, new_id in report["idMap"].items():
        ignored = DEFAULT_IGNORED_FIELDS | {"id", "subscriptionId", "subscriptionName"}
        assert json_equal(live[new_id], source_configs[source_id], ignored)
