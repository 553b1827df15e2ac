"""Production hardening: the deploy check, security headers and CSP, error pages in both languages,
request body limits and login throttling."""

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.db.models import Count
from django.test import Client
from django.utils import timezone, translation

from tests.error_urls import SECRET_IN_THE_TRACE
from tests.i18n import chinese
from trials.models import Study


@pytest.fixture(autouse=True)
def default_language_afterwards():
    """Pages requested in Chinese leave Chinese active in this thread (LocaleMiddleware never resets
    it): later tests that render without a request must not inherit it."""
    yield
    translation.deactivate()


BASE_DIR = Path(__file__).resolve().parent.parent
CONFIG_VARIABLES = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SECURE_", "TRUSTED_PROXY_COUNT")


def production_env(**extra: str) -> dict[str, str]:
    """The environment of a production process: none of the suite's development settings leak in."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(CONFIG_VARIABLES)}
    env.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="registry.example.org", **extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, *args]
    return subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300, check=False)


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run(["-c", code], env)


# --- Deploy check and production settings -----------------------------------------------------------


def test_deploy_check_passes_with_production_settings(tmp_path):
    # The check generates the API schema, whose enums list the vocabularies: it needs a migrated
    # database (a scratch SQLite file here, whichever database the suite runs on).
    env = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}")
    migrate = run(["manage.py", "migrate", "--no-input"], env)
    assert migrate.returncode == 0, migrate.stderr

    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_production_process_without_its_secret_or_hosts_refuses_to_serve():
    env = production_env()
    del env["SECRET_KEY"], env["ALLOWED_HOSTS"]
    for entry_point in ("registry.wsgi", "registry.asgi"):
        result = run_python(f"import {entry_point}", env)
        assert result.returncode != 0
        assert "SECRET_KEY and ALLOWED_HOSTS must be set when DEBUG is off" in result.stderr


def test_management_tooling_runs_without_production_secrets():
    env = production_env()
    del env["SECRET_KEY"], env["ALLOWED_HOSTS"]
    result = run(["manage.py", "makemigrations", "--check", "--dry-run"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


PRODUCTION_REQUESTS = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client

client = Client(HTTP_HOST="registry.example.org")
secure = client.get("/api/v1/no-such-endpoint/", secure=True)
plain = client.get("/api/v1/no-such-endpoint/")
print(json.dumps({
    "secure_headers": dict(secure.headers),
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location"),
    "healthz_status": client.get("/healthz").status_code,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
}))
"""


def test_production_settings_send_hsts_and_redirect_plain_http_except_the_health_check(tmp_path):
    # An empty scratch database: /healthz answers 503 there, which is all this test needs of it.
    env = production_env(DJANGO_SETTINGS_MODULE="registry.settings", DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    result = run_python(PRODUCTION_REQUESTS, env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])

    headers = answer["secure_headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert answer["plain_status"] == 301
    assert answer["plain_location"].startswith("https://registry.example.org/")
    assert answer["healthz_status"] != 301  # load balancers probe over plain HTTP
    assert answer["session_cookie_secure"] is True and answer["csrf_cookie_secure"] is True


def test_a_local_production_mode_run_over_plain_http_is_possible(tmp_path):
    # What docker-compose.yml sets: DEBUG off, but no TLS in front.
    env = production_env(
        DJANGO_SETTINGS_MODULE="registry.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        SECURE_COOKIES="0",
        SECURE_SSL_REDIRECT="0",
    )
    result = run_python(PRODUCTION_REQUESTS, env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])

    assert answer["plain_status"] == 404
    assert answer["session_cookie_secure"] is False and answer["csrf_cookie_secure"] is False


# --- Content-Security-Policy ------------------------------------------------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";"))}


EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


