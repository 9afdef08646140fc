"""Repository locks: how a prune and the backups running beside it stay out of each other's way.

The danger is narrow but real. Prune deletes objects that no kept manifest references. A backup
that is still running references objects before its manifest exists: the ones it wrote, the ones
it found already stored (identical bytes, perhaps an object only a forgotten snapshot held), and
the ones it skipped because the previous snapshot holds them. Deleting any of those would leave
the new manifest naming an object that is gone.

So, like restic, both sides announce themselves with a small write-once document under
``locks/`` and look for the other before doing anything dangerous:

- a **backup** writes ``locks/backup-<uuid>.json`` when it starts and removes it when it ends
  (also when it fails). Before it reads the previous snapshot it waits while a fresh prune lock
  exists (``wait_for_prunes``);
- a **prune** writes ``locks/prune-<uuid>.json``, then lists the locks: while a fresh backup (or
  another prune) holds one, it stops and deletes nothing, saying why.

Each side writes its own lock *before* it looks for the other's, and a listing shows every
document whose create has returned, so at least one of any two overlapping runs sees the other:
either the prune stops, or the backup waits until the prune is done. Both may see each other;
then the prune stops and the backup goes on once the prune lock is gone.

A lock left behind does not block forever:

- each lock names its run's completion marker (``run_id``): the manifest a backup writes last,
  the report a prune stores last. A lock whose marker exists belongs to a run that is over,
  even if removing the lock failed (a container-level immutability (WORM) policy refuses
  every delete, locks included), so it is ignored;
- a lock of a run that crashed goes **stale**: backup locks after ``BACKUP_LOCK_STALE_AFTER``
  (a backup takes minutes; the Functions host stops one long before six hours), prune locks
  after ``PRUNE_LOCK_STALE_AFTER``.

Ignored locks are reported, and prune tries to remove them so they do not pile up.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.errors import (
    CorruptObjectError,
    InvalidNameError,
    NotFoundError,
    ObjectNotFoundError,
    RefusedError,
    StoreError,
)
from shared.store.repository import SnapshotRepository

log = logging.getLogger("cxbackup.locks")

LOCKS = "locks"
PRUNE_REPORTS = "state/prunes"  # where a prune stores its report: the prune's completion marker
LOCK_FORMAT_VERSION = 1
BACKUP_LOCK_STALE_AFTER = timedelta(hours=6)
PRUNE_LOCK_STALE_AFTER = timedelta(hours=1)

LockKind = Literal["backup", "prune"]
Sleep = Callable[[float], Awaitable[None]]


class MaintenanceError(RefusedError):
    """A maintenance request (prune, acknowledge) or a backup could not go ahead.

    ``status`` and ``title`` are what HTTP callers see; the message says what to do.
    """

    status: int = 409
    title: str = "Maintenance refused"


class RepositoryBusyError(MaintenanceError):
    """Another run holds the repository (a prune that did not finish in time)."""

    status = 409
    title = "Repository busy"


class RepositoryLock(BaseModel):
    """One run's announcement that it is working on the repository; stored write-once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: Literal[1] = LOCK_FORMAT_VERSION
    lock_id: str  # "backup-<32 hex>" or "prune-<32 hex>"; also its document id
    kind: LockKind
    created_at: datetime
    holder: str  # who holds it, for people: "timer backup", "cli prune"; never a secret
    # What the run writes last: the snapshot id of a backup, the prune id of a prune. Once that
    # exists the run is over, whether or not this lock could be removed.
    run_id: str | None = None

    def stale_after(self) -> timedelta:
        return BACKUP_LOCK_STALE_AFTER if self.kind == "backup" else PRUNE_LOCK_STALE_AFTER

    def is_stale(self, now: datetime) -> bool:
        """True when the lock is older than its kind's limit at ``now`` (aware)."""
        return _utc(now) - _utc(self.created_at) > self.stale_after()

    def describe(self) -> str:
        since = f"{_utc(self.created_at):%Y-%m-%d %H:%M:%S} UTC"
        return f"{self.holder} (lock {LOCKS}/{self.lock_id}.json, since {since})"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def acquire(
    repository: SnapshotRepository,
    kind: LockKind,
    *,
    at: datetime,
    holder: str,
    run_id: str | None = None,
) -> RepositoryLock:
    """Write a new lock of ``kind``; raises ``StoreError`` when the store refuses it."""
    lock = RepositoryLock(
        lock_id=f"{kind}-{uuid.uuid4().hex}",
        kind=kind,
        created_at=at,
        holder=holder,
        run_id=run_id,
    )
    await repository.put_document(LOCKS, lock.lock_id, lock)
    return lock


