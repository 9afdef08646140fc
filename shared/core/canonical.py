"""Canonical JSON: the one byte form in which cxbackup stores and hashes API documents.

Keys sorted, no insignificant white space, UTF-8 (non-ASCII kept as is). The document is the
JSON value exactly as the API returned it; canonicalisation changes only its spelling, never its
content, so every property survives, including those no model of ours knows.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

JsonValue = Any  # a value json.loads can return: dict, list, str, int, float, bool, None


def _reject_constant(name: str) -> float:
    raise ValueError(f"JSON constant {name} is not allowed in canonical JSON")


def canonical_bytes(document: JsonValue) -> bytes:
    """The canonical UTF-8 bytes of ``document``."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def content_hash(data: bytes) -> str:
    """The content address of stored bytes: lowercase hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def parse_json(data: bytes | str) -> JsonValue:
    """Parse JSON strictly (no NaN/Infinity); raises ``ValueError`` on anything else."""
    return json.loads(data, parse_constant=_reject_constant)
