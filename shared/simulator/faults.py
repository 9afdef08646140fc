"""Fault rules: the ways a real Connxio deployment misbehaves, on demand.

A client has to survive throttling (429 with Retry-After), gateway errors (502/503), HTML error
pages from a proxy, bodies that are not JSON or are cut short, and connections that drop. Tests
inject a ``Fault`` that matches some requests; the server asks the ``FaultBook`` before answering
and applies the first match. Rules are checked in injection order and each applies ``times``
times (``None`` = forever), so a test can say "the first two list calls fail, then it recovers".
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["status", "latency", "malformed", "truncated", "html", "drop", "drop_mid_body"]
FAULT_KINDS: frozenset[str] = frozenset(
    {"status", "latency", "malformed", "truncated", "html", "drop", "drop_mid_body"}
)

_DEFAULT_STATUS = {"html": 200}


@dataclass(frozen=True)
class Fault:
    """One misbehaviour and the requests it applies to.

    ``kind``:
      - ``status``: answer ``status`` (default 503) with ``{"message": message}`` and, when
        ``retry_after`` is set, a ``Retry-After`` header; the request is not processed.
      - ``latency``: wait ``delay`` seconds more, then answer normally.
      - ``malformed``: 200 with a body that is not JSON; not processed.
      - ``truncated``: process normally, then send the first half of the JSON body as a 200
        (2xx kept) whose Content-Length matches the cut body.
      - ``html``: ``status`` (default 200) with an HTML error page, ``text/html``; not processed.
      - ``drop``: close the connection without answering; not processed.
      - ``drop_mid_body``: process normally, send the headers with the full Content-Length and
        half the body, then close.

    Matching: ``method`` (case-insensitive), ``path`` (``re.fullmatch`` against the path without
    the API prefix, e.g. ``/v2/integrations/.*`` or ``/oauth/token``), ``subscription_id`` (the
    API key's subscription) and ``integration_id`` (in the path, or the POST/PUT body's ``id``).
    ``None`` matches anything.
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    subscription_id: str | None = None
    integration_id: str | None = None
    times: int | None = 1
    status: int | None = None  # resolved in __post_init__: 200 for "html", else 503
    retry_after: float | None = None
    delay: float = 0.0
    message: str = "injected fault"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(
                f"Fault kind {self.kind!r} is not one of {sorted(FAULT_KINDS)}; pick one of those"
            )
        if self.times is not None and self.times < 1:
            raise ValueError(f"Fault times must be >= 1 or None (forever); got {self.times}")
        if self.delay < 0:
            raise ValueError(f"Fault delay must be >= 0 seconds; got {self.delay}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError(f"Fault retry_after must be >= 0 seconds; got {self.retry_after}")
        if self.path is not None:
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"Fault path {self.path!r} is not a valid regex: {exc}") from None
        if self.status is None:
            object.__setattr__(self, "status", _DEFAULT_STATUS.get(self.kind, 503))
        elif not 100 <= self.status <= 599:
            raise ValueError(f"Fault status must be an HTTP status 100-599; got {self.status}")

    @property
    def http_status(self) -> int:
        """The status as an int (always set after construction)."""
        return self.status if self.status is not None else 503

    def retry_after_header(self) -> str | None:
        """The Retry-After header text: integer seconds when whole, else the decimal."""
        if self.retry_after is None:
            return None
        if float(self.retry_after).is_integer():
            return str(int(self.retry_after))
        return str(self.retry_after)

    def matches(
        self,
        method: str,
        path: str,
        subscription_id: str | None,
        integration_id: str | None,
    ) -> bool:
        """Whether this rule applies to a request with these facts."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is not None and re.fullmatch(self.path, path) is None:
            return False
        if self.subscription_id is not None and self.subscription_id != subscription_id:
            return False
        return self.integration_id is None or self.integration_id == integration_id


@dataclass
class _Rule:
    fault: Fault
    left: int | None  # uses left; None = forever


class FaultBook:
    """The injected faults with their remaining counts; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []

    def add(self, fault: Fault) -> None:
        """Append a rule; it is checked after every rule injected before it."""
        if not isinstance(fault, Fault):
            raise TypeError(f"inject() takes a Fault, not {type(fault).__name__}")
        with self._lock:
            self._rules.append(_Rule(fault, fault.times))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def remaining(self) -> list[tuple[Fault, int | None]]:
        """Each rule still active and how many more requests it applies to (None = forever)."""
        with self._lock:
            return [(rule.fault, rule.left) for rule in self._rules]

    def take(
        self,
        method: str,
        path: str,
        subscription_id: str | None,
        integration_id: str | None,
    ) -> Fault | None:
        """The first matching rule with uses left, counting this use; None when none applies."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if not rule.fault.matches(method, path, subscription_id, integration_id):
                    continue
                if rule.left is not None:
                    rule.left -= 1
                    if rule.left <= 0:
                        del self._rules[index]
                return rule.fault
        return None
