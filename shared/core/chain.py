"""Tamper evidence: check that the stored manifests still form the chain they were written as.

Every manifest records ``previous_snapshot_id`` and ``previous_manifest_hash``: the id and the
SHA-256 of the stored bytes of the complete snapshot before it (``None`` for the first). So:

- an edited manifest no longer hashes to what its successors recorded → ``hash_mismatch``,
  naming the edited snapshot;
- a deleted manifest is still named by its successors → ``missing_previous``, naming the
  missing snapshot;
- a manifest that cannot be read → ``unparseable``; one stored under another snapshot's name →
  ``id_mismatch``;
- a chain that runs against id (time) order → ``order``: entries not sorted or repeated, a
  manifest naming itself or a later snapshot as its previous, or one claiming to be the first
  while a complete snapshot had finished well (``SETTLE_TIME``) before it started.

A manifest's previous must be an *earlier* complete snapshot that is still stored (or was
forgotten by prune) and whose stored bytes hash to the recorded value; it need not be the
immediately preceding one. Overlapping backups are normal: a timer backup and an HTTP backup
started at the same moment both name the snapshot that was complete when they started, so two
manifests share a previous and their ids interleave. Likewise a backup that started before
another complete snapshot finished may name an older one, or none at all.

Retention forgets snapshots on purpose. Prune records what it forgot in a stored forget log, and
the caller passes those ids as ``forgotten``: a link to a forgotten, absent snapshot is neither
missing nor checkable, so it is skipped. A forgotten id whose manifest is still stored (prune
stopped half way) is checked like any other.

What the chain cannot show: the newest manifest deleted or edited (nothing names it yet), and a
deleted partial or failed manifest (the chain links complete snapshots only).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from shared.core.canonical import content_hash
from shared.core.manifest import AnyManifest, SnapshotStatus, parse_manifest

ChainProblemKind = Literal[
    "unparseable", "missing_previous", "hash_mismatch", "order", "id_mismatch"
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChainProblem(_Frozen):
    """One break in the chain. ``snapshot_id`` names the snapshot at fault (edited, missing...)."""

    snapshot_id: str
    kind: ChainProblemKind
    detail: str


class ChainReport(_Frozen):
    """The result of ``verify_chain``; ``ok`` is true exactly when there are no problems."""

    ok: bool
    problems: tuple[ChainProblem, ...] = ()
    checked: int = 0  # manifests examined
    verified_links: int = 0  # previous-hash links whose hash matched

    @model_validator(mode="after")
    def _ok_matches_problems(self) -> ChainReport:
        if self.ok == bool(self.problems):
            raise ValueError("ok must be true exactly when there are no problems")
        return self


# How long after a snapshot's ``finished_at`` its manifest may become visible to a backup that
# is starting (the manifest write itself, clocks of two hosts that differ a little).
SETTLE_TIME = timedelta(minutes=5)


def _utc(moment: datetime) -> datetime:
    # Manifests carry aware UTC times; a naive one (hand-edited) can only mean UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_problem(error: ValueError) -> str:
    # Never echo the input: a tampered manifest may hold anything.
    if isinstance(error, ValidationError):
        first = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        return f"not a valid snapshot manifest: {where}: {first['msg']}"
    return f"not a valid snapshot manifest: {type(error).__name__}"


def verify_chain(
    entries: Sequence[tuple[str, bytes]], forgotten: frozenset[str] = frozenset()
) -> ChainReport:
    """Check the manifest chain; ``entries`` are (snapshot id, stored manifest bytes), id order.

    Hashes are taken over the stored bytes as given, so a manifest that no longer parses is
    still hash-checked against what its successor recorded.
    """
    problems: list[ChainProblem] = []
    stored_hash: dict[str, str] = {}
    parsed: list[AnyManifest] = []
    previous_id: str | None = None

    for snapshot_id, data in entries:
        if snapshot_id in stored_hash:
            problems.append(
                ChainProblem(snapshot_id=snapshot_id, kind="order", detail="stored twice")
            )
            continue
        if previous_id is not None and snapshot_id < previous_id:
            problems.append(
                ChainProblem(
                    snapshot_id=snapshot_id,
                    kind="order",
                    detail=f"listed after {previous_id}, which sorts later",
                )
            )
        previous_id = snapshot_id
        stored_hash[snapshot_id] = content_hash(data)
        try:
            manifest = parse_manifest(data)
        except ValueError as error:
            problems.append(
                ChainProblem(
                    snapshot_id=snapshot_id, kind="unparseable", detail=_parse_problem(error)
                )
            )
            continue
        if manifest.snapshot_id != snapshot_id:
            problems.append(
                ChainProblem(
                    snapshot_id=snapshot_id,
                    kind="id_mismatch",
                    detail=f"stored as {snapshot_id} but its content says {manifest.snapshot_id}",
                )
            )
            continue
        parsed.append(manifest)

    # referenced id -> [(referring id, recorded hash)], to report each fault once.
    links: dict[str, list[tuple[str, str | None]]] = {}
    # The complete snapshot seen so far (in id order) that finished first: a manifest that
    # started after it finished must name a previous snapshot.
    first_finished: AnyManifest | None = None
    for manifest in sorted(parsed, key=lambda m: m.snapshot_id):
        sid = manifest.snapshot_id
        previous = manifest.previous_snapshot_id
        recorded = manifest.previous_manifest_hash
        if previous is None:
            if recorded is not None:
                problems.append(
                    ChainProblem(
                        snapshot_id=sid,
                        kind="hash_mismatch",
                        detail="records a previous manifest hash but no previous snapshot",
                    )
                )
            elif first_finished is not None and _utc(
                first_finished.finished_at
            ) + SETTLE_TIME < _utc(manifest.started_at):
                problems.append(
                    ChainProblem(
                        snapshot_id=sid,
                        kind="order",
                        detail=(
                            "records no previous snapshot, but complete snapshot "
                            f"{first_finished.snapshot_id} had finished well before it started"
                        ),
                    )
                )
        else:
            if previous >= sid:
                problems.append(
                    ChainProblem(
                        snapshot_id=sid,
                        kind="order",
                        detail=f"names {previous} as its previous, which is not earlier",
                    )
                )
            links.setdefault(previous, []).append((sid, recorded))
        if manifest.status is SnapshotStatus.COMPLETE and (
            first_finished is None or _utc(manifest.finished_at) < _utc(first_finished.finished_at)
        ):
            first_finished = manifest

    verified = 0
    for previous in sorted(links):
        referrers = links[previous]
        names = ", ".join(referrer for referrer, _ in referrers)
        if previous not in stored_hash:
            if previous not in forgotten:
                problems.append(
                    ChainProblem(
                        snapshot_id=previous,
                        kind="missing_previous",
                        detail=(
                            f"named as previous by {names}, but not stored and not in the "
                            "forget log"
                        ),
                    )
                )
            continue
        actual = stored_hash[previous]
        wrong = [(referrer, recorded) for referrer, recorded in referrers if recorded != actual]
        verified += len(referrers) - len(wrong)
        if wrong:
            recorded_by = "; ".join(
                f"{referrer} recorded {recorded or 'no hash'}" for referrer, recorded in wrong
            )
            problems.append(
                ChainProblem(
                    snapshot_id=previous,
                    kind="hash_mismatch",
                    detail=f"stored bytes hash to {actual}, but {recorded_by}",
                )
            )

    problems.sort(key=lambda p: (p.snapshot_id, p.kind, p.detail))
    return ChainReport(
        ok=not problems,
        problems=tuple(problems),
        checked=len(stored_hash),
        verified_links=verified,
    )
