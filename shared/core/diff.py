"""Field-level diff of two JSON documents, and its inverse: the engine behind audit and restore.

Connxio configs are JSON trees whose lists hold identified objects (sub-integrations,
transformations, webhooks), whose adapter settings sit in JSON documents serialised as strings,
and whose server-managed fields (``_etag``, ``updatedAtUtc``…) change with no human change. A
textual diff would report reorders, respellings and bookkeeping as changes; this one reports
what a person changed, one entry per changed field.

Conventions (also in docs/audit-format.md):

* ``Change.path`` is a JSON Pointer (RFC 6901: ``~`` → ``~0``, ``/`` → ``~1``). A list index in
  it is the element's index in the document the change speaks about: the OLD document for
  ``remove``, the NEW document for ``add`` and for changes inside an element that is in both.
* Lists whose items are all objects with a unique identity under one of
  :attr:`DiffOptions.identity_keys` (the first key that works for both lists) are matched by
  identity: a reorder is no change, an inserted item is one ``add``, a removed one one
  ``remove``, and matched items are diffed field by field. A changed identity is a remove plus
  an add.
* Other lists are compared by position after trimming their common head and tail: an insert or
  removal in the middle is one ``add`` or ``remove``; elements at the same position are diffed
  recursively. (A full LCS would catch moves inside unidentified lists; they are rare in configs
  and the head/tail rule keeps the diff linear.)
* A string that holds a JSON object or array on both sides (``connectionProperties``) is compared
  as JSON: changes inside it get ``in_string=True`` and a path that continues from the string
  field's pointer into the parsed document (``/inboundConnection/connectionProperties/host``).
  Two spellings of the same document are no change. When only one side parses, or the sides
  parse to different kinds (object vs array), the string is replaced whole.
* Fields in :attr:`DiffOptions.ignored_fields` are skipped at every depth of the config's own
  tree, but not inside JSON-in-string documents: those are adapter settings a person wrote.
* Values at secret locations (:mod:`shared.core.secrets`) are compared but never descended into:
  the change carries ``secret=True``. The diff keeps their values so :func:`apply_changes` works;
  every output must go through :mod:`shared.core.audit`, which drops them.
* JSON types are compared strictly: ``true`` is not ``1``, ``1`` is not ``1.0``.

The changes form a patch: :func:`apply_changes` applies them in order to the old document and
gives the new one, equal to it as JSON apart from ignored fields, the order of identity-matched
lists (a reorder is not a change, so it is not replayed: matched items keep the old order and
added ones go to their new index), and the spelling of JSON-in-string fields (re-serialised
compactly).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from shared.core.canonical import JsonValue
from shared.core.secrets import (
    Path,
    is_secret_member,
    is_secret_path,
    is_secret_value,
    parse_json_container,
    serialise_json_string,
)

Op = Literal["add", "remove", "replace"]


class _Missing:
    """The absence of a value: ``old`` of an ``add``, ``new`` of a ``remove``."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

# Top-level server-managed fields: they change on every save (or are Cosmos DB bookkeeping)
# without a person changing anything.
DEFAULT_IGNORED_FIELDS: frozenset[str] = frozenset(
    {
        "_etag",
        "_ts",
        "_rid",
        "_self",
        "_attachments",
        "cosmosEntityName",
        "createdAtUtc",
        "createdBy",
        "updatedAtUtc",
        "updatedBy",
    }
)

# Keys that identify list items in Connxio configs, most specific first.
DEFAULT_IDENTITY_KEYS: tuple[str, ...] = (
    "id",
    "subIntegrationId",
    "webhookConnectionId",
    "transformationId",
    "adapterId",
    "name",
    "subintegrationName",
    "transformationName",
    "endpointURL",
)


@dataclass(frozen=True)
class DiffOptions:
    """What the diff treats as noise and how it matches list items."""

    ignored_fields: frozenset[str] = DEFAULT_IGNORED_FIELDS
    identity_keys: tuple[str, ...] = DEFAULT_IDENTITY_KEYS
    parse_json_strings: bool = True


DEFAULT_DIFF_OPTIONS: Final = DiffOptions()


