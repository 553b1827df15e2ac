"""A URLconf for tests only (`@pytest.mark.urls("tests.error_urls")`): the site's URLs, its error
handlers, and views that fail on purpose."""

from django.conf.urls.i18n import i18n_patterns
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.urls import path

from registry.urls import handler400, handler403, handler404, handler500  # noqa: F401 (Django looks them up here)
from registry.urls import urlpatterns as site_urlpatterns

SECRET_IN_THE_TRACE = "do-not-show-this-detail"


def fail(request):
    raise RuntimeError(SECRET_IN_THE_TRACE)


def forbidden(request):
    raise PermissionDenied


def missing_table(request):
    """A query that fails on a reachable database (SQLite says OperationalError): a bug, not an outage."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM trials_no_such_table")


urlpatterns = [
    # Before the site's patterns: those end with a catch-all for /api/.
    path("api/v1/test-fail/", fail),
    path("api/v1/test-forbidden/", forbidden),
    path("test-forbidden/", forbidden),
    path("test-missing-table/", missing_table),
    *i18n_patterns(path("test-fail/", fail), prefix_default_language=False),
    *site_urlpatterns,
]
