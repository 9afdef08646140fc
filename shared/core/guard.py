"""The mass-change guard: notice when a large part of a subscription's estate vanished or changed.

A backup that faithfully records a wiped or mass-rewritten estate is still a faithful backup,
but retention would then age the good copies out. So each backup compares every subscription
with the previous snapshot; when one trips the guard, the caller raises the alarm and holds
pruning for it (``plan_retention(..., protected_subscriptions=...)``).

Rules, for a subscription that is ``complete`` in both snapshots (a skipped or failed read says
nothing about the estate, so it is not assessed):

- **suddenly empty**: it had integrations and now has none. Always trips, whatever the size.
- **share**: ``(removed + changed) / previous_count >= threshold`` *and* at least
  ``min_affected`` integrations are affected. ``changed`` means same id, different content hash;
  additions are not counted, since they destroy nothing. The ``min_affected`` floor (default 2)
  keeps small estates quiet: without it, one edit in an estate of three (33%) or five (20%)
  would trip a 20% guard on an ordinary working day. A second affected integration in a small
  estate is unusual enough to be worth a look, and holding pruning costs only storage.

A subscription absent from the current snapshot altogether is not assessed here: it was not
discovered, which is a configuration matter the backup reports itself.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.core.manifest import (
    EntriesByHash,
    ManifestRecord,
    SnapshotManifest,
    SubscriptionEntry,
    SubscriptionStatus,
    assemble,
    changed_lists,
)

DEFAULT_THRESHOLD = 0.2
DEFAULT_MIN_AFFECTED = 2


class MassChangeAssessment(BaseModel):
    """The guard's verdict for one subscription; ``reason`` is a sentence for people."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subscription_id: str
    triggered: bool
    removed: int
    changed: int
    previous_count: int
    share: float  # (removed + changed) / previous_count; 0.0 when there was nothing before
    reason: str


def _validate(threshold: float, min_affected: int) -> None:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"mass-change threshold must be in (0, 1], got {threshold}")
    if min_affected < 1:
        raise ValueError(f"mass-change min_affected must be at least 1, got {min_affected}")


def _not_assessed(current: SubscriptionEntry, why: str) -> MassChangeAssessment:
    return MassChangeAssessment(
        subscription_id=current.subscription_id,
        triggered=False,
        removed=0,
        changed=0,
        previous_count=0,
        share=0.0,
        reason=f"not assessed: {why}",
    )


def assess_mass_change(
    previous: SubscriptionEntry | None,
    current: SubscriptionEntry,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_affected: int = DEFAULT_MIN_AFFECTED,
) -> MassChangeAssessment:
    """Compare one subscription's entries in two snapshots.

    Raises ``ValueError`` for a threshold outside (0, 1], ``min_affected`` below 1, or entries
    of two different subscriptions.
    """
    _validate(threshold, min_affected)
    if previous is not None and previous.subscription_id != current.subscription_id:
        raise ValueError(
            f"cannot compare subscription {previous.subscription_id} with {current.subscription_id}"
        )
    if previous is None:
        return _not_assessed(current, "no previous entry for this subscription")
    if previous.status is not SubscriptionStatus.COMPLETE:
        return _not_assessed(current, f"previous entry is {previous.status.value}")
    if current.status is not SubscriptionStatus.COMPLETE:
        return _not_assessed(current, f"current entry is {current.status.value}")

    before = {e.id: e.hash for e in previous.integrations}
    after = {e.id: e.hash for e in current.integrations}
    removed = sum(1 for i in before if i not in after)
    changed = sum(1 for i, h in before.items() if i in after and after[i] != h)
    previous_count = len(before)
    affected = removed + changed
    share = affected / previous_count if previous_count else 0.0

    if previous_count and not after:
        triggered = True
        reason = f"suddenly empty: {previous_count} integration(s) before, none now"
    else:
        summary = (
            f"{affected} of {previous_count} integration(s) removed or changed "
            f"({removed} removed, {changed} changed; {share:.0%})"
        )
        if previous_count == 0:
            triggered, reason = False, "no integrations before, nothing to lose"
        elif share < threshold:
            triggered, reason = False, f"{summary}, below the {threshold:.0%} threshold"
        elif affected < min_affected:
            triggered = False
            reason = f"{summary}, fewer than {min_affected} affected (small estate)"
        else:
            triggered, reason = True, f"{summary}, at or above the {threshold:.0%} threshold"

    return MassChangeAssessment(
        subscription_id=current.subscription_id,
        triggered=triggered,
        removed=removed,
        changed=changed,
        previous_count=previous_count,
        share=share,
        reason=reason,
    )


def _by_id(manifest: SnapshotManifest) -> dict[str, SubscriptionEntry]:
    entries: dict[str, SubscriptionEntry] = {}
    for entry in manifest.subscriptions:
        if entry.subscription_id in entries:
            raise ValueError(
                f"snapshot {manifest.snapshot_id} lists subscription {entry.subscription_id} twice"
            )
        entries[entry.subscription_id] = entry
    return entries


def assess_snapshot(
    previous: SnapshotManifest | None,
    current: SnapshotManifest,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    min_affected: int = DEFAULT_MIN_AFFECTED,
) -> tuple[MassChangeAssessment, ...]:
    """The subscriptions of ``current`` that trip the guard against ``previous``, in its order.

    An empty tuple means nothing tripped (including the very first backup, ``previous=None``).
    """
    _validate(threshold, min_affected)
    before = _by_id(previous) if previous is not None else {}
    triggered = []
    for subscription_id, entry in _by_id(current).items():
        assessment = assess_mass_change(
            before.get(subscription_id),
            entry,
            threshold=threshold,
            min_affected=min_affected,
        )
        if assessment.triggered:
            triggered.append(assessment)
    return tuple(triggered)


def lists_to_compare(previous: ManifestRecord, current: ManifestRecord) -> frozenset[str]:
    """The entry lists ``assess_records`` needs: both sides of every subscription whose list
    changed. A subscription that names the same list as before has the same entries, so it
    cannot trip, and its entries are never read."""
    return frozenset(d for pair in changed_lists(previous, current).values() for d in pair)


def assess_records(
    previous: ManifestRecord | None,
    current: ManifestRecord,
    entries: EntriesByHash,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    min_affected: int = DEFAULT_MIN_AFFECTED,
) -> tuple[MassChangeAssessment, ...]:
    """``assess_snapshot`` over records, given the ``lists_to_compare`` in ``entries`` (by hash).

    Raises ``KeyError`` for a needed list that ``entries`` lacks."""
    if previous is None:
        return ()
    changed = changed_lists(previous, current)

    def only_changed(record: ManifestRecord) -> SnapshotManifest:
        kept = tuple(s for s in record.subscriptions if s.subscription_id in changed)
        return assemble(record.model_copy(update={"subscriptions": kept}), entries)

    return assess_snapshot(
        only_changed(previous), only_changed(current), threshold, min_affected=min_affected
    )
