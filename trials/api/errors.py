"""One JSON error shape for every API failure, whoever raised it (DRF, django-filter, the service, Django).

    {"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"adverse_events[0].n_affected": ["..."]}}}

`code` is stable and machine-readable; `message` is for people; `fields` maps a field path (the
service's spelling: `cohorts[1].interventions[0].donor`) to its messages and is empty when the error
is not about fields.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from trials.documents import DocumentError
from trials.errors import error_body

NON_FIELD = "non_field_errors"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the resource's current state."
    default_code = "conflict"

    def __init__(self, detail=None, code=None, fields: dict[str, list[str]] | None = None):
        super().__init__(detail, code)
        # Which field or state is at fault (e.g. {"curation_state": [...]}), as a 400 names its fields.
        self.fields = fields or {}


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


class DocumentInvalid(exceptions.ValidationError):
    """The service refused a study document; its errors are already keyed by field path."""

    def __init__(self, error: DocumentError):
        super().__init__(error.errors, code="invalid")


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail -> {"cohorts[0].label": ["..."]}, the paths the service uses."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            key = str(key)
            if key == NON_FIELD:
                path = prefix or NON_FIELD
            elif prefix:
                path = f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"
            else:
                path = key
            for sub_path, messages in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            if detail:
                flat[prefix or NON_FIELD] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                for sub_path, messages in flatten_errors(item, f"{prefix}[{index}]").items():
                    flat.setdefault(sub_path, []).extend(messages)
    else:
        flat[prefix or NON_FIELD] = [str(detail)]
    return flat


def _code(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _message(exc: exceptions.APIException, fields: dict[str, list[str]]) -> str:
    if isinstance(exc, exceptions.ValidationError):
        if list(fields) == [NON_FIELD]:
            return " ".join(fields[NON_FIELD])
        count = len(fields)
        return _("The request is invalid: see the %(count)d field(s) listed.") % {"count": count}
    return str(exc.detail)


def exception_handler(exc: Exception, context: dict):
    """DRF's handler (headers such as WWW-Authenticate and Retry-After, rollback), reshaped."""
    if isinstance(exc, DocumentError):
        exc = DocumentInvalid(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: let Django log it and answer 500
    if isinstance(exc, exceptions.APIException):
        fields = flatten_errors(exc.detail) if isinstance(exc, exceptions.ValidationError) else getattr(exc, "fields", {})
        response.data = error_body(response.status_code, _code(exc), _message(exc, fields), fields)
    else:  # Http404 / PermissionDenied, converted by DRF
        code = "not_found" if response.status_code == 404 else "permission_denied"
        response.data = error_body(response.status_code, code, str(response.data.get("detail", "")))
    return response


@csrf_exempt  # API clients send no CSRF cookie: a POST to a wrong URL is a 404, not a "form" failure
def api_not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """Django's own 404 for any /api/ URL no view claims, as JSON (it would be an HTML page).

    This catch-all makes every /api/ path "valid" to CommonMiddleware, so APPEND_SLASH is done here:
    a GET redirects as Django would; a write is told where to go (a redirect would drop its body).
    """
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            if request.method in ("GET", "HEAD"):
                return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
            message = _("Not found. API URLs end with a slash: %(path)s") % {"path": request.path + "/"}
            return JsonResponse(error_body(404, "not_found", message), status=404)
    return JsonResponse(error_body(404, "not_found", _("No API endpoint at this URL.")), status=404)
