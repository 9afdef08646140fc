"""Reading HTTP requests safely: bounded bodies, strict JSON, validated ids and query values.

Every helper raises ``RequestProblem`` (→ a 4xx problem document) naming what was wrong.
"""

from __future__ import annotations

import json
import re
from typing import TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from shared.core.manifest import is_snapshot_id
from shared.triggers.problems import RequestProblem

M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 64 * 1024
_INTEGRATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def snapshot_reference(value: str | None, *, name: str = "snapshotId", latest: bool = True) -> str:
    """A snapshot id, or ``latest`` where allowed."""
    if value is None or value == "":
        raise RequestProblem(400, "Missing parameter", f"{name} is required")
    if (latest and value == "latest") or is_snapshot_id(value):
        return value
    raise RequestProblem(
        400,
        "Invalid identifier",
        f"{name} must be a snapshot id like 20261204T020000Z-3f9a1c"
        + (" or 'latest'" if latest else ""),
    )


def integration_id(value: str | None, *, name: str = "integrationId") -> str:
    if not value or not _INTEGRATION_ID.fullmatch(value) or ".." in value:
        raise RequestProblem(
            400,
            "Invalid identifier",
            f"{name} must be 1-128 letters, digits, '.', '_', ':' or '-'",
        )
    return value


def query_int(req: func.HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = req.params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestProblem(
            400, "Invalid query parameter", f"{name} must be a whole number"
        ) from None
    if not low <= value <= high:
        raise RequestProblem(
            400, "Invalid query parameter", f"{name} must be between {low} and {high}"
        )
    return value


def query_choice(req: func.HttpRequest, name: str, choices: tuple[str, ...], default: str) -> str:
    value = req.params.get(name) or default
    if value not in choices:
        raise RequestProblem(
            400, "Invalid query parameter", f"{name} must be one of: {', '.join(choices)}"
        )
    return value


def json_body(req: func.HttpRequest, model: type[M], *, empty_ok: bool = False) -> M:
    """Parse and validate a JSON body; unknown fields are rejected by the model's config."""
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise RequestProblem(
            413, "Body too large", f"the request body is larger than {MAX_BODY_BYTES} bytes"
        )
    if not body.strip():
        if empty_ok:
            return model()
        raise RequestProblem(400, "Missing body", "this endpoint needs a JSON object body")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestProblem(400, "Malformed JSON", "the request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise RequestProblem(400, "Invalid body", "the request body must be a JSON object")
    try:
        return model.model_validate(document)
    except ValidationError as error:
        errors = [
            {"field": "/".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
            for e in error.errors(include_input=False, include_url=False)
        ]
        raise RequestProblem(
            400, "Invalid body", "the request body does not match the expected shape", errors=errors
        ) from None
