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

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections

from trials.database import watchdog

logger = logging.getLogger(__name__)

T = TypeVar("T")
STAMP_TABLE = "trials_datastamp"
STAMP_QUERY = f"SELECT token FROM {STAMP_TABLE} WHERE id = 1"


def timeout() -> int:
    return int(getattr(settings, "REGISTRY_CACHE_SECONDS", 0) or 0)


def data_stamp() -> str | None:
    """The current data token: one primary-key read."""
    with connection.cursor() as cursor:
        cursor.execute(STAMP_QUERY)
        row = cursor.fetchone()
    return str(row[0]) if row else None


class StampWatcher:
    """The data stamp, kept in memory by listening to PostgreSQL instead of being read for every request.

    Migration 0009 makes the database NOTIFY `trials_data_changed` when a write commits. A daemon thread
    per process (started on first use, so after a fork) holds its own connection, LISTENs, and re-reads
    the stamp on every notification, and every RECHECK_SECONDS in case one was missed. `current()` is
    then a memory read. A reader can see the previous stamp for the moment between a commit and its
    notification (well under a millisecond here), as if they had asked just before the commit.

    `current()` is None, and callers read the stamp from the database as before, on SQLite (which cannot
    notify), while caching is off, and while the thread is not connected: so a lost connection costs
    speed, never freshness.
    """

    CHANNEL = "trials_data_changed"
    APPLICATION_NAME = "stamp-watcher"  # how its connection shows in pg_stat_activity
    RECHECK_SECONDS = 5.0
    RETRY_SECONDS = 1.0

    def __init__(self, alias: str = "default"):
        self.alias = alias
        self._stamp: str | None = None
        self._pid: int | None = None
        self._generation = 0  # each started thread's number; a thread whose number is stale ends
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def current(self) -> str | None:
        if self._pid != os.getpid():
            self._start()
        return self._stamp

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._pid, self._stamp = os.getpid(), None
            self._generation += 1
            if connections[self.alias].vendor != "postgresql" or not settings.REGISTRY_PAGE_CACHE or timeout() <= 0:
                return
            self._thread = threading.Thread(target=self._watch, args=(self._generation,), name="stamp-watcher", daemon=True)
            self._thread.start()

    def _connect(self) -> psycopg.Connection:
        params = connections[self.alias].get_connection_params()
        params = {key: value for key, value in params.items() if key not in ("cursor_factory", "context")}
        params["connect_timeout"] = max(2, round(settings.DATABASE_CONNECT_TIMEOUT))
        return psycopg.connect(**params, autocommit=True, application_name=self.APPLICATION_NAME)

    def _watch(self, generation: int) -> None:
        failures = 0  # consecutive failed attempts: an outage is logged once, when it starts and ends
        while self._generation == generation:
            try:
                with self._connect() as listener:
                    listener.execute(f"LISTEN {self.CHANNEL}")
                    # Listening before the first read: a write committed in between is announced.
                    self._publish(generation, self._read(listener))
                    if failures:
                        logger.warning("Data stamp watcher reconnected after %d failed attempts", failures)
                        failures = 0
                    while self._generation == generation:
                        for _ in listener.notifies(timeout=self.RECHECK_SECONDS, stop_after=1):
                            pass
                        self._publish(generation, self._read(listener))
            except Exception as error:  # any failure: forget the stamp, so readers go to the database meanwhile
                self._publish(generation, None)
                if not failures:
                    # One line per outage, not a trace per retry: the cause is outside the code.
                    logger.warning(
                        "Data stamp watcher lost its database connection (%s: %s); retrying every %gs",
                        type(error).__name__,
                        str(error).strip().splitlines()[0] if str(error).strip() else "",
                        self.RETRY_SECONDS,
                    )
                failures += 1
                time.sleep(self.RETRY_SECONDS)

    def _publish(self, generation: int, stamp: str | None) -> None:
        with self._start_lock:
            if self._generation == generation:
                self._stamp = stamp

    @staticmethod
    def _read(listener: psycopg.Connection) -> str | None:
        # A server that accepts and never answers would hold this thread, and the stamp, forever.
        with watchdog.limit(listener, settings.DATABASE_CONNECT_TIMEOUT, "the data stamp watcher"):
            row = listener.execute(STAMP_QUERY).fetchone()
        return str(row[0]) if row else None

    def stop(self) -> None:
        """End the thread and close its connection (tests); the next `current()` starts a new one."""
        with self._start_lock:
            self._pid, self._stamp = None, None
            self._generation += 1
            thread, self._thread = self._thread, None
        if thread is not None:
            with contextlib.suppress(psycopg.Error), self._connect() as waker:
                waker.execute(f"NOTIFY {self.CHANNEL}")  # wakes the thread, which sees it is stale
            thread.join(self.RECHECK_SECONDS + self.RETRY_SECONDS + 5)


stamp_watcher = StampWatcher()


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
