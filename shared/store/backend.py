"""The storage backend: the one seam between cxbackup and where bytes live.

A backend is a flat namespace of immutable byte objects addressed by names such as
``objects/ab/ab12...json`` or ``snapshots/20261204T020000Z-3f9a1c.json``. The contract, which
``tests/store/test_backend_contract.py`` runs against every implementation:

- ``create(name, data)`` writes ``data`` under ``name`` only if nothing is there yet (a
  conditional create, never an overwrite). If something is, it raises ``ObjectExistsError`` and
  leaves the existing object untouched. A reader never sees a partially written object: either
  the whole ``data`` is there or nothing is.
- ``read(name)`` returns the exact bytes written; ``ObjectNotFoundError`` when absent.
- ``exists(name)`` is true once ``create`` has returned, until ``delete``.
- ``list(prefix)`` yields every name starting with ``prefix``, in ascending byte order.
- ``delete(name)`` removes the object; ``ObjectNotFoundError`` when absent.
- Any failure to reach the storage raises ``StoreUnavailableError`` naming the backend.
- Every method validates ``name`` first (``validate_name``) and raises ``InvalidNameError``
  before touching storage.

Backends are synchronous; async services call them through ``asyncio.to_thread``. They must be
safe to call from several threads at once.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator

from shared.errors import InvalidNameError

# A name is one or more segments of ASCII letters, digits, '.', '_' and '-', joined by '/'.
# No segment may be empty, '.' or '..'; names are at most 512 characters. (Upper case is allowed
# because snapshot ids carry 'T' and 'Z'; names cxbackup makes never differ only in case, so a
# case-insensitive folder is safe.)
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
MAX_NAME_LENGTH = 512


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid storage name; raise ``InvalidNameError`` otherwise."""
    if not isinstance(name, str) or not name:
        raise InvalidNameError("storage name must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"storage name is longer than {MAX_NAME_LENGTH} characters")
    for segment in name.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            raise InvalidNameError(
                f"storage name {name[:80]!r} is not allowed: use letters, digits, "
                "'.', '_' and '-' in '/'-separated segments, without '.' or '..' segments"
            )
    return name


def validate_prefix(prefix: str) -> str:
    """A list prefix is empty, or a valid name optionally ending in '/'."""
    if prefix == "":
        return prefix
    validate_name(prefix.removesuffix("/"))
    return prefix


class Backend(ABC):
    """A flat store of write-once byte objects. See the module docstring for the contract."""

    #: shown in error messages and logs, e.g. "local folder /data" or "blob container backups"
    description: str = "backend"

    @abstractmethod
    def create(self, name: str, data: bytes) -> None: ...

    @abstractmethod
    def read(self, name: str) -> bytes: ...

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]: ...

    @abstractmethod
    def delete(self, name: str) -> None: ...
