"""Use-case entry points shared by the Function App triggers and the CLI.

Each function takes a ``Runtime`` (settings, repository, clock), opens what the use case needs
for this one run (a Connxio client, for example), calls the services, and returns plain results.
Triggers and commands only translate requests into these calls and results into responses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared.core.manifest import SnapshotManifest, Trigger
from shared.services.backup import BackupResult, BackupService, Progress
from shared.wiring import Runtime, connxio_client

log = logging.getLogger("cxbackup")


@dataclass(frozen=True)
class BackupOutcome:
    result: BackupResult

    @property
    def manifest(self) -> SnapshotManifest:
        return self.result.manifest


async def take_backup(
    runtime: Runtime, trigger: Trigger, *, progress: Progress | None = None
) -> BackupOutcome:
    """Take a snapshot of every subscription."""
    connxio = runtime.settings.require_connxio()
    async with connxio_client(connxio, retry=runtime.retry) as client:
        service = BackupService(
            client=client,
            repository=runtime.repository,
            api_keys=connxio.api_keys,
            clock=runtime.clock,
            concurrency=connxio.concurrency,
        )
        result = await service.run(trigger, progress=progress)
    return BackupOutcome(result)


def backup_summary(outcome: BackupOutcome) -> dict:
    """The JSON summary of a backup, as the HTTP trigger and ``cxbackup backup --json`` show it."""
    manifest = outcome.manifest
    return {
        "snapshotId": manifest.snapshot_id,
        "status": manifest.status.value,
        "trigger": manifest.trigger.value,
        "startedAt": manifest.started_at.isoformat(),
        "finishedAt": manifest.finished_at.isoformat(),
        "integrations": manifest.integration_count(),
        "objectsWritten": outcome.result.objects_written,
        "bytesWritten": outcome.result.bytes_written,
        "subscriptions": [
            {
                "subscriptionId": s.subscription_id,
                "name": s.name,
                "status": s.status.value,
                "reason": s.reason,
                "integrations": len(s.integrations),
            }
            for s in manifest.subscriptions
        ],
        "warnings": list(manifest.warnings),
    }
