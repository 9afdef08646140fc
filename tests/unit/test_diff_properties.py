"""Properties of the diff over generated configs shaped like Connxio's IntegrationConfig.

The equivalence the properties use is written here, independently of the engine: ignored
fields dropped (outside JSON strings), JSON strings parsed, lists of uniquely identified objects
sorted by identity, and JSON types kept strict by comparing canonical text.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.core.diff import (
    DEFAULT_IDENTITY_KEYS,
    DEFAULT_IGNORED_FIELDS,
    apply_changes,
    diff_documents,
)
from shared.core.secrets import is_secret_path

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Properties that restate a stronger one on other inputs: fewer examples keep the suite fast.
SECONDARY_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=100)

IDS = ("a", "b", "c", "d", "e", "f")
KEYS = ("host", "port", "password", "path", "a/b", "c~d", "value", "key", "updatedBy", "id", "name")

ids = st.sampled_from(IDS)
texts = st.text(alphabet='ab/~ é{}[]"', max_size=4)
scalars = (
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.5, 1.0, -2.25]) | texts
)
json_docs = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
    ),
    max_leaves=5,
)


def _dump(document: Any, indent: int | None) -> str:
    return json.dumps(document, indent=indent)


json_strings = st.builds(
    _dump,
    st.dictionaries(st.sampled_from(KEYS), json_docs, max_size=4)
    | st.lists(st.fixed_dictionaries({"id": ids, "value": scalars}), max_size=3),
    st.sampled_from([None, 2]),
)
secret_objects = st.fixed_dictionaries({"name": texts, "version": texts, "decryptedValue": texts})
connections = st.fixed_dictionaries(
    {
        "adapterType": st.sampled_from(["Sftp", "Rest", "ServiceBus"]),
        "connectionProperties": json_strings | st.none() | texts,
    }
)
transformations = st.fixed_dictionaries(
    {"id": ids, "transformationName": texts, "properties": json_strings}
)
sub_integrations = st.fixed_dictionaries(
    {
        "subIntegrationId": ids,
        "enabled": st.booleans(),
        "transformations": st.lists(transformations, max_size=2, unique_by=lambda t: t["id"]),
        "outboundConnections": st.lists(connections, max_size=1),
    },
    optional={"sender": texts, "updatedAtUtc": texts},
)
webhooks = st.fixed_dictionaries(
    {"webhookConnectionId": ids, "endpointURL": texts, "authorizationHeaderKey": secret_objects}
)
configs = st.fixed_dictionaries(
    {
        "id": st.just("int-1"),
        "_etag": texts,
        "updatedAtUtc": texts,
        "updatedBy": texts,
        "enabled": st.booleans(),
        "description": texts | st.none(),
        "inboundConnection": connections,
        "subIntegrations": st.lists(
            sub_integrations, max_size=3, unique_by=lambda s: s["subIntegrationId"]
        ),
        "loggingWebhooks": st.lists(
            webhooks, max_size=3, unique_by=lambda w: w["webhookConnectionId"]
        ),
        "tags": st.lists(scalars, max_size=4),
        "extra": json_docs,
    },
    optional={"retryOptions": st.dictionaries(st.sampled_from(KEYS), scalars), "a/b~c": scalars},
)


# -- the independent equivalence -----------------------------------------------------------


def _as_json_container(text: str) -> Any:
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


def _identity(items: list[Any]) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in DEFAULT_IDENTITY_KEYS:
        values = [i.get(key) for i in items]
        usable = all(
            (isinstance(v, str) and v) or (isinstance(v, int) and not isinstance(v, bool))
            for v in values
        )
        if usable and len({json.dumps(v) for v in values}) == len(values):
            return key
    return None


def normal(value: Any, in_string: bool = False) -> Any:
    if isinstance(value, dict):
        return {
            k: normal(v, in_string)
            for k, v in value.items()
            if in_string or k not in DEFAULT_IGNORED_FIELDS
        }
    if isinstance(value, list):
        items = [normal(v, in_string) for v in value]
        key = _identity(value)
        if key is not None:
            items.sort(key=lambda item: json.dumps(item[key]))
        return items
    if isinstance(value, str):
        parsed = _as_json_container(value)
        if parsed is not None:
            return {"<json string>": normal(parsed, True)}
    return value


def equivalent(a: Any, b: Any) -> bool:
    return json.dumps(normal(a), sort_keys=True) == json.dumps(normal(b), sort_keys=True)


# -- mutation: a new version that shares most of the old one -------------------------------


# Containers are mostly walked into, so deep fields (a Secret's decryptedValue, a key inside
# connectionProperties) change often enough; scalars mostly stay.
NESTED_ACTIONS = st.sampled_from(["keep"] * 3 + ["mutate"] * 6 + ["drop"])
SCALAR_ACTIONS = st.sampled_from(["keep"] * 6 + ["mutate"] * 3 + ["drop"])


def mutate(data: st.DataObject, value: Any) -> Any:
    if isinstance(value, dict):
        result = {}
        for key, child in value.items():
            nested = isinstance(child, dict | list) or (
                isinstance(child, str) and _as_json_container(child) is not None
            )
            action = data.draw(NESTED_ACTIONS if nested else SCALAR_ACTIONS)
            if action == "keep":
                result[key] = child
            elif action == "mutate":
                result[key] = mutate(data, child)
        if data.draw(st.booleans()):
            result[data.draw(st.sampled_from([*KEYS, "newKey"]))] = data.draw(json_docs)
        return result
    if isinstance(value, list):
        items = [
            mutate(data, item) if data.draw(st.booleans()) else item
            for item in value
            if data.draw(st.integers(0, 4)) > 0
        ]
        if value and data.draw(st.booleans()):
            extra = copy.deepcopy(data.draw(st.sampled_from(value)))
            if isinstance(extra, dict):
                for key in ("id", "subIntegrationId", "webhookConnectionId"):
                    if key in extra:
                        extra[key] = data.draw(st.sampled_from([*IDS, "g", "h"]))
            items.insert(data.draw(st.integers(0, len(items))), extra)
        if data.draw(st.booleans()):
            items = list(data.draw(st.permutations(items)))
        return items
    if isinstance(value, str):
        parsed = _as_json_container(value)
        if parsed is not None:
            return _dump(mutate(data, parsed), data.draw(st.sampled_from([None, 2])))
        return data.draw(texts) if data.draw(st.booleans()) else value
    return data.draw(scalars) if data.draw(st.booleans()) else value


# -- properties ------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(configs)
def test_a_config_has_no_changes_against_itself(document: dict[str, Any]) -> None:
    assert diff_documents(document, copy.deepcopy(document)) == ()


@PROPERTY_SETTINGS
@given(configs, st.data())
def test_applying_the_changes_to_a_mutated_config_gives_the_new_one(
    old: dict[str, Any], data: st.DataObject
) -> None:
    new = mutate(data, old)
    assert equivalent(apply_changes(old, diff_documents(old, new)), new)


@SECONDARY_SETTINGS
@given(configs, configs)
def test_applying_the_changes_between_unrelated_configs_gives_the_new_one(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    assert equivalent(apply_changes(old, diff_documents(old, new)), new)


@SECONDARY_SETTINGS
@given(configs, st.data())
def test_no_changes_exactly_when_the_configs_are_equivalent(
    old: dict[str, Any], data: st.DataObject
) -> None:
    new = mutate(data, old)
    assert (diff_documents(old, new) == ()) == equivalent(old, new)


@SECONDARY_SETTINGS
@given(configs, st.data())
def test_every_secret_change_sits_at_a_secret_location(
    old: dict[str, Any], data: st.DataObject
) -> None:
    new = mutate(data, old)
    for change in diff_documents(old, new):
        if change.secret:
            assert is_secret_path(change.keys) or change.keys[-1] == "value"
