"""The pure half of restore: plans, restore bodies, conflicts, confirmation, verification."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.core.plan import (
    SERVER_MANAGED_FIELDS,
    ConfirmationMismatch,
    ItemResult,
    PlanExpired,
    PlanOptions,
    PlanScope,
    RestorePlan,
    StoredConfig,
    build_plan,
    check_confirmation,
    check_fresh,
    conflict_reason,
    is_plan_id,
    is_run_id,
    live_hash,
    new_plan_id,
    new_run_id,
    report_outcome,
    restore_body,
    verification_changes,
)

T0 = datetime(2026, 12, 4, 14, 0, 0, tzinfo=UTC)
SUB = "sub-prod"
OTHER = "sub-test"
SECRET = "sk-live-hunter2-very-secret"


def config(integration_id: str = "int-1", **fields: object) -> dict:
    document: dict = {
        "id": integration_id,
        "subscriptionId": SUB,
        "subscriptionName": "Production",
        "companyId": "company-1",
        "transactionType": "Order",
        "sender": "ERP",
        "receiver": "acme",
        "description": "nightly orders",
        "enabled": True,
        "futureFeature": {"nested": [1, "two", None]},
        "inboundConnection": {
            "adapterType": "Rest",
            "authorizationHeaderKey": {"name": "k", "version": "1", "decryptedValue": SECRET},
        },
        "_etag": '"etag-1"',
        "cosmosEntityName": "IntegrationConfig",
        "createdBy": "jane@contoso.example",
        "createdAtUtc": "2026-11-01T10:00:00.0000000Z",
        "updatedBy": "jane@contoso.example",
        "updatedAtUtc": "2026-11-02T10:00:00.0000000Z",
    }
    document.update(fields)
    return document


def stored(document: dict, label: str = "Order: ERP → acme") -> StoredConfig:
    return StoredConfig(document["id"], label, "a" * 64, document)


def plan_of(
    snapshot: dict[str, list[StoredConfig]],
    live: dict[str, list[dict]],
    *,
    target: str | None = None,
    options: PlanOptions | None = None,
    scope: PlanScope | None = None,
) -> RestorePlan:
    return build_plan(
        snapshot,
        live,
        plan_id=new_plan_id(T0, "abcdef"),
        created_at=T0,
        expires_at=T0 + timedelta(hours=1),
        snapshot_id="20261204T140000Z-123456",
        snapshot_taken_at=T0,
        scope=scope or PlanScope(),
        options=options or PlanOptions(),
        target_subscription_id=target,
    )


def only_item(plan: RestorePlan):
    assert len(plan.items) == 1
    return plan.items[0]


# -- restore_body ---------------------------------------------------------------------------


def test_restore_body_drops_exactly_the_server_managed_fields() -> None:
    body = restore_body(config(), target_subscription_id=None, keep_id=True)
    assert set(config()) - set(body) == SERVER_MANAGED_FIELDS


def test_restore_body_keeps_unknown_properties_as_they_are() -> None:
    body = restore_body(config(), target_subscription_id=None, keep_id=True)
    assert body["futureFeature"] == {"nested": [1, "two", None]}


def test_restore_body_keeps_the_id_and_subscription_for_a_same_subscription_restore() -> None:
    body = restore_body(config(), target_subscription_id=None, keep_id=True)
    assert (body["id"], body["subscriptionId"]) == ("int-1", SUB)


def test_restore_body_into_another_subscription_drops_the_id_and_rewrites_the_subscription() -> (
    None
):
    body = restore_body(config(), target_subscription_id=OTHER, keep_id=False)
    assert "id" not in body
    assert body["subscriptionId"] == OTHER


def test_restore_body_leaves_the_stored_config_untouched() -> None:
    original = config()
    before = copy.deepcopy(original)
    restore_body(original, target_subscription_id=OTHER, keep_id=False)
    assert original == before


# -- build_plan: actions --------------------------------------------------------------------


def test_integration_in_the_snapshot_but_not_live_is_a_create() -> None:
    item = only_item(plan_of({SUB: [stored(config())]}, {SUB: []}))
    assert item.action == "create"
    assert item.live_etag is None


def test_integration_that_differs_live_is_an_update_with_the_changes_applying_makes() -> None:
    live = config(description="broken at 14:05", _etag='"etag-2"')
    item = only_item(plan_of({SUB: [stored(config())]}, {SUB: [live]}))
    assert item.action == "update"
    assert [(c.path, c.old, c.new) for c in item.changes] == [
        ("/description", "broken at 14:05", "nightly orders")
    ]


def test_update_records_the_live_etag_the_plan_saw() -> None:
    live = config(description="broken", _etag='"etag-2"')
    item = only_item(plan_of({SUB: [stored(config())]}, {SUB: [live]}))
    assert item.live_etag == '"etag-2"'
    assert item.live_hash == live_hash(live)


def test_integration_equal_apart_from_server_managed_fields_is_unchanged() -> None:
    live = config(_etag='"etag-9"', updatedAtUtc="2026-12-04T14:05:00Z", updatedBy="bot")
    item = only_item(plan_of({SUB: [stored(config())]}, {SUB: [live]}))
    assert item.action == "unchanged"
    assert item.changes == ()


def test_live_only_integration_is_extra_and_left_alone_by_default() -> None:
    item = only_item(plan_of({SUB: []}, {SUB: [config("int-new")]}))
    assert item.action == "extra"
    assert "left alone" in item.note


def test_live_only_integration_is_a_delete_when_deletion_was_asked_for() -> None:
    plan = plan_of({SUB: []}, {SUB: [config("int-new")]}, options=PlanOptions(delete_extra=True))
    assert only_item(plan).action == "delete"


def test_unreadable_stored_config_is_a_skip_carrying_the_problem() -> None:
    broken = StoredConfig("int-1", "Order", "b" * 64, None, "object does not match its hash")
    item = only_item(plan_of({SUB: [broken]}, {SUB: [config()]}))
    assert item.action == "skip"
    assert item.note == "object does not match its hash"


def test_integration_scope_narrows_both_the_snapshot_and_the_live_side() -> None:
    plan = plan_of(
        {SUB: [stored(config("int-1")), stored(config("int-2"))]},
        {SUB: [config("int-1", description="x"), config("int-2", description="y"), config("z")]},
        scope=PlanScope(integration_ids=("int-2",)),
    )
    assert [(i.integration_id, i.action) for i in plan.items] == [("int-2", "update")]


def test_counts_add_up_per_action() -> None:
    plan = plan_of(
        {SUB: [stored(config("a")), stored(config("b")), stored(config("c"))]},
        {SUB: [config("b", description="changed"), config("c"), config("d")]},
    )
    counts = plan.counts
    assert (counts.create, counts.update, counts.unchanged, counts.extra) == (1, 1, 1, 1)
    assert counts.to_send == 2


# -- build_plan: restore into another subscription -------------------------------------------


def test_restore_into_another_subscription_creates_every_integration() -> None:
    plan = plan_of({SUB: [stored(config())]}, {OTHER: [config()]}, target=OTHER)
    actions = [(i.subscription_id, i.source_subscription_id, i.action) for i in plan.items]
    assert actions[0] == (OTHER, SUB, "create")


def test_restore_into_another_subscription_reports_its_live_integrations_as_extra() -> None:
    plan = plan_of({SUB: [stored(config())]}, {OTHER: [config("int-test")]}, target=OTHER)
    assert [(i.integration_id, i.action) for i in plan.items] == [
        ("int-1", "create"),
        ("int-test", "extra"),
    ]


def test_plan_into_another_subscription_is_cross_subscription() -> None:
    plan = plan_of({SUB: [stored(config())]}, {OTHER: []}, target=OTHER)
    assert plan.cross_subscription
    assert plan.target_subscription_ids() == (OTHER,)


def test_restore_into_another_subscription_takes_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one source"):
        plan_of({SUB: [], "sub-3": []}, {OTHER: []}, target=OTHER)


# -- build_plan: secrets --------------------------------------------------------------------


def test_a_changed_secret_appears_in_the_plan_without_its_values() -> None:
    live = config()
    live["inboundConnection"]["authorizationHeaderKey"]["decryptedValue"] = "sk-live-rotated-live"
    item = only_item(plan_of({SUB: [stored(config())]}, {SUB: [live]}))
    dumped = item.model_dump_json()
    assert item.changes[0].secret
    assert SECRET not in dumped
    assert "sk-live-rotated-live" not in dumped


def test_a_secret_pasted_into_another_field_is_hidden_in_the_plan() -> None:
    live = config(description=f"password is {SECRET}")
    item = only_item(plan_of({SUB: [stored(config())]}, {SUB: [live]}))
    assert SECRET not in item.model_dump_json()


def test_a_plan_survives_its_stored_json_form() -> None:
    live = config(description="broken")
    plan = plan_of({SUB: [stored(config())]}, {SUB: [live, config("extra")]})
    assert RestorePlan.model_validate_json(plan.model_dump_json()) == plan


def test_the_stored_plan_carries_its_format_version() -> None:
    plan = plan_of({SUB: []}, {SUB: []})
    assert json.loads(plan.model_dump_json())["format_version"] == 1


# -- ids ------------------------------------------------------------------------------------


def test_plan_and_run_ids_sort_in_time_order_and_are_recognised() -> None:
    assert is_plan_id(new_plan_id(T0, "abcdef"))
    assert is_run_id(new_run_id(T0, "abcdef"))
    assert new_plan_id(T0, "ffffff") < new_plan_id(T0 + timedelta(seconds=1), "000000")


def test_a_snapshot_id_is_not_a_plan_id() -> None:
    assert not is_plan_id("20261204T140000Z-123456")


# -- apply checks ---------------------------------------------------------------------------


def a_plan() -> RestorePlan:
    return plan_of({SUB: [stored(config())]}, {SUB: [config(description="broken")]})


def test_confirmation_naming_the_plans_snapshot_is_accepted() -> None:
    check_confirmation(a_plan(), "20261204T140000Z-123456")


@pytest.mark.parametrize("confirm", [None, "", "latest", "20261204T140000Z-654321"])
def test_confirmation_that_does_not_name_the_plans_snapshot_is_refused(confirm) -> None:
    with pytest.raises(ConfirmationMismatch):
        check_confirmation(a_plan(), confirm)


def test_plan_is_fresh_until_it_expires() -> None:
    check_fresh(a_plan(), T0 + timedelta(hours=1))


def test_plan_past_its_expiry_is_refused() -> None:
    with pytest.raises(PlanExpired, match="Make a new plan"):
        check_fresh(a_plan(), T0 + timedelta(hours=1, seconds=1))


def test_no_conflict_when_the_live_etag_is_the_one_the_plan_saw() -> None:
    item = a_plan().items[0]
    assert conflict_reason(item, config(description="broken")) is None


def test_conflict_when_the_live_etag_changed_after_the_plan() -> None:
    item = a_plan().items[0]
    assert "changed live" in conflict_reason(item, config(_etag='"etag-2"'))


def test_conflict_when_the_integration_was_deleted_after_the_plan() -> None:
    assert "deleted live" in conflict_reason(a_plan().items[0], None)


def test_conflict_when_an_integration_to_create_appeared_after_the_plan() -> None:
    item = only_item(plan_of({SUB: [stored(config())]}, {SUB: []}))
    assert "created live" in conflict_reason(item, config())


def test_without_etags_a_content_change_is_a_conflict() -> None:
    live = config(description="broken")
    del live["_etag"]
    item = only_item(plan_of({SUB: [stored(config())]}, {SUB: [live]}))
    assert conflict_reason(item, live) is None
    assert conflict_reason(item, {**live, "enabled": False}) is not None


# -- verification ---------------------------------------------------------------------------


def test_live_equal_to_what_was_sent_apart_from_server_fields_verifies() -> None:
    sent = restore_body(config(), target_subscription_id=None, keep_id=True)
    live = config(_etag='"new"', updatedBy="api:cxbackup", subscriptionName="Renamed")
    assert verification_changes(sent, live, new_integration=False) == ()


def test_live_differing_from_what_was_sent_is_a_mismatch_with_its_fields() -> None:
    sent = restore_body(config(), target_subscription_id=None, keep_id=True)
    live = config(enabled=False)
    changes = verification_changes(sent, live, new_integration=False)
    assert [c.path for c in changes] == ["/enabled"]


def test_a_new_integrations_assigned_id_is_no_mismatch() -> None:
    sent = restore_body(config(), target_subscription_id=OTHER, keep_id=False)
    live = config("new-id", subscriptionId=OTHER)
    assert verification_changes(sent, live, new_integration=True) == ()


# -- outcome --------------------------------------------------------------------------------


def result(status: str, verification: str = "verified") -> ItemResult:
    return ItemResult(
        subscription_id=SUB,
        integration_id="int-1",
        label="Order",
        action="update",
        status=status,
        verification=verification,
    )


def test_outcome_succeeded_when_every_item_is_restored_and_verified() -> None:
    assert report_outcome([result("updated"), result("unchanged")]) == "succeeded"


@pytest.mark.parametrize(
    "item",
    [
        result("failed", "not-checked"),
        result("conflict", "not-checked"),
        result("updated", "mismatch"),
    ],
)
def test_outcome_partial_when_an_item_failed_conflicted_or_did_not_verify(item) -> None:
    assert report_outcome([result("updated"), item]) == "partial"


def test_outcome_aborted_when_the_run_stopped() -> None:
    assert report_outcome([result("updated")], aborted=True) == "aborted"
