"""No input reaches a 500: crafted paths, query strings, headers and bodies, for every public and
authenticated endpoint, through the same WSGI application gunicorn serves (the page-cache front included).

The named cases come first (each was a 500 once); then Hypothesis generates the rest. Every request goes
through `registry.wsgi.application` with the environ a WSGI server builds (the raw path as Latin-1), and
a request fails the test if it is answered 5xx or if Django signals an unhandled exception at all.
`FUZZ_EXAMPLES` raises the number of examples for a deeper search (CI keeps the default).
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.test.client import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.cache import stamp_watcher

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
# Every request any test of this module made, for the figures in the closing note of the hardening work.
TRIED: dict[str, int] = {"requests": 0}


# --- Requests as a WSGI server makes them -------------------------------------------------------------


class Answer:
    def __init__(self, status: str, headers: dict, body: bytes, errors: list[BaseException]):
        self.status_code = int(status.split()[0])
        self.headers = headers
        self.body = body
        self.errors = errors

    def json(self):
        return json.loads(self.body)


def wsgi(method: str, path: str, *, query: str = "", body: bytes = b"", headers: dict | None = None) -> Answer:
    """`path` is percent-encoded, as on the request line; PATH_INFO gets its bytes read as Latin-1."""
    from urllib.parse import unquote_to_bytes

    from registry.wsgi import application

    environ = RequestFactory()._base_environ(
        PATH_INFO=unquote_to_bytes(path).decode("latin-1"),
        REQUEST_METHOD=method,
        QUERY_STRING=query,
        CONTENT_LENGTH=str(len(body)),
        **(headers or {}),
    )
    environ["wsgi.input"].__init__(body)
    errors: list[BaseException] = []

    def record(sender, request=None, **kwargs):
        import sys

        errors.append(sys.exc_info()[1])

    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    got_request_exception.connect(record)
    try:
        chunks = application(environ, start_response)
        content = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
    finally:
        got_request_exception.disconnect(record)
    TRIED["requests"] += 1
    return Answer(answer["status"], answer["headers"], content, errors)


def assert_handled(answer: Answer, what: str) -> None:
    assert not answer.errors, f"{what}: unhandled {answer.errors!r}"
    assert answer.status_code < 500, f"{what}: {answer.status_code} {answer.body[:300]!r}"


@pytest.fixture
def keep_test_connection():
    """The real WSGI handler closes "obsolete" connections around each request, and inside the test's
    transaction the connection looks obsolete (the test client disconnects the same handler)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def registry(db, settings, keep_test_connection):
    """Two studies (one with every part), a curator's token and session, throttling off, the page cache on
    (as in production)."""
    settings.API_ANON_RATE = "off"
    settings.REGISTRY_PAGE_CACHE = True
    settings.REGISTRY_CACHE_SECONDS = 60
    cache.clear()
    f.full_study()
    f.full_study(curation_state=c.CurationState.DRAFT)
    curator = User.objects.create_user("fuzz-curator", is_staff=True)
    curator.groups.add(Group.objects.get(name="curator"))
    client = Client()
    client.force_login(curator)
    study = m.Study.objects.public().order_by("accession").first()
    assert study is not None
    yield {
        "accession": study.accession,
        "study_pk": study.pk,
        "token": Token.objects.create(user=curator).key,
        "session": client.cookies["sessionid"].value,
    }
    cache.clear()
    stamp_watcher.stop()  # on PostgreSQL the front started it; its connection would keep the test database


# --- The cases that were 500s -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/studies/%E8%84%8A/",
        "/api/v1/studies/%E8%84%8A/",
        "/healthz&%E8%84%8A",
        "/studies/%F0%9F%A7%A0/",
        "/studies/%FF/",  # not UTF-8
        "/api/v1/studies/%C3%28/",
    ],
)
def test_paths_outside_latin_1_or_utf_8_are_not_found(registry, path):
    answer = wsgi("GET", path)
    assert_handled(answer, path)
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "path, query",
    [
        ("/studies/%00/", ""),
        ("/zh-hans/studies/%00/versions/", ""),
        ("/api/v1/studies/NCR-000001%00/", ""),
        ("/studies/", "q=%00"),
        ("/api/v1/studies/", "q=a%00b"),
        ("/api/v1/outcomes/", "instrument=%00"),
        ("/studies/%01x/", ""),
    ],
)
def test_nul_and_control_characters_in_a_path_or_query_are_a_400(registry, path, query):
    answer = wsgi("GET", path, query=query)
    assert_handled(answer, f"{path}?{query}")
    assert answer.status_code == 400
    if path.startswith("/api/"):
        assert answer.json()["error"]["code"] == "bad_request"


