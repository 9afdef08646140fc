"""The restore use case, end to end against the simulator and a real local store.

Fixtures come from ``tests/services/conftest.py``: a seeded simulator (3 subscriptions with 4
integrations each) on loopback, a real ConnxioClient, a local-folder repository, a fixed clock.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from shared.clock import FixedClock
from shared.core.canonical import canonical_bytes, content_hash
from shared.core.diff import DEFAULT_IGNORED_FIELDS, json_equal
from shared.core.manifest import Trigger
from shared.core.plan import (
    SERVER_MANAGED_FIELDS,
    ConfirmationMismatch,
    PlanAlreadyApplied,
    PlanExpired,
    RestoreAborted,
    RestoreRefused,
)
from shared.errors import CorruptObjectError, NotFoundError, SettingsError
from shared.services.restore import PlanRequest, RestoreService, read_report
from shared.simulator import Fault
from shared.store import codec
from shared.store.repository import object_name
from tests.support import decrypted_values, live_secret_values


@pytest.fixture
def restore_service(simulator, client, repository, clock) -> RestoreService:
    return RestoreService(
        client=client, repository=repository, api_keys=simulator.api_keys, clock=clock
    )


def service_with(simulator, client, repository, clock, **options) -> RestoreService:
    return RestoreService(
        client=client, repository=repository, api_keys=simulator.api_keys, clock=clock, **options
    )


async def snapshot(backup_service) -> str:
    return (await backup_service.run(Trigger.CLI)).manifest.snapshot_id


async def plan_and_apply(service: RestoreService, request: PlanRequest, *, force: bool = False):
    plan = await service.plan(request)
    report = await service.apply(
        plan.plan_id, confirm_snapshot_id=plan.snapshot_id, requested_by="test", force=force
    )
    return plan, report


def content(config: dict) -> dict:
    """A config without the fields the server manages (compared at every depth)."""
    return {k: v for k, v in config.items() if k not in DEFAULT_IGNORED_FIELDS}


def same_content(a: dict, b: dict) -> bool:
    return json_equal(content(a), content(b), DEFAULT_IGNORED_FIELDS)


async def stored_configs(repository, snapshot_id: str, subscription_id: str) -> dict[str, dict]:
    manifest = await repository.read_manifest(snapshot_id)
    entry = next(s for s in manifest.subscriptions if s.subscription_id == subscription_id)
    return {e.id: await repository.load_document(e.hash) for e in entry.integrations}


def live_by_id(simulator, subscription_id: str) -> dict[str, dict]:
    return {c["id"]: c for c in simulator.integrations(subscription_id)}


def api_writes(simulator) -> list:
    return [r for r in simulator.requests if r.path.startswith("/v2/") and r.method != "GET"]


async def break_things(client, simulator, subscription_id: str) -> tuple[str, str]:
    """Through the API: edit one integration, delete another. Returns (edited, deleted)."""
    key = simulator.api_keys[subscription_id]
    edited, deleted = simulator.integrations(subscription_id)[:2]
    edited["description"] = "broken at 14:05"
    edited["enabled"] = False
    await client.upsert_integration(key, edited)
    await client.delete_integration(key, deleted["id"])
    return edited["id"], deleted["id"]


# -- end to end -------------------------------------------------------------------------------


async def test_apply_brings_the_live_state_back_to_the_snapshot(
    restore_service, backup_service, client, simulator, repository
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    await break_things(client, simulator, sid)

    _, report = await plan_and_apply(restore_service, PlanRequest(snapshot=snapshot_id))

    assert report.outcome == "succeeded"
    for subscription_id in simulator.subscription_ids:
        stored = await stored_configs(repository, snapshot_id, subscription_id)
        live = live_by_id(simulator, subscription_id)
        assert live.keys() == stored.keys()
        assert all(same_content(live[i], stored[i]) for i in stored)


async def test_what_is_posted_is_the_stored_json_with_every_property_but_server_fields(
    restore_service, backup_service, client, simulator, repository
):
    sid = simulator.subscription_ids[0]
    config = simulator.integrations(sid)[0]
    config["futureFeature"] = {"nested": {"flag": True, "list": [1, "two", None]}}
    config["inboundConnection"]["newAdapterSetting"] = "kept"
    simulator.put_integration(sid, config)
    snapshot_id = await snapshot(backup_service)
    await break_things(client, simulator, sid)
    simulator.clear_requests()

    await plan_and_apply(restore_service, PlanRequest(snapshot=snapshot_id))

    stored = await stored_configs(repository, snapshot_id, sid)
    posts = [json.loads(r.body) for r in api_writes(simulator)]
    assert len(posts) == 2
    for body in posts:
        expected = {k: v for k, v in stored[body["id"]].items() if k not in SERVER_MANAGED_FIELDS}
        assert body == expected
    assert any(body.get("futureFeature") == config["futureFeature"] for body in posts)


async def test_every_restored_item_is_verified_against_the_live_state(
    restore_service, backup_service, client, simulator
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    edited, deleted = await break_things(client, simulator, sid)

    _, report = await plan_and_apply(restore_service, PlanRequest(snapshot=snapshot_id))

    statuses = {r.integration_id: (r.status, r.verification) for r in report.items}
    assert statuses[edited] == ("updated", "verified")
    assert statuses[deleted] == ("created", "verified")
    assert {v for _, v in statuses.values()} == {"verified"}


async def test_applying_the_same_snapshot_twice_sends_nothing_the_second_time(
    restore_service, backup_service, client, simulator
):
    snapshot_id = await snapshot(backup_service)
    await break_things(client, simulator, simulator.subscription_ids[0])
    await plan_and_apply(restore_service, PlanRequest(snapshot=snapshot_id))
    simulator.clear_requests()

    _, report = await plan_and_apply(restore_service, PlanRequest(snapshot=snapshot_id))

    assert api_writes(simulator) == []
    assert {r.status for r in report.items} == {"unchanged"}
    assert report.outcome == "succeeded"


async def test_single_integration_restore_sends_one_upsert_for_that_integration_only(
    restore_service, backup_service, client, simulator
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    key = simulator.api_keys[sid]
    first, second = simulator.integrations(sid)[:2]
    for config in (first, second):
        config["description"] = "broken"
        await client.upsert_integration(key, config)
    simulator.clear_requests()

    _, report = await plan_and_apply(
        restore_service, PlanRequest(snapshot=snapshot_id, integration_ids=(first["id"],))
    )

    writes = api_writes(simulator)
    assert [(w.method, json.loads(w.body)["id"]) for w in writes] == [("POST", first["id"])]
    assert [r.integration_id for r in report.items] == [first["id"]]
    assert simulator.get_integration(sid, second["id"])["description"] == "broken"


async def test_single_integration_plan_reads_only_the_subscription_that_holds_it(
    restore_service, backup_service, simulator
):
    sid = simulator.subscription_ids[1]
    snapshot_id = await snapshot(backup_service)
    wanted = simulator.integrations(sid)[0]["id"]
    simulator.clear_requests()

    plan = await restore_service.plan(PlanRequest(snapshot=snapshot_id, integration_ids=(wanted,)))

    assert plan.source_subscription_ids == (sid,)
    read = {r.subscription_id for r in simulator.requests if r.path == "/v2/integrations"}
    assert read == {sid}


# -- failures ---------------------------------------------------------------------------------


async def test_a_400_fails_that_integration_with_the_apis_message_and_restores_the_others(
    restore_service, backup_service, client, simulator
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    edited, deleted = await break_things(client, simulator, sid)
    simulator.inject(
        Fault(
            "status",
            status=400,
            method="POST",
            integration_id=edited,
            times=None,
            message="Validation failed: receiver is required",
        )
    )

    _, report = await plan_and_apply(restore_service, PlanRequest(snapshot=snapshot_id))

    results = {r.integration_id: r for r in report.items}
    assert results[edited].status == "failed"
    assert "Validation failed: receiver is required" in results[edited].message
    assert (results[deleted].status, results[deleted].verification) == ("created", "verified")
    assert report.outcome == "partial"


async def test_an_authentication_failure_stops_the_run_and_stores_an_aborted_report(
    simulator, client, repository, clock, backup_service
):
    service = service_with(simulator, client, repository, clock, concurrency=1)
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    key = simulator.api_keys[sid]
    broken = simulator.integrations(sid)
    for config in broken:
        config["description"] = "broken"
        await client.upsert_integration(key, config)
    plan = await service.plan(PlanRequest(snapshot=snapshot_id, subscription_ids=(sid,)))
    first = plan.items[0].integration_id
    simulator.inject(Fault("status", status=401, method="POST", integration_id=first, times=None))

    with pytest.raises(RestoreAborted, match="stopped") as caught:
        await service.apply(plan.plan_id, confirm_snapshot_id=snapshot_id, requested_by="test")

    report = caught.value.report
    assert await read_report(repository, report.run_id) == report
    assert report.outcome == "aborted"
    assert [r.status for r in report.items] == ["failed"] + ["skipped"] * (len(broken) - 1)
    assert len([w for w in api_writes(simulator) if w.status == 401]) == 2  # one token refresh


async def test_a_revoked_key_stops_the_run_before_anything_is_sent(
    restore_service, backup_service, client, simulator, repository
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    await break_things(client, simulator, sid)
    plan = await restore_service.plan(PlanRequest(snapshot=snapshot_id, subscription_ids=(sid,)))
    simulator.revoke_key(sid)
    simulator.clear_requests()

    with pytest.raises(RestoreAborted, match="Nothing was changed") as caught:
        await restore_service.apply(
            plan.plan_id, confirm_snapshot_id=snapshot_id, requested_by="test"
        )

    assert api_writes(simulator) == []
    stored = await read_report(repository, caught.value.report.run_id)
    assert stored.outcome == "aborted"
    assert {r.status for r in stored.items} <= {"skipped", "extra"}


# -- safety snapshot and undo ----------------------------------------------------------------


async def test_apply_takes_a_pre_restore_snapshot_of_the_state_it_overwrites(
    restore_service, backup_service, client, simulator, repository
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    edited, _ = await break_things(client, simulator, sid)
    broken = simulator.get_integration(sid, edited)

    plan, report = await plan_and_apply(
        restore_service, PlanRequest(snapshot=snapshot_id, subscription_ids=(sid,))
    )

    safety = await repository.read_manifest(report.pre_restore_snapshot_id)
    assert safety.trigger is Trigger.PRE_RESTORE
    assert snapshot_id in safety.note and plan.plan_id in safety.note
    _, entry = safety.find_integration(edited)
    assert same_content(await repository.load_document(entry.hash), broken)


async def test_restoring_the_pre_restore_snapshot_undoes_the_restore(
    restore_service, backup_service, client, simulator
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    await break_things(client, simulator, sid)
    before_restore = live_by_id(simulator, sid)
    _, report = await plan_and_apply(
        restore_service, PlanRequest(snapshot=snapshot_id, subscription_ids=(sid,))
    )

    _, undo = await plan_and_apply(
        restore_service,
        PlanRequest(snapshot=report.pre_restore_snapshot_id, delete_extra=True),
    )

    assert undo.outcome == "succeeded"
    after_undo = live_by_id(simulator, sid)
    assert after_undo.keys() == before_restore.keys()
    assert all(same_content(after_undo[i], before_restore[i]) for i in before_restore)


# -- planning never writes --------------------------------------------------------------------


async def test_a_plan_request_only_reads_from_the_api(
    restore_service, backup_service, client, simulator
):
    snapshot_id = await snapshot(backup_service)
    await break_things(client, simulator, simulator.subscription_ids[0])
    simulator.clear_requests()

    plan = await restore_service.plan(PlanRequest(snapshot=snapshot_id, delete_extra=True))

    assert plan.counts.to_send == 2
    api_calls = [r for r in simulator.requests if r.path.startswith("/v2/")]
    assert api_calls
    assert {r.method for r in api_calls} == {"GET"}


async def test_a_plan_is_stored_and_can_be_read_back(restore_service, backup_service):
    snapshot_id = await snapshot(backup_service)
    plan = await restore_service.plan(PlanRequest(snapshot="latest"))
    assert plan.snapshot_id == snapshot_id
    assert await restore_service.read_plan(plan.plan_id) == plan


# -- conflicts ---------------------------------------------------------------------------------


async def test_an_integration_edited_live_after_the_plan_is_a_conflict_and_left_as_it_is(
    restore_service, backup_service, client, simulator
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    edited, _ = await break_things(client, simulator, sid)
    plan = await restore_service.plan(PlanRequest(snapshot=snapshot_id, subscription_ids=(sid,)))
    config = simulator.get_integration(sid, edited)
    config["description"] = "fixed by hand at 14:20"
    simulator.put_integration(sid, config)
    simulator.clear_requests()

    report = await restore_service.apply(
        plan.plan_id, confirm_snapshot_id=snapshot_id, requested_by="test"
    )

    result = next(r for r in report.items if r.integration_id == edited)
    assert result.status == "conflict"
    assert simulator.get_integration(sid, edited)["description"] == "fixed by hand at 14:20"
    assert edited not in [json.loads(w.body).get("id") for w in api_writes(simulator)]
    assert report.outcome == "partial"


async def test_force_overwrites_an_integration_edited_live_after_the_plan(
    restore_service, backup_service, client, simulator, repository
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    edited, _ = await break_things(client, simulator, sid)
    plan = await restore_service.plan(PlanRequest(snapshot=snapshot_id, subscription_ids=(sid,)))
    config = simulator.get_integration(sid, edited)
    config["description"] = "fixed by hand at 14:20"
    simulator.put_integration(sid, config)

    report = await restore_service.apply(
        plan.plan_id, confirm_snapshot_id=snapshot_id, requested_by="test", force=True
    )

    result = next(r for r in report.items if r.integration_id == edited)
    assert (result.status, result.verification) == ("updated", "verified")
    stored = await stored_configs(repository, snapshot_id, sid)
    assert same_content(simulator.get_integration(sid, edited), stored[edited])


# -- refusals ---------------------------------------------------------------------------------


async def test_a_confirmation_naming_another_snapshot_is_refused_and_nothing_is_sent(
    restore_service, backup_service, client, simulator
):
    old = await snapshot(backup_service)
    await break_things(client, simulator, simulator.subscription_ids[0])
    newer = await snapshot(backup_service)
    plan = await restore_service.plan(PlanRequest(snapshot=old))
    simulator.clear_requests()

    with pytest.raises(ConfirmationMismatch):
        await restore_service.apply(plan.plan_id, confirm_snapshot_id=newer, requested_by="test")

    assert simulator.requests == []


async def test_a_refused_confirmation_does_not_use_up_the_plan(
    restore_service, backup_service, client, simulator
):
    snapshot_id = await snapshot(backup_service)
    await break_things(client, simulator, simulator.subscription_ids[0])
    plan = await restore_service.plan(PlanRequest(snapshot=snapshot_id))
    with pytest.raises(ConfirmationMismatch):
        await restore_service.apply(plan.plan_id, confirm_snapshot_id="latest", requested_by="x")

    report = await restore_service.apply(
        plan.plan_id, confirm_snapshot_id=snapshot_id, requested_by="x"
    )

    assert report.outcome == "succeeded"


async def test_a_replayed_apply_is_refused_naming_the_run_that_applied_the_plan(
    restore_service, backup_service, client, simulator
):
    snapshot_id = await snapshot(backup_service)
    await break_things(client, simulator, simulator.subscription_ids[0])
    plan, report = await plan_and_apply(restore_service, PlanRequest(snapshot=snapshot_id))
    simulator.clear_requests()

    with pytest.raises(PlanAlreadyApplied, match=report.run_id):
        await restore_service.apply(
            plan.plan_id, confirm_snapshot_id=snapshot_id, requested_by="test"
        )

    assert api_writes(simulator) == []


async def test_a_plan_past_its_expiry_is_refused_and_nothing_is_sent(
    backup_service, client, simulator, repository
):
    clock = FixedClock(datetime(2026, 12, 4, 14, 0, tzinfo=UTC))
    service = service_with(simulator, client, repository, clock)
    snapshot_id = await snapshot(backup_service)
    await break_things(client, simulator, simulator.subscription_ids[0])
    plan = await service.plan(PlanRequest(snapshot=snapshot_id))
    clock.advance(hours=1, seconds=1)
    simulator.clear_requests()

    with pytest.raises(PlanExpired):
        await service.apply(plan.plan_id, confirm_snapshot_id=snapshot_id, requested_by="test")

    assert simulator.requests == []


async def test_an_unknown_plan_id_is_not_found(restore_service):
    with pytest.raises(NotFoundError, match="make a plan first"):
        await restore_service.apply(
            "plan-20261204T020000Z-abcdef", confirm_snapshot_id="x", requested_by="test"
        )


async def test_an_integration_id_not_in_the_snapshot_is_not_found(restore_service, backup_service):
    await snapshot(backup_service)
    with pytest.raises(NotFoundError, match="not-there"):
        await restore_service.plan(PlanRequest(snapshot="latest", integration_ids=("not-there",)))


async def test_a_subscription_without_an_api_key_names_the_setting(
    simulator, client, repository, clock, backup_service
):
    await snapshot(backup_service)
    keys = simulator.api_keys
    missing = simulator.subscription_ids[2]
    del keys[missing]
    service = RestoreService(client=client, repository=repository, api_keys=keys, clock=clock)

    with pytest.raises(SettingsError, match="CONNXIO_API_KEYS"):
        await service.plan(PlanRequest(snapshot="latest", subscription_ids=(missing,)))


async def test_a_subscription_the_snapshot_holds_incompletely_is_refused_when_named(
    restore_service, backup_service, simulator
):
    failed = simulator.subscription_ids[1]
    simulator.revoke_key(failed)
    await snapshot(backup_service)

    with pytest.raises(RestoreRefused, match="no complete copy"):
        await restore_service.plan(PlanRequest(snapshot="latest", subscription_ids=(failed,)))


async def test_a_subscription_the_snapshot_holds_incompletely_is_left_out_with_a_note(
    restore_service, backup_service, simulator
):
    failed = simulator.subscription_ids[1]
    simulator.revoke_key(failed)
    await snapshot(backup_service)

    plan = await restore_service.plan(PlanRequest(snapshot="latest"))

    assert failed not in plan.source_subscription_ids
    assert any(failed in note for note in plan.notes)


async def test_a_corrupt_stored_object_fails_the_plan(
    restore_service, backup_service, simulator, repository
):
    snapshot_id = await snapshot(backup_service)
    corrupt_one_object(repository, simulator)

    with pytest.raises(CorruptObjectError, match="force"):
        await restore_service.plan(PlanRequest(snapshot=snapshot_id))


async def test_a_forced_plan_skips_a_corrupt_stored_object(
    restore_service, backup_service, simulator, repository
):
    snapshot_id = await snapshot(backup_service)
    corrupted = corrupt_one_object(repository, simulator)

    plan = await restore_service.plan(PlanRequest(snapshot=snapshot_id, force=True))

    item = next(i for i in plan.items if i.integration_id == corrupted)
    assert item.action == "skip"
    assert "does not match its hash" in item.note


def corrupt_one_object(repository, simulator) -> str:
    """Overwrite one stored object's bytes on disk; returns its integration id."""
    config = simulator.integrations(simulator.subscription_ids[0])[0]
    name = object_name(content_hash(canonical_bytes(config)))
    path = repository.backend.root.joinpath(*name.split("/"))
    edited = codec.decode(path.read_bytes()).replace(b'"enabled"', b'"Enabled"', 1)
    path.write_bytes(codec.encode(edited))
    return config["id"]


