"""The backend contract (see ``shared/store/backend.py``), proven once for every backend.

Every test taking ``backend`` runs against both the local folder and a blob container on a real
Azurite. Blob-only behaviour (outages, credentials, missing containers) follows at the end, also
against Azurite: nothing here is mocked.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from azure.storage.blob import ContainerClient

from shared.errors import (
    InvalidNameError,
    ObjectExistsError,
    ObjectNotFoundError,
    StoreUnavailableError,
)
from shared.store import Backend, BlobBackend, LocalBackend

if TYPE_CHECKING:
    from tests.azurite import Azurite

# A well-formed account key for backends that never reach a server.
ANY_KEY = "bm90LWEtcmVhbC1rZXktbm90LWEtcmVhbC1rZXktbm90LWEtcmVhbC1rZXk="

ONE_MEGABYTE = random.Random(20261204).randbytes(1_000_000)

INVALID_NAMES = [
    pytest.param("../x", id="parent-traversal"),
    pytest.param("/abs", id="absolute"),
    pytest.param("a//b", id="empty-segment"),
    pytest.param("a/../b", id="inner-traversal"),
    pytest.param("%2e%2e/x", id="percent-encoded-traversal"),
    pytest.param("a b", id="space"),
    pytest.param("caf\u00e9", id="non-ascii"),
    pytest.param("", id="empty"),
    pytest.param("x\\y", id="backslash"),
    pytest.param("a" * 600, id="600-characters"),
    pytest.param("objects/..", id="trailing-dotdot"),
    pytest.param("./x", id="dot-segment"),
    pytest.param("a/", id="trailing-slash"),
]

# Invalid as names but meaningful as list() prefixes: everything, and everything under "a/".
VALID_PREFIXES = ("", "a/")

OPERATIONS: dict[str, Callable[[Backend, str], object]] = {
    "create": lambda backend, name: backend.create(name, b"data"),
    "read": lambda backend, name: backend.read(name),
    "exists": lambda backend, name: backend.exists(name),
    "delete": lambda backend, name: backend.delete(name),
    "list": lambda backend, name: list(backend.list(name)),
}

# Every (operation, invalid name) pair, except the prefixes list() accepts.
INVALID_CALLS = [
    pytest.param(operation, name.values[0], id=f"{operation}-{name.id}")
    for operation in OPERATIONS
    for name in INVALID_NAMES
    if not (operation == "list" and name.values[0] in VALID_PREFIXES)
]


def closed_port() -> int:
    """A loopback port with nothing listening: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def blob_connection_string(port: int, key: str) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={key};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


