"""The restore use case: plan a snapshot against the live state, then apply the plan.

Planning is the default and always the first step; it reads and never writes to Connxio:

1. resolve the snapshot (an id or ``latest``) and the scope: by default every subscription the
   snapshot holds *completely* (a skipped or failed one is left out with a note, since its
   absence of integrations says nothing); named subscriptions must be complete in it; named
   integration ids must be in it, and without named subscriptions only the subscriptions that
   hold them are read at all;
2. load the stored configs in scope (``load_document`` checks every hash: a corrupt or missing
   object fails the plan, unless the plan is forced, which turns it into a ``skip`` item);
3. read the live configs of each target subscription (``GET /v2/integrations``);
4. build the plan (:func:`shared.core.plan.build_plan`) and store it write-once under
   ``plans/<plan-id>.json``. The plan pins the content hash of every config it will send.

Applying takes a stored plan's id, so what someone reviewed is exactly what is applied:

1. refuse unless the confirmation names the plan's snapshot (``latest`` does not count);
2. refuse a plan that was already applied: the first apply creates the write-once marker
   ``state/restore-claims/<plan-id>.json`` (a conditional create, so of two concurrent applies
   exactly one wins) before it sends anything; a replayed apply fails with
   :class:`PlanAlreadyApplied`, naming the run that applied it;
3. refuse a plan past its ``expires_at`` (default one hour after planning; time from the clock);
4. take a safety snapshot of the target subscriptions (trigger ``pre-restore``, with a note
   naming the snapshot and plan), so the restore itself can be undone by restoring that
   snapshot. If it is not complete, the run stops before sending anything. (When the plan has
   nothing to send and the run is not forced, no safety snapshot is taken: there is nothing to
   undo.);
5. re-read the live state; an integration whose ``_etag`` differs from the plan's (or that
   appeared or disappeared) is a ``conflict`` and is left as it is, unless the caller forces;
6. upsert each ``create``/``update`` (and delete each ``delete``) with bounded concurrency,
   sending the stored JSON less the server-managed fields. A 400 fails that item with the API's
   message and the others go on. An authentication failure stops the run: no new item is
   started, items already in flight finish, and the rest are ``skipped``;
7. re-read the live state and mark each written or unchanged item ``verified`` or ``mismatch``;
8. store the report under ``restores/<run-id>.json`` and return it.

"Nothing half-reported": whenever a run stops early (no complete safety snapshot, live state
unreadable before sending, authentication failure while sending) the report is still stored,
with outcome ``aborted`` and every item in a definite state (written, failed, conflict or
skipped: not attempted), and :class:`RestoreAborted` is raised carrying it. Only a storage
failure can prevent storing a report; the claim then still marks the plan as used.

Restore into another subscription (disaster recovery, cloning prod into test) takes exactly one
source subscription: every stored config is created in the target as a new integration (``id``
dropped, ``subscriptionId`` rewritten) and the report's ``id_map`` maps source ids to new ids.
Such a restore always creates: applying two plans of it creates the integrations twice.

Secrets: plans and reports hold only redacted field changes; log lines carry ids, counts and
statuses; messages quoted from the API are scrubbed of the secret strings of the body sent and
of the live config.
"""

from __future__ import annotations

import asyncio
import logging
import secrets as _random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.clock import Clock
from shared.connxio import ConnxioClient
from shared.core.manifest import (
    IntegrationEntry,
    SnapshotManifest,
    SubscriptionEntry,
    SubscriptionStatus,
    Trigger,
)
from shared.core.plan import (
    ConfirmationMismatch,
    ItemResult,
    ItemStatus,
    PlanAlreadyApplied,
    PlanExpired,
    PlanItem,
    PlanOptions,
    PlanScope,
    RestoreAborted,
    RestoreClaim,
    RestoreError,
    RestorePlan,
    RestoreRefused,
    RestoreReport,
    StoredConfig,
    build_plan,
    check_confirmation,
    check_fresh,
    conflict_reason,
    is_plan_id,
    is_run_id,
    live_hash,
    new_plan_id,
    new_run_id,
    report_counts,
    report_outcome,
    restore_body,
    verification_changes,
)
from shared.core.secrets import secret_values
from shared.errors import (
    ConnxioAuthError,
    ConnxioError,
    ConnxioNotFoundError,
    ConnxioTransientError,
    ConnxioValidationError,
    CorruptObjectError,
    InvalidNameError,
    NotFoundError,
    ObjectExistsError,
    SettingsError,
)
from shared.services.backup import BackupService
from shared.store.repository import SnapshotRepository
from shared.telemetry import log_event

