"""Integrity: re-read what snapshots reference and prove it is still there and still right.

``verify_snapshot`` checks one snapshot: every entry list its manifest record names is read
back (it must be there, hash to its address, and hold as many entries as the record counts),
then every object the entries reference is read back (concurrently): its bytes must hash to the
address the manifest records, parse as JSON, be a JSON object, carry the integration id the
entry names, and have the recorded size. Each list and object is read once however many
subscriptions or integrations share it. A manifest stored before records (formats 1 and 2)
holds its entries inline and is checked the same way from there.

``verify_repository`` does that for every snapshot (or the ones named), reading each distinct
entry list and object once across all of them, and walks the manifest chain
(``shared.core.chain``) over the stored manifest bytes and prune's forget log, so a removed or
edited manifest shows. It also reports an audit whose snapshot is gone without a forget-log
entry: audits are written after their manifest, so that is a manifest removed by something
other than prune, and catches the removal of the newest manifest, which no later manifest names
yet.

Problems are data, not exceptions: a missing object is a finding, reported with the hash and
the integrations that need it; a missing or damaged entry list is a ``manifest_problem`` naming
the subscription and the list (the objects in the lists that can be read are still checked).
Exceptions mean verification itself could not run (the store is unreachable:
``StoreUnavailableError``; the snapshot named does not exist: ``NotFoundError``).
No finding ever quotes stored content, which may hold anything after tampering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from shared.core.canonical import parse_json
from shared.core.chain import ChainReport, verify_chain
from shared.core.manifest import (
    AnyManifest,
    ManifestRecord,
    SnapshotManifest,
    assemble,
    is_snapshot_id,
    parse_manifest,
)
from shared.errors import CorruptObjectError, NotFoundError
from shared.store.repository import EntryListProblem, EntryListRead, SnapshotRepository

VERIFICATION_FORMAT_VERSION = 1
READ_CONCURRENCY = 32
FORGOTTEN = "state/forgotten"  # prune's forget log: one document per forgotten snapshot
AUDITS = "audits"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ObjectProblem(_Frozen):
    """One object that is missing or wrong, and the integrations of the snapshot that need it."""

    hash: str
    integration_ids: tuple[str, ...]
    detail: str


class SnapshotVerification(_Frozen):
    """The verdict on one snapshot's objects; ``ok`` is true exactly when nothing is wrong."""

    snapshot_id: str
    objects_checked: int  # distinct objects read back for this snapshot
    missing: tuple[ObjectProblem, ...] = ()
    corrupt: tuple[ObjectProblem, ...] = ()
    # The manifest itself, or one of the entry lists it names, cannot be read or is wrong.
    manifest_problem: str | None = None
    ok: bool

    @model_validator(mode="after")
    def _ok_matches_findings(self) -> SnapshotVerification:
        if self.ok == bool(self.missing or self.corrupt or self.manifest_problem):
            raise ValueError("ok must be true exactly when nothing is missing or corrupt")
        return self

    def problem_count(self) -> int:
        return len(self.missing) + len(self.corrupt) + (1 if self.manifest_problem else 0)


class VerificationReport(_Frozen):
    """The verdict on a repository: the snapshots checked, the chain, and stray audits."""

    format_version: Literal[1] = VERIFICATION_FORMAT_VERSION
    ok: bool
    scope: str  # "all", or the one snapshot id checked
    snapshots: tuple[SnapshotVerification, ...]
    objects_checked: int  # distinct objects read back, across all snapshots checked
    chain: ChainReport
    forgotten: int  # snapshots prune forgot on purpose (the forget log)
    # Audits whose snapshot is neither stored nor in the forget log: a manifest was removed.
    orphan_audits: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _ok_matches_findings(self) -> VerificationReport:
        good = all(s.ok for s in self.snapshots) and self.chain.ok and not self.orphan_audits
        if self.ok != good:
            raise ValueError("ok must be true exactly when every check passed")
        return self

    def problem_count(self) -> int:
        return (
            sum(s.problem_count() for s in self.snapshots)
            + len(self.chain.problems)
            + len(self.orphan_audits)
        )


# -- reading objects ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Read:
    """What reading one object found: a problem, or the id and size it holds."""

    problem: Literal["missing", "corrupt"] | None
    detail: str = ""
    integration_id: str | None = None
    size: int = 0


async def _read_one(repository: SnapshotRepository, digest: str) -> _Read:
    try:
        data = await repository.read_object(digest)
    except NotFoundError:
        return _Read("missing", "not in the store")
    except CorruptObjectError:
        return _Read("corrupt", "its bytes do not hash to its address (changed or damaged)")
    try:
        document = parse_json(data)
    except ValueError:
        return _Read("corrupt", "its bytes match the hash but are not JSON", size=len(data))
    if not isinstance(document, dict):
        return _Read("corrupt", "it is JSON but not an integration object", size=len(data))
    found = document.get("id")
    return _Read(None, integration_id=found if isinstance(found, str) else None, size=len(data))


