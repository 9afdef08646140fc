"""The local-folder backend: one file per storage name, for the CLI and for tests without Azure.

Write-once without a lock: ``create`` writes the bytes to a uniquely named temp file in the
target folder, fsyncs it, then hard-links it to the final name. ``os.link`` fails atomically when
the final name exists, so of several concurrent writers (threads or processes) exactly one wins,
and the final name only ever points at a complete, synced file. A crash can leave a temp file
behind but never a partial object; temp files start with ``.tmp-``, which no valid storage name
can (``validate_name`` requires a segment to start with a letter, digit or ``_``), so they never
collide with objects and ``list`` never shows them.

Empty folders are left in place by ``delete``: pruning them would race with a concurrent
``create`` that has just made the folder and is about to write into it.

The filesystem must support hard links (local disks do; some network shares do not). A name
cannot be both an object and a folder here (``a`` and ``a/b``), which the blob backend would
allow; cxbackup's layout never needs that, and such a ``create`` raises ``InvalidNameError``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from shared.errors import (
    InvalidNameError,
    ObjectExistsError,
    ObjectNotFoundError,
    StoreUnavailableError,
)
from shared.store.backend import Backend, validate_name, validate_prefix

TEMP_PREFIX = ".tmp-"


class LocalBackend(Backend):
    """Write-once objects as files under ``root``; names map to relative paths.

    Construction touches nothing; ``create`` makes ``root`` and sub-folders as needed, and a
    missing ``root`` reads as an empty store.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()
        self.description = f"local folder {self.root}"

    # -- the Backend contract -------------------------------------------------------------------

    def create(self, name: str, data: bytes) -> None:
        path = self._path(name)
        folder = path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as error:
            if self.root.is_dir():  # the clash is inside the store: a file where a folder goes
                raise self._object_folder_clash(name) from None
            raise self._unavailable(f"create {name}", error) from None
        except OSError as error:
            raise self._unavailable(f"create {name}", error) from None
        temp = folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        try:
            with open(temp, "xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.link(temp, path)
        except FileExistsError:
            if path.is_dir():
                raise self._object_folder_clash(name) from None
            raise ObjectExistsError(
                f"{name} already exists in {self.description}; objects are write-once, "
                "so it was left unchanged"
            ) from None
        except OSError as error:
            raise self._unavailable(f"create {name}", error) from None
        finally:
            # Best effort: a temp file left behind is harmless (never listed, never a name),
            # and failing here would hide the outcome of the create itself.
            with contextlib.suppress(OSError):
                temp.unlink()
        _fsync_folder(folder)

    def read(self, name: str) -> bytes:
        path = self._path(name)
        try:
            with open(path, "rb") as file:
                return file.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise self._not_found(name) from None
        except OSError as error:
            raise self._unavailable(f"read {name}", error) from None

    def exists(self, name: str) -> bool:
        path = self._path(name)
        try:
            return path.is_file()
        except OSError as error:  # is_file() only raises for errors other than "not there"
            raise self._unavailable(f"check whether {name} exists", error) from None

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        # Validate now, walk later: an invalid prefix fails at the call, not at first next().
        return self._list(prefix)

    def delete(self, name: str) -> None:
        path = self._path(name)
        if path.is_dir():
            raise self._not_found(name)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            raise self._not_found(name) from None
        except OSError as error:
            raise self._unavailable(f"delete {name}", error) from None

    # -- helpers --------------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        """The file for ``name``; refuses names that would land outside ``root``.

        ``validate_name`` already excludes traversal; resolving as well catches a symlinked
        sub-folder that points elsewhere.
        """
        validate_name(name)
        path = self.root.joinpath(*name.split("/"))
        if not path.resolve().is_relative_to(self.root):
            raise InvalidNameError(
                f"storage name {name!r} resolves outside {self.description} (a symlink?); "
                "remove the link or point BACKUP_LOCAL_PATH at the real folder"
            )
        return path

    def _list(self, prefix: str) -> Iterator[str]:
        # Walk only the deepest folder the prefix fully names ("objects/ab/" or "objects/a"
        # both start at objects/), then filter and sort: the contract wants ascending byte order
        # of whole names, which a per-folder walk does not give ("a-b" < "a/b" < "a0").
        folder_part = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root.joinpath(*folder_part.split("/")) if folder_part else self.root
        names: list[str] = []

        def fail(error: OSError) -> None:
            if error.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise self._unavailable(f"list names under {prefix!r}", error) from None

        for dirpath, dirnames, filenames in os.walk(start, onerror=fail):
            # Skip dot-folders too; no valid name lives there.
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            relative = Path(dirpath).relative_to(self.root).as_posix()
            for filename in filenames:
                name = filename if relative == "." else f"{relative}/{filename}"
                if name.startswith(prefix) and _is_valid_name(name):
                    names.append(name)
        names.sort()
        yield from names

    def _not_found(self, name: str) -> ObjectNotFoundError:
        return ObjectNotFoundError(f"{name} does not exist in {self.description}")

    def _object_folder_clash(self, name: str) -> InvalidNameError:
        return InvalidNameError(
            f"cannot create {name} in {self.description}: part of the name is already used as "
            "a file or a folder (a local store cannot hold both 'a' and 'a/b')"
        )

    def _unavailable(self, action: str, error: OSError) -> StoreUnavailableError:
        reason = error.strerror or type(error).__name__
        return StoreUnavailableError(
            f"cannot {action} in {self.description}: {reason}; check that the folder exists, is "
            "writable by this user, is on a filesystem with hard links, and has free space "
            "(BACKUP_LOCAL_PATH)"
        )


def _is_valid_name(name: str) -> bool:
    """Whether a file found by ``list`` is an object (temp files and strays are not)."""
    try:
        validate_name(name)
    except InvalidNameError:
        return False
    return True


def _fsync_folder(folder: Path) -> None:
    """Make the new directory entry durable (POSIX); best effort where folders cannot be synced."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
