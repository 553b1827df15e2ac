"""Method hygiene and a read-only database: HTML pages answer GET and HEAD only (405 otherwise, never
the page); the API's detail URL ignores list filters; a write to a read-only database is a 503 that
says so, not a 500."""

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection

from tests import factories as f
from tests.api.conftest import minimal_document, token_client


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options", "trace"])
def test_html_pages_answer_only_get_and_head(client, db, method):
    study = f.full_study()
    for url in ("/", "/studies/", f"/studies/{study.accession}/", f"/zh-hans/studies/{study.accession}/versions/"):
        response = client.generic(method.upper(), url)
        assert response.status_code == 405, (method, url)
        assert set(response["Allow"].split(", ")) == {"GET", "HEAD"}
        assert study.title.encode() not in response.content
    assert client.head(f"/studies/{study.accession}/").status_code == 200


def test_the_detail_endpoint_ignores_list_filters(client, db):
    study = f.full_study()
    response = client.get(f"/api/v1/studies/{study.accession}/?q=nothing-matches-this")
    assert response.status_code == 200
    assert response.json()["accession"] == study.accession


def set_read_only(on: bool) -> None:
    """The database refuses writes, as a standby or a maintenance window does; reads go on. (Each statement
    of this autocommit connection is its own transaction, so the setting applies to the next one.)"""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET default_transaction_read_only = {'on' if on else 'off'}")
        else:
            cursor.execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")


@pytest.fixture
def curator_api(transactional_db):
    # By permission: the groups the migrations create may have been flushed by an earlier transactional test.
    user = User.objects.create_user("ro-curator")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_study", "change_study", "view_study"]))
    return token_client(user)


def test_a_write_to_a_read_only_database_is_a_503_that_says_so(curator_api, client):
    document = minimal_document()
    study = f.full_study()
    set_read_only(True)
    try:
        response = curator_api.post("/api/v1/studies/", document, format="json")
        reading = client.get(f"/api/v1/studies/{study.accession}/")
    finally:
        set_read_only(False)
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "database_read_only"
    assert response["Retry-After"] == "30"
    assert reading.status_code == 200  # reading goes on
