"""With only BACKUP_STORAGE_ACCOUNT_URL set, the store uses an Azure credential, never a key."""

from __future__ import annotations

from azure.identity import DefaultAzureCredential

from shared.settings import load_storage_settings
from shared.store.blob import BlobBackend
from shared.wiring import build_backend

ACCOUNT_URL = "https://cxbackupprod.blob.core.windows.net"


def test_account_url_alone_builds_a_blob_store_with_default_azure_credential():
    backend = build_backend(load_storage_settings({"BACKUP_STORAGE_ACCOUNT_URL": ACCOUNT_URL}))
    assert isinstance(backend, BlobBackend)
    client = backend.container_client
    assert isinstance(client.credential, DefaultAzureCredential)
    assert client.url.startswith(ACCOUNT_URL + "/")
    assert client.account_name == "cxbackupprod"


def test_account_url_store_carries_no_connection_string_or_account_key():
    backend = build_backend(load_storage_settings({"BACKUP_STORAGE_ACCOUNT_URL": ACCOUNT_URL}))
    credential = backend.container_client.credential
    assert not hasattr(credential, "account_key")
    assert "AccountKey" not in repr(vars(backend.container_client))
