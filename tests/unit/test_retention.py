"""Retention: restic-like buckets over complete snapshots, plus the rules that never let go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.core.manifest import (
    IntegrationEntry,
    SnapshotManifest,
    SnapshotStatus,
    SubscriptionEntry,
    SubscriptionStatus,
    Trigger,
    new_snapshot_id,
    record_of,
)
from shared.core.retention import (
    REASON_KEEP_EVERYTHING,
    REASON_LAST_GOOD,
    REASON_PRE_RESTORE,
    REASON_WITHIN_GRACE,
    RetentionPolicy,
    plan_retention,
    unreferenced,
)

COMPLETE = SubscriptionStatus.COMPLETE
FAILED = SubscriptionStatus.FAILED
NOW = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
# Only the rule under test is switched on; grace 0 so age alone never keeps anything.
NOTHING = {"keep_last": 0, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}


def policy(**overrides: object) -> RetentionPolicy:
    return RetentionPolicy(**{**NOTHING, "grace": timedelta(0), **overrides})


def snap(
    at: datetime,
    *,
    status: SnapshotStatus = SnapshotStatus.COMPLETE,
    trigger: Trigger = Trigger.TIMER,
    subscriptions: dict[str, SubscriptionStatus] | None = None,
    hashes: tuple[str, ...] = (),
    suffix: str = "000000",
) -> SnapshotManifest:
    # A failed snapshot, by definition, backed up no subscription.
    default = FAILED if status is SnapshotStatus.FAILED else COMPLETE
    subs = subscriptions or {"sub-a": default}
    return SnapshotManifest(
        snapshot_id=new_snapshot_id(at, suffix),
        trigger=trigger,
        status=status,
        started_at=at,
        finished_at=at + timedelta(minutes=5),
        subscriptions=tuple(
            SubscriptionEntry(
                subscription_id=sid,
                status=st,
                integrations=tuple(
                    IntegrationEntry(id=f"i{n}", label="x", hash=h, size=1)
                    for n, h in enumerate(hashes)
                ),
            )
            for sid, st in subs.items()
        ),
    )


def days_ago(n: float, hour: int = 2) -> datetime:
    return (NOW - timedelta(days=n)).replace(hour=hour, minute=0)


def test_keep_last_keeps_the_newest_n_complete_snapshots() -> None:
    snaps = [snap(days_ago(d)) for d in range(1, 6)]
    decision = plan_retention(snaps, policy(keep_last=2), now=NOW)
    assert decision.kept_ids() == {snaps[0].snapshot_id, snaps[1].snapshot_id}
    assert decision.forget == tuple(s.snapshot_id for s in snaps[2:])
    assert "last 2" in decision.reasons_for(snaps[1].snapshot_id)


def test_every_snapshot_is_either_kept_or_forgotten_newest_first() -> None:
    snaps = [snap(days_ago(d)) for d in (3, 1, 5, 2, 4)]
    decision = plan_retention(snaps, policy(keep_last=2), now=NOW)
    listed = [k.snapshot_id for k in decision.keep] + list(decision.forget)
    assert sorted(listed) == sorted(s.snapshot_id for s in snaps)
    assert list(decision.forget) == sorted(decision.forget, reverse=True)


def test_keep_daily_keeps_newest_snapshot_of_each_day() -> None:
    morning = snap(datetime(2026, 12, 30, 2, tzinfo=UTC))
    evening = snap(datetime(2026, 12, 30, 20, tzinfo=UTC))
    day_before = snap(datetime(2026, 12, 29, 20, tzinfo=UTC))
    decision = plan_retention([morning, evening, day_before], policy(keep_daily=2), now=NOW)
    assert decision.forget == (morning.snapshot_id,)
    assert "daily 2026-12-30" in decision.reasons_for(evening.snapshot_id)
    assert "daily 2026-12-29" in decision.reasons_for(day_before.snapshot_id)


def test_keep_daily_counts_only_days_that_have_a_snapshot() -> None:
    recent = snap(datetime(2026, 12, 30, 2, tzinfo=UTC))
    weeks_ago = snap(datetime(2026, 12, 1, 2, tzinfo=UTC))
    oldest = snap(datetime(2026, 11, 1, 2, tzinfo=UTC))
    decision = plan_retention([recent, weeks_ago, oldest], policy(keep_daily=2), now=NOW)
    assert decision.forget == (oldest.snapshot_id,)


def test_keep_weekly_uses_iso_weeks_across_a_year_boundary() -> None:
    # 2026-12-31 (Thu) and 2027-01-03 (Sun) are both in ISO week 2026-W53.
    sunday = snap(datetime(2027, 1, 3, 2, tzinfo=UTC))
    thursday = snap(datetime(2026, 12, 31, 2, tzinfo=UTC))
    week_before = snap(datetime(2026, 12, 27, 2, tzinfo=UTC))  # Sun, 2026-W52
    decision = plan_retention(
        [sunday, thursday, week_before], policy(keep_weekly=2), now=datetime(2027, 1, 4, tzinfo=UTC)
    )
    assert decision.forget == (thursday.snapshot_id,)
    assert "weekly 2026-W53" in decision.reasons_for(sunday.snapshot_id)
    assert "weekly 2026-W52" in decision.reasons_for(week_before.snapshot_id)


def test_keep_monthly_keeps_newest_snapshot_of_each_month_across_a_month_boundary() -> None:
    first_of_december = snap(datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
    last_of_november = snap(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    mid_november = snap(datetime(2026, 11, 15, 2, tzinfo=UTC))
    decision = plan_retention(
        [first_of_december, last_of_november, mid_november], policy(keep_monthly=2), now=NOW
    )
    assert decision.forget == (mid_november.snapshot_id,)
    assert "monthly 2026-11" in decision.reasons_for(last_of_november.snapshot_id)


def test_buckets_use_utc_even_when_times_carry_another_offset() -> None:
    plus_one = timezone(timedelta(hours=1))
    # 00:30 on 1 Dec at UTC+1 is 23:30 on 30 Nov UTC.
    local_midnight = snap(datetime(2026, 12, 1, 0, 30, tzinfo=plus_one))
    decision = plan_retention([local_midnight], policy(keep_monthly=1), now=NOW)
    assert "monthly 2026-11" in decision.reasons_for(local_midnight.snapshot_id)


def test_a_snapshot_kept_by_several_rules_lists_every_reason() -> None:
    only = snap(days_ago(3))
    decision = plan_retention(
        [only], policy(keep_last=1, keep_daily=1, keep_weekly=1, keep_monthly=1), now=NOW
    )
    reasons = decision.reasons_for(only.snapshot_id)
    assert reasons[:4] == ("last 1", "daily 2026-12-28", "weekly 2026-W53", "monthly 2026-12")
    assert REASON_LAST_GOOD in reasons


def test_partial_and_failed_snapshots_do_not_use_up_keep_last_slots() -> None:
    good = snap(days_ago(5), suffix="00000a")
    older_good = snap(days_ago(6), suffix="00000b")
    failed = snap(days_ago(2), status=SnapshotStatus.FAILED, suffix="00000c")
    partial = snap(
        days_ago(3),
        status=SnapshotStatus.PARTIAL,
        subscriptions={"sub-a": FAILED, "sub-b": FAILED},
        suffix="00000d",
    )
    decision = plan_retention([good, older_good, failed, partial], policy(keep_last=2), now=NOW)
    assert decision.kept_ids() == {good.snapshot_id, older_good.snapshot_id}


def test_last_good_snapshot_is_kept_and_labelled_when_newer_ones_all_failed() -> None:
    good = snap(days_ago(10))
    failures = [snap(days_ago(d), status=SnapshotStatus.FAILED) for d in (1, 2, 3)]
    decision = plan_retention([good, *failures], policy(keep_last=1), now=NOW)
    assert decision.kept_ids() == {good.snapshot_id}
    assert REASON_LAST_GOOD in decision.reasons_for(good.snapshot_id)


def test_newest_partial_copy_of_each_subscription_newer_than_last_good_is_kept() -> None:
    good = snap(days_ago(10), subscriptions={"sub-a": COMPLETE, "sub-b": COMPLETE})
    both_partial = {"sub-a": FAILED, "sub-b": COMPLETE}
    older_partial = snap(days_ago(3), status=SnapshotStatus.PARTIAL, subscriptions=both_partial)
    newest_partial = snap(days_ago(2), status=SnapshotStatus.PARTIAL, subscriptions=both_partial)
    decision = plan_retention([good, older_partial, newest_partial], policy(keep_last=1), now=NOW)
    assert decision.forget == (older_partial.snapshot_id,)
    assert decision.reasons_for(newest_partial.snapshot_id) == (
        "newest copy of subscription(s) sub-b (newer than last good)",
    )


def test_partial_snapshot_older_than_last_good_is_forgotten() -> None:
    good = snap(days_ago(1))
    old_partial = snap(
        days_ago(4),
        status=SnapshotStatus.PARTIAL,
        subscriptions={"sub-a": COMPLETE, "sub-b": FAILED},
    )
    decision = plan_retention([good, old_partial], policy(keep_last=5), now=NOW)
    assert decision.forget == (old_partial.snapshot_id,)


def test_pre_restore_snapshot_is_never_forgotten() -> None:
    newest = snap(days_ago(1))
    before_restore = snap(days_ago(200), trigger=Trigger.PRE_RESTORE, status=SnapshotStatus.FAILED)
    decision = plan_retention([newest, before_restore], policy(keep_last=1), now=NOW)
    assert decision.reasons_for(before_restore.snapshot_id) == (REASON_PRE_RESTORE,)


def test_snapshot_finished_within_grace_is_kept() -> None:
    just_now = snap(NOW - timedelta(hours=3), status=SnapshotStatus.FAILED)
    decision = plan_retention([just_now], policy(keep_last=1, grace=timedelta(hours=6)), now=NOW)
    assert decision.reasons_for(just_now.snapshot_id) == (REASON_WITHIN_GRACE,)


def test_snapshot_finished_before_grace_is_forgotten() -> None:
    earlier = snap(NOW - timedelta(hours=7), status=SnapshotStatus.FAILED)
    decision = plan_retention([earlier], policy(keep_last=1, grace=timedelta(hours=6)), now=NOW)
    assert decision.forget == (earlier.snapshot_id,)


def test_protected_subscription_keeps_every_snapshot_holding_it() -> None:
    snaps = [
        snap(days_ago(d), subscriptions={"sub-a": COMPLETE, "sub-b": COMPLETE}) for d in range(1, 4)
    ]
    unrelated = snap(days_ago(5), subscriptions={"sub-c": COMPLETE})
    decision = plan_retention(
        [*snaps, unrelated],
        policy(keep_last=1),
        now=NOW,
        protected_subscriptions=frozenset({"sub-b"}),
    )
    assert decision.forget == (unrelated.snapshot_id,)
    assert "protected: subscription sub-b under mass-change hold" in decision.reasons_for(
        snaps[2].snapshot_id
    )


def test_protection_ignores_snapshots_where_the_subscription_failed() -> None:
    newest = snap(days_ago(1))
    failed_read = snap(
        days_ago(4),
        status=SnapshotStatus.PARTIAL,
        subscriptions={"sub-a": COMPLETE, "sub-b": FAILED},
    )
    decision = plan_retention(
        [newest, failed_read],
        policy(keep_last=1),
        now=NOW,
        protected_subscriptions=frozenset({"sub-b"}),
    )
    assert decision.forget == (failed_read.snapshot_id,)


def test_all_zero_policy_keeps_everything_and_says_so() -> None:
    snaps = [snap(days_ago(d), status=SnapshotStatus.FAILED) for d in range(1, 4)]
    decision = plan_retention(snaps, policy(), now=NOW)
    assert decision.keeps_everything
    assert decision.forget == ()
    assert all(k.reasons == (REASON_KEEP_EVERYTHING,) for k in decision.keep)


def test_no_snapshots_gives_an_empty_decision() -> None:
    decision = plan_retention([], RetentionPolicy(), now=NOW)
    assert (decision.keep, decision.forget) == ((), ())


def test_reasons_for_a_forgotten_snapshot_raises_key_error() -> None:
    old = snap(days_ago(9), status=SnapshotStatus.FAILED)
    decision = plan_retention([old], policy(keep_last=1), now=NOW)
    with pytest.raises(KeyError):
        decision.reasons_for(old.snapshot_id)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_retention([], RetentionPolicy(), now=datetime(2026, 12, 31))


def test_duplicate_snapshot_ids_are_rejected() -> None:
    twice = snap(days_ago(1))
    with pytest.raises(ValueError, match="twice"):
        plan_retention([twice, twice], RetentionPolicy(), now=NOW)


@pytest.mark.parametrize(
    "bad",
    [{"keep_last": -1}, {"keep_daily": True}, {"keep_weekly": 1.5}, {"grace": timedelta(-1)}],
)
def test_policy_rejects_negative_or_non_integer_values(bad: dict) -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(**bad)


def test_unreferenced_is_what_is_stored_but_not_referenced() -> None:
    kept = [snap(days_ago(1), hashes=("h1", "h2")), snap(days_ago(2), hashes=("h2", "h3"))]
    referenced = (h for m in kept for h in m.referenced_hashes())
    assert unreferenced(["h1", "h2", "h3", "h4", "h5"], referenced) == {"h4", "h5"}


def test_unreferenced_with_nothing_referenced_is_everything_stored() -> None:
    assert unreferenced(iter(["h1", "h2"]), []) == {"h1", "h2"}


def test_plan_over_records_decides_as_over_whole_manifests() -> None:
    whole = [
        snap(days_ago(1), status=SnapshotStatus.FAILED, suffix="00000a"),
        snap(days_ago(2), hashes=("h1",), suffix="00000b"),
        snap(days_ago(3), hashes=("h2",), suffix="00000c"),
    ]
    records = [record_of(m)[0] for m in whole]
    rules = policy(keep_last=1)
    assert plan_retention(records, rules, now=NOW) == plan_retention(whole, rules, now=NOW)


@st.composite
def histories(draw: st.DrawFn) -> list[SnapshotManifest]:
    offsets = draw(st.lists(st.integers(0, 400 * 24), unique=True, max_size=25))
    return [
        snap(
            NOW - timedelta(hours=h),
            status=draw(st.sampled_from(list(SnapshotStatus))),
            trigger=draw(st.sampled_from(list(Trigger))),
        )
        for h in offsets
    ]


@settings(derandomize=True, max_examples=150, deadline=None)
@given(
    history=histories(),
    counts=st.tuples(*[st.integers(0, 5)] * 4),
    protected=st.frozensets(st.sampled_from(["sub-a", "sub-x"])),
)
def test_decision_invariants_hold_for_any_history(
    history: list[SnapshotManifest], counts: tuple[int, int, int, int], protected: frozenset[str]
) -> None:
    rules = dict(zip(NOTHING, counts, strict=True))
    decision = plan_retention(
        history,
        policy(**rules, grace=timedelta(days=1)),
        now=NOW,
        protected_subscriptions=protected,
    )
    kept = decision.kept_ids()
    assert kept.isdisjoint(decision.forget)
    assert kept | set(decision.forget) == {s.snapshot_id for s in history}
    complete = [s for s in history if s.status is SnapshotStatus.COMPLETE]
    if complete:
        assert max(complete, key=lambda s: s.started_at).snapshot_id in kept
    for s in history:
        if s.trigger is Trigger.PRE_RESTORE or s.finished_at > NOW - timedelta(days=1):
            assert s.snapshot_id in kept


def test_a_pre_restore_snapshot_never_counts_as_the_last_good_one():
    from datetime import UTC, datetime, timedelta

    from shared.core.manifest import SnapshotManifest, SnapshotStatus, Trigger
    from shared.core.retention import REASON_LAST_GOOD, RetentionPolicy, plan_retention

    base = datetime(2026, 1, 1, tzinfo=UTC)

    def make(day: int, trigger: Trigger, suffix: str) -> SnapshotManifest:
        at = base + timedelta(days=day)
        return SnapshotManifest(
            snapshot_id=f"{at:%Y%m%dT%H%M%SZ}-{suffix}",
            trigger=trigger,
            status=SnapshotStatus.COMPLETE,
            started_at=at,
            finished_at=at,
        )

    full = make(0, Trigger.TIMER, "000aaa")
    scoped = make(1, Trigger.PRE_RESTORE, "000bbb")
    decision = plan_retention(
        [full, scoped],
        RetentionPolicy(
            keep_last=0, keep_daily=0, keep_weekly=0, keep_monthly=1, grace=timedelta(0)
        ),
        now=base + timedelta(days=400),
    )
    assert REASON_LAST_GOOD in decision.reasons_for(full.snapshot_id)
