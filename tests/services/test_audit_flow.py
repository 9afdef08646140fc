"""Audits where they run: after every backup, on demand, and as an integration's timeline."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared import app
from shared.clock import TickingClock
from shared.core.manifest import Trigger
from shared.errors import NotFoundError
from shared.services.audit import stored_audit
from shared.settings import load_settings
from shared.simulator import Fault, describe_settings
from shared.store.repository import entry_list_name
from shared.wiring import Runtime
from tests.support import edit_first_integration


class WebhookReceiver:
    """A real HTTP endpoint on loopback that records what it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


def make_runtime(simulator, tmp_path, retry, **extra: str) -> Runtime:
    env = {**describe_settings(simulator), "BACKUP_LOCAL_PATH": str(tmp_path / "store"), **extra}
    runtime = Runtime.from_settings(
        load_settings(env), clock=TickingClock(datetime(2026, 12, 4, 2, tzinfo=UTC))
    )
    runtime.retry = retry
    return runtime


def edit_one(simulator) -> dict:
    sid = simulator.subscription_ids[0]
    return edit_first_integration(simulator, sid, "changed by a person")


async def test_every_backup_stores_its_audit_against_the_previous_complete_snapshot(
    simulator, tmp_path, retry
):
    runtime = make_runtime(simulator, tmp_path, retry)
    first = await app.take_backup(runtime, Trigger.CLI)
    edited = edit_one(simulator)
    second = await app.take_backup(runtime, Trigger.CLI)
    audit = await stored_audit(runtime.repository, second.manifest.snapshot_id)
    assert audit.from_snapshot_id == first.manifest.snapshot_id
    assert audit.changed_integration_ids() == (edited["id"],)
    assert second.audit == audit


async def test_an_unchanged_backup_and_its_audit_read_no_entry_list(simulator, tmp_path, retry):
    runtime = make_runtime(simulator, tmp_path, retry)
    await app.take_backup(runtime, Trigger.CLI)
    repository = runtime.repository
    for digest in await repository.list_entry_list_hashes():  # reading one would now fail
        repository.backend.delete(entry_list_name(digest))

    second = await app.take_backup(runtime, Trigger.CLI)

    assert second.audit is not None and not second.audit.has_changes
    assert second.audit.summary.integrations_unchanged == second.manifest.integration_count()
    assert await repository.list_entry_list_hashes() == []  # and wrote none


async def test_backup_summary_carries_the_audit_counts(simulator, tmp_path, retry):
    runtime = make_runtime(simulator, tmp_path, retry)
    await app.take_backup(runtime, Trigger.CLI)
    edit_one(simulator)
    summary = app.backup_summary(await app.take_backup(runtime, Trigger.CLI))
    assert summary["audit"]["integrationsModified"] == 1


async def test_audit_on_demand_defaults_to_the_two_latest_snapshots(simulator, tmp_path, retry):
    runtime = make_runtime(simulator, tmp_path, retry)
    await app.take_backup(runtime, Trigger.CLI)
    second = await app.take_backup(runtime, Trigger.CLI)
    edit_one(simulator)
    third = await app.take_backup(runtime, Trigger.CLI)
    audit = await app.audit(runtime, None, None)
    assert (audit.from_snapshot_id, audit.to_snapshot_id) == (
        second.manifest.snapshot_id,
        third.manifest.snapshot_id,
    )


async def test_history_lists_each_snapshot_where_the_integration_changed(
    simulator, tmp_path, retry
):
    runtime = make_runtime(simulator, tmp_path, retry)
    first = await app.take_backup(runtime, Trigger.CLI)
    await app.take_backup(runtime, Trigger.CLI)  # nothing changed: no event
    edited = edit_one(simulator)
    third = await app.take_backup(runtime, Trigger.CLI)
    editor = simulator.get_integration(simulator.subscription_ids[0], edited["id"])["updatedBy"]
    simulator.delete_integration(simulator.subscription_ids[0], edited["id"])
    fourth = await app.take_backup(runtime, Trigger.CLI)

    timeline = await app.history(runtime, edited["id"])
    assert [(e.snapshot_id, e.kind) for e in timeline.events] == [
        (first.manifest.snapshot_id, "added"),
        (third.manifest.snapshot_id, "modified"),
        (fourth.manifest.snapshot_id, "removed"),
    ]
    assert timeline.events[1].changed_paths == ("/description",)
    assert timeline.events[1].updated_by == editor