async def _read_all(repository: SnapshotRepository, digests: Iterable[str]) -> dict[str, _Read]:
    """Read each object once, at most ``READ_CONCURRENCY`` at a time."""
    slots = asyncio.Semaphore(READ_CONCURRENCY)
    ordered = sorted(set(digests))

    async def one(digest: str) -> _Read:
        async with slots:
            return await _read_one(repository, digest)

    results = await asyncio.gather(*(one(d) for d in ordered))
    return dict(zip(ordered, results, strict=True))


def _judge(
    manifest: SnapshotManifest,
    reads: dict[str, _Read],
    integration_ids: frozenset[str] | None,
    manifest_problem: str | None = None,
) -> SnapshotVerification:
    """Hold the manifest's entries against what reading their objects found (and report
    ``manifest_problem``, what is wrong with its entry lists, beside them)."""
    by_hash: dict[str, list[tuple[str, int]]] = {}
    for subscription in manifest.subscriptions:
        for entry in subscription.integrations:
            if integration_ids is None or entry.id in integration_ids:
                by_hash.setdefault(entry.hash, []).append((entry.id, entry.size))
    missing: list[ObjectProblem] = []
    corrupt: list[ObjectProblem] = []
    for digest in sorted(by_hash):
        entries = by_hash[digest]
        ids = tuple(sorted({integration for integration, _ in entries}))
        read = reads[digest]
        if read.problem == "missing":
            missing.append(ObjectProblem(hash=digest, integration_ids=ids, detail=read.detail))
            continue
        if read.problem == "corrupt":
            corrupt.append(ObjectProblem(hash=digest, integration_ids=ids, detail=read.detail))
            continue
        wrong_id = [i for i in ids if i != read.integration_id]
        if wrong_id:
            holds = repr(read.integration_id[:80]) if read.integration_id else "no id"
            corrupt.append(
                ObjectProblem(
                    hash=digest,
                    integration_ids=tuple(wrong_id),
                    detail=f"the object holds integration {holds}, not the one the manifest names",
                )
            )
        wrong_size = sorted({i for i, size in entries if size != read.size})
        if wrong_size:
            corrupt.append(
                ObjectProblem(
                    hash=digest,
                    integration_ids=tuple(wrong_size),
                    detail=f"the manifest records another size than the object's {read.size} bytes",
                )
            )
    return SnapshotVerification(
        snapshot_id=manifest.snapshot_id,
        objects_checked=len(by_hash),
        missing=tuple(missing),
        corrupt=tuple(corrupt),
        manifest_problem=manifest_problem,
        ok=not (missing or corrupt or manifest_problem),
    )


# -- reading entry lists -----------------------------------------------------------------------


# How a list's problem reads in a finding ("entry list <hash> ...").
_LIST_PROBLEMS: dict[EntryListProblem, str] = {
    "missing": "is missing from the store",
    # Damaged gzip, bytes that do not hash to the address, or not an entry list: the entries
    # are unknown either way, and the bytes are never quoted.
    "damaged": "does not match its hash or is not an entry list",
    "not a content hash": "is not a sha256 content hash",
}


async def _read_lists(
    repository: SnapshotRepository, manifests: Iterable[AnyManifest]
) -> dict[str, EntryListRead]:
    """Each entry list the records among ``manifests`` name, read once. Legacy manifests name
    none."""
    return await repository.survey_entry_lists(
        subscription.entries_sha256
        for manifest in manifests
        if isinstance(manifest, ManifestRecord)
        for subscription in manifest.subscriptions
    )


def _whole(
    manifest: AnyManifest, lists: Mapping[str, EntryListRead]
) -> tuple[SnapshotManifest, str | None]:
    """The whole manifest, as far as its entry lists could be read (an unreadable list stands
    in as empty), and what is wrong with them: one line per subscription, or None."""
    if isinstance(manifest, SnapshotManifest):
        return manifest, None
    problems: list[str] = []
    for subscription in manifest.subscriptions:
        digest = subscription.entries_sha256
        read = lists[digest]
        # [:64]: a hash is 64 digits; what an edited record names instead is not echoed in full.
        where = f"subscription {subscription.subscription_id}: entry list {digest[:64]}"
        if read.problem is not None:
            problems.append(f"{where} {_LIST_PROBLEMS[read.problem]}; its integrations are unknown")
        elif len(read.entries) != subscription.integration_count:
            problems.append(
                f"{where} holds {len(read.entries)} integration(s), but the manifest records "
                f"{subscription.integration_count}"
            )
    whole = assemble(manifest, {digest: read.entries for digest, read in lists.items()})
    return whole, "; ".join(problems) or None


def _unreadable_manifest(snapshot_id: str, error: ValueError) -> SnapshotVerification:
    if isinstance(error, ValidationError):
        first = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        detail = f"the manifest does not parse ({where}: {first['msg']}); its objects are unknown"
    else:
        detail = "the manifest does not parse; its objects are unknown"
    return SnapshotVerification(
        snapshot_id=snapshot_id, objects_checked=0, manifest_problem=detail, ok=False
    )


