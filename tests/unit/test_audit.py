"""The audit of two snapshots, one rule per test."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.core.audit import Audit, build_audit, lists_to_read
from shared.core.manifest import (
    IntegrationEntry,
    SnapshotManifest,
    SnapshotStatus,
    SubscriptionEntry,
    SubscriptionStatus,
    Trigger,
    as_record,
)
from tests.support import ConfigStore

T_OLD = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
T_NEW = T_OLD + timedelta(days=1)
GENERATED = T_NEW + timedelta(minutes=5)
SECRET = "sk-live-0123456789abcdef"


def integration(integration_id: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": integration_id,
        "transactionType": "Order",
        "sender": "Acme ERP",
        "receiver": "Contoso WMS",
        "enabled": True,
        "_etag": '"e1"',
        "updatedBy": "alice@contoso.example",
        "updatedAtUtc": "2026-12-01T10:00:00.0000000Z",
        "inboundConnection": {
            "adapterType": "Sftp",
            "connectionProperties": json.dumps({"host": "sftp.acme.example", "password": "pw-1"}),
        },
        "loggingWebhooks": [
            {
                "webhookConnectionId": "wh-1",
                "authorizationHeaderKey": {"name": "k", "version": "1", "decryptedValue": SECRET},
            }
        ],
    }
    base.update(fields)
    return base


def subscription(
    subscription_id: str,
    entries: list[IntegrationEntry] | None = None,
    status: SubscriptionStatus = SubscriptionStatus.COMPLETE,
    reason: str | None = None,
) -> SubscriptionEntry:
    return SubscriptionEntry(
        subscription_id=subscription_id,
        name=subscription_id.capitalize(),
        status=status,
        reason=reason,
        integrations=tuple(entries or ()),
    )


def manifest(snapshot_id: str, at: datetime, *subs: SubscriptionEntry) -> SnapshotManifest:
    return SnapshotManifest(
        snapshot_id=snapshot_id,
        trigger=Trigger.TIMER,
        status=SnapshotStatus.COMPLETE,
        started_at=at,
        finished_at=at + timedelta(seconds=30),
        subscriptions=subs,
    )


OLD_ID = "20261203T020000Z-aaaaaa"
NEW_ID = "20261204T020000Z-bbbbbb"


def audit_of(
    store: ConfigStore,
    old_subs: list[SubscriptionEntry],
    new_subs: list[SubscriptionEntry],
    **kwargs: Any,
) -> Audit:
    return build_audit(
        manifest(OLD_ID, T_OLD, *old_subs),
        manifest(NEW_ID, T_NEW, *new_subs),
        store.load,
        generated_at=GENERATED,
        **kwargs,
    )


def test_first_snapshot_reports_every_integration_as_added() -> None:
    store = ConfigStore()
    new = manifest(NEW_ID, T_NEW, subscription("prod", [store.entry(integration("i1"))]))
    audit = build_audit(None, new, store.load, generated_at=GENERATED)
    assert (audit.from_snapshot_id, audit.summary.integrations_added) == (None, 1)
    assert audit.subscriptions[0].status == "added"


def test_unchanged_integrations_are_not_loaded() -> None:
    store = ConfigStore()
    entries = [store.entry(integration(f"i{n}")) for n in range(5)]
    audit = audit_of(store, [subscription("prod", entries)], [subscription("prod", entries)])
    assert (store.loads, audit.summary.integrations_unchanged) == ([], 5)


def test_only_changed_integrations_are_loaded() -> None:
    store = ConfigStore()
    same = store.entry(integration("i1"))
    before, after = store.entry(integration("i2")), store.entry(integration("i2", enabled=False))
    audit_of(store, [subscription("prod", [same, before])], [subscription("prod", [same, after])])
    assert sorted(store.loads) == sorted([before.hash, after.hash])


def test_over_records_a_subscription_naming_the_same_entry_list_reads_no_entries() -> None:
    store = ConfigStore()
    prod = subscription("prod", [store.entry(integration(f"i{n}")) for n in range(3)])
    old, _ = as_record(manifest(OLD_ID, T_OLD, prod))
    new, _ = as_record(manifest(NEW_ID, T_NEW, prod))

    audit = build_audit(old, new, store.load, {}, generated_at=GENERATED)  # no entries given

    assert lists_to_read(old, new) == frozenset()
    assert (audit.summary.integrations_unchanged, audit.has_changes) == (3, False)


def test_over_records_only_the_changed_subscriptions_lists_are_read() -> None:
    store = ConfigStore()
    same = subscription("test", [store.entry(integration("t1"))])
    before = subscription("prod", [store.entry(integration("i1"))])
    after = subscription("prod", [store.entry(integration("i1", enabled=False))])
    old, old_lists = as_record(manifest(OLD_ID, T_OLD, before, same))
    new, new_lists = as_record(manifest(NEW_ID, T_NEW, after, same))
    needed = lists_to_read(old, new)
    lists = {**old_lists, **new_lists}

    audit = build_audit(old, new, store.load, {d: lists[d] for d in needed}, generated_at=GENERATED)

    assert needed == {old.subscriptions[0].entries_sha256, new.subscriptions[0].entries_sha256}
    assert audit.changed_integration_ids() == ("i1",)


def test_with_an_integration_filter_every_list_in_scope_is_read() -> None:
    store = ConfigStore()
    prod = subscription("prod", [store.entry(integration("i1"))])
    old, _ = as_record(manifest(OLD_ID, T_OLD, prod))

    assert lists_to_read(old, old, integration_ids=frozenset({"i1"})) == {
        old.subscriptions[0].entries_sha256
    }


def test_modified_integration_lists_its_field_changes() -> None:
    store = ConfigStore()
    before, after = store.entry(integration("i1")), store.entry(integration("i1", enabled=False))
    audit = audit_of(store, [subscription("prod", [before])], [subscription("prod", [after])])
    (modified,) = audit.subscriptions[0].modified
    assert [(c.op, c.path, c.old, c.new) for c in modified.changes] == [
        ("replace", "/enabled", True, False)
    ]


def test_attribution_comes_from_the_new_version() -> None:
    store = ConfigStore()
    before = store.entry(integration("i1"))
    after = store.entry(
        integration(
            "i1",
            enabled=False,
            updatedBy="bob@contoso.example",
            updatedAtUtc="2026-12-03T09:00:00Z",
        )
    )
    audit = audit_of(store, [subscription("prod", [before])], [subscription("prod", [after])])
    (modified,) = audit.subscriptions[0].modified
    assert (modified.updated_by, modified.updated_at) == (
        "bob@contoso.example",
        "2026-12-03T09:00:00Z",
    )


def test_removed_integration_is_attributed_to_its_last_version() -> None:
    store = ConfigStore()
    gone = store.entry(integration("i1", updatedBy="carol@contoso.example"))
    audit = audit_of(store, [subscription("prod", [gone])], [subscription("prod", [])])
    (removed,) = audit.subscriptions[0].removed
    assert (removed.integration_id, removed.updated_by, removed.old_hash) == (
        "i1",
        "carol@contoso.example",
        gone.hash,
    )


def test_added_integration_is_listed_with_its_label() -> None:
    store = ConfigStore()
    new_entry = store.entry(integration("i2"))
    audit = audit_of(store, [subscription("prod", [])], [subscription("prod", [new_entry])])
    (added,) = audit.subscriptions[0].added
    assert (added.integration_id, added.label) == ("i2", "Order: Acme ERP → Contoso WMS")


def test_only_server_managed_fields_changed_counts_as_unchanged() -> None:
    store = ConfigStore()
    before = store.entry(integration("i1"))
    after = store.entry(integration("i1", _etag='"e2"', updatedAtUtc="2026-12-03T00:00:00Z"))
    audit = audit_of(store, [subscription("prod", [before])], [subscription("prod", [after])])
    assert (audit.summary.integrations_modified, audit.summary.integrations_unchanged) == (0, 1)


def test_skipped_subscription_in_the_new_snapshot_is_not_reported_as_removals() -> None:
    store = ConfigStore()
    old = subscription("prod", [store.entry(integration("i1"))])
    new = subscription("prod", status=SubscriptionStatus.SKIPPED, reason="no API key")
    audit = audit_of(store, [old], [new])
    (result,) = audit.subscriptions
    assert (result.comparable, result.removed, audit.summary.integrations_removed) == (False, (), 0)
    assert "not backed up in the newer snapshot (skipped: no API key)" in result.notes[0]


def test_failed_subscription_in_the_old_snapshot_is_not_reported_as_additions() -> None:
    store = ConfigStore()
    old = subscription("prod", status=SubscriptionStatus.FAILED, reason="502 from Connxio")
    new = subscription("prod", [store.entry(integration("i1"))])
    audit = audit_of(store, [old], [new])
    (result,) = audit.subscriptions
    assert (result.comparable, result.added, audit.summary.subscriptions_not_comparable) == (
        False,
        (),
        1,
    )


def test_new_subscription_is_added_with_its_integrations() -> None:
    store = ConfigStore()
    audit = audit_of(store, [], [subscription("test", [store.entry(integration("i1"))])])
    assert (audit.summary.subscriptions_added, audit.summary.integrations_added) == (1, 1)


def test_vanished_subscription_is_removed_with_its_integrations() -> None:
    store = ConfigStore()
    audit = audit_of(store, [subscription("test", [store.entry(integration("i1"))])], [])
    assert (audit.summary.subscriptions_removed, audit.summary.integrations_removed) == (1, 1)
    assert audit.subscriptions[0].status == "removed"


def test_secret_change_keeps_no_value() -> None:
    store = ConfigStore()
    changed = integration("i1")
    changed["loggingWebhooks"][0]["authorizationHeaderKey"]["decryptedValue"] = "sk-live-new-value"
    before, after = store.entry(integration("i1")), store.entry(changed)
    audit = audit_of(store, [subscription("prod", [before])], [subscription("prod", [after])])
    (change,) = audit.subscriptions[0].modified[0].changes
    assert (change.secret, change.old, change.new, change.summary) == (
        True,
        None,
        None,
        "secret changed",
    )
    assert (
        SECRET not in audit.model_dump_json() and "sk-live-new-value" not in audit.model_dump_json()
    )


def test_password_changed_inside_connection_properties_keeps_no_value() -> None:
    store = ConfigStore()
    properties = json.dumps({"host": "sftp.acme.example", "password": "pw-2"})
    changed = integration(
        "i1", inboundConnection={"adapterType": "Sftp", "connectionProperties": properties}
    )
    before, after = store.entry(integration("i1")), store.entry(changed)
    audit = audit_of(store, [subscription("prod", [before])], [subscription("prod", [after])])
    (change,) = audit.subscriptions[0].modified[0].changes
    assert (change.path, change.secret, change.in_string) == (
        "/inboundConnection/connectionProperties/password",
        True,
        True,
    )


def test_added_webhook_is_shown_with_its_secret_redacted() -> None:
    store = ConfigStore()
    hook = {
        "webhookConnectionId": "wh-2",
        "authorizationHeaderKey": {"name": "k2", "decryptedValue": "sk-live-wh2"},
    }
    changed = integration("i1")
    changed["loggingWebhooks"].append(hook)
    before, after = store.entry(integration("i1")), store.entry(changed)
    audit = audit_of(store, [subscription("prod", [before])], [subscription("prod", [after])])
    (change,) = audit.subscriptions[0].modified[0].changes
    assert change.new == {
        "webhookConnectionId": "wh-2",
        "authorizationHeaderKey": {"name": "k2", "decryptedValue": "***"},
    }


def test_secret_pasted_into_a_plain_field_is_hidden() -> None:
    store = ConfigStore()
    before = store.entry(integration("i1"))
    after = store.entry(integration("i1", description=f"key is {SECRET}"))
    audit = audit_of(store, [subscription("prod", [before])], [subscription("prod", [after])])
    (change,) = audit.subscriptions[0].modified[0].changes
    assert (change.path, change.secret, change.new) == ("/description", True, None)


def test_subscription_filter_limits_the_audit() -> None:
    store = ConfigStore()
    prod, test = subscription("prod", [store.entry(integration("i1"))]), subscription("test")
    audit = audit_of(store, [], [prod, test], subscription_ids=frozenset({"test"}))
    assert [s.subscription_id for s in audit.subscriptions] == ["test"]


def test_integration_filter_limits_the_audit() -> None:
    store = ConfigStore()
    entries = [store.entry(integration("i1")), store.entry(integration("i2"))]
    audit = audit_of(store, [], [subscription("prod", entries)], integration_ids=frozenset({"i2"}))
    assert audit.changed_integration_ids() == ("i2",)


def test_integration_filter_drops_subscriptions_without_those_integrations() -> None:
    store = ConfigStore()
    prod, test = subscription("prod", [store.entry(integration("i1"))]), subscription("test")
    audit = audit_of(store, [prod, test], [prod, test], integration_ids=frozenset({"i1"}))
    assert [s.subscription_id for s in audit.subscriptions] == ["prod"]


def test_audit_without_changes_has_no_changes() -> None:
    store = ConfigStore()
    prod = subscription("prod", [store.entry(integration("i1"))])
    audit = audit_of(store, [prod], [prod])
    assert (audit.has_changes, audit.changed_integration_ids()) == (False, ())


def test_changed_integration_ids_lists_added_removed_and_modified() -> None:
    store = ConfigStore()
    old = [store.entry(integration("gone")), store.entry(integration("edit"))]
    new = [store.entry(integration("edit", enabled=False)), store.entry(integration("new"))]
    audit = audit_of(store, [subscription("prod", old)], [subscription("prod", new)])
    assert (audit.has_changes, set(audit.changed_integration_ids())) == (
        True,
        {"gone", "edit", "new"},
    )


def test_audit_records_snapshot_ids_times_and_options() -> None:
    audit = audit_of(ConfigStore(), [], [])
    assert (audit.from_snapshot_id, audit.to_snapshot_id) == (OLD_ID, NEW_ID)
    assert (audit.from_taken_at, audit.to_taken_at, audit.generated_at) == (T_OLD, T_NEW, GENERATED)
    assert "_etag" in audit.options.ignored_fields


def test_audit_round_trips_through_its_json_form() -> None:
    store = ConfigStore()
    before, after = store.entry(integration("i1")), store.entry(integration("i1", enabled=False))
    audit = audit_of(store, [subscription("prod", [before])], [subscription("prod", [after])])
    assert Audit.model_validate_json(audit.model_dump_json()) == audit


def test_ten_thousand_integrations_with_one_percent_changed_audit_quickly() -> None:
    store = ConfigStore()
    olds = [store.entry(integration(f"i{n:05d}")) for n in range(10_000)]
    news = [
        store.entry(integration(e.id, enabled=False)) if n % 100 == 0 else e
        for n, e in enumerate(olds)
    ]
    old_subs = [subscription("prod", olds)]
    new_subs = [subscription("prod", news)]
    started = time.perf_counter()
    audit = audit_of(store, old_subs, new_subs)
    elapsed = time.perf_counter() - started
    assert (audit.summary.integrations_modified, len(store.loads)) == (100, 200)
    assert elapsed < 0.5