async def release(repository: SnapshotRepository, lock: RepositoryLock) -> bool:
    """Remove ``lock``. Never raises: a lock that cannot be removed is ignored once its run's
    completion marker exists, or once it is stale.

    Returns whether it was removed (or already gone).
    """
    try:
        await repository.delete_document(LOCKS, lock.lock_id)
    except ObjectNotFoundError:
        return True
    except StoreError as error:
        log.warning(
            "could not remove lock %s (%s); others ignore it once its run has finished, or "
            "after %s",
            lock.lock_id,
            error,
            lock.stale_after(),
        )
        return False
    return True


async def list_locks(
    repository: SnapshotRepository, *, kind: LockKind | None = None
) -> tuple[RepositoryLock, ...]:
    """Every lock now stored (of ``kind``: told by the ``<kind>-`` its id starts with, so the
    others are not even read), oldest first. A lock removed while listing is simply not there;
    an unreadable one is logged and left out (our own writes are atomic, so only a hand-made
    file can be unreadable)."""
    locks: list[RepositoryLock] = []
    for lock_id in await repository.list_documents(LOCKS):
        if kind is not None and not lock_id.startswith(f"{kind}-"):
            continue
        try:
            locks.append(await repository.read_document(LOCKS, lock_id, RepositoryLock))
        except NotFoundError:
            continue
        except (CorruptObjectError, ValidationError) as error:
            log.warning("ignoring unreadable lock %s: %s", lock_id, error)
    return tuple(sorted(locks, key=lambda lock: (_utc(lock.created_at), lock.lock_id)))


async def _finished(repository: SnapshotRepository, lock: RepositoryLock) -> bool:
    """Whether the run that holds ``lock`` already wrote its completion marker."""
    if lock.run_id is None:
        return False
    try:
        if lock.kind == "backup":
            return await repository.manifest_exists(lock.run_id)
        return await repository.document_exists(PRUNE_REPORTS, lock.run_id)
    except InvalidNameError:
        return False  # a hand-made lock with an odd run id: judge it by its age


async def active_locks(
    repository: SnapshotRepository,
    *,
    now: datetime,
    exclude: str | None = None,
    kind: LockKind | None = None,
) -> tuple[tuple[RepositoryLock, ...], tuple[RepositoryLock, ...]]:
    """``(active, ignored)``: the locks (of ``kind``) of runs still working at ``now``, and
    those left by runs that finished or went stale. ``exclude`` leaves out one's own lock."""
    active: list[RepositoryLock] = []
    ignored: list[RepositoryLock] = []
    for lock in await list_locks(repository, kind=kind):
        if lock.lock_id == exclude:
            continue
        if lock.is_stale(now) or await _finished(repository, lock):
            ignored.append(lock)
        else:
            active.append(lock)
    return tuple(active), tuple(ignored)


async def wait_for_prunes(
    repository: SnapshotRepository,
    *,
    now: datetime,
    poll_seconds: float,
    max_wait_seconds: float,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Return once no fresh prune lock exists; ``RepositoryBusyError`` after ``max_wait_seconds``.

    ``now`` is the backup's start: a prune lock counts as fresh unless it was already stale
    then. The caller must hold its own backup lock already (see the module docstring).
    """
    waited = 0.0
    while True:
        prunes, _ = await active_locks(repository, now=now, kind="prune")
        if not prunes:
            return
        if waited >= max_wait_seconds:
            names = "; ".join(lock.describe() for lock in prunes)
            raise RepositoryBusyError(
                f"a prune is still working on {repository.description} after waiting "
                f"{waited:.0f} s: {names}. Retry the backup in a few minutes; if no prune is "
                f"running, the lock is left from a crash and is ignored after "
                f"{PRUNE_LOCK_STALE_AFTER}, or delete that lock document"
            )
        if waited == 0:
            log.info("waiting for prune to finish before backing up: %s", prunes[0].describe())
        await sleep(poll_seconds)
        waited += poll_seconds