async def test_history_of_an_unknown_integration_is_not_found(simulator, tmp_path, retry):
    runtime = make_runtime(simulator, tmp_path, retry)
    await app.take_backup(runtime, Trigger.CLI)
    with pytest.raises(NotFoundError):
        await app.history(runtime, "no-such-integration")


async def test_scheduled_backup_with_changes_notifies_the_webhook(
    simulator, tmp_path, retry, receiver
):
    runtime = make_runtime(simulator, tmp_path, retry, AUDIT_WEBHOOK_URL=receiver.url)
    await app.take_backup(runtime, Trigger.TIMER)
    edited = edit_one(simulator)
    await app.take_backup(runtime, Trigger.TIMER)
    assert len(receiver.bodies) == 1
    text = receiver.bodies[0]["text"]
    assert "1 modified" in text
    assert edited["transactionType"] in text


async def test_scheduled_backup_without_changes_sends_nothing(simulator, tmp_path, retry, receiver):
    runtime = make_runtime(simulator, tmp_path, retry, AUDIT_WEBHOOK_URL=receiver.url)
    await app.take_backup(runtime, Trigger.TIMER)
    await app.take_backup(runtime, Trigger.TIMER)
    assert receiver.bodies == []


async def test_partial_scheduled_backup_notifies_the_webhook(simulator, tmp_path, retry, receiver):
    runtime = make_runtime(simulator, tmp_path, retry, AUDIT_WEBHOOK_URL=receiver.url)
    simulator.revoke_key(simulator.subscription_ids[1])
    await app.take_backup(runtime, Trigger.TIMER)
    assert "partial" in receiver.bodies[0]["text"]


async def test_failing_webhook_never_fails_the_backup(simulator, tmp_path, retry, caplog):
    hook = WebhookReceiver(status=500)
    try:
        runtime = make_runtime(simulator, tmp_path, retry, AUDIT_WEBHOOK_URL=hook.url)
        simulator.revoke_key(simulator.subscription_ids[1])
        outcome = await app.take_backup(runtime, Trigger.TIMER)
    finally:
        hook.close()
    assert outcome.manifest.status.value == "partial"
    assert any("webhook" in r.getMessage() for r in caplog.records)
    assert all("secret-token" not in r.getMessage() for r in caplog.records)


async def test_unreachable_webhook_never_fails_the_backup(simulator, tmp_path, retry):
    runtime = make_runtime(
        simulator, tmp_path, retry, AUDIT_WEBHOOK_URL="http://127.0.0.1:9/unreachable"
    )
    simulator.inject(Fault("status", status=503, path=r"/v2/integrations", times=None))
    outcome = await app.take_backup(runtime, Trigger.TIMER)
    assert outcome.manifest.status.value == "failed"


async def test_audit_of_the_latest_pair_is_served_from_the_stored_audit(simulator, tmp_path, retry):
    runtime = make_runtime(simulator, tmp_path, retry)
    await app.take_backup(runtime, Trigger.CLI)
    edit_one(simulator)
    second = await app.take_backup(runtime, Trigger.CLI)
    on_demand = await app.audit(runtime, None, None)
    assert on_demand == second.audit  # same generated_at: read back, not recomputed


async def test_a_filtered_audit_is_computed_not_read_back(simulator, tmp_path, retry):
    runtime = make_runtime(simulator, tmp_path, retry)
    await app.take_backup(runtime, Trigger.CLI)
    edited = edit_one(simulator)
    second = await app.take_backup(runtime, Trigger.CLI)
    filtered = await app.audit(runtime, None, None, integration_ids=frozenset({edited["id"]}))
    assert filtered.generated_at != second.audit.generated_at
    assert filtered.changed_integration_ids() == (edited["id"],)


async def test_a_mass_change_found_by_any_backup_notifies_the_webhook(
    simulator, tmp_path, retry, receiver
):
    runtime = make_runtime(simulator, tmp_path, retry, AUDIT_WEBHOOK_URL=receiver.url)
    await app.take_backup(runtime, Trigger.HTTP)
    wiped = simulator.subscription_ids[0]
    for config in simulator.integrations(wiped):
        simulator.delete_integration(wiped, config["id"])
    await app.take_backup(runtime, Trigger.HTTP)
    assert len(receiver.bodies) == 1
    assert "mass change" in receiver.bodies[0]["text"]
