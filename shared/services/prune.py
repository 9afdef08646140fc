"""Retention applied: forget snapshots outside the policy, then delete what nothing references.

What to keep is decided by the pure ``shared.core.retention.plan_retention`` (restic-like
buckets, plus the rules that never let go: last good, pre-restore, within grace, mass-change
holds). This module does the I/O around it, in an order that is safe to interrupt anywhere:

1. take the prune lock, and stop, deleting nothing, while a backup (or another prune) holds a
   fresh lock (``shared.services.locks``): a running backup references objects before its
   manifest exists;
2. read every manifest (format 3 records, or whole format 1/2 manifests); one that does not
   parse is kept, and blocks object deletion (its references are unknown);
3. find the **mass-change holds**: subscriptions that a snapshot flagged in
   ``mass_change_subscriptions`` and that nobody acknowledged yet (``state/acks/<id>.json``,
   written once by ``acknowledge``). Every snapshot holding a complete copy of a held
   subscription is kept;
4. record every snapshot to forget in the **forget log** (``state/forgotten/<id>.json``,
   write-once) *before* deleting its manifest, so ``verify`` can tell a pruned snapshot from a
   removed one; then delete the manifests and their audits;
5. list the manifests still stored and delete every entry list none of them names and every
   object none of them references. The objects a record references are the hashes in the entry
   lists it names (each distinct list read once); a legacy manifest holds its entries inline.
   Entry lists are collected exactly like objects, in the same step and under the same rules:
   when a manifest does not parse, or a named entry list is missing or damaged (the objects it
   references are unknown), neither objects nor entry lists are deleted.

A delete the store refuses while it is otherwise reachable (an immutability (WORM) policy, a
legal hold, a lease) is not an error: the item is kept, listed under ``refused``, and tried
again by the next prune. A store that cannot be reached at all aborts the run; whatever was
done stays consistent (steps only ever remove what the next run would remove too).

A dry run takes no lock and writes nothing: it reports what a real run would do now. A real run
stores its report under ``state/prunes/<prune-id>.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.core.canonical import content_hash
from shared.core.manifest import (
    AnyManifest,
    IntegrationEntry,
    ManifestRecord,
    SnapshotStatus,
    parse_manifest,
)
from shared.core.retention import (
    KeptSnapshot,
    RetentionPolicy,
    plan_retention,
    unreferenced,
)
from shared.errors import (
    NotFoundError,
    ObjectExistsError,
    ObjectNotFoundError,
    StoreError,
    StoreUnavailableError,
)
from shared.services import locks
from shared.services.locks import MaintenanceError, RepositoryLock
from shared.store.repository import (
    EntryListProblem,
    SnapshotRepository,
    entry_list_name,
    object_name,
)
from shared.telemetry import log_event

log = logging.getLogger("cxbackup.prune")

PRUNE_FORMAT_VERSION = 1
FORGOTTEN = "state/forgotten"
ACKS = "state/acks"
PRUNES = locks.PRUNE_REPORTS
AUDITS = "audits"
DELETE_CONCURRENCY = 32
READ_CONCURRENCY = 32
MAX_BY_LENGTH = 200
MAX_NOTE_LENGTH = 2000

REASON_UNREADABLE = "manifest does not parse: kept, and no object is deleted; run `cxbackup verify`"
# How many unreadable entry lists ``objects_skipped`` names; ``unreadable_entry_lists`` has all.
MAX_NAMED_LISTS = 5


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- stored documents --------------------------------------------------------------------------


class ForgottenSnapshot(_Frozen):
    """The forget log entry prune writes, once, before it deletes a snapshot's manifest."""

    format_version: Literal[1] = PRUNE_FORMAT_VERSION
    snapshot_id: str
    forgotten_at: datetime
    prune_id: str
    status: SnapshotStatus
    manifest_hash: str  # sha256 of the manifest's canonical bytes when it was forgotten


