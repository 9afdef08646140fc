"""``cxbackup restore``: plan a snapshot against the live state, and apply it when asked.

::

    cxbackup restore SNAPSHOT [--subscription ID ...] [--integration ID ...]
                     [--to-subscription ID] [--no-validation] [--delete-extra] [--force]
                     [--plan PLAN_ID] [--apply [--yes]] [--json] [--store FOLDER|blob]

Without ``--apply`` it only plans: it reads Connxio, stores the plan, prints it as a table
(action, integration, label, number of changes, then each field change as ``path: old → new``,
secrets hidden) and changes nothing. Unchanged integrations are counted, not listed: in an
estate of hundreds the table would otherwise hide the few that matter.

``--apply`` applies the plan just made, or with ``--plan`` one made (and reviewed) earlier;
SNAPSHOT must then be that plan's snapshot id. Before applying it asks the user to type the
snapshot id, which is the confirmation the restore service needs; ``--yes`` confirms without
asking (for scripts). Without a terminal to ask on and without ``--yes``, ``--apply`` is an
error, so a pipeline can never apply by accident.

``--force``: while planning, skip stored configs that cannot be read instead of failing; while
applying, overwrite integrations changed live since the plan was made (otherwise conflicts).

Exit codes: 0 planned, or applied with every item restored and verified; 3 applied, but some
items failed, conflicted, were skipped or did not verify; 1 refused or stopped (an aborted run
still prints its report); 2 bad usage.
"""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
from typing import Any

from shared.app import apply_restore, plan_restore
from shared.cli.common import (
    CommandError,
    Console,
    add_json_option,
    add_store_option,
    runtime_from_args,
)
from shared.core.audit import FieldChange
from shared.core.manifest import is_snapshot_id
from shared.core.plan import RestoreAborted, RestorePlan, RestoreReport
from shared.services.restore import PlanRequest, read_plan

EXIT_PARTIAL = 3
_VALUE_LIMIT = 120
_LABEL_LIMIT = 40
_SCOPE_FLAGS = ("subscription", "integration", "to_subscription", "no_validation", "delete_extra")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="plan (and with --apply, apply) a snapshot back to Connxio",
        description=(
            "Compare SNAPSHOT (a snapshot id or 'latest') with the live state and print the "
            "plan; nothing changes unless --apply is given and confirmed."
        ),
    )
    parser.add_argument("snapshot", metavar="SNAPSHOT")
    parser.add_argument(
        "--subscription",
        metavar="ID",
        action="append",
        help="restore only this subscription (repeatable; default: every complete one)",
    )
    parser.add_argument(
        "--integration",
        metavar="ID",
        action="append",
        help="restore only this integration (repeatable)",
    )
    parser.add_argument(
        "--to-subscription",
        metavar="ID",
        help="restore into this subscription as new integrations (one source subscription)",
    )
    parser.add_argument(
        "--no-validation",
        action="store_true",
        help="upsert through /v2/integrations/novalidation",
    )
    parser.add_argument(
        "--delete-extra",
        action="store_true",
        help="delete live integrations that the snapshot does not have (default: leave them)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="plan past unreadable stored configs; apply over integrations changed since the plan",
    )
    parser.add_argument(
        "--plan",
        metavar="PLAN_ID",
        help="apply this stored plan instead of making a new one (SNAPSHOT must be its snapshot)",
    )
    parser.add_argument("--apply", action="store_true", help="apply the plan (asks to confirm)")
    parser.add_argument(
        "--yes", action="store_true", help="with --apply: confirm without asking (scripts)"
    )
    add_store_option(parser)
    add_json_option(parser)
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, console: Console) -> int:
    _check_usage(args)
    runtime = runtime_from_args(args, need_connxio=True)
    if args.plan:
        plan = await read_plan(runtime.repository, args.plan)
        if args.snapshot != plan.snapshot_id:
            raise CommandError(
                f"plan {plan.plan_id} restores snapshot {plan.snapshot_id}, not {args.snapshot}: "
                "name the plan's snapshot id to apply it"
            )
    else:
        console.progress(f"planning the restore of {args.snapshot}")
        plan = await plan_restore(
            runtime,
            PlanRequest(
                snapshot=args.snapshot,
                subscription_ids=tuple(args.subscription) if args.subscription else None,
                integration_ids=tuple(args.integration) if args.integration else None,
                target_subscription_id=args.to_subscription,
                validation=not args.no_validation,
                delete_extra=args.delete_extra,
                force=args.force,
                requested_by=requested_by(),
            ),
        )
    print_plan(console, plan)
    if not args.apply:
        console.document({"plan": plan.model_dump(mode="json")})
        console.line(
            f"Nothing was changed. To apply: cxbackup restore {plan.snapshot_id} "
            f"--plan {plan.plan_id} --apply (before {plan.expires_at:%H:%M:%S} UTC)"
        )
        return 0

    confirm = plan.snapshot_id if args.yes else ask_confirmation(console, plan)
    console.progress(f"applying plan {plan.plan_id}")
    try:
        report = await apply_restore(
            runtime,
            plan_id=plan.plan_id,
            confirm_snapshot_id=confirm,
            requested_by=requested_by(),
            force=args.force,
        )
    except RestoreAborted as error:
        print_report(console, error.report)
        if console.json_mode:
            print(
                json.dumps(
                    {"error": str(error), "report": error.report.model_dump(mode="json")},
                    indent=2,
                    ensure_ascii=False,
                ),
                file=console.out,
            )
            print(f"cxbackup: error: {error}", file=console.err)
        else:
            console.error(str(error))
        return 1
    console.document(
        {"plan": plan.model_dump(mode="json"), "report": report.model_dump(mode="json")}
    )
    print_report(console, report)
    return 0 if report.ok else EXIT_PARTIAL


