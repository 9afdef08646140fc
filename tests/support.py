"""Small helpers several test folders share (no fixtures here: those live in conftest.py)."""

from __future__ import annotations

from typing import Any


def decrypted_values(value: Any) -> set[str]:
    """Every non-empty ``decryptedValue`` string in a document: the secrets a test must never
    find in logs or outputs."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "decryptedValue" and isinstance(item, str) and item:
                found.add(item)
            else:
                found |= decrypted_values(item)
    elif isinstance(value, list):
        for item in value:
            found |= decrypted_values(item)
    return found


def live_secret_values(simulator: Any) -> set[str]:
    """Every ``decryptedValue`` in the simulator's live estate."""
    return {
        value
        for sid in simulator.subscription_ids
        for config in simulator.integrations(sid)
        for value in decrypted_values(config)
    }
