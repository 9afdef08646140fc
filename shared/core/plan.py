"""Restore plans and restore reports: what applying a snapshot will change, and what it did.

Restore is two steps, and this module is the pure half of both (no I/O, no clock: times are
parameters):

1. **Plan** (:func:`build_plan`). The stored configs of a snapshot are compared with the live
   configs of the target subscription(s) by the audit's diff engine, live as *old* and snapshot
   as *new*, so a plan's field changes are exactly the changes that applying will make. Each
   integration in scope gets one action:

   ===========  ==============================================================================
   create       in the snapshot, not live (or: restored into another subscription, always new)
   update       in both and different; ``changes`` lists the field changes (redacted)
   unchanged    in both and equal apart from server-managed fields: nothing will be sent
   extra        live only; reported and left alone
   delete       live only, and deletion was asked for explicitly (``delete_extra``)
   skip         its stored object could not be read (corrupt or missing) and the plan was
                forced past it; nothing will be sent
   ===========  ==============================================================================

   Every item that saw a live config records its ``_etag`` (and the content hash of the live
   JSON, for APIs that send no etag), so apply can tell when someone changed it in between.

2. **Report** (:class:`RestoreReport`): per item what apply did (``created``, ``updated``,
   ``unchanged``, ``deleted``, ``extra`` = left alone, ``failed`` with the API's message,
   ``conflict`` = changed live after the plan and not overwritten, ``skipped`` = not attempted)
   and whether a re-read of the live state proved it (``verified``, ``mismatch``,
   ``not-checked``). The run's ``outcome`` is ``succeeded`` only when every item is in a good
   state and verified; ``partial`` otherwise; ``aborted`` when the run stopped early (an
   authentication failure, or no safety snapshot): then every item still carries a definite
   status, so nothing is half-reported.

What is sent (:func:`restore_body`): the stored JSON as it is, every property kept (unknown ones
included), less only the server-managed fields in :data:`SERVER_MANAGED_FIELDS`. Restoring into
another subscription also drops ``id`` (the target creates a new integration and assigns one)
and rewrites ``subscriptionId``.

Verification (:func:`verification_changes`) diffs what was sent against what the API now
holds, ignoring at the top level the server-managed fields, the fields the server derives from
the API key's subscription (:data:`SUBSCRIPTION_CONTEXT_FIELDS`) and, for a new integration in
another subscription, ``id``. Like the plan, it uses the diff engine's notion of equality: a
reordered identity-matched list or a respelt JSON-in-string document is no difference.

No secret value reaches a plan or a report: field changes go through
:func:`shared.core.audit.safe_field_change`, which hides values at secret locations and any
value containing one of the two documents' secret strings. Plans and reports are stored
formats (``plans/<plan-id>.json``, ``restores/<run-id>.json``): frozen models with
``format_version``.

The errors that refuse or stop a restore live here too, each with the HTTP status and title the
triggers answer with (see :class:`RestoreError`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.core.audit import FieldChange, safe_field_change
from shared.core.canonical import canonical_bytes, content_hash
from shared.core.diff import DEFAULT_DIFF_OPTIONS, DiffOptions, diff_documents
from shared.core.manifest import integration_label, new_snapshot_id
from shared.core.secrets import secret_values
from shared.errors import RefusedError

RESTORE_FORMAT_VERSION = 1

# Fields the service writes on every save; sending them back would claim to set history.
SERVER_MANAGED_FIELDS: frozenset[str] = frozenset(
    {"_etag", "cosmosEntityName", "createdBy", "createdAtUtc", "updatedBy", "updatedAtUtc"}
)
# Fields the service fills from the API key's subscription on every write. They are sent as
# stored (lossless), but verification does not hold the service to them.
SUBSCRIPTION_CONTEXT_FIELDS: frozenset[str] = frozenset(
    {"companyId", "companyName", "subscriptionName"}
)

PLAN_ID_PATTERN = re.compile(r"^plan-\d{8}T\d{6}Z-[0-9a-f]{6}$")
RUN_ID_PATTERN = re.compile(r"^restore-\d{8}T\d{6}Z-[0-9a-f]{6}$")

# Secret strings shorter than this are not searched for inside other values (same rule as the
# audit): they would match ordinary text by chance. Their own fields are hidden by location.
_MIN_SCANNED_SECRET_LENGTH = 4

PlanAction = Literal["create", "update", "unchanged", "extra", "delete", "skip"]
ItemStatus = Literal[
    "created", "updated", "unchanged", "deleted", "extra", "failed", "conflict", "skipped"
]
Verification = Literal["verified", "mismatch", "not-checked"]
Outcome = Literal["succeeded", "partial", "aborted"]

# Statuses that mean "this item is as the plan wanted it" (extra: left alone, as planned).
GOOD_STATUSES: frozenset[str] = frozenset({"created", "updated", "unchanged", "deleted", "extra"})
# Statuses whose result a re-read of the live state can prove.
VERIFIABLE_STATUSES: frozenset[str] = frozenset({"created", "updated", "unchanged", "deleted"})


# -- errors ------------------------------------------------------------------------------------


class RestoreError(RefusedError):
    """A restore was refused or stopped; ``status``/``title`` are what HTTP callers see."""

    status: int = 500
    title: str = "Restore failed"


class RestoreRefused(RestoreError):
    """Refused before anything was sent to Connxio: nothing changed."""

    status = 422
    title = "Restore refused"


class ConfirmationMismatch(RestoreRefused):
    """Apply needs a confirmation that names the plan's snapshot, and did not get it."""

    status = 422
    title = "Confirmation required"


