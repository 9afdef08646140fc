"""``CountingBackend``: a ``Backend`` decorator that counts what reaches the store.

It wraps any backend (the benchmark wraps ``BlobBackend``) and counts, per operation, the calls
made and the bytes written and read, without changing what the inner backend does: every call
is passed through, every exception propagates unchanged. It is thread-safe, since the
repository calls its backend from up to 32 threads at once.

A ``list`` call is counted as one request per page the Blob service would return (5,000 names
a page), so listing 12,000 names counts 3 requests, like the wire would.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from shared.errors import ObjectExistsError
from shared.store.backend import Backend

LIST_PAGE_SIZE = 5000  # names per List Blobs page (the service's default maximum)


class CountingBackend(Backend):
    """Counts the calls and bytes that pass through to ``inner``."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.description = inner.description
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self.bytes_written = 0  # bytes of every create sent (existing objects included)
        self.bytes_read = 0
        self.objects_created = 0  # creates that stored something new
        self.creates_existing = 0  # creates refused because the name was taken
        self._creates_by_kind: Counter[str] = Counter()  # "objects", "snapshots", "audits"...

    # -- counters --------------------------------------------------------------------------------

    def _count(self, op: str, n: int = 1) -> None:
        with self._lock:
            self._calls[op] += n

    @property
    def requests(self) -> int:
        with self._lock:
            return sum(self._calls.values())

    def snapshot(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        with self._lock:
            return {
                "requests": sum(self._calls.values()),
                "by_op": dict(sorted(self._calls.items())),
                "bytes_written": self.bytes_written,
                "bytes_read": self.bytes_read,
                "objects_created": self.objects_created,
                "creates_existing": self.creates_existing,
                "creates_by_kind": dict(sorted(self._creates_by_kind.items())),
            }

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self.bytes_written = self.bytes_read = 0
            self.objects_created = self.creates_existing = 0
            self._creates_by_kind.clear()

    # -- the Backend contract, passed through ------------------------------------------------

    def create(self, name: str, data: bytes) -> None:
        self._count("create")
        with self._lock:
            self.bytes_written += len(data)
            self._creates_by_kind[name.split("/", 1)[0]] += 1
        try:
            self.inner.create(name, data)
        except ObjectExistsError:
            with self._lock:
                self.creates_existing += 1
            raise
        with self._lock:
            self.objects_created += 1

    def read(self, name: str) -> bytes:
        self._count("read")
        data = self.inner.read(name)
        with self._lock:
            self.bytes_read += len(data)
        return data

    def exists(self, name: str) -> bool:
        self._count("exists")
        return self.inner.exists(name)

    def list(self, prefix: str = "") -> Iterator[str]:
        names = self.inner.list(prefix)  # validates now, like the inner backend does
        self._count("list")
        return self._counted_list(names)

    def _counted_list(self, names: Iterator[str]) -> Iterator[str]:
        for seen, name in enumerate(names, start=1):
            if seen > LIST_PAGE_SIZE and seen % LIST_PAGE_SIZE == 1:
                self._count("list")  # the next page
            yield name

    def delete(self, name: str) -> None:
        self._count("delete")
        self.inner.delete(name)
