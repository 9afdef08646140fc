"""HTTP trigger: ``POST /api/restore`` plans a restore (the default) or applies a stored plan.

Protection
----------
Restore can change production, so it is the best-guarded route of the app:

* **Key.** The app runs with ``AuthLevel.FUNCTION``: every call needs a function key. Call this
  function (its name is ``restore``) with a *function-specific* key of ``restore``, created for
  the people or pipelines that may restore
  (``az functionapp function keys set -g RG -n APP --function-name restore --key-name ops``),
  and not with the host (default) or master key, which open every function; rotate or delete
  that one key to withdraw the right to restore.
* **Plan first.** A request without ``"apply": true`` only plans: it reads Connxio and never
  writes to it, so replaying a plan request (or any request without ``apply``) can never change
  anything. ``apply`` must be the JSON boolean ``true``; ``"true"`` or ``1`` are rejected.
* **Apply a reviewed plan, by id, with a confirmation.** Apply takes the ``planId`` of a stored
  plan (so what was reviewed is exactly what is applied) and ``confirm``, which must be that
  plan's snapshot id (``latest`` does not count).
* **Single use, short-lived.** A plan applies once (a replayed apply gets 409, naming the run
  that applied it) and expires one hour after it was made (409).

Request body (unknown members are rejected)::

    {
      "snapshot": "20261204T140000Z-3f9a1c" | "latest",  plan: required
      "subscriptions": ["<id>", ...],                      plan: scope (default: all complete)
      "integrations": ["<id>", ...],                       plan: scope (default: all)
      "targetSubscription": "<id>",                        plan: restore into another one
      "validate": true,                                    plan: false → /novalidation upserts
      "deleteExtra": false,                                plan: delete live-only integrations
      "apply": false,                                      true → apply planId
      "planId": "plan-...",                                apply: required
      "confirm": "<the plan's snapshot id>",               apply: required
      "force": false,          plan: skip unreadable stored objects; apply: overwrite conflicts
      "requestedBy": "name"                                recorded in the plan / report
    }

The scope members belong to the plan, so they are rejected with ``apply`` (the plan fixes
them); ``snapshot`` may be repeated with ``apply`` and must then equal ``confirm``. Who asked
is the App Service authentication principal (``X-MS-CLIENT-PRINCIPAL-NAME``) when present,
else ``requestedBy``, recorded with an ``http:`` prefix.

Responses
---------
========  =======================================================================================
200       plan: ``{"planId", "snapshotId", "expiresAt", "counts", "next", "plan"}``
200       apply, every item restored and verified: ``{"runId", "outcome", ..., "report"}``
207       apply, some items failed, conflicted, were skipped or did not verify: same body; each
          item's ``status``/``verification``/``message`` say which and why
400       malformed body, a member that does not belong to the mode, a malformed id
404       unknown snapshot, plan, subscription or integration
409       the plan was already applied, or has expired: make a new plan
422       ``planId`` or ``confirm`` missing, or ``confirm`` not the plan's snapshot; a scope the
          snapshot cannot serve (a subscription it holds incompletely...)
502       Connxio refused or failed while planning; or an apply that stopped early (problem
          document with ``runId`` and the stored ``report``, outcome ``aborted``)
========  =======================================================================================

Every error is an RFC 9457 problem document. The Functions front end stops HTTP requests after
230 seconds; a restore of a few hundred integrations takes well under that.
"""

from __future__ import annotations

import json

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from shared.app import apply_restore, plan_restore
from shared.core.plan import RestoreAborted, RestorePlan, RestoreReport, is_plan_id
from shared.services.restore import PlanRequest
from shared.triggers.context import current_runtime
from shared.triggers.http import json_response, respond
from shared.triggers.problems import PROBLEM_JSON, RequestProblem, problem_for
from shared.triggers.requests import integration_id, json_body, snapshot_reference

bp = func.Blueprint()

PRINCIPAL_HEADER = "x-ms-client-principal-name"
_PLAN_MEMBERS = ("subscriptions", "integrations", "targetSubscription", "validate", "deleteExtra")
_APPLY_MEMBERS = ("planId", "confirm")


