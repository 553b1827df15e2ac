"""JSON request bodies, with their nesting bounded before they are parsed.

A study document nests four levels (study -> cohorts -> interventions -> values); a body of a kilobyte
can nest five hundred, which is enough to exhaust the recursion of whatever walks it after parsing (a
RecursionError, a 500). So the depth is measured on the bytes first, which costs one regular
expression pass, and anything deeper than MAX_DEPTH is a 400 like any other malformed body.
"""

from __future__ import annotations

import io
import re

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Far above any document this API accepts (4), far below Python's recursion limit.
MAX_DEPTH = 32
# Strings first (their brackets are text), then the brackets that are left.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        if json_depth(body) > MAX_DEPTH:
            raise ParseError(_("JSON nested deeper than %(depth)d levels.") % {"depth": MAX_DEPTH})
        return super().parse(io.BytesIO(body), media_type, parser_context)