class Acknowledgement(_Frozen):
    """Someone reviewed a snapshot's mass change; releases its hold on pruning. Write-once."""

    format_version: Literal[1] = PRUNE_FORMAT_VERSION
    snapshot_id: str
    subscriptions: tuple[str, ...]  # the mass-change subscriptions this releases
    acknowledged_by: str
    acknowledged_at: datetime
    note: str | None = None


class PolicySummary(_Frozen):
    keep_last: int
    keep_daily: int
    keep_weekly: int
    keep_monthly: int
    grace_seconds: int
    keeps_everything: bool

    @classmethod
    def of(cls, policy: RetentionPolicy) -> PolicySummary:
        return cls(
            keep_last=policy.keep_last,
            keep_daily=policy.keep_daily,
            keep_weekly=policy.keep_weekly,
            keep_monthly=policy.keep_monthly,
            grace_seconds=int(policy.grace.total_seconds()),
            keeps_everything=policy.keeps_everything,
        )


class HeldSubscription(_Frozen):
    """A subscription whose history is held: mass change flagged, not yet acknowledged."""

    subscription_id: str
    flagged_in: tuple[str, ...]  # the snapshots that flagged it; acknowledge these to release


class RefusedDelete(_Frozen):
    """A delete the reachable store refused (immutability policy, legal hold, lease)."""

    name: str
    reason: str


class PruneReport(_Frozen):
    """What one prune kept and why, what it forgot, and what it deleted (or would, dry run)."""

    format_version: Literal[1] = PRUNE_FORMAT_VERSION
    prune_id: str
    dry_run: bool
    ran_at: datetime
    policy: PolicySummary
    snapshots_examined: int
    keep: tuple[KeptSnapshot, ...]  # newest first, every reason
    # The policy's verdict, newest first: what this run forgets (what a dry run or a stopped run
    # would forget). ``manifests_deleted`` is what actually went.
    forget: tuple[str, ...]
    held: tuple[HeldSubscription, ...] = ()
    unreadable: tuple[str, ...] = ()  # manifests that do not parse (kept)
    # Entry lists a stored manifest names that are missing or damaged: what they reference is
    # unknown, so no object (and no entry list) was deleted.
    unreadable_entry_lists: tuple[str, ...] = ()
    manifests_deleted: tuple[str, ...] = ()
    objects_examined: int = 0
    objects_unreferenced: int = 0  # what object deletion would remove (dry run) or tried to
    objects_deleted: int = 0
    entry_lists_examined: int = 0
    entry_lists_unreferenced: int = 0  # as objects_unreferenced, for entry lists
    entry_lists_deleted: int = 0
    refused: tuple[RefusedDelete, ...] = ()  # kept by the store; the next prune tries again
    running: tuple[RepositoryLock, ...] = ()  # locks of other runs still working
    # Locks of runs that finished (the lock could not be removed) or went stale: ignored, and
    # removed by a real run where the store allows.
    ignored_locks: tuple[RepositoryLock, ...] = ()
    stopped: str | None = None  # why nothing at all was forgotten or deleted
    objects_skipped: str | None = None  # why no object (and no entry list) was deleted
    warnings: tuple[str, ...] = ()

    @property
    def finished_cleanly(self) -> bool:
        """True when everything the policy let go of is gone (always false for a stopped run)."""
        return self.stopped is None and self.objects_skipped is None and not self.refused


# -- errors ------------------------------------------------------------------------------------


class AcknowledgementRefused(MaintenanceError):
    """The acknowledgement was not recorded; the message says why."""

    status = 409
    title = "Acknowledgement refused"


class NothingToAcknowledge(AcknowledgementRefused):
    status = 422
    title = "Nothing to acknowledge"


class InvalidAcknowledgement(AcknowledgementRefused):
    status = 400
    title = "Invalid acknowledgement"


# -- reading -----------------------------------------------------------------------------------