def test_nul_in_an_admin_object_id_is_a_400_not_a_database_error(registry):
    session = {"HTTP_COOKIE": f"sessionid={registry['session']}"}
    for path in ("/admin/trials/study/%00/change/", "/admin/trials/study/1%00/change/", "/admin/trials/study/%00/history/"):
        answer = wsgi("GET", path, headers=session)
        assert_handled(answer, path)
        assert answer.status_code == 400
    # A non-numeric id is "not found", as Django's admin says it.
    answer = wsgi("GET", "/admin/trials/study/abc/change/", headers=session)
    assert_handled(answer, "abc")
    assert answer.status_code == 302


def test_nul_in_a_header_cookie_or_login_form_is_a_400(registry):
    for headers in ({"HTTP_USER_AGENT": "x\x00y"}, {"HTTP_COOKIE": "sessionid=ab\x00cdefghij"}):
        answer = wsgi("GET", "/studies/", headers=headers)
        assert_handled(answer, repr(headers))
        assert answer.status_code == 400
    body = urlencode({"username": "curator\x00", "password": "x"}).encode()
    answer = wsgi("POST", "/admin/login/", body=body, headers={"CONTENT_TYPE": "application/x-www-form-urlencoded"})
    assert_handled(answer, "login form")
    assert answer.status_code == 400


def test_a_deeply_nested_json_body_is_a_400_before_it_is_parsed(registry):
    auth = {"HTTP_AUTHORIZATION": f"Token {registry['token']}", "CONTENT_TYPE": "application/json"}
    for depth in (33, 500, 100_000):
        body = b'{"title":' * 1 + b"[" * depth + b"]" * depth + b"}"
        for method, path in (("POST", "/api/v1/studies/"), ("PUT", f"/api/v1/studies/{registry['accession']}/")):
            answer = wsgi(method, path, body=body, headers=auth)
            assert_handled(answer, f"{method} depth {depth}")
            assert answer.status_code == 400
            assert "nested deeper" in answer.json()["error"]["message"]
    # Brackets inside strings are text, not nesting.
    answer = wsgi("POST", "/api/v1/studies/", body=json.dumps({"title": "[" * 1000}).encode(), headers=auth)
    assert answer.status_code == 400 and "nested" not in answer.json()["error"]["message"]


def test_a_json_string_with_nul_or_a_lone_surrogate_names_its_field(registry):
    auth = {"HTTP_AUTHORIZATION": f"Token {registry['token']}", "CONTENT_TYPE": "application/json"}
    for raw in (b'{"title": "a\\u0000b"}', b'{"title": "a\\ud800b"}'):
        answer = wsgi("POST", "/api/v1/studies/", body=raw, headers=auth)
        assert_handled(answer, raw.decode())
        assert answer.status_code == 400
        assert "title" in answer.json()["error"]["fields"]


# --- Generated inputs ---------------------------------------------------------------------------------

PUBLIC_PATHS = [
    "/",
    "/studies/",
    "/zh-hans/studies/",
    "/studies/{accession}/",
    "/zh-hans/studies/{accession}/",
    "/studies/{accession}/versions/",
    "/studies/{accession}/versions/compare/",
    "/studies/{accession}/versions/{segment}/",
    "/studies/{segment}/",
    "/api/v1/",
    "/api/v1/version/",
    "/api/v1/studies/",
    "/api/v1/studies/{accession}/",
    "/api/v1/studies/{segment}/",
    "/api/v1/studies/{accession}/versions/",
    "/api/v1/studies/{accession}/versions/{segment}/",
    "/api/v1/conditions/",
    "/api/v1/conditions/{segment}/",
    "/api/v1/cell-types/",
    "/api/v1/instruments/",
    "/api/v1/outcomes/",
    "/api/v1/adverse-events/",
    "/api/v1/{segment}/",
    "/healthz",
    "/livez",
    "/admin/login/",
    "/{segment}",
]
ADMIN_PATHS = [
    "/admin/",
    "/admin/trials/study/",
    "/admin/trials/study/{study_pk}/change/",
    "/admin/trials/study/{segment}/change/",
    "/admin/trials/study/{study_pk}/history/",
    "/admin/trials/condition/",
    "/admin/trials/instrument/{segment}/change/",
    "/admin/auth/user/",
]
QUERY_KEYS = [
    "q", "condition", "cell_type", "phase", "status", "country", "page", "page_size", "ordering", "format", "fields",
    "expand", "o", "p", "e", "year_min", "year_max", "instrument", "serious", "has_results", "lang", "_changelist_filters",
]  # fmt: skip

