"""A loopback HTTP server that speaks the Connxio Management API contract.

Tests, the benchmark and ``cxbackup simulator`` point a real HTTP client at it, so everything
between cxbackup and Connxio is exercised for real: OAuth client credentials, the two
authentication headers, the media type, upsert semantics with server-managed fields, and the
failures a real deployment produces (injected as ``Fault`` rules).

It is standard library only: ``ThreadingHTTPServer`` on a background thread, HTTP/1.1 with
keep-alive and a Content-Length on every answer, so clients reuse connections. The facts of the
contract it needs are copied into this package; it never reads the contract files at runtime.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from shared.simulator.faults import Fault, FaultBook
from shared.simulator.seed import SimulatorData, seed_estate
from shared.simulator.state import Estate, replace_variables

_log = logging.getLogger(__name__)

API_MEDIA_TYPE = "application/json; x-api-version=2.0"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
DEFAULT_SCOPE = "api://connxio/.default"
DEFAULT_CLIENT_ID = "cxbackup-demo"
DEFAULT_CLIENT_SECRET = "demo-client-secret"  # noqa: S105 - the simulator's public demo secret

# IntegrationPostRequest's required fields, from the contract.
_REQUIRED_TOP = (
    "inboundConnection",
    "messageInboundEncoding",
    "messageInboundFormat",
    "receiver",
    "sender",
    "subIntegrations",
    "subscriptionId",
    "transactionType",
)
_REQUIRED_SUB = ("messageOutboundFormat", "outboundConnections", "subIntegrationId")
_REQUIRED_TRANSFORMATION = ("properties", "transformationType")
_REQUIRED_CONNECTION = ("adapterType",)

_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>\n"
    b"<body><h1>Service Unavailable</h1><p>The service is temporarily unavailable. "
    b"Please try again later.</p><hr><address>Microsoft-Azure-Application-Gateway/v2"
    b"</address></body></html>\n"
)
_MALFORMED_BODY = b'{"value": [ {"id": "7f1c", <<this is not JSON>> '


@dataclass(frozen=True)
class RecordedRequest:
    """One request the simulator received, with what it answered.

    ``path`` is without the API prefix (``/v2/integrations/abc``, ``/oauth/token``);
    ``subscription_id`` is the subscription of the API key sent (revoked keys included), None
    when no or an unknown key was sent; ``status`` is the status answered, 0 for a ``drop``.
    """

    method: str
    path: str
    query: dict[str, str] = field(hash=False)
    body: bytes
    subscription_id: str | None
    status: int


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = API_MEDIA_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class _ApiError(Exception):
    """An answer other than success, raised from deep inside a handler."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _json_response(status: int, document: Any, headers: dict[str, str] | None = None) -> _Response:
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return _Response(status, body, API_MEDIA_TYPE, headers or {})


def _error_response(error: _ApiError) -> _Response:
    return _json_response(error.status, {"message": error.message}, error.headers)


@dataclass
class _Request:
    method: str
    raw_path: str
    path: str  # without prefix
    in_api: bool  # under the prefix (or the token endpoint)
    query: dict[str, str]
    headers: Message
    body: bytes
    api_key: str | None
    subscription_id: str | None
    document: Any = None  # the parsed JSON body, when it parsed
    document_ok: bool = False


# -- routing --------------------------------------------------------------------------------

# (pattern, route name, simulated methods, methods the contract has but the simulator does not)
_ROUTES: tuple[tuple[re.Pattern[str], str, frozenset[str], frozenset[str]], ...] = (
    (re.compile(r"/v2/subscriptions"), "subscriptions", frozenset({"GET"}), frozenset()),
    (re.compile(r"/v2/subscriptions/current"), "current", frozenset({"GET"}), frozenset()),
    (re.compile(r"/v2/integrations"), "integrations", frozenset({"GET", "POST"}), frozenset()),
    (
        re.compile(r"/v2/integrations/novalidation"),
        "novalidation",
        frozenset({"POST"}),
        frozenset(),
    ),
    (
        re.compile(r"/v2/integrations/(?P<id>[^/]+)"),
        "integration",
        frozenset({"GET", "PUT", "DELETE"}),
        frozenset(),
    ),
    (
        re.compile(r"/v2/(?P<kind>environmentvariables|securityconfigs|codecomponents)"),
        "company_list",
        frozenset({"GET"}),
        frozenset({"PUT"}),
    ),
    (
        re.compile(
            r"/v2/(?P<kind>environmentvariables|securityconfigs|codecomponents)/(?P<id>[^/]+)"
        ),
        "company_item",
        frozenset({"GET"}),
        frozenset({"DELETE"}),
    ),
    (
        re.compile(r"/v2/codecomponents/(?P<id>[^/]+)/(?:deprecate|updatename|versions)"),
        "company_extra",
        frozenset(),
        frozenset({"GET", "PUT"}),
    ),
)


