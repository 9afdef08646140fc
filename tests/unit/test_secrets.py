"""The secret rules: which values count as credentials, and how they are hidden."""

from __future__ import annotations

import copy
import json

import pytest

from shared.core.secrets import (
    REDACTED,
    is_secret_member,
    is_secret_name,
    is_secret_path,
    redact,
    secret_values,
)


@pytest.mark.parametrize(
    "name",
    [
        "decryptedValue",
        "password",
        "basicAuthenticationPassword",
        "oAuthPwd",
        "clientSecret",
        "client_secret",
        "apiKey",
        "x-functions-key",
        "Ocp-Apim-Subscription-Key",
        "accessToken",
        "sasToken",
        "transformationSasUri",
        "accountKey",
        "sharedAccessKey",
        "privateKey",
        "connectionString",
        "Authorization",
        "apiKeys",
    ],
)
def test_credential_names_are_secret(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "name",
        "version",
        "adapterType",
        "host",
        "partitionKey",
        "key",
        "keys",
        "secretName",
        "sharedAccessKeyName",
        "keyVaultReference",
        "authorizationHeaderType",
        "continuationToken",
        "publicKey",
    ],
)
def test_public_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


def test_decrypted_value_path_is_secret() -> None:
    assert is_secret_path(("loggingWebhooks", 0, "authorizationHeaderKey", "decryptedValue"))


def test_secret_object_name_and_version_are_not_secret() -> None:
    assert not is_secret_path(("loggingWebhooks", 0, "authorizationHeaderKey", "name"))
    assert not is_secret_path(("loggingWebhooks", 0, "authorizationHeaderKey", "version"))


def test_list_items_under_a_credential_name_are_secret() -> None:
    assert is_secret_path(("apiKeys", 1))


def test_value_under_a_credential_parent_is_secret() -> None:
    assert is_secret_path(("customTokenHeader", "value"))


def test_value_under_a_public_parent_is_not_secret() -> None:
    assert not is_secret_path(("headers", "value"))


def test_value_of_a_header_pair_naming_a_credential_is_secret() -> None:
    pair = {"key": "Authorization", "value": "Bearer abc"}
    assert is_secret_member(pair, "value", ("headers", 0))


def test_value_of_a_header_pair_naming_a_public_header_is_not_secret() -> None:
    pair = {"key": "Accept", "value": "application/json"}
    assert not is_secret_member(pair, "value", ("headers", 0))


def test_redact_hides_decrypted_value_and_keeps_name_and_version() -> None:
    document = {"authorizationHeaderKey": {"name": "n", "version": "v", "decryptedValue": "s3"}}
    assert redact(document) == {
        "authorizationHeaderKey": {"name": "n", "version": "v", "decryptedValue": REDACTED}
    }


def test_redact_keeps_booleans_under_credential_names() -> None:
    assert redact({"useApiKey": True, "apiKey": "k-123"}) == {"useApiKey": True, "apiKey": REDACTED}


def test_redact_keeps_null_secrets_null() -> None:
    assert redact({"password": None}) == {"password": None}


def test_redact_hides_numbers_under_credential_names() -> None:
    assert redact({"pin": 1, "password": 1234}) == {"pin": 1, "password": REDACTED}


def test_redact_hides_secrets_inside_json_strings() -> None:
    document = {"connectionProperties": json.dumps({"host": "h", "password": "p4ss"})}
    redacted = json.loads(redact(document)["connectionProperties"])
    assert redacted == {"host": "h", "password": REDACTED}


def test_redact_keeps_json_strings_without_secrets_as_spelt() -> None:
    spelt = '{ "host" : "h",  "port": 22 }'
    assert redact({"connectionProperties": spelt}) == {"connectionProperties": spelt}


def test_redact_hides_a_secret_string_holding_json_whole() -> None:
    assert redact({"clientSecret": '{"a": 1}'}) == {"clientSecret": REDACTED}


def test_redact_hides_the_value_of_a_credential_header_pair() -> None:
    document = {"headers": [{"key": "Authorization", "value": "Bearer t0k3n"}]}
    assert redact(document) == {"headers": [{"key": "Authorization", "value": REDACTED}]}


def test_redact_judges_a_fragment_by_its_path() -> None:
    assert redact("Bearer t0k3n", ("customTokenHeader", "value")) == REDACTED


def test_redact_does_not_modify_its_input() -> None:
    document = {"a": {"password": "p"}, "b": [{"apiKey": "k"}]}
    before = copy.deepcopy(document)
    redact(document)
    assert document == before


def test_secret_values_finds_decrypted_values_and_in_string_passwords() -> None:
    document = {
        "loggingWebhooks": [{"authorizationHeaderKey": {"name": "n", "decryptedValue": "sk-1"}}],
        "inboundConnection": {"connectionProperties": json.dumps({"password": "pw-2"})},
    }
    assert secret_values(document) == {"sk-1", "pw-2"}


def test_secret_values_ignores_empty_strings() -> None:
    assert secret_values({"password": "", "token": "t-1"}) == {"t-1"}
