"""``cxbackup backup``: take a snapshot of every subscription now."""

from __future__ import annotations

import argparse

from shared.app import backup_summary, take_backup
from shared.cli.common import Console, add_json_option, add_store_option, runtime_from_args
from shared.core.manifest import SnapshotStatus, Trigger

EXIT_PARTIAL = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="back up every subscription's integrations now",
        description="Snapshot every subscription that has an API key in CONNXIO_API_KEYS.",
    )
    add_store_option(parser)
    add_json_option(parser)
    parser.set_defaults(handler=run)


def print_summary(console: Console, summary: dict) -> None:
    console.line(
        f"snapshot {summary['snapshotId']}: {summary['status']}, "
        f"{summary['integrations']} integration(s), "
        f"{summary['objectsWritten']} new object(s) ({summary['bytesWritten']} bytes)"
    )
    for sub in summary["subscriptions"]:
        reason = f" — {sub['reason']}" if sub["reason"] else ""
        console.line(
            f"  {sub['name'] or sub['subscriptionId']} ({sub['subscriptionId']}): "
            f"{sub['status']}, {sub['integrations']} integration(s){reason}"
        )
    for warning in summary["warnings"]:
        console.line(f"  warning: {warning}")


async def run(args: argparse.Namespace, console: Console) -> int:
    runtime = runtime_from_args(args, need_connxio=True)
    console.progress(f"backing up into {runtime.repository.description}")
    outcome = await take_backup(runtime, Trigger.CLI, progress=console.progress)
    summary = backup_summary(outcome)
    console.document(summary)
    print_summary(console, summary)
    return 0 if outcome.manifest.status is SnapshotStatus.COMPLETE else EXIT_PARTIAL
