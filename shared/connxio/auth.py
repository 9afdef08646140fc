"""OAuth2 client-credentials tokens for the Connxio API, cached and shared.

Every API call needs ``Authorization: Bearer <token>``. Asking the token endpoint on every call
would double the request count and hammer an endpoint that rate-limits, so the token is cached
until ``refresh_margin`` seconds before it expires (``expires_in``). An ``asyncio.Lock`` makes
concurrent callers wait for one token request instead of each sending their own: a backup of
a few hundred integrations in parallel still costs one token request.

A 401 from the API means the cached token went stale early (revoked, rotated signing key, clock
skew); the client then asks for ``token(http, force_refresh=True)``. When many calls hit a 401
at the same moment, only the first one refreshes: a caller that waited for the lock while another
refresh completed takes that new token instead of fetching yet another.

Token endpoint failures map onto the error tree:

    400 / 401 / 403           ConnxioAuthError       the client id/secret/scope were refused
    408 / 429 / 5xx, timeout,
    connection error          ConnxioTransientError  the client's RetryPolicy retries it
    other status              ConnxioError           probably a wrong token URL
    2xx without a usable body ConnxioProtocolError   no access_token / expires_in

The client secret and the tokens never appear in ``repr()``, log records or exception messages.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from shared.core.canonical import parse_json
from shared.errors import (
    ConnxioAuthError,
    ConnxioError,
    ConnxioProtocolError,
    ConnxioTransientError,
)

__all__ = ["DEFAULT_SCOPE", "ClientCredentials", "is_transient_status", "parse_retry_after"]

DEFAULT_SCOPE = "api://connxio/.default"

logger = logging.getLogger(__name__)

# OAuth error codes (RFC 6749 section 5.2) are short identifiers; anything else in an error body
# is left out of our messages because we cannot tell what it echoes.
_OAUTH_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def is_transient_status(status: int) -> bool:
    """Whether an HTTP status may pass if we wait: 408, 429 and 5xx except 501/505.

    501 (not implemented) and 505 (HTTP version) will not change by retrying.
    """
    return status in (408, 429) or (500 <= status < 600 and status not in (501, 505))


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` in seconds from delta-seconds or an HTTP-date; None when absent or garbled.

    A date in the past means "now" (0.0). ``now`` is wall-clock time because an HTTP-date is.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means "GMT" was implied
            return None
        return max(0.0, when.timestamp() - now())
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


class ClientCredentials:
    """The OAuth client of cxbackup plus its cached access token.

    One instance is shared by every call of a ``ConnxioClient`` (and may be shared by several
    clients on one event loop). ``clock`` is injectable so tests can move time forward.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str = DEFAULT_SCOPE,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token_url:
            raise ValueError("token_url must not be empty: set CONNXIO_TOKEN_URL")
        if not client_id:
            raise ValueError("client_id must not be empty: set CONNXIO_CLIENT_ID")
        if not client_secret:
            raise ValueError("client_secret must not be empty: set CONNXIO_CLIENT_SECRET")
        if refresh_margin < 0:
            raise ValueError("refresh_margin must be >= 0 seconds")
        self.token_url = token_url
        self.client_id = client_id
        self.scope = scope
        self.refresh_margin = refresh_margin
        self._client_secret = client_secret
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = -math.inf  # clock() value from which the cached token counts as stale
        # Completed fetches (success or failure) and how the last one ended: a caller that
        # waited for the lock uses them to take over a fresh token or a failure.
        self._fetches = 0
        self._last_error: ConnxioError | None = None
        self._requests = 0
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        path = httpx.URL(token_url).path or "/"
        self._operation = f"POST {path} (token endpoint)"

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            f"scope={self.scope!r}, client_secret='***')"
        )

    @property
    def token_requests(self) -> int:
        """How many requests went to the token endpoint (for stats and tests)."""
        return self._requests

    def invalidate(self) -> None:
        """Forget the cached token, so the next ``token()`` fetches a new one."""
        self._token = None
        self._refresh_at = -math.inf

    def _get_lock(self) -> asyncio.Lock:
        # An asyncio.Lock binds to the loop it first waits on; a CLI run or a test suite may use
        # several loops one after another, so keep one lock per running loop.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._refresh_at

    async def token(self, http: httpx.AsyncClient, *, force_refresh: bool = False) -> str:
        """A valid access token, from the cache or from the token endpoint.

        ``force_refresh`` fetches a new token even if the cached one looks fresh (the API said
        401), unless another caller already replaced the token while this one waited. A caller
        that waited while another's fetch *failed* gets that failure too, instead of asking
        again: twenty concurrent calls against a failing token endpoint cost one request per
        retry round, not twenty.
        """
        seen_fetches = self._fetches
        if not force_refresh and self._fresh():
            return self._token  # type: ignore[return-value]  # _fresh() checked it
        async with self._get_lock():
            if self._fetches != seen_fetches:  # a fetch finished while we waited for the lock
                if self._last_error is not None:
                    raise copy.copy(self._last_error)  # a copy: each raise gets its own traceback
                if force_refresh or self._fresh():
                    return self._token  # type: ignore[return-value]  # that fetch succeeded
            elif not force_refresh and self._fresh():
                return self._token  # type: ignore[return-value]
            try:
                token, expires_in = await self._fetch(http)
            except ConnxioError as error:
                self._fetches += 1
                self._last_error = error
                raise
            # A token shorter-lived than the margin would otherwise be "stale" on arrival and
            # refetched on every call; use at most half its lifetime as the margin then.
            margin = min(self.refresh_margin, expires_in / 2)
            self._token = token
            self._refresh_at = self._clock() + expires_in - margin
            self._fetches += 1
            self._last_error = None
            return token

    async def _fetch(self, http: httpx.AsyncClient) -> tuple[str, float]:
        op = self._operation
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "scope": self.scope,
        }
        self._requests += 1
        try:
            response = await http.post(
                self.token_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.UnsupportedProtocol as exc:
            raise ConnxioError(
                f"the token URL cannot be used ({type(exc).__name__}): "
                "check CONNXIO_TOKEN_URL (an absolute http(s) URL)",
                operation=op,
            ) from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise ConnxioTransientError(
                f"could not reach the token endpoint ({type(exc).__name__}); try again later",
                operation=op,
            ) from None  # from None: httpx's exception holds the request with our secret form
        status = response.status_code
        logger.debug("%s -> %s", op, status)
        if status in (400, 401, 403):
            code = _oauth_error_code(response.content)
            detail = f", error={code}" if code else ""
            raise ConnxioAuthError(
                f"token endpoint refused the client credentials (HTTP {status}{detail}): "
                "check CONNXIO_CLIENT_ID / CONNXIO_CLIENT_SECRET (and the scope)",
                operation=op,
                status=status,
            )
        if is_transient_status(status):
            raise ConnxioTransientError(
                f"token endpoint answered HTTP {status} (busy or failing); try again later",
                operation=op,
                status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if not 200 <= status < 300:
            raise ConnxioError(
                f"token endpoint answered HTTP {status}: check CONNXIO_TOKEN_URL",
                operation=op,
                status=status,
            )
        return _read_token(response.content, op)


def _oauth_error_code(body: bytes) -> str | None:
    try:
        document = parse_json(body)
    except ValueError:
        return None
    code = document.get("error") if isinstance(document, dict) else None
    if isinstance(code, str) and _OAUTH_ERROR_CODE.match(code):
        return code
    return None


def _read_token(body: bytes, op: str) -> tuple[str, float]:
    """``access_token`` and ``expires_in`` from a token response; never echoes the body."""
    try:
        document: Any = parse_json(body)
    except ValueError:
        raise ConnxioProtocolError(
            "token endpoint answered 2xx with a body that is not JSON: check CONNXIO_TOKEN_URL "
            "points at the OAuth token endpoint",
            operation=op,
        ) from None
    if not isinstance(document, dict):
        raise ConnxioProtocolError(
            "token endpoint answered with JSON that is not an object", operation=op
        )
    token = document.get("access_token")
    if not isinstance(token, str) or not token:
        raise ConnxioProtocolError(
            "token endpoint answered without a string access_token", operation=op
        )
    expires_in = document.get("expires_in")
    # Some identity providers send expires_in as a numeric string; accept both.
    if isinstance(expires_in, str):
        try:
            expires_in = float(expires_in)
        except ValueError:
            expires_in = None
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not math.isfinite(expires_in)
        or expires_in <= 0
    ):
        raise ConnxioProtocolError(
            "token endpoint answered without a positive numeric expires_in", operation=op
        )
    return token, float(expires_in)
