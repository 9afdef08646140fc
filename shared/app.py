"""Use-case entry points shared by the Function App triggers and the CLI.

Each function takes a ``Runtime`` (settings, repository, clock), opens what the use case needs
for this one run (a Connxio client, for example), calls the services, and returns plain results.
Triggers and commands only translate requests into these calls and results into responses.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from shared.connxio import ConnxioClient
from shared.core.audit import Audit
from shared.core.manifest import ManifestRecord, SnapshotStatus, Trigger
from shared.core.plan import RestorePlan, RestoreReport
from shared.core.retention import RetentionPolicy
from shared.errors import CxBackupError
from shared.reports.notification import should_notify, webhook_message
from shared.services.audit import (
    IntegrationHistory,
    audit_between,
    audit_snapshots,
    diff_options,
    integration_history,
    store_audit,
)
from shared.services.backup import BackupResult, BackupService, Progress
from shared.services.notify import post_webhook
from shared.services.prune import Acknowledgement, PruneReport
from shared.services.prune import acknowledge as acknowledge_mass_change
from shared.services.prune import prune as prune_repository
from shared.services.restore import PlanRequest, RestoreService
from shared.services.verify import VerificationReport, verify_repository
from shared.settings import RetentionSettings
from shared.telemetry import log_event
from shared.wiring import Runtime, connxio_client

log = logging.getLogger("cxbackup")


@dataclass(frozen=True)
class BackupOutcome:
    result: BackupResult
    audit: Audit | None  # against the previous complete snapshot; None if it could not be made
    prune: PruneReport | None = None  # the retention run after a scheduled backup, if it ran

    @property
    def manifest(self) -> ManifestRecord:
        return self.result.manifest


async def take_backup(
    runtime: Runtime,
    trigger: Trigger,
    *,
    note: str | None = None,
    progress: Progress | None = None,
) -> BackupOutcome:
    """Take a snapshot of every subscription, audit it against the previous complete one, and
    (for scheduled backups) notify the audit webhook and apply the retention policy."""
    settings = runtime.settings
    connxio = settings.require_connxio()
    async with connxio_client(connxio, retry=runtime.retry) as client:
        service = BackupService(
            client=client,
            repository=runtime.repository,
            api_keys=connxio.api_keys,
            clock=runtime.clock,
            concurrency=connxio.concurrency,
            mass_change_threshold=settings.mass_change_threshold,
        )
        result, audit = await service.run_then(
            trigger,
            lambda stored: _audit_new_snapshot(runtime, stored),
            note=note,
            progress=progress,
        )
    # Scheduled backups report changes and failures; a mass change is worth a message whoever
    # started the backup.
    alarming = trigger is Trigger.TIMER or bool(result.manifest.mass_change_subscriptions)
    webhook = settings.audit_webhook_url if alarming else None
    if webhook and should_notify(result.manifest, audit):
        await post_webhook(webhook, webhook_message(result.manifest, audit))
    pruned = await _prune_after_backup(runtime) if trigger is Trigger.TIMER else None
    return BackupOutcome(result, audit, pruned)


async def _prune_after_backup(runtime: Runtime) -> PruneReport | None:
    """Retention after a scheduled backup. A failure is logged, never fatal: the backup is
    stored, and the next night's prune (or ``cxbackup prune``) does the work."""
    try:
        return await prune(runtime, holder="timer prune")
    except CxBackupError as error:
        log.warning("retention after the scheduled backup failed: %s", error)
        return None


async def _audit_new_snapshot(runtime: Runtime, result: BackupResult) -> Audit | None:
    """Store the audit of a new snapshot beside it. An audit failure is logged, never fatal:
    the snapshot is already safely stored, and the audit can be made later on demand."""
    manifest = result.manifest
    if manifest.status is SnapshotStatus.FAILED:
        return None
    repository = runtime.repository
    try:
        previous = result.previous
        if manifest.previous_snapshot_id is None:
            previous = None
        elif previous is None or previous.record.snapshot_id != manifest.previous_snapshot_id:
            previous = await repository.read_record(manifest.previous_snapshot_id)
        audit = await audit_snapshots(
            repository,
            previous.record if previous else None,
            manifest,
            generated_at=runtime.clock.now(),
            options=diff_options(runtime.settings.audit_ignore_fields),
            known_entries={**result.entries, **(previous.inline if previous else {})},
            known_documents=result.written_documents,
        )
        await store_audit(repository, audit)
    except CxBackupError as error:
        log.warning("audit of snapshot %s failed: %s", manifest.snapshot_id, error)
        return None
    s = audit.summary
    log_event(
        log,
        logging.INFO,
        "audit of %s against %s: %d added, %d modified, %d removed integration(s)",
        manifest.snapshot_id,
        audit.from_snapshot_id or "nothing (first snapshot)",
        s.integrations_added,
        s.integrations_modified,
        s.integrations_removed,
        event="audit.finished",
        snapshot_id=manifest.snapshot_id,
        from_snapshot_id=audit.from_snapshot_id,
        changes=s.changes,
        integrations_added=s.integrations_added,
        integrations_modified=s.integrations_modified,
        integrations_removed=s.integrations_removed,
    )
    return audit