async def _read_manifests(
    repository: SnapshotRepository, snapshot_ids: Sequence[str]
) -> dict[str, tuple[bytes, AnyManifest | None]]:
    """Stored bytes and parsed manifest (None: does not parse, or describes another snapshot)
    of each id still stored. Records are not assembled: retention needs only their headers."""
    slots = asyncio.Semaphore(READ_CONCURRENCY)

    async def one(sid: str) -> tuple[str, bytes | None, AnyManifest | None]:
        async with slots:
            try:
                data = await repository.read_manifest_bytes(sid)
            except NotFoundError:
                return sid, None, None
        try:
            manifest = parse_manifest(data)
        except ValueError:
            return sid, data, None
        return sid, data, manifest if manifest.snapshot_id == sid else None

    found = await asyncio.gather(*(one(sid) for sid in snapshot_ids))
    return {sid: (data, manifest) for sid, data, manifest in found if data is not None}


# Entry lists read so far, by hash; filled in as prune reads them (each list once per run).
_ListsRead = dict[str, tuple[IntegrationEntry, ...]]


@dataclass(frozen=True)
class _UnreadableList:
    problem: EntryListProblem
    named_by: tuple[str, ...]  # the snapshots that name it


@dataclass(frozen=True)
class _References:
    """What a set of manifests references, as far as their entry lists could be read."""

    entry_lists: frozenset[str]  # the entry lists the records name
    objects: frozenset[str]  # the objects in those lists, and in legacy manifests' entries
    # Named lists that cannot be read, by hash: while any is here, ``objects`` is incomplete.
    unreadable: dict[str, _UnreadableList] = field(default_factory=dict)


async def _references(
    repository: SnapshotRepository, manifests: Sequence[AnyManifest], read: _ListsRead
) -> _References:
    """The entry lists and objects ``manifests`` reference. Each distinct list is read once:
    ``read`` holds lists read before (and gains the ones read here), so the second pass over
    the manifests still stored reads only lists the first did not."""
    naming: dict[str, list[str]] = {}
    objects: set[str] = set()
    for manifest in manifests:
        if isinstance(manifest, ManifestRecord):
            for subscription in manifest.subscriptions:
                naming.setdefault(subscription.entries_sha256, []).append(manifest.snapshot_id)
        else:  # formats 1 and 2 hold their entries inline and name no entry list
            objects |= manifest.referenced_hashes()
    found = await repository.survey_entry_lists(set(naming) - set(read))
    unreadable: dict[str, _UnreadableList] = {}
    for digest, outcome in found.items():
        if outcome.problem is None:
            read[digest] = outcome.entries
        else:
            unreadable[digest] = _UnreadableList(
                outcome.problem, tuple(sorted(set(naming[digest])))
            )
    for digest in naming:
        if digest in read:
            objects.update(entry.hash for entry in read[digest])
    return _References(frozenset(naming), frozenset(objects), unreadable)


def _unreadable_lists_reason(unreadable: dict[str, _UnreadableList]) -> str:
    """Why no object was deleted, naming (the first few of) the unreadable entry lists."""
    named = [
        f"{digest[:64]} ({found.problem}, named by {', '.join(found.named_by)})"
        for digest, found in sorted(unreadable.items())
    ]
    more = len(named) - MAX_NAMED_LISTS
    listed = "; ".join(named[:MAX_NAMED_LISTS]) + (f"; and {more} more" if more > 0 else "")
    return (
        f"entry list(s) {listed} cannot be read, so the objects they reference are unknown: no "
        "object or entry list was deleted. Run `cxbackup verify --all`"
    )


def _holds(manifests: Sequence[AnyManifest], acknowledged: set[str]) -> dict[str, list[str]]:
    """Subscription → the unacknowledged snapshots that flagged a mass change in it."""
    held: dict[str, list[str]] = {}
    for manifest in sorted(manifests, key=lambda m: m.snapshot_id):
        if manifest.snapshot_id in acknowledged:
            continue
        for subscription_id in manifest.mass_change_subscriptions:
            held.setdefault(subscription_id, []).append(manifest.snapshot_id)
    return held


