"""The process-wide Runtime the triggers use, built lazily from app settings.

The Functions host imports ``function_app`` once per worker process and calls functions many
times, so the repository (a thread-safe, synchronous backend with its own thread pool) is built
once and reused. Tests install their own Runtime with ``use_runtime`` instead of patching.
"""

from __future__ import annotations

import threading

from shared.settings import load_settings
from shared.wiring import Runtime

_lock = threading.Lock()
_runtime: Runtime | None = None


def current_runtime() -> Runtime:
    """The Runtime for this process; raises ``SettingsError`` naming a bad setting."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime.from_settings(load_settings())
        return _runtime


def use_runtime(runtime: Runtime | None) -> None:
    """Install ``runtime`` (or clear it, so the next call reads the settings again)."""
    global _runtime
    with _lock:
        _runtime = runtime
