"""A database that hangs is answered in seconds: time limits on every wait for PostgreSQL.

Three waits can hang when the database stops answering while its port still accepts connections (a
frozen server, a proxy in front of a dead one, a half-open network path):

- connecting: bounded by libpq's own `connect_timeout` (settings.DATABASE_CONNECT_TIMEOUT);
- the health check Django runs when it reuses a persistent connection (`SELECT 1`): a healthy server
  answers it in milliseconds, so it is cut after DATABASE_HEALTH_CHECK_TIMEOUT;
- a query on a connection that was fine a moment ago. The server's `statement_timeout` ends a slow
  query, but only a server that answers can end it, and the socket waits without a timeout of its own.
  A query still waiting after DATABASE_HEALTH_CHECK_TIMEOUT is therefore checked on: the watchdog
  opens a new connection to the same server (bounded by the connect timeout). A server that accepts it
  is alive and merely busy, and the query keeps its statement_timeout; one that does not answer is
  hung, and the query is cut.

To cut a wait, `QueryWatchdog`'s thread (one per process) shuts the connection's socket down: the
waiting thread gets "server closed the connection", the connection is marked broken, and the request is
answered 503 with Retry-After (trials.middleware.DatabaseUnavailableMiddleware) instead of hanging until
the worker is killed. The server itself is not touched: a cancel request would hang the same way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class _Wait:
    deadline: float
    raw: Any  # the psycopg connection waited on
    what: str
    # For a query: when to check whether the server still answers, and how to reach it.
    check_at: float | None = None
    server: Callable[[], dict] | None = field(default=None, repr=False)


class QueryWatchdog:
    TICK_SECONDS = 0.1

    def __init__(self) -> None:
        self._waits: dict[object, _Wait] = {}
        self._lock = threading.Lock()
        self._pid: int | None = None
        self.severed = 0  # connections cut since the process started (tests, logs)

    @contextlib.contextmanager
    def limit(
        self,
        raw_connection: Any,
        seconds: float | None,
        what: str,
        *,
        check_after: float | None = None,
        server: Callable[[], dict] | None = None,
    ) -> Iterator[None]:
        """Within this block, a wait on `raw_connection` (a psycopg connection) is cut after `seconds`, or
        after `check_after` if by then `server()` (connection parameters) does not accept a connection."""
        if not seconds or raw_connection is None:
            yield
            return
        self._ensure_thread()
        now = time.monotonic()
        token = object()
        check_at = now + check_after if check_after and server is not None and check_after < seconds else None
        self._waits[token] = _Wait(now + seconds, raw_connection, what, check_at, server)
        try:
            yield
        finally:
            self._waits.pop(token, None)

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._waits.clear()  # a forked child inherits the parent's entries, not its connections
            self._pid = os.getpid()
            threading.Thread(target=self._run, args=(self._pid,), name="db-watchdog", daemon=True).start()

    def _run(self, pid: int) -> None:
        while self._pid == pid:
            time.sleep(self.TICK_SECONDS)
            try:
                self._tick()
            except Exception:  # the watchdog must outlive anything it watches
                logger.exception("Database watchdog tick failed")

    def _tick(self) -> None:
        now = time.monotonic()
        answers: dict[tuple, bool] = {}  # one check per server per tick, however many queries wait on it
        for token, wait in list(self._waits.items()):
            if now >= wait.deadline:
                self._cut(token, wait)
            elif wait.check_at is not None and now >= wait.check_at and wait.server is not None:
                wait.check_at = None
                params = wait.server()
                key = tuple(sorted((k, str(v)) for k, v in params.items() if k in ("host", "port", "dbname", "user")))
                if key not in answers:
                    answers[key] = self._answers(params)
                if not answers[key]:
                    self._cut(token, wait)

    @staticmethod
    def _answers(params: dict) -> bool:
        params = {key: value for key, value in params.items() if key not in ("cursor_factory", "context", "options")}
        try:
            psycopg.connect(**params, autocommit=True, application_name="db-watchdog").close()
        except psycopg.Error:
            return False
        return True

    def _cut(self, token: object, wait: _Wait) -> None:
        if self._waits.pop(token, None) is None:
            return  # it ended meanwhile
        try:
            fd = wait.raw.pgconn.socket
        except Exception:  # already closed: nothing is waiting on it
            return
        self.severed += 1  # before the cut: the thread it wakes may look at once
        # shutdown() acts on the socket, not the descriptor: the duplicate wakes the thread blocked on it.
        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        logger.error("Database did not answer %s in time: connection cut, the request is answered 503", wait.what)


watchdog = QueryWatchdog()
