"""Every error cxbackup raises on purpose, as one tree.

Each message names what failed and what to do about it, and never carries a secret
(API keys, tokens, client secrets, ``decryptedValue``): callers may log or return it as is.

    CxBackupError
    ├── SettingsError                  a missing or malformed app setting / environment variable
    ├── ConnxioError                   talking to the Connxio Management API
    │   ├── ConnxioAuthError           401/403, or the token endpoint refused us; never retried
    │   ├── ConnxioNotFoundError       404 for a named object
    │   ├── ConnxioValidationError     400; carries the server's message
    │   ├── ConnxioProtocolError       a 2xx whose body is not the JSON the contract promises
    │   └── ConnxioTransientError      429, 5xx, timeouts, dropped connections; retried, then raised
    ├── StoreError                     the snapshot store
    │   ├── InvalidNameError           a storage name or id that is not allowed (e.g. path traversal)
    │   ├── ObjectNotFoundError        a named object does not exist
    │   ├── ObjectExistsError          a write-once object already exists
    │   ├── StoreUnavailableError      the backend cannot be reached or refused us
    │   └── CorruptObjectError         an object's bytes do not match its hash or do not parse
    ├── NotFoundError                  a snapshot, integration, plan or report the caller named
    │   (user-facing lookups; distinct from ObjectNotFoundError, which is about raw storage names)
    └── RefusedError                   a use case declined to go ahead; carries its HTTP status
        ├── RestoreError               (shared.core.plan) a restore refused or stopped
        └── MaintenanceError           (shared.services.locks) prune/acknowledge refused, or busy
"""

from __future__ import annotations


class CxBackupError(Exception):
    """Root of every error cxbackup raises deliberately."""


class SettingsError(CxBackupError):
    """A setting is missing or malformed; the message names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        super().__init__(f"setting {setting}: {problem}")


class ConnxioError(CxBackupError):
    """A call to the Connxio API failed.

    ``operation`` names the call (``GET /v2/integrations``); ``status`` is the HTTP status when
    there was a response.
    """

    def __init__(self, message: str, *, operation: str = "", status: int | None = None) -> None:
        self.operation = operation
        self.status = status
        super().__init__(f"{operation}: {message}" if operation else message)


class ConnxioAuthError(ConnxioError):
    """Authentication or authorisation failed: check the API key and the OAuth client."""


class ConnxioNotFoundError(ConnxioError):
    """The named object does not exist on the Connxio side."""


class ConnxioValidationError(ConnxioError):
    """Connxio rejected a request body (400); ``server_message`` is what it said."""

    def __init__(
        self, message: str, *, server_message: str, operation: str = "", status: int = 400
    ) -> None:
        self.server_message = server_message
        super().__init__(message, operation=operation, status=status)


class ConnxioProtocolError(ConnxioError):
    """A success status whose body is not the JSON the contract promises (HTML, truncated...)."""


class ConnxioTransientError(ConnxioError):
    """A failure that may pass: 429, 5xx, timeouts, connection errors.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, operation=operation, status=status)


class StoreError(CxBackupError):
    """The snapshot store failed."""


class InvalidNameError(StoreError):
    """A storage name or identifier is not allowed (empty, traversal, odd characters)."""


class ObjectNotFoundError(StoreError):
    """No object is stored under that name."""


class ObjectExistsError(StoreError):
    """A write-once object already exists under that name; nothing was overwritten."""


class StoreUnavailableError(StoreError):
    """The storage backend could not be reached or refused the request."""


class CorruptObjectError(StoreError):
    """A stored object's bytes do not match its content hash, or do not parse."""


class NotFoundError(CxBackupError):
    """A snapshot, integration, plan or report that the caller named does not exist."""


class RefusedError(CxBackupError):
    """A use case declined to go ahead (or stopped): the message says why and what to do.

    ``status`` and ``title`` are what HTTP callers see, so subclasses choose them and the HTTP
    layer maps every refusal the same way.
    """

    status: int = 409
    title: str = "Request refused"
