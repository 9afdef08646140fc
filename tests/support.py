"""Small helpers several test folders share (no fixtures here: those live in conftest.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from shared.core.canonical import canonical_bytes, content_hash
from shared.core.manifest import IntegrationEntry, SnapshotManifest, Trigger, integration_label
from shared.services.backup import BackupService
from shared.simulator import Simulator
from shared.store import codec
from shared.store.repository import SnapshotRepository, object_name


class RecordingSleep:
    """Stands in for ``asyncio.sleep`` in a retry policy: records each wait, waits not.

    Retries are declared at the edge; tests switch the waiting off instead of patching."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def no_sleep(_seconds: float) -> None:
    """An async sleep that returns at once, for retry policies whose waits a test ignores."""


class ConfigStore:
    """Configs by content hash, counting loads, as the snapshot repository would serve them to
    the pure audit code."""

    def __init__(self) -> None:
        self.configs: dict[str, Any] = {}
        self.loads: list[str] = []

    def entry(self, config: dict[str, Any]) -> IntegrationEntry:
        data = canonical_bytes(config)
        digest = content_hash(data)
        self.configs[digest] = json.loads(data)
        return IntegrationEntry(
            id=config["id"],
            label=integration_label(config),
            hash=digest,
            size=len(data),
            updated_by=config.get("updatedBy"),
            updated_at=config.get("updatedAtUtc"),
        )

    def load(self, digest: str) -> Any:
        self.loads.append(digest)
        return copy.deepcopy(self.configs[digest])


def edit_first_integration(
    simulator: Simulator, subscription_id: str, description: str
) -> dict[str, Any]:
    """Change the description of a subscription's first integration live, as a person would
    in the portal; returns the config as sent."""
    config = simulator.integrations(subscription_id)[0]
    config["description"] = description
    simulator.put_integration(subscription_id, config)
    return config


def decrypted_values(value: Any) -> set[str]:
    """Every non-empty ``decryptedValue`` string in a document: the secrets a test must never
    find in logs or outputs."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "decryptedValue" and isinstance(item, str) and item:
                found.add(item)
            else:
                found |= decrypted_values(item)
    elif isinstance(value, list):
        for item in value:
            found |= decrypted_values(item)
    return found


def live_secret_values(simulator: Any) -> set[str]:
    """Every ``decryptedValue`` in the simulator's live estate."""
    return {
        value
        for sid in simulator.subscription_ids
        for config in simulator.integrations(sid)
        for value in decrypted_values(config)
    }


def stored_text(path: Path) -> str:
    """A file of a local store as the JSON text it holds (blobs are stored gzip-compressed)."""
    return codec.decode(path.read_bytes()).decode("utf-8")


async def assert_every_reference_is_stored(repository: SnapshotRepository) -> None:
    """Every object each stored manifest references exists."""
    for snapshot_id in await repository.list_snapshot_ids():
        manifest = await repository.read_manifest(snapshot_id)
        for digest in manifest.referenced_hashes():
            assert repository.backend.exists(object_name(digest)), (snapshot_id, digest)


async def whole_snapshot(
    service: BackupService,
    repository: SnapshotRepository,
    trigger: Trigger = Trigger.CLI,
    **kwargs: Any,
) -> SnapshotManifest:
    """Take a backup and read its manifest back whole (every entry inline), as readers see it."""
    result = await service.run(trigger, **kwargs)
    return await repository.read_manifest(result.manifest.snapshot_id)
