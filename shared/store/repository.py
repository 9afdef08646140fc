"""The snapshot repository: cxbackup's storage layout on top of any ``Backend``.

::

    objects/<sha256[:2]>/<sha256>.json   one integration config, canonical JSON; write-once
    entries/<sha256[:2]>/<sha256>.json   one subscription's integration entries (an entry list);
                                         write-once, shared by every snapshot that names it
    snapshots/<snapshot-id>.json         a manifest record; write-once, written after all the
                                         entry lists and objects it names
    audits/<snapshot-id>.json            the audit of that snapshot against the previous complete one
    plans/<plan-id>.json                 stored restore plans
    restores/<run-id>.json               restore reports
    state/...                            small write-once markers (acknowledgements, forget log)

Every blob is canonical JSON encoded by ``shared.store.codec`` (gzip); hashes, names and checks
are over the canonical bytes, so the encoding is invisible above this module.

Backends are synchronous; the repository runs their calls on its own thread pool so that async
services can keep many writes in flight (the default executor has only a handful of threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from shared.core.canonical import JsonValue, canonical_bytes, content_hash, parse_json
from shared.core.manifest import (
    EntriesByHash,
    EntryList,
    IntegrationEntry,
    ManifestRecord,
    SnapshotManifest,
    SnapshotStatus,
    as_record,
    assemble,
    is_snapshot_id,
    parse_manifest,
    record_bytes,
    record_of,
)
from shared.errors import (
    CorruptObjectError,
    InvalidNameError,
    NotFoundError,
    ObjectExistsError,
    ObjectNotFoundError,
)
from shared.store import codec
from shared.store.backend import Backend

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_HASH = re.compile(r"^[0-9a-f]{64}$")
# Ids of plans, restore runs and other documents: same shape rules as storage names.
_DOCUMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

SNAPSHOTS = "snapshots/"
OBJECTS = "objects/"
ENTRIES = "entries/"


def _addressed_name(prefix: str, digest: str) -> str:
    if not _HASH.fullmatch(digest):
        raise InvalidNameError(f"{digest[:80]!r} is not a sha256 content hash")
    return f"{prefix}{digest[:2]}/{digest}.json"


def object_name(digest: str) -> str:
    return _addressed_name(OBJECTS, digest)


def entry_list_name(digest: str) -> str:
    return _addressed_name(ENTRIES, digest)


def snapshot_name(snapshot_id: str) -> str:
    if not is_snapshot_id(snapshot_id):
        raise InvalidNameError(
            f"{snapshot_id[:80]!r} is not a snapshot id (expected e.g. 20261204T020000Z-3f9a1c)"
        )
    return f"{SNAPSHOTS}{snapshot_id}.json"


def document_name(kind: str, document_id: str) -> str:
    if not _DOCUMENT_ID.fullmatch(document_id) or ".." in document_id:
        raise InvalidNameError(f"{document_id[:80]!r} is not a valid {kind} id")
    return f"{kind}/{document_id}.json"


@dataclass(frozen=True)
class StoredRecord:
    """A stored manifest as its record: what a backup builds on without reading any entries."""

    record: ManifestRecord
    manifest_hash: str  # sha256 of the stored canonical bytes: what the chain records
    # Entry lists a format 1 or 2 manifest held inline, by hash: they are not stored as blobs
    # of their own, so whoever names them in a new record must write them first.
    inline: EntriesByHash = field(default_factory=dict)


EntryListProblem = Literal["missing", "damaged", "not a content hash"]


@dataclass(frozen=True)
class EntryListRead:
    """What reading one entry list found: its entries, or why they cannot be had."""

    entries: tuple[IntegrationEntry, ...] = ()
    problem: EntryListProblem | None = None


@dataclass(frozen=True)
class StoredObject:
    hash: str
    size: int  # canonical bytes
    written: bool  # False when identical bytes were already stored
    stored_size: int = 0  # bytes written to the backend (encoded); 0 when not written


class SnapshotRepository:
    """Objects, manifests and documents in one backend. Safe to share across tasks."""

    def __init__(self, backend: Backend, *, max_workers: int = 32) -> None:
        self.backend = backend
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="store")

    @property
    def description(self) -> str:
        return self.backend.description

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _read_decoded(self, name: str) -> bytes:
        return codec.decode(self.backend.read(name))

    async def _create_encoded(
        self, name: str, canonical: bytes, level: int = codec.COMPRESS_LEVEL
    ) -> int:
        """Create ``name`` holding ``canonical`` encoded; returns the stored size. Compressing
        on the store's threads (zlib releases the GIL) keeps it off the event loop."""

        def encode_and_create() -> int:
            stored = codec.encode(canonical, level)
            self.backend.create(name, stored)
            return len(stored)

        return await self._run(encode_and_create)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- objects -------------------------------------------------------------------------------

    async def put_object(self, data: bytes) -> StoredObject:
        """Store canonical bytes under their hash. Identical bytes already there are fine."""
        digest = content_hash(data)
        try:
            stored_size = await self._create_encoded(object_name(digest), data)
        except ObjectExistsError:
            return StoredObject(digest, len(data), written=False)
        return StoredObject(digest, len(data), written=True, stored_size=stored_size)

    async def put_document_object(self, document: JsonValue) -> StoredObject:
        return await self.put_object(canonical_bytes(document))

    async def _read_addressed(self, name: str, digest: str, what: str) -> bytes:
        """The canonical bytes stored under content address ``digest`` (at ``name``), checked
        against the hash; ``what`` names the item in errors ("object <hash>")."""
        try:
            data = await self._run(self._read_decoded, name)
        except ObjectNotFoundError:
            raise NotFoundError(
                f"{what} is missing from {self.description}; "
                "run `cxbackup verify --all` and restore from another snapshot"
            ) from None
        except codec.UndecodableError:
            raise CorruptObjectError(
                f"{what} in {self.description} is a damaged gzip stream; "
                "run `cxbackup verify` and restore from another snapshot"
            ) from None
        if content_hash(data) != digest:
            raise CorruptObjectError(
                f"{what} in {self.description} does not match its hash; "
                "run `cxbackup verify` and restore from another snapshot"
            )
        return data

    async def _list_addressed(self, prefix: str) -> list[str]:
        """The hashes stored under a content-addressed ``prefix`` (objects, entry lists)."""
        names = await self._run(lambda: list(self.backend.list(prefix)))
        return [n.rsplit("/", 1)[-1].removesuffix(".json") for n in names]

    async def read_object(self, digest: str) -> bytes:
        """The stored bytes of ``digest``, checked against the hash."""
        return await self._read_addressed(object_name(digest), digest, f"object {digest}")

    async def load_document(self, digest: str) -> JsonValue:
        data = await self.read_object(digest)
        try:
            return parse_json(data)
        except ValueError:
            raise CorruptObjectError(f"object {digest} in {self.description} is not JSON") from None

    async def list_object_hashes(self) -> list[str]:
        return await self._list_addressed(OBJECTS)

    async def delete_object(self, digest: str) -> None:
        await self._run(self.backend.delete, object_name(digest))

    # -- entry lists ---------------------------------------------------------------------------

    async def put_entry_list(self, data: bytes) -> str:
        """Store an entry list's canonical bytes under their hash (already there is fine)."""
        digest = content_hash(data)
        with contextlib.suppress(ObjectExistsError):
            await self._create_encoded(entry_list_name(digest), data)
        return digest

    async def read_entry_list(self, digest: str) -> tuple[IntegrationEntry, ...]:
        """The entries stored under ``digest``, checked against the hash."""
        what = f"entry list {digest}"
        data = await self._read_addressed(entry_list_name(digest), digest, what)
        try:
            return EntryList.model_validate_json(data).integrations
        except ValidationError:
            raise CorruptObjectError(
                f"{what} in {self.description} is not a valid entry list; run `cxbackup verify`"
            ) from None

    async def read_entry_lists(
        self, digests: Iterable[str], known: EntriesByHash | None = None
    ) -> dict[str, tuple[IntegrationEntry, ...]]:
        """The entries of each of ``digests``: from ``known`` where given, else the store."""
        known = known or {}
        wanted = sorted(set(digests))
        missing = [d for d in wanted if d not in known]
        loaded = await asyncio.gather(*(self.read_entry_list(d) for d in missing))
        found = dict(zip(missing, loaded, strict=True))
        found.update((d, known[d]) for d in wanted if d in known)
        return found

    async def survey_entry_lists(self, digests: Iterable[str]) -> dict[str, EntryListRead]:
        """Read each of ``digests`` once, reporting instead of raising: a list that is missing,
        damaged (bad gzip, another hash, not an entry list) or named by something that is not
        a hash (an edited record can name anything). For verify and prune, which must go on."""

        async def one(digest: str) -> EntryListRead:
            try:
                return EntryListRead(await self.read_entry_list(digest))
            except NotFoundError:
                return EntryListRead(problem="missing")
            except CorruptObjectError:
                return EntryListRead(problem="damaged")
            except InvalidNameError:
                return EntryListRead(problem="not a content hash")

        wanted = sorted(set(digests))
        return dict(zip(wanted, await asyncio.gather(*(one(d) for d in wanted)), strict=True))

    async def list_entry_list_hashes(self) -> list[str]:
        return await self._list_addressed(ENTRIES)

    async def entry_list_exists(self, digest: str) -> bool:
        return await self._run(self.backend.exists, entry_list_name(digest))

    async def delete_entry_list(self, digest: str) -> None:
        await self._run(self.backend.delete, entry_list_name(digest))

    # -- manifests -----------------------------------------------------------------------------

    async def put_record(self, record: ManifestRecord) -> bytes:
        """Write a manifest record once; ``ObjectExistsError`` if the id is taken. The entry
        lists it names must be stored already. Returns its canonical bytes (what the chain
        hashes)."""
        data = record_bytes(record)
        await self._create_encoded(snapshot_name(record.snapshot_id), data)
        return data

    async def put_manifest(self, manifest: SnapshotManifest) -> bytes:
        """Write a whole manifest: its entry lists, then its record (see ``put_record``)."""
        record, lists = record_of(manifest)
        await asyncio.gather(*(self.put_entry_list(data) for data in lists.values()))
        return await self.put_record(record)

    async def list_snapshot_ids(self) -> list[str]:
        """Every snapshot id, oldest first (ids sort in time order)."""
        names = await self._run(lambda: list(self.backend.list(SNAPSHOTS)))
        ids = [n.removeprefix(SNAPSHOTS).removesuffix(".json") for n in names]
        return sorted(i for i in ids if is_snapshot_id(i))

    async def read_manifest_bytes(self, snapshot_id: str) -> bytes:
        """The manifest's canonical bytes (decoded); what the chain hashes."""
        name = snapshot_name(snapshot_id)
        try:
            return await self._run(self._read_decoded, name)
        except ObjectNotFoundError:
            raise NotFoundError(
                f"snapshot {snapshot_id} does not exist in {self.description}; "
                "list snapshots to see which do"
            ) from None
        except codec.UndecodableError:
            raise CorruptObjectError(
                f"manifest of snapshot {snapshot_id} in {self.description} is a damaged gzip "
                "stream; run `cxbackup verify --all`"
            ) from None

    async def read_record(self, snapshot_id: str) -> StoredRecord:
        """The stored manifest as a record, without reading its entry lists (see ``StoredRecord``
        for manifests stored before records)."""
        data = await self.read_manifest_bytes(snapshot_id)
        parsed = self._parse(snapshot_id, data)
        record, inline = as_record(parsed)
        return StoredRecord(record, content_hash(data), inline)

    async def read_manifest(self, snapshot_id: str) -> SnapshotManifest:
        """The whole manifest: the record with every entry list it names read in (a format 1
        or 2 manifest holds its entries already)."""
        data = await self.read_manifest_bytes(snapshot_id)
        parsed = self._parse(snapshot_id, data)
        if isinstance(parsed, SnapshotManifest):
            return parsed
        lists = await self.read_entry_lists(s.entries_sha256 for s in parsed.subscriptions)
        return assemble(parsed, lists)

    def _parse(self, snapshot_id: str, data: bytes) -> ManifestRecord | SnapshotManifest:
        try:
            return parse_manifest(data)
        except ValidationError:
            raise CorruptObjectError(
                f"manifest of snapshot {snapshot_id} in {self.description} is not a valid "
                "manifest; run `cxbackup verify --all`"
            ) from None

    async def delete_manifest(self, snapshot_id: str) -> None:
        await self._run(self.backend.delete, snapshot_name(snapshot_id))

    async def manifest_exists(self, snapshot_id: str) -> bool:
        return await self._run(self.backend.exists, snapshot_name(snapshot_id))

    async def latest_manifest(
        self, *, status: SnapshotStatus | None = None, before: str | None = None
    ) -> SnapshotManifest | None:
        """The newest manifest (with ``status``, older than snapshot ``before``); None if none."""
        for snapshot_id in reversed(await self.list_snapshot_ids()):
            if before is not None and snapshot_id >= before:
                continue
            manifest = await self.read_manifest(snapshot_id)
            if status is None or manifest.status is status:
                return manifest
        return None

    async def resolve_snapshot_id(self, reference: str) -> str:
        """``latest`` → the newest snapshot id; an id → itself if it exists."""
        if reference == "latest":
            ids = await self.list_snapshot_ids()
            if not ids:
                raise NotFoundError(f"there are no snapshots in {self.description} yet")
            return ids[-1]
        snapshot_name(reference)  # validates the shape first: InvalidNameError
        if not await self._run(self.backend.exists, snapshot_name(reference)):
            raise NotFoundError(
                f"snapshot {reference} does not exist in {self.description}; "
                "list snapshots to see which do"
            )
        return reference

    # -- documents: audits, plans, restore reports ----------------------------------------------

    async def put_document(self, kind: str, document_id: str, model: BaseModel) -> None:
        data = canonical_bytes(model.model_dump(mode="json"))
        await self._create_encoded(document_name(kind, document_id), data)

    async def read_document(self, kind: str, document_id: str, model: type[M]) -> M:
        name = document_name(kind, document_id)
        try:
            data = await self._run(self._read_decoded, name)
        except ObjectNotFoundError:
            raise NotFoundError(
                f"{kind.rstrip('s')} {document_id} does not exist in {self.description}"
            ) from None
        except codec.UndecodableError:
            raise CorruptObjectError(f"{name} in {self.description} is damaged") from None
        try:
            return model.model_validate_json(data)
        except ValidationError:
            raise CorruptObjectError(f"{name} in {self.description} does not parse") from None

    async def delete_document(self, kind: str, document_id: str) -> None:
        """Remove a document; ``ObjectNotFoundError`` when it is not there."""
        await self._run(self.backend.delete, document_name(kind, document_id))

    async def object_exists(self, digest: str) -> bool:
        return await self._run(self.backend.exists, object_name(digest))

    async def document_exists(self, kind: str, document_id: str) -> bool:
        return await self._run(self.backend.exists, document_name(kind, document_id))

    async def list_documents(self, kind: str) -> list[str]:
        names = await self._run(lambda: list(self.backend.list(f"{kind}/")))
        return sorted(n.removeprefix(f"{kind}/").removesuffix(".json") for n in names)