def _check_usage(args: argparse.Namespace) -> None:
    if args.snapshot != "latest" and not is_snapshot_id(args.snapshot):
        raise CommandError(
            f"{args.snapshot[:80]!r} is not a snapshot id (like 20261204T020000Z-3f9a1c) "
            "or 'latest'"
        )
    if args.yes and not args.apply:
        raise CommandError("--yes confirms --apply; add --apply to apply the plan")
    if args.plan:
        if not args.apply:
            raise CommandError("--plan applies a stored plan: add --apply")
        given = [f"--{f.replace('_', '-')}" for f in _SCOPE_FLAGS if getattr(args, f)]
        if given:
            raise CommandError(
                f"{', '.join(given)} cannot change a stored plan: make a new plan instead"
            )
        if args.snapshot == "latest":
            raise CommandError("with --plan, name the plan's snapshot id, not 'latest'")
    if args.apply and not args.yes and not _interactive():
        raise CommandError(
            "--apply needs a confirmation: run it in a terminal to type the snapshot id, "
            "or add --yes"
        )


def _interactive() -> bool:
    return bool(getattr(sys.stdin, "isatty", lambda: False)())


def ask_confirmation(console: Console, plan: RestorePlan) -> str:
    """The snapshot id the user types; anything else stops before anything is applied."""
    print(
        f"This will write {plan.counts.to_send} change(s) to Connxio "
        f"({_target_text(plan)}). Type the snapshot id {plan.snapshot_id} to apply: ",
        end="",
        file=console.err,
        flush=True,
    )
    answer = sys.stdin.readline().strip()
    if answer != plan.snapshot_id:
        raise CommandError("the confirmation did not match the snapshot id; nothing was applied")
    return answer