@pytest.mark.parametrize("url", ["/", "/studies/", "/zh-hans/studies/", "/admin/login/", "/api/v1/studies/", "/healthz"])
def test_pages_admin_and_api_send_the_strict_content_security_policy(client, db, url):
    response = client.get(url)

    assert csp_directives(response) == EXPECTED_CSP
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_api_docs_page_allows_only_its_own_nonced_inline_code(client, db):
    response = client.get("/api/v1/docs/")
    html = response.content.decode()
    directives = csp_directives(response)
    nonce = directives["style-src"][1].removeprefix("'nonce-").removesuffix("'")

    assert response.status_code == 200
    assert directives["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert directives["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    inline_blocks = re.findall(r"<(?:style|script)(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline_blocks and all(f'nonce="{nonce}"' in attributes for attributes in inline_blocks)
    assert "unsafe-inline" not in response["Content-Security-Policy"]


class InlineCodeFinder(HTMLParser):
    """Everything a CSP without 'unsafe-inline' blocks: inline scripts and styles, style and on* attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names and dict(attrs).get("type") != "application/json":
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{tag} {name}=" for name in names if name == "style" or name.startswith("on")]


def test_public_pages_use_no_inline_scripts_or_styles(client, curated_dataset):
    accession = Study.objects.public().order_by("accession").values_list("accession", flat=True).first()
    for url in ["/", "/studies/", f"/studies/{accession}/", f"/zh-hans/studies/{accession}/", "/studies/NCR-999999/"]:
        finder = InlineCodeFinder()
        finder.feed(client.get(url).content.decode())
        assert finder.found == [], url


class InlineCodeCollector(InlineCodeFinder):
    """Also keeps the style attributes' values, which the policy may allow one by one by hash."""

    def __init__(self):
        super().__init__()
        self.style_attributes: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.style_attributes += [value or "" for name, value in attrs if name == "style"]
        super().handle_starttag(tag, [(name, value) for name, value in attrs if name != "style"])


def test_admin_pages_use_only_the_inline_styles_the_policy_hashes(admin_client, study):
    allowed = set(EXPECTED_CSP["style-src-attr"])
    pages = [
        "/admin/",
        "/admin/trials/study/",
        f"/admin/trials/study/{study.pk}/change/",
        f"/admin/trials/study/{study.pk}/history/",
        "/admin/trials/study/add/",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        collector = InlineCodeCollector()
        collector.feed(response.content.decode())
        assert collector.found == [], url
        for value in collector.style_attributes:
            digest = base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in allowed, f"{url}: style={value!r} is blocked by the CSP"


# --- Error pages ------------------------------------------------------------------------------------


def assert_no_internals(body: str) -> None:
    for leak in ("Traceback", SECRET_IN_THE_TRACE, "SECRET_KEY", "settings.py", 'File "'):
        assert leak not in body


@pytest.mark.parametrize(
    ("url", "lang", "text"),
    [("/studies/NCR-999999/", "en", "Page not found"), ("/zh-hans/studies/NCR-999999/", "zh-Hans", "Page not found")],
)
def test_404_is_the_sites_own_page_in_the_readers_language(client, db, url, lang, text):
    text = chinese(text) if lang == "zh-Hans" else text
    response = client.get(url)
    body = response.content.decode()

    assert response.status_code == 404
    assert f'<html lang="{lang}">' in body
    assert text in body
    assert_no_internals(body)


@pytest.mark.urls("tests.error_urls")
@pytest.mark.parametrize(
    ("url", "lang", "text"),
    [("/test-fail/", "en", "Something went wrong"), ("/zh-hans/test-fail/", "zh-Hans", "Something went wrong")],
)
def test_500_is_the_sites_own_page_needing_neither_database_nor_request(db, django_assert_num_queries, url, lang, text):
    text = chinese(text) if lang == "zh-Hans" else text
    client = Client(raise_request_exception=False)
    with django_assert_num_queries(0):
        response = client.get(url)
    body = response.content.decode()

    assert response.status_code == 500
    assert f'<html lang="{lang}">' in body
    assert text in body
    assert_no_internals(body)


@pytest.mark.urls("tests.error_urls")
def test_500_under_the_api_is_json(db):
    response = Client(raise_request_exception=False).get("/api/v1/test-fail/")

    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "status": 500,
            "code": "server_error",
            "message": "Something went wrong on our side. It has been logged.",
            "fields": {},
        }
    }
    assert_no_internals(response.content.decode())


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_400_is_the_sites_own_page(client, db, language):
    text = chinese("Bad request") if language == "zh-hans" else "Bad request"
    # A Host header that is not in ALLOWED_HOSTS is Django's commonest 400 (SuspiciousOperation).
    # The URL carries the language: unprefixed paths (the admin, the API) are English.
    response = client.get("/zh-hans/" if language == "zh-hans" else "/", HTTP_HOST="attacker.example")

    assert response.status_code == 400
    assert text in response.content.decode()
    assert_no_internals(response.content.decode())


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_403_for_a_form_without_its_csrf_token_is_the_sites_own_page(db, language):
    message = "The form could not be verified. Reload the page and try again; this site needs cookies to be enabled."
    text = chinese(message) if language == "zh-hans" else message
    client = Client(enforce_csrf_checks=True)

    response = client.post("/zh-hans/studies/" if language == "zh-hans" else "/studies/", {"q": "stroke"})

    assert response.status_code == 403
    assert text in response.content.decode()
    assert_no_internals(response.content.decode())


@pytest.mark.urls("tests.error_urls")
def test_403_outside_drf_is_the_sites_page_or_json_under_the_api(client, db):
    page = client.get("/test-forbidden/")
    api = client.get("/api/v1/test-forbidden/")

    assert page.status_code == 403
    assert "Access denied" in page.content.decode()
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "permission_denied"


# --- Request bodies ---------------------------------------------------------------------------------


@pytest.fixture
def curator_client(client, db):
    client.force_login(User.objects.create_superuser("curator", "curator@example.org", "unused-password-1"))
    return client


def test_an_oversize_json_body_is_refused_with_a_json_413_before_it_is_read(curator_client, settings):
    body = b'{"title": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'

    response = curator_client.post("/api/v1/studies/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_an_oversize_form_is_refused_with_the_sites_413_page(client, db, settings):
    body = "username=" + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = client.post("/admin/login/", body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert "Request too large" in response.content.decode()


def test_a_body_within_the_limit_is_accepted(curator_client):
    response = curator_client.post("/api/v1/studies/", {"title": "x" * 1000}, content_type="application/json")

    assert response.status_code == 400  # a study document needs more than a title: the service says so
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("body", [b'{"title": "unterminated', b"\xff\xfe not utf-8", b"[1, 2,]"])
def test_malformed_json_is_a_json_400(curator_client, body):
    response = curator_client.post("/api/v1/studies/", body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["status"] == 400


def test_the_largest_curated_study_fits_the_admin_form_limits(admin_client, curated_dataset, settings):
    # Its nested form posts more than Django's default limit of 1,000 fields (1,263 for NCR-000003).
    largest = (
        Study.objects.annotate(rows=Count("outcomes", distinct=True) + Count("adverse_events", distinct=True))
        .order_by("-rows")
        .first()
    )
    html = admin_client.get(f"/admin/trials/study/{largest.pk}/change/").content.decode()
    fields = len(re.findall(r"<(?:input|select|textarea)\b[^>]*\bname=", html))

    assert fields < settings.DATA_UPLOAD_MAX_NUMBER_FIELDS / 2


# --- Login throttling -------------------------------------------------------------------------------


LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def curator(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast: many sign-ins
    return User.objects.create_user("curator", "curator@example.org", "correct horse battery", is_staff=True)


def sign_in(client: Client, password: str, address: str = "203.0.113.7", **extra):
    return client.post(LOGIN, {"username": "curator", "password": password}, REMOTE_ADDR=address, **extra)


def test_five_failed_sign_ins_lock_that_username_from_that_address_for_15_minutes(client, curator):
    for _attempt in range(4):
        assert sign_in(client, "wrong").status_code == 200  # the form again, with its error

    locked = sign_in(client, "wrong")
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    assert "Sign-in paused" in locked.content.decode()
    assert "15 minutes" in locked.content.decode()

    # Even the right password is refused while locked ...
    assert sign_in(client, "correct horse battery").status_code == 429
    # ... but only for that username from that address.
    assert sign_in(Client(), "correct horse battery", address="198.51.100.20").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, curator):
    for _attempt in range(5):
        sign_in(client, "wrong")
    assert sign_in(client, "correct horse battery").status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert sign_in(client, "correct horse battery").status_code == 302


def test_a_successful_sign_in_resets_the_failure_count(client, curator):
    for _attempt in range(4):
        sign_in(client, "wrong")
    assert sign_in(client, "correct horse battery").status_code == 302
    client.logout()

    for _attempt in range(4):
        assert sign_in(client, "wrong").status_code == 200


def test_force_login_is_not_throttled(client, curator):
    for _attempt in range(5):
        sign_in(client, "wrong", address="127.0.0.1")

    client.force_login(curator)

    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [(0, "1.1.1.1", "10.0.0.2"), (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"), (2, "203.0.113.7, 10.0.0.9", "203.0.113.7")],
)
def test_the_client_address_behind_trusted_proxies(rf, settings, proxies, forwarded_for, expected):
    from trials.addresses import client_ip

    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_ip(request) == expected
