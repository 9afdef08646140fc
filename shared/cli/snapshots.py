"""``cxbackup snapshots`` and ``cxbackup show``: what is stored."""

from __future__ import annotations

import argparse
import sys

from shared.cli.common import (
    CommandError,
    Console,
    add_json_option,
    add_store_option,
    runtime_from_args,
)
from shared.core.canonical import parse_json
from shared.core.manifest import is_snapshot_id
from shared.services.snapshots import get_snapshot, get_stored_integration, list_snapshots
from shared.triggers.http import snapshot_listing_item


def register(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser("snapshots", help="list snapshots, newest first")
    listing.add_argument("--limit", type=int, default=20, help="how many (1-200, default 20)")
    add_store_option(listing)
    add_json_option(listing)
    listing.set_defaults(handler=run_list)

    show = subparsers.add_parser(
        "show",
        help="show a snapshot, or one integration as it was stored",
        description="SNAPSHOT is a snapshot id or 'latest'.",
    )
    show.add_argument("snapshot", metavar="SNAPSHOT")
    show.add_argument("--integration", metavar="ID", help="print this integration's stored JSON")
    add_store_option(show)
    add_json_option(show)
    show.set_defaults(handler=run_show)


def check_snapshot_reference(value: str) -> str:
    if value != "latest" and not is_snapshot_id(value):
        raise CommandError(
            f"{value[:80]!r} is not a snapshot id (like 20261204T020000Z-3f9a1c) or 'latest'"
        )
    return value


async def run_list(args: argparse.Namespace, console: Console) -> int:
    if not 1 <= args.limit <= 200:
        raise CommandError("--limit must be between 1 and 200")
    runtime = runtime_from_args(args, need_connxio=False)
    page = await list_snapshots(runtime.repository, limit=args.limit)
    items = [snapshot_listing_item(m) for m in page.items]
    console.document({"items": items, "total": page.total})
    if not items:
        console.line(f"no snapshots in {runtime.repository.description} yet")
    for item in items:
        warn = f"  ⚠ {len(item['warnings'])} warning(s)" if item["warnings"] else ""
        console.line(
            f"{item['snapshotId']}  {item['status']:<8}  {item['trigger']:<11}  "
            f"{item['subscriptions']} subscription(s), {item['integrations']} integration(s){warn}"
        )
    return 0


async def run_show(args: argparse.Namespace, console: Console) -> int:
    reference = check_snapshot_reference(args.snapshot)
    runtime = runtime_from_args(args, need_connxio=False)
    if args.integration:
        stored = await get_stored_integration(runtime.repository, reference, args.integration)
        if console.json_mode:
            console.document(parse_json(stored.data))
        else:
            # The stored bytes exactly as stored, so they can be piped or diffed as they are.
            sys.stdout.write(stored.data.decode("utf-8") + "\n")
        return 0
    manifest = await get_snapshot(runtime.repository, reference)
    console.document(manifest.model_dump(mode="json"))
    console.line(
        f"snapshot {manifest.snapshot_id} ({manifest.trigger.value}): {manifest.status.value}, "
        f"{manifest.started_at:%Y-%m-%d %H:%M:%S} → {manifest.finished_at:%H:%M:%S} UTC"
    )
    for sub in manifest.subscriptions:
        reason = f" — {sub.reason}" if sub.reason else ""
        console.line(f"  {sub.name or ''} ({sub.subscription_id}): {sub.status.value}{reason}")
        for entry in sub.integrations:
            who = f"  (last changed by {entry.updated_by})" if entry.updated_by else ""
            console.line(f"    {entry.id}  {entry.label}{who}")
    for warning in manifest.warnings:
        console.line(f"  warning: {warning}")
    return 0
