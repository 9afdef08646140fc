"""The diff engine, one rule per test."""

from __future__ import annotations

import copy
import json

import pytest

from shared.core.diff import (
    MISSING,
    Change,
    DiffOptions,
    apply_changes,
    diff_documents,
    escape_pointer_token,
)


def sub(sub_id: str, **fields: object) -> dict[str, object]:
    return {"subIntegrationId": sub_id, "enabled": True, "transformations": [], **fields}


def config(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "int-1",
        "transactionType": "Order",
        "enabled": True,
        "_etag": '"etag-1"',
        "updatedAtUtc": "2026-12-01T10:00:00.0000000Z",
        "updatedBy": "alice@contoso.example",
        "inboundConnection": {
            "adapterType": "Sftp",
            "connectionProperties": json.dumps({"host": "sftp.acme.example", "port": 22}),
        },
        "subIntegrations": [sub("a"), sub("b"), sub("c")],
        "loggingWebhooks": [
            {
                "webhookConnectionId": "wh-1",
                "endpointURL": "https://log.example/1",
                "authorizationHeaderKey": {
                    "name": "log-key",
                    "version": "v1",
                    "decryptedValue": "sk-live-old",
                },
            }
        ],
    }
    base.update(fields)
    return base


def changed(document: dict[str, object], **fields: object) -> dict[str, object]:
    result = copy.deepcopy(document)
    result.update(fields)
    return result


def test_identical_documents_have_no_changes() -> None:
    assert diff_documents(config(), config()) == ()


def test_changed_scalar_is_one_replace_at_its_pointer() -> None:
    (change,) = diff_documents(config(), config(enabled=False))
    assert (change.op, change.path, change.old, change.new) == ("replace", "/enabled", True, False)


def test_added_key_is_an_add_without_old_value() -> None:
    (change,) = diff_documents(config(), config(description="new flow"))
    assert (change.op, change.path, change.old, change.new) == (
        "add",
        "/description",
        MISSING,
        "new flow",
    )


def test_removed_key_is_a_remove_without_new_value() -> None:
    old = config(description="old flow")
    new = config()
    (change,) = diff_documents(old, new)
    assert (change.op, change.path, change.old, change.new) == (
        "remove",
        "/description",
        "old flow",
        MISSING,
    )


def test_reordered_sub_integrations_are_no_change() -> None:
    new = config(subIntegrations=[sub("c"), sub("a"), sub("b")])
    assert diff_documents(config(), new) == ()


def test_sub_integration_inserted_in_the_middle_is_exactly_one_add() -> None:
    new = config(subIntegrations=[sub("a"), sub("x"), sub("b"), sub("c")])
    (change,) = diff_documents(config(), new)
    assert (change.op, change.path, change.new) == ("add", "/subIntegrations/1", sub("x"))


def test_sub_integration_removed_from_the_middle_is_one_remove_at_its_old_index() -> None:
    new = config(subIntegrations=[sub("a"), sub("c")])
    (change,) = diff_documents(config(), new)
    assert (change.op, change.path, change.old) == ("remove", "/subIntegrations/1", sub("b"))


def test_change_inside_a_moved_sub_integration_uses_its_new_index() -> None:
    new = config(subIntegrations=[sub("c", enabled=False), sub("a"), sub("b")])
    (change,) = diff_documents(config(), new)
    assert change.path == "/subIntegrations/0/enabled"


def test_changed_identity_is_a_remove_and_an_add() -> None:
    new = config(subIntegrations=[sub("a"), sub("b"), sub("z")])
    ops = [(c.op, c.path) for c in diff_documents(config(), new)]
    assert ops == [("remove", "/subIntegrations/2"), ("add", "/subIntegrations/2")]


def test_nested_transformations_are_matched_by_id() -> None:
    t1 = {"id": "t1", "transformationName": "map"}
    t2 = {"id": "t2", "transformationName": "split"}
    old = config(subIntegrations=[sub("a", transformations=[t1, t2])])
    new = config(
        subIntegrations=[sub("a", transformations=[t2, {**t1, "transformationName": "m2"}])]
    )
    (change,) = diff_documents(old, new)
    assert change.path == "/subIntegrations/0/transformations/1/transformationName"


