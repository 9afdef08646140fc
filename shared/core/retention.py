"""Retention: which snapshots to keep and which to forget, and what stored items prune may delete.

The bucket rules follow restic's ``forget --keep-last/--keep-daily/--keep-weekly/--keep-monthly``:
walk the snapshots newest first; a rule with count N keeps the newest snapshot of each of the N
most recent buckets (UTC day, ISO week, month) that contain a snapshot. Buckets are counted only
where snapshots exist, so a week without backups does not use up a daily slot. A snapshot kept by
several rules lists every reason.

On top of the buckets, some snapshots are never forgotten, because losing them loses the one
thing a backup is for:

- Only ``complete`` snapshots count toward the buckets. A ``partial`` or ``failed`` snapshot never
  stands in for a good one, so it cannot push the last good snapshot out of ``keep_last``.
- The newest complete snapshot ("last good") is always kept, whatever the policy says.
- A partial snapshot newer than the last good one may hold the only copy of newer data for the
  subscriptions that did succeed (say one subscription's API key broke for a week). For each
  subscription, the newest snapshot newer than the last good one that holds a complete entry for
  it is kept. Older partial copies are covered by the last good snapshot and are forgotten once
  outside the grace period; failed snapshots hold nothing and are forgotten then too.
- ``pre-restore`` snapshots record the estate just before a restore overwrote it: never forgotten.
- Snapshots that finished within ``grace`` of ``now`` are never forgotten, so a run of prune right
  after a backup cannot race it, and a wrong clock cannot wipe yesterday's work.
- When the mass-change guard holds a subscription, every snapshot holding a complete entry for it
  is kept, so a mass deletion cannot age the good copies out while someone looks into it.
- A policy whose counts are all zero keeps everything and says so. "Keep nothing" is never a
  policy; it is a misconfiguration that would otherwise delete every backup.

Bucket boundaries use each snapshot's ``started_at`` in UTC, the same instant its id encodes.
Unlike restic, the oldest snapshot is not kept just because there were too few buckets to fill a
rule; the last-good and grace rules already protect a young repository.

Retention reads only headers and subscription statuses, so it takes manifests of either shape
(``AnyManifest``): the records prune reads (format 3) and whole legacy manifests (formats 1, 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from shared.core.manifest import AnyManifest, SubscriptionStatus, Trigger

REASON_LAST_GOOD = "last good"
REASON_PRE_RESTORE = "pre-restore"
REASON_WITHIN_GRACE = "within grace"
REASON_KEEP_EVERYTHING = "policy keeps everything (all keep counts are 0)"


@dataclass(frozen=True)
class RetentionPolicy:
    """How many snapshots to keep per bucket kind, and how long new ones are untouchable.

    Counts are numbers of buckets (days, ISO weeks, months) that hold a complete snapshot, not
    calendar spans. All counts zero means "keep everything" (see ``keeps_everything``).
    """

    keep_last: int = 7
    keep_daily: int = 30
    keep_weekly: int = 12
    keep_monthly: int = 24
    grace: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        for name in ("keep_last", "keep_daily", "keep_weekly", "keep_monthly"):
            value = getattr(self, name)
            # bool is an int in Python; True as a count is a bug in the caller, not a policy.
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"retention {name} must be a whole number, got {value!r}")
            if value < 0:
                raise ValueError(f"retention {name} must not be negative, got {value}")
        if not isinstance(self.grace, timedelta):
            raise ValueError(f"retention grace must be a timedelta, got {self.grace!r}")
        if self.grace < timedelta(0):
            raise ValueError(f"retention grace must not be negative, got {self.grace}")

    @property
    def keeps_everything(self) -> bool:
        """True when every count is zero: such a policy keeps all snapshots rather than none."""
        return not (self.keep_last or self.keep_daily or self.keep_weekly or self.keep_monthly)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KeptSnapshot(_Frozen):
    """A snapshot retention keeps, and every rule that kept it (for dry runs and audit)."""

    snapshot_id: str
    reasons: tuple[str, ...]


class RetentionDecision(_Frozen):
    """What a retention run keeps and forgets; both lists are newest first.

    Every snapshot given to ``plan_retention`` is in exactly one of the two lists.
    """

    keep: tuple[KeptSnapshot, ...]
    forget: tuple[str, ...]
    keeps_everything: bool = False

    def kept_ids(self) -> frozenset[str]:
        return frozenset(k.snapshot_id for k in self.keep)

    def is_kept(self, snapshot_id: str) -> bool:
        return any(k.snapshot_id == snapshot_id for k in self.keep)

    def reasons_for(self, snapshot_id: str) -> tuple[str, ...]:
        """Why ``snapshot_id`` is kept; ``KeyError`` when it is forgotten or unknown."""
        for kept in self.keep:
            if kept.snapshot_id == snapshot_id:
                return kept.reasons
        raise KeyError(snapshot_id)

    def summary(self) -> str:
        return f"keep {len(self.keep)}, forget {len(self.forget)}"


def _utc(moment: datetime) -> datetime:
    # Manifests are written with aware UTC times; a naive one can only mean UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _daily(moment: datetime) -> str:
    return f"daily {moment:%Y-%m-%d}"


def _weekly(moment: datetime) -> str:
    iso = moment.isocalendar()
    return f"weekly {iso.year}-W{iso.week:02d}"


def _monthly(moment: datetime) -> str:
    return f"monthly {moment:%Y-%m}"


def _apply_bucket_rule(
    complete_newest_first: Sequence[AnyManifest],
    count: int,
    bucket_of: Callable[[AnyManifest], str],
    reason_of: Callable[[str], str],
    reasons: dict[str, list[str]],
) -> None:
    """Keep the newest snapshot of each of the ``count`` most recent non-empty buckets."""
    remaining = count
    last_bucket: str | None = None
    for manifest in complete_newest_first:
        if remaining == 0:
            return
        bucket = bucket_of(manifest)
        if bucket != last_bucket:
            reasons[manifest.snapshot_id].append(reason_of(bucket))
            last_bucket = bucket
            remaining -= 1


def _complete_subscriptions(manifest: AnyManifest) -> list[str]:
    return [
        s.subscription_id for s in manifest.subscriptions if s.status is SubscriptionStatus.COMPLETE
    ]


def plan_retention(
    manifests: Sequence[AnyManifest],
    policy: RetentionPolicy,
    *,
    now: datetime,
    protected_subscriptions: frozenset[str] = frozenset(),
) -> RetentionDecision:
    """Decide, for every snapshot, whether to keep it (and why) or forget it.

    ``now`` must be timezone-aware: it is compared with stored UTC times, and a naive clock is
    the kind of mistake that silently shifts the grace window by hours. Raises ``ValueError`` on
    a naive ``now`` or on two manifests with the same id.
    """
    if now.tzinfo is None:
        raise ValueError("plan_retention needs a timezone-aware 'now'")
    seen: set[str] = set()
    for manifest in manifests:
        if manifest.snapshot_id in seen:
            raise ValueError(f"snapshot {manifest.snapshot_id} appears twice")
        seen.add(manifest.snapshot_id)

    newest_first = sorted(
        manifests, key=lambda m: (_utc(m.started_at), m.snapshot_id), reverse=True
    )
    reasons: dict[str, list[str]] = {m.snapshot_id: [] for m in newest_first}
    complete = [m for m in newest_first if m.is_good]

    if policy.keeps_everything:
        for manifest in newest_first:
            reasons[manifest.snapshot_id].append(REASON_KEEP_EVERYTHING)
    else:
        last_reason = f"last {policy.keep_last}"
        # keep-last: every snapshot is a bucket of its own.
        _apply_bucket_rule(
            complete, policy.keep_last, lambda m: m.snapshot_id, lambda _: last_reason, reasons
        )
        rules: tuple[tuple[int, Callable[[datetime], str]], ...] = (
            (policy.keep_daily, _daily),
            (policy.keep_weekly, _weekly),
            (policy.keep_monthly, _monthly),
        )
        for count, label in rules:
            _apply_bucket_rule(
                complete,
                count,
                lambda m, label=label: label(_utc(m.started_at)),
                lambda bucket: bucket,
                reasons,
            )

    last_good = complete[0] if complete else None
    if last_good is not None:
        reasons[last_good.snapshot_id].append(REASON_LAST_GOOD)

    # Newer than the last good snapshot: keep the newest copy of each subscription that worked.
    covered: set[str] = set()
    for manifest in newest_first:
        if manifest is last_good:
            break
        fresh = sorted(s for s in _complete_subscriptions(manifest) if s not in covered)
        if fresh:
            covered.update(fresh)
            reasons[manifest.snapshot_id].append(
                f"newest copy of subscription(s) {', '.join(fresh)} (newer than last good)"
            )

    cutoff = _utc(now) - policy.grace
    for manifest in newest_first:
        sid = manifest.snapshot_id
        if manifest.trigger is Trigger.PRE_RESTORE:
            reasons[sid].append(REASON_PRE_RESTORE)
        if _utc(manifest.finished_at) > cutoff:
            reasons[sid].append(REASON_WITHIN_GRACE)
        for subscription_id in sorted(
            set(_complete_subscriptions(manifest)) & protected_subscriptions
        ):
            reasons[sid].append(f"protected: subscription {subscription_id} under mass-change hold")

    keep = tuple(
        KeptSnapshot(snapshot_id=m.snapshot_id, reasons=tuple(reasons[m.snapshot_id]))
        for m in newest_first
        if reasons[m.snapshot_id]
    )
    forget = tuple(m.snapshot_id for m in newest_first if not reasons[m.snapshot_id])
    return RetentionDecision(keep=keep, forget=forget, keeps_everything=policy.keeps_everything)


def unreferenced(stored: Iterable[str], referenced: Iterable[str]) -> frozenset[str]:
    """The stored items (object hashes, or entry list hashes) that are not ``referenced``:
    exactly what prune may delete, given ``referenced`` = everything the kept manifests name
    (for objects: the hashes in the entry lists they name, and legacy manifests' inline ones).

    Items written by a backup that crashed before its manifest are here too, which is how
    write-once-then-manifest storage gets its garbage collected. The flip side: so is every
    item of a backup still running, including an existing one it reused instead of writing.
    Only delete these while no backup can run (prune holds the repository lock), or re-check
    against manifests listed after the deletion candidates were computed. And ``referenced``
    must be complete: a manifest or entry list that could not be read references unknown
    items, so nothing may be deleted then.
    """
    return frozenset(stored) - frozenset(referenced)