@pytest.fixture(params=["local", "blob"])
def offline_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A backend whose storage cannot be used at all: any I/O would fail, never succeed.

    Local: the root lies under a regular file. Blob: the endpoint is a closed port (with no
    retries, so an accidental request fails fast instead of slowly).
    """
    if request.param == "local":
        blocker = tmp_path / "not-a-folder"
        blocker.write_bytes(b"")
        return LocalBackend(blocker / "store")
    client = ContainerClient.from_connection_string(
        blob_connection_string(closed_port(), ANY_KEY), "offline", retry_total=0
    )
    return BlobBackend(client)


def leave_crash_debris(backend: Backend, name: str) -> None:
    """Leave what a writer killed mid-create leaves behind, the way each backend would.

    Local: a temp file next to where the object would go. Blob: uncommitted blocks staged
    under the name (a large upload that never committed its block list).
    """
    if isinstance(backend, LocalBackend):
        folder = backend.root.joinpath(*name.split("/")[:-1])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f".tmp-{uuid.uuid4().hex}").write_bytes(b"half of an obj")
    elif isinstance(backend, BlobBackend):
        blob = backend.container_client.get_blob_client(name)
        blob.stage_block(block_id=uuid.uuid4().hex, data=b"half of an obj")
    else:  # pragma: no cover - a new backend must teach this helper its crash debris
        raise TypeError(f"no crash debris known for {type(backend).__name__}")


def run_concurrently(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` on ``count`` threads released at the same instant; return results/errors."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


# -- create and read ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b'{"id":"x","name":"\xc3\xa6\xc3\xb8\xc3\xa5"}', id="small-json"),
        pytest.param(bytes(range(256)), id="every-byte-value"),
        pytest.param(ONE_MEGABYTE, id="one-megabyte"),
    ],
)
def test_read_returns_exactly_the_bytes_created(backend: Backend, data: bytes) -> None:
    backend.create("objects/ab/ab12.json", data)

    assert backend.read("objects/ab/ab12.json") == data


def test_create_on_an_existing_name_raises_object_exists(backend: Backend) -> None:
    backend.create("snapshots/s1.json", b"original")

    with pytest.raises(ObjectExistsError, match=re.escape("snapshots/s1.json")):
        backend.create("snapshots/s1.json", b"replacement")


def test_failed_create_on_an_existing_name_keeps_the_original_bytes(backend: Backend) -> None:
    backend.create("snapshots/s1.json", b"original")

    with pytest.raises(ObjectExistsError):
        backend.create("snapshots/s1.json", b"replacement")

    assert backend.read("snapshots/s1.json") == b"original"


def test_read_of_a_missing_name_raises_object_not_found(backend: Backend) -> None:
    with pytest.raises(ObjectNotFoundError, match=re.escape("objects/00/missing.json")):
        backend.read("objects/00/missing.json")


def test_read_of_a_prefix_that_is_not_an_object_raises_object_not_found(backend: Backend) -> None:
    backend.create("objects/ab/ab12.json", b"{}")

    with pytest.raises(ObjectNotFoundError):
        backend.read("objects/ab")


# -- exists and delete -------------------------------------------------------------------------


def test_exists_is_false_before_create(backend: Backend) -> None:
    assert backend.exists("plans/p1.json") is False


def test_exists_is_true_after_create(backend: Backend) -> None:
    backend.create("plans/p1.json", b"{}")

    assert backend.exists("plans/p1.json") is True


def test_exists_is_false_after_delete(backend: Backend) -> None:
    backend.create("plans/p1.json", b"{}")

    backend.delete("plans/p1.json")

    assert backend.exists("plans/p1.json") is False


def test_read_after_delete_raises_object_not_found(backend: Backend) -> None:
    backend.create("plans/p1.json", b"{}")
    backend.delete("plans/p1.json")

    with pytest.raises(ObjectNotFoundError):
        backend.read("plans/p1.json")


def test_delete_of_a_missing_name_raises_object_not_found(backend: Backend) -> None:
    with pytest.raises(ObjectNotFoundError, match=re.escape("plans/missing.json")):
        backend.delete("plans/missing.json")


def test_a_deleted_name_can_be_created_again(backend: Backend) -> None:
    backend.create("objects/ab/ab12.json", b"first")
    backend.delete("objects/ab/ab12.json")

    backend.create("objects/ab/ab12.json", b"second")

    assert backend.read("objects/ab/ab12.json") == b"second"


# -- list --------------------------------------------------------------------------------------

# Chosen so that byte order differs from a per-folder walk and from case-insensitive order:
# 'C' < '-' < '.' < '/' < '0' < '_' < 'b'. (No two names differ only in case: a local store on
# a case-insensitive filesystem could not hold both.)
LISTED_NAMES = [
    "C",
    "a-b",
    "a.b",
    "a/b",
    "a/b-c/d",
    "a0",
    "a_c",
    "audits/20261204T020000Z-3f9a1c.json",
    "b",
    "objects/ab/ab12.json",
    "objects/ab/ab34.json",
    "objects/cd/cd56.json",
    "snapshots/20261204T020000Z-3f9a1c.json",
]


@pytest.fixture
def listed_backend(backend: Backend) -> Backend:
    """The backend holding LISTED_NAMES, created in a scrambled order."""
    for name in random.Random(7).sample(LISTED_NAMES, len(LISTED_NAMES)):
        backend.create(name, name.encode())
    return backend


def test_list_of_an_empty_store_yields_nothing(backend: Backend) -> None:
    assert list(backend.list()) == []


def test_list_without_prefix_yields_every_name_in_ascending_byte_order(
    listed_backend: Backend,
) -> None:
    assert list(listed_backend.list()) == sorted(LISTED_NAMES)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        pytest.param(
            "objects/",
            ["objects/ab/ab12.json", "objects/ab/ab34.json", "objects/cd/cd56.json"],
            id="folder",
        ),
        pytest.param("objects/ab/ab3", ["objects/ab/ab34.json"], id="partial-last-segment"),
        pytest.param("a", [n for n in LISTED_NAMES if n.startswith("a")], id="partial-first"),
        pytest.param("a/", ["a/b", "a/b-c/d"], id="short-folder"),
        pytest.param("snapshots/", ["snapshots/20261204T020000Z-3f9a1c.json"], id="snapshots"),
        pytest.param("restores/", [], id="no-match"),
    ],
)
def test_list_with_prefix_yields_only_names_starting_with_it_in_order(
    listed_backend: Backend, prefix: str, expected: list[str]
) -> None:
    assert list(listed_backend.list(prefix)) == expected


def test_list_does_not_yield_deleted_names(listed_backend: Backend) -> None:
    listed_backend.delete("objects/ab/ab12.json")

    assert "objects/ab/ab12.json" not in list(listed_backend.list("objects/"))


def test_crash_debris_is_neither_listed_nor_readable(backend: Backend) -> None:
    backend.create("objects/ab/ab12.json", b"{}")

    leave_crash_debris(backend, "objects/ab/ab34.json")

    assert list(backend.list()) == ["objects/ab/ab12.json"]
    assert backend.exists("objects/ab/ab34.json") is False
    with pytest.raises(ObjectNotFoundError):
        backend.read("objects/ab/ab34.json")


def test_local_create_succeeds_over_a_leftover_temp_file(local_backend: LocalBackend) -> None:
    # Local only: the blob backend writes objects with one Put Blob, which leaves no debris.
    # (Azurite would refuse If-None-Match over staged blocks, which a crashed multi-block
    # upload could leave; our objects are far below the 64 MiB single-put limit.)
    leave_crash_debris(local_backend, "objects/ab/ab34.json")

    local_backend.create("objects/ab/ab34.json", b"complete")

    assert local_backend.read("objects/ab/ab34.json") == b"complete"


def test_local_create_where_the_folder_cannot_exist_raises_store_unavailable(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    backend = LocalBackend(blocker / "store")

    with pytest.raises(StoreUnavailableError, match=re.escape(str(blocker / "store"))):
        backend.create("snapshots/s1.json", b"{}")


def test_local_name_under_an_existing_object_raises_invalid_name(
    local_backend: LocalBackend,
) -> None:
    # A folder cannot also be a file; blob storage would allow it, cxbackup's layout never needs it.
    local_backend.create("reports/r1", b"{}")

    with pytest.raises(InvalidNameError, match=re.escape("reports/r1/part")):
        local_backend.create("reports/r1/part", b"{}")


# -- name validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("operation", "name"), INVALID_CALLS)
def test_invalid_names_are_rejected_before_any_io(
    offline_backend: Backend, operation: str, name: str
) -> None:
    with pytest.raises(InvalidNameError):
        OPERATIONS[operation](offline_backend, name)


def test_list_rejects_an_invalid_prefix_at_the_call_not_at_iteration(
    offline_backend: Backend,
) -> None:
    with pytest.raises(InvalidNameError):
        offline_backend.list("../x")  # deliberately never iterated


def test_a_rejected_create_writes_nothing(backend: Backend) -> None:
    with pytest.raises(InvalidNameError):
        backend.create("objects/../escape.json", b"{}")

    assert list(backend.list()) == []


# -- concurrency -------------------------------------------------------------------------------


def test_concurrent_creates_of_one_name_let_exactly_one_writer_win(backend: Backend) -> None:
    payloads = [f"writer {i}".encode() * 100 for i in range(8)]

    results = run_concurrently(8, lambda i: backend.create("snapshots/race.json", payloads[i]))

    winners = [i for i, result in enumerate(results) if result is None]
    losers = [result for result in results if isinstance(result, ObjectExistsError)]
    assert len(winners) == 1
    assert len(losers) == 7
    assert backend.read("snapshots/race.json") == payloads[winners[0]]


def test_concurrent_creates_of_different_names_all_succeed(backend: Backend) -> None:
    names = [f"objects/{i:02x}/{i:064x}.json" for i in range(32)]

    results = run_concurrently(32, lambda i: backend.create(names[i], names[i].encode()))

    assert results == [None] * 32
    assert list(backend.list("objects/")) == sorted(names)


# -- blob only: outages, credentials, configuration (against real Azurite) ---------------------


def test_stopped_blob_storage_raises_store_unavailable_within_seconds(
    isolated_azurite: Azurite,
) -> None:
    backend = BlobBackend.from_connection_string(isolated_azurite.connection_string, "outage")
    backend.ensure_container()
    backend.create("snapshots/s1.json", b"{}")
    isolated_azurite.stop()

    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        backend.read("snapshots/s1.json")

    assert time.monotonic() - started < 5
    assert isolated_azurite.blob_endpoint in str(caught.value)


def test_unreachable_blob_storage_message_never_contains_the_account_key(
    isolated_azurite: Azurite,
) -> None:
    backend = BlobBackend.from_connection_string(isolated_azurite.connection_string, "outage")
    isolated_azurite.stop()

    with pytest.raises(StoreUnavailableError) as caught:
        backend.create("snapshots/s1.json", b"{}")

    assert isolated_azurite.account_key not in str(caught.value)
    assert "AccountKey" not in str(caught.value)


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_every_blob_operation_reports_unreachable_storage_as_store_unavailable(
    operation: str,
) -> None:
    port = closed_port()
    # No retries: this test is about how each operation reports the failure; how fast the
    # production retry policy gives up is the "within seconds" test above.
    client = ContainerClient.from_connection_string(
        blob_connection_string(port, ANY_KEY), "gone", retry_total=0
    )
    backend = BlobBackend(client)

    with pytest.raises(StoreUnavailableError, match=re.escape(f"127.0.0.1:{port}")):
        OPERATIONS[operation](backend, "snapshots/s1.json")


def test_blob_backend_works_again_after_azurite_restarts(isolated_azurite: Azurite) -> None:
    backend = BlobBackend.from_connection_string(isolated_azurite.connection_string, "restart")
    backend.ensure_container()
    backend.create("snapshots/s1.json", b"before the outage")
    isolated_azurite.stop()
    with pytest.raises(StoreUnavailableError):
        backend.exists("snapshots/s1.json")

    isolated_azurite.start()

    assert backend.read("snapshots/s1.json") == b"before the outage"


def test_blob_wrong_account_key_raises_store_unavailable_without_either_key(
    azurite: Azurite,
) -> None:
    wrong_key = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleQ=="
    backend = BlobBackend.from_connection_string(
        blob_connection_string(azurite.port, wrong_key), "wrongkey"
    )

    with pytest.raises(StoreUnavailableError, match="credentials") as caught:
        backend.ensure_container()

    assert wrong_key not in str(caught.value)
    assert azurite.account_key not in str(caught.value)


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_blob_missing_container_raises_store_unavailable_naming_it(
    azurite: Azurite, operation: str
) -> None:
    backend = BlobBackend.from_connection_string(azurite.connection_string, "never-created")

    with pytest.raises(StoreUnavailableError, match="container never-created does not exist"):
        OPERATIONS[operation](backend, "snapshots/s1.json")


def test_ensure_container_is_idempotent(blob_backend: BlobBackend) -> None:
    blob_backend.ensure_container()
    blob_backend.create("snapshots/s1.json", b"{}")

    blob_backend.ensure_container()

    assert blob_backend.read("snapshots/s1.json") == b"{}"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("objects/ab/ab12.json", "application/json"),
        ("reports/r1.html", "text/html; charset=utf-8"),
        ("blobs/b1", "application/octet-stream"),
    ],
)
def test_blob_content_type_follows_the_name(
    blob_backend: BlobBackend, name: str, content_type: str
) -> None:
    blob_backend.create(name, b"{}")

    properties = blob_backend.container_client.get_blob_client(name).get_blob_properties()
    assert properties.content_settings.content_type == content_type


def test_blob_backend_serves_32_concurrent_calls_without_exhausting_its_connection_pool(
    blob_backend: BlobBackend, caplog: pytest.LogCaptureFixture
) -> None:
    names = [f"objects/{i:02x}/{i:064x}.json" for i in range(32)]
    for name in names:
        blob_backend.create(name, b"{}")
    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")

    results = run_concurrently(32, lambda i: blob_backend.read(names[i]))

    assert results == [b"{}"] * 32
    assert "Connection pool is full" not in caplog.text
