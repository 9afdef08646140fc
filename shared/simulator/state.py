"""The simulator's in-memory estate: subscriptions, API keys and integration configs.

One lock guards everything, because the HTTP server answers on many threads at once. Stored
configs are treated as immutable: a write stores a new dict and never edits the old one, so the
``SimulatorData`` a test seeded with stays a faithful "before" picture, and readers can serialise
a config without copying it. Reads hand out deep copies (or JSON bytes), never live objects.

The server-managed fields (``_etag``, ``cosmosEntityName``, ``createdBy``/``createdAtUtc``,
``updatedBy``/``updatedAtUtc``, ``companyId``/``companyName``/``subscriptionName``) are set here
on every write, the way the real service does, so a backup sees them change without any change
a person made.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.simulator.seed import COSMOS_ENTITY_NAME, SimulatorData, dotnet_timestamp

_PLACEHOLDER = re.compile(r"\{\{([A-Za-z0-9_.-]+)\}\}")


def _dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _copy(document: Any) -> Any:
    # Configs are plain JSON, and a JSON round trip is faster than copy.deepcopy.
    return json.loads(_dumps(document))


def new_etag() -> str:
    """A Cosmos-style ETag: a quoted, random value that changes on every write."""
    h = uuid.uuid4().hex
    return f'"{h[:8]}-0000-0d00-0000-{h[20:]}"'


@dataclass(frozen=True)
class WriteResult:
    """What a write stored: the stored config (a private copy) and whether it was created."""

    config: dict[str, Any]
    created: bool


class Estate:
    """Thread-safe store of the simulated company's subscriptions, keys and integrations."""

    def __init__(self, data: SimulatorData) -> None:
        self._lock = threading.Lock()
        self.company: dict[str, str] = dict(data.company)
        self._subscriptions: dict[str, dict[str, Any]] = {
            sub["id"]: dict(sub) for sub in data.subscriptions
        }
        self._key_owner: dict[str, str] = {key: sub for sub, key in data.api_keys.items()}
        self._keys: dict[str, str] = dict(data.api_keys)
        self._revoked: set[str] = set()
        self._integrations: dict[str, dict[str, dict[str, Any]]] = {
            sub: {} for sub in self._subscriptions
        }
        for sub, configs in data.integrations.items():
            if sub not in self._subscriptions:
                raise ValueError(
                    f"SimulatorData has integrations for subscription {sub!r}, which is not in "
                    "its subscriptions list; add the subscription or drop those integrations"
                )
            bucket = self._integrations[sub]
            for config in configs:
                if not isinstance(config.get("id"), str) or not config["id"]:
                    raise ValueError(
                        f"SimulatorData integration without a string 'id' in subscription {sub!r}; "
                        "give every seeded config an id"
                    )
                bucket[config["id"]] = config
        self._encoded: dict[tuple[str, str], bytes] = {}
        self.environment_variables = _copy(data.environment_variables)
        self.security_configs = _copy(data.security_configs)
        self.code_components = _copy(data.code_components)

    # -- subscriptions and keys -------------------------------------------------------------

    @property
    def api_keys(self) -> dict[str, str]:
        """Subscription id -> API key, a copy (revoked keys included)."""
        with self._lock:
            return dict(self._keys)

    @property
    def subscription_ids(self) -> list[str]:
        with self._lock:
            return list(self._subscriptions)

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription of the company, as GET /v2/subscriptions lists them."""
        with self._lock:
            return [dict(sub) for sub in self._subscriptions.values()]

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        """One subscription; ``KeyError`` naming it when unknown."""
        with self._lock:
            return dict(self._require_subscription(subscription_id))

    def key_owner(self, api_key: str | None) -> str | None:
        """The subscription an API key was issued for, revoked or not; None for unknown keys."""
        if not api_key:
            return None
        with self._lock:
            return self._key_owner.get(api_key)

    def key_is_active(self, api_key: str) -> bool:
        with self._lock:
            return api_key in self._key_owner and api_key not in self._revoked

    def revoke_key(self, subscription_id: str) -> None:
        """From now on the subscription's key is refused (401)."""
        with self._lock:
            if subscription_id not in self._keys:
                raise KeyError(f"no API key for subscription {subscription_id!r}")
            self._revoked.add(self._keys[subscription_id])

    def restore_key(self, subscription_id: str) -> None:
        """The subscription's key is accepted again (after ``revoke_key``)."""
        with self._lock:
            if subscription_id not in self._keys:
                raise KeyError(f"no API key for subscription {subscription_id!r}")
            self._revoked.discard(self._keys[subscription_id])

    # -- integrations -----------------------------------------------------------------------

    def integrations(self, subscription_id: str) -> list[dict[str, Any]]:
        """Deep copies of the subscription's configs, in stored order."""
        with self._lock:
            bucket = self._bucket(subscription_id)
            return [_copy(config) for config in bucket.values()]

    def integrations_json(self, subscription_id: str) -> bytes:
        """The subscription's configs as one JSON array, built from per-config cached bytes."""
        with self._lock:
            bucket = self._bucket(subscription_id)
            parts = [self._encoded_locked(subscription_id, iid, c) for iid, c in bucket.items()]
        return b"[" + b",".join(parts) + b"]"

    def integration(self, subscription_id: str, integration_id: str) -> dict[str, Any]:
        """A deep copy of one config; ``KeyError`` when the subscription does not hold it."""
        with self._lock:
            return _copy(self._require_integration(subscription_id, integration_id))

    def integration_json(self, subscription_id: str, integration_id: str) -> bytes:
        """One config's JSON bytes; ``KeyError`` when the subscription does not hold it."""
        with self._lock:
            config = self._require_integration(subscription_id, integration_id)
            return self._encoded_locked(subscription_id, integration_id, config)

    def has_integration(self, subscription_id: str, integration_id: str) -> bool:
        with self._lock:
            return integration_id in self._integrations.get(subscription_id, {})

    def upsert(
        self,
        subscription_id: str,
        body: dict[str, Any],
        *,
        actor: str,
        must_exist: bool = False,
    ) -> WriteResult:
        """Store ``body`` as sent (unknown properties too) and set the server-managed fields.

        Updates when ``body["id"]`` is already in the subscription, creates otherwise (keeping
        the body's id, or generating one). With ``must_exist`` a missing id is a ``KeyError``.
        """
        config = _copy(body)
        integration_id = config.get("id")
        now = dotnet_timestamp(datetime.now(UTC))
        with self._lock:
            sub = self._require_subscription(subscription_id)
            bucket = self._integrations.setdefault(subscription_id, {})
            existing = bucket.get(integration_id) if isinstance(integration_id, str) else None
            if existing is None and must_exist:
                raise KeyError(
                    f"integration {integration_id!r} not found in subscription {subscription_id!r}"
                )
            created = existing is None
            if not isinstance(integration_id, str) or not integration_id:
                integration_id = str(uuid.uuid4())
            config["id"] = integration_id
            if config.get("subscriptionId") is None:
                config["subscriptionId"] = subscription_id
            config["companyId"] = sub.get("companyId")
            config["companyName"] = sub.get("companyName")
            config["subscriptionName"] = sub.get("name")
            config["_etag"] = new_etag()
            config["cosmosEntityName"] = COSMOS_ENTITY_NAME
            if created:
                config["createdBy"] = actor
                config["createdAtUtc"] = now
            else:
                # Creation facts belong to the server; a client cannot rewrite history.
                config["createdBy"] = existing.get("createdBy", config.get("createdBy"))
                config["createdAtUtc"] = existing.get("createdAtUtc", config.get("createdAtUtc"))
            config["updatedBy"] = actor
            config["updatedAtUtc"] = now
            bucket[integration_id] = config
            self._encoded.pop((subscription_id, integration_id), None)
            return WriteResult(config=_copy(config), created=created)

    def delete(self, subscription_id: str, integration_id: str) -> dict[str, Any]:
        """Remove one config and return it; ``KeyError`` when absent."""
        with self._lock:
            self._require_integration(subscription_id, integration_id)
            config = self._integrations[subscription_id].pop(integration_id)
            self._encoded.pop((subscription_id, integration_id), None)
        return _copy(config)

    # -- environment variables ----------------------------------------------------------------

    def variable_values(self, subscription_id: str) -> dict[str, str]:
        """Environment variable name -> value as the subscription sees it."""
        values: dict[str, str] = {}
        for item in self.environment_variables:
            per_sub = item.get("subscriptionValues") or {}
            value = per_sub.get(subscription_id, item.get("defaultValue"))
            if isinstance(item.get("name"), str) and isinstance(value, str):
                values[item["name"]] = value
        return values

    # -- internals (caller holds the lock) ----------------------------------------------------

    def _require_subscription(self, subscription_id: str) -> dict[str, Any]:
        try:
            return self._subscriptions[subscription_id]
        except KeyError:
            raise KeyError(f"unknown subscription {subscription_id!r}") from None

    def _bucket(self, subscription_id: str) -> dict[str, dict[str, Any]]:
        self._require_subscription(subscription_id)
        return self._integrations.setdefault(subscription_id, {})

    def _require_integration(self, subscription_id: str, integration_id: str) -> dict[str, Any]:
        bucket = self._bucket(subscription_id)
        try:
            return bucket[integration_id]
        except KeyError:
            raise KeyError(
                f"integration {integration_id!r} not found in subscription {subscription_id!r}"
            ) from None

    def _encoded_locked(self, subscription_id: str, integration_id: str, config: Any) -> bytes:
        key = (subscription_id, integration_id)
        encoded = self._encoded.get(key)
        if encoded is None:
            encoded = _dumps(config)
            self._encoded[key] = encoded
        return encoded


def replace_variables(document: Any, values: dict[str, str]) -> Any:
    """A copy of ``document`` with ``{{NAME}}`` placeholders in strings replaced by values.

    Unknown names stay as they are, like the service leaves them.
    """
    if isinstance(document, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), document)
    if isinstance(document, list):
        return [replace_variables(item, values) for item in document]
    if isinstance(document, dict):
        return {key: replace_variables(value, values) for key, value in document.items()}
    return document