class PlanExpired(RestoreRefused):
    """The plan is older than the apply window: the live state may have moved on since."""

    status = 409
    title = "Plan expired"


class PlanAlreadyApplied(RestoreRefused):
    """A plan applies once; this one was applied (or its run started) before."""

    status = 409
    title = "Plan already applied"


class RestoreAborted(RestoreError):
    """The run stopped early; ``report`` (stored, outcome ``aborted``) says what was done."""

    status = 502
    title = "Restore aborted"

    def __init__(self, message: str, report: RestoreReport) -> None:
        self.report = report
        super().__init__(message)


# -- stored models -----------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanScope(_Frozen):
    """What the caller asked for; None means "every one" (subscriptions: every complete one)."""

    subscription_ids: tuple[str, ...] | None = None
    integration_ids: tuple[str, ...] | None = None


class PlanOptions(_Frozen):
    """How the plan is to be applied.

    ``validation``: upsert through ``POST /v2/integrations`` (True, the server validates) or
    ``/v2/integrations/novalidation`` (False). (Not called ``validate``: that would shadow
    pydantic's ``BaseModel.validate``.)
    ``delete_extra``: live-only integrations become ``delete`` items instead of ``extra``.
    ``force``: the plan was made past unreadable stored objects (they became ``skip`` items).
    Overwriting conflicts is decided at apply time, not here.
    """

    validation: bool = True
    delete_extra: bool = False
    force: bool = False


class PlanItem(_Frozen):
    """One integration in scope and what applying the plan will do to it.

    ``subscription_id`` is where the action happens (the target); ``source_subscription_id``
    where the snapshot held it (None for live-only items). ``integration_id`` is the snapshot's
    id, or the live id for ``extra``/``delete``. ``snapshot_hash`` pins the exact stored config
    that apply will send. ``live_etag``/``live_hash`` are what planning saw live (None for
    ``create``).
    """

    subscription_id: str
    source_subscription_id: str | None = None
    integration_id: str
    label: str
    action: PlanAction
    snapshot_hash: str | None = None
    live_etag: str | None = None
    live_hash: str | None = None
    changes: tuple[FieldChange, ...] = ()
    note: str | None = None


class PlanCounts(_Frozen):
    create: int = 0
    update: int = 0
    unchanged: int = 0
    extra: int = 0
    delete: int = 0
    skip: int = 0
    changes: int = 0

    @property
    def to_send(self) -> int:
        """Items apply will write to Connxio: creates, updates and deletes."""
        return self.create + self.update + self.delete