@dataclass(frozen=True)
class Match:
    """A route step to a list element found by identity: ``element[key] == value``.

    ``index`` is the element's index in the document the change speaks about (see the module
    doc); :func:`apply_changes` finds existing elements by identity and uses ``index`` only to
    place an added one.
    """

    key: str
    value: str | int
    index: int


class _InString:
    """A route step into the JSON document serialised in the string at this point."""

    def __repr__(self) -> str:
        return "IN_STRING"


IN_STRING: Final = _InString()

Step = str | int | Match | _InString


@dataclass(frozen=True, repr=False)
class Change:
    """One field-level change. ``old``/``new`` are :data:`MISSING` for an add/remove.

    ``route`` is the machine form of ``path``: object keys, positional list indices,
    :class:`Match` steps for identity-matched lists and :data:`IN_STRING` where the path enters
    a JSON-in-string document. ``apply_changes`` follows it; people read ``path``.
    """

    op: Op
    path: str
    old: Any = MISSING
    new: Any = MISSING
    secret: bool = False
    in_string: bool = False
    route: tuple[Step, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        # A Change holds secret values for apply_changes; its repr must not leak them into logs.
        old = "***" if self.secret and self.has_old else repr(self.old)
        new = "***" if self.secret and self.has_new else repr(self.new)
        return (
            f"Change(op={self.op!r}, path={self.path!r}, old={old}, new={new}, "
            f"secret={self.secret}, in_string={self.in_string})"
        )

    @property
    def has_old(self) -> bool:
        return self.old is not MISSING

    @property
    def has_new(self) -> bool:
        return self.new is not MISSING

    @property
    def keys(self) -> Path:
        """The key path of the changed value (list elements by index), as the secret rules
        and :func:`shared.core.secrets.redact` take it."""
        return _keys(self.route)


def escape_pointer_token(token: str | int) -> str:
    """One JSON Pointer reference token (RFC 6901 §3): ``~`` → ``~0``, then ``/`` → ``~1``."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(route: Sequence[Step]) -> str:
    """The JSON Pointer a route spells; IN_STRING steps add nothing, the pointer runs on."""
    parts = []
    for step in route:
        if isinstance(step, Match):
            parts.append(str(step.index))
        elif isinstance(step, str | int):
            parts.append(escape_pointer_token(step))
    return "".join("/" + part for part in parts)


def _keys(route: Sequence[Step]) -> Path:
    keys: list[str | int] = []
    for step in route:
        if isinstance(step, Match):
            keys.append(step.index)
        elif isinstance(step, str | int):
            keys.append(step)
    return tuple(keys)


# -- equality ----------------------------------------------------------------------------------


def json_equal(a: Any, b: Any, ignored: frozenset[str] = frozenset()) -> bool:
    """Strict JSON equality (``true`` ≠ ``1`` ≠ ``1.0``), skipping ``ignored`` object keys."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        if ignored:
            keys_a = a.keys() - ignored
            if keys_a != b.keys() - ignored:
                return False
        else:
            if a.keys() != b.keys():
                return False
            keys_a = a.keys()
        return all(json_equal(a[k], b[k], ignored) for k in keys_a)
    if isinstance(a, list):
        return len(a) == len(b) and all(
            json_equal(x, y, ignored) for x, y in zip(a, b, strict=True)
        )
    return bool(a == b)


# -- diff --------------------------------------------------------------------------------------


class _Differ:
    def __init__(self, options: DiffOptions) -> None:
        self.options = options
        self.changes: list[Change] = []

    def emit(
        self,
        op: Op,
        route: tuple[Step, ...],
        old: Any,
        new: Any,
        *,
        secret: bool,
        in_string: bool,
    ) -> None:
        self.changes.append(
            Change(
                op=op,
                path=pointer(route),
                old=old,
                new=new,
                secret=secret,
                in_string=in_string,
                route=route,
            )
        )

    def value(
        self, old: Any, new: Any, route: tuple[Step, ...], in_string: bool, secret_here: bool
    ) -> None:
        """Diff two values found at the same location (``route``)."""
        ignored = frozenset() if in_string else self.options.ignored_fields
        if json_equal(old, new, ignored):
            return
        if secret_here and (is_secret_value(old) or is_secret_value(new)):
            self.emit("replace", route, old, new, secret=True, in_string=in_string)
            return
        if isinstance(old, dict) and isinstance(new, dict):
            self.objects(old, new, route, in_string)
        elif isinstance(old, list) and isinstance(new, list):
            self.lists(old, new, route, in_string)
        elif (
            self.options.parse_json_strings
            and isinstance(old, str)
            and isinstance(new, str)
            and self.json_strings(old, new, route)
        ):
            return
        else:
            self.emit("replace", route, old, new, secret=False, in_string=in_string)

    def json_strings(self, old: str, new: str, route: tuple[Step, ...]) -> bool:
        """Diff two strings as the JSON documents they hold; False when they do not both."""
        old_doc = parse_json_container(old)
        if old_doc is None:
            return False
        new_doc = parse_json_container(new)
        if new_doc is None or type(old_doc) is not type(new_doc):
            return False
        self.value(old_doc, new_doc, (*route, IN_STRING), True, False)
        return True

    def objects(
        self, old: dict[str, Any], new: dict[str, Any], route: tuple[Step, ...], in_string: bool
    ) -> None:
        ignored = frozenset() if in_string else self.options.ignored_fields
        keys = _keys(route)
        for key in sorted(old.keys() | new.keys()):
            if key in ignored:
                continue
            child = (*route, key)
            if key not in new:
                value = old[key]
                secret = is_secret_value(value) and is_secret_member(old, key, keys)
                self.emit("remove", child, value, MISSING, secret=secret, in_string=in_string)
            elif key not in old:
                value = new[key]
                secret = is_secret_value(value) and is_secret_member(new, key, keys)
                self.emit("add", child, MISSING, value, secret=secret, in_string=in_string)
            else:
                secret_here = is_secret_member(old, key, keys) or is_secret_member(new, key, keys)
                self.value(old[key], new[key], child, in_string, secret_here)

    def lists(
        self, old: list[Any], new: list[Any], route: tuple[Step, ...], in_string: bool
    ) -> None:
        identity = identity_key(old, new, self.options.identity_keys)
        if identity is None:
            self.positional(old, new, route, in_string)
        else:
            self.identified(old, new, identity, route, in_string)

    def identified(
        self,
        old: list[dict[str, Any]],
        new: list[dict[str, Any]],
        key: str,
        route: tuple[Step, ...],
        in_string: bool,
    ) -> None:
        old_by_id = {item[key]: (index, item) for index, item in enumerate(old)}
        new_ids = {item[key] for item in new}
        for index, item in enumerate(old):
            if item[key] not in new_ids:
                step = Match(key, item[key], index)
                self.emit(
                    "remove", (*route, step), item, MISSING, secret=False, in_string=in_string
                )
        for index, item in enumerate(new):
            step = Match(key, item[key], index)
            if item[key] in old_by_id:
                self.value(old_by_id[item[key]][1], item, (*route, step), in_string, False)
            else:
                self.emit("add", (*route, step), MISSING, item, secret=False, in_string=in_string)

    def positional(
        self, old: list[Any], new: list[Any], route: tuple[Step, ...], in_string: bool
    ) -> None:
        ignored = frozenset() if in_string else self.options.ignored_fields
        shortest = min(len(old), len(new))
        head = 0
        while head < shortest and json_equal(old[head], new[head], ignored):
            head += 1
        tail = 0
        while tail < shortest - head and json_equal(
            old[len(old) - 1 - tail], new[len(new) - 1 - tail], ignored
        ):
            tail += 1
        old_mid = len(old) - head - tail
        new_mid = len(new) - head - tail
        paired = min(old_mid, new_mid)
        keys = _keys(route)
        for offset in range(paired):
            index = head + offset
            secret_here = is_secret_path((*keys, index))
            self.value(old[index], new[index], (*route, index), in_string, secret_here)
        # Removals run from the highest index down, so each index is still valid when applied.
        for index in reversed(range(head + paired, head + old_mid)):
            value = old[index]
            secret = is_secret_value(value) and is_secret_path((*keys, index))
            self.emit("remove", (*route, index), value, MISSING, secret=secret, in_string=in_string)
        for index in range(head + paired, head + new_mid):
            value = new[index]
            secret = is_secret_value(value) and is_secret_path((*keys, index))
            self.emit("add", (*route, index), MISSING, value, secret=secret, in_string=in_string)


def identity_key(old: Sequence[Any], new: Sequence[Any], candidates: Iterable[str]) -> str | None:
    """The first candidate key that identifies every item of both lists uniquely, if any.

    Identities are non-empty strings or integers (not booleans, not null); every item of both
    lists must be an object carrying one, unique within its list. None means: compare by
    position.
    """
    if not old and not new:
        return None
    items = [*old, *new]
    if not all(isinstance(item, dict) for item in items):
        return None
    for key in candidates:
        if all(_is_identity(item.get(key)) for item in items) and (
            _unique(item[key] for item in old) and _unique(item[key] for item in new)
        ):
            return key
    return None


def _is_identity(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return (isinstance(value, str) and value != "") or isinstance(value, int)


def _unique(values: Iterable[Any]) -> bool:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            return False
        seen.add(value)
    return True


def diff_documents(
    old: JsonValue, new: JsonValue, options: DiffOptions = DEFAULT_DIFF_OPTIONS
) -> tuple[Change, ...]:
    """The field-level changes that turn ``old`` into ``new``, in patch order.

    Object keys are visited in sorted order, so the result does not depend on how either
    document was spelt. ``diff_documents(x, x) == ()`` for every document.
    """
    differ = _Differ(options)
    differ.value(old, new, (), False, False)
    return tuple(differ.changes)


# -- apply -------------------------------------------------------------------------------------


def apply_changes(old: JsonValue, changes: Iterable[Change]) -> JsonValue:
    """``old`` with ``changes`` applied in order; ``old`` itself is not modified.

    The inverse of :func:`diff_documents` up to what the diff does not report (module doc).
    Raises ``ValueError`` when a change does not fit the document (a missing key, an unknown
    identity, a string that is not JSON where the route enters one).
    """
    document = copy.deepcopy(old)
    for change in changes:
        document = _apply(document, change.route, change)
    return document


def _apply(node: Any, route: tuple[Step, ...], change: Change) -> Any:
    if not route:
        if change.op == "remove":
            raise ValueError("cannot remove the whole document")
        return copy.deepcopy(change.new)
    step, rest = route[0], route[1:]
    if isinstance(step, _InString):
        if not isinstance(node, str):
            raise ValueError(f"{change.path}: expected a JSON string to enter")
        inner = parse_json_container(node)
        if inner is None:
            raise ValueError(f"{change.path}: the string does not hold a JSON document")
        return serialise_json_string(_apply(inner, rest, change))
    if not rest:
        _apply_last(node, step, change)
        return node
    position = _locate(node, step, change)
    node[position] = _apply(node[position], rest, change)
    return node


def _locate(node: Any, step: Step, change: Change) -> Any:
    """The key or index of an existing child of ``node`` named by ``step``."""
    if isinstance(step, Match):
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, dict) and _same_identity(item.get(step.key), step.value):
                    return index
        raise ValueError(f"{change.path}: no element with {step.key}={step.value!r}")
    if isinstance(step, str):
        if isinstance(node, dict) and step in node:
            return step
        raise ValueError(f"{change.path}: no member {step!r}")
    if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
        return step
    raise ValueError(f"{change.path}: no element {step!r}")


def _same_identity(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _apply_last(node: Any, step: Step, change: Change) -> None:
    if change.op == "add":
        if isinstance(step, str) and isinstance(node, dict):
            node[step] = copy.deepcopy(change.new)
            return
        if isinstance(node, list) and isinstance(step, Match | int):
            index = step.index if isinstance(step, Match) else step
            if not 0 <= index <= len(node):
                raise ValueError(f"{change.path}: index out of range for an add")
            node.insert(index, copy.deepcopy(change.new))
            return
        raise ValueError(f"{change.path}: cannot add here")
    position = _locate(node, step, change)
    if change.op == "remove":
        del node[position]
    else:
        node[position] = copy.deepcopy(change.new)
