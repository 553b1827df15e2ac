"""Facet counts and search totals, cached until the registry's data changes.

Counting every facet of a filtered set means reading every matching study's children; on a large
registry that is the slowest thing a reader can ask for, and readers ask for the same few sets over
and over. So the FilterSet's facet counts and totals are cached, keyed by exactly what they count
(the filters, or the SQL) and by the *data stamp*: a token the database itself replaces in the same
transaction as any write to a table these counts read (triggers from migration 0007), however the
write is made (admin, API, import, raw SQL, COPY). A cached value is therefore never served after a
publish, a retraction, an edit or a bulk load commits; `REGISTRY_CACHE_SECONDS` only bounds memory
use (0 turns caching off, as the test settings do so that query counts stay pinned).

The stamp is transactional: a rolled-back write leaves the old token, and a new write draws a new
random one, so no two different states share a token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection

T = TypeVar("T")
STAMP_TABLE = "trials_datastamp"


def timeout() -> int:
    return int(getattr(settings, "REGISTRY_CACHE_SECONDS", 0) or 0)


def data_stamp() -> str | None:
    """The current data token: one primary-key read."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {STAMP_TABLE} WHERE id = 1")
        row = cursor.fetchone()
    return str(row[0]) if row else None


def data_changed() -> None:
    """Replace the token by hand, for writes the triggers cannot see (none today; used by tests)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT trials_data_changed()")
        else:
            cursor.execute(f"UPDATE {STAMP_TABLE} SET token = random() WHERE id = 1")


def cached(parts: tuple, compute: Callable[[], T]) -> T:
    """`compute()`, or its value from the cache while the data stamp is unchanged."""
    seconds = timeout()
    if seconds <= 0:
        return compute()
    stamp = data_stamp()
    if stamp is None:
        return compute()
    key = "ncr:" + hashlib.blake2b(repr((connection.alias, stamp, parts)).encode(), digest_size=20).hexdigest()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value
