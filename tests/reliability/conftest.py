"""Fault and bad-input tests: real parts misbehaving on purpose.

The Connxio side is the simulator on loopback with injected ``Fault`` rules; storage is a local
folder or a real Azurite that a test may stop and start (``isolated_azurite``). Retry waits are
recorded, never slept (``RecordingSleep``), and timeouts are small, so every test is fast and
deterministic. Nothing of ours is mocked.

Helpers the test modules import:

- ``assert_manifest_fully_stored``: every hash a manifest references can be read back and
  matches (nothing is recorded as backed up that was not stored);
- ``api_writes``: the requests that would have changed Connxio (POST/PUT/DELETE/PATCH);
- ``store_names``: every name in a backend, to prove that a rejected request changed nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from shared.clock import TickingClock
from shared.connxio import ClientCredentials, ConnxioClient, RetryPolicy
from shared.core.manifest import SnapshotManifest, SubscriptionStatus
from shared.services.backup import BackupService
from shared.settings import load_settings
from shared.simulator import Simulator, SimulatorData, describe_settings, seed_estate
from shared.store.backend import Backend
from shared.store.local import LocalBackend
from shared.store.repository import SnapshotRepository
from shared.triggers.context import use_runtime
from shared.wiring import Runtime
from tests.support import RecordingSleep

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
START = datetime(2026, 12, 4, 2, 0, 0, tzinfo=UTC)


# -- helpers -----------------------------------------------------------------------------------


async def assert_manifest_fully_stored(
    repository: SnapshotRepository, manifest: SnapshotManifest
) -> None:
    """Every object the manifest references exists and matches its hash; a subscription that is
    not complete lists no integration it could not store, and the manifest itself is stored."""
    for digest in sorted(manifest.referenced_hashes()):
        await repository.read_object(digest)  # NotFoundError / CorruptObjectError otherwise
    stored = await repository.read_manifest(manifest.snapshot_id)
    assert stored == manifest
    for entry in manifest.subscriptions:
        if entry.status is not SubscriptionStatus.COMPLETE:
            assert entry.reason, f"{entry.subscription_id} is {entry.status} without a reason"


def api_writes(simulator: Simulator) -> list:
    """Requests that would have changed something on the Connxio side."""
    return [
        r for r in simulator.requests if r.path.startswith("/v2/") and r.method in WRITE_METHODS
    ]


def store_names(backend: Backend) -> list[str]:
    """Every stored name (objects, snapshots, audits, plans, restores, state)."""
    return sorted(backend.list(""))


def subscription_entry(manifest: SnapshotManifest, subscription_id: str):
    return next(s for s in manifest.subscriptions if s.subscription_id == subscription_id)


@asynccontextmanager
async def connxio_client(
    simulator: Simulator, retry: RetryPolicy, *, request_timeout: float = 30.0
) -> AsyncIterator[ConnxioClient]:
    credentials = ClientCredentials(
        token_url=simulator.token_url,
        client_id=simulator.client_id,
        client_secret=simulator.client_secret,
    )
    async with ConnxioClient(
        base_url=simulator.base_url, credentials=credentials, retry=retry, timeout=request_timeout
    ) as client:
        yield client


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def estate() -> SimulatorData:
    """Three subscriptions of four integrations each, every one holding Secret objects."""
    return seed_estate(subscriptions=3, integrations_per_subscription=4, seed=7)


@pytest.fixture
def simulator(estate: SimulatorData) -> Iterator[Simulator]:
    with Simulator(estate) as sim:
        yield sim


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def retry(sleeps: RecordingSleep) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, max_attempts=4)


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock(START)


@pytest.fixture
def repository(tmp_path) -> Iterator[SnapshotRepository]:
    repository = SnapshotRepository(LocalBackend(tmp_path / "store"))
    yield repository
    repository.close()


@pytest.fixture
async def client(simulator: Simulator, retry: RetryPolicy) -> AsyncIterator[ConnxioClient]:
    async with connxio_client(simulator, retry) as client:
        yield client


@pytest.fixture
def backup_service(simulator, client, repository, clock) -> BackupService:
    return BackupService(
        client=client, repository=repository, api_keys=simulator.api_keys, clock=clock
    )


@pytest.fixture
def app_settings(simulator: Simulator, azurite) -> dict[str, str]:
    """App settings as the Functions host passes them, on a fresh container of the session
    Azurite."""
    return {
        **describe_settings(simulator),
        "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "BACKUP_CONTAINER": f"rel-{uuid.uuid4().hex[:20]}",
        "BACKUP_SCHEDULE": "0 0 2 * * *",
    }


@pytest.fixture
def runtime(app_settings, sleeps) -> Iterator[Runtime]:
    """The Runtime the triggers use, installed as the process runtime for one test."""
    runtime = Runtime.from_settings(load_settings(app_settings), clock=TickingClock(START))
    runtime.retry = RetryPolicy(sleep=sleeps, max_attempts=3)
    use_runtime(runtime)
    yield runtime
    use_runtime(None)
    runtime.repository.close()
