"""Storage fixtures shared by every test folder: Azurite, and one backend of each kind.

One Azurite serves the whole run (``azurite``); each test that needs blob storage gets its own
fresh container on it (``blob_backend``), so tests never see each other's objects. Tests that
stop and restart the emulator get a private one (``isolated_azurite``). ``backend`` runs a test
once per backend kind: that is how the store contract is proven for both.

If Azurite is not installed the Azurite fixtures raise (run ``npm ci``): the suite fails rather
than silently skipping the blob half.

The fixtures for running services against the simulator (``simulator``, ``client``,
``repository``, ``backup_service``...) live in ``tests/service_fixtures.py``, registered here
for every folder; a folder's own conftest overrides any of them (tests/connxio, tests/cli and
tests/functions bring their own simulator).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import AzureError

from shared.store import Backend, BlobBackend, LocalBackend

try:  # `python -m pytest` puts the repo root on sys.path; bare `pytest` puts tests/ there.
    from tests.azurite import Azurite
except ImportError:
    from azurite import Azurite  # type: ignore[no-redef]

pytest_plugins = ["tests.service_fixtures"]

BACKEND_KINDS = [pytest.param("local"), pytest.param("blob", marks=pytest.mark.azurite)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses an Azurite fixture, so ``-m "not azurite"`` can deselect them."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if {"azurite", "isolated_azurite", "blob_backend"} & set(fixtures):
            item.add_marker(pytest.mark.azurite)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One Azurite for the whole test run, started on first use."""
    emulator = Azurite(tmp_path_factory.mktemp("azurite"))
    emulator.start()
    yield emulator
    emulator.close()


@pytest.fixture
def isolated_azurite(tmp_path: Path) -> Iterator[Azurite]:
    """A private Azurite that the test may stop, start and restart without disturbing others."""
    emulator = Azurite(tmp_path / "azurite")
    emulator.start()
    yield emulator
    emulator.close()


@pytest.fixture
def blob_backend(azurite: Azurite) -> Iterator[BlobBackend]:
    """A BlobBackend on a fresh, uniquely named container of the session Azurite."""
    backend = BlobBackend.from_connection_string(
        azurite.connection_string, f"test-{uuid.uuid4().hex[:24]}"
    )
    backend.ensure_container()
    yield backend
    with contextlib.suppress(AzureError):  # tidy up; Azurite's data dies with the run anyway
        backend.container_client.delete_container()


@pytest.fixture
def local_backend(tmp_path: Path) -> LocalBackend:
    """A LocalBackend on an empty folder of its own."""
    return LocalBackend(tmp_path / "store")


@pytest.fixture(params=BACKEND_KINDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn: a test using this runs once per backend kind."""
    return request.getfixturevalue(f"{request.param}_backend")