class RestorePlan(_Frozen):
    format_version: Literal[1] = RESTORE_FORMAT_VERSION
    plan_id: str
    created_at: datetime
    expires_at: datetime  # apply refuses the plan after this instant
    requested_by: str | None = None
    snapshot_id: str
    snapshot_taken_at: datetime
    source_subscription_ids: tuple[str, ...]
    target_subscription_id: str | None = None  # None: each subscription into itself
    scope: PlanScope
    options: PlanOptions
    items: tuple[PlanItem, ...] = ()
    counts: PlanCounts
    notes: tuple[str, ...] = ()

    @property
    def cross_subscription(self) -> bool:
        """Whether integrations go into a subscription other than the one they came from."""
        return self.target_subscription_id is not None and any(
            s != self.target_subscription_id for s in self.source_subscription_ids
        )

    def target_subscription_ids(self) -> tuple[str, ...]:
        """The subscriptions that apply writes to (and takes the safety snapshot of)."""
        if self.target_subscription_id is not None:
            return (self.target_subscription_id,)
        return self.source_subscription_ids


class RestoreClaim(_Frozen):
    """The write-once marker that a plan's apply has started: a plan applies once."""

    format_version: Literal[1] = RESTORE_FORMAT_VERSION
    plan_id: str
    run_id: str
    snapshot_id: str
    claimed_at: datetime
    requested_by: str


class ItemResult(_Frozen):
    """What apply did with one plan item, and what the re-read of the live state showed.

    ``new_id`` is the id the target subscription gave an integration restored into it from
    another subscription. ``verification_changes`` (on a mismatch) are the differences between
    what was sent and what is live, redacted like plan changes.
    """

    subscription_id: str
    integration_id: str
    label: str
    action: PlanAction
    status: ItemStatus
    message: str | None = None
    new_id: str | None = None
    verification: Verification = "not-checked"
    verification_changes: tuple[FieldChange, ...] = ()


class ReportCounts(_Frozen):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    extra: int = 0
    failed: int = 0
    conflict: int = 0
    skipped: int = 0
    verified: int = 0
    mismatch: int = 0


class RestoreReport(_Frozen):
    format_version: Literal[1] = RESTORE_FORMAT_VERSION
    run_id: str
    plan: RestorePlan
    requested_by: str
    started_at: datetime
    finished_at: datetime
    forced: bool = False  # conflicts were overwritten on request
    pre_restore_snapshot_id: str | None = None  # None: nothing was to be sent, none taken
    items: tuple[ItemResult, ...] = ()
    id_map: dict[str, str] = {}  # snapshot id → new id, for a restore into another subscription
    counts: ReportCounts
    outcome: Outcome
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "succeeded"


# -- ids ---------------------------------------------------------------------------------------


def new_plan_id(at: datetime, suffix: str) -> str:
    """``plan-<UTC second>-<6 hex>``: sorts in time order and never looks like a snapshot id."""
    return f"plan-{new_snapshot_id(at, suffix)}"


def new_run_id(at: datetime, suffix: str) -> str:
    return f"restore-{new_snapshot_id(at, suffix)}"


def is_plan_id(value: str) -> bool:
    return bool(PLAN_ID_PATTERN.fullmatch(value))


def is_run_id(value: str) -> bool:
    return bool(RUN_ID_PATTERN.fullmatch(value))


# -- planning ----------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class StoredConfig:
    """One integration as the snapshot holds it. ``config`` is None when it could not be read;
    ``problem`` then says why (it becomes a ``skip`` item)."""

    integration_id: str
    label: str
    hash: str
    config: dict[str, Any] | None
    problem: str | None = None

    def __repr__(self) -> str:
        # The config holds secrets; a repr in a log line or a test failure must not.
        return f"StoredConfig(id={self.integration_id!r}, hash={self.hash[:12]}…)"


