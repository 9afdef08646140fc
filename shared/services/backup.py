"""The backup use case: every subscription's integrations into one immutable snapshot.

Order of work, which is what makes a snapshot trustworthy:

1. at once, and side by side: read the previous snapshots' records; discover subscriptions
   (``GET /v2/subscriptions``: their names, and listed ones without a key, recorded as skipped);
   and per keyed subscription (a bounded number at once) read its integrations;
2. as each answer arrives: a subscription whose answer is byte for byte the one a previous
   snapshot was made from (same ``listing_sha256``) is not even parsed: the new record names
   the same entry list. Otherwise each config is stored as a content-addressed object (configs
   whose hash that subscription's previous entry lists hold are not written again), and its
   entry list after them;
3. only then write the manifest record, which names nothing that is not already stored. A
   crash before this step leaves unreferenced objects (prune collects them), never a snapshot
   that lies.

Only the previous records are read up front, never their entry lists: an unchanged
subscription costs its GET and one hash compare, and a changed one reads its own previous
entry list.

A subscription that cannot be read is recorded as ``skipped`` or ``failed`` with its reason while
the others complete. A storage failure aborts the run: no manifest is written, and the error
names the store.

Each run holds a backup lock (``shared.services.locks``) from before it reads the previous
snapshot until its manifest is written, and first waits for a running prune to finish: a prune
never deletes an object that a running backup will reference. The previous snapshot is the
newest complete one whose id sorts before this run's own, so overlapping backups always name an
earlier snapshot and the chain stays in time order. A previous manifest that cannot be read is
passed over (and named in a warning) rather than stopping every backup after it; so is a
previous entry list (its configs are offered to the store again, which keeps what it has).
"""

from __future__ import annotations

import asyncio
import logging
import secrets as _random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.clock import Clock
from shared.connxio import ConnxioClient
from shared.connxio.models import IntegrationView
from shared.core.canonical import canonical_bytes, content_hash
from shared.core.guard import (
    DEFAULT_THRESHOLD,
    MassChangeAssessment,
    assess_records,
    lists_to_compare,
)
from shared.core.manifest import (
    EntriesByHash,
    IntegrationEntry,
    ManifestRecord,
    SubscriptionRecord,
    SubscriptionStatus,
    Trigger,
    entry_list_bytes,
    integration_label,
    new_snapshot_id,
    overall_status,
    time_ordered_suffix,
)
from shared.errors import (
    ConnxioAuthError,
    ConnxioError,
    CorruptObjectError,
    NotFoundError,
    ObjectExistsError,
)
from shared.services import locks
from shared.store.repository import SnapshotRepository, StoredRecord
from shared.telemetry import log_event

log = logging.getLogger("cxbackup.backup")

T = TypeVar("T")

