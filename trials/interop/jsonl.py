"""The whole registry as gzip-compressed JSON Lines: a header line, then one study document per line.

The header names the document format, this file format's version, the data stamp the dump was read at
and how many documents follow, so a mirror can tell whether it is current and whether the file is whole.
Documents are the API's (`study_document`), read `CHUNK` studies at a time and compressed as they go:
memory stays that of one chunk, whatever the registry's size. On PostgreSQL the whole dump is read in
one REPEATABLE READ transaction, so it is one consistent state even while curators publish.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from trials.cache import data_stamp
from trials.documents import DOCUMENT_FORMAT

from .common import CHUNK, iter_documents

JSONL_VERSION = 1
CONTENT_TYPE = "application/x-ndjson"
FILE_NAME = "neurocell-registry-studies.jsonl.gz"


def jsonl_lines(queryset: QuerySet, chunk: int = CHUNK) -> Iterator[bytes]:
    """The dump's lines, uncompressed, each ending in a newline."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        header = {
            "format": DOCUMENT_FORMAT,
            "jsonl_version": JSONL_VERSION,
            "data_stamp": data_stamp(),
            "exported_at": timezone.now().isoformat().replace("+00:00", "Z"),
            "studies": queryset.count(),
        }
        yield _line(header)
        for document in iter_documents(queryset, chunk):
            yield _line(document)


def _line(value: dict) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def gzipped(lines: Iterator[bytes], flush_bytes: int = 1 << 16) -> Iterator[bytes]:
    """`lines` as one gzip stream, in pieces of about `flush_bytes` compressed input."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip header and trailer
    pending = 0
    for line in lines:
        piece = compressor.compress(line)
        pending += len(line)
        if pending >= flush_bytes:
            piece += compressor.flush(zlib.Z_SYNC_FLUSH)
            pending = 0
        if piece:
            yield piece
    yield compressor.flush()