async def held_subscriptions(repository: SnapshotRepository) -> tuple[HeldSubscription, ...]:
    """The mass-change holds in force now (unreadable manifests are passed over)."""
    stored = await _read_manifests(repository, await repository.list_snapshot_ids())
    manifests = [m for _, m in stored.values() if m is not None]
    acknowledged = set(await repository.list_documents(ACKS))
    return tuple(
        HeldSubscription(subscription_id=sub, flagged_in=tuple(ids))
        for sub, ids in sorted(_holds(manifests, acknowledged).items())
    )


# -- deleting ----------------------------------------------------------------------------------

_Outcome = Literal["deleted", "gone"] | RefusedDelete


async def _delete(
    name: str,
    delete: Callable[[], Awaitable[None]],
    still_there: Callable[[], Awaitable[bool]],
) -> _Outcome:
    """Delete one item. A refusal from a store that still answers is a ``RefusedDelete``; a
    store that does not answer raises ``StoreUnavailableError``."""
    try:
        await delete()
    except ObjectNotFoundError:
        return "gone"  # another prune was faster
    except StoreUnavailableError as error:
        if not await still_there():  # raises when the store is really unreachable
            return "gone"
        log.warning("the store refused to delete %s; kept, the next prune retries: %s", name, error)
        return RefusedDelete(
            name=name,
            reason=(
                "the store refused the delete (an immutability policy, legal hold or lease?); "
                f"kept, and the next prune tries again: {error}"
            ),
        )
    return "deleted"


def _deletion(
    name: str,
    delete: Callable[[str], Awaitable[None]],
    exists: Callable[[str], Awaitable[bool]],
    digest: str,
) -> tuple[str, Callable[[], Awaitable[_Outcome]]]:
    """One content-addressed blob's delete, as ``_delete_all`` takes it."""
    return name, lambda: _delete(name, lambda: delete(digest), lambda: exists(digest))


