"""Middleware for running in production: malformed requests, request body limits, database outages, the
client's address. (The public page cache has its own module, trials.pagecache.)"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

from trials.views.errors import (
    bad_request,
    database_read_only,
    database_unavailable,
    is_database_outage,
    is_read_only_refusal,
    request_too_large,
)

logger = logging.getLogger(__name__)

# C0 controls other than tab, newline and carriage return: no URL, header or form field of this site
# carries one, PostgreSQL cannot store NUL in text at all, and a lookup by such a value can only miss.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class MalformedRequestMiddleware:
    """Answer 400 to a request whose path, query, headers, cookies or form fields hold control characters.

    Checked once here, before any view, filter, session lookup or login throttle copies such a value into
    a query: on PostgreSQL a NUL byte there is a DataError (a 500), and everywhere it is meaningless.
    Invalid UTF-8 in the path needs nothing: Django keeps those bytes percent-encoded, so they match
    no URL (404).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.malformed(request):
            return bad_request(request)
        return self.get_response(request)

    @staticmethod
    def malformed(request: HttpRequest) -> bool:
        if _CONTROL_CHARACTERS.search(request.path_info):
            return True
        for name, value in request.META.items():
            if (name.startswith("HTTP_") or name == "QUERY_STRING") and isinstance(value, str) and "\x00" in value:
                return True
        fields = [*request.GET.lists()]
        # Form posts to the site (sign-in, the admin, the language switch). Not the API's: DRF parses its
        # own bodies, and a body Django had already parsed would reach its views empty.
        if request.method == "POST" and request.content_type in _FORM_TYPES and not request.path_info.startswith("/api/"):
            try:
                fields += request.POST.lists()  # parsed lazily by Django anyway; only earlier here
            except MultiPartParserError:
                return True
        return any(_CONTROL_CHARACTERS.search(text) for key, values in fields for text in (key, *values))


class RequestBodyLimitMiddleware:
    """Refuse a body over DATA_UPLOAD_MAX_MEMORY_SIZE with a 413 before anything reads it.

    Django applies the limit only when `request.body` or `request.POST` is read; DRF's parsers read the
    stream themselves, so without this an API request body would be unbounded. Multipart bodies are
    left to Django, which streams their files to disk and limits their other fields itself.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.content_type != "multipart/form-data":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0  # Django reads no body then either
            if length > limit:
                return request_too_large(request, limit)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """While the database is unreachable, answer 503 (JSON under /api/, a page elsewhere), not a 500.

    Nothing is cached or retried here: the next request opens a new connection (CONN_MAX_AGE with
    CONN_HEALTH_CHECKS drops a broken persistent one), so the site recovers when the database returns.
    Outages outside a view (e.g. saving the session) reach `trials.views.errors.server_error`, which does
    the same.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_read_only_refusal(exception):
            logger.warning("Database is read-only, answering 503 for %s %s", request.method, request.path)
            return database_read_only(request)
        if not is_database_outage(exception):
            return None
        # One line, not a trace per request: the cause is outside the code.
        logger.error("Database unavailable, answering 503 for %s %s: %s", request.method, request.path, exception)
        close_broken_connections()
        return database_unavailable(request)


def close_broken_connections() -> None:
    """Drop a connection the outage broke now, so that the next request connects afresh (Django does it
    at the end of the request too, but only where its request_finished handler runs)."""
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is not None and (getattr(raw, "broken", False) or getattr(raw, "closed", False)):
            with contextlib.suppress(DatabaseError):
                conn.close()