def requested_by() -> str:
    """``cli:<user>@<host>``, for the plan and the report."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no user name in some containers
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


# -- printing ----------------------------------------------------------------------------------


def _target_text(plan: RestorePlan) -> str:
    if plan.target_subscription_id is not None:
        return f"into subscription {plan.target_subscription_id}, as new integrations"
    return "each subscription into itself"


def print_plan(console: Console, plan: RestorePlan) -> None:
    counts = plan.counts
    console.line(
        f"Restore plan {plan.plan_id} of snapshot {plan.snapshot_id} "
        f"(taken {plan.snapshot_taken_at:%Y-%m-%d %H:%M:%S} UTC)"
    )
    console.line(f"  target:  {_target_text(plan)}")
    options = plan.options
    console.line(
        f"  options: {'server-side validation' if options.validation else 'no validation'}, "
        f"{'delete extras' if options.delete_extra else 'leave extras alone'}"
    )
    for note in plan.notes:
        console.line(f"  note:    {note}")
    listed = [i for i in plan.items if i.action != "unchanged"]
    if listed:
        console.line()
        width = max(len(i.integration_id) for i in listed)
        console.line(
            f"  {'ACTION':<10} {'INTEGRATION':<{width}}  {'LABEL':<{_LABEL_LIMIT}}  CHANGES"
        )
        subscription = None
        for item in listed:
            if item.subscription_id != subscription:
                subscription = item.subscription_id
                console.line(f"  subscription {subscription}:")
            changes = str(len(item.changes)) if item.action == "update" else "-"
            console.line(
                f"  {item.action:<10} {item.integration_id:<{width}}  "
                f"{_cut(item.label, _LABEL_LIMIT):<{_LABEL_LIMIT}}  {changes}"
            )
            for change in item.changes:
                console.line(f"      {change_text(change)}")
            if item.note and item.action not in ("extra",):
                console.line(f"      ({item.note})")
    console.line()
    console.line(
        f"  {counts.create} to create, {counts.update} to update ({counts.changes} field "
        f"change(s)), {counts.delete} to delete, {counts.unchanged} unchanged, "
        f"{counts.extra} extra (left alone), {counts.skip} skipped"
    )


def print_report(console: Console, report: RestoreReport) -> None:
    counts = report.counts
    console.line()
    console.line(f"Restore run {report.run_id}: {report.outcome}")
    if report.pre_restore_snapshot_id:
        console.line(
            f"  safety snapshot {report.pre_restore_snapshot_id} (restore it to undo this run)"
        )
    shown = [r for r in report.items if r.status != "unchanged" or r.verification == "mismatch"]
    if shown:
        width = max(len(r.integration_id) for r in shown)
        console.line(f"  {'STATUS':<10} {'VERIFIED':<12} {'INTEGRATION':<{width}}  MESSAGE")
        for result in shown:
            new = f" → {result.new_id}" if result.new_id else ""
            console.line(
                f"  {result.status:<10} {result.verification:<12} "
                f"{result.integration_id:<{width}}{new}  {result.message or ''}".rstrip()
            )
            for change in result.verification_changes:
                console.line(f"      {change_text(change)}")
    console.line(
        f"  {counts.created} created, {counts.updated} updated, {counts.deleted} deleted, "
        f"{counts.unchanged} unchanged, {counts.failed} failed, {counts.conflict} conflict, "
        f"{counts.skipped} skipped; {counts.verified} verified, {counts.mismatch} mismatch"
    )
    if report.message:
        console.line(f"  {report.message}")


def change_text(change: FieldChange) -> str:
    """``path: old → new`` (``+ new`` for an add, ``- old`` for a remove); secrets summarised."""
    if change.secret:
        return f"{change.path}: {change.summary or 'secret changed'}"
    if change.op == "add":
        return f"{change.path}: + {_value(change.new)}"
    if change.op == "remove":
        return f"{change.path}: - {_value(change.old)}"
    return f"{change.path}: {_value(change.old)} → {_value(change.new)}"


def _value(value: Any) -> str:
    return _cut(json.dumps(value, ensure_ascii=False), _VALUE_LIMIT)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
