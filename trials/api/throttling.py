"""Rate limit for anonymous clients (per client address); signed-in users and tokens are not limited.

The rate is `settings.API_ANON_RATE` (env `API_ANON_RATE`, default 120/min; "off" disables it), read
on each request rather than frozen at import as DRF's own class does, so that tests and the benchmark
can raise it.

Counted so that the limit holds however the site is deployed:

- in the "ratelimit" cache, which is Redis (REDIS_URL) when several worker processes serve the site:
  each process counting for itself multiplied the documented limit by the number of workers;
- as one atomic counter per address and window (`cache.incr`), not DRF's read-modify-write history
  list, which concurrent requests overwrite;
- per address as `trials.addresses.client_ip` reads it, the same rule as for login throttling
  (TRUSTED_PROXY_COUNT): a made-up X-Forwarded-For is not a new address.

The window is fixed (the counter starts at the first request and lasts the rate's period), and the 429
says in Retry-After when the window ends.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from trials.addresses import client_ip

CACHE_ALIAS = "ratelimit"


class AnonymousRateThrottle(BaseThrottle):
    scope = "anon"

    def __init__(self) -> None:
        self._wait: float | None = None

    @staticmethod
    def get_rate() -> str | None:
        rate = str(getattr(settings, "API_ANON_RATE", "120/min") or "").strip()
        return None if rate.lower() in ("", "off", "none", "0") else rate

    def allow_request(self, request, view) -> bool:
        rate = self.get_rate()
        if rate is None or (request.user and request.user.is_authenticated):
            return True
        limit, period = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
        if not limit or not period:
            return True
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{client_ip(request._request)}:{limit}/{period}:{window}"
        cache = caches[CACHE_ALIAS]
        cache.add(key, 0, period + 1)  # atomic: only the first request of the window creates it
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, period + 1)
            count = 1
        if count <= limit:
            return True
        self._wait = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return self._wait
