"""App settings → one frozen ``Settings`` object.

The Function App reads its app settings and the CLI reads its environment through the same
``load_settings``; both fail fast with a ``SettingsError`` naming the bad setting. Secrets read
here (client secret, API keys) stay in memory: ``Settings`` never prints them (``repr=False``)
and nothing writes them to the store.

In Azure, ``CONNXIO_CLIENT_SECRET`` and ``CONNXIO_API_KEYS`` are Key Vault references; the
Functions host resolves them before the app sees them, so no code here knows about Key Vault.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlparse

from shared.errors import SettingsError

DEFAULT_BASE_URL = "https://api.connxio.com"
DEFAULT_TOKEN_URL = "https://api.connxio.com/oauth/token"  # noqa: S105 - a URL, not a secret
DEFAULT_SCOPE = "api://connxio/.default"
DEFAULT_CONTAINER = "cxbackup"
DEFAULT_SCHEDULE = "0 0 2 * * *"  # NCRONTAB with seconds: every night at 02:00 UTC

# Azure container names: 3-63 chars, lowercase letters, digits and single hyphens.
_CONTAINER_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class RetentionSettings:
    keep_last: int = 7
    keep_daily: int = 30
    keep_weekly: int = 12
    keep_monthly: int = 24
    grace: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class StorageSettings:
    """Where snapshots go: exactly one of connection string, account URL or local folder."""

    container: str = DEFAULT_CONTAINER
    connection_string: str | None = field(default=None, repr=False)
    account_url: str | None = None
    local_path: str | None = None

    @property
    def kind(self) -> str:
        if self.local_path:
            return "local"
        return "blob"


@dataclass(frozen=True)
class ConnxioSettings:
    base_url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str
    api_keys: Mapping[str, str] = field(repr=False)  # subscription id → API key
    timeout: float = 30.0
    concurrency: int = 8  # subscriptions read at once


@dataclass(frozen=True)
class Settings:
    connxio: ConnxioSettings | None  # None only for CLI commands that never call Connxio
    storage: StorageSettings
    schedule: str = DEFAULT_SCHEDULE
    audit_webhook_url: str | None = field(default=None, repr=False)
    audit_ignore_fields: tuple[str, ...] | None = None  # None → the diff engine's defaults
    retention: RetentionSettings = RetentionSettings()
    mass_change_threshold: float = 0.2

    def require_connxio(self) -> ConnxioSettings:
        if self.connxio is None:
            raise SettingsError(
                "CONNXIO_CLIENT_ID", "Connxio settings were not loaded for this run"
            )
        return self.connxio


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or not value.strip():
        return None
    if value.strip().startswith("@Microsoft.KeyVault("):
        # The host passes an unresolved reference through as text: the secret is missing or
        # the app's identity cannot read it.
        raise SettingsError(
            name,
            "is a Key Vault reference that did not resolve; check that the secret exists and "
            "that the app's identity has the Key Vault Secrets User role",
        )
    return value.strip()


def _require(env: Mapping[str, str], name: str, hint: str) -> str:
    value = _get(env, name)
    if value is None:
        raise SettingsError(name, f"is missing; {hint}")
    return value


def _url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    value = _get(env, name) or default
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(name, "must be an absolute http(s) URL, e.g. https://api.connxio.com")
    return value.rstrip("/")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"must be a whole number, got {raw[:40]!r}") from None
    if value < minimum:
        raise SettingsError(name, f"must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, f"must be a number, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise SettingsError(name, f"must be between {low} and {high}, got {value}")
    return value


def parse_api_keys(raw: str | None, name: str = "CONNXIO_API_KEYS") -> dict[str, str]:
    """Parse the JSON object of subscription id → API key. Messages never echo a key."""
    if raw is None:
        raise SettingsError(
            name,
            "is missing; set it to a JSON object of subscription id → API key, e.g. "
            '{"<subscription id>": "<management API key>"}',
        )
    try:
        value = json.loads(raw)
    except ValueError:
        raise SettingsError(
            name, "is not valid JSON; expected an object of subscription id → API key"
        ) from None
    if not isinstance(value, dict) or not value:
        raise SettingsError(name, "must be a non-empty JSON object of subscription id → API key")
    for subscription_id, key in value.items():
        if not subscription_id.strip():
            raise SettingsError(name, "has an empty subscription id")
        if not isinstance(key, str) or not key.strip():
            raise SettingsError(
                name, f"the API key for subscription {subscription_id!r} must be a non-empty string"
            )
    return {sid.strip(): key.strip() for sid, key in value.items()}


def _container(env: Mapping[str, str]) -> str:
    name = _get(env, "BACKUP_CONTAINER") or DEFAULT_CONTAINER
    if not _CONTAINER_NAME.fullmatch(name):
        raise SettingsError(
            "BACKUP_CONTAINER",
            f"{name[:70]!r} is not a valid container name (3-63 lowercase letters, digits, hyphens)",
        )
    return name


def load_storage_settings(env: Mapping[str, str]) -> StorageSettings:
    """Pick the backup store: a local folder, a connection string, or an account URL.

    Without a dedicated setting, the Function App stores in the account of
    ``AzureWebJobsStorage`` (a connection string, or ``AzureWebJobsStorage__accountName`` /
    ``__blobServiceUri`` for identity-based connections).
    """
    container = _container(env)
    local = _get(env, "BACKUP_LOCAL_PATH")
    connection_string = _get(env, "BACKUP_STORAGE_CONNECTION_STRING")
    account_url = _url(env, "BACKUP_STORAGE_ACCOUNT_URL", None)
    chosen = [
        n
        for n, v in (
            ("BACKUP_LOCAL_PATH", local),
            ("BACKUP_STORAGE_CONNECTION_STRING", connection_string),
            ("BACKUP_STORAGE_ACCOUNT_URL", account_url),
        )
        if v
    ]
    if len(chosen) > 1:
        raise SettingsError(chosen[1], f"conflicts with {chosen[0]}: set only one backup store")
    if local:
        return StorageSettings(container=container, local_path=local)
    if connection_string:
        return StorageSettings(container=container, connection_string=connection_string)
    if account_url:
        return StorageSettings(container=container, account_url=account_url)
    webjobs = _get(env, "AzureWebJobsStorage")
    if webjobs:
        return StorageSettings(container=container, connection_string=webjobs)
    service_uri = _get(env, "AzureWebJobsStorage__blobServiceUri")
    account = _get(env, "AzureWebJobsStorage__accountName")
    if service_uri or account:
        url = service_uri or f"https://{account}.blob.core.windows.net"
        return StorageSettings(container=container, account_url=url.rstrip("/"))
    raise SettingsError(
        "BACKUP_STORAGE_ACCOUNT_URL",
        "no backup store is configured; set BACKUP_STORAGE_ACCOUNT_URL (managed identity), "
        "BACKUP_STORAGE_CONNECTION_STRING, or BACKUP_LOCAL_PATH (CLI only)",
    )


def load_connxio_settings(env: Mapping[str, str]) -> ConnxioSettings:
    base_url = _url(env, "CONNXIO_BASE_URL", DEFAULT_BASE_URL)
    token_url = _url(env, "CONNXIO_TOKEN_URL", DEFAULT_TOKEN_URL)
    assert base_url and token_url  # defaults make them non-None
    return ConnxioSettings(
        base_url=base_url,
        token_url=token_url,
        client_id=_require(
            env, "CONNXIO_CLIENT_ID", "set the OAuth client id of your Connxio API client"
        ),
        client_secret=_require(
            env,
            "CONNXIO_CLIENT_SECRET",
            "set the OAuth client secret (a Key Vault reference in Azure)",
        ),
        scope=_get(env, "CONNXIO_SCOPE") or DEFAULT_SCOPE,
        api_keys=parse_api_keys(_get(env, "CONNXIO_API_KEYS")),
        timeout=_float(env, "CONNXIO_TIMEOUT_SECONDS", 30.0, low=1, high=600),
        concurrency=_int(env, "BACKUP_CONCURRENCY", 8, minimum=1),
    )


def load_retention_settings(env: Mapping[str, str]) -> RetentionSettings:
    return RetentionSettings(
        keep_last=_int(env, "RETENTION_KEEP_LAST", 7),
        keep_daily=_int(env, "RETENTION_KEEP_DAILY", 30),
        keep_weekly=_int(env, "RETENTION_KEEP_WEEKLY", 12),
        keep_monthly=_int(env, "RETENTION_KEEP_MONTHLY", 24),
        grace=timedelta(days=_int(env, "RETENTION_GRACE_DAYS", 1)),
    )


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    storage: StorageSettings | None = None,
    need_connxio: bool = True,
) -> Settings:
    """Read every setting from ``env`` (default: the process environment).

    ``storage`` overrides the backup store (the CLI's ``--store``); ``need_connxio=False`` lets
    commands that only read snapshots run without Connxio credentials.
    """
    env = os.environ if env is None else env
    ignore = _get(env, "AUDIT_IGNORE_FIELDS")
    return Settings(
        connxio=load_connxio_settings(env) if need_connxio else None,
        storage=storage or load_storage_settings(env),
        schedule=_get(env, "BACKUP_SCHEDULE") or DEFAULT_SCHEDULE,
        audit_webhook_url=_url(env, "AUDIT_WEBHOOK_URL", None),
        audit_ignore_fields=tuple(f.strip() for f in ignore.split(",") if f.strip())
        if ignore is not None
        else None,
        retention=load_retention_settings(env),
        mass_change_threshold=_float(env, "MASS_CHANGE_THRESHOLD", 0.2, low=0.01, high=1.0),
    )
