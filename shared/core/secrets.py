"""What counts as a secret inside a Connxio config: the one place that decides it.

A backup holds credentials: ``Secret`` objects (``{"name", "version", "decryptedValue"}``), and
adapter settings whose keys name passwords, tokens or keys, sometimes inside a JSON document
serialised as a string (``connectionProperties``). Audits, reports and anything that prints a
config must hide their values, and the diff must know which changes touch them. Keeping the rule
here means every output hides the same things.

The rule, applied to the last object key of a value's path (list indices are skipped, so every
item of ``"apiKeys": [...]`` is covered). Names are compared case-insensitively with ``-``, ``_``
``.`` and spaces removed, so ``client_secret``, ``Client-Secret`` and ``clientSecret`` are one name.

1. ``decryptedValue`` is always secret. ``name`` and ``version`` of a Secret object are not.
2. A name in :data:`NON_SECRET_NAMES` is never secret (``partitionKey``, a header pair's ``key``…).
3. A name in :data:`SECRET_NAMES`, or ending with one of :data:`SECRET_SUFFIXES`
   (``…password``, ``…pwd``, ``…secret``, ``…token``, ``…key``, ``…connectionString``,
   ``…sasUri``…), is secret.
4. ``value`` is secret when the object holding it sits under a credential name
   (``"customTokenHeader": {"key": …, "value": …}``, ``"apiKey": {"value": …}``), or when a
   sibling ``key``/``name``/``header`` names a credential (``{"key": "Authorization",
   "value": "Bearer …"}``: the header-list shape).

Only scalar values are hidden: strings and numbers. Booleans and nulls carry no secret
(``useApiKey: true`` is a switch, not a key), and objects and lists are walked into, so a Secret
object under ``authorizationHeaderKey`` shows its ``name`` and ``version`` and hides only its
``decryptedValue``. A secret string that happens to hold JSON is hidden whole, never parsed.

Strings that hold a JSON object or array are parsed and the same rules apply inside, with the
inner keys continuing the outer path. Secrets inside free text (``"Server=…;Password=…"`` under a
name no rule knows) cannot be found by name; adding the name to :data:`SECRET_NAMES` is the fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from shared.core.canonical import JsonValue

REDACTED = "***"

PathKey = str | int
Path = tuple[PathKey, ...]

# Whole names (normalised: lowercase, no separators) that hold a credential.
SECRET_NAMES: frozenset[str] = frozenset(
    {
        "decryptedvalue",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "clientsecret",
        "apikey",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "bearertoken",
        "sastoken",
        "sasuri",
        "sasurl",
        "sharedaccesssignature",
        "accountkey",
        "accesskey",
        "sharedaccesskey",
        "privatekey",
        "subscriptionkey",
        "connectionstring",
        "authorization",
        "credential",
        "credentials",
        "oauthbody",  # the token request body; carries client_secret=… in form encoding
    }
)

# Name endings that mark a credential: transformationSasUri, oAuthPwd, basicAuthenticationPassword,
# serviceBusConnectionString, x-functions-key, Ocp-Apim-Subscription-Key…
SECRET_SUFFIXES: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "key",
    "connectionstring",
    "sasuri",
    "sasurl",
    "signature",
    "authorization",
    "credential",
    "credentials",
)

# Names that match a suffix above but name something public.
NON_SECRET_NAMES: frozenset[str] = frozenset(
    {
        "key",  # the name half of a {key, value} pair; rule 4 covers the value half
        "name",
        "version",
        "publickey",
        "partitionkey",
        "rowkey",
        "sortkey",
        "routingkey",
        "lookupkey",
        "idempotencykey",
        "deduplicationkey",
        "correlationkey",
        "groupingkey",
        "foreignkey",
        "continuationtoken",
        "nextpagetoken",
        "pagetoken",
    }
)

# Words that make a parent object's ``value`` member secret (rule 4), even when the parent's
# own name does not end with a suffix: customTokenHeader, authorizationHeader, passwordField…
_PARENT_WORDS: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "credential",
)

# Sibling members that name the credential a ``value`` holds, in header-list style objects.
_PAIR_NAME_KEYS: tuple[str, ...] = ("key", "name", "header", "headerName")

_SEPARATORS = re.compile(r"[-_.\s]")


@lru_cache(maxsize=4096)
def normalise_name(name: str) -> str:
    """The comparable form of a property name: lowercase, without ``- _ .`` or spaces."""
    return _SEPARATORS.sub("", name).lower()


def _name_rule(n: str) -> bool:
    if n in NON_SECRET_NAMES:
        return False
    return n in SECRET_NAMES or n.endswith(SECRET_SUFFIXES)


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a property called ``name`` holds a credential (rules 1-3 of the module doc).

    A plural is judged by its singular too (``apiKeys``, ``tokens``, ``passwords``), so a list
    of credentials is hidden item by item; ``keys`` stays public like ``key``.
    """
    n = normalise_name(name)
    return _name_rule(n) or (n.endswith("s") and _name_rule(n[:-1]))


