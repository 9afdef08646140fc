"""``cxbackup verify``, ``cxbackup prune`` and ``cxbackup acknowledge``: keeping the store sound.

Exit codes: 0 success; 3 ``verify`` found problems, or ``prune`` could not finish everything
(a backup was running, a manifest does not parse, or the store refused some deletes); 1 error.
"""

from __future__ import annotations

import argparse

from shared.app import acknowledge, prune, verify
from shared.cli.common import (
    CommandError,
    Console,
    add_json_option,
    add_store_option,
    runtime_from_args,
)
from shared.cli.snapshots import check_snapshot_reference
from shared.services.prune import Acknowledgement, PruneReport
from shared.services.verify import ObjectProblem, VerificationReport

EXIT_PROBLEMS = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser(
        "verify",
        help="re-read stored objects and check hashes and the manifest chain",
        description=(
            "Read back every object a snapshot references and check that it hashes to its "
            "address, parses, and holds the integration the manifest names; then walk the "
            "manifest chain to find removed or edited snapshots. SNAPSHOT is an id or 'latest'; "
            "without it (or with --all) every snapshot is checked. Exits 3 when anything is "
            "wrong."
        ),
    )
    check.add_argument("snapshot", nargs="?", metavar="SNAPSHOT")
    check.add_argument("--all", action="store_true", help="check every snapshot (the default)")
    add_store_option(check)
    add_json_option(check)
    check.set_defaults(handler=run_verify)

    forget = subparsers.add_parser(
        "prune",
        help="apply the retention policy: forget old snapshots, delete unreferenced objects",
        description=(
            "Forget the snapshots the retention policy (RETENTION_KEEP_LAST, _DAILY, _WEEKLY, "
            "_MONTHLY, RETENTION_GRACE_DAYS) lets go of, then delete the objects no remaining "
            "snapshot references. Pre-restore snapshots, the last good snapshot, snapshots "
            "within the grace period and the history of subscriptions under a mass-change hold "
            "are always kept. Use --dry-run first to see what would go."
        ),
    )
    forget.add_argument(
        "--dry-run", action="store_true", help="show what would be forgotten; change nothing"
    )
    add_store_option(forget)
    add_json_option(forget)
    forget.set_defaults(handler=run_prune)

    ack = subparsers.add_parser(
        "acknowledge",
        help="record that a snapshot's mass-change warning was reviewed (releases its hold)",
        description=(
            "A backup that finds a large share of a subscription's integrations gone or "
            "changed holds pruning of that subscription's history. Once someone has looked "
            "into it, acknowledge the snapshot that flagged it so retention applies again."
        ),
    )
    ack.add_argument("snapshot", metavar="SNAPSHOT", help="the snapshot id (or 'latest')")
    ack.add_argument("--by", required=True, metavar="NAME", help="who reviewed the change")
    ack.add_argument("--note", metavar="TEXT", help="what was found, for the record")
    add_store_option(ack)
    add_json_option(ack)
    ack.set_defaults(handler=run_acknowledge)


# -- verify ------------------------------------------------------------------------------------


def _object_line(kind: str, problem: ObjectProblem) -> str:
    ids = ", ".join(problem.integration_ids)
    return f"    {kind:<8} {problem.hash[:16]}…  integration(s) {ids}: {problem.detail}"


def print_verification(console: Console, report: VerificationReport) -> None:
    verdict = "ok" if report.ok else f"{report.problem_count()} problem(s)"
    console.line(
        f"verified {len(report.snapshots)} snapshot(s), {report.objects_checked} object(s): "
        f"{verdict}"
    )
    for snapshot in report.snapshots:
        if snapshot.ok:
            console.line(f"  {snapshot.snapshot_id}  ok ({snapshot.objects_checked} object(s))")
            continue
        console.line(
            f"  {snapshot.snapshot_id}  {len(snapshot.missing)} missing, "
            f"{len(snapshot.corrupt)} corrupt"
        )
        if snapshot.manifest_problem:
            console.line(f"    manifest {snapshot.manifest_problem}")
        for problem in snapshot.missing:
            console.line(_object_line("missing", problem))
        for problem in snapshot.corrupt:
            console.line(_object_line("corrupt", problem))
    chain = report.chain
    console.line(
        f"chain: {chain.checked} manifest(s), {chain.verified_links} link(s) verified, "
        f"{report.forgotten} snapshot(s) forgotten by prune: "
        + ("ok" if chain.ok else f"{len(chain.problems)} problem(s)")
    )
    for problem in chain.problems:
        console.line(f"    {problem.kind:<16} {problem.snapshot_id}: {problem.detail}")
    for audit_id in report.orphan_audits:
        console.line(
            f"    removed          {audit_id}: its audit is stored, but its manifest is gone "
            "and prune did not forget it"
        )
    if not report.ok:
        console.line(
            "The store cannot repair itself: restore from a snapshot that verified ok, and find "
            "out who or what could write to the store."
        )


