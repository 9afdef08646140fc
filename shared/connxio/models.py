"""Typed read views over Connxio API documents.

The client returns every document exactly as the API sent it (parsed JSON, nothing dropped).
These models exist only to *check* that a response has the shape the contract promises before
anyone relies on it (an integration without a string ``id`` cannot be stored or restored), and to
give callers typed access to the handful of fields they read. They never decide what we keep:
``extra="allow"`` means an unknown property is not an error, and the client never serialises a
model back; the raw dict is what travels on.

Validation is strict (no coercion of ``1`` to ``"1"`` or ``"true"`` to ``True``): a view that
silently "fixed" a response would hide exactly the protocol drift we want to notice. Timestamps
stay strings, because the service's spelling (seven fractional digits, ``Z`` or offset) is not
ours to judge here; parse them where a comparison needs it.

``validate_document`` turns a pydantic failure into a ``ConnxioProtocolError`` whose message
names the operation and the field paths but never the values, which may be secrets.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.errors import ConnxioProtocolError

__all__ = [
    "IntegrationView",
    "SubscriptionView",
    "validate_document",
]

T = TypeVar("T")


class IntegrationView(BaseModel):
    """The fields of an ``IntegrationConfig`` that cxbackup reads; everything else is kept as is.

    Only ``id`` is required: it is the key under which a config is stored and restored. The
    contract marks the other fields nullable, so a missing or null value is accepted.
    """

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    id: str = Field(min_length=1)
    transactionType: str | None = None
    sender: str | None = None
    receiver: str | None = None
    subscriptionId: str | None = None
    updatedBy: str | None = None
    updatedAtUtc: str | None = None
    etag: str | None = Field(default=None, alias="_etag")


class SubscriptionView(BaseModel):
    """A ``ConnXioSubscription``: ``id`` is required because API keys are configured per id."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    id: str = Field(min_length=1)
    name: str | None = None
    active: bool | None = None
    companyId: str | None = None
    companyName: str | None = None


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(shape: Any) -> TypeAdapter[Any]:
    # Building a TypeAdapter compiles a validator; do it once per shape, not once per response.
    adapter = _adapters.get(shape)
    if adapter is None:
        adapter = _adapters[shape] = TypeAdapter(shape)
    return adapter


def _describe(error: ValidationError, limit: int = 5) -> str:
    """Field paths and problem kinds only: pydantic's own text can quote the input value."""
    parts: list[str] = []
    for item in error.errors(include_input=False, include_url=False, include_context=False)[:limit]:
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"])
        parts.append(f"{loc.lstrip('.') or '(document)'}: {item['type']}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def validate_document(shape: type[T] | Any, document: Any, *, operation: str) -> T:
    """Validate ``document`` against ``shape`` (a model, or e.g. ``list[IntegrationView]``).

    Returns the typed view for callers that want it; raises ``ConnxioProtocolError`` naming the
    operation and the offending fields when the document does not have the promised shape.
    """
    try:
        return _adapter(shape).validate_python(document)
    except ValidationError as exc:
        raise ConnxioProtocolError(
            f"the response does not have the documented shape ({_describe(exc)}); "
            "the API may have changed or a proxy altered the answer: try again, and report it "
            "if it persists",
            operation=operation,
        ) from None  # from None: pydantic's error carries the input, which may hold secrets
