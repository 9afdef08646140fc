"""``cxbackup backup``: take a snapshot of every subscription now."""

from __future__ import annotations

import argparse

from shared.app import backup_summary, take_backup
from shared.cli.common import (
    CommandError,
    Console,
    add_json_option,
    add_store_option,
    runtime_from_args,
)
from shared.core.manifest import SnapshotStatus, Trigger

EXIT_PARTIAL = 3
EXIT_FAILED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="back up every subscription's integrations now",
        description="Snapshot every subscription that has an API key in CONNXIO_API_KEYS.",
    )
    parser.add_argument("--note", help="free text stored with the snapshot (at most 500 chars)")
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
    if args.note is not None and len(args.note) > 500:
        raise CommandError("--note is longer than 500 characters")
    outcome = await take_backup(runtime, Trigger.CLI, note=args.note, progress=console.progress)
    summary = backup_summary(outcome)
    console.document(summary)
    print_summary(console, summary)
    # A failed snapshot is recorded (with its reasons) but holds nothing: that is an error.
    return {
        SnapshotStatus.COMPLETE: 0,
        SnapshotStatus.PARTIAL: EXIT_PARTIAL,
        SnapshotStatus.FAILED: EXIT_FAILED,
    }[outcome.manifest.status]