__all__ = [
    "CLAIMS",
    "DEFAULT_PLAN_TTL",
    "PLANS",
    "RESTORES",
    "ConfirmationMismatch",
    "PlanAlreadyApplied",
    "PlanExpired",
    "PlanRequest",
    "RestoreAborted",
    "RestoreError",
    "RestoreRefused",
    "RestoreService",
    "read_plan",
    "read_report",
]

log = logging.getLogger("cxbackup.restore")

PLANS = "plans"
RESTORES = "restores"
CLAIMS = "state/restore-claims"

DEFAULT_PLAN_TTL = timedelta(hours=1)
DEFAULT_CONCURRENCY = 4
_LOAD_CONCURRENCY = 16
_MIN_SCRUBBED_SECRET_LENGTH = 4
_ID_ATTEMPTS = 5


@dataclass(frozen=True)
class PlanRequest:
    """What to plan: a snapshot (id or ``latest``), an optional scope and target, options.

    ``subscription_ids``/``integration_ids``: None means every one. ``target_subscription_id``:
    restore into that subscription instead of each one's own. ``force`` plans past unreadable
    stored objects (they become ``skip`` items) instead of failing.
    """

    snapshot: str
    subscription_ids: tuple[str, ...] | None = None
    integration_ids: tuple[str, ...] | None = None
    target_subscription_id: str | None = None
    validation: bool = True
    delete_extra: bool = False
    force: bool = False
    requested_by: str | None = None

    def __post_init__(self) -> None:
        # Accept any iterable of ids (a set, a list); keep a stable order for the stored scope.
        for name in ("subscription_ids", "integration_ids"):
            values = getattr(self, name)
            if values is not None and not isinstance(values, tuple):
                if isinstance(values, str):
                    raise TypeError(f"{name} must be a collection of ids, not one string")
                ordered = sorted(values) if isinstance(values, set | frozenset) else values
                object.__setattr__(self, name, tuple(ordered))


class _Run:
    """What one apply run has seen so far; shared by its concurrent item tasks."""

    def __init__(self, plan: RestorePlan, run_id: str, force: bool) -> None:
        self.plan = plan
        self.run_id = run_id
        self.force = force
        self.stopped: str | None = None  # why the run stopped sending, once it has
        self.bodies: dict[int, dict[str, Any]] = {}  # item index → body sent (or to verify)