def _parent_marks_secret(name: str) -> bool:
    n = normalise_name(name)
    return is_secret_name(name) or any(word in n for word in _PARENT_WORDS)


def _string_keys(path: Path) -> list[str]:
    return [k for k in path if isinstance(k, str)]


def is_secret_path(path: Path) -> bool:
    """Whether the value at ``path`` (object keys and list indices) is secret by its location.

    Covers rules 1-3 and the parent half of rule 4; the sibling half needs the object and is
    applied by :func:`is_secret_member`. Whether the value is a scalar is the caller's question
    (:func:`is_secret_value`): a path can be secret and still hold an object to walk into.
    """
    keys = _string_keys(path)
    if not keys:
        return False
    last = keys[-1]
    if normalise_name(last) == "value":
        return len(keys) >= 2 and _parent_marks_secret(keys[-2])
    return is_secret_name(last)


def is_secret_member(container: Mapping[str, Any], key: str, path: Path) -> bool:
    """Whether ``container[key]``, found at ``path + (key,)``, sits at a secret location.

    Adds the sibling half of rule 4 to :func:`is_secret_path`: ``{"key": "Authorization",
    "value": "Bearer …"}`` hides the ``value``.
    """
    if is_secret_path((*path, key)):
        return True
    if normalise_name(key) != "value":
        return False
    for name_key in _PAIR_NAME_KEYS:
        named = container.get(name_key)
        if isinstance(named, str) and _parent_marks_secret(named):
            return True
    return False


def is_secret_value(value: Any) -> bool:
    """Whether ``value`` is a kind that can be a secret: a string or a number, never a bool."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def parse_json_container(text: str) -> dict[str, Any] | list[Any] | None:
    """``text`` parsed, when it is a JSON object or array; None when it is anything else.

    Used wherever a string field may hold a serialised document (``connectionProperties``,
    a transformation's ``properties``). Bare numbers, strings and literals are not documents.
    """
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


def serialise_json_string(document: JsonValue) -> str:
    """The string form of a document that lives inside a string field: compact, as .NET writes."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def redact(value: JsonValue, path: Path = ()) -> JsonValue:
    """A deep copy of ``value`` with every secret scalar replaced by ``"***"``.

    ``path`` is where ``value`` sits in its document, so a fragment (one webhook, one
    ``value`` member) is judged by the same rules as the whole. JSON documents inside strings
    are redacted inside and re-serialised compactly; strings without secrets are kept as they
    were spelt.
    """
    if is_secret_path(path) and is_secret_value(value):
        return REDACTED
    return _redact(value, path)


def _redact(value: JsonValue, path: Path) -> JsonValue:
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, child in value.items():
            child_path = (*path, key)
            if is_secret_value(child) and is_secret_member(value, key, path):
                result[key] = REDACTED
            else:
                result[key] = _redact(child, child_path)
        return result
    if isinstance(value, list):
        return [
            REDACTED
            if is_secret_value(child) and is_secret_path((*path, index))
            else _redact(child, (*path, index))
            for index, child in enumerate(value)
        ]
    if isinstance(value, str):
        inner = parse_json_container(value)
        if inner is not None:
            cleaned = _redact(inner, path)
            if cleaned != inner:
                return serialise_json_string(cleaned)
    return value


def secret_values(document: JsonValue, path: Path = ()) -> set[str]:
    """Every non-empty secret string in ``document``, inside JSON-in-string fields too.

    What an output must never contain; tests assert their absence with it. Numbers are
    redacted by :func:`redact` but not listed here: as text they match too much by chance.
    """
    found: set[str] = set()
    for value in _iter_secrets(document, path):
        if isinstance(value, str) and value:
            found.add(value)
    return found


def _iter_secrets(value: JsonValue, path: Path) -> Iterator[Any]:
    if is_secret_path(path) and is_secret_value(value):
        yield value
        return
    if isinstance(value, dict):
        for key, child in value.items():
            if is_secret_value(child) and is_secret_member(value, key, path):
                yield child
            else:
                yield from _iter_secrets(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _iter_secrets(child, (*path, index))
    elif isinstance(value, str):
        inner = parse_json_container(value)
        if inner is not None:
            yield from _iter_secrets(inner, path)
