"""The client's address, read by one rule for everything that counts per client (login throttling,
the API's rate limit)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address for login throttling (AXES_CLIENT_IP_CALLABLE) and the API's rate limit.

    REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies sit in front: then the address the outermost of
    them saw, i.e. the entry they appended to X-Forwarded-For, never one a client could have forged.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "")
