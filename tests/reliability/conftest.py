"""Fault and bad-input tests: real parts misbehaving on purpose.

The Connxio side is the simulator on loopback with injected ``Fault`` rules; storage is a local
folder or a real Azurite that a test may stop and start (``isolated_azurite``). Retry waits are
recorded, never slept (``RecordingSleep``), and timeouts are small, so every test is fast and
deterministic. Nothing of ours is mocked. The simulator, client, store and backup service
fixtures are the ones in ``tests/service_fixtures.py`` (three subscriptions of four
integrations, all holding secrets).

Helpers the test modules import:

- ``assert_manifest_fully_stored``: every hash a manifest references can be read back and
  matches (nothing is recorded as backed up that was not stored);
- ``api_writes``: the requests that would have changed Connxio (POST/PUT/DELETE/PATCH);
- ``store_names``: every name in a backend, to prove that a rejected request changed nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shared.clock import TickingClock
from shared.connxio import RetryPolicy
from shared.core.manifest import SnapshotManifest, SubscriptionStatus
from shared.settings import load_settings
from shared.simulator import Simulator, describe_settings
from shared.store.backend import Backend
from shared.store.repository import SnapshotRepository
from shared.triggers.context import use_runtime
from shared.wiring import Runtime
from tests.service_fixtures import START

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


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