# -- extras -----------------------------------------------------------------------------------


async def test_an_integration_created_after_the_snapshot_is_left_alone(
    restore_service, backup_service, client, simulator
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    newcomer = await new_live_integration(client, simulator, sid)

    _, report = await plan_and_apply(
        restore_service, PlanRequest(snapshot=snapshot_id, subscription_ids=(sid,))
    )

    assert next(r for r in report.items if r.integration_id == newcomer).status == "extra"
    assert newcomer in live_by_id(simulator, sid)
    assert report.outcome == "succeeded"


async def test_an_integration_created_after_the_snapshot_is_deleted_when_asked(
    restore_service, backup_service, client, simulator
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    newcomer = await new_live_integration(client, simulator, sid)

    _, report = await plan_and_apply(
        restore_service,
        PlanRequest(snapshot=snapshot_id, subscription_ids=(sid,), delete_extra=True),
    )

    result = next(r for r in report.items if r.integration_id == newcomer)
    assert (result.status, result.verification) == ("deleted", "verified")
    assert newcomer not in live_by_id(simulator, sid)


async def new_live_integration(client, simulator, subscription_id: str) -> str:
    config = simulator.integrations(subscription_id)[0]
    del config["id"]
    config["description"] = "created after the snapshot"
    result = await client.upsert_integration(simulator.api_keys[subscription_id], config)
    return result.config["id"]


# -- restore into another subscription --------------------------------------------------------


async def test_restore_into_another_subscription_creates_new_integrations_and_maps_ids(
    restore_service, backup_service, simulator, repository
):
    source, target = simulator.subscription_ids[:2]
    snapshot_id = await snapshot(backup_service)
    before = live_by_id(simulator, target)

    _, report = await plan_and_apply(
        restore_service,
        PlanRequest(
            snapshot=snapshot_id, subscription_ids=(source,), target_subscription_id=target
        ),
    )

    stored = await stored_configs(repository, snapshot_id, source)
    assert report.id_map.keys() == stored.keys()
    live = live_by_id(simulator, target)
    assert live.keys() == before.keys() | set(report.id_map.values())
    for source_id, new_id in report.id_map.items():
        assert new_id != source_id
        assert live[new_id]["subscriptionId"] == target
        assert live[new_id]["description"] == stored[source_id]["description"]
    assert report.outcome == "succeeded"


async def test_restore_into_another_subscription_leaves_the_source_untouched(
    restore_service, backup_service, simulator
):
    source, target = simulator.subscription_ids[:2]
    snapshot_id = await snapshot(backup_service)
    simulator.clear_requests()

    await plan_and_apply(
        restore_service,
        PlanRequest(
            snapshot=snapshot_id, subscription_ids=(source,), target_subscription_id=target
        ),
    )

    assert {w.subscription_id for w in api_writes(simulator)} == {target}


async def test_restore_into_another_subscription_needs_one_source(
    restore_service, backup_service, simulator
):
    await snapshot(backup_service)
    with pytest.raises(RestoreRefused, match="exactly one source"):
        await restore_service.plan(
            PlanRequest(snapshot="latest", target_subscription_id=simulator.subscription_ids[0])
        )


# -- options ----------------------------------------------------------------------------------


async def test_without_validation_upserts_go_to_novalidation(
    restore_service, backup_service, client, simulator
):
    snapshot_id = await snapshot(backup_service)
    await break_things(client, simulator, simulator.subscription_ids[0])
    simulator.clear_requests()

    await plan_and_apply(restore_service, PlanRequest(snapshot=snapshot_id, validation=False))

    assert {w.path for w in api_writes(simulator)} == {"/v2/integrations/novalidation"}


# -- secrets ----------------------------------------------------------------------------------


async def test_no_secret_value_reaches_the_plan_the_report_or_the_log(
    restore_service, backup_service, client, simulator, caplog
):
    sid = simulator.subscription_ids[0]
    snapshot_id = await snapshot(backup_service)
    secrets = live_secret_values(simulator)
    config = next(c for c in simulator.integrations(sid) if decrypted_values(c))
    rotated = "sk-live-rotated-by-someone-at-1405"
    replace_decrypted_values(config, rotated)
    config["description"] = f"temporary password {next(iter(decrypted_values(config)))}"
    simulator.put_integration(sid, config)
    simulator.inject(
        Fault(
            "status",
            status=400,
            method="POST",
            integration_id=config["id"],
            message=f"Validation failed: secret {rotated} is not allowed",
        )
    )
    caplog.set_level(logging.DEBUG)

    plan, report = await plan_and_apply(restore_service, PlanRequest(snapshot=snapshot_id))

    assert any(c.secret for i in plan.items for c in i.changes)
    text = plan.model_dump_json() + report.model_dump_json()
    text += "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    leaked = [s for s in secrets | {rotated} if s in text]
    assert leaked == []


def replace_decrypted_values(value, new: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "decryptedValue" and isinstance(item, str):
                value[key] = new
            else:
                replace_decrypted_values(item, new)
    elif isinstance(value, list):
        for item in value:
            replace_decrypted_values(item, new)
