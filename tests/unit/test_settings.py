"""Settings: every setting read, every bad one named, no secret echoed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.errors import SettingsError
from shared.settings import DEFAULT_SCHEDULE, load_settings

BASE = {
    "CONNXIO_CLIENT_ID": "client",
    "CONNXIO_CLIENT_SECRET": "very-secret-value",
    "CONNXIO_API_KEYS": json.dumps({"sub-1": "key-one-secret"}),
    "BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true",
}


def settings_with(**changes: str | None):
    env = {**BASE, **changes}
    return load_settings({k: v for k, v in env.items() if v is not None})


def test_defaults_apply_when_only_required_settings_are_given():
    settings = settings_with()
    assert settings.connxio.base_url == "https://api.connxio.com"
    assert settings.connxio.token_url == "https://api.connxio.com/oauth/token"
    assert settings.connxio.scope == "api://connxio/.default"
    assert settings.schedule == DEFAULT_SCHEDULE
    assert settings.storage.container == "cxbackup"
    assert settings.retention.grace == timedelta(days=1)


def test_base_url_keeps_its_path_prefix_without_trailing_slash():
    settings = settings_with(CONNXIO_BASE_URL="https://host.example/api/")
    assert settings.connxio.base_url == "https://host.example/api"


@pytest.mark.parametrize(
    "missing", ["CONNXIO_CLIENT_ID", "CONNXIO_CLIENT_SECRET", "CONNXIO_API_KEYS"]
)
def test_missing_required_setting_is_named(missing):
    with pytest.raises(SettingsError) as error:
        settings_with(**{missing: None})
    assert error.value.setting == missing
    assert missing in str(error.value)


@pytest.mark.parametrize(
    "raw",
    ["not json", "[]", "{}", '{"sub": 5}', '{"sub": ""}', '{"": "key"}'],
)
def test_malformed_api_keys_are_rejected_without_echoing_keys(raw):
    with pytest.raises(SettingsError) as error:
        settings_with(CONNXIO_API_KEYS=raw)
    assert error.value.setting == "CONNXIO_API_KEYS"


def test_api_keys_error_never_contains_the_key_value():
    with pytest.raises(SettingsError) as error:
        settings_with(CONNXIO_API_KEYS='{"sub-1": "key-one-secret", "sub-2": 7}')
    assert "key-one-secret" not in str(error.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONNXIO_BASE_URL", "ftp://x"),
        ("CONNXIO_TOKEN_URL", "not a url"),
        ("BACKUP_CONTAINER", "Bad_Name"),
        ("RETENTION_KEEP_LAST", "-1"),
        ("RETENTION_KEEP_DAILY", "many"),
        ("MASS_CHANGE_THRESHOLD", "1.5"),
        ("BACKUP_CONCURRENCY", "0"),
        ("AUDIT_WEBHOOK_URL", "hooks.example"),
    ],
)
def test_malformed_setting_is_named(name, value):
    with pytest.raises(SettingsError) as error:
        settings_with(**{name: value})
    assert error.value.setting == name


def test_settings_repr_hides_secrets():
    text = repr(settings_with())
    assert "very-secret-value" not in text
    assert "key-one-secret" not in text
    assert "UseDevelopmentStorage" not in text


def test_two_backup_stores_conflict():
    with pytest.raises(SettingsError) as error:
        settings_with(BACKUP_STORAGE_ACCOUNT_URL="https://acct.blob.core.windows.net")
    assert error.value.setting == "BACKUP_STORAGE_ACCOUNT_URL"


def test_account_url_alone_selects_identity_based_blob_storage():
    settings = settings_with(
        BACKUP_STORAGE_CONNECTION_STRING=None,
        BACKUP_STORAGE_ACCOUNT_URL="https://acct.blob.core.windows.net",
    )
    assert settings.storage.account_url == "https://acct.blob.core.windows.net"
    assert settings.storage.connection_string is None


def test_without_a_backup_store_setting_the_app_uses_azurewebjobsstorage():
    settings = settings_with(
        BACKUP_STORAGE_CONNECTION_STRING=None, AzureWebJobsStorage="UseDevelopmentStorage=true"
    )
    assert settings.storage.connection_string == "UseDevelopmentStorage=true"


def test_identity_based_azurewebjobsstorage_gives_an_account_url():
    settings = settings_with(
        BACKUP_STORAGE_CONNECTION_STRING=None, AzureWebJobsStorage__accountName="hostacct"
    )
    assert settings.storage.account_url == "https://hostacct.blob.core.windows.net"


def test_no_backup_store_at_all_is_named():
    with pytest.raises(SettingsError) as error:
        settings_with(BACKUP_STORAGE_CONNECTION_STRING=None)
    assert error.value.setting == "BACKUP_STORAGE_ACCOUNT_URL"


def test_audit_ignore_fields_are_split_on_commas():
    settings = settings_with(AUDIT_IGNORE_FIELDS="_etag, updatedAtUtc ,")
    assert settings.audit_ignore_fields == ("_etag", "updatedAtUtc")


def test_read_only_commands_need_no_connxio_settings():
    env = {"BACKUP_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"}
    assert load_settings(env, need_connxio=False).connxio is None


def test_unresolved_key_vault_reference_is_named():
    with pytest.raises(SettingsError) as error:
        settings_with(
            CONNXIO_CLIENT_SECRET="@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/x)"
        )
    assert error.value.setting == "CONNXIO_CLIENT_SECRET"
    assert "Key Vault" in str(error.value)
