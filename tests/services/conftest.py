"""Services run against the real simulator on loopback and a real store (local folder here;
the Blob backend is covered by the store contract suite and the function tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from shared.clock import TickingClock
from shared.connxio import ClientCredentials, ConnxioClient, RetryPolicy
from shared.services.backup import BackupService
from shared.simulator import Simulator, seed_estate
from shared.store.local import LocalBackend
from shared.store.repository import SnapshotRepository
from tests.support import RecordingSleep


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(seed_estate(subscriptions=3, integrations_per_subscription=4, seed=7)) as sim:
        yield sim


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def retry(sleeps: RecordingSleep) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, max_attempts=4)


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock(datetime(2026, 12, 4, 2, 0, 0, tzinfo=UTC))


@pytest.fixture
def repository(tmp_path) -> Iterator[SnapshotRepository]:
    repository = SnapshotRepository(LocalBackend(tmp_path / "store"))
    yield repository
    repository.close()


@pytest.fixture
async def client(simulator: Simulator, retry: RetryPolicy) -> AsyncIterator[ConnxioClient]:
    credentials = ClientCredentials(
        token_url=simulator.token_url,
        client_id=simulator.client_id,
        client_secret=simulator.client_secret,
    )
    async with ConnxioClient(
        base_url=simulator.base_url, credentials=credentials, retry=retry
    ) as client:
        yield client


@pytest.fixture
def backup_service(simulator, client, repository, clock) -> BackupService:
    return BackupService(
        client=client, repository=repository, api_keys=simulator.api_keys, clock=clock
    )
