"""Rate limit for anonymous clients (per IP address); signed-in users and tokens are not limited.

The rate is `settings.API_ANON_RATE` (env `API_ANON_RATE`, default 120/min; "off" disables it), read
on each request rather than frozen at import as DRF's own class does, so that tests and the benchmark
can raise it. Counts live in the default cache: per process unless a shared cache is configured.
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle


class AnonymousRateThrottle(AnonRateThrottle):
    def get_rate(self) -> str | None:
        rate = str(getattr(settings, "API_ANON_RATE", "120/min") or "").strip()
        return None if rate.lower() in ("", "off", "none", "0") else rate

    def allow_request(self, request, view) -> bool:
        # The rate may have changed since __init__ parsed it (settings overridden at runtime).
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
