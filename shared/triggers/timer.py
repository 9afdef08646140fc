"""The scheduled backup: runs on the NCRONTAB schedule in the ``BACKUP_SCHEDULE`` app setting."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.app import take_backup
from shared.core.manifest import SnapshotStatus, Trigger
from shared.errors import CxBackupError
from shared.triggers.context import current_runtime

log = logging.getLogger("cxbackup.timer")

bp = func.Blueprint()


class ScheduledBackupFailed(CxBackupError):
    """The scheduled backup stored nothing; raised so the run shows as failed in monitoring."""


# A failed run (nothing could be stored: storage down, every key refused) is retried twice, a few
# minutes apart, before the night is given up; a partial backup is a success and not retried.
@bp.timer_trigger(
    schedule="%BACKUP_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True
)
@bp.retry(
    strategy="exponential_backoff",
    max_retry_count="2",
    minimum_interval="00:02:00",
    maximum_interval="00:10:00",
)
async def scheduled_backup(timer: func.TimerRequest) -> None:
    if timer.past_due:
        log.warning("scheduled backup is running late (the timer was past due)")
    outcome = await take_backup(current_runtime(), Trigger.TIMER)
    manifest = outcome.manifest
    if manifest.status is SnapshotStatus.FAILED:
        reasons = "; ".join(
            f"{s.subscription_id}: {s.reason}" for s in manifest.subscriptions if s.reason
        )
        raise ScheduledBackupFailed(
            f"scheduled backup {manifest.snapshot_id} failed: {reasons or 'no subscription found'}"
        )
    if manifest.status is SnapshotStatus.PARTIAL:
        log.warning("scheduled backup %s is partial", manifest.snapshot_id)
