"""Each run leaves one structured record that Application Insights can query."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from shared import app
from shared.clock import TickingClock
from shared.core.manifest import Trigger
from shared.settings import load_settings
from shared.simulator import describe_settings
from shared.telemetry import EVENT_MARKER, parse_event
from shared.wiring import Runtime
from tests.support import edit_first_integration


def events(caplog, name: str) -> list[dict]:
    found = []
    for record in caplog.records:
        message = record.getMessage()
        if EVENT_MARKER in message and parse_event(message)["event"] == name:
            found.append(parse_event(message))
    return found


async def run_backup_twice(simulator, tmp_path, retry, caplog):
    caplog.set_level(logging.INFO)
    env = {**describe_settings(simulator), "BACKUP_LOCAL_PATH": str(tmp_path / "store")}
    runtime = Runtime.from_settings(
        load_settings(env), clock=TickingClock(datetime(2026, 12, 4, 2, tzinfo=UTC))
    )
    runtime.retry = retry
    await app.take_backup(runtime, Trigger.CLI)
    sid = simulator.subscription_ids[0]
    edit_first_integration(simulator, sid, "changed")
    return await app.take_backup(runtime, Trigger.CLI)


async def test_backup_record_carries_snapshot_counts_duration_and_status(
    simulator, tmp_path, retry, caplog
):
    outcome = await run_backup_twice(simulator, tmp_path, retry, caplog)
    record = events(caplog, "backup.finished")[-1]
    assert record["snapshot_id"] == outcome.manifest.snapshot_id
    assert record["status"] == "complete"
    assert record["integrations"] == outcome.manifest.integration_count()
    assert record["objects_written"] == 1
    assert isinstance(record["duration_ms"], int)


async def test_audit_record_carries_the_number_of_changes(simulator, tmp_path, retry, caplog):
    await run_backup_twice(simulator, tmp_path, retry, caplog)
    record = events(caplog, "audit.finished")[-1]
    assert record["integrations_modified"] == 1
    assert record["changes"] == 1
