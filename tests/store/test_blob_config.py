"""How BlobBackend builds its client: credentials, URLs, and secrets kept out of messages.

All offline: construction must not touch the network (a Function App cold start should not
block on storage, and a misconfigured URL should fail at the first real call with a clear
message). The account host below is under ``.invalid``, which never resolves (RFC 2606), so
any accidental request would fail loudly rather than reach a real account.
"""

from __future__ import annotations

import pytest
from azure.identity import DefaultAzureCredential, EnvironmentCredential

from shared.errors import SettingsError
from shared.store import BlobBackend
from shared.store.blob import content_type_for, redact

ACCOUNT_URL = "https://cxbackupstore.blob.core.invalid"
SAS_SIGNATURE = "c2VjcmV0LXNpZ25hdHVyZS1kby1ub3QtbGVhaw%3D"
SAS_CONNECTION_STRING = (
    f"BlobEndpoint={ACCOUNT_URL};"
    f"SharedAccessSignature=sv=2024-08-04&ss=b&srt=co&sp=rwdlac&sig={SAS_SIGNATURE}"
)
ACCOUNT_KEY = "a2V5LXRoYXQtbXVzdC1uZXZlci1hcHBlYXItaW4tYW4tZXJyb3ItbWVzc2FnZQ=="


def test_from_account_url_client_holds_the_given_credential() -> None:
    credential = DefaultAzureCredential()

    backend = BlobBackend.from_account_url(ACCOUNT_URL, "cxbackup", credential)

    assert backend.container_client.credential is credential


def test_from_account_url_defaults_to_default_azure_credential() -> None:
    backend = BlobBackend.from_account_url(ACCOUNT_URL, "cxbackup")

    assert isinstance(backend.container_client.credential, DefaultAzureCredential)


def test_from_account_url_client_points_at_the_account_and_container() -> None:
    backend = BlobBackend.from_account_url(ACCOUNT_URL + "/", "cxbackup", EnvironmentCredential())

    assert backend.container_client.url == f"{ACCOUNT_URL}/cxbackup"
    assert backend.account_url == ACCOUNT_URL


def test_from_account_url_client_carries_no_account_key() -> None:
    backend = BlobBackend.from_account_url(ACCOUNT_URL, "cxbackup", EnvironmentCredential())

    client = backend.container_client
    assert not hasattr(client.credential, "account_key")
    assert "?" not in client.url  # no SAS token either


def test_description_names_the_container_and_the_account_url() -> None:
    backend = BlobBackend.from_account_url(ACCOUNT_URL, "cxbackup", EnvironmentCredential())

    assert backend.description == f"blob container cxbackup at {ACCOUNT_URL}"


def test_from_account_url_refuses_plain_http_with_a_token_credential() -> None:
    with pytest.raises(SettingsError, match="BACKUP_STORAGE_ACCOUNT_URL"):
        BlobBackend.from_account_url(
            "http://cxbackupstore.blob.core.invalid", "cxbackup", EnvironmentCredential()
        )


def test_from_connection_string_with_a_sas_keeps_the_signature_out_of_the_description() -> None:
    backend = BlobBackend.from_connection_string(SAS_CONNECTION_STRING, "cxbackup")

    assert backend.description == f"blob container cxbackup at {ACCOUNT_URL}"
    assert SAS_SIGNATURE not in backend.account_url


def test_a_malformed_connection_string_raises_settings_error_without_echoing_it() -> None:
    malformed = f"AccountKey={ACCOUNT_KEY}"  # no account name, no endpoint

    with pytest.raises(SettingsError, match="BACKUP_STORAGE_CONNECTION_STRING") as caught:
        BlobBackend.from_connection_string(malformed, "cxbackup")

    assert ACCOUNT_KEY not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"DefaultEndpointsProtocol=https;AccountKey={ACCOUNT_KEY};", id="account-key"),
        pytest.param(SAS_CONNECTION_STRING, id="sas-connection-string"),
        pytest.param(f"GET {ACCOUNT_URL}/c/b?sv=2024&sig={SAS_SIGNATURE}&se=1", id="sas-url"),
    ],
)
def test_redact_removes_keys_and_signatures(text: str) -> None:
    redacted = redact(text)

    assert ACCOUNT_KEY not in redacted
    assert SAS_SIGNATURE not in redacted


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("snapshots/20261204T020000Z-3f9a1c.json", "application/json"),
        ("reports/audit.html", "text/html; charset=utf-8"),
        ("reports/audit.md", "text/markdown; charset=utf-8"),
        ("objects/raw", "application/octet-stream"),
    ],
)
def test_content_type_follows_the_name_suffix(name: str, content_type: str) -> None:
    assert content_type_for(name) == content_type
