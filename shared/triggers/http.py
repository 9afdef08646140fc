"""HTTP triggers: backup on demand and read access to snapshots.

Every route is protected by a function key (the app's ``http_auth_level``). Handlers only parse
the request, call a use case, and shape the response; every failure becomes a problem document
through ``respond``.

    POST /api/backups                                          take a backup now → 201
    GET  /api/snapshots?limit=&before=                         newest first, paged
    GET  /api/snapshots/{snapshotId}                           one manifest
    GET  /api/snapshots/{snapshotId}/integrations/{integrationId}   the stored config, as stored
    GET  /api/audits?from=&to=&format=json|markdown|html&subscription=&integration=
    GET  /api/integrations/{integrationId}/history             the integration's timeline
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from shared.app import audit, backup_summary, history, take_backup
from shared.core.manifest import AnyManifest, Trigger
from shared.reports import AUDIT_FORMATS
from shared.services.snapshots import get_snapshot, get_stored_integration, list_snapshots
from shared.triggers.context import current_runtime
from shared.triggers.problems import problem_for
from shared.triggers.requests import (
    integration_id,
    json_body,
    query_choice,
    query_int,
    snapshot_reference,
)

bp = func.Blueprint()

JSON = "application/json"


async def respond(handler: Callable[[], Awaitable[func.HttpResponse]]) -> func.HttpResponse:
    """Run ``handler``; any exception becomes a problem document, never a stack trace."""
    try:
        return await handler()
    except Exception as error:
        return problem_for(error)


def json_response(document: object, status: int = 200, headers: dict | None = None):
    return func.HttpResponse(
        json.dumps(document, ensure_ascii=False), status_code=status, mimetype=JSON, headers=headers
    )


def snapshot_listing_item(manifest: AnyManifest) -> dict:
    return {
        "snapshotId": manifest.snapshot_id,
        "status": manifest.status.value,
        "trigger": manifest.trigger.value,
        "startedAt": manifest.started_at.isoformat(),
        "finishedAt": manifest.finished_at.isoformat(),
        "subscriptions": len(manifest.subscriptions),
        "integrations": manifest.integration_count(),
        "warnings": list(manifest.warnings),
    }


class BackupRequest(BaseModel):
    """Optional body of POST /api/backups; nothing is required."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    note: str | None = Field(default=None, max_length=500)


@bp.route(route="backups", methods=["POST"])
async def start_backup(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        body = json_body(req, BackupRequest, empty_ok=True)
        outcome = await take_backup(current_runtime(), Trigger.HTTP, note=body.note)
        snapshot_id = outcome.manifest.snapshot_id
        return json_response(
            backup_summary(outcome), 201, headers={"Location": f"/api/snapshots/{snapshot_id}"}
        )

    return await respond(handle)


@bp.route(route="snapshots", methods=["GET"])
async def snapshots(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        limit = query_int(req, "limit", 50, 1, 200)
        before = req.params.get("before")
        if before is not None:
            before = snapshot_reference(before, name="before", latest=False)
        page = await list_snapshots(current_runtime().repository, limit=limit, before=before)
        return json_response(
            {
                "items": [snapshot_listing_item(m) for m in page.items],
                "total": page.total,
                "next": page.next_cursor,
            }
        )

    return await respond(handle)


@bp.route(route="snapshots/{snapshotId}", methods=["GET"])
async def snapshot(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        reference = snapshot_reference(req.route_params.get("snapshotId"))
        manifest = await get_snapshot(current_runtime().repository, reference)
        return json_response(manifest.model_dump(mode="json"))

    return await respond(handle)


@bp.route(route="snapshots/{snapshotId}/integrations/{integrationId}", methods=["GET"])
async def snapshot_integration(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        reference = snapshot_reference(req.route_params.get("snapshotId"))
        wanted = integration_id(req.route_params.get("integrationId"))
        stored = await get_stored_integration(current_runtime().repository, reference, wanted)
        return func.HttpResponse(
            stored.data,
            status_code=200,
            mimetype=JSON,
            headers={"X-Snapshot-Id": stored.snapshot_id, "ETag": f'"{stored.entry.hash}"'},
        )

    return await respond(handle)


def _optional_ids(req: func.HttpRequest, name: str) -> frozenset[str] | None:
    raw = req.params.get(name)
    if not raw:
        return None
    return frozenset(integration_id(v.strip(), name=name) for v in raw.split(",") if v.strip())


@bp.route(route="audits", methods=["GET"])
async def audits(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        fmt = query_choice(req, "format", tuple(AUDIT_FORMATS), "json")
        from_ref = req.params.get("from") or None
        to_ref = req.params.get("to") or None
        if from_ref is not None:
            from_ref = snapshot_reference(from_ref, name="from")
        if to_ref is not None:
            to_ref = snapshot_reference(to_ref, name="to")
        result = await audit(
            current_runtime(),
            from_ref,
            to_ref,
            subscription_ids=_optional_ids(req, "subscription"),
            integration_ids=_optional_ids(req, "integration"),
        )
        render, mimetype = AUDIT_FORMATS[fmt]
        return func.HttpResponse(
            render(result), status_code=200, mimetype=mimetype, charset="utf-8"
        )

    return await respond(handle)


@bp.route(route="integrations/{integrationId}/history", methods=["GET"])
async def integration_history(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        wanted = integration_id(req.route_params.get("integrationId"))
        timeline = await history(current_runtime(), wanted)
        return json_response(timeline.model_dump(mode="json"))

    return await respond(handle)
