"""What the Connxio Management API answers, independent of sockets and faults.

Given a parsed request, ``ConnxioApi.answer`` produces the response the contract promises: the
OAuth token grant, the two authentication checks, the media type, routing (404/405), and the
operations on subscriptions, integrations and the company-level lists, with the validation of
``IntegrationPostRequest``. The HTTP server (``server.py``) decides *whether* to ask (faults may
answer instead) and how the bytes travel. The facts of the contract live here, copied from it;
nothing reads the contract files at runtime.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, unquote

from shared.simulator.state import Estate, replace_variables

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


@dataclass
class Response:
    """An answer, before it is (maybe) mangled by a fault and written to the socket."""

    status: int
    body: bytes = b""
    content_type: str = API_MEDIA_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An answer other than success, raised from deep inside a handler."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def json_response(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(status, body, API_MEDIA_TYPE, headers or {})


def error_response(error: ApiError) -> Response:
    return json_response(error.status, {"message": error.message}, error.headers)


@dataclass
class ApiRequest:
    """One parsed HTTP request: what the API and the fault rules look at."""

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


def match_route(path: str) -> tuple[str, dict[str, str], frozenset[str], frozenset[str]] | None:
    trimmed = path[:-1] if len(path) > 1 and path.endswith("/") else path
    for pattern, name, methods, unsimulated in _ROUTES:
        found = pattern.fullmatch(trimmed)
        if found:
            params = {key: unquote(value) for key, value in found.groupdict().items()}
            return name, params, methods, unsimulated
    return None


def integration_id_of(request: ApiRequest) -> str | None:
    """The integration a request is about: the path's id, or the POST/PUT body's ``id``."""
    route = match_route(request.path) if request.in_api else None
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


class TokenIssuer:
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


# -- the operations -------------------------------------------------------------------------


class ConnxioApi:
    """The contract's behaviour over an ``Estate``: one ``answer`` per request."""

    def __init__(
        self,
        estate: Estate,
        *,
        prefix: str,
        client_id: str,
        client_secret: str,
        scope: str = DEFAULT_SCOPE,
        token_ttl: float = 3600,
    ) -> None:
        self.estate = estate
        self.prefix = prefix
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.token_ttl = token_ttl
        self.tokens = TokenIssuer()

    def split_path(self, raw_path: str) -> tuple[str, bool]:
        """(path without prefix, whether it is one the simulator serves)."""
        if raw_path == TOKEN_PATH:
            return TOKEN_PATH, True
        prefix = self.prefix
        if not prefix:
            return raw_path, True
        if raw_path.startswith(prefix + "/"):
            return raw_path[len(prefix) :], True
        return raw_path, False

    def answer(self, request: ApiRequest) -> Response:
        """The normal (fault-free) answer to a request."""
        try:
            if request.raw_path == TOKEN_PATH:
                if request.method != "POST":
                    raise ApiError(405, "The token endpoint takes POST", {"Allow": "POST"})
                return self._grant_token(request)
            return self._answer_api(request)
        except ApiError as error:
            return error_response(error)

    def _grant_token(self, request: ApiRequest) -> Response:
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
        token = self.tokens.issue(self.token_ttl)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_ttl)}
        return Response(200, json.dumps(body).encode(), "application/json; charset=utf-8")

    def _answer_api(self, request: ApiRequest) -> Response:
        if not request.in_api:
            raise ApiError(
                404,
                f"No such resource: {request.raw_path}. The management API is served under "
                f"{self.prefix or '/'} (e.g. {self.prefix}/v2/integrations) and the token "
                f"endpoint at {TOKEN_PATH}",
            )
        route = match_route(request.path)
        if route is None:
            raise ApiError(
                404,
                f"No such resource: {request.path}. Check the path against the Connxio API "
                "contract (e.g. /v2/integrations)",
            )
        name, params, methods, unsimulated = route
        if request.method not in methods:
            if request.method in unsimulated:
                raise ApiError(
                    501,
                    f"{request.method} {request.path} is in the Connxio contract but the "
                    "simulator does not implement it",
                )
            allowed = ", ".join(sorted(methods | unsimulated))
            raise ApiError(
                405,
                f"Method {request.method} is not allowed on {request.path}; use {allowed}",
                {"Allow": allowed},
            )
        subscription_id = self._authenticate(request)
        _check_accept(request.headers.get("Accept"))
        handler = getattr(self, f"_api_{name}")
        return handler(request, subscription_id, params)

    def _authenticate(self, request: ApiRequest) -> str:
        """The subscription of a request with a valid token and an active key; 401 otherwise."""
        authorization = request.headers.get("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401,
                "Missing bearer token: send 'Authorization: Bearer <token>' with a token from "
                f"POST {TOKEN_PATH}",
                {"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        if not self.tokens.valid(token.strip()):
            raise ApiError(
                401,
                "The bearer token is invalid or expired: request a new token from "
                f"POST {TOKEN_PATH}",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if not request.api_key:
            raise ApiError(
                401,
                "Missing Connxio-Api-Key header: send the API key of the subscription you call",
            )
        if request.subscription_id is None or not self.estate.key_is_active(request.api_key):
            raise ApiError(
                401,
                "The Connxio-Api-Key is unknown or revoked: check the subscription's API key in "
                "the Connxio portal",
            )
        return request.subscription_id

    # -- API operations (named _api_<route>) ------------------------------------------------

    def _api_subscriptions(
        self, request: ApiRequest, subscription_id: str, params: dict[str, str]
    ) -> Response:
        return json_response(200, self.estate.subscriptions())

    def _api_current(
        self, request: ApiRequest, subscription_id: str, params: dict[str, str]
    ) -> Response:
        return json_response(200, self.estate.subscription(subscription_id))

    def _api_integrations(
        self, request: ApiRequest, subscription_id: str, params: dict[str, str]
    ) -> Response:
        if request.method == "POST":
            return self._upsert(request, subscription_id, validate=True)
        if _truthy(request.query.get("replaceVariables")):
            values = self.estate.variable_values(subscription_id)
            configs = self.estate.integrations(subscription_id)
            return json_response(200, replace_variables(configs, values))
        return Response(200, self.estate.integrations_json(subscription_id))

    def _api_novalidation(
        self, request: ApiRequest, subscription_id: str, params: dict[str, str]
    ) -> Response:
        return self._upsert(request, subscription_id, validate=False)

    def _api_integration(
        self, request: ApiRequest, subscription_id: str, params: dict[str, str]
    ) -> Response:
        integration_id = params["id"]
        try:
            if request.method == "GET":
                if _truthy(request.query.get("replaceVariables")):
                    config = self.estate.integration(subscription_id, integration_id)
                    values = self.estate.variable_values(subscription_id)
                    return json_response(200, replace_variables(config, values))
                return Response(200, self.estate.integration_json(subscription_id, integration_id))
            if request.method == "DELETE":
                return json_response(200, self.estate.delete(subscription_id, integration_id))
        except KeyError:
            raise _not_found(integration_id) from None
        body = _json_object(request)
        if body.get("id") not in (None, integration_id):
            raise ApiError(
                400,
                "Validation failed: id in the body does not match the id in the path; send the "
                "same id in both or leave it out of the body",
            )
        body["id"] = integration_id
        self._validate(body, subscription_id)
        try:
            result = self.estate.upsert(subscription_id, body, actor=self._actor(), must_exist=True)
        except KeyError:
            raise _not_found(integration_id) from None
        return json_response(200, result.config)

    def _api_company_list(
        self, request: ApiRequest, subscription_id: str, params: dict[str, str]
    ) -> Response:
        return json_response(200, self._company_items(params["kind"]))

    def _api_company_item(
        self, request: ApiRequest, subscription_id: str, params: dict[str, str]
    ) -> Response:
        for item in self._company_items(params["kind"]):
            if item.get("id") == params["id"]:
                return json_response(200, item)
        raise ApiError(
            404, f"No {params['kind']} item with id {params['id']}: list them to find the id"
        )

    def _api_company_extra(
        self, request: ApiRequest, subscription_id: str, params: dict[str, str]
    ) -> Response:
        raise ApiError(501, f"{request.path} is not implemented by the simulator")

    # -- helpers ----------------------------------------------------------------------------

    def _company_items(self, kind: str) -> list[dict[str, Any]]:
        estate = self.estate
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
            raise ApiError(400, "Validation failed: " + "; ".join(problems))
        self._check_subscription(body, subscription_id)

    @staticmethod
    def _check_subscription(body: dict[str, Any], subscription_id: str) -> None:
        sent = body.get("subscriptionId")
        if sent is not None and sent != subscription_id:
            raise ApiError(
                400,
                "Validation failed: subscriptionId does not match the subscription of the "
                "Connxio-Api-Key; use the API key of the integration's subscription",
            )

    def _upsert(self, request: ApiRequest, subscription_id: str, *, validate: bool) -> Response:
        body = _json_object(request)
        if validate:
            self._validate(body, subscription_id)
        else:
            self._check_subscription(body, subscription_id)
            if validation_problems(body):
                # The contract: an integration that does not validate is stored disabled.
                body["enabled"] = False
        result = self.estate.upsert(subscription_id, body, actor=self._actor())
        return json_response(201 if result.created else 200, result.config)


def _not_found(integration_id: str) -> ApiError:
    return ApiError(
        404,
        f"Integration {integration_id} was not found in the subscription of this API key; "
        "check the id, or use the API key of the subscription that holds it",
    )


def _json_object(request: ApiRequest) -> dict[str, Any]:
    if not request.body.strip():
        raise ApiError(400, "The request body is empty: send the integration as a JSON object")
    if not request.document_ok:
        raise ApiError(400, "The request body is not valid JSON: send a JSON object")
    if not isinstance(request.document, dict):
        raise ApiError(400, "The request body must be a JSON object (an IntegrationPostRequest)")
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
    raise ApiError(
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


def _oauth_error(status: int, error: str, description: str) -> Response:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return Response(status, body, "application/json; charset=utf-8")
