"""``cxbackup demo``: the whole story, end to end, against an embedded simulator.

Back up, back up again (nothing changes, nothing is rewritten), make a bad edit and delete an
integration through the API, back up, audit what changed and who did it, then plan and apply a
restore of the first snapshot and prove the estate is back. Everything runs on loopback and in a
local folder; no account, no Azure, no network.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from shared import app
from shared.cli.common import CommandError, Console, add_json_option
from shared.cli.restore import print_plan, print_report
from shared.core.manifest import Trigger
from shared.reports import render_markdown
from shared.services.restore import PlanRequest
from shared.settings import load_settings
from shared.simulator import Simulator, describe_settings, seed_estate
from shared.wiring import Runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole story against an embedded simulator and a local store",
    )
    parser.add_argument(
        "--store",
        metavar="FOLDER",
        help="an empty folder to keep the demo's snapshots in (default: a new temporary folder)",
    )
    add_json_option(parser)
    parser.set_defaults(handler=run)


def _step(console: Console, number: int, text: str) -> None:
    console.line()
    console.line(f"── {number}. {text}")


async def run(args: argparse.Namespace, console: Console) -> int:
    folder = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="cxbackup-demo-"))
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise CommandError(f"--store {folder}: the demo needs an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    record: dict = {"store": str(folder)}

    with Simulator(seed_estate(subscriptions=3, integrations_per_subscription=4, seed=2026)) as sim:
        env = {**describe_settings(sim), "BACKUP_LOCAL_PATH": str(folder)}
        runtime = Runtime.from_settings(load_settings(env))
        try:
            await _story(console, sim, runtime, record)
        finally:
            runtime.repository.close()

    console.document(record)
    console.line()
    # Name the program as it was started (.venv/bin/cxbackup under `make demo`), so the hint
    # works when pasted.
    program = sys.argv[0] if Path(sys.argv[0]).name == "cxbackup" else "cxbackup"
    console.line(f"Done. The snapshots are in {folder}; explore them with, for example:")
    console.line(f"  {program} snapshots --store {folder}")
    console.line(f"  {program} audit --store {folder} --format html -o audit.html")
    return 0


async def _story(console: Console, sim: Simulator, runtime: Runtime, record: dict) -> None:
    _step(console, 1, f"A Connxio simulator is serving {sim.base_url}")
    subs = sim.subscriptions()
    for sub in subs:
        count = len(sim.integrations(sub["id"]))
        console.line(f"   subscription {sub['name']}: {count} integrations")

    _step(console, 2, "First backup")
    first = await app.take_backup(runtime, Trigger.CLI, progress=console.progress)
    _print_backup(console, first)
    record["first"] = app.backup_summary(first)

    _step(console, 3, "Second backup, nothing changed: only a manifest is written")
    second = await app.take_backup(runtime, Trigger.CLI)
    _print_backup(console, second)
    record["second"] = app.backup_summary(second)

    _step(console, 4, "Someone makes a bad edit and deletes an integration (through the API)")
    victim_sub = subs[0]["id"]
    configs = sim.integrations(victim_sub)
    edited = next(
        (c for c in configs if '"host"' in (c["inboundConnection"]["connectionProperties"] or "")),
        configs[0],
    )
    deleted = next(c for c in configs if c["id"] != edited["id"])
    connection = json.loads(edited["inboundConnection"]["connectionProperties"] or "{}")
    connection["host"] = "wrong-host.example"
    edited["inboundConnection"]["connectionProperties"] = json.dumps(connection)
    edited["description"] = "edited in a hurry"
    sim.put_integration(victim_sub, edited)
    sim.delete_integration(victim_sub, deleted["id"])
    console.line(f"   edited  {edited['id']} (connectionProperties.host, description)")
    console.line(f"   deleted {deleted['id']}")

    _step(console, 5, "Nightly backup picks it up, and the audit says what changed and who did it")
    third = await app.take_backup(runtime, Trigger.CLI)
    _print_backup(console, third)
    record["third"] = app.backup_summary(third)
    if third.audit is not None:
        console.line(render_markdown(third.audit))

    _step(console, 6, f"The edited integration's timeline (cxbackup history {edited['id']})")
    timeline = await app.history(runtime, edited["id"])
    for event in timeline.events:
        who = f" by {event.updated_by}" if event.updated_by else ""
        console.line(f"   {event.snapshot_id}  {event.kind}{who}  {', '.join(event.changed_paths)}")

    await _restore_chapter(console, sim, runtime, record, first, victim_sub)


def _print_backup(console: Console, outcome: app.BackupOutcome) -> None:
    summary = app.backup_summary(outcome)
    console.line(
        f"   snapshot {summary['snapshotId']}: {summary['status']}, "
        f"{summary['integrations']} integrations, {summary['objectsWritten']} new object(s) "
        f"written ({summary['bytesWritten']} bytes)"
    )


async def _restore_chapter(
    console: Console,
    sim: Simulator,
    runtime: Runtime,
    record: dict,
    first: app.BackupOutcome,
    subscription_id: str,
) -> None:
    snapshot_id = first.manifest.snapshot_id
    _step(console, 7, f"Plan a restore of {snapshot_id} for that subscription (nothing is sent)")
    plan = await app.plan_restore(
        runtime, PlanRequest(snapshot=snapshot_id, subscription_ids=(subscription_id,))
    )
    print_plan(console, plan)
    record["plan"] = plan.plan_id

    _step(console, 8, "Apply it, confirming the snapshot id; then verify the live state")
    report = await app.apply_restore(
        runtime, plan.plan_id, confirm_snapshot_id=snapshot_id, requested_by="cxbackup demo"
    )
    print_report(console, report)
    record["restore"] = report.run_id
