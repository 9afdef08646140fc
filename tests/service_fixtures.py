"""Fixtures for tests that run services against the simulator on loopback and a local store.

Both ``tests/services`` and ``tests/reliability`` use them: their conftests import the fixtures
from here, so the estate, the recorded retry waits and the clock are the same in both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from shared.clock import TickingClock
from shared.connxio import ClientCredentials, ConnxioClient, RetryPolicy
from shared.services.backup import BackupService
from shared.simulator import Simulator, SimulatorData, seed_estate
from shared.store.local import LocalBackend
from shared.store.repository import SnapshotRepository
from tests.support import RecordingSleep

START = datetime(2026, 12, 4, 2, 0, 0, tzinfo=UTC)


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
