"""Anonymous readers' pages and API answers come from the cache until the data changes, and nothing
private or personal is ever stored or served from it (trials.pagecache.PublicPageCacheMiddleware)."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.cache import data_stamp, stamp_watcher
from trials.pagecache import PublicPageCacheMiddleware
from trials.services.workflow import study_publish

pytestmark = pytest.mark.django_db

PUBLIC_URLS = ["/", "/studies/", "/studies/?condition=amyotrophic-lateral-sclerosis", "/zh-hans/studies/", "/api/v1/studies/"]


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.REGISTRY_CACHE_SECONDS = 60
    settings.REGISTRY_PAGE_CACHE = True
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_a_repeated_anonymous_request_is_one_primary_key_read(client, django_assert_num_queries, url):
    f.full_study()
    first = client.get(url)
    assert first.status_code == 200 and not first.cookies
    with django_assert_num_queries(1):  # the data stamp
        again = client.get(url)
    assert again.content == first.content
    assert again["Content-Security-Policy"] == first["Content-Security-Policy"]


def test_a_study_page_shows_an_edit_on_the_very_next_request(client):
    study = f.full_study(title="Before the correction")
    assert "Before the correction" in client.get(f"/studies/{study.accession}/").content.decode()
    m.Study.objects.filter(pk=study.pk).update(title="After the correction")
    assert "After the correction" in client.get(f"/studies/{study.accession}/").content.decode()


def test_a_publish_shows_in_lists_counts_and_the_api_at_once(client):
    f.full_study()
    reviewer = get_user_model().objects.create_user("reviewer")
    reviewer.groups.add(Group.objects.get(name="reviewer"))
    in_review = f.full_study(title="Waiting for review", curation_state=c.CurationState.IN_REVIEW)
    assert client.get("/api/v1/studies/").json()["count"] == 1
    assert "Waiting for review" not in client.get("/studies/").content.decode()
    study_publish(study=in_review, by=reviewer)
    assert client.get("/api/v1/studies/").json()["count"] == 2
    assert "Waiting for review" in client.get("/studies/").content.decode()


def test_signed_in_curators_are_never_served_the_public_copy(client, django_assert_max_num_queries):
    f.full_study()
    draft = f.full_study(title="A private draft", curation_state=c.CurationState.DRAFT)
    client.get("/api/v1/studies/")  # the anonymous answer is now cached
    curator = get_user_model().objects.create_superuser("curator", "curator@example.org", "pw-long-enough-123")
    client.force_login(curator)
    response = client.get(f"/api/v1/studies/{draft.accession}/")
    assert response.status_code == 200 and response.json()["title"] == "A private draft"
    # ...and what they see is not stored for anyone else.
    client.logout()
    anonymous = client.get(f"/api/v1/studies/{draft.accession}/")
    assert anonymous.status_code == 404


def test_a_request_with_credentials_goes_to_the_view(client):
    f.full_study()
    assert client.get("/api/v1/studies/").status_code == 200
    # Not the cached public copy: the view checks the token, and refuses a wrong one.
    assert client.get("/api/v1/studies/", HTTP_AUTHORIZATION="Token not-a-real-token").status_code == 401


def test_variants_are_kept_apart(client):
    f.full_study()
    full = client.get("/studies/").content.decode()
    partial = client.get("/studies/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" in full and "<html" not in partial
    assert "<html" in client.get("/studies/").content.decode()
    english = client.get("/api/v1/vocabularies/", HTTP_ACCEPT_LANGUAGE="en").content
    chinese = client.get("/api/v1/vocabularies/", HTTP_ACCEPT_LANGUAGE="zh-hans").content
    assert client.get("/api/v1/vocabularies/", HTTP_ACCEPT_LANGUAGE="en").content == english
    assert client.get("/api/v1/vocabularies/", HTTP_ACCEPT_LANGUAGE="zh-hans").content == chinese


def test_conditional_requests_still_get_304(client):
    study = f.full_study()
    first = client.get(f"/api/v1/studies/{study.accession}/")
    again = client.get(f"/api/v1/studies/{study.accession}/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_errors_the_admin_and_health_are_not_cached(client, django_assert_num_queries):
    f.full_study()
    for url in ["/studies/NCR-999999/", "/healthz", "/admin/login/", "/api/v1/docs/"]:
        client.get(url)
        second = client.get(url)
        assert second.status_code in (200, 404), url
    with django_assert_num_queries(2):  # /healthz checks the database every time
        client.get("/healthz")
        client.get("/healthz")


def test_off_while_developing(client, settings, django_assert_max_num_queries):
    settings.REGISTRY_PAGE_CACHE = False
    f.full_study()
    client.get("/studies/")
    with django_assert_max_num_queries(100) as captured:
        client.get("/studies/")
    assert len(captured) > 1


def test_the_api_docs_get_a_new_csp_nonce_every_time(client):
    first, second = client.get("/api/v1/docs/"), client.get("/api/v1/docs/")
    assert "nonce-" in first["Content-Security-Policy"]
    assert first["Content-Security-Policy"] != second["Content-Security-Policy"]


def test_readers_missing_the_same_page_at_once_wait_for_one_computation(rf, monkeypatch):
    """After a publish every reader misses at once: one thread computes the page, the others get its copy."""
    computed = []

    def view(request):
        computed.append(request)
        time.sleep(0.2)
        return HttpResponse("the page")

    middleware = PublicPageCacheMiddleware(view)
    monkeypatch.setattr(middleware, "cache_key", lambda request: "ncr-page:test-stampede")
    with ThreadPoolExecutor(max_workers=6) as pool:
        bodies = list(pool.map(lambda _: middleware(rf.get("/studies/")).content, range(6)))
    assert bodies == [b"the page"] * 6
    assert len(computed) == 1
    assert not middleware._locks, "no lock is kept once nobody waits"


# The WSGI front (registry.wsgi): hits answered from memory, without Django or the database.


def wsgi_get(rf, url: str, **headers) -> tuple[str, dict, bytes]:
    from registry.wsgi import application

    answer = {}

    def start_response(status, response_headers):
        answer["status"], answer["headers"] = status, dict(response_headers)

    body = application(rf.get(url, **headers).environ, start_response)
    content = b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return answer["status"], answer["headers"], content


@pytest.fixture
def watcher(monkeypatch):
    # Longer than any wait below: what updates the stamp in these tests is the database's notification.
    monkeypatch.setattr(stamp_watcher, "RECHECK_SECONDS", 60)
    stamp_watcher.stop()
    yield stamp_watcher
    stamp_watcher.stop()  # its connection would keep the test database from being dropped


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite cannot notify: the front hands every request to Django"
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_front_answers_a_hit_without_a_query_and_sees_a_commit_at_once(rf, watcher, django_assert_num_queries):
    study = f.full_study(title="Before the correction")
    url = f"/api/v1/studies/{study.accession}/"
    status, headers, first = wsgi_get(rf, url)  # a miss: Django computes and stores it
    assert status == "200 OK" and b"Before the correction" in first
    assert wait_for(lambda: watcher.current() == data_stamp())
    with django_assert_num_queries(0):
        status, again_headers, again = wsgi_get(rf, url)
    assert status == "200 OK" and again == first
    assert again_headers["Content-Type"] == headers["Content-Type"]
    assert int(again_headers["Content-Length"]) == len(again)

    m.Study.objects.filter(pk=study.pk).update(title="After the correction")  # committed: autocommit
    assert wait_for(lambda: watcher.current() == data_stamp()), "the commit was announced"
    assert b"After the correction" in wsgi_get(rf, url)[2]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_front_never_serves_the_public_copy_to_a_signed_in_or_conditional_request(rf, watcher, django_assert_max_num_queries):
    study = f.full_study()
    url = f"/studies/{study.accession}/"
    wsgi_get(rf, url)
    assert wait_for(lambda: watcher.current() == data_stamp())
    for headers in ({"HTTP_COOKIE": "sessionid=x"}, {"HTTP_AUTHORIZATION": "Token x"}, {"HTTP_IF_NONE_MATCH": '"x"'}):
        with django_assert_max_num_queries(50) as queries:
            wsgi_get(rf, url, **headers)
        assert len(queries) >= 1, f"{headers} went to Django"
    status, _, _ = wsgi_get(rf, url, HTTP_HOST="evil.example")
    assert status.startswith("400")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_without_its_connection_the_front_hands_requests_to_django_until_it_reconnects(rf, watcher):
    study = f.full_study()
    url = f"/studies/{study.accession}/"
    wsgi_get(rf, url)
    assert wait_for(lambda: watcher.current() == data_stamp())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", [watcher.APPLICATION_NAME]
        )
    assert wait_for(lambda: watcher.current() is None, 3), "a lost connection forgets the stamp"
    m.Study.objects.filter(pk=study.pk).update(title="Changed while the watcher was away")
    assert b"Changed while the watcher was away" in wsgi_get(rf, url)[2]  # Django read the stamp itself
    assert wait_for(lambda: watcher.current() == data_stamp(), 5), "it reconnects"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_on_sqlite_the_front_hands_every_request_to_django(rf, watcher, django_assert_num_queries):
    study = f.full_study()
    url = f"/api/v1/studies/{study.accession}/"
    first = wsgi_get(rf, url)
    assert watcher.current() is None
    with django_assert_num_queries(1):  # the middleware's hit: it reads the stamp
        again = wsgi_get(rf, url)
    assert again[2] == first[2]


def test_with_the_page_cache_off_nothing_is_watched(watcher, settings):
    settings.REGISTRY_PAGE_CACHE = False
    assert watcher.current() is None
    assert watcher._thread is None


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/studies/脊/", "/api/v1/studies/脊/", "/healthz&脊", "/studies/🧠/", "/zh-hans/studies/脊髓/"])
def test_the_front_hands_a_path_outside_latin_1_to_django_as_it_came(rf, watcher, path):
    """The front builds its request on a copy of the environ: Django must decode the raw path itself
    (a second decode of an already decoded path was a 500 for every Chinese URL)."""
    f.full_study()
    wsgi_get(rf, "/studies/")
    assert wait_for(lambda: watcher.current() == data_stamp())
    status, _, _ = raw_wsgi_get(path)
    assert status.startswith("404")


def raw_wsgi_get(path: str) -> tuple[str, dict, bytes]:
    """GET `path` with the environ a WSGI server builds: PATH_INFO the raw bytes, read as Latin-1.
    (RequestFactory's `.environ` has already been through Django, which rewrites PATH_INFO.)"""
    from django.test.client import RequestFactory

    from registry.wsgi import application

    environ = RequestFactory()._base_environ(PATH_INFO=path.encode().decode("latin-1"), REQUEST_METHOD="GET")
    answer = {}

    def start_response(status, response_headers):
        answer["status"], answer["headers"] = status, dict(response_headers)

    body = application(environ, start_response)
    content = b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return answer["status"], answer["headers"], content