def build_plan(
    snapshot_configs: Mapping[str, Sequence[StoredConfig]],
    live_configs: Mapping[str, Sequence[dict[str, Any]]],
    *,
    plan_id: str,
    created_at: datetime,
    expires_at: datetime,
    snapshot_id: str,
    snapshot_taken_at: datetime,
    scope: PlanScope,
    options: PlanOptions,
    target_subscription_id: str | None = None,
    requested_by: str | None = None,
    notes: Iterable[str] = (),
    diff_options: DiffOptions = DEFAULT_DIFF_OPTIONS,
) -> RestorePlan:
    """The plan that makes the live state of each target subscription equal the snapshot.

    ``snapshot_configs``: source subscription id → its stored configs in scope.
    ``live_configs``: target subscription id → its live configs (each target must be there).
    With ``target_subscription_id`` (exactly one source allowed) every stored config becomes a
    ``create`` in that subscription, unless it is the source itself. ``scope.integration_ids``
    narrows both sides. Raises ``ValueError`` for inputs the service should have refused.
    """
    if target_subscription_id is not None and len(snapshot_configs) != 1:
        raise ValueError("a restore into another subscription takes exactly one source")
    wanted = set(scope.integration_ids) if scope.integration_ids is not None else None
    items: list[PlanItem] = []
    for source in sorted(snapshot_configs):
        target = target_subscription_id or source
        if target not in live_configs:
            raise ValueError(f"no live configs given for target subscription {target}")
        stored = [
            s for s in snapshot_configs[source] if wanted is None or s.integration_id in wanted
        ]
        live = [c for c in live_configs[target] if wanted is None or c.get("id") in wanted]
        items.extend(_subscription_items(source, target, stored, live, options, diff_options))
    notes = tuple(notes)
    return RestorePlan(
        plan_id=plan_id,
        created_at=created_at,
        expires_at=expires_at,
        requested_by=requested_by,
        snapshot_id=snapshot_id,
        snapshot_taken_at=snapshot_taken_at,
        source_subscription_ids=tuple(sorted(snapshot_configs)),
        target_subscription_id=target_subscription_id,
        scope=scope,
        options=options,
        items=tuple(items),
        counts=_plan_counts(items),
        notes=notes,
    )


def _subscription_items(
    source: str,
    target: str,
    stored: Sequence[StoredConfig],
    live: Sequence[dict[str, Any]],
    options: PlanOptions,
    diff_options: DiffOptions,
) -> list[PlanItem]:
    cross = source != target
    live_by_id = {c["id"]: c for c in live if isinstance(c.get("id"), str)}
    matched: set[str] = set()
    items: list[PlanItem] = []
    for entry in sorted(stored, key=lambda s: s.integration_id):
        base = {
            "subscription_id": target,
            "source_subscription_id": source,
            "integration_id": entry.integration_id,
            "label": entry.label,
            "snapshot_hash": entry.hash,
        }
        current = None if cross else live_by_id.get(entry.integration_id)
        if current is not None:
            matched.add(entry.integration_id)
            base["live_etag"] = live_etag(current)
            base["live_hash"] = live_hash(current)
        if entry.config is None:
            items.append(PlanItem(**base, action="skip", note=entry.problem))
            continue
        if current is None:
            note = "restored into another subscription as a new integration" if cross else None
            items.append(PlanItem(**base, action="create", note=note))
            continue
        changes = planned_changes(current, entry.config, diff_options)
        items.append(PlanItem(**base, action="update" if changes else "unchanged", changes=changes))
    for integration_id in sorted(set(live_by_id) - matched):
        current = live_by_id[integration_id]
        items.append(
            PlanItem(
                subscription_id=target,
                integration_id=integration_id,
                label=integration_label(current),
                action="delete" if options.delete_extra else "extra",
                live_etag=live_etag(current),
                live_hash=live_hash(current),
                note=None
                if options.delete_extra
                else "live only, not in the snapshot: left alone (deletion was not asked for)",
            )
        )
    return items


def planned_changes(
    live: Any, stored: Any, options: DiffOptions = DEFAULT_DIFF_OPTIONS
) -> tuple[FieldChange, ...]:
    """The redacted field changes that turn ``live`` into ``stored`` (what applying makes)."""
    return _safe_changes(live, stored, options)


def _safe_changes(old: Any, new: Any, options: DiffOptions) -> tuple[FieldChange, ...]:
    changes = diff_documents(old, new, options)
    if not changes:
        return ()
    secrets = tuple(
        s for s in secret_values(old) | secret_values(new) if len(s) >= _MIN_SCANNED_SECRET_LENGTH
    )
    return tuple(safe_field_change(c, secrets) for c in changes)


def _plan_counts(items: Sequence[PlanItem]) -> PlanCounts:
    counts = {action: 0 for action in ("create", "update", "unchanged", "extra", "delete", "skip")}
    for item in items:
        counts[item.action] += 1
    return PlanCounts(**counts, changes=sum(len(i.changes) for i in items))


