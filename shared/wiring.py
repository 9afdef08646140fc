"""Wiring: Settings in, ready-to-use adapters and services out.

The only module that knows which concrete backend, client and clock go together. Triggers and
the CLI ask it for what they need; services never read settings themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from shared.clock import Clock, SystemClock
from shared.connxio import ClientCredentials, ConnxioClient, RetryPolicy
from shared.settings import ConnxioSettings, Settings, StorageSettings
from shared.store.backend import Backend
from shared.store.blob import BlobBackend
from shared.store.local import LocalBackend
from shared.store.repository import SnapshotRepository


def build_backend(storage: StorageSettings) -> Backend:
    """The backend that ``storage`` names. Makes no network call: with only an account URL,
    the Blob client carries a ``DefaultAzureCredential`` (managed identity in Azure) and no
    connection string or key."""
    if storage.local_path:
        return LocalBackend(Path(storage.local_path))
    if storage.connection_string:
        return BlobBackend.from_connection_string(storage.connection_string, storage.container)
    assert storage.account_url  # load_storage_settings guarantees one of the three
    return BlobBackend.from_account_url(storage.account_url, storage.container)


def build_repository(storage: StorageSettings) -> SnapshotRepository:
    """The repository over ``storage``, with its Blob container created when missing."""
    backend = build_backend(storage)
    if isinstance(backend, BlobBackend):
        backend.ensure_container()
    return SnapshotRepository(backend)


@asynccontextmanager
async def connxio_client(
    settings: ConnxioSettings, *, retry: RetryPolicy | None = None
) -> AsyncIterator[ConnxioClient]:
    """A client for one run. httpx clients belong to one event loop, so each run makes its own."""
    credentials = ClientCredentials(
        token_url=settings.token_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scope=settings.scope,
    )
    client = ConnxioClient(
        base_url=settings.base_url,
        credentials=credentials,
        retry=retry or RetryPolicy(),
        timeout=settings.timeout,
    )
    async with client:
        yield client


@dataclass
class Runtime:
    """What a trigger or a CLI command needs, built once per process from Settings."""

    settings: Settings
    repository: SnapshotRepository
    clock: Clock
    retry: RetryPolicy | None = None  # None → the client's default policy

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        return cls(settings, build_repository(settings.storage), clock or SystemClock())