NO_KEY_REASON = (
    "no API key configured for this subscription: add it to CONNXIO_API_KEYS "
    "(API keys are subscription-scoped)"
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BackupResult:
    manifest: ManifestRecord
    objects_written: int
    bytes_written: int  # of the objects written, as stored (compressed)
    duration_seconds: float
    # The configs this run stored for the first time, by hash: the audit that follows the
    # backup uses them instead of reading them back. Only what changed, so it stays small.
    written_documents: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # The previous complete snapshot this one chains to, as this run read it: the audit that
    # follows compares against it without reading it again.
    previous: StoredRecord | None = field(default=None, repr=False)
    # The entry lists this run built or read, by hash (only changed subscriptions'): the audit
    # that follows uses them instead of reading them again.
    entries: EntriesByHash = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class _Previous:
    """What a run builds on: the previous complete snapshot and the newest one of any status."""

    complete: StoredRecord | None
    latest: StoredRecord | None
    unreadable: tuple[str, ...]  # newer manifests passed over because they do not parse


@dataclass(frozen=True)
class _Basis:
    """What a run builds on, worked out once the previous records are read."""

    previous: _Previous
    # Per subscription, the record a previous snapshot made from a complete answer: its entry
    # list is named again when the API answers with the same bytes.
    reusable: dict[str, SubscriptionRecord]
    # Per subscription, the entry lists the previous snapshots name for it: what a changed
    # subscription reads to know which of its configs are stored already.
    earlier_lists: dict[str, tuple[str, ...]]
    # Per subscription, the entry list of the previous complete snapshot: whose integrations
    # the audit after this backup compares.
    audited_lists: dict[str, str]
    stored_lists: frozenset[str]  # entry lists the previous records name (stored already)
    # Entry lists of manifests stored before records (formats 1 and 2), by hash: held inline
    # there, not stored on their own, so a record that names one must write it first.
    inline: EntriesByHash


@dataclass(frozen=True)
class _Discovery:
    names: dict[str, str | None]  # by id: every subscription Connxio listed
    problem: str | None = None  # why discovery failed, for the snapshot's warnings


class BackupService:
    """Takes snapshots. One instance may run several backups at once."""

    def __init__(
        self,
        *,
        client: ConnxioClient,
        repository: SnapshotRepository,
        api_keys: Mapping[str, str],
        clock: Clock,
        concurrency: int = 8,
        write_concurrency: int = 32,
        make_suffix: Callable[[datetime], str] | None = None,
        mass_change_threshold: float = DEFAULT_THRESHOLD,
        lock_poll_seconds: float = 2.0,
        lock_wait_seconds: float = 300.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._repository = repository
        self._api_keys = dict(api_keys)
        self._clock = clock
        self._concurrency = concurrency
        self._write_slots = asyncio.Semaphore(write_concurrency)
        # Default: time-ordered to the millisecond, so ids sort like the backups' start times.
        self._make_suffix = make_suffix or (
            lambda at: time_ordered_suffix(at, _random.token_hex(2)[:3])
        )
        self._mass_change_threshold = mass_change_threshold
        self._lock_poll_seconds = lock_poll_seconds
        self._lock_wait_seconds = lock_wait_seconds
        self._sleep = sleep

    async def run(
        self,
        trigger: Trigger,
        *,
        subscription_ids: Iterable[str] | None = None,
        note: str | None = None,
        progress: Progress | None = None,
    ) -> BackupResult:
        """Take one snapshot; ``subscription_ids`` limits it to those (e.g. a pre-restore one).

        Raises ``RepositoryBusyError`` when a prune holds the repository for longer than
        ``lock_wait_seconds``; nothing is read or written then.
        """
        result, _ = await self.run_then(
            trigger,
            _nothing_more,
            subscription_ids=subscription_ids,
            note=note,
            progress=progress,
        )
        return result

    async def run_then(
        self,
        trigger: Trigger,
        then: Callable[[BackupResult], Awaitable[T]],
        *,
        subscription_ids: Iterable[str] | None = None,
        note: str | None = None,
        progress: Progress | None = None,
    ) -> tuple[BackupResult, T]:
        """``run``, then ``then(result)`` (the new snapshot's audit) beside the lock's removal.

        Once the manifest is stored the lock protects nothing: others ignore the lock of a run
        whose manifest exists (see ``shared.services.locks``). So the follow-up does not wait
        for the delete, and both are done when this returns. ``then`` is not called when the
        backup fails.
        """
        started_at = self._clock.now()
        snapshot_id = new_snapshot_id(started_at, self._make_suffix(started_at))
        lock = await locks.acquire(
            self._repository,
            "backup",
            at=started_at,
            holder=f"{trigger.value} backup",
            run_id=snapshot_id,
        )
        try:
            await locks.wait_for_prunes(
                self._repository,
                now=started_at,
                poll_seconds=self._lock_poll_seconds,
                max_wait_seconds=self._lock_wait_seconds,
                sleep=self._sleep,
            )
            result = await self._run_locked(
                trigger,
                snapshot_id=snapshot_id,
                started_at=started_at,
                subscription_ids=subscription_ids,
                note=note,
                progress=progress,
            )
        except BaseException:
            await locks.release(self._repository, lock)
            raise
        removal = asyncio.ensure_future(locks.release(self._repository, lock))  # never raises
        try:
            followed = await then(result)
        finally:
            await removal
        return result, followed

    async def _previous(self, before: str) -> _Previous:
        """The newest records with ids before ``before``: any status, and complete."""
        latest: StoredRecord | None = None
        unreadable: list[str] = []
        for candidate in reversed(await self._repository.list_snapshot_ids()):
            if candidate >= before:
                continue
            try:
                stored = await self._repository.read_record(candidate)
            except NotFoundError:
                continue  # forgotten by a prune since the listing
            except CorruptObjectError:
                log.warning("manifest of snapshot %s does not parse; passed over", candidate)
                unreadable.append(candidate)
                continue
            latest = latest or stored
            if stored.record.is_good:
                return _Previous(stored, latest, tuple(unreadable))
        return _Previous(None, latest, tuple(unreadable))

    async def _read_basis(self, snapshot_id: str) -> _Basis:
        previous = await self._previous(snapshot_id)
        # The newest snapshot of any status and the newest complete one: most often the same.
        # What they name is stored and stays so: this run holds a backup lock until its
        # manifest is written, so no prune deletes it in between.
        newest_first = [s for s in (previous.latest, previous.complete) if s is not None]
        if len(newest_first) == 2 and newest_first[0] is newest_first[1]:
            newest_first.pop()
        reusable: dict[str, SubscriptionRecord] = {}
        earlier: dict[str, list[str]] = {}
        inline: dict[str, tuple[IntegrationEntry, ...]] = {}
        for stored in reversed(newest_first):  # the complete one's lists first
            inline.update(stored.inline)
            for sub in stored.record.subscriptions:
                lists = earlier.setdefault(sub.subscription_id, [])
                if sub.entries_sha256 not in lists:
                    lists.append(sub.entries_sha256)
        for stored in newest_first:
            for sub in stored.record.subscriptions:
                if sub.status is SubscriptionStatus.COMPLETE and sub.listing_sha256:
                    reusable.setdefault(sub.subscription_id, sub)
        complete = previous.complete
        return _Basis(
            previous,
            reusable,
            earlier_lists={sid: tuple(lists) for sid, lists in earlier.items()},
            audited_lists=(
                {s.subscription_id: s.entries_sha256 for s in complete.record.subscriptions}
                if complete
                else {}
            ),
            stored_lists=frozenset(
                digest for lists in earlier.values() for digest in lists if digest not in inline
            ),
            inline=inline,
        )

    async def _run_locked(
        self,
        trigger: Trigger,
        *,
        snapshot_id: str,
        started_at: datetime,
        subscription_ids: Iterable[str] | None,
        note: str | None,
        progress: Progress | None,
    ) -> BackupResult:
        started = time.perf_counter()
        say = progress or (lambda _message: None)
        wanted = set(subscription_ids) if subscription_ids is not None else None
        # The API is asked while the previous records are read: discovery and the integration
        # reads wait for neither them nor each other (every keyed subscription is read, listed
        # or not); only deciding what an answer means waits for the previous records. (All of
        # it only now, under the lock: a store that is down or locked costs Connxio nothing.)
        keyed = sorted(sid for sid in self._api_keys if wanted is None or sid in wanted)
        discovery = asyncio.ensure_future(self._discover())
        basis = asyncio.ensure_future(self._read_basis(snapshot_id))
        run = _Run()
        semaphore = asyncio.Semaphore(self._concurrency)

        async def one(subscription_id: str) -> SubscriptionRecord:
            async with semaphore:
                record = await self._backup_subscription(subscription_id, basis, run)
            name = (await discovery).names.get(subscription_id)
            say(
                f"subscription {name or subscription_id}: {record.status.value}"
                f" ({record.integration_count} integrations)"
            )
            return record.model_copy(update={"name": name})

        reads = [asyncio.ensure_future(one(sid)) for sid in keyed]
        try:
            found = await discovery
            # Listed (or asked for) but without a key: recorded, not read.
            unkeyed = (set(found.names) if wanted is None else wanted) - set(self._api_keys)
            say(f"found {len(keyed) + len(unkeyed)} subscription(s)")
            previous = (await basis).previous  # a store failure here stops the reads at once
            results = await asyncio.gather(*reads)
            skipped = []
            if unkeyed:
                empty = await self._store_entry_list((), await basis)
                skipped = [
                    SubscriptionRecord(
                        subscription_id=sid,
                        name=found.names.get(sid),
                        status=SubscriptionStatus.SKIPPED,
                        reason=NO_KEY_REASON,
                        entries_sha256=empty,
                    )
                    for sid in sorted(unkeyed)
                ]
        except BaseException:
            for task in (discovery, basis, *reads):
                _settle(task)
            raise
        previous_complete = previous.complete
        records = tuple(sorted([*results, *skipped], key=lambda r: r.subscription_id))
        warnings: list[str] = []
        if found.problem:
            warnings.append(found.problem)
        warnings.extend(
            f"the manifest of snapshot {unreadable} does not parse and was passed over; "
            "run `cxbackup verify --all`"
            for unreadable in previous.unreadable
        )
        manifest = ManifestRecord(
            snapshot_id=snapshot_id,
            trigger=trigger,
            status=overall_status(records),
            started_at=started_at,
            finished_at=self._clock.now(),
            previous_snapshot_id=(
                previous_complete.record.snapshot_id if previous_complete else None
            ),
            previous_manifest_hash=previous_complete.manifest_hash if previous_complete else None,
            subscriptions=records,
            note=note,
        )
        tripped = await self._guard(previous_complete, manifest, run)
        warnings.extend(run.problems)
        # The guard marks the snapshot; retention then holds these subscriptions' history
        # until someone acknowledges the change.
        warnings.extend(f"mass change in {a.subscription_id}: {a.reason}" for a in tripped)
        manifest = manifest.model_copy(
            update={
                "warnings": tuple(warnings),
                "mass_change_subscriptions": tuple(a.subscription_id for a in tripped),
            }
        )
        manifest = await self._write_manifest(manifest, after=manifest.previous_snapshot_id)
        duration = time.perf_counter() - started
        log_event(
            log,
            logging.INFO,
            "backup %s finished: %s, %d subscription(s), %d integration(s), %d object(s) written",
            manifest.snapshot_id,
            manifest.status.value,
            len(manifest.subscriptions),
            manifest.integration_count(),
            run.objects,
            event="backup.finished",
            snapshot_id=manifest.snapshot_id,
            trigger=manifest.trigger.value,
            status=manifest.status.value,
            subscriptions=len(manifest.subscriptions),
            integrations=manifest.integration_count(),
            objects_written=run.objects,
            bytes_written=run.bytes,
            duration_ms=round(duration * 1000),
        )
        return BackupResult(
            manifest,
            run.objects,
            run.bytes,
            duration,
            run.documents,
            previous=previous_complete,
            entries=run.entries,
        )

    async def _guard(
        self, previous: StoredRecord | None, current: ManifestRecord, run: _Run
    ) -> tuple[MassChangeAssessment, ...]:
        """The mass-change guard over the subscriptions whose entries changed. One whose
        previous entry list cannot be read is not assessed (and named in a warning)."""
        if previous is None:
            return ()
        before = previous.record
        await self._read_lists(
            lists_to_compare(before, current), run, "the mass-change guard could not compare it"
        )
        readable = tuple(s for s in before.subscriptions if s.entries_sha256 in run.entries)
        before = before.model_copy(update={"subscriptions": readable})
        return assess_records(before, current, run.entries, self._mass_change_threshold)

    async def _read_lists(self, digests: Iterable[str], run: _Run, consequence: str) -> None:
        """Read into ``run.entries`` each of ``digests`` it lacks. One that cannot be read is
        passed over with a warning that ends in ``consequence``."""
        lacking = [d for d in digests if d not in run.entries]
        for digest, outcome in (await self._repository.survey_entry_lists(lacking)).items():
            if outcome.problem is None:
                run.entries[digest] = outcome.entries
            else:
                run.problems.append(
                    f"entry list {digest[:64]} in {self._repository.description} is "
                    f"{outcome.problem} (run `cxbackup verify --all`): {consequence}"
                )

    async def _write_manifest(
        self, manifest: ManifestRecord, *, after: str | None = None
    ) -> ManifestRecord:
        """Write-once; on the (rare) id collision, draw a new suffix rather than overwrite.

        A new id must still sort after ``after`` (the previous snapshot), or the chain would
        run backwards; such a draw counts as another collision.
        """
        for _ in range(5):
            if after is None or manifest.snapshot_id > after:
                try:
                    await self._repository.put_record(manifest)
                    return manifest
                except ObjectExistsError:
                    pass
            fresh = new_snapshot_id(manifest.started_at, self._make_suffix(manifest.started_at))
            manifest = manifest.model_copy(update={"snapshot_id": fresh})
        raise ObjectExistsError(
            f"could not find a free snapshot id for {manifest.started_at.isoformat()} "
            f"in {self._repository.description}"
        )

    async def _discover(self) -> _Discovery:
        """The subscriptions Connxio lists, and a warning when discovery itself failed.

        ``GET /v2/subscriptions`` is asked with each configured key in turn until one answers.
        Subscriptions that have a key but are not listed are still backed up: a key is proof
        enough that the subscription exists, which is why their reads do not wait for this.
        When discovery fails entirely, the keyed subscriptions are backed up and the snapshot
        carries a warning.
        """
        problem: str | None = None
        for subscription_id, key in self._api_keys.items():
            try:
                subscriptions = await self._client.list_subscriptions(key)
            except ConnxioError as error:
                problem = (
                    f"subscription discovery failed with the key of {subscription_id}: {error}"
                )
                continue
            return _Discovery({s["id"]: s.get("name") for s in subscriptions if s.get("id")})
        return _Discovery({}, problem)

    async def _backup_subscription(
        self,
        subscription_id: str,
        basis_read: asyncio.Future[_Basis],
        run: _Run,
    ) -> SubscriptionRecord:
        """One keyed subscription's record; its ``name`` is left for discovery to fill in."""
        key = self._api_keys[subscription_id]
        base = {"subscription_id": subscription_id}

        async def held_listing_hash() -> str | None:
            before = (await basis_read).reusable.get(subscription_id)
            return before.listing_sha256 if before else None

        try:
            listing = await self._client.read_integrations(key, unchanged_if=held_listing_hash)
        except ConnxioError as error:
            reason = str(error)
            if isinstance(error, ConnxioAuthError) and not error.operation.endswith(
                "(token endpoint)"  # the OAuth client, not the key
            ):
                reason += "; check the API key for this subscription in CONNXIO_API_KEYS"
            empty = await self._store_entry_list((), await basis_read)
            return SubscriptionRecord(
                **base, status=SubscriptionStatus.FAILED, reason=reason, entries_sha256=empty
            )

        basis = await basis_read  # read already: the answer was judged against it
        before = basis.reusable.get(subscription_id)
        if before is not None and listing.unchanged:
            # The very bytes ``before`` was made from: same configs, so the same entry list,
            # whose objects are all stored.
            if before.entries_sha256 in basis.inline:
                await self._store_entry_list(basis.inline[before.entries_sha256], basis)
            return before

        earlier = await self._earlier_entries(subscription_id, basis, run)
        known = {e.hash for entries in earlier.values() for e in entries}
        # The audit after this backup diffs integrations the previous complete snapshot held;
        # it gets their fresh configs from here. Keeping only those (not every config of a
        # first backup) keeps memory flat.
        audited_list = basis.audited_lists.get(subscription_id)
        audited = {e.id for e in earlier.get(audited_list, ())} if audited_list else set()
        entries: list[IntegrationEntry] = []
        problems: list[str] = []

        async def store(config: dict) -> None:
            try:
                view = IntegrationView.model_validate(config)
            except ValidationError:
                problems.append("an integration without a usable id was returned; not stored")
                return
            data = canonical_bytes(config)
            digest = content_hash(data)
            if digest not in known:
                async with self._write_slots:
                    stored = await self._repository.put_object(data)
                if stored.written:
                    run.add(digest, stored.stored_size, config if view.id in audited else None)
            entries.append(
                IntegrationEntry(
                    id=view.id,
                    label=integration_label(config),
                    hash=digest,
                    size=len(data),
                    updated_by=view.updatedBy,
                    updated_at=view.updatedAtUtc,
                )
            )

        await asyncio.gather(*(store(c) for c in listing.configs))
        ordered = tuple(sorted(entries, key=lambda e: e.id))
        digest = await self._store_entry_list(ordered, basis)
        run.entries[digest] = ordered
        done = {"entries_sha256": digest, "integration_count": len(ordered)}
        if problems:
            return SubscriptionRecord(
                **base,
                **done,
                status=SubscriptionStatus.FAILED,
                reason=f"{len(problems)} integration(s) could not be read: {problems[0]}",
            )
        return SubscriptionRecord(
            **base, **done, status=SubscriptionStatus.COMPLETE, listing_sha256=listing.body_sha256
        )

    async def _earlier_entries(
        self, subscription_id: str, basis: _Basis, run: _Run
    ) -> dict[str, tuple[IntegrationEntry, ...]]:
        """The entry lists the previous snapshots hold for a subscription, by hash.

        A list that cannot be read is left out with a warning: its configs are then written
        again (identical bytes are fine), which costs a little and loses nothing."""
        lists = basis.earlier_lists.get(subscription_id, ())
        run.entries.update((d, basis.inline[d]) for d in lists if d in basis.inline)
        await self._read_lists(lists, run, "its configs were offered to the store again")
        return {d: run.entries[d] for d in lists if d in run.entries}

    async def _store_entry_list(self, entries: tuple[IntegrationEntry, ...], basis: _Basis) -> str:
        """Store an entry list unless a previous record names it already; returns its hash."""
        data = entry_list_bytes(entries)
        digest = content_hash(data)
        if digest not in basis.stored_lists:
            await self._repository.put_entry_list(data)
        return digest


async def _nothing_more(_result: BackupResult) -> None:
    return None


def _settle(task: asyncio.Future[Any]) -> None:
    """Stop ``task`` if it still runs; if it ended, take its outcome so that an error nobody
    awaited (the run failed first) is not reported again as "never retrieved"."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


class _Run:
    """What one run gathers while its subscriptions are backed up side by side."""

    def __init__(self) -> None:
        self.objects = 0
        self.bytes = 0
        self.documents: dict[str, Any] = {}  # the configs the audit will need, by hash
        self.entries: dict[str, tuple[IntegrationEntry, ...]] = {}  # entry lists, by hash
        self.problems: list[str] = []  # for the snapshot's warnings

    def add(self, digest: str, size: int, document_for_audit: Any | None) -> None:
        self.objects += 1
        self.bytes += size
        if document_for_audit is not None:
            self.documents[digest] = document_for_audit