def live_etag(config: Mapping[str, Any]) -> str | None:
    etag = config.get("_etag")
    return None if etag is None else str(etag)


def live_hash(config: Any) -> str:
    return content_hash(canonical_bytes(config))


# -- applying ----------------------------------------------------------------------------------


def restore_body(
    stored_config: Mapping[str, Any], *, target_subscription_id: str | None, keep_id: bool
) -> dict[str, Any]:
    """What to POST for a stored config: all of it, less the server-managed fields.

    Every other property is kept, unknown ones included. ``keep_id=False`` drops ``id`` (a new
    integration); a ``target_subscription_id`` rewrites ``subscriptionId``.
    """
    body = {k: v for k, v in stored_config.items() if k not in SERVER_MANAGED_FIELDS}
    if not keep_id:
        body.pop("id", None)
    if target_subscription_id is not None:
        body["subscriptionId"] = target_subscription_id
    return body


def check_confirmation(plan: RestorePlan, confirm_snapshot_id: str | None) -> None:
    """Apply needs the caller to name the snapshot being applied; ``latest`` does not count."""
    if not confirm_snapshot_id:
        raise ConfirmationMismatch(
            f"applying plan {plan.plan_id} needs a confirmation naming its snapshot: "
            f"confirm with {plan.snapshot_id}"
        )
    if confirm_snapshot_id != plan.snapshot_id:
        raise ConfirmationMismatch(
            f"the confirmation {confirm_snapshot_id[:80]!r} does not name the snapshot of plan "
            f"{plan.plan_id} ({plan.snapshot_id}); nothing was applied. Check that this is the "
            "plan you reviewed and confirm with its snapshot id"
        )


def check_fresh(plan: RestorePlan, now: datetime) -> None:
    """A plan is applied only before ``expires_at``: after that, live may have moved on."""
    if now > plan.expires_at:
        raise PlanExpired(
            f"plan {plan.plan_id} expired at {plan.expires_at.isoformat()} (made "
            f"{plan.created_at.isoformat()}); nothing was applied. Make a new plan of snapshot "
            f"{plan.snapshot_id}, review it, and apply that one"
        )


def conflict_reason(item: PlanItem, live: Mapping[str, Any] | None) -> str | None:
    """How the live integration moved on since the plan was made; None when it did not.

    A ``create`` conflicts when the integration now exists; other actions when it is gone or
    its ``_etag`` (or, without etags, its content) changed. Not for restores into another
    subscription, whose creates match nothing live.
    """
    if item.action == "create":
        if live is None:
            return None
        return "was created live after the plan was made"
    if live is None:
        return "was deleted live after the plan was made"
    seen = live_etag(live)
    if item.live_etag is not None or seen is not None:
        changed = seen != item.live_etag
    else:
        changed = live_hash(live) != item.live_hash
    if changed:
        return "was changed live after the plan was made"
    return None


def verification_changes(
    sent: Mapping[str, Any], live: Mapping[str, Any], *, new_integration: bool
) -> tuple[FieldChange, ...]:
    """Differences between what was sent and what is live, server-managed fields aside.

    Empty means verified. ``new_integration`` (a restore into another subscription) also sets
    ``id`` aside, which the target assigned.
    """
    ignored = SERVER_MANAGED_FIELDS | SUBSCRIPTION_CONTEXT_FIELDS
    if new_integration:
        ignored = ignored | {"id"}
    return _safe_changes(
        {k: v for k, v in sent.items() if k not in ignored},
        {k: v for k, v in live.items() if k not in ignored},
        DEFAULT_DIFF_OPTIONS,
    )


def report_counts(items: Iterable[ItemResult]) -> ReportCounts:
    counts = dict.fromkeys(ReportCounts.model_fields, 0)
    for item in items:
        counts[item.status] += 1
        if item.verification != "not-checked":
            counts[item.verification] += 1
    return ReportCounts(**counts)


def report_outcome(items: Iterable[ItemResult], *, aborted: bool = False) -> Outcome:
    """``succeeded`` when every item is in a good state and every verifiable one verified."""
    if aborted:
        return "aborted"
    for item in items:
        if item.status not in GOOD_STATUSES:
            return "partial"
        if item.status in VERIFIABLE_STATUSES and item.verification != "verified":
            return "partial"
    return "succeeded"