async def audit(
    runtime: Runtime,
    from_reference: str | None,
    to_reference: str | None,
    *,
    subscription_ids: frozenset[str] | None = None,
    integration_ids: frozenset[str] | None = None,
) -> Audit:
    """The audit between two snapshots (default: the two latest)."""
    return await audit_between(
        runtime.repository,
        from_reference,
        to_reference,
        generated_at=runtime.clock.now(),
        options=diff_options(runtime.settings.audit_ignore_fields),
        subscription_ids=subscription_ids,
        integration_ids=integration_ids,
    )


async def history(runtime: Runtime, integration_id: str) -> IntegrationHistory:
    return await integration_history(
        runtime.repository,
        integration_id,
        options=diff_options(runtime.settings.audit_ignore_fields),
    )


def audit_summary(audit: Audit | None) -> dict | None:
    if audit is None:
        return None
    s = audit.summary
    return {
        "from": audit.from_snapshot_id,
        "to": audit.to_snapshot_id,
        "integrationsAdded": s.integrations_added,
        "integrationsModified": s.integrations_modified,
        "integrationsRemoved": s.integrations_removed,
        "subscriptionsAdded": s.subscriptions_added,
        "subscriptionsRemoved": s.subscriptions_removed,
        "changes": s.changes,
    }


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
                "integrations": s.integration_count,
            }
            for s in manifest.subscriptions
        ],
        "warnings": list(manifest.warnings),
        "audit": audit_summary(outcome.audit),
    }


# -- integrity and retention -------------------------------------------------------------------


def retention_policy(settings: RetentionSettings) -> RetentionPolicy:
    return RetentionPolicy(
        keep_last=settings.keep_last,
        keep_daily=settings.keep_daily,
        keep_weekly=settings.keep_weekly,
        keep_monthly=settings.keep_monthly,
        grace=settings.grace,
    )


async def verify(runtime: Runtime, reference: str | None = None) -> VerificationReport:
    """Verify one snapshot (an id or ``latest``) or, with no reference, every snapshot; the
    manifest chain is checked either way."""
    repository = runtime.repository
    if reference is None:
        return await verify_repository(repository)
    return await verify_repository(repository, [await repository.resolve_snapshot_id(reference)])


async def prune(runtime: Runtime, *, dry_run: bool = False, holder: str = "prune") -> PruneReport:
    """Apply the retention policy of the app settings now (``dry_run``: only report)."""
    return await prune_repository(
        runtime.repository,
        retention_policy(runtime.settings.retention),
        now=runtime.clock.now(),
        dry_run=dry_run,
        holder=holder,
    )


async def acknowledge(
    runtime: Runtime, reference: str, *, by: str, note: str | None = None
) -> Acknowledgement:
    """Record that a snapshot's mass change was reviewed, releasing its hold on pruning."""
    return await acknowledge_mass_change(
        runtime.repository, reference, by=by, note=note, at=runtime.clock.now()
    )


# -- restore -----------------------------------------------------------------------------------


def _restore_service(
    runtime: Runtime, client: ConnxioClient, api_keys: Mapping[str, str]
) -> RestoreService:
    return RestoreService(
        client=client, repository=runtime.repository, api_keys=api_keys, clock=runtime.clock
    )


async def plan_restore(runtime: Runtime, request: PlanRequest) -> RestorePlan:
    """Plan a restore (reads Connxio, never writes to it) and store the plan."""
    connxio = runtime.settings.require_connxio()
    async with connxio_client(connxio, retry=runtime.retry) as client:
        return await _restore_service(runtime, client, connxio.api_keys).plan(request)


async def apply_restore(
    runtime: Runtime,
    plan_id: str,
    *,
    confirm_snapshot_id: str | None,
    requested_by: str,
    force: bool = False,
) -> RestoreReport:
    """Apply a stored plan once, after a safety snapshot; returns the stored report.

    Raises ``RestoreRefused`` (nothing sent) or ``RestoreAborted`` (report stored, outcome
    ``aborted``); see ``shared.services.restore``.
    """
    connxio = runtime.settings.require_connxio()
    async with connxio_client(connxio, retry=runtime.retry) as client:
        return await _restore_service(runtime, client, connxio.api_keys).apply(
            plan_id, confirm_snapshot_id=confirm_snapshot_id, requested_by=requested_by, force=force
        )
