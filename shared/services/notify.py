"""Posting the backup summary to ``AUDIT_WEBHOOK_URL``; a failing webhook never fails a backup."""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger("cxbackup.notify")


async def post_webhook(
    url: str, message: dict[str, str], *, transport: httpx.AsyncBaseTransport | None = None
) -> bool:
    """POST ``message``; True when the webhook accepted it. Failures are logged, not raised.

    The URL itself is a secret (it authorises posting into a channel), so logs name only its host.
    """
    host = httpx.URL(url).host
    try:
        async with httpx.AsyncClient(timeout=10.0, transport=transport) as http:
            response = await http.post(url, json=message)
    except httpx.HTTPError as error:
        log.warning("audit webhook at %s could not be reached: %s", host, type(error).__name__)
        return False
    if response.status_code >= 300:
        log.warning("audit webhook at %s answered %d", host, response.status_code)
        return False
    return True