def test_list_of_objects_without_unique_identity_is_compared_by_position() -> None:
    old = {"rules": [{"statusCodes": "500"}, {"statusCodes": "404"}]}
    new = {"rules": [{"statusCodes": "500"}, {"statusCodes": "409"}]}
    (change,) = diff_documents(old, new)
    assert (change.path, change.old, change.new) == ("/rules/1/statusCodes", "404", "409")


def test_items_with_duplicate_ids_fall_back_to_position() -> None:
    old = {"items": [{"id": "x", "v": 1}, {"id": "x", "v": 2}]}
    new = {"items": [{"id": "x", "v": 2}, {"id": "x", "v": 2}]}
    (change,) = diff_documents(old, new)
    assert change.path == "/items/0/v"


def test_value_inserted_in_the_middle_of_a_scalar_list_is_one_add() -> None:
    (change,) = diff_documents({"tags": ["a", "b", "c"]}, {"tags": ["a", "x", "b", "c"]})
    assert (change.op, change.path, change.new) == ("add", "/tags/1", "x")


def test_key_changed_inside_connection_properties_is_reported_at_that_key() -> None:
    new_properties = json.dumps({"host": "sftp.contoso.example", "port": 22})
    new = config(inboundConnection={"adapterType": "Sftp", "connectionProperties": new_properties})
    (change,) = diff_documents(config(), new)
    assert (change.path, change.in_string) == ("/inboundConnection/connectionProperties/host", True)
    assert (change.old, change.new) == ("sftp.acme.example", "sftp.contoso.example")


def test_respelled_json_string_is_no_change() -> None:
    spelt = '{ "port" : 22, "host" : "sftp.acme.example" }'
    new = config(inboundConnection={"adapterType": "Sftp", "connectionProperties": spelt})
    assert diff_documents(config(), new) == ()


def test_json_strings_are_compared_as_text_when_parsing_is_off() -> None:
    spelt = '{ "port" : 22, "host" : "sftp.acme.example" }'
    new = config(inboundConnection={"adapterType": "Sftp", "connectionProperties": spelt})
    (change,) = diff_documents(config(), new, DiffOptions(parse_json_strings=False))
    assert (change.path, change.in_string) == ("/inboundConnection/connectionProperties", False)


def test_string_that_stops_being_json_is_replaced_whole() -> None:
    new = config(inboundConnection={"adapterType": "Sftp", "connectionProperties": "n/a"})
    (change,) = diff_documents(config(), new)
    assert (change.op, change.path, change.in_string) == (
        "replace",
        "/inboundConnection/connectionProperties",
        False,
    )


def test_number_strings_are_not_parsed_as_json() -> None:
    (change,) = diff_documents({"v": "1"}, {"v": "1.0"})
    assert (change.path, change.in_string) == ("/v", False)


def test_only_server_managed_fields_changed_is_no_change() -> None:
    new = changed(config(), _etag='"etag-2"', updatedAtUtc="2026-12-02T10:00:00.0000000Z")
    assert diff_documents(config(), new) == ()


def test_server_managed_fields_are_ignored_in_nested_objects() -> None:
    old = config(subIntegrations=[sub("a", updatedAtUtc="2026-01-01")])
    new = config(subIntegrations=[sub("a", updatedAtUtc="2026-02-02")])
    assert diff_documents(old, new) == ()


def test_server_managed_names_inside_json_strings_are_not_ignored() -> None:
    old = {"connectionProperties": json.dumps({"updatedBy": "x"})}
    new = {"connectionProperties": json.dumps({"updatedBy": "y"})}
    (change,) = diff_documents(old, new)
    assert change.path == "/connectionProperties/updatedBy"


def test_custom_ignored_fields_replace_the_defaults() -> None:
    new = changed(config(), _etag='"etag-2"', enabled=False)
    (change,) = diff_documents(config(), new, DiffOptions(ignored_fields=frozenset({"enabled"})))
    assert change.path == "/_etag"