async def _read_manifests(
    repository: SnapshotRepository, snapshot_ids: Iterable[str]
) -> dict[str, bytes]:
    """The stored bytes of each manifest; one removed since the listing is left out."""
    slots = asyncio.Semaphore(READ_CONCURRENCY)

    async def one(snapshot_id: str) -> tuple[str, bytes | None]:
        async with slots:
            try:
                return snapshot_id, await repository.read_manifest_bytes(snapshot_id)
            except NotFoundError:
                return snapshot_id, None

    pairs = await asyncio.gather(*(one(sid) for sid in snapshot_ids))
    return {sid: data for sid, data in pairs if data is not None}


# -- use cases ---------------------------------------------------------------------------------


async def verify_snapshot(
    repository: SnapshotRepository,
    snapshot_id: str,
    *,
    integration_ids: frozenset[str] | None = None,
) -> SnapshotVerification:
    """Read back every object snapshot ``snapshot_id`` references (or only those of
    ``integration_ids``) and report what is missing or corrupt.

    A manifest that does not parse, or an entry list that is missing, damaged or holds another
    number of entries than the record says, is reported (``manifest_problem``), not raised. Raises
    ``NotFoundError`` when the snapshot does not exist and ``StoreUnavailableError`` when the
    store cannot be read.
    """
    data = await repository.read_manifest_bytes(snapshot_id)
    try:
        parsed = parse_manifest(data)
    except ValueError as error:
        return _unreadable_manifest(snapshot_id, error)
    if parsed.snapshot_id != snapshot_id:
        return SnapshotVerification(
            snapshot_id=snapshot_id,
            objects_checked=0,
            manifest_problem=f"the manifest stored as {snapshot_id} describes another snapshot",
            ok=False,
        )
    # Every list is read even when only some integrations are asked for: which list holds
    # them is only known from the lists, and one that is gone may be the one.
    manifest, list_problem = _whole(parsed, await _read_lists(repository, [parsed]))
    wanted = {
        entry.hash
        for subscription in manifest.subscriptions
        for entry in subscription.integrations
        if integration_ids is None or entry.id in integration_ids
    }
    reads = await _read_all(repository, wanted)
    return _judge(manifest, reads, integration_ids, list_problem)


async def forgotten_ids(repository: SnapshotRepository) -> frozenset[str]:
    """The snapshot ids in prune's forget log."""
    return frozenset(await repository.list_documents(FORGOTTEN))


async def verify_repository(
    repository: SnapshotRepository, snapshot_ids: Sequence[str] | None = None
) -> VerificationReport:
    """Verify the snapshots named (default: all of them) and the whole manifest chain.

    Each distinct entry list and object is read once, however many snapshots reference it.
    Raises ``NotFoundError`` for a named snapshot that does not exist.
    """
    manifest_bytes = await _read_manifests(repository, await repository.list_snapshot_ids())
    stored_ids = sorted(manifest_bytes)
    forgotten = await forgotten_ids(repository)
    chain = verify_chain([(sid, manifest_bytes[sid]) for sid in stored_ids], forgotten)

    if snapshot_ids is None:
        checked_ids = list(stored_ids)
    else:
        checked_ids = list(dict.fromkeys(snapshot_ids))
        for sid in checked_ids:
            if sid not in manifest_bytes:
                manifest_bytes[sid] = await repository.read_manifest_bytes(sid)  # NotFoundError

    parsed: dict[str, AnyManifest] = {}
    verdicts: dict[str, SnapshotVerification] = {}
    for sid in checked_ids:
        try:
            manifest = parse_manifest(manifest_bytes[sid])
        except ValueError as error:
            verdicts[sid] = _unreadable_manifest(sid, error)
            continue
        if manifest.snapshot_id != sid:
            verdicts[sid] = SnapshotVerification(
                snapshot_id=sid,
                objects_checked=0,
                manifest_problem=f"the manifest stored as {sid} describes another snapshot",
                ok=False,
            )
            continue
        parsed[sid] = manifest

    lists = await _read_lists(repository, parsed.values())
    wholes = {sid: _whole(manifest, lists) for sid, manifest in parsed.items()}
    reads = await _read_all(
        repository, (h for whole, _ in wholes.values() for h in whole.referenced_hashes())
    )
    for sid, (whole, list_problem) in wholes.items():
        verdicts[sid] = _judge(whole, reads, None, list_problem)
    snapshots = tuple(verdicts[sid] for sid in checked_ids)

    stored = set(stored_ids)
    orphans = tuple(
        [
            audit_id
            for audit_id in await repository.list_documents(AUDITS)
            if audit_id not in stored
            and audit_id not in forgotten
            # written after we listed (a backup that just finished), or not a snapshot at all
            and not (is_snapshot_id(audit_id) and await repository.manifest_exists(audit_id))
        ]
    )
    return VerificationReport(
        ok=all(s.ok for s in snapshots) and chain.ok and not orphans,
        scope="all" if snapshot_ids is None else ", ".join(checked_ids),
        snapshots=snapshots,
        objects_checked=len(reads),
        chain=chain,
        forgotten=len(forgotten),
        orphan_audits=orphans,
    )


async def verify_all(repository: SnapshotRepository) -> VerificationReport:
    """Every snapshot, every object once, and the chain."""
    return await verify_repository(repository)
