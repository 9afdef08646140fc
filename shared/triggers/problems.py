"""RFC 9457 problem documents: every HTTP error the app returns, and how errors map to them.

Callers never see a stack trace: unexpected exceptions become a generic 500 whose ``detail``
says where to look (the function's log, by ``instance`` id), while the exception itself goes to
the log. Our own errors carry messages written to be shown (they never hold secrets).
"""

from __future__ import annotations

import json
import logging
import uuid

import azure.functions as func

from shared.errors import (
    ConnxioAuthError,
    ConnxioError,
    CorruptObjectError,
    CxBackupError,
    InvalidNameError,
    NotFoundError,
    RefusedError,
    SettingsError,
    StoreUnavailableError,
)

log = logging.getLogger("cxbackup.http")

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://cxbackup.dev/problems/"


class RequestProblem(CxBackupError):
    """A 4xx the trigger decided on itself (bad query, bad body, missing confirmation...)."""

    def __init__(self, status: int, title: str, detail: str, *, errors: list | None = None) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        super().__init__(detail)


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str | None = None,
    instance: str | None = None,
    errors: list | None = None,
    headers: dict[str, str] | None = None,
) -> func.HttpResponse:
    body: dict = {
        "type": _TYPE_BASE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype=PROBLEM_JSON, headers=headers
    )


def problem_for(error: BaseException) -> func.HttpResponse:
    """Translate any exception into a problem document with the right status."""
    if isinstance(error, RequestProblem):
        return problem_response(error.status, error.title, error.detail, errors=error.errors)
    if isinstance(error, InvalidNameError):
        return problem_response(400, "Invalid identifier", str(error))
    if isinstance(error, NotFoundError):
        return problem_response(404, "Not found", str(error))
    if isinstance(error, SettingsError):
        log.error("configuration error: %s", error)
        return problem_response(
            500, "Configuration error", f"{error}. Fix the app setting and restart the app."
        )
    if isinstance(error, StoreUnavailableError):
        log.error("backup storage unavailable: %s", error)
        return problem_response(
            503, "Storage unavailable", str(error), headers={"Retry-After": "60"}
        )
    if isinstance(error, CorruptObjectError):
        log.error("corrupt stored data: %s", error)
        return problem_response(500, "Corrupt backup data", str(error))
    if isinstance(error, ConnxioAuthError):
        log.error("Connxio refused our credentials: %s", error)
        return problem_response(502, "Connxio authentication failed", str(error))
    if isinstance(error, ConnxioError):
        log.error("Connxio API failed: %s", error)
        return problem_response(502, "Connxio API error", str(error))
    if isinstance(error, RefusedError):
        # Restore refusals (422/409) and aborted runs (502), refused acknowledgements
        # (400/409/422), a repository held by a prune (409): each error carries its status.
        log.warning("request refused: %s", error)
        return problem_response(error.status, error.title, str(error))
    if isinstance(error, CxBackupError):
        log.error("request failed: %s", error)
        return problem_response(500, "Backup error", str(error))
    incident = uuid.uuid4().hex[:12]
    log.exception("unexpected error, incident %s", incident)
    return problem_response(
        500,
        "Internal error",
        f"An unexpected error occurred; the function log has the details under incident {incident}.",
        instance=f"urn:cxbackup:incident:{incident}",
    )
