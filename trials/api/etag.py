"""Conditional requests: an ETag on every successful read, 304 for If-None-Match, 412 for a stale If-Match.

A study's tag is its accession and `Study.edit_count` (one more for every real change or workflow step,
also the admin's lost-update check; a revision's tags are marked apart), so a client can compare tags
without reading the document again. Other
responses are tagged with a hash of their body, or, for streamed CSV, of what determines the body.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotModified, StreamingHttpResponse
from django.utils.http import parse_etags

from trials.models import Study

from .errors import PreconditionFailed

# Headers a 304 must repeat (RFC 9110, 15.4.5), so caches keep what the 200 told them.
NOT_MODIFIED_HEADERS = ("ETag", "Vary", "Cache-Control", "Content-Location", "Expires")


def study_etag(study: Study) -> str:
    kind = "r" if study.revision_of_id else "e"
    return f'"{study.accession}-{kind}{study.edit_count}"'


def content_etag(*parts: bytes | str | object) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return f'"{digest.hexdigest()}"'


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def none_match_hits(request: HttpRequest, etag: str) -> bool:
    """If-None-Match uses the weak comparison: `W/"x"` matches `"x"`."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    tags = parse_etags(header)
    return "*" in tags or _opaque(etag) in {_opaque(tag) for tag in tags}


def check_write_preconditions(request: HttpRequest, etag: str) -> None:
    """If-Match (strong comparison) and If-None-Match on PUT, PATCH and DELETE; raises 412.

    A header that names no well-formed tag cannot match, so it fails rather than being ignored.
    """
    header = request.headers.get("If-Match")
    if header is not None:
        tags = parse_etags(header)
        if "*" not in tags and etag not in tags:
            raise PreconditionFailed(
                f"If-Match does not match the study's current ETag {etag}: it has changed since you read it."
            )
    if none_match_hits(request, etag):
        raise PreconditionFailed(f"If-None-Match matches the study's current ETag {etag}.")


def not_modified(response: HttpResponseBase) -> HttpResponseNotModified:
    reply = HttpResponseNotModified()
    for header in NOT_MODIFIED_HEADERS:
        if response.has_header(header):
            reply[header] = response[header]
    return reply


if TYPE_CHECKING:  # mixed into DRF views only
    from rest_framework.views import APIView as _View
else:
    _View = object


class ConditionalGetMixin(_View):
    """For API views: tag every 200 GET/HEAD and answer 304 when the client already has it.

    A view may set the ETag itself (a study's version, a CSV's fingerprint); any other response is
    rendered here, a little earlier than Django would, to hash its body.
    """

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        if not response.has_header("ETag"):
            if isinstance(response, StreamingHttpResponse):
                return response
            if hasattr(response, "render"):
                response.render()
            response["ETag"] = content_etag(response.content)
        if none_match_hits(request, response["ETag"]):
            return not_modified(response)
        return response
