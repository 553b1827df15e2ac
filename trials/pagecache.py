"""The public page cache: anonymous readers' pages and API answers, kept until the registry's data changes.

`PublicPageCacheMiddleware` (first in MIDDLEWARE) stores and serves whole responses keyed by the data
stamp (trials.cache); `CachedPageApplication` (registry/wsgi.py) answers a hit in front of Django
when the stamp is known in memory. Both build the same key (`page_key`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from trials.cache import data_stamp, stamp_watcher, timeout
from trials.views.errors import database_unavailable, is_database_outage

# What a cached response may differ by, besides the URL; and what sends a request past the cache.
KEY_HEADERS = ("Accept", "Accept-Language", "HX-Request", "HX-History-Restore-Request", "Origin")
BYPASS_HEADERS = ("Cookie", "Authorization", "If-None-Match", "If-Modified-Since", "If-Match", "Range")
SKIP_PREFIXES = ("/admin/", "/healthz", "/livez", "/static/", "/i18n/")


def cacheable_request(request: HttpRequest) -> bool:
    """An anonymous GET for a public page: no cookie, no credentials, not conditional."""
    if not settings.REGISTRY_PAGE_CACHE or timeout() <= 0 or request.method != "GET":
        return False
    return not request.path.startswith(SKIP_PREFIXES) and not any(request.headers.get(h) for h in BYPASS_HEADERS)


def page_key(request: HttpRequest, stamp: str) -> str:
    """The cache key of a response to `request` while the data stamp is `stamp`.

    The host is part of it and only a 200 is stored, so a host outside ALLOWED_HOSTS (which
    `get_host()` refuses) never finds an entry.
    """
    parts: tuple[str | None, ...] = (stamp, request.scheme, request.get_host(), request.get_full_path())
    parts += tuple(request.headers.get(header, "") for header in KEY_HEADERS)
    return "ncr-page:" + hashlib.blake2b(repr(parts).encode(), digest_size=20).hexdigest()


class PublicPageCacheMiddleware:
    """Serve anonymous readers' pages and API answers from the cache until the registry's data changes.

    Readers ask for the same few searches, facets and studies over and over, and what they see only
    changes when a write commits. So a whole response, headers included, is kept under a key made of
    the data stamp (trials.cache: replaced by the database in the transaction of every write), the
    URL, and the request headers responses vary on. A publish, a retraction or an edit therefore takes
    effect on the very next request, in every worker. Here a hit costs one primary-key read; on
    PostgreSQL most hits never get here, because CachedPageApplication answers them in front of Django.

    Only what anyone may see is cached: GET requests without a cookie or credentials (a curator's
    session or token may see drafts), answered 200 with no cookie set and not marked private. The
    admin, health checks and static files are never cached. Conditional requests go through, so
    ETags still answer 304. Anonymous API throttling counts only the requests that reach the view,
    which are the ones that cost database work.

    First in MIDDLEWARE, so that a cached response carries every header the stack added.
    """

    MAX_BYTES = 1024 * 1024

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._locks: dict[str, list] = {}
        self._locks_guard = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            key = self.cache_key(request)
        except DatabaseError as error:
            if is_database_outage(error):
                # Answered here: the view would only wait for the same database a second time.
                return database_unavailable(request)
            key = None  # a failing query is the view's to report
        if key is None:
            return self.get_response(request)
        cached = cache.get(key)
        if cached is not None:
            return self.rebuilt(cached)
        # After a publish every reader misses at once; one thread per process computes each page and
        # the others wait for its copy, instead of all of them computing it side by side.
        with self._computing(key):
            cached = cache.get(key)
            if cached is not None:
                return self.rebuilt(cached)
            response = self.get_response(request)
            if self.storable(response):
                # Status, headers and bytes only: a DRF response would also pickle its data.
                cache.set(key, (response.status_code, list(response.items()), response.content), timeout())
            return response

    @staticmethod
    def rebuilt(cached: tuple) -> HttpResponse:
        status, headers, content = cached
        return HttpResponse(content, status=status, headers=dict(headers))

    @contextlib.contextmanager
    def _computing(self, key: str):
        with self._locks_guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._locks_guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._locks[key]

    def cache_key(self, request: HttpRequest) -> str | None:
        if not cacheable_request(request):
            return None
        stamp = data_stamp()
        return page_key(request, stamp) if stamp is not None else None

    def storable(self, response: HttpResponse) -> bool:
        if response.status_code != 200 or response.streaming or response.cookies:
            return False
        if len(response.content) > self.MAX_BYTES:
            return False
        if "nonce-" in response.get("Content-Security-Policy", ""):
            return False  # a nonce must be new for every response (the API docs page)
        cache_control = response.get("Cache-Control", "").lower()
        if any(word in cache_control for word in ("private", "no-store", "no-cache")):
            return False
        varies = {h.strip().lower() for h in response.get("Vary", "").split(",") if h.strip()}
        # The key holds these headers; Cookie and Authorization are absent from every cached request.
        return varies <= {h.lower() for h in (*KEY_HEADERS, "Cookie", "Authorization")}


class CachedPageApplication:
    """WSGI in front of Django: answer a cache hit without entering Django at all.

    A hit through PublicPageCacheMiddleware still pays for Django's request cycle and two database
    round trips (the connection health check and the data stamp): about 0.4 ms, which made HTTP
    handling, not the data, the limit on a study page. Here the stamp comes from memory
    (trials.cache.StampWatcher, PostgreSQL only), the key is the middleware's own `page_key`, and the
    stored status, headers and bytes go straight to the server. Anything else, including every miss
    and every request while the watcher has no stamp, goes to Django unchanged, where the
    middleware computes, stores and serves as before.
    """

    def __init__(self, application: Callable):
        self.application = application

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        cached = self.lookup(environ)
        if cached is None:
            return self.application(environ, start_response)
        status, headers, content = cached
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers))
        return [content]

    @staticmethod
    def lookup(environ: dict) -> tuple | None:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_COOKIE"):
            return None  # the cheap refusals first, before building a request
        stamp = stamp_watcher.current()
        if stamp is None:
            return None
        # On a copy: WSGIRequest writes the decoded path back into the environ it is given (META is the
        # environ), and Django, handed that environ on a miss, would decode it a second time.
        request = WSGIRequest(environ.copy())
        if not cacheable_request(request):
            return None
        try:
            key = page_key(request, stamp)
        except DisallowedHost:
            return None  # Django answers 400
        return cache.get(key)
