"""The site's own error responses: pages in the reader's language, JSON under /api/ and at /healthz.

Django calls these handlers (registry/urls.py) for errors that happen outside DRF views; DRF's own
errors are shaped by trials/api/errors.py, whose JSON body this module reuses. No response shows a
trace or a setting. The 500 and 503 pages render without the database or the request context, since
either may be what failed.
"""

from __future__ import annotations

import logging
import sys
from datetime import timedelta

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

from trials.errors import error_body

logger = logging.getLogger(__name__)


# What a client (or a load balancer) is told to wait before retrying while the database is away.
RETRY_AFTER_SECONDS = 30

# Served when even an error template cannot render (a missing static manifest, a broken template).
FALLBACK_PAGE = '<!DOCTYPE html><html lang="{language}"><title>{status}</title><h1>{status}</h1><p>{message}</p></html>'


def wants_json(request: HttpRequest) -> bool:
    path = request.path_info
    return path.startswith("/api/") or path in ("/healthz", "/livez")


def error_response(
    request: HttpRequest,
    status: int,
    *,
    code: str,
    message: str,
    template: str,
    context: dict | None = None,
    with_request: bool = True,
) -> HttpResponse:
    """JSON under /api/, else `template` rendered in the active language (without the request
    context, so without the database, when `with_request` is false)."""
    if wants_json(request):
        return JsonResponse(error_body(status, code, message), status=status)
    try:
        html: str = loader.render_to_string(template, context or {}, request=request if with_request else None)
    except Exception:
        logger.exception("Could not render the error page %s", template)
        html = FALLBACK_PAGE.format(language=get_language(), status=status, message=escape(message))
    return HttpResponse(html, status=status)


def is_database_outage(exc: BaseException | None) -> bool:
    """The database cannot be reached, as opposed to a query that failed.

    The type alone does not tell: SQLite reports a missing table as OperationalError too, and that is
    a bug (a 500), not an outage. An outage leaves a connection that never opened or that broke.
    """
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is None or getattr(raw, "broken", False) or getattr(raw, "closed", False):
            return True
    return False


# PostgreSQL's read_only_sql_transaction (a standby, default_transaction_read_only during maintenance);
# SQLite's SQLITE_READONLY (a read-only file or mount, `PRAGMA query_only`).
READ_ONLY_SQLSTATE = "25006"


def is_read_only_refusal(exc: BaseException | None) -> bool:
    """The database refused a write because it is read-only: the deployment's state, not a bug."""
    if not isinstance(exc, DatabaseError):
        return False
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == READ_ONLY_SQLSTATE:
        return True
    return "readonly database" in str(exc) or "read-only transaction" in str(exc)


def database_read_only(request: HttpRequest) -> HttpResponse:
    response = error_response(
        request,
        503,
        code="database_read_only",
        message=_(
            "The registry is read-only for maintenance: reading works, changes cannot be saved now. Please try again later."
        ),
        template="503.html",
        context={"read_only": True},
        with_request=False,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def database_unavailable(request: HttpRequest) -> HttpResponse:
    response = error_response(
        request,
        503,
        code="database_unavailable",
        message=_("The registry's database is unavailable. Please try again in a minute."),
        template="503.html",
        with_request=False,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


# --- Django's error handlers (handler400 ... handler500 in registry/urls.py) ---------------------------


@requires_csrf_token  # as Django's own handlers: base.html's language forms need a token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request, 400, code="bad_request", message=_("The request could not be understood."), template="400.html"
    )


@requires_csrf_token  # as Django's own handlers: base.html's language forms need a token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request,
        403,
        code="permission_denied",
        message=_("You do not have permission to do this."),
        template="403.html",
    )


@requires_csrf_token  # as Django's own handlers: base.html's language forms need a token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404, code="not_found", message=_("Not found."), template="404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its `except` block: an outage that surfaced outside a view (a session
    # saved by middleware, say) is still a 503, not a 500.
    if is_database_outage(sys.exc_info()[1]):
        return database_unavailable(request)
    if is_read_only_refusal(sys.exc_info()[1]):
        return database_read_only(request)
    return error_response(
        request,
        500,
        code="server_error",
        message=_("Something went wrong on our side. It has been logged."),
        template="500.html",
        with_request=False,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form posted without a valid CSRF token: usually cookies off or a page left open too long."""
    return error_response(
        request,
        403,
        code="csrf_failed",
        message=_("The form could not be verified. Reload the page and try again; cookies must be enabled."),
        template="403.html",
        context={"csrf_failed": True},
    )


def request_too_large(request: HttpRequest, limit: int) -> HttpResponse:
    return error_response(
        request,
        413,
        code="request_too_large",
        message=_("The request body is larger than %(limit)s bytes.") % {"limit": limit},
        template="413.html",
        context={"limit": limit},
    )


def login_locked_out(request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None):
    """django-axes' lockout response (AXES_LOCKOUT_CALLABLE): a friendly 429 saying how long to wait."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request) or timedelta(0)
    minutes = max(1, round(cool_off.total_seconds() / 60))
    response = error_response(
        request,
        429,
        code="login_locked_out",
        message=_("Too many failed sign-in attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes},
        template="errors/lockout.html",
        context={"minutes": minutes},
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
