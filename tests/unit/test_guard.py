"""The mass-change guard: wiped or mass-rewritten subscriptions trip it; ordinary edits do not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.core.guard import (
    assess_mass_change,
    assess_records,
    assess_snapshot,
    lists_to_compare,
)
from shared.core.manifest import (
    IntegrationEntry,
    SnapshotManifest,
    SnapshotStatus,
    SubscriptionEntry,
    SubscriptionStatus,
    Trigger,
    as_record,
)

AT = datetime(2026, 12, 4, 2, tzinfo=UTC)


def sub(
    count: int,
    *,
    sid: str = "sub-a",
    changed: int = 0,
    drop: int = 0,
    status: SubscriptionStatus = SubscriptionStatus.COMPLETE,
) -> SubscriptionEntry:
    """``count`` integrations i0..; the first ``drop`` left out, the next ``changed`` rehashed."""
    integrations = tuple(
        IntegrationEntry(
            id=f"i{n}", label="x", hash=f"new{n}" if n < drop + changed else f"h{n}", size=1
        )
        for n in range(drop, count)
    )
    return SubscriptionEntry(subscription_id=sid, status=status, integrations=integrations)


def snapshot(*subscriptions: SubscriptionEntry) -> SnapshotManifest:
    return SnapshotManifest(
        snapshot_id="20261204T020000Z-abc123",
        trigger=Trigger.TIMER,
        status=SnapshotStatus.COMPLETE,
        started_at=AT,
        finished_at=AT,
        subscriptions=subscriptions,
    )


def test_changes_at_the_threshold_trip_the_guard() -> None:
    result = assess_mass_change(sub(10), sub(10, drop=1, changed=1))
    assert result.triggered
    assert (result.removed, result.changed, result.previous_count) == (1, 1, 10)
    assert result.share == pytest.approx(0.2)


def test_changes_below_the_threshold_do_not_trip_the_guard() -> None:
    result = assess_mass_change(sub(20), sub(20, changed=3))
    assert not result.triggered
    assert "below the 20% threshold" in result.reason


def test_custom_threshold_is_honoured() -> None:
    assert not assess_mass_change(sub(10), sub(10, drop=3), threshold=0.5).triggered


def test_additions_do_not_count_as_affected() -> None:
    before = sub(5)
    after = SubscriptionEntry(
        subscription_id="sub-a",
        status=SubscriptionStatus.COMPLETE,
        integrations=before.integrations
        + tuple(IntegrationEntry(id=f"n{n}", label="x", hash="h", size=1) for n in range(10)),
    )
    assert not assess_mass_change(before, after).triggered


def test_suddenly_empty_trips_the_guard_even_for_one_integration() -> None:
    result = assess_mass_change(sub(1), sub(0))
    assert result.triggered
    assert result.reason.startswith("suddenly empty")


def test_small_estate_single_change_does_not_trip_the_guard() -> None:
    result = assess_mass_change(sub(3), sub(3, changed=1))
    assert not result.triggered
    assert "small estate" in result.reason


def test_small_estate_two_changes_trip_the_guard() -> None:
    assert assess_mass_change(sub(3), sub(3, drop=2)).triggered


def test_no_previous_entry_is_not_assessed() -> None:
    result = assess_mass_change(None, sub(0))
    assert not result.triggered
    assert result.reason.startswith("not assessed")


def test_failed_current_read_is_not_assessed_even_if_empty() -> None:
    result = assess_mass_change(sub(10), sub(0, status=SubscriptionStatus.FAILED))
    assert not result.triggered


def test_skipped_previous_read_is_not_assessed() -> None:
    previous = sub(0, status=SubscriptionStatus.SKIPPED)
    assert not assess_mass_change(previous, sub(0)).triggered


def test_empty_before_and_after_does_not_trip_the_guard() -> None:
    assert not assess_mass_change(sub(0), sub(0)).triggered


def test_comparing_different_subscriptions_is_rejected() -> None:
    with pytest.raises(ValueError, match="cannot compare"):
        assess_mass_change(sub(1, sid="sub-a"), sub(1, sid="sub-b"))


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5, float("nan")])
def test_threshold_outside_zero_to_one_is_rejected(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        assess_mass_change(sub(1), sub(1), threshold=threshold)


def test_assess_snapshot_returns_only_triggered_subscriptions() -> None:
    previous = snapshot(sub(10, sid="sub-a"), sub(10, sid="sub-b"))
    current = snapshot(sub(10, sid="sub-a", changed=1), sub(0, sid="sub-b"))
    results = assess_snapshot(previous, current)
    assert [(r.subscription_id, r.triggered) for r in results] == [("sub-b", True)]


def test_assess_snapshot_without_previous_finds_nothing() -> None:
    assert assess_snapshot(None, snapshot(sub(0))) == ()


def test_assess_snapshot_passes_the_threshold_through() -> None:
    previous = snapshot(sub(10))
    current = snapshot(sub(10, changed=3))
    assert assess_snapshot(previous, current, 0.5) == ()
    assert len(assess_snapshot(previous, current, 0.3)) == 1


def test_over_records_a_subscription_with_the_same_entry_list_is_not_read() -> None:
    same, _ = as_record(snapshot(sub(10, sid="sub-same")))
    assert lists_to_compare(same, same) == frozenset()
    assert assess_records(same, same, {}) == ()  # needs none of its entries


def test_over_records_a_wiped_subscription_trips_the_guard() -> None:
    before, old_lists = as_record(snapshot(sub(10), sub(10, sid="sub-b")))
    after, new_lists = as_record(snapshot(sub(0), sub(10, sid="sub-b")))
    needed = lists_to_compare(before, after)
    entries = {**old_lists, **new_lists}

    (tripped,) = assess_records(before, after, {d: entries[d] for d in needed})

    assert tripped.subscription_id == "sub-a"
    assert len(needed) == 2  # sub-b's unchanged list is not among them
