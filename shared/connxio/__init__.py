"""The Connxio Management API client: typed errors, cached OAuth tokens, bounded retries.

``ConnxioClient`` is the only code in cxbackup that speaks HTTP to Connxio; it returns the API's
JSON exactly as sent (lossless) and raises the ``shared.errors`` tree. See ``client.py`` for the
error handling and ``retry.py`` for what is retried and how long.
"""

from shared.connxio.auth import ClientCredentials
from shared.connxio.client import (
    MEDIA_TYPE,
    ClientStats,
    ConnxioClient,
    IntegrationListing,
    UpsertResult,
)
from shared.connxio.models import IntegrationView, SubscriptionView
from shared.connxio.retry import RetryPolicy

__all__ = [
    "MEDIA_TYPE",
    "ClientCredentials",
    "ClientStats",
    "ConnxioClient",
    "IntegrationListing",
    "IntegrationView",
    "RetryPolicy",
    "SubscriptionView",
    "UpsertResult",
]
