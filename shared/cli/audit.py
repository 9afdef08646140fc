"""``cxbackup audit`` and ``cxbackup history``: what changed, where, and by whom."""

from __future__ import annotations

import argparse
import json
import sys

from shared.app import audit, history
from shared.cli.common import (
    CommandError,
    Console,
    add_json_option,
    add_store_option,
    runtime_from_args,
)
from shared.cli.snapshots import check_snapshot_reference
from shared.reports import AUDIT_FORMATS, render_json
from shared.triggers.requests import integration_id


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="what changed between two snapshots (default: the two latest)",
        description=(
            "FROM and TO are snapshot ids or 'latest'. With no TO, TO is the latest snapshot; "
            "with no FROM, the snapshot before TO."
        ),
    )
    parser.add_argument("from_snapshot", nargs="?", metavar="FROM")
    parser.add_argument("to_snapshot", nargs="?", metavar="TO")
    parser.add_argument("--format", choices=tuple(AUDIT_FORMATS), default="markdown")
    parser.add_argument("--subscription", action="append", metavar="ID", help="repeatable")
    parser.add_argument("--integration", action="append", metavar="ID", help="repeatable")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    add_store_option(parser)
    add_json_option(parser)
    parser.set_defaults(handler=run_audit)

    timeline = subparsers.add_parser(
        "history", help="every snapshot in which an integration changed, with who and when"
    )
    timeline.add_argument("integration_id", metavar="INTEGRATION_ID")
    add_store_option(timeline)
    add_json_option(timeline)
    timeline.set_defaults(handler=run_history)


def _ids(values: list[str] | None, option: str) -> frozenset[str] | None:
    """The ids given to a repeatable option, checked like the HTTP API checks them."""
    if not values:
        return None
    return frozenset(integration_id(value, name=option) for value in values)


def write_report(path: str, text: str) -> None:
    """Write a report to ``path``; a path that cannot be written is a clear error."""
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise CommandError(f"cannot write the audit to {path}: {error.strerror or error}") from None


async def run_audit(args: argparse.Namespace, console: Console) -> int:
    from_ref = check_snapshot_reference(args.from_snapshot) if args.from_snapshot else None
    to_ref = check_snapshot_reference(args.to_snapshot) if args.to_snapshot else None
    runtime = runtime_from_args(args, need_connxio=False)
    result = await audit(
        runtime,
        from_ref,
        to_ref,
        subscription_ids=_ids(args.subscription, "--subscription"),
        integration_ids=_ids(args.integration, "--integration"),
    )
    text = render_json(result) if console.json_mode else AUDIT_FORMATS[args.format][0](result)
    if args.output:
        write_report(args.output, text)
        print(f"wrote {args.format} audit to {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


async def run_history(args: argparse.Namespace, console: Console) -> int:
    runtime = runtime_from_args(args, need_connxio=False)
    timeline = await history(runtime, args.integration_id)
    if console.json_mode:
        print(json.dumps(timeline.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return 0
    console.line(
        f"integration {timeline.integration_id}: {len(timeline.events)} event(s) in "
        f"{timeline.snapshots_examined} snapshot(s)"
    )
    for event in timeline.events:
        who = f" by {event.updated_by}" if event.updated_by else ""
        when = f" at {event.updated_at}" if event.updated_at else ""
        console.line(f"{event.snapshot_id}  {event.kind:<8}  {event.label}{who}{when}")
        for path in event.changed_paths[:10]:
            console.line(f"    {path}")
        if len(event.changed_paths) > 10:
            console.line(f"    … and {len(event.changed_paths) - 10} more")
    return 0