async def run_verify(args: argparse.Namespace, console: Console) -> int:
    if args.snapshot and args.all:
        raise CommandError("give either SNAPSHOT or --all, not both")
    reference = check_snapshot_reference(args.snapshot) if args.snapshot else None
    runtime = runtime_from_args(args, need_connxio=False)
    report = await verify(runtime, reference)
    console.document(report.model_dump(mode="json"))
    print_verification(console, report)
    return 0 if report.ok else EXIT_PROBLEMS


# -- prune -------------------------------------------------------------------------------------


def _grace(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    if rest == 0:
        return f"{days} day(s)"
    return f"{seconds // 3600} hour(s)"


def print_prune(console: Console, report: PruneReport) -> None:
    policy = report.policy
    mode = " (dry run: nothing changed)" if report.dry_run else ""
    console.line(
        f"prune {report.prune_id}{mode}: keep last {policy.keep_last}, daily "
        f"{policy.keep_daily}, weekly {policy.keep_weekly}, monthly {policy.keep_monthly}; "
        f"grace {_grace(policy.grace_seconds)}"
    )
    for warning in report.warnings:
        console.line(f"  warning: {warning}")
    for hold in report.held:
        flagged = ", ".join(hold.flagged_in)
        console.line(
            f"  hold: subscription {hold.subscription_id} (mass change in {flagged}); "
            f"release with `cxbackup acknowledge {hold.flagged_in[-1]} --by NAME`"
        )
    console.line(f"  {len(report.keep)} kept, {len(report.forget)} to forget")
    for kept in report.keep:
        console.line(f"  keep    {kept.snapshot_id}  {'; '.join(kept.reasons)}")
    deleted = set(report.manifests_deleted)
    for snapshot_id in report.forget:
        done = "forgot " if snapshot_id in deleted else "forget "
        console.line(f"  {done} {snapshot_id}")
    verb = "would delete" if report.dry_run else "deleted"
    count = report.objects_unreferenced if report.dry_run else report.objects_deleted
    console.line(
        f"  objects: {report.objects_examined} stored, {report.objects_unreferenced} "
        f"referenced by no kept snapshot; {verb} {count}"
    )
    lists = report.entry_lists_unreferenced if report.dry_run else report.entry_lists_deleted
    console.line(
        f"  entry lists: {report.entry_lists_examined} stored, "
        f"{report.entry_lists_unreferenced} named by no kept snapshot; {verb} {lists}"
    )
    for refused in report.refused:
        console.line(f"  kept by the store: {refused.name}: {refused.reason}")
    for lock in report.ignored_locks:
        console.line(f"  lock of a finished or stale run ignored: {lock.describe()}")
    if report.dry_run and report.running:
        names = "; ".join(lock.describe() for lock in report.running)
        console.line(f"  running now: {names} (a real prune would wait for the next run)")
    if report.stopped:
        console.line(f"  stopped: {report.stopped}")
    if report.objects_skipped:
        console.line(f"  no object deleted: {report.objects_skipped}")


async def run_prune(args: argparse.Namespace, console: Console) -> int:
    runtime = runtime_from_args(args, need_connxio=False)
    report = await prune(runtime, dry_run=args.dry_run, holder="cli prune")
    console.document(report.model_dump(mode="json"))
    print_prune(console, report)
    if report.dry_run:
        return 0
    return 0 if report.finished_cleanly else EXIT_PROBLEMS


# -- acknowledge -------------------------------------------------------------------------------


def print_acknowledgement(console: Console, recorded: Acknowledgement) -> None:
    subscriptions = ", ".join(recorded.subscriptions)
    console.line(
        f"acknowledged the mass change in snapshot {recorded.snapshot_id} "
        f"(subscription(s) {subscriptions}) by {recorded.acknowledged_by}; the next prune "
        "applies the retention policy to their history again"
    )


async def run_acknowledge(args: argparse.Namespace, console: Console) -> int:
    reference = check_snapshot_reference(args.snapshot)
    if not args.by.strip():
        raise CommandError("--by must name who reviewed the change")
    runtime = runtime_from_args(args, need_connxio=False)
    recorded = await acknowledge(runtime, reference, by=args.by, note=args.note)
    console.document(recorded.model_dump(mode="json"))
    print_acknowledgement(console, recorded)
    return 0