def _match_route(path: str) -> tuple[str, dict[str, str], frozenset[str], frozenset[str]] | None:
    trimmed = path[:-1] if len(path) > 1 and path.endswith("/") else path
    for pattern, name, methods, unsimulated in _ROUTES:
        found = pattern.fullmatch(trimmed)
        if found:
            params = {key: unquote(value) for key, value in found.groupdict().items()}
            return name, params, methods, unsimulated
    return None


def _integration_id_of(request: _Request) -> str | None:
    """The integration a request is about: the path's id, or the POST/PUT body's ``id``."""
    route = _match_route(request.path) if request.in_api else None
    if route is not None and route[0] == "integration":
        return route[1]["id"]
    if request.method in ("POST", "PUT") and request.document_ok:
        document = request.document
        if isinstance(document, dict) and isinstance(document.get("id"), str):
            return document["id"]
    return None


# -- validation -----------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return value is None or value == ""


def validation_problems(body: dict[str, Any]) -> list[str]:
    """Every required field of IntegrationPostRequest that is absent or null, as field paths.

    An empty list means the body passes the contract's validation.
    """
    problems: list[str] = []

    def require(obj: dict[str, Any], names: tuple[str, ...], where: str) -> None:
        for name in names:
            if _missing(obj.get(name)):
                problems.append(f"{where}{name} is required")

    def objects(value: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
        if value is None:
            return []
        if not isinstance(value, list):
            problems.append(f"{where} must be an array")
            return []
        result = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                result.append((f"{where}[{index}]", item))
            else:
                problems.append(f"{where}[{index}] must be an object")
        return result

    require(body, _REQUIRED_TOP, "")
    inbound = body.get("inboundConnection")
    if isinstance(inbound, dict):
        require(inbound, _REQUIRED_CONNECTION, "inboundConnection.")
    elif inbound is not None:
        problems.append("inboundConnection must be an object")
    for sub_path, sub in objects(body.get("subIntegrations"), "subIntegrations"):
        require(sub, _REQUIRED_SUB, f"{sub_path}.")
        for tr_path, tr in objects(sub.get("transformations"), f"{sub_path}.transformations"):
            require(tr, _REQUIRED_TRANSFORMATION, f"{tr_path}.")
        for oc_path, oc in objects(
            sub.get("outboundConnections"), f"{sub_path}.outboundConnections"
        ):
            require(oc, _REQUIRED_CONNECTION, f"{oc_path}.")
    return problems


# -- tokens ---------------------------------------------------------------------------------


class _TokenIssuer:
    """Issues random bearer tokens and remembers until when each is valid."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self.granted = 0

    def issue(self, ttl: float) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            # Forget long-expired tokens so a long benchmark does not grow this forever.
            if len(self._expiry) > 1000:
                self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + ttl
            self.granted += 1
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and time.monotonic() < expiry

    def expire_all(self) -> None:
        with self._lock:
            self._expiry.clear()


# -- the simulator --------------------------------------------------------------------------


class Simulator:
    """The Connxio Management API on loopback, with a live estate and fault injection.

    ``with Simulator() as sim:`` starts it on a free port; ``sim.base_url`` and
    ``sim.token_url`` are what a client needs, with ``sim.client_id``, ``sim.client_secret``,
    ``sim.scope`` and ``sim.api_keys``. The backdoor methods (``put_integration``...) change
    the estate the way a person in the portal would, without HTTP.
    """

    def __init__(
        self,
        data: SimulatorData | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "/api",
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        latency: float = 0.0,
        token_ttl: float = 3600,
    ) -> None:
        prefix = prefix.rstrip("/")
        if prefix and not prefix.startswith("/"):
            raise ValueError(f"Simulator prefix must start with '/' (or be empty); got {prefix!r}")
        if token_ttl <= 0:
            raise ValueError(f"Simulator token_ttl must be > 0 seconds; got {token_ttl}")
        self._estate = Estate(data if data is not None else seed_estate())
        self._host = host
        self._requested_port = port
        self.prefix = prefix
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = DEFAULT_SCOPE
        self.token_ttl = token_ttl
        self._latency = 0.0
        self.latency = latency
        self._faults = FaultBook()
        self._tokens = _TokenIssuer()
        self._log_lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind the port and serve on a background thread; returns self."""
        if self._server is not None:
            raise RuntimeError("Simulator is already running; call stop() before start()")
        server = _Server((self._host, self._requested_port), _Handler, self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"connxio-simulator-{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection and release the port. Idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = None
        self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve until Ctrl-C (for ``cxbackup simulator``); starts the server if needed."""
        if self._server is None:
            self.start()
        thread = self._thread
        try:
            while thread is not None and thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Simulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses and credentials ------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (the real one when started with port 0)."""
        if self._server is None:
            raise RuntimeError("Simulator is not running: call start() or use `with Simulator()`")
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The management API base: ``http://127.0.0.1:<port><prefix>`` (calls go to /v2/...)."""
        return self.origin + self.prefix

    @property
    def token_url(self) -> str:
        return self.origin + TOKEN_PATH

    @property
    def api_keys(self) -> dict[str, str]:
        """Subscription id -> API key (a copy)."""
        return self._estate.api_keys

    @property
    def subscription_ids(self) -> list[str]:
        return self._estate.subscription_ids

    @property
    def company(self) -> dict[str, str]:
        return dict(self._estate.company)

    @property
    def latency(self) -> float:
        """Seconds added to every request; settable at any time."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"Simulator latency must be >= 0 seconds; got {seconds}")
        self._latency = float(seconds)

    # -- estate backdoor --------------------------------------------------------------------

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription, as GET /v2/subscriptions returns them."""
        return self._estate.subscriptions()

    def integrations(self, subscription_id: str) -> list[dict[str, Any]]:
        """Deep copies of the live configs of a subscription, in stored order."""
        return self._estate.integrations(subscription_id)

    def get_integration(self, subscription_id: str, integration_id: str) -> dict[str, Any]:
        """A deep copy of one live config; ``KeyError`` when absent."""
        return self._estate.integration(subscription_id, integration_id)

    def put_integration(
        self,
        subscription_id: str,
        config: dict[str, Any],
        *,
        updated_by: str = "jane.doe@contoso.example",
    ) -> dict[str, Any]:
        """Store ``config`` as given, like a portal edit: no validation, unknown properties
        kept, server-managed fields set (``updatedBy`` = ``updated_by``). Returns the stored copy.
        """
        return self._estate.upsert(subscription_id, config, actor=updated_by).config

    def delete_integration(self, subscription_id: str, integration_id: str) -> None:
        """Delete one config, like a portal delete; ``KeyError`` when absent."""
        self._estate.delete(subscription_id, integration_id)

    def revoke_key(self, subscription_id: str) -> None:
        """From now on that subscription's API key gets 401 everywhere."""
        self._estate.revoke_key(subscription_id)

    # -- tokens, faults, request log ------------------------------------------------------------

    @property
    def token_requests(self) -> int:
        """How many tokens were granted (tests of token caching count them)."""
        return self._tokens.granted

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far; the next API call with one gets 401."""
        self._tokens.expire_all()

    def inject(self, fault: Fault) -> None:
        """Add a fault rule; rules are checked in injection order."""
        self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def pending_faults(self) -> list[tuple[Fault, int | None]]:
        """The rules still active, each with its uses left (None = forever)."""
        return self._faults.remaining()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (a copy)."""
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def _record(self, request: _Request, status: int) -> None:
        entry = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            body=request.body,
            subscription_id=request.subscription_id,
            status=status,
        )
        with self._log_lock:
            self._log.append(entry)

    # -- answering ----------------------------------------------------------------------------

    def _split_path(self, raw_path: str) -> tuple[str, bool]:
        """(path without prefix, whether it is one the simulator serves)."""
        if raw_path == TOKEN_PATH:
            return TOKEN_PATH, True
        prefix = self.prefix
        if not prefix:
            return raw_path, True
        if raw_path.startswith(prefix + "/"):
            return raw_path[len(prefix) :], True
        return raw_path, False

    def _answer(self, request: _Request) -> _Response:
        """The normal (fault-free) answer to a request."""
        try:
            if request.raw_path == TOKEN_PATH:
                if request.method != "POST":
                    raise _ApiError(405, "The token endpoint takes POST", {"Allow": "POST"})
                return self._grant_token(request)
            return self._answer_api(request)
        except _ApiError as error:
            return _error_response(error)

    def _grant_token(self, request: _Request) -> _Response:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(request.headers.get("Authorization"))
        if basic is not None:
            client_id, client_secret = basic
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(
                400,
                "unsupported_grant_type",
                "grant_type must be client_credentials; send a form-encoded body",
            )
        if not (
            isinstance(client_id, str)
            and isinstance(client_secret, str)
            and secrets.compare_digest(client_id.encode(), self.client_id.encode())
            and secrets.compare_digest(client_secret.encode(), self.client_secret.encode())
        ):
            return _oauth_error(
                401,
                "invalid_client",
                "client authentication failed: check the client id and client secret",
            )
        scope = form.get("scope")
        if scope and self.scope not in scope.split():
            return _oauth_error(400, "invalid_scope", f"scope must be {self.scope}")
        token = self._tokens.issue(self.token_ttl)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_ttl)}
        return _Response(200, json.dumps(body).encode(), "application/json; charset=utf-8")

    def _answer_api(self, request: _Request) -> _Response:
        if not request.in_api:
            raise _ApiError(
                404,
                f"No such resource: {request.raw_path}. The management API is served under "
                f"{self.prefix or '/'} (e.g. {self.prefix}/v2/integrations) and the token "
                f"endpoint at {TOKEN_PATH}",
            )
        route = _match_route(request.path)
        if route is None:
            raise _ApiError(
                404,
                f"No such resource: {request.path}. Check the path against the Connxio API "
                "contract (e.g. /v2/integrations)",
            )
        name, params, methods, unsimulated = route
        if request.method not in methods:
            if request.method in unsimulated:
                raise _ApiError(
                    501,
                    f"{request.method} {request.path} is in the Connxio contract but the "
                    "simulator does not implement it",
                )
            allowed = ", ".join(sorted(methods | unsimulated))
            raise _ApiError(
                405,
                f"Method {request.method} is not allowed on {request.path}; use {allowed}",
                {"Allow": allowed},
            )
        subscription_id = self._authenticate(request)
        _check_accept(request.headers.get("Accept"))
        handler = getattr(self, f"_api_{name}")
        return handler(request, subscription_id, params)

    def _authenticate(self, request: _Request) -> str:
        """The subscription of a request with a valid token and an active key; 401 otherwise."""
        authorization = request.headers.get("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _ApiError(
                401,
                "Missing bearer token: send 'Authorization: Bearer <token>' with a token from "
                f"POST {TOKEN_PATH}",
                {"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        if not self._tokens.valid(token.strip()):
            raise _ApiError(
                401,
                "The bearer token is invalid or expired: request a new token from "
                f"POST {TOKEN_PATH}",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if not request.api_key:
            raise _ApiError(
                401,
                "Missing Connxio-Api-Key header: send the API key of the subscription you call",
            )
        if request.subscription_id is None or not self._estate.key_is_active(request.api_key):
            raise _ApiError(
                401,
                "The Connxio-Api-Key is unknown or revoked: check the subscription's API key in "
                "the Connxio portal",
            )
        return request.subscription_id

    # -- API operations (named _api_<route>) ------------------------------------------------

    def _api_subscriptions(
        self, request: _Request, subscription_id: str, params: dict[str, str]
    ) -> _Response:
        return _json_response(200, self._estate.subscriptions())

    def _api_current(
        self, request: _Request, subscription_id: str, params: dict[str, str]
    ) -> _Response:
        return _json_response(200, self._estate.subscription(subscription_id))

    def _api_integrations(
        self, request: _Request, subscription_id: str, params: dict[str, str]
    ) -> _Response:
        if request.method == "POST":
            return self._upsert(request, subscription_id, validate=True)
        if _truthy(request.query.get("replaceVariables")):
            values = self._estate.variable_values(subscription_id)
            configs = self._estate.integrations(subscription_id)
            return _json_response(200, replace_variables(configs, values))
        return _Response(200, self._estate.integrations_json(subscription_id))

    def _api_novalidation(
        self, request: _Request, subscription_id: str, params: dict[str, str]
    ) -> _Response:
        return self._upsert(request, subscription_id, validate=False)

    def _api_integration(
        self, request: _Request, subscription_id: str, params: dict[str, str]
    ) -> _Response:
        integration_id = params["id"]
        try:
            if request.method == "GET":
                if _truthy(request.query.get("replaceVariables")):
                    config = self._estate.integration(subscription_id, integration_id)
                    values = self._estate.variable_values(subscription_id)
                    return _json_response(200, replace_variables(config, values))
                return _Response(
                    200, self._estate.integration_json(subscription_id, integration_id)
                )
            if request.method == "DELETE":
                return _json_response(200, self._estate.delete(subscription_id, integration_id))
        except KeyError:
            raise _not_found(integration_id) from None
        body = _json_object(request)
        if body.get("id") not in (None, integration_id):
            raise _ApiError(
                400,
                "Validation failed: id in the body does not match the id in the path; send the "
                "same id in both or leave it out of the body",
            )
        body["id"] = integration_id
        self._validate(body, subscription_id)
        try:
            result = self._estate.upsert(
                subscription_id, body, actor=self._actor(), must_exist=True
            )
        except KeyError:
            raise _not_found(integration_id) from None
        return _json_response(200, result.config)

    def _api_company_list(
        self, request: _Request, subscription_id: str, params: dict[str, str]
    ) -> _Response:
        return _json_response(200, self._company_items(params["kind"]))

    def _api_company_item(
        self, request: _Request, subscription_id: str, params: dict[str, str]
    ) -> _Response:
        for item in self._company_items(params["kind"]):
            if item.get("id") == params["id"]:
                return _json_response(200, item)
        raise _ApiError(
            404, f"No {params['kind']} item with id {params['id']}: list them to find the id"
        )

    def _api_company_extra(
        self, request: _Request, subscription_id: str, params: dict[str, str]
    ) -> _Response:
        raise _ApiError(501, f"{request.path} is not implemented by the simulator")

    # -- helpers ----------------------------------------------------------------------------

    def _company_items(self, kind: str) -> list[dict[str, Any]]:
        estate = self._estate
        items = {
            "environmentvariables": estate.environment_variables,
            "securityconfigs": estate.security_configs,
            "codecomponents": estate.code_components,
        }
        return items[kind]

    def _actor(self) -> str:
        return f"api:{self.client_id}"

    def _validate(self, body: dict[str, Any], subscription_id: str) -> None:
        problems = validation_problems(body)
        if problems:
            raise _ApiError(400, "Validation failed: " + "; ".join(problems))
        self._check_subscription(body, subscription_id)

    @staticmethod
    def _check_subscription(body: dict[str, Any], subscription_id: str) -> None:
        sent = body.get("subscriptionId")
        if sent is not None and sent != subscription_id:
            raise _ApiError(
                400,
                "Validation failed: subscriptionId does not match the subscription of the "
                "Connxio-Api-Key; use the API key of the integration's subscription",
            )

    def _upsert(self, request: _Request, subscription_id: str, *, validate: bool) -> _Response:
        body = _json_object(request)
        if validate:
            self._validate(body, subscription_id)
        else:
            self._check_subscription(body, subscription_id)
            if validation_problems(body):
                # The contract: an integration that does not validate is stored disabled.
                body["enabled"] = False
        result = self._estate.upsert(subscription_id, body, actor=self._actor())
        return _json_response(201 if result.created else 200, result.config)


def _not_found(integration_id: str) -> _ApiError:
    return _ApiError(
        404,
        f"Integration {integration_id} was not found in the subscription of this API key; "
        "check the id, or use the API key of the subscription that holds it",
    )


def _json_object(request: _Request) -> dict[str, Any]:
    if not request.body.strip():
        raise _ApiError(400, "The request body is empty: send the integration as a JSON object")
    if not request.document_ok:
        raise _ApiError(400, "The request body is not valid JSON: send a JSON object")
    if not isinstance(request.document, dict):
        raise _ApiError(400, "The request body must be a JSON object (an IntegrationPostRequest)")
    return request.document


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1", "yes")


def _check_accept(accept: str | None) -> None:
    """406 when an Accept header is present and allows no JSON."""
    if accept is None or not accept.strip():
        return
    for item in accept.split(","):
        media = item.split(";", 1)[0].strip().lower()
        if media in ("*/*", "application/*", "application/json") or media.endswith("+json"):
            return
    raise _ApiError(
        406,
        f"The Accept header ({accept}) does not allow JSON; send 'Accept: {API_MEDIA_TYPE}'",
    )


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) from an HTTP Basic header, None when there is none."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return unquote(user), unquote(password)


def _oauth_error(status: int, error: str, description: str) -> _Response:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return _Response(status, body, "application/json; charset=utf-8")


def _fault_response(fault: Fault) -> _Response:
    """The answer of a fault that replaces processing (status, malformed, html)."""
    if fault.kind == "status":
        headers = {}
        retry_after = fault.retry_after_header()
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        return _json_response(fault.http_status, {"message": fault.message}, headers)
    if fault.kind == "html":
        return _Response(fault.http_status, _HTML_PAGE, "text/html; charset=utf-8")
    return _Response(200, _MALFORMED_BODY, API_MEDIA_TYPE)


# -- HTTP plumbing --------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the benchmark opens dozens of connections at once

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], sim: Simulator
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.simulator = sim
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open keep-alive connection, so clients see the server go away."""
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "ConnxioSimulator/1.0"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log is ``Simulator.requests``, and headers carry secrets."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        sim = self.server.simulator
        raw_path, _, raw_query = self.path.partition("?")
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        path, in_api = sim._split_path(raw_path)
        api_key = self.headers.get("Connxio-Api-Key") or query.get("Connxio-Api-Key")
        request = _Request(
            method=self.command,
            raw_path=raw_path,
            path=path,
            in_api=in_api,
            query=query,
            headers=self.headers,
            body=b"",
            api_key=api_key,
            subscription_id=sim._estate.key_owner(api_key),
        )
        try:
            request.body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            response = _json_response(400, {"message": str(exc)})
            self._send(response, request.method)
            sim._record(request, response.status)
            return
        if request.body.strip():
            try:
                request.document = json.loads(request.body)
                request.document_ok = True
            except ValueError:
                request.document_ok = False
        if sim.latency > 0:
            time.sleep(sim.latency)
        fault = sim._faults.take(
            request.method, request.path, request.subscription_id, _integration_id_of(request)
        )
        try:
            status = self._respond(sim, request, fault)
        except OSError:
            # The client went away mid-answer; nothing more to say to it.
            self.close_connection = True
            status = 0
        sim._record(request, status)

    def _respond(self, sim: Simulator, request: _Request, fault: Fault | None) -> int:
        """Answer the request (through ``fault`` if any); returns the status sent, 0 if none."""
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return 0
        if fault is not None and fault.kind in ("status", "malformed", "html"):
            response = _fault_response(fault)
            self._send(response, request.method)
            return response.status
        if fault is not None and fault.kind == "latency":
            time.sleep(fault.delay)
        response = self._safe_answer(sim, request)
        if fault is not None and fault.kind == "truncated":
            cut = response.body[: len(response.body) // 2]
            status = response.status if 200 <= response.status < 300 else 200
            self._send(_Response(status, cut, response.content_type, response.headers), "GET")
            return status
        if fault is not None and fault.kind == "drop_mid_body":
            self._send_head(response, len(response.body))
            self.wfile.write(response.body[: len(response.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return response.status
        self._send(response, request.method)
        return response.status

    def _safe_answer(self, sim: Simulator, request: _Request) -> _Response:
        try:
            return sim._answer(request)
        except Exception as exc:  # a simulator bug must still produce an answer
            _log.exception("simulator failed answering %s %s", request.method, request.path)
            return _json_response(
                500,
                {"message": f"simulator internal error ({type(exc).__name__}); this is a bug"},
            )

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise ValueError(f"Content-Length {length_text!r} is not a number") from None
        if length < 0:
            raise ValueError(f"Content-Length {length} is negative")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            line = self.rfile.readline(1024).strip()
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise ValueError("malformed chunked body: bad chunk size") from None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send_head(self, response: _Response, length: int) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(length))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, response: _Response, method: str) -> None:
        self._send_head(response, len(response.body))
        if method != "HEAD" and response.body:
            self.wfile.write(response.body)


def run_forever(sim: Simulator) -> None:
    """Serve ``sim`` until Ctrl-C; what ``cxbackup simulator`` calls."""
    sim.serve_forever()


def describe_settings(sim: Simulator) -> dict[str, str]:
    """The environment settings that point cxbackup at this simulator (demo credentials)."""
    return {
        "CONNXIO_BASE_URL": sim.base_url,
        "CONNXIO_TOKEN_URL": sim.token_url,
        "CONNXIO_CLIENT_ID": sim.client_id,
        "CONNXIO_CLIENT_SECRET": sim.client_secret,
        "CONNXIO_SCOPE": sim.scope,
        "CONNXIO_API_KEYS": json.dumps(sim.api_keys, sort_keys=True),
    }
