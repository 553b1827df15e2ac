"""`?format=csv` on every list: the JSON items' keys as columns, every page, streamed.

Flattening rules, the same for every list (documented in the OpenAPI description):
- a list of plain values is joined with "|" (`conditions`: `spinal-cord-injury|stroke`);
- a nested object becomes dotted columns (`a.b`);
- true/false are spelled as in JSON, null is an empty cell, numbers as JSON writes them.

Rows are read with `.iterator(chunk_size=...)` (prefetches run per chunk) and serialized a chunk at a
time, so memory stays flat however many rows match.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

LIST_SEPARATOR = "|"
CHUNK_SIZE = 500
CONTENT_TYPE = "text/csv; charset=utf-8"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(cell(item) for item in value)
    if isinstance(value, Decimal):  # as DRF's JSON encoder writes it (COERCE_DECIMAL_TO_STRING is off)
        value = float(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return str(value)


def flatten(item: dict, prefix: str = "") -> dict[str, str]:
    row: dict[str, str] = {}
    for key, value in item.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flatten(value, f"{name}."))
        else:
            row[name] = cell(value)
    return row


class _Echo:
    """csv.writer needs a file; this one hands each written line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Sequence[str], rows: Iterable[dict]) -> Iterator[str]:
    """The header, then one line per item. A column holding an object becomes its dotted columns (`a.b`),
    named from the first item: every item of a list has the same shape."""
    writer = csv.writer(_Echo())
    items = iter(rows)
    first = next(items, None)
    if first is not None:
        flat = flatten(first)
        columns = [
            name
            for column in columns
            for name in ([column] if column in flat else [key for key in flat if key.startswith(f"{column}.")])
        ]
        items = itertools.chain([first], items)
    yield writer.writerow(columns)
    for item in items:
        row = flatten(item)
        yield writer.writerow([row.get(column, "") for column in columns])


def serialized_rows(queryset: QuerySet, serialize: Callable[[list], list[dict]]) -> Iterator[dict]:
    objects = queryset.iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(objects, CHUNK_SIZE)):
        yield from serialize(chunk)


def stream_csv(
    *,
    columns: Sequence[str],
    filename: str,
    queryset: QuerySet | None = None,
    serialize: Callable[[list], list[dict]] | None = None,
    rows: Iterable[dict] | None = None,
) -> StreamingHttpResponse:
    """The CSV of `rows`, or of `queryset` serialized a chunk at a time by `serialize`."""
    if rows is None:
        assert queryset is not None and serialize is not None, "give rows, or a queryset and how to serialize it"
        rows = serialized_rows(queryset, serialize)
    response = StreamingHttpResponse(csv_lines(columns, rows), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CSVRenderer(BaseRenderer):
    """Lets content negotiation accept `?format=csv` and `Accept: text/csv`.

    List views stream their CSV themselves; this renders what is left, a list or a page of items.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        items = data.get("results", [data]) if isinstance(data, dict) else list(data)
        rows = [flatten(item) for item in items]
        columns = list(dict.fromkeys(column for row in rows for column in row))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(column, "") for column in columns])
        return buffer.getvalue().encode(self.charset)
