"""PostgreSQL with time limits (ENGINE "registry.postgresql"): Django's backend, plus the waits of
trials.database bounded, so that a database that stops answering costs a request seconds, not a worker.

Web processes (registry.serving.mark_web_process) also get a server-side `statement_timeout`; management
commands (migrations, imports, the benchmark's bulk loads) keep none.
"""

from __future__ import annotations

from django.conf import settings
from django.db.backends.postgresql import base

from registry import serving
from trials.database import watchdog


def _query_limit(execute, sql, params, many, context):
    if not serving.is_web_process():
        return execute(sql, params, many, context)
    connection = context["connection"]
    with watchdog.limit(
        connection.connection,
        settings.DATABASE_STATEMENT_TIMEOUT + settings.DATABASE_CONNECT_TIMEOUT,
        "a query",
        check_after=settings.DATABASE_HEALTH_CHECK_TIMEOUT,
        server=connection.get_connection_params,
    ):
        return execute(sql, params, many, context)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(_query_limit)

    def get_connection_params(self):
        params = super().get_connection_params()
        params.setdefault("connect_timeout", max(2, round(settings.DATABASE_CONNECT_TIMEOUT)))
        if serving.is_web_process() and settings.DATABASE_STATEMENT_TIMEOUT:
            timeout = f"-c statement_timeout={round(settings.DATABASE_STATEMENT_TIMEOUT * 1000)}"
            params["options"] = f"{params.get('options', '')} {timeout}".strip()
        return params

    def is_usable(self):
        # Django's health check before reusing a persistent connection: a healthy server answers in
        # milliseconds, so a second is generous and leaves the connect timeout to fit in the ~5 s budget.
        with watchdog.limit(self.connection, settings.DATABASE_HEALTH_CHECK_TIMEOUT, "the health check"):
            return super().is_usable()