any_text = st.text(max_size=30)
segments = st.one_of(
    any_text.map(lambda text: quote(text, safe="")),
    st.binary(max_size=12).map(lambda raw: quote_from_bytes(raw, safe="")),
    st.sampled_from(["NCR-000001", "NCR-99999999", "1", "-1", "0", "99999999999999999999", "..", "%2e%2e", "1.5"]),
)
queries = st.lists(
    st.tuples(st.one_of(st.sampled_from(QUERY_KEYS), any_text), st.one_of(any_text, st.integers().map(str))), max_size=4
).map(lambda pairs: urlencode(pairs))
latin_1 = st.text(alphabet=st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=40)
header_sets = st.dictionaries(
    st.sampled_from(
        [
            "HTTP_ACCEPT",
            "HTTP_ACCEPT_LANGUAGE",
            "HTTP_IF_NONE_MATCH",
            "HTTP_IF_MATCH",
            "HTTP_X_FORWARDED_FOR",
            "HTTP_USER_AGENT",
            "HTTP_HX_REQUEST",
            "HTTP_ORIGIN",
            "HTTP_RANGE",
            "HTTP_IF_MODIFIED_SINCE",
        ]
    ),  # fmt: skip
    st.one_of(latin_1, st.sampled_from(["application/json", "text/csv", "*/*", "zh-Hans", '"abc"', 'W/"x"', "1.2.3.4"])),
    max_size=3,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
DOCUMENT_KEYS = [
    "title", "study_type", "phase", "overall_status", "enrollment", "enrollment_type", "start_date", "completion_date",
    "conditions", "countries", "cohorts", "adverse_events", "outcomes", "registry_ids", "lead_in_months", "accession",
    "curation_state", "follow_up_months",
]  # fmt: skip
documents = st.one_of(
    st.dictionaries(st.sampled_from(DOCUMENT_KEYS), json_values, max_size=6),
    json_values,
).map(lambda value: json.dumps(value).encode())
bodies = st.one_of(documents, st.binary(max_size=200))


def fill(template: str, registry: dict, segment: str) -> str:
    return template.format(accession=registry["accession"], study_pk=registry["study_pk"], segment=segment)


FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def test_public_endpoints_answer_every_generated_get_without_a_server_error(registry):
    @FUZZ
    @given(template=st.sampled_from(PUBLIC_PATHS), segment=segments, query=queries, headers=header_sets)
    def check(template, segment, query, headers):
        path = fill(template, registry, segment)
        for method in ("GET", "HEAD"):
            assert_handled(wsgi(method, path, query=query, headers=headers), f"{method} {path}?{query} {headers}")

    check()


def test_authenticated_endpoints_answer_every_generated_request_without_a_server_error(registry):
    token = {"HTTP_AUTHORIZATION": f"Token {registry['token']}"}
    session = {"HTTP_COOKIE": f"sessionid={registry['session']}"}

    @FUZZ
    @given(template=st.sampled_from(PUBLIC_PATHS + ADMIN_PATHS), segment=segments, query=queries, headers=header_sets)
    def reads(template, segment, query, headers):
        path = fill(template, registry, segment)
        credentials = session if path.startswith("/admin/") else token
        assert_handled(wsgi("GET", path, query=query, headers={**headers, **credentials}), f"GET {path}?{query}")

    @FUZZ
    @given(
        target=st.sampled_from(
            [
                ("POST", "/api/v1/studies/"),
                ("PUT", "/api/v1/studies/{accession}/"),
                ("PATCH", "/api/v1/studies/{accession}/"),
                ("POST", "/api/v1/studies/{accession}/submit/"),
                ("POST", "/api/v1/studies/{accession}/revision/"),
                ("PATCH", "/api/v1/studies/{segment}/"),
                ("DELETE", "/api/v1/studies/{segment}/"),
            ]
        ),
        segment=segments,
        body=bodies,
        content_type=st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain", ""]),
        headers=header_sets,
    )
    def writes(target, segment, body, content_type, headers):
        method, template = target
        path = fill(template, registry, segment)
        environ = {**headers, **token, "CONTENT_TYPE": content_type}
        assert_handled(wsgi(method, path, body=body, headers=environ), f"{method} {path} {body[:200]!r}")

    reads()
    writes()