def test_changed_decrypted_value_is_reported_as_secret() -> None:
    new = copy.deepcopy(config())
    new["loggingWebhooks"][0]["authorizationHeaderKey"]["decryptedValue"] = "sk-live-new"
    (change,) = diff_documents(config(), new)
    assert (change.path, change.secret) == (
        "/loggingWebhooks/0/authorizationHeaderKey/decryptedValue",
        True,
    )


def test_changed_secret_name_is_not_secret() -> None:
    new = copy.deepcopy(config())
    new["loggingWebhooks"][0]["authorizationHeaderKey"]["name"] = "log-key-2"
    (change,) = diff_documents(config(), new)
    assert (change.path, change.secret) == ("/loggingWebhooks/0/authorizationHeaderKey/name", False)


def test_password_changed_inside_connection_properties_is_secret_and_in_string() -> None:
    old = {"connectionProperties": json.dumps({"password": "one"})}
    new = {"connectionProperties": json.dumps({"password": "two"})}
    (change,) = diff_documents(old, new)
    assert (change.path, change.secret, change.in_string) == (
        "/connectionProperties/password",
        True,
        True,
    )


def test_added_password_is_a_secret_add() -> None:
    (change,) = diff_documents({}, {"password": "p"})
    assert (change.op, change.secret) == ("add", True)


def test_repr_of_a_secret_change_hides_its_values() -> None:
    change = Change(op="replace", path="/password", old="old-pw", new="new-pw", secret=True)
    assert "old-pw" not in repr(change) and "new-pw" not in repr(change)


def test_pointer_escapes_slash_and_tilde_in_keys() -> None:
    (change,) = diff_documents({"a/b": {"c~d": 1}}, {"a/b": {"c~d": 2}})
    assert change.path == "/a~1b/c~0d"


def test_pointer_token_escapes_tilde_before_slash() -> None:
    assert escape_pointer_token("~/") == "~0~1"


def test_true_and_one_are_different_values() -> None:
    (change,) = diff_documents({"v": True}, {"v": 1})
    assert (change.old, change.new) == (True, 1)


def test_integer_and_float_spellings_are_different_values() -> None:
    assert len(diff_documents({"v": 1}, {"v": 1.0})) == 1


def test_changes_are_listed_in_sorted_key_order() -> None:
    old = {"b": 1, "a": 1, "c": 1}
    new = {"c": 2, "b": 2, "a": 2}
    assert [c.path for c in diff_documents(old, new)] == ["/a", "/b", "/c"]


def test_apply_reproduces_an_insert_and_a_remove_in_identified_lists() -> None:
    new = config(subIntegrations=[sub("a"), sub("x"), sub("c", enabled=False), sub("y")])
    assert apply_changes(config(), diff_documents(config(), new)) == new


def test_apply_reproduces_several_removals_from_a_positional_list() -> None:
    old = {"tags": ["a", "b", "c", "d", "e"]}
    new = {"tags": ["a", "e"]}
    assert apply_changes(old, diff_documents(old, new)) == new


def test_apply_rewrites_json_strings_with_the_inner_change() -> None:
    new_properties = {"host": "sftp.contoso.example", "port": 22}
    new = config(
        inboundConnection={
            "adapterType": "Sftp",
            "connectionProperties": json.dumps(new_properties),
        }
    )
    result = apply_changes(config(), diff_documents(config(), new))
    assert json.loads(result["inboundConnection"]["connectionProperties"]) == new_properties


def test_apply_does_not_modify_the_old_document() -> None:
    old = config()
    before = copy.deepcopy(old)
    apply_changes(old, diff_documents(old, config(enabled=False, subIntegrations=[])))
    assert old == before


def test_apply_rejects_a_change_that_does_not_fit() -> None:
    (change,) = diff_documents({"a": {"b": 1}}, {"a": {"b": 2}})
    with pytest.raises(ValueError, match="/a/b"):
        apply_changes({"x": 1}, [change])
