"""The Azure Blob Storage backend: one container, one block blob per storage name.

Write-once comes from the service, not from a read-then-write here: ``create`` uploads with
``If-None-Match: *`` (``overwrite=False``), so of several concurrent writers exactly one wins and
the others get ``ObjectExistsError``. A block blob becomes visible only when its upload commits,
so a crash mid-upload never leaves a partial object: objects up to 64 MiB (all of ours) go up in
one Put Blob; larger ones are staged as blocks and committed with the same condition.

The client is tuned to fail fast, because a backup run that hangs for minutes on an unreachable
account is worse than one that fails in seconds with a clear message (the timer trigger runs
again next night, the CLI user retries at once):

- ``RETRY_TOTAL`` = 2 retries, ``RETRY_BACKOFF`` = 1 s apart (with jitter), instead of the SDK's
  3 exponential retries starting at 15 s (over a minute in all). A stopped emulator or a
  refused connection becomes ``StoreUnavailableError`` in about 2 s; a brief 503 from a busy
  account still gets two more chances.
- ``CONNECTION_TIMEOUT`` = 5 s to open a TCP/TLS connection (the SDK default is 20 s); Azure
  Storage answers in milliseconds when it is reachable at all.
- ``READ_TIMEOUT`` = 30 s between bytes of a response (SDK default 60 s); our objects are small
  JSON documents, so a response that stalls that long is a broken connection.
- ``POOL_SIZE`` = 64 keep-alive connections. Services call the backend through
  ``asyncio.to_thread`` with up to ~32 calls in flight; requests' default pool of 10 would
  discard and reopen connections under that load.

The sync ``ContainerClient`` (and its shared ``requests`` session) is safe to use from several
threads at once, so one ``BlobBackend`` serves the whole process.

Errors never carry the account key or a SAS token: messages are built from the account URL
without its query string, and the SDK's own text is redacted before it is quoted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import requests
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import ContainerClient, ContentSettings, LinearRetry
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shared.errors import (
    ObjectExistsError,
    ObjectNotFoundError,
    SettingsError,
    StoreUnavailableError,
)
from shared.store import codec
from shared.store.backend import Backend, validate_name, validate_prefix

RETRY_TOTAL = 2
RETRY_BACKOFF = 1.0  # seconds between attempts
RETRY_JITTER = 0.5  # seconds either side, so parallel callers do not retry in lockstep
CONNECTION_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
POOL_SIZE = 64

_CONTENT_TYPES = {
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_DEFAULT_CONTENT_TYPE = "application/octet-stream"

# Secrets that may appear in connection strings, SAS URLs or SDK messages quoting them.
_SECRET_PATTERNS = (
    re.compile(r"(AccountKey=)[^;\s]*", re.IGNORECASE),
    re.compile(r"(SharedAccessSignature=)[^;\s]*", re.IGNORECASE),
    re.compile(r"([?&]sig=)[^&\s'\"]*", re.IGNORECASE),
)

_CREDENTIAL_HINT = (
    "check the account key in BACKUP_STORAGE_CONNECTION_STRING, or that the identity used with "
    "BACKUP_STORAGE_ACCOUNT_URL (the Function App's managed identity) has the "
    "'Storage Blob Data Contributor' role on the account"
)


def redact(text: str) -> str:
    """Remove account keys and SAS signatures from ``text`` so it is safe to log or show."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1<redacted>", text)
    return text


def content_type_for(name: str, data: bytes = b"") -> str:
    """The Content-Type stored with a blob, so the portal and browsers show it sensibly.

    Compressed JSON (``shared.store.codec``) is labelled ``application/gzip``: what it is, and
    what a download from the portal needs to be opened as.
    """
    if codec.is_encoded(data):
        return "application/gzip"
    for suffix, content_type in _CONTENT_TYPES.items():
        if name.endswith(suffix):
            return content_type
    return _DEFAULT_CONTENT_TYPE


