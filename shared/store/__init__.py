"""The snapshot store's storage seam: the ``Backend`` contract and its two implementations.

``LocalBackend`` keeps objects in a folder (CLI, tests); ``BlobBackend`` keeps them in an Azure
Storage container (the Function App, or Azurite). Both honour the same write-once contract,
proven by one test suite in ``tests/store/test_backend_contract.py``.
"""

from shared.store.backend import Backend, validate_name, validate_prefix
from shared.store.blob import BlobBackend
from shared.store.local import LocalBackend

__all__ = ["Backend", "BlobBackend", "LocalBackend", "validate_name", "validate_prefix"]
