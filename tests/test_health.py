"""/healthz, and what every page does while the database is unreachable and after it returns.

The outage is real, not mocked: the default connection is pointed at a database that cannot be
reached (a closed port for PostgreSQL, a file in a missing directory for SQLite), so Django's own
connect fails exactly as it does when the server is down.
"""

import socket

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.utils import translation

from tests import factories as f
from tests.i18n import chinese


@pytest.fixture(autouse=True)
def default_language_afterwards():
    """Pages requested in Chinese leave Chinese active in this thread (LocaleMiddleware never resets
    it): later tests that render without a request must not inherit it."""
    yield
    translation.deactivate()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


class DatabaseOutage:
    """`start()` takes the database away, `end()` brings it back, as a database server restart would:
    the application is told nothing.

    The open connection is set aside rather than closed, because closing SQLite's in-memory test
    database would destroy it; `cleanup()` puts it back.
    """

    def __init__(self):
        self.conn = connections["default"]
        self.saved_settings = dict(self.conn.settings_dict)
        self.saved_connection = None

    def start(self) -> None:
        self.conn.ensure_connection()
        self.saved_connection = self.conn.connection
        if self.conn.vendor == "sqlite":
            self.conn.settings_dict["NAME"] = "/nonexistent-ncr-directory/registry.sqlite3"
        else:
            self.conn.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
        self.conn.connection = None

    def end(self) -> None:
        self.conn.settings_dict.clear()
        self.conn.settings_dict.update(self.saved_settings)

    def cleanup(self) -> None:
        self.end()
        if self.saved_connection is None:
            return
        if self.conn.connection is None:
            self.conn.connection = self.saved_connection
        else:
            self.saved_connection.close()


@pytest.fixture
def outage(transactional_db):
    # transactional_db: a test transaction cannot survive its connection going away.
    outage = DatabaseOutage()
    yield outage
    outage.cleanup()


def test_healthz_reports_ok_with_the_public_study_count(client, db):
    f.StudyFactory.create_batch(2)
    f.StudyFactory(curation_state="draft")

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "studies": 2}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_is_unreachable(client, outage):
    outage.start()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}
    assert response["Retry-After"] == "30"


def test_pages_admin_and_api_answer_a_friendly_503_while_the_database_is_down(client, outage):
    f.StudyFactory(accession="NCR-000001")
    client.force_login(User.objects.create_superuser("curator", "curator@example.org", "unused-password-1"))
    outage.start()

    pages = {
        "/studies/": "Temporarily unavailable",
        "/studies/NCR-000001/": "Temporarily unavailable",
        "/zh-hans/studies/NCR-000001/": chinese("Temporarily unavailable"),
        "/admin/trials/study/": "Temporarily unavailable",  # the session itself is in the database
    }
    for url, text in pages.items():
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code == 503, url
        assert response["Content-Type"].startswith("text/html"), url
        assert response["Retry-After"] == "30", url
        assert text in body, url
        assert "Traceback" not in body and "Error" not in body, url

    response = client.get("/api/v1/studies/NCR-000001/")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response["Retry-After"] == "30"


def test_the_site_recovers_by_itself_when_the_database_returns(client, outage):
    f.StudyFactory(accession="NCR-000001")
    outage.start()
    assert client.get("/healthz").status_code == 503
    assert client.get("/studies/NCR-000001/").status_code == 503

    outage.end()  # nothing else: no restart, no reconnect call

    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "studies": 1}
    assert client.get("/studies/NCR-000001/").status_code == 200
    assert client.get("/api/v1/studies/NCR-000001/").json()["accession"] == "NCR-000001"


@pytest.mark.urls("tests.error_urls")
def test_a_failing_query_on_a_reachable_database_is_a_500_not_an_outage(db):
    # SQLite reports a missing table as OperationalError, the same class as "cannot connect".
    from django.test import Client

    response = Client(raise_request_exception=False).get("/test-missing-table/")

    assert response.status_code == 500