def _transport() -> RequestsTransport:
    """An HTTP transport with a connection pool big enough for ~32 concurrent threads.

    azure-core mounts a default ``HTTPAdapter`` (pool of 10) only when it creates the session
    itself, so we hand it a session with our own adapter. Like azure-core's, the adapter does no
    retries of its own: the SDK's retry policy is the only one, so ``RETRY_TOTAL`` is the truth.
    """
    session = requests.Session()
    adapter = HTTPAdapter(
        pool_connections=4,
        pool_maxsize=POOL_SIZE,
        max_retries=Retry(total=False, redirect=False, raise_on_status=False),
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(
        session=session,
        session_owner=True,
        connection_timeout=CONNECTION_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )


def _client_options() -> dict[str, object]:
    """Keyword arguments for every ContainerClient we build: fail fast, pool generously."""
    return {
        "transport": _transport(),
        # Linear, not exponential: the SDK's exponential policy waits initial + base**n with n
        # starting at 1, so even small settings add up to several seconds.
        "retry_policy": LinearRetry(
            backoff=RETRY_BACKOFF,  # type: ignore[arg-type]  # annotated int; floats work
            retry_total=RETRY_TOTAL,
            random_jitter_range=RETRY_JITTER,  # type: ignore[arg-type]
        ),
        "connection_timeout": CONNECTION_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
    }


def _account_url_of(container_client: ContainerClient) -> str:
    """The account URL of a container client, without the container or any SAS query string."""
    parts = urlsplit(container_client.primary_endpoint)
    path = parts.path.rstrip("/").rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _detail(error: Exception) -> str:
    """The first line of an SDK error, redacted and shortened, to quote in our message."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    first_line = str(message).strip().splitlines()[0] if str(message).strip() else ""
    return redact(first_line)[:240]


class BlobBackend(Backend):
    """Write-once objects as block blobs in one Azure Storage container.

    Build it with ``from_connection_string`` (Azurite, or an account key) or ``from_account_url``
    (managed identity in Azure). Construction makes no network call; ``ensure_container`` is the
    first one, and creates the container when it is missing.
    """

    def __init__(self, container_client: ContainerClient) -> None:
        self.container_client = container_client
        self.container = container_client.container_name
        self.account_url = _account_url_of(container_client)
        self.description = f"blob container {self.container} at {self.account_url}"

    @classmethod
    def from_connection_string(cls, connection_string: str, container: str) -> BlobBackend:
        """A backend authenticated by a storage connection string (account key or SAS)."""
        try:
            client = ContainerClient.from_connection_string(
                connection_string, container, **_client_options()
            )
        except ValueError as error:
            # The SDK's messages ("Connection string is either blank or malformed.") never
            # quote the string; redact anyway in case a future version does.
            raise SettingsError(
                "BACKUP_STORAGE_CONNECTION_STRING",
                f"is not a usable storage connection string ({redact(str(error))}); copy it "
                "from the storage account's 'Access keys' page",
            ) from None
        return cls(client)

    @classmethod
    def from_account_url(
        cls, account_url: str, container: str, credential: TokenCredential | None = None
    ) -> BlobBackend:
        """A backend authenticated by an Entra ID token credential.

        ``credential`` defaults to ``DefaultAzureCredential``, which in Azure picks up the
        Function App's managed identity and on a workstation the ``az login`` session. It only
        fetches a token on the first request, so this constructor stays offline.
        """
        if credential is None:
            # Imported here: azure.identity (and msal) is slow to import, and local-folder and
            # connection-string users never need it.
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        try:
            client = ContainerClient(
                account_url.rstrip("/"), container, credential=credential, **_client_options()
            )
        except ValueError as error:
            raise SettingsError(
                "BACKUP_STORAGE_ACCOUNT_URL",
                f"is not usable with a token credential ({redact(str(error))}); use the "
                "account's https blob endpoint, e.g. https://<account>.blob.core.windows.net",
            ) from None
        return cls(client)

    # -- the Backend contract -------------------------------------------------------------------

    def ensure_container(self) -> None:
        """Create the container if it is missing; a no-op when it exists.

        Looks before it creates: in Azure the Function App's role is granted on the container
        itself, which lets it read the container's properties but may not let it (re)create
        it, so an existing container must never need the create permission.
        """
        action = "check or create the container"
        try:
            self.container_client.get_container_properties()
            return
        except ResourceNotFoundError as error:
            if not _is_container_missing(error):
                self._raise_unavailable(action, error)
        except AzureError as error:
            self._raise_unavailable(action, error)
        try:
            self.container_client.create_container()
        except ResourceExistsError as error:
            # Created by a concurrent caller in between: fine. Anything else (e.g.
            # ContainerBeingDeleted) means the container is not usable yet.
            if _error_code(error) != "ContainerAlreadyExists":
                self._raise_unavailable(action, error)
        except AzureError as error:
            self._raise_unavailable(action, error)

    def create(self, name: str, data: bytes) -> None:
        validate_name(name)
        try:
            self.container_client.upload_blob(
                name,
                data,
                overwrite=False,  # If-None-Match: * -- the service enforces write-once
                content_settings=ContentSettings(content_type=content_type_for(name, data)),
            )
        except ResourceExistsError as error:
            # 409 also covers e.g. a container being deleted; only BlobAlreadyExists (which the
            # SDK also reports for a lost If-None-Match race) means "someone wrote it first".
            if _error_code(error) != "BlobAlreadyExists":
                self._raise_unavailable(f"create {name}", error)
            raise ObjectExistsError(
                f"{name} already exists in {self.description}; objects are write-once, "
                "so it was left unchanged"
            ) from None
        except AzureError as error:
            self._raise_unavailable(f"create {name}", error)

    def read(self, name: str) -> bytes:
        validate_name(name)
        try:
            return self.container_client.download_blob(name).readall()
        except ResourceNotFoundError as error:
            self._raise_not_found(f"read {name}", name, error)
        except AzureError as error:
            self._raise_unavailable(f"read {name}", error)

    def exists(self, name: str) -> bool:
        validate_name(name)
        # get_blob_properties rather than BlobClient.exists(): exists() answers False for a
        # missing container, which would hide a misconfigured BACKUP_CONTAINER.
        try:
            self.container_client.get_blob_client(name).get_blob_properties()
        except ResourceNotFoundError as error:
            if _is_container_missing(error):
                self._raise_unavailable(f"check whether {name} exists", error)
            return False
        except AzureError as error:
            self._raise_unavailable(f"check whether {name} exists", error)
        return True

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        # Validate now, iterate later: an invalid prefix fails at the call, not at first next().
        return self._list(prefix)

    def _list(self, prefix: str) -> Iterator[str]:
        # The service returns names in ascending UTF-8 byte order, which is the contract's order.
        try:
            yield from self.container_client.list_blob_names(name_starts_with=prefix or None)
        except AzureError as error:
            self._raise_unavailable(f"list names under {prefix!r}", error)

    def delete(self, name: str) -> None:
        validate_name(name)
        try:
            self.container_client.delete_blob(name)
        except ResourceNotFoundError as error:
            self._raise_not_found(f"delete {name}", name, error)
        except AzureError as error:
            self._raise_unavailable(f"delete {name}", error)

    # -- error translation ----------------------------------------------------------------------

    def _raise_not_found(self, action: str, name: str, error: ResourceNotFoundError) -> NoReturn:
        """A 404 is a missing object, unless the whole container is missing (a setup problem)."""
        if _is_container_missing(error):
            self._raise_unavailable(action, error)
        raise ObjectNotFoundError(f"{name} does not exist in {self.description}") from None

    def _raise_unavailable(self, action: str, error: AzureError) -> NoReturn:
        """Turn an SDK failure into ``StoreUnavailableError`` saying what to check.

        Only Azure SDK errors come here; anything else (a bug of ours) propagates untouched so it
        is not disguised as an outage. The SDK error is not chained: its text can quote a SAS
        URL, so only the redacted summary travels.
        """
        where = self.description
        detail = _detail(error)
        if isinstance(error, ServiceRequestError):
            message = (
                f"cannot reach blob storage at {self.account_url} to {action} ({detail}): is it "
                "running and reachable from here, and is BACKUP_STORAGE_CONNECTION_STRING / "
                "BACKUP_STORAGE_ACCOUNT_URL right?"
            )
        elif isinstance(error, ServiceResponseError):
            message = (
                f"blob storage at {self.account_url} dropped the connection or did not answer "
                f"within {READ_TIMEOUT:.0f} s while trying to {action} ({detail}): check the "
                "network and the storage account's health, then retry"
            )
        elif isinstance(error, ClientAuthenticationError) or (
            isinstance(error, HttpResponseError) and error.status_code in (401, 403)
        ):
            message = (
                f"{where} refused our credentials while trying to {action} ({detail}): "
                f"{_CREDENTIAL_HINT}"
            )
        elif isinstance(error, ResourceNotFoundError) and _is_container_missing(error):
            message = (
                f"cannot {action}: container {self.container} does not exist at "
                f"{self.account_url}; check BACKUP_CONTAINER, or create it (a backup run "
                "creates it on first use)"
            )
        elif isinstance(error, HttpResponseError) and 400 <= (error.status_code or 0) < 500:
            message = (
                f"{where} rejected the request to {action} (HTTP {error.status_code}"
                f"{_code_suffix(error)}: {detail}): check BACKUP_CONTAINER is a valid container "
                "name (3-63 lowercase letters, digits and single hyphens) and that the account "
                "allows this operation (no immutability policy or lease in the way)"
            )
        elif isinstance(error, HttpResponseError):
            message = (
                f"{where} failed to {action} (HTTP {error.status_code}{_code_suffix(error)}: "
                f"{detail}); retry later, and check the storage account's health if it persists"
            )
        else:
            message = (
                f"{where} failed to {action} ({type(error).__name__}: {detail}); retry later, "
                "and check the network and the storage account's health if it persists"
            )
        raise StoreUnavailableError(message) from None


def _error_code(error: HttpResponseError) -> str:
    """The service's error code as plain text (the SDK gives a str or a StorageErrorCode enum)."""
    code = error.error_code
    return str(getattr(code, "value", code) or "")


def _code_suffix(error: HttpResponseError) -> str:
    code = _error_code(error)
    return f" {code}" if code else ""


def _is_container_missing(error: HttpResponseError) -> bool:
    return _error_code(error) == "ContainerNotFound"
