"""Function tests: the decorated functions themselves, called with real ``azure.functions``
request objects, wired through the real settings → wiring path to the simulator and Azurite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import azure.functions as func
import pytest

from shared.clock import TickingClock
from shared.connxio import RetryPolicy
from shared.settings import load_settings
from shared.simulator import Simulator, describe_settings, seed_estate
from shared.triggers.context import use_runtime
from shared.wiring import Runtime
from tests.support import no_sleep


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(seed_estate(subscriptions=2, integrations_per_subscription=3, seed=11)) as sim:
        yield sim


@pytest.fixture
def app_settings(simulator: Simulator, azurite) -> dict[str, str]:
    """App settings as the Functions host would pass them (local.settings.json 'Values')."""
    return {
        **describe_settings(simulator),
        "BACKUP_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "BACKUP_CONTAINER": f"fn-{uuid.uuid4().hex[:20]}",
        "BACKUP_SCHEDULE": "0 0 2 * * *",
    }


@pytest.fixture
def runtime(app_settings) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(
        load_settings(app_settings), clock=TickingClock(datetime(2026, 12, 4, 2, tzinfo=UTC))
    )
    runtime.retry = RetryPolicy(sleep=no_sleep, max_attempts=3)
    use_runtime(runtime)
    yield runtime
    use_runtime(None)
    runtime.repository.close()


def http_request(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    params: dict[str, str] | None = None,
    route_params: dict[str, str] | None = None,
) -> func.HttpRequest:
    return func.HttpRequest(
        method,
        url,
        body=body,
        params=params or {},
        route_params=route_params or {},
        headers={"content-type": "application/json"},
    )
