"""A loopback HTTP server that speaks the Connxio Management API contract: the ``Simulator``.

Tests, the benchmark and ``cxbackup simulator`` point a real HTTP client at it, so everything
between cxbackup and Connxio is exercised for real: OAuth client credentials, the two
authentication headers, the media type, upsert semantics with server-managed fields, and the
failures a real deployment produces (injected as ``Fault`` rules).

It is standard library only: ``ThreadingHTTPServer`` on a background thread, HTTP/1.1 with
keep-alive and a Content-Length on every answer, so clients reuse connections. This module owns
the sockets, the fault application and the request log; what to answer is ``api.py``'s job.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from shared.simulator.api import (
    API_MEDIA_TYPE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SCOPE,
    TOKEN_PATH,
    ApiRequest,
    ConnxioApi,
    Response,
    integration_id_of,
    json_response,
)
from shared.simulator.faults import Fault, FaultBook
from shared.simulator.seed import SimulatorData, seed_estate
from shared.simulator.state import Estate

_log = logging.getLogger(__name__)

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
        self._api = ConnxioApi(
            self._estate,
            prefix=prefix,
            client_id=client_id,
            client_secret=client_secret,
            scope=DEFAULT_SCOPE,
            token_ttl=token_ttl,
        )
        self._host = host
        self._requested_port = port
        self._latency = 0.0
        self.latency = latency
        self._faults = FaultBook()
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
            kwargs={"poll_interval": 0.01},  # how fast stop() returns
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
    def prefix(self) -> str:
        """The path prefix of the management API ("" or e.g. "/api")."""
        return self._api.prefix

    @property
    def client_id(self) -> str:
        return self._api.client_id

    @property
    def client_secret(self) -> str:
        return self._api.client_secret

    @property
    def scope(self) -> str:
        return self._api.scope

    @property
    def token_ttl(self) -> float:
        return self._api.token_ttl

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

    def restore_key(self, subscription_id: str) -> None:
        """Undo ``revoke_key``: the subscription's API key works again."""
        self._estate.restore_key(subscription_id)

    # -- tokens, faults, request log ------------------------------------------------------------

    @property
    def token_requests(self) -> int:
        """How many tokens were granted (tests of token caching count them)."""
        return self._api.tokens.granted

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far; the next API call with one gets 401."""
        self._api.tokens.expire_all()

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

    def _record(self, request: ApiRequest, status: int) -> None:
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


def _fault_response(fault: Fault) -> Response:
    """The answer of a fault that replaces processing (status, malformed, html)."""
    if fault.kind == "status":
        headers = {}
        retry_after = fault.retry_after_header()
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        return json_response(fault.http_status, {"message": fault.message}, headers)
    if fault.kind == "html":
        return Response(fault.http_status, _HTML_PAGE, "text/html; charset=utf-8")
    return Response(200, _MALFORMED_BODY, API_MEDIA_TYPE)


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

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can hang in
        # sandboxes; the simulator only needs the address it bound.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

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
        path, in_api = sim._api.split_path(raw_path)
        api_key = self.headers.get("Connxio-Api-Key") or query.get("Connxio-Api-Key")
        request = ApiRequest(
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
            response = json_response(400, {"message": str(exc)})
            sim._record(request, response.status)
            self._send(response, request.method)
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
            request.method, request.path, request.subscription_id, integration_id_of(request)
        )
        try:
            self._respond(sim, request, fault)
        except OSError:
            # The client went away mid-answer; nothing more to say to it.
            self.close_connection = True

    def _respond(self, sim: Simulator, request: ApiRequest, fault: Fault | None) -> None:
        """Answer the request, through ``fault`` if any.

        The request is recorded before the last byte goes out, so a client that has its answer
        always finds the request in ``Simulator.requests``.
        """
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            sim._record(request, 0)
            return
        if fault is not None and fault.kind in ("status", "malformed", "html"):
            response = _fault_response(fault)
            sim._record(request, response.status)
            self._send(response, request.method)
            return
        if fault is not None and fault.kind == "latency":
            time.sleep(fault.delay)
        response = self._safe_answer(sim, request)
        if fault is not None and fault.kind == "truncated":
            cut = response.body[: len(response.body) // 2]
            status = response.status if 200 <= response.status < 300 else 200
            sim._record(request, status)
            self._send(Response(status, cut, response.content_type, response.headers), "GET")
            return
        sim._record(request, response.status)
        if fault is not None and fault.kind == "drop_mid_body":
            self.close_connection = True
            self._send_head(response, len(response.body))
            self.wfile.write(response.body[: len(response.body) // 2])
            self.wfile.flush()
            return
        self._send(response, request.method)

    def _safe_answer(self, sim: Simulator, request: ApiRequest) -> Response:
        try:
            return sim._api.answer(request)
        except Exception as exc:  # a simulator bug must still produce an answer
            _log.exception("simulator failed answering %s %s", request.method, request.path)
            return json_response(
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

    def _send_head(self, response: Response, length: int) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(length))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, response: Response, method: str) -> None:
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