async def _delete_all(
    items: Sequence[tuple[str, Callable[[], Awaitable[_Outcome]]]],
) -> list[tuple[str, _Outcome]]:
    """Run the deletes, ``DELETE_CONCURRENCY`` at a time; the first hard failure is raised
    once all have settled, so no delete is left running behind the error."""
    slots = asyncio.Semaphore(DELETE_CONCURRENCY)

    async def one(run: Callable[[], Awaitable[_Outcome]]) -> _Outcome:
        async with slots:
            return await run()

    outcomes = await asyncio.gather(*(one(run) for _, run in items), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return [(name, outcome) for (name, _), outcome in zip(items, outcomes, strict=True)]


async def _forget(
    repository: SnapshotRepository,
    forget: Sequence[str],
    stored: dict[str, tuple[bytes, AnyManifest | None]],
    *,
    prune_id: str,
    now: datetime,
) -> tuple[list[str], list[RefusedDelete]]:
    """Log, then delete, the manifests (and audits) of ``forget``."""

    async def log_one(sid: str) -> None:
        data, manifest = stored[sid]
        assert manifest is not None  # only parsed manifests are planned
        entry = ForgottenSnapshot(
            snapshot_id=sid,
            forgotten_at=now,
            prune_id=prune_id,
            status=manifest.status,
            manifest_hash=content_hash(data),
        )
        # Already there: logged by an earlier prune that stopped before deleting it.
        with contextlib.suppress(ObjectExistsError):
            await repository.put_document(FORGOTTEN, sid, entry)

    # Every entry is written before any manifest goes: a run cut short leaves forgotten
    # snapshots still stored (harmless, checked like any other), never removed unlogged ones.
    for outcome in await asyncio.gather(*(log_one(sid) for sid in forget), return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome  # nothing was deleted yet

    async def delete_manifest(sid: str) -> _Outcome:
        outcome = await _delete(
            f"snapshots/{sid}.json",
            lambda: repository.delete_manifest(sid),
            lambda: repository.manifest_exists(sid),
        )
        if outcome != "deleted":
            return outcome
        if await repository.document_exists(AUDITS, sid):
            audit = await _delete(
                f"{AUDITS}/{sid}.json",
                lambda: repository.delete_document(AUDITS, sid),
                lambda: repository.document_exists(AUDITS, sid),
            )
            if isinstance(audit, RefusedDelete):
                log.warning("audit of forgotten snapshot %s kept: %s", sid, audit.reason)
        return outcome

    results = await _delete_all([(sid, lambda sid=sid: delete_manifest(sid)) for sid in forget])
    deleted = [sid for sid, outcome in results if outcome == "deleted"]
    refused = [outcome for _, outcome in results if isinstance(outcome, RefusedDelete)]
    return deleted, refused


# -- the use case ------------------------------------------------------------------------------


def new_prune_id(now: datetime) -> str:
    return f"prune-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


async def prune(
    repository: SnapshotRepository,
    policy: RetentionPolicy,
    *,
    now: datetime,
    dry_run: bool = False,
    holder: str = "prune",
) -> PruneReport:
    """Apply ``policy`` at ``now`` (timezone-aware); see the module docstring for the steps.

    Never raises for what it finds (running backups, unreadable manifests, refused deletes are
    in the report). Raises ``StoreUnavailableError`` when the store cannot be reached and
    ``ValueError`` for a naive ``now``.
    """
    if now.tzinfo is None:
        raise ValueError("prune needs a timezone-aware 'now'")
    prune_id = new_prune_id(now)
    lock = None
    if not dry_run:
        lock = await locks.acquire(repository, "prune", at=now, holder=holder, run_id=prune_id)
    try:
        report = await _run(
            repository, policy, now=now, dry_run=dry_run, prune_id=prune_id, own=lock
        )
        if not dry_run:
            # Stored before the lock goes: the report is the mark that this prune is over,
            # which a backup trusts when the lock itself cannot be removed (WORM).
            try:
                await repository.put_document(PRUNES, prune_id, report)
            except StoreError as error:
                log.warning("prune %s finished but its report was not stored: %s", prune_id, error)
    finally:
        if lock is not None:
            await locks.release(repository, lock)
    log_event(
        log,
        logging.INFO,
        "prune %s%s: kept %d, forgot %d snapshot(s), deleted %d object(s), %d entry list(s)%s",
        prune_id,
        " (dry run)" if dry_run else "",
        len(report.keep),
        len(report.forget) if dry_run else len(report.manifests_deleted),
        report.objects_deleted,
        report.entry_lists_deleted,
        f"; {report.stopped or report.objects_skipped}"
        if report.stopped or report.objects_skipped
        else "",
        event="prune.finished",
        prune_id=prune_id,
        dry_run=dry_run,
        kept=len(report.keep),
        forgotten=len(report.manifests_deleted),
        objects_deleted=report.objects_deleted,
        entry_lists_deleted=report.entry_lists_deleted,
        refused=len(report.refused),
        stopped=report.stopped is not None,
    )
    return report


async def _run(
    repository: SnapshotRepository,
    policy: RetentionPolicy,
    *,
    now: datetime,
    dry_run: bool,
    prune_id: str,
    own: RepositoryLock | None,
) -> PruneReport:
    fresh, ignored = await locks.active_locks(
        repository, now=now, exclude=own.lock_id if own else None
    )
    stored = await _read_manifests(repository, await repository.list_snapshot_ids())
    parsed = [m for _, m in stored.values() if m is not None]
    unreadable = tuple(sorted((sid for sid, (_, m) in stored.items() if m is None), reverse=True))
    acknowledged = set(await repository.list_documents(ACKS))
    holds = _holds(parsed, acknowledged)
    decision = plan_retention(parsed, policy, now=now, protected_subscriptions=frozenset(holds))
    keep = sorted(
        [
            *decision.keep,
            *(KeptSnapshot(snapshot_id=sid, reasons=(REASON_UNREADABLE,)) for sid in unreadable),
        ],
        key=lambda k: k.snapshot_id,
        reverse=True,
    )
    # Listed before the manifests are listed again (step 5): an item written after this is
    # never a candidate, whatever names it.
    object_hashes = await repository.list_object_hashes()
    list_hashes = await repository.list_entry_list_hashes()
    lists_read: _ListsRead = {}
    objects_skipped: str | None = None
    unreadable_lists: tuple[str, ...] = ()
    if unreadable:
        objects_skipped = (
            f"manifest(s) {', '.join(unreadable)} do not parse, so what they reference is "
            "unknown: no object or entry list was deleted. Run `cxbackup verify --all`"
        )
        objects_unreferenced = lists_unreferenced = 0
    else:
        kept_manifests = [m for m in parsed if decision.is_kept(m.snapshot_id)]
        kept = await _references(repository, kept_manifests, lists_read)
        if kept.unreadable:
            objects_skipped = _unreadable_lists_reason(kept.unreadable)
            unreadable_lists = tuple(sorted(kept.unreadable))
            objects_unreferenced = lists_unreferenced = 0
        else:
            objects_unreferenced = len(unreferenced(object_hashes, kept.objects))
            lists_unreferenced = len(unreferenced(list_hashes, kept.entry_lists))
    report = PruneReport(
        prune_id=prune_id,
        dry_run=dry_run,
        ran_at=now,
        policy=PolicySummary.of(policy),
        snapshots_examined=len(stored),
        keep=tuple(keep),
        forget=decision.forget,
        held=tuple(
            HeldSubscription(subscription_id=sub, flagged_in=tuple(ids))
            for sub, ids in sorted(holds.items())
        ),
        unreadable=unreadable,
        unreadable_entry_lists=unreadable_lists,
        objects_examined=len(object_hashes),
        objects_unreferenced=objects_unreferenced,
        entry_lists_examined=len(list_hashes),
        entry_lists_unreferenced=lists_unreferenced,
        running=fresh,
        ignored_locks=ignored,
        objects_skipped=objects_skipped,
        warnings=(
            (
                "the retention policy keeps every snapshot (all RETENTION_KEEP_* are 0); only "
                "objects no snapshot references are deleted",
            )
            if policy.keeps_everything
            else ()
        ),
    )
    if dry_run:
        return report
    if fresh:
        names = "; ".join(lock.describe() for lock in fresh)
        return report.model_copy(
            update={
                "objects_unreferenced": 0,
                "entry_lists_unreferenced": 0,
                "stopped": (
                    f"another run is working on the repository: {names}. Nothing was forgotten "
                    "or deleted; the next prune (after the next scheduled backup, or run "
                    "`cxbackup prune` later) tries again"
                ),
            }
        )
    for lock in ignored:
        await locks.release(repository, lock)

    deleted_manifests, refused = await _forget(
        repository, decision.forget, stored, prune_id=prune_id, now=now
    )
    report = report.model_copy(
        update={"manifests_deleted": tuple(deleted_manifests), "refused": tuple(refused)}
    )
    if objects_skipped:
        return report
    return await _collect_garbage(
        repository, report, stored, object_hashes, list_hashes, lists_read
    )


async def _collect_garbage(
    repository: SnapshotRepository,
    report: PruneReport,
    stored: dict[str, tuple[bytes, AnyManifest | None]],
    object_hashes: Sequence[str],
    list_hashes: Sequence[str],
    lists_read: _ListsRead,
) -> PruneReport:
    """Step 5: delete the entry lists and objects no manifest stored *now* references (kept
    ones, forgotten ones whose delete was refused, and any that appeared since the listing)."""
    skipped = {"objects_unreferenced": 0, "entry_lists_unreferenced": 0}
    current = await repository.list_snapshot_ids()
    new_ids = [sid for sid in current if sid not in stored]
    newly = await _read_manifests(repository, new_ids)
    if any(m is None for _, m in newly.values()):
        return report.model_copy(
            update={
                **skipped,
                "objects_skipped": "a manifest written during the prune does not parse: "
                "no object or entry list was deleted; run `cxbackup verify --all`",
            }
        )
    by_id = {sid: m for sid, (_, m) in stored.items()} | {sid: m for sid, (_, m) in newly.items()}
    still_stored = [m for sid in current if (m := by_id.get(sid)) is not None]
    references = await _references(repository, still_stored, lists_read)
    if references.unreadable:
        return report.model_copy(
            update={
                **skipped,
                "unreadable_entry_lists": tuple(sorted(references.unreadable)),
                "objects_skipped": _unreadable_lists_reason(references.unreadable),
            }
        )
    objects = sorted(unreferenced(object_hashes, references.objects))
    lists = sorted(unreferenced(list_hashes, references.entry_lists))
    # One batch: the lists go in the same step as the objects, and a run cut short leaves only
    # garbage the next prune finds again.
    results = await _delete_all(
        [
            *(
                _deletion(object_name(d), repository.delete_object, repository.object_exists, d)
                for d in objects
            ),
            *(
                _deletion(
                    entry_list_name(d),
                    repository.delete_entry_list,
                    repository.entry_list_exists,
                    d,
                )
                for d in lists
            ),
        ]
    )
    object_results, list_results = results[: len(objects)], results[len(objects) :]
    return report.model_copy(
        update={
            "objects_unreferenced": len(objects),
            "objects_deleted": sum(1 for _, outcome in object_results if outcome == "deleted"),
            "entry_lists_unreferenced": len(lists),
            "entry_lists_deleted": sum(1 for _, outcome in list_results if outcome == "deleted"),
            "refused": report.refused
            + tuple(outcome for _, outcome in results if isinstance(outcome, RefusedDelete)),
        }
    )


# -- acknowledging a mass change ---------------------------------------------------------------


async def acknowledge(
    repository: SnapshotRepository,
    snapshot_reference: str,
    *,
    by: str,
    note: str | None = None,
    at: datetime,
) -> Acknowledgement:
    """Record that someone reviewed the mass change a snapshot flagged; releases its hold.

    ``snapshot_reference`` is a snapshot id or ``latest``. Raises ``NotFoundError`` for an
    unknown snapshot, ``NothingToAcknowledge`` when it flagged no mass change,
    ``AcknowledgementRefused`` when it was acknowledged already (write-once), and
    ``InvalidAcknowledgement`` for an empty or overlong name or note.
    """
    who = by.strip()
    if not who or len(who) > MAX_BY_LENGTH:
        raise InvalidAcknowledgement(
            f"say who reviewed the change: 'by' must be 1-{MAX_BY_LENGTH} characters"
        )
    text = note.strip() if note else None
    if text is not None and len(text) > MAX_NOTE_LENGTH:
        raise InvalidAcknowledgement(f"the note must be at most {MAX_NOTE_LENGTH} characters")
    snapshot_id = await repository.resolve_snapshot_id(snapshot_reference)
    # The record is enough (the flags are in the header), and needs no entry list to be readable.
    manifest = (await repository.read_record(snapshot_id)).record
    if not manifest.mass_change_subscriptions:
        raise NothingToAcknowledge(
            f"snapshot {snapshot_id} flagged no mass change, so there is nothing to "
            "acknowledge; `cxbackup prune --dry-run` lists the holds in force and the "
            "snapshots that flagged them"
        )
    acknowledgement = Acknowledgement(
        snapshot_id=snapshot_id,
        subscriptions=manifest.mass_change_subscriptions,
        acknowledged_by=who,
        acknowledged_at=at,
        note=text or None,
    )
    try:
        await repository.put_document(ACKS, snapshot_id, acknowledgement)
    except ObjectExistsError:
        earlier = await repository.read_document(ACKS, snapshot_id, Acknowledgement)
        raise AcknowledgementRefused(
            f"the mass change in snapshot {snapshot_id} was already acknowledged by "
            f"{earlier.acknowledged_by} at {earlier.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC; "
            "acknowledgements are write-once and its hold is already released"
        ) from None
    log.info(
        "mass change in snapshot %s acknowledged by %s; hold on %s released",
        snapshot_id,
        who,
        ", ".join(manifest.mass_change_subscriptions),
        extra={
            "event": "mass_change.acknowledged",
            "snapshot_id": snapshot_id,
            "subscriptions": list(manifest.mass_change_subscriptions),
        },
    )
    return acknowledgement
