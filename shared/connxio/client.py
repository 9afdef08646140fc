"""The Connxio Management API client: the only code in cxbackup that speaks HTTP to Connxio.

Every call sends ``Connxio-Api-Key`` (subscription-scoped, so it is a parameter of each call),
``Authorization: Bearer <token>`` (one cached OAuth token, see ``auth.py``) and the versioned
media type ``application/json; x-api-version=2.0`` as ``Accept`` (and ``Content-Type`` on bodies).
Responses are returned as parsed JSON exactly as the API sent them: the pydantic views in
``models.py`` check the shape but the raw dicts travel on, so properties we do not know survive.
The one I/O seam is the ``httpx`` transport, which tests and the benchmark may inject.

Error handling, per attempt::

    send ─┬─ token endpoint fails ─────────── see auth.py (auth / transient / protocol)
          ├─ connect error, connect/pool timeout ── ConnxioTransientError  (request never left)
          ├─ read/write timeout, read error,
          │  dropped connection, incomplete body ── ConnxioTransientError  (may have been applied)
          └─ response
              ├─ 2xx, JSON of the documented shape ─ the parsed JSON, as is
              ├─ 2xx, not JSON / wrong shape ─────── ConnxioProtocolError   (HTML page, truncated)
              ├─ 401 ── refresh the token once, resend once; 401 again ── ConnxioAuthError
              ├─ 403 ─────────────────────────────── ConnxioAuthError
              ├─ 404 ─────────────────────────────── ConnxioNotFoundError
              ├─ 400 ─────────────────────────────── ConnxioValidationError (server_message)
              ├─ 408, 429, 5xx (not 501/505) ─────── ConnxioTransientError  (retry_after)
              └─ any other status ────────────────── ConnxioError

and around the attempts, ``RetryPolicy.run``:

    =========================  ===========  ==================================================
    error                      retried?     why
    =========================  ===========  ==================================================
    ConnxioTransientError      yes          429/5xx/network trouble usually passes
    ConnxioProtocolError       yes          a truncated body or a proxy's HTML page is a hiccup
                                            far more often than a lasting answer; if it
                                            persists it is raised as ConnxioProtocolError
    ConnxioAuthError           no           asking again with the same key will not help, and a
                                            retry storm on a revoked key looks like an attack
    ConnxioNotFoundError       no           an answer, not a failure
    ConnxioValidationError     no           the body is wrong; sending it again will not fix it
    other ConnxioError         no           a configuration problem (wrong base URL, ...)
    =========================  ===========  ==================================================

One exception to "transient means retried": ``POST /v2/integrations`` with a config that has no
``id`` creates a new integration, so resending it after a failure that may have reached the
server (read timeout, dropped connection, 5xx, 2xx with a broken body) could create a duplicate.
Such a call is retried only when the request certainly was not processed (connect errors, 429,
token endpoint trouble); otherwise the error says to check before trying again. A config *with*
an ``id`` is an upsert and safe to resend. A ``DELETE`` that was resent after such a failure and
then gets 404 counts as done: the first attempt deleted it.

API keys, tokens and integration bodies (which carry ``decryptedValue`` secrets) never reach a log
record, a ``repr`` or an exception message; server messages quoted in errors are scrubbed of the
key, the token and any ``decryptedValue`` sent in the request. DEBUG logs carry method, path and
status only.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from shared.connxio.auth import ClientCredentials, is_transient_status, parse_retry_after
from shared.connxio.models import IntegrationView, SubscriptionView, validate_document
from shared.connxio.retry import RetryPolicy, is_retryable
from shared.core.canonical import parse_json
from shared.errors import (
    ConnxioAuthError,
    ConnxioError,
    ConnxioNotFoundError,
    ConnxioProtocolError,
    ConnxioTransientError,
    ConnxioValidationError,
)

__all__ = ["MEDIA_TYPE", "ClientStats", "ConnxioClient", "UpsertResult"]

MEDIA_TYPE = "application/json; x-api-version=2.0"

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Looks up the hash of a body the caller already holds, or None (see ``read_integrations``).
HashLookup = Callable[[], Awaitable[str | None]]

_SERVER_MESSAGE_LIMIT = 500
_LATER = "try again later"  # every retryable error's advice; see _not_resent
_MIN_SECRET_LENGTH = 4  # scrubbing "ab" out of a message would mangle it and protect nothing


@functools.cache
def default_tls_context() -> ssl.SSLContext:
    """httpx's default certificate verification (certifi's CA bundle, ``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` honoured), built once per process. Loading the bundle takes about 40 ms,
    which every client would otherwise pay again; a context is safe to share between clients,
    event loops and threads."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class IntegrationListing:
    """A subscription's ``GET /v2/integrations`` answer (see ``read_integrations``).

    ``body_sha256`` is the SHA-256 of the answer's bytes as received; ``configs`` the parsed
    configs, empty when ``unchanged`` (the bytes were the ones the caller already had).
    """

    body_sha256: str
    configs: tuple[dict[str, Any], ...]
    unchanged: bool

    def __repr__(self) -> str:
        # The configs hold secrets (decryptedValue); a repr in a log line must not.
        return (
            f"IntegrationListing(body_sha256={self.body_sha256[:12]}..., "
            f"configs={len(self.configs)}, unchanged={self.unchanged})"
        )


@dataclass(frozen=True)
class UpsertResult:
    """What ``upsert_integration`` did: ``created`` (201) or updated (200), and the stored config.

    ``config`` is the server's answer as parsed JSON. When the call was resent after a failure,
    ``created`` is what the last answer said (a first attempt may already have created it).
    """

    created: bool
    config: dict[str, Any]

    def __repr__(self) -> str:
        # The config holds secrets (decryptedValue); a repr in a log line must not.
        return f"UpsertResult(created={self.created}, id={self.config.get('id')!r})"


@dataclass
class ClientStats:
    """Counters for reports and the benchmark: HTTP requests sent to the API (token requests
    not included; see ``ClientCredentials.token_requests``), retries after a failed attempt,
    and token refreshes forced by a 401."""

    requests: int = 0
    retries: int = 0
    auth_refreshes: int = 0


class _CallState:
    """What one logical call has seen across its attempts."""

    __slots__ = ("last_maybe_applied", "maybe_applied", "refreshed", "secrets")

    def __init__(self, secrets: set[str]) -> None:
        self.refreshed = False  # the one token refresh a 401 earns has been spent
        self.maybe_applied = False  # some failed attempt may have reached the server
        self.last_maybe_applied = False  # ...the latest one in particular
        self.secrets = secrets  # strings to scrub from anything the server says back


class ConnxioClient:
    """An async client for the Connxio Management API v2 (use ``async with`` or ``aclose()``)."""

    def __init__(
        self,
        *,
        base_url: str,
        credentials: ClientCredentials,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008  # frozen dataclass: sharing is safe
        timeout: float = 30.0,
        max_connections: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "cxbackup/0.1",
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
            raise ValueError(
                "base_url must be an absolute http(s) URL without query or fragment, "
                "e.g. https://api.connxio.com or https://host/api: check CONNXIO_BASE_URL"
            )
        # Keep any path prefix (https://host/api) and join /v2/... onto it ourselves, so a
        # trailing slash or its absence makes no difference.
        self._base = str(url).rstrip("/")
        self._credentials = credentials
        self._retry = retry
        self._timeout = timeout
        self._stats = ClientStats()
        self._http = httpx.AsyncClient(
            verify=default_tls_context(),
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            headers={"User-Agent": user_agent},
            follow_redirects=False,  # a redirect would resend our key to wherever it points
        )

    def __repr__(self) -> str:
        return f"ConnxioClient(base_url={self._base!r}, credentials={self._credentials!r})"

    async def __aenter__(self) -> ConnxioClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    @property
    def base_url(self) -> str:
        """The API base URL, path prefix included, without a trailing slash."""
        return self._base

    @property
    def stats(self) -> ClientStats:
        """Live request and retry counters of this client."""
        return self._stats

    # --- the API ---------------------------------------------------------------------------

    async def list_subscriptions(self, api_key: str) -> list[dict[str, Any]]:
        """Every subscription the caller can see (``GET /v2/subscriptions``)."""
        path = "/v2/subscriptions"

        def parse(response: httpx.Response, op: str) -> list[dict[str, Any]]:
            document = _json_body(response, op)
            validate_document(list[SubscriptionView], document, operation=op)
            return document

        return await self._call("GET", path, api_key, parse)

    async def current_subscription(self, api_key: str) -> dict[str, Any]:
        """The subscription ``api_key`` belongs to (``GET /v2/subscriptions/current``)."""
        path = "/v2/subscriptions/current"

        def parse(response: httpx.Response, op: str) -> dict[str, Any]:
            document = _json_body(response, op)
            validate_document(SubscriptionView, document, operation=op)
            return document

        return await self._call("GET", path, api_key, parse)

    async def list_integrations(self, api_key: str) -> list[dict[str, Any]]:
        """All integrations of the key's subscription, as full configs (``GET /v2/integrations``).

        Never asks for ``replaceVariables``: a backup must keep the placeholders, not the values.
        """
        listing = await self.read_integrations(api_key)
        return list(listing.configs)

    async def read_integrations(
        self, api_key: str, *, unchanged_if: str | HashLookup | None = None
    ) -> IntegrationListing:
        """``GET /v2/integrations`` with the SHA-256 of the answer's bytes.

        When those bytes hash to ``unchanged_if`` (the body a caller parsed before), they are not
        parsed again: the answer is ``unchanged`` and carries no configs. The same bytes parsed
        and validated before, so nothing is lost by not doing it twice, and an unchanged
        subscription of thousands of integrations costs a hash instead of a parse.

        ``unchanged_if`` may also be a coroutine function that looks the hash up. It is called
        only once the answer is in, so the request does not wait for the lookup (a backup
        still reading its previous snapshot); whatever it raises propagates unchanged.
        """
        path = "/v2/integrations"

        async def parse(response: httpx.Response, op: str) -> IntegrationListing:
            # Megabytes per subscription: hashed on a worker thread (hashlib releases the GIL),
            # so the event loop goes on taking in the other answers meanwhile.
            body_sha256 = await asyncio.to_thread(_sha256_hex, response.content)
            held = await unchanged_if() if callable(unchanged_if) else unchanged_if
            if held is not None and body_sha256 == held:
                return IntegrationListing(body_sha256, (), unchanged=True)
            document = _json_body(response, op)
            validate_document(list[IntegrationView], document, operation=op)
            return IntegrationListing(body_sha256, tuple(document), unchanged=False)

        return await self._call("GET", path, api_key, parse)

    async def get_integration(self, api_key: str, integration_id: str) -> dict[str, Any]:
        """One integration config (``GET /v2/integrations/{id}``), placeholders unreplaced."""
        path = f"/v2/integrations/{_path_segment(integration_id)}"

        def parse(response: httpx.Response, op: str) -> dict[str, Any]:
            document = _json_body(response, op)
            view = validate_document(IntegrationView, document, operation=op)
            _check_same_id(integration_id, view.id, op)
            return document

        return await self._call(
            "GET",
            path,
            api_key,
            parse,
            not_found=f"integration {integration_id!r} does not exist in the subscription of "
            "this API key",
        )

    async def upsert_integration(
        self, api_key: str, config: dict[str, Any], *, validate: bool = True
    ) -> UpsertResult:
        """Create or update an integration (``POST /v2/integrations[/novalidation]``).

        ``config`` is sent exactly as given (``json.dumps`` of the dict, unknown properties
        included). 201 means created, 200 updated; 400 raises ``ConnxioValidationError``.
        """
        if not isinstance(config, dict):
            raise TypeError("config must be a dict (an IntegrationConfig document)")
        path = "/v2/integrations" if validate else "/v2/integrations/novalidation"
        # allow_nan=False: NaN is not JSON; better to fail here than to send what a server rejects.
        content = json.dumps(config, allow_nan=False).encode("utf-8")
        sent_id = config.get("id")
        has_id = isinstance(sent_id, str) and bool(sent_id)

        def parse(response: httpx.Response, op: str) -> UpsertResult:
            if response.status_code not in (200, 201):
                raise ConnxioProtocolError(
                    f"answered HTTP {response.status_code}; the contract promises 200 (updated) "
                    "or 201 (created): check the integration in the portal",
                    operation=op,
                    status=response.status_code,
                )
            document = _json_body(response, op)
            view = validate_document(IntegrationView, document, operation=op)
            if has_id:
                _check_same_id(sent_id, view.id, op)
            return UpsertResult(created=response.status_code == 201, config=document)

        return await self._call(
            "POST",
            path,
            api_key,
            parse,
            content=content,
            idempotent=has_id,  # without an id, every accepted POST creates a new integration
            secrets=_decrypted_values(config),
        )

    async def delete_integration(self, api_key: str, integration_id: str) -> None:
        """Delete an integration (``DELETE /v2/integrations/{id}``).

        Raises ``ConnxioNotFoundError`` when it does not exist, except after a resend whose
        earlier attempt may already have deleted it: then the 404 is the outcome we wanted.
        """
        path = f"/v2/integrations/{_path_segment(integration_id)}"

        def parse(response: httpx.Response, op: str) -> None:
            return None  # 200 may carry a body, 204 has none; either way it is gone

        await self._call(
            "DELETE",
            path,
            api_key,
            parse,
            not_found=f"integration {integration_id!r} does not exist in the subscription of "
            "this API key",
            gone_is_done=True,
        )

    # --- the machinery ---------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        api_key: str,
        parse: Callable[[httpx.Response, str], T | Awaitable[T]],
        *,
        content: bytes | None = None,
        idempotent: bool = True,
        secrets: Iterable[str] = (),
        not_found: str | None = None,
        gone_is_done: bool = False,
    ) -> T:
        """One logical call: attempts under the retry policy, each fully checked and parsed.

        Parsing happens inside the attempt so that a broken 2xx body is retried like any other
        hiccup. ``parse`` sees 2xx responses only (and, with ``gone_is_done``, the 404 that
        confirms an earlier attempt's delete); it may be a coroutine function.
        """
        if not isinstance(api_key, str) or not api_key:
            raise ValueError(f"{method} {path}: an API key is required for every Connxio call")
        op = f"{method} {path}"
        url = self._base + path
        state = _CallState({api_key, *secrets})

        async def attempt() -> T:
            state.last_maybe_applied = False
            response = await self._send(method, url, op, api_key, content, state)
            status = response.status_code
            if status == 404 and gone_is_done and state.maybe_applied:
                logger.info("%s: 404 after a resend; an earlier attempt deleted it", op)
                return await _parsed(parse, response, op)
            if not 200 <= status < 300:
                raise _status_error(response, op, state, not_found)
            try:
                return await _parsed(parse, response, op)
            except ConnxioProtocolError:
                state.maybe_applied = state.last_maybe_applied = True  # a 2xx: it was applied
                raise

        def retryable(error: BaseException) -> bool:
            if not is_retryable(error):
                return False
            return idempotent or not state.last_maybe_applied

        def on_retry(number: int, wait: float, error: BaseException) -> None:
            self._stats.retries += 1

        try:
            return await self._retry.run(
                attempt, operation=op, retryable=retryable, on_retry=on_retry
            )
        except (ConnxioTransientError, ConnxioProtocolError) as error:
            if idempotent or not state.last_maybe_applied:
                raise
            raise _not_resent(error) from error

    async def _send(
        self,
        method: str,
        url: str,
        op: str,
        api_key: str,
        content: bytes | None,
        state: _CallState,
    ) -> httpx.Response:
        """Send with a token; on 401 refresh the token once per call and resend once."""
        token = await self._credentials.token(self._http)
        state.secrets.add(token)
        response = await self._send_once(method, url, op, api_key, token, content, state)
        if response.status_code != 401 or state.refreshed:
            return response
        state.refreshed = True
        self._stats.auth_refreshes += 1
        logger.info("%s: 401 with a cached token; refreshing it and resending once", op)
        # If a concurrent call already replaced the token we used, take that one; otherwise
        # force a new one (concurrent forcers share a single token request, see auth.py).
        fresh = await self._credentials.token(self._http)
        if fresh == token:
            fresh = await self._credentials.token(self._http, force_refresh=True)
        state.secrets.add(fresh)
        return await self._send_once(method, url, op, api_key, fresh, content, state)

    async def _send_once(
        self,
        method: str,
        url: str,
        op: str,
        api_key: str,
        token: str,
        content: bytes | None,
        state: _CallState,
    ) -> httpx.Response:
        headers = {
            "Connxio-Api-Key": api_key,
            "Authorization": f"Bearer {token}",
            "Accept": MEDIA_TYPE,
        }
        if content is not None:
            headers["Content-Type"] = MEDIA_TYPE
        self._stats.requests += 1
        started = time.monotonic()
        try:
            response = await self._http.request(method, url, content=content, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never left this machine: safe to resend whatever it was.
            raise ConnxioTransientError(
                f"could not connect ({_describe_exc(exc, state)}): check CONNXIO_BASE_URL and "
                f"the network; {_LATER}",
                operation=op,
            ) from None  # from None: httpx's exception holds the request and its headers
        except httpx.UnsupportedProtocol:
            raise ConnxioError(
                "the URL cannot be requested: check CONNXIO_BASE_URL", operation=op
            ) from None
        except httpx.LocalProtocolError:
            # h11 refused to send what we built, typically a header value with a line break or
            # a non-ASCII character; its message quotes the value, so it is left out.
            raise ConnxioAuthError(
                "the request could not be sent as built (an invalid header value): check that "
                "the API key has no spaces, line breaks or non-ASCII characters",
                operation=op,
            ) from None
        except httpx.TimeoutException:
            state.maybe_applied = state.last_maybe_applied = True
            raise ConnxioTransientError(
                f"no answer within {self._timeout:g} s (timeout): the API is slow or "
                f"unreachable; raise CONNXIO_TIMEOUT_SECONDS if it is just slow; {_LATER}",
                operation=op,
            ) from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            state.maybe_applied = state.last_maybe_applied = True
            raise ConnxioTransientError(
                f"the connection failed during the exchange ({_describe_exc(exc, state)}); "
                f"{_LATER}",
                operation=op,
            ) from None
        logger.debug(
            "%s -> %d (%.0f ms)", op, response.status_code, (time.monotonic() - started) * 1000
        )
        return response


# --- helpers ---------------------------------------------------------------------------------


def _path_segment(integration_id: str) -> str:
    """``integration_id`` as one URL path segment that cannot climb out of ``/v2/integrations``."""
    if not isinstance(integration_id, str) or not integration_id:
        raise ValueError("integration_id must be a non-empty string")
    if integration_id in (".", ".."):
        # quote() leaves dots alone, and URL normalisation would resolve "." / ".." segments.
        return integration_id.replace(".", "%2E")
    return quote(integration_id, safe="")


def _check_same_id(expected: str, actual: str, op: str) -> None:
    # GUIDs compare case-insensitively; a different integration is a broken answer.
    if expected.casefold() != actual.casefold():
        raise ConnxioProtocolError(
            f"answered with integration {actual!r} instead of {expected!r}: report this",
            operation=op,
        )


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _parsed(
    parse: Callable[[httpx.Response, str], T | Awaitable[T]], response: httpx.Response, op: str
) -> T:
    result = parse(response, op)
    return await result if inspect.isawaitable(result) else result  # type: ignore[return-value]


def _json_body(response: httpx.Response, op: str) -> Any:
    """The parsed body of a 2xx answer, or ConnxioProtocolError (never quoting the body)."""
    try:
        return parse_json(response.content)
    except ValueError:
        content_type = response.headers.get("Content-Type", "none")
        raise ConnxioProtocolError(
            f"answered HTTP {response.status_code} with a body that is not JSON "
            f"(Content-Type {content_type[:80]}, {len(response.content)} bytes): a proxy's "
            f"error page or a truncated answer; {_LATER}",
            operation=op,
            status=response.status_code,
        ) from None


def _status_error(
    response: httpx.Response, op: str, state: _CallState, not_found: str | None
) -> ConnxioError:
    """The error for a non-2xx answer (the caller has already spent the 401 refresh)."""
    status = response.status_code
    if status == 401:
        return ConnxioAuthError(
            "the API refused the credentials (HTTP 401) even with a fresh token: check the API "
            "key configured for this subscription (revoked? Management scope?) and the OAuth "
            "client (CONNXIO_CLIENT_ID / CONNXIO_CLIENT_SECRET)",
            operation=op,
            status=status,
        )
    if status == 403:
        return ConnxioAuthError(
            "the API forbade this call (HTTP 403): check that the API key for this subscription "
            "has the Management scope and that the OAuth client may use the API",
            operation=op,
            status=status,
        )
    if status == 404:
        return ConnxioNotFoundError(
            (not_found or "not found")
            + " (HTTP 404)"
            + ("" if not_found else ": check CONNXIO_BASE_URL, including its path prefix"),
            operation=op,
            status=status,
        )
    if status == 400:
        message = _server_message(response.content, state.secrets)
        return ConnxioValidationError(
            f"Connxio rejected the request (HTTP 400): {message}; fix the config and try again",
            server_message=message,
            operation=op,
        )
    if is_transient_status(status):
        state.maybe_applied = state.last_maybe_applied = status not in (408, 429)
        return ConnxioTransientError(
            f"answered HTTP {status} (busy or failing); {_LATER}",
            operation=op,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    hint = {
        406: "the API did not accept the media type / API version we asked for",
        415: "the API did not accept the media type / API version we sent",
    }.get(status, "check CONNXIO_BASE_URL and the API version")
    if 300 <= status < 400:
        hint = "the API redirected us, which it should not: check CONNXIO_BASE_URL"
    message = _server_message(response.content, state.secrets)
    return ConnxioError(
        f"unexpected HTTP {status} ({message}): {hint}", operation=op, status=status
    )


def _server_message(body: bytes, secrets: Iterable[str]) -> str:
    """What the server said in an error body, short, on one line, and without our secrets."""
    text: str
    try:
        document = parse_json(body)
    except ValueError:
        text = body.decode("utf-8", errors="replace")
    else:
        if isinstance(document, dict):
            parts = []
            for key in ("message", "title", "detail", "errors"):
                value = document.get(key)
                if value in (None, "", [], {}):
                    continue
                parts.append(value if isinstance(value, str) else json.dumps(value))
                if key == "message":
                    break  # "message" is the whole story when the API uses it
            text = " ".join(parts) if parts else json.dumps(document)
        elif isinstance(document, str):
            text = document
        else:
            text = json.dumps(document)
    text = _scrub(" ".join(text.split()), secrets)
    if len(text) > _SERVER_MESSAGE_LIMIT:
        text = text[: _SERVER_MESSAGE_LIMIT - 1] + "…"
    return text or "(no message)"


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(
        (s for s in secrets if len(s) >= _MIN_SECRET_LENGTH), key=len, reverse=True
    ):
        text = text.replace(secret, "***")
    return text


def _describe_exc(exc: Exception, state: _CallState) -> str:
    detail = _scrub(" ".join(str(exc).split()), state.secrets)[:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _decrypted_values(document: Any) -> set[str]:
    """Every ``decryptedValue`` string in a config, to keep them out of echoed error text."""
    found: set[str] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "decryptedValue" and isinstance(value, str):
                    found.add(value)
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _not_resent(error: ConnxioTransientError | ConnxioProtocolError) -> ConnxioError:
    """A failed create that may have been applied: say so instead of risking a duplicate."""
    text = str(error)
    prefix = f"{error.operation}: "
    bare = text[len(prefix) :] if text.startswith(prefix) else text
    message = (
        f"{bare.removesuffix('; ' + _LATER)}; not resent, because the config has no id and "
        "the server may already have created it: list the integrations before trying again"
    )
    if isinstance(error, ConnxioTransientError):
        return ConnxioTransientError(
            message, operation=error.operation, status=error.status, retry_after=error.retry_after
        )
    return ConnxioProtocolError(message, operation=error.operation, status=error.status)
