"""HTTP triggers for repository maintenance: verify integrity, apply retention, acknowledge a
mass change. Every route needs a function key; every failure is an RFC 9457 problem document.

    POST /api/verify                              {"snapshot": id|"latest"|null, "all": bool}
    POST /api/prune                               {"dryRun": bool}            (body optional)
    POST /api/snapshots/{snapshotId}/acknowledge  {"by": "name", "note": "text"}

Responses
---------
========  =======================================================================================
200       verify: the ``VerificationReport``; ``ok`` says whether anything was found. Problems in
          the data are findings, not request errors, so they come back as 200 with ``ok: false``
          (a monitor checks ``ok``).
200       prune: the ``PruneReport``. A prune that stopped because a backup was running is still
          200, with ``stopped`` saying why (nothing was deleted; the next one tries again).
201       acknowledge: the stored ``Acknowledgement``
400       malformed body or snapshot id, unknown members, both ``snapshot`` and ``all``
404       unknown snapshot
409       acknowledge: already acknowledged (acknowledgements are write-once)
422       acknowledge: the snapshot flagged no mass change
503       storage unavailable
========  =======================================================================================

Verify reads every object once; on a large estate call it with a snapshot rather than ``all``
if the Functions front end's 230-second limit is near (the CLI has no such limit).
"""

from __future__ import annotations

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from shared.app import acknowledge, prune, verify
from shared.triggers.context import current_runtime
from shared.triggers.http import json_response, respond
from shared.triggers.problems import RequestProblem
from shared.triggers.requests import json_body, snapshot_reference

bp = func.Blueprint()


class VerifyRequest(BaseModel):
    """Body of POST /api/verify. No body (or neither member) verifies every snapshot."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    snapshot: str | None = Field(default=None, max_length=64)
    all: StrictBool = False


class PruneRequest(BaseModel):
    """Optional body of POST /api/prune."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    dry_run: StrictBool = Field(default=False, alias="dryRun")


class AcknowledgeRequest(BaseModel):
    """Body of POST /api/snapshots/{snapshotId}/acknowledge."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    by: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


@bp.route(route="verify", methods=["POST"])
async def verify_snapshots(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        body = json_body(req, VerifyRequest, empty_ok=True)
        if body.snapshot is not None and body.all:
            raise RequestProblem(
                400,
                "Invalid body",
                "give either 'snapshot' (one snapshot) or 'all': true (every snapshot), not both",
            )
        reference = snapshot_reference(body.snapshot, name="snapshot") if body.snapshot else None
        report = await verify(current_runtime(), reference)
        return json_response(report.model_dump(mode="json"))

    return await respond(handle)


@bp.route(route="prune", methods=["POST"])
async def prune_snapshots(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        body = json_body(req, PruneRequest, empty_ok=True)
        report = await prune(current_runtime(), dry_run=body.dry_run, holder="http prune")
        return json_response(report.model_dump(mode="json"))

    return await respond(handle)


@bp.route(route="snapshots/{snapshotId}/acknowledge", methods=["POST"])
async def acknowledge_snapshot(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        reference = snapshot_reference(req.route_params.get("snapshotId"))
        body = json_body(req, AcknowledgeRequest)
        recorded = await acknowledge(current_runtime(), reference, by=body.by, note=body.note)
        return json_response(recorded.model_dump(mode="json"), 201)

    return await respond(handle)