class RestoreService:
    """Plans and applies restores. One instance may serve several runs at once."""

    def __init__(
        self,
        *,
        client: ConnxioClient,
        repository: SnapshotRepository,
        api_keys: Mapping[str, str],
        clock: Clock,
        backup_service_factory: Callable[[], BackupService] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        plan_ttl: timedelta = DEFAULT_PLAN_TTL,
        make_suffix: Callable[[], str] = lambda: _random.token_hex(3),
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._client = client
        self._repository = repository
        self._api_keys = dict(api_keys)
        self._clock = clock
        self._backup_factory = backup_service_factory or (
            lambda: BackupService(
                client=client, repository=repository, api_keys=self._api_keys, clock=clock
            )
        )
        self._concurrency = concurrency
        self._plan_ttl = plan_ttl
        self._make_suffix = make_suffix

    # -- plan ----------------------------------------------------------------------------------

    async def plan(self, request: PlanRequest) -> RestorePlan:
        """Compare the snapshot with the live state and store the plan. Reads Connxio only."""
        snapshot_id = await self._repository.resolve_snapshot_id(request.snapshot)
        manifest = await self._repository.read_manifest(snapshot_id)
        sources, notes = _choose_sources(manifest, request)
        target = request.target_subscription_id
        if target is not None and [s.subscription_id for s in sources] == [target]:
            target = None  # "into itself" is an ordinary restore
        targets = [target] if target is not None else [s.subscription_id for s in sources]
        keys = {sid: self._key(sid) for sid in targets}
        wanted = set(request.integration_ids) if request.integration_ids is not None else None

        stored = await self._stored_configs(manifest, sources, wanted, force=request.force)
        live = {sid: await self._list_live(sid, key) for sid, key in keys.items()}
        created_at = self._clock.now()
        plan = build_plan(
            stored,
            live,
            plan_id=new_plan_id(created_at, self._make_suffix()),
            created_at=created_at,
            expires_at=created_at + self._plan_ttl,
            snapshot_id=snapshot_id,
            snapshot_taken_at=manifest.started_at,
            scope=PlanScope(
                subscription_ids=_tuple_or_none(request.subscription_ids),
                integration_ids=_tuple_or_none(request.integration_ids),
            ),
            options=PlanOptions(
                validation=request.validation,
                delete_extra=request.delete_extra,
                force=request.force,
            ),
            target_subscription_id=target,
            requested_by=request.requested_by,
            notes=notes,
        )
        plan = await self._store_plan(plan)
        counts = plan.counts
        log_event(
            log,
            logging.INFO,
            "restore plan %s of snapshot %s: %d create, %d update, %d unchanged, %d extra, "
            "%d delete, %d skip",
            plan.plan_id,
            plan.snapshot_id,
            counts.create,
            counts.update,
            counts.unchanged,
            counts.extra,
            counts.delete,
            counts.skip,
            event="restore.planned",
            plan_id=plan.plan_id,
            snapshot_id=plan.snapshot_id,
            target_subscription_id=plan.target_subscription_id,
            counts=counts.model_dump(),
        )
        return plan

    async def read_plan(self, plan_id: str) -> RestorePlan:
        return await read_plan(self._repository, plan_id)

    # -- apply ---------------------------------------------------------------------------------

    async def apply(
        self,
        plan_id: str,
        *,
        confirm_snapshot_id: str | None,
        requested_by: str,
        force: bool = False,
    ) -> RestoreReport:
        """Apply a stored plan once; see the module doc for the order of work and refusals.

        ``force`` overwrites integrations that changed live after the plan was made (they are
        ``conflict`` otherwise). Returns the stored report; raises :class:`RestoreAborted`
        (report stored, outcome ``aborted``) when the run had to stop early.
        """
        plan = await self.read_plan(plan_id)
        check_confirmation(plan, confirm_snapshot_id)
        await self._refuse_if_claimed(plan)
        started_at = self._clock.now()
        check_fresh(plan, started_at)
        targets = plan.target_subscription_ids()
        keys = {sid: self._key(sid) for sid in targets}
        run = _Run(plan, await self._claim(plan, started_at, requested_by), force)
        log_event(
            log,
            logging.INFO,
            "restore run %s: applying plan %s of snapshot %s (requested by %s%s)",
            run.run_id,
            plan.plan_id,
            plan.snapshot_id,
            requested_by,
            ", forced" if force else "",
            event="restore.started",
            run_id=run.run_id,
            plan_id=plan.plan_id,
        )

        async def finish(
            results: list[ItemResult],
            *,
            pre_id: str | None,
            message: str | None = None,
            aborted: bool = False,
        ) -> RestoreReport:
            return await self._store_report(
                run,
                requested_by,
                started_at,
                results,
                pre_id=pre_id,
                message=message,
                aborted=aborted,
            )

        pre_id: str | None = None
        if plan.counts.to_send > 0 or force:
            pre_id, problem = await self._safety_snapshot(plan, run.run_id, targets)
            if problem is not None:
                message = (
                    f"restore run {run.run_id} stopped before sending anything: {problem}. "
                    "Nothing was changed; fix that and make a new plan"
                )
                report = await finish(
                    _not_attempted(plan, problem), pre_id=pre_id, message=message, aborted=True
                )
                raise RestoreAborted(message, report)
        try:
            live = await self._read_live(keys)
        except ConnxioError as error:
            problem = f"the live state could not be read before applying ({error})"
            message = (
                f"restore run {run.run_id} stopped before sending anything: {problem}. "
                "Nothing was changed; fix that and make a new plan"
            )
            report = await finish(
                _not_attempted(plan, problem), pre_id=pre_id, message=message, aborted=True
            )
            raise RestoreAborted(message, report) from None

        semaphore = asyncio.Semaphore(self._concurrency)

        async def one(index: int, item: PlanItem) -> ItemResult:
            if item.action in ("extra", "skip"):
                status = "extra" if item.action == "extra" else "skipped"
                return _result(item, status, item.note)
            async with semaphore:
                if run.stopped is not None:
                    return _result(item, "skipped", f"not attempted: {run.stopped}")
                return await self._apply_item(run, index, item, keys[item.subscription_id], live)

        results = list(await asyncio.gather(*(one(i, it) for i, it in enumerate(plan.items))))

        if run.stopped is not None:
            written = sum(r.status in ("created", "updated", "deleted") for r in results)
            not_attempted = sum(r.status == "skipped" for r in results) - plan.counts.skip
            message = (
                f"restore run {run.run_id} stopped: {run.stopped}. {written} item(s) were written "
                f"before it stopped and {not_attempted} were not attempted; the report is stored "
                f"as {RESTORES}/{run.run_id}.json"
                + (
                    f" and the pre-restore snapshot {pre_id} can undo what was written"
                    if pre_id
                    else ""
                )
                + ". Fix the API key in CONNXIO_API_KEYS, then make a new plan"
            )
            report = await finish(results, pre_id=pre_id, message=message, aborted=True)
            raise RestoreAborted(message, report)

        results, problem = await self._verify(run, results, keys)
        return await finish(results, pre_id=pre_id, message=problem)

    # -- apply: steps --------------------------------------------------------------------------

    async def _refuse_if_claimed(self, plan: RestorePlan) -> None:
        if await self._repository.document_exists(CLAIMS, plan.plan_id):
            await self._raise_claimed(plan)

    async def _raise_claimed(self, plan: RestorePlan) -> None:
        claim = await self._repository.read_document(CLAIMS, plan.plan_id, RestoreClaim)
        report_state = (
            f"its report is {RESTORES}/{claim.run_id}.json"
            if await self._repository.document_exists(RESTORES, claim.run_id)
            else "it left no report (it did not finish): check the live state"
        )
        raise PlanAlreadyApplied(
            f"plan {plan.plan_id} was already applied by run {claim.run_id} at "
            f"{claim.claimed_at.isoformat()} (requested by {claim.requested_by}); "
            f"{report_state}. A plan applies once: make a new plan to restore again"
        )

    async def _claim(self, plan: RestorePlan, at: datetime, requested_by: str) -> str:
        """Create the write-once marker of this plan's run; the loser of a race is refused."""
        run_id = new_run_id(at, self._make_suffix())
        claim = RestoreClaim(
            plan_id=plan.plan_id,
            run_id=run_id,
            snapshot_id=plan.snapshot_id,
            claimed_at=at,
            requested_by=requested_by,
        )
        try:
            await self._repository.put_document(CLAIMS, plan.plan_id, claim)
        except ObjectExistsError:
            await self._raise_claimed(plan)
        return run_id

    async def _safety_snapshot(
        self, plan: RestorePlan, run_id: str, targets: Iterable[str]
    ) -> tuple[str | None, str | None]:
        """(pre-restore snapshot id, problem); problem is None when every target is complete."""
        targets = tuple(targets)
        result = await self._backup_factory().run(
            Trigger.PRE_RESTORE,
            subscription_ids=targets,
            note=f"before restore of {plan.snapshot_id} (plan {plan.plan_id}, run {run_id})",
        )
        manifest = result.manifest
        statuses = {s.subscription_id: s for s in manifest.subscriptions}
        problems = [
            f"{sid}: {statuses[sid].reason or statuses[sid].status.value}"
            if sid in statuses
            else f"{sid}: not in the snapshot"
            for sid in targets
            if sid not in statuses or statuses[sid].status is not SubscriptionStatus.COMPLETE
        ]
        if problems:
            return manifest.snapshot_id, (
                f"the pre-restore safety snapshot {manifest.snapshot_id} is not complete, so the "
                f"restore could not be undone ({'; '.join(problems)})"
            )
        return manifest.snapshot_id, None

    async def _apply_item(
        self,
        run: _Run,
        index: int,
        item: PlanItem,
        key: str,
        live: Mapping[str, Mapping[str, dict[str, Any]]],
    ) -> ItemResult:
        plan = run.plan
        new_integration = item.action == "create" and item.source_subscription_id != (
            item.subscription_id
        )
        current = None if new_integration else live[item.subscription_id].get(item.integration_id)
        conflict = None if new_integration else conflict_reason(item, current)
        if conflict is not None and not run.force:
            return _result(
                item,
                "conflict",
                f"{conflict}; left as it is (make a new plan to include that change, or apply "
                "with force to overwrite it)",
            )
        forced = f"overwritten on force although it {conflict}" if conflict else None

        if item.action == "delete":
            return await self._delete(run, item, key, current, forced)
        try:
            if current is not None and live_hash(current) == item.snapshot_hash:
                # Live is the stored config, byte for byte (the plan already read and checked
                # the stored copy): nothing to read back.
                stored = current
            else:
                stored = await self._repository.load_document(item.snapshot_hash or "")
        except (CorruptObjectError, NotFoundError) as error:
            return _result(item, "failed", f"the stored config cannot be read: {error}")
        if not isinstance(stored, dict):
            return _result(item, "failed", "the stored config is not a JSON object")
        body = restore_body(
            stored,
            target_subscription_id=item.subscription_id if new_integration else None,
            keep_id=not new_integration,
        )
        run.bodies[index] = body
        if item.action == "unchanged" and conflict is None:
            return _result(item, "unchanged", None)
        try:
            result = await self._client.upsert_integration(
                key, body, validate=plan.options.validation
            )
        except ConnxioAuthError as error:
            return _stop_on_auth(run, item, error)
        except ConnxioValidationError as error:
            message = _scrub(error.server_message, body, current)
            log.warning(
                "restore run %s: %s %s rejected by Connxio: %s",
                run.run_id,
                item.subscription_id,
                item.integration_id,
                message,
            )
            return _result(item, "failed", f"Connxio rejected it (HTTP 400): {message}")
        except ConnxioError as error:
            message = _scrub(str(error), body, current)
            log.warning(
                "restore run %s: %s %s failed: %s",
                run.run_id,
                item.subscription_id,
                item.integration_id,
                message,
            )
            return _result(item, "failed", message)
        status = "created" if result.created else "updated"
        new_id = result.config.get("id") if new_integration else None
        return _result(item, status, forced, new_id=str(new_id) if new_id is not None else None)

    async def _delete(
        self,
        run: _Run,
        item: PlanItem,
        key: str,
        current: Mapping[str, Any] | None,
        forced: str | None,
    ) -> ItemResult:
        if current is None:
            return _result(item, "deleted", "already gone")
        try:
            await self._client.delete_integration(key, item.integration_id)
        except ConnxioNotFoundError:
            return _result(item, "deleted", "already gone")
        except ConnxioAuthError as error:
            return _stop_on_auth(run, item, error)
        except ConnxioError as error:
            return _result(item, "failed", str(error))
        return _result(item, "deleted", forced)

    async def _verify(
        self, run: _Run, results: list[ItemResult], keys: Mapping[str, str]
    ) -> tuple[list[ItemResult], str | None]:
        """Re-read the live state and mark each written or unchanged item verified/mismatch."""
        try:
            live = await self._read_live(keys)
        except ConnxioError as error:
            return results, (
                f"the restore ran, but the live state could not be re-read to verify it ({error}); "
                "check it, or make a new plan of the same snapshot: it lists what still differs"
            )
        verified: list[ItemResult] = []
        for index, (item, result) in enumerate(zip(run.plan.items, results, strict=True)):
            verified.append(await self._verify_item(run, index, item, result, live))
        return verified, None

    async def _verify_item(
        self,
        run: _Run,
        index: int,
        item: PlanItem,
        result: ItemResult,
        live: Mapping[str, Mapping[str, dict[str, Any]]],
    ) -> ItemResult:
        current = live[item.subscription_id].get(result.new_id or result.integration_id)
        if result.status == "deleted":
            return result.model_copy(
                update={"verification": "verified" if current is None else "mismatch"}
            )
        if result.status not in ("created", "updated", "unchanged"):
            return result
        body = run.bodies.get(index)
        if current is None or body is None:
            note = "not found live after the restore"
            return result.model_copy(
                update={"verification": "mismatch", "message": _join(result.message, note)}
            )
        changes = verification_changes(body, current, new_integration=result.new_id is not None)
        if not changes:
            return result.model_copy(update={"verification": "verified"})
        note = f"live differs from what was sent in {len(changes)} field(s)"
        return result.model_copy(
            update={
                "verification": "mismatch",
                "verification_changes": changes,
                "message": _join(result.message, note),
            }
        )

    async def _store_report(
        self,
        run: _Run,
        requested_by: str,
        started_at: datetime,
        results: list[ItemResult],
        *,
        pre_id: str | None,
        message: str | None,
        aborted: bool,
    ) -> RestoreReport:
        outcome = report_outcome(results, aborted=aborted)
        if message is None and outcome == "partial":
            message = "some items were not restored or not verified; see each item's message"
        report = RestoreReport(
            run_id=run.run_id,
            plan=run.plan,
            requested_by=requested_by,
            started_at=started_at,
            finished_at=self._clock.now(),
            forced=run.force,
            pre_restore_snapshot_id=pre_id,
            items=tuple(results),
            id_map={r.integration_id: r.new_id for r in results if r.new_id is not None},
            counts=report_counts(results),
            outcome=outcome,
            message=message,
        )
        await self._repository.put_document(RESTORES, run.run_id, report)
        counts = report.counts
        log_event(
            log,
            logging.INFO,
            "restore run %s finished: %s; %d created, %d updated, %d unchanged, %d deleted, "
            "%d failed, %d conflict, %d skipped; %d verified, %d mismatch",
            run.run_id,
            outcome,
            counts.created,
            counts.updated,
            counts.unchanged,
            counts.deleted,
            counts.failed,
            counts.conflict,
            counts.skipped,
            counts.verified,
            counts.mismatch,
            event="restore.finished",
            run_id=run.run_id,
            plan_id=run.plan.plan_id,
            snapshot_id=run.plan.snapshot_id,
            pre_restore_snapshot_id=pre_id,
            outcome=outcome,
            counts=counts.model_dump(),
        )
        return report

    # -- shared helpers ------------------------------------------------------------------------

    def _key(self, subscription_id: str) -> str:
        key = self._api_keys.get(subscription_id)
        if key is None:
            raise SettingsError(
                "CONNXIO_API_KEYS",
                f"has no API key for subscription {subscription_id}, which this restore reads "
                "and writes; add that subscription's Management API key (keys are "
                "subscription-scoped)",
            )
        return key

    async def _list_live(self, subscription_id: str, key: str) -> list[dict[str, Any]]:
        try:
            return await self._client.list_integrations(key)
        except ConnxioError as error:
            raise _in_subscription(error, subscription_id) from None

    async def _read_live(self, keys: Mapping[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
        """Target subscription → live integration id → config."""
        live: dict[str, dict[str, dict[str, Any]]] = {}
        for subscription_id, key in keys.items():
            configs = await self._list_live(subscription_id, key)
            live[subscription_id] = {c["id"]: c for c in configs}
        return live

    async def _stored_configs(
        self,
        manifest: SnapshotManifest,
        sources: list[SubscriptionEntry],
        wanted: set[str] | None,
        *,
        force: bool,
    ) -> dict[str, list[StoredConfig]]:
        """Every stored config in scope, each read back and checked against its hash: planning
        is where a snapshot that fails verification is refused (unless forced), so all of them
        are read, not only those that differ from live."""
        semaphore = asyncio.Semaphore(_LOAD_CONCURRENCY)

        async def load(entry: IntegrationEntry) -> StoredConfig:
            async with semaphore:
                try:
                    document = await self._repository.load_document(entry.hash)
                    if not isinstance(document, dict):
                        raise CorruptObjectError(f"object {entry.hash} is not a JSON object")
                except (CorruptObjectError, NotFoundError) as error:
                    problem = (
                        f"the stored config of integration {entry.id} in snapshot "
                        f"{manifest.snapshot_id} cannot be read: {error}"
                    )
                    if not force:
                        raise CorruptObjectError(
                            f"{problem}. Choose another snapshot, or plan with force to skip it"
                        ) from None
                    return StoredConfig(entry.id, entry.label, entry.hash, None, problem)
                return StoredConfig(entry.id, entry.label, entry.hash, document)

        result: dict[str, list[StoredConfig]] = {}
        for subscription in sources:
            entries = [e for e in subscription.integrations if wanted is None or e.id in wanted]
            result[subscription.subscription_id] = list(
                await asyncio.gather(*(load(e) for e in entries))
            )
        return result

    async def _store_plan(self, plan: RestorePlan) -> RestorePlan:
        """Write-once; on the rare id collision draw a new suffix rather than overwrite."""
        for _ in range(_ID_ATTEMPTS):
            try:
                await self._repository.put_document(PLANS, plan.plan_id, plan)
                return plan
            except ObjectExistsError:
                fresh = new_plan_id(plan.created_at, self._make_suffix())
                plan = plan.model_copy(update={"plan_id": fresh})
        raise ObjectExistsError(
            f"could not find a free plan id for {plan.created_at.isoformat()} in "
            f"{self._repository.description}"
        )


# -- reading stored plans and reports ---------------------------------------------------------


async def read_plan(repository: SnapshotRepository, plan_id: str) -> RestorePlan:
    """A stored plan; ``InvalidNameError`` for a malformed id, ``NotFoundError`` if absent."""
    if not isinstance(plan_id, str) or not is_plan_id(plan_id):
        raise InvalidNameError(
            f"{str(plan_id)[:80]!r} is not a plan id (like plan-20261204T020000Z-3f9a1c); "
            "make a plan first and use the id it reports"
        )
    try:
        return await repository.read_document(PLANS, plan_id, RestorePlan)
    except NotFoundError:
        raise NotFoundError(
            f"plan {plan_id} does not exist in {repository.description}; "
            "make a plan first and apply the id it reports"
        ) from None


async def read_report(repository: SnapshotRepository, run_id: str) -> RestoreReport:
    """A stored restore report; ``InvalidNameError``/``NotFoundError`` like :func:`read_plan`."""
    if not isinstance(run_id, str) or not is_run_id(run_id):
        raise InvalidNameError(
            f"{str(run_id)[:80]!r} is not a restore run id (like restore-20261204T020000Z-3f9a1c)"
        )
    return await repository.read_document(RESTORES, run_id, RestoreReport)


# -- helpers -----------------------------------------------------------------------------------


def _choose_sources(
    manifest: SnapshotManifest, request: PlanRequest
) -> tuple[list[SubscriptionEntry], list[str]]:
    """The snapshot's subscriptions in scope, and notes about those left out."""
    snapshot_id = manifest.snapshot_id
    by_id = {s.subscription_id: s for s in manifest.subscriptions}
    notes: list[str] = []
    if request.subscription_ids is not None:
        chosen = []
        for subscription_id in dict.fromkeys(request.subscription_ids):
            entry = by_id.get(subscription_id)
            if entry is None:
                held = ", ".join(sorted(by_id)) or "none"
                raise NotFoundError(
                    f"snapshot {snapshot_id} holds no subscription {subscription_id[:80]!r} "
                    f"(it holds: {held})"
                )
            if entry.status is not SubscriptionStatus.COMPLETE:
                raise RestoreRefused(
                    f"snapshot {snapshot_id} has no complete copy of subscription "
                    f"{subscription_id} (it was {entry.status.value}: {entry.reason}); restoring "
                    "it could lose integrations the snapshot missed. Choose a snapshot in which "
                    "it is complete"
                )
            chosen.append(entry)
    else:
        chosen = [s for s in manifest.subscriptions if s.status is SubscriptionStatus.COMPLETE]
        notes = [
            f"subscription {s.subscription_id} was {s.status.value} in snapshot {snapshot_id} "
            f"and is not restored: {s.reason}"
            for s in manifest.subscriptions
            if s.status is not SubscriptionStatus.COMPLETE
        ]
    if request.integration_ids is not None:
        wanted = set(request.integration_ids)
        held = {e.id for s in chosen for e in s.integrations}
        missing = sorted(wanted - held)
        if missing:
            shown = ", ".join(repr(m[:80]) for m in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            where = "the subscriptions asked for in " if request.subscription_ids else ""
            raise NotFoundError(
                f"integration(s) {shown}{more} are not in {where}snapshot {snapshot_id} (only "
                "completely backed-up subscriptions count); show the snapshot to see what it holds"
            )
        if request.subscription_ids is None:
            chosen = [s for s in chosen if any(e.id in wanted for e in s.integrations)]
            notes = []  # the other subscriptions are out of scope, not left out
    if not chosen:
        raise RestoreRefused(
            f"snapshot {snapshot_id} holds no completely backed-up subscription to restore "
            f"(status {manifest.status.value}); choose another snapshot"
        )
    if request.target_subscription_id is not None and len(chosen) != 1:
        raise RestoreRefused(
            "a restore into another subscription takes exactly one source subscription; "
            f"snapshot {snapshot_id} has {len(chosen)} in scope: name the source subscription"
        )
    return chosen, notes


def _not_attempted(plan: RestorePlan, why: str) -> list[ItemResult]:
    return [
        _result(item, "extra", item.note)
        if item.action == "extra"
        else _result(item, "skipped", f"not attempted: {why}")
        for item in plan.items
    ]


def _result(
    item: PlanItem, status: ItemStatus, message: str | None, *, new_id: str | None = None
) -> ItemResult:
    return ItemResult(
        subscription_id=item.subscription_id,
        integration_id=item.integration_id,
        label=item.label,
        action=item.action,
        status=status,
        message=message,
        new_id=new_id,
    )


def _stop_on_auth(run: _Run, item: PlanItem, error: ConnxioAuthError) -> ItemResult:
    """Record the item as failed and stop the run: no further item is started."""
    if run.stopped is None:
        run.stopped = (
            f"Connxio refused the credentials of subscription {item.subscription_id} ({error})"
        )
    log.error("restore run %s stopped: %s", run.run_id, error)
    return _result(item, "failed", str(error))


def _join(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second


def _scrub(text: str, *documents: Any) -> str:
    """``text`` without any secret string of ``documents`` (the body sent and the live config).

    The client already scrubs the ``decryptedValue`` strings it sent; an API message may also
    echo a live value, or a password outside a Secret object.
    """
    found: set[str] = set()
    for document in documents:
        if document is not None:
            found |= secret_values(document)
    for secret in sorted(found, key=len, reverse=True):
        if len(secret) >= _MIN_SCRUBBED_SECRET_LENGTH:
            text = text.replace(secret, "***")
    return text


def _in_subscription(error: ConnxioError, subscription_id: str) -> ConnxioError:
    """The same kind of error, naming the subscription it happened in."""
    message = f"subscription {subscription_id}: {error}"
    if isinstance(error, ConnxioAuthError):
        return ConnxioAuthError(
            f"{message}; check its API key in CONNXIO_API_KEYS", status=error.status
        )
    if isinstance(error, ConnxioTransientError):
        return ConnxioTransientError(message, status=error.status, retry_after=error.retry_after)
    return ConnxioError(message, status=error.status)


def _tuple_or_none(values: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(dict.fromkeys(values))