class RestoreBody(BaseModel):
    """The body of ``POST /api/restore``; see the module doc for what each member does."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    snapshot: str | None = Field(default=None, max_length=64)
    subscriptions: list[str] | None = Field(default=None, min_length=1, max_length=100)
    integrations: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    targetSubscription: str | None = Field(default=None, max_length=128)
    validation: StrictBool = Field(default=True, alias="validate")
    deleteExtra: StrictBool = False
    apply: StrictBool = False
    planId: str | None = Field(default=None, max_length=64)
    confirm: str | None = Field(default=None, max_length=64)
    force: StrictBool = False
    requestedBy: str | None = Field(default=None, max_length=200)

    def given(self, *names: str) -> list[str]:
        """Which of ``names`` (JSON member names) the caller sent."""
        fields = type(self).model_fields
        sent = {fields[f].alias or f for f in self.model_fields_set}
        return [n for n in names if n in sent]


@bp.function_name("restore")
@bp.route(route="restore", methods=["POST"])
async def restore(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        body = json_body(req, RestoreBody)
        requested_by = _requested_by(req, body)
        if body.apply:
            return await _apply(body, requested_by)
        return await _plan(body, requested_by)

    return await respond(handle)


async def _plan(body: RestoreBody, requested_by: str) -> func.HttpResponse:
    misplaced = body.given(*_APPLY_MEMBERS)
    if misplaced:
        raise RequestProblem(
            400,
            "Invalid body",
            f"{', '.join(misplaced)} belong(s) to apply: this request only plans. Send "
            '"apply": true with planId and confirm to apply a plan',
        )
    snapshot = snapshot_reference(body.snapshot, name="snapshot")
    request = PlanRequest(
        snapshot=snapshot,
        subscription_ids=_ids(body.subscriptions, "subscriptions"),
        integration_ids=_ids(body.integrations, "integrations"),
        target_subscription_id=(
            integration_id(body.targetSubscription, name="targetSubscription")
            if body.targetSubscription is not None
            else None
        ),
        validation=body.validation,
        delete_extra=body.deleteExtra,
        force=body.force,
        requested_by=requested_by,
    )
    plan = await plan_restore(current_runtime(), request)
    return json_response(plan_summary(plan))


async def _apply(body: RestoreBody, requested_by: str) -> func.HttpResponse:
    misplaced = body.given(*_PLAN_MEMBERS)
    if misplaced:
        raise RequestProblem(
            400,
            "Invalid body",
            f"{', '.join(misplaced)} belong(s) to the plan, which fixes them: send only apply, "
            "planId, confirm, force and requestedBy (make a new plan to change the scope)",
        )
    if not body.planId:
        raise RequestProblem(
            422,
            "Plan required",
            "apply needs planId: first POST without apply to make a plan, review it, then "
            "apply its planId with confirm set to its snapshot id",
        )
    if not is_plan_id(body.planId):
        raise RequestProblem(
            400, "Invalid identifier", "planId must be a plan id like plan-20261204T020000Z-3f9a1c"
        )
    if body.snapshot is not None and body.snapshot != body.confirm:
        raise RequestProblem(
            422,
            "Confirmation required",
            "snapshot and confirm name different snapshots; nothing was applied. Confirm with "
            "the snapshot id of the plan",
        )
    try:
        report = await apply_restore(
            current_runtime(),
            plan_id=body.planId,
            confirm_snapshot_id=body.confirm,
            requested_by=requested_by,
            force=body.force,
        )
    except RestoreAborted as error:
        return aborted_problem(error)
    return json_response(report_summary(report), 200 if report.ok else 207)


def plan_summary(plan: RestorePlan) -> dict:
    """The plan response: the ids needed to apply it, its counts, and the stored plan."""
    return {
        "planId": plan.plan_id,
        "snapshotId": plan.snapshot_id,
        "createdAt": plan.created_at.isoformat(),
        "expiresAt": plan.expires_at.isoformat(),
        "targetSubscription": plan.target_subscription_id,
        "counts": plan.counts.model_dump(),
        "next": (
            'to apply, POST {"apply": true, "planId": "<planId>", "confirm": "<snapshotId>"} '
            "before expiresAt; a plan applies once"
        ),
        "plan": plan.model_dump(mode="json"),
    }


def report_summary(report: RestoreReport) -> dict:
    """The apply response: the outcome at a glance, and the stored report."""
    return {
        "runId": report.run_id,
        "planId": report.plan.plan_id,
        "snapshotId": report.plan.snapshot_id,
        "outcome": report.outcome,
        "message": report.message,
        "preRestoreSnapshotId": report.pre_restore_snapshot_id,
        "counts": report.counts.model_dump(),
        "idMap": report.id_map,
        "report": report.model_dump(mode="json"),
    }


def aborted_problem(error: RestoreAborted) -> func.HttpResponse:
    """A 502 problem document that still carries the stored report of the aborted run."""
    response = problem_for(error)
    document = json.loads(response.get_body())
    document["runId"] = error.report.run_id
    document["report"] = error.report.model_dump(mode="json")
    return func.HttpResponse(
        json.dumps(document), status_code=response.status_code, mimetype=PROBLEM_JSON
    )


def _requested_by(req: func.HttpRequest, body: RestoreBody) -> str:
    principal = (req.headers.get(PRINCIPAL_HEADER) or "").strip()
    declared = (body.requestedBy or "").strip()
    return f"http:{principal or declared or 'anonymous (function key)'}"


def _ids(values: list[str] | None, name: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(integration_id(v, name=f"{name}[{i}]") for i, v in enumerate(values))
