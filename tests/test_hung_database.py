"""A database that accepts connections and never answers: the site answers 503 with Retry-After within
seconds, its workers survive, and it recovers by itself.

The fault is injected from outside, by a TCP proxy in front of PostgreSQL (tests/tcp_proxy.py) that is
told to hang; the application is told nothing. The first tests drive Django in this process; the last
one runs gunicorn, as in production, and writes through the API before, during and after the fault.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from rest_framework.authtoken.models import Token

from tests import factories as f
from tests.api.conftest import minimal_document
from tests.tcp_proxy import HangingProxy
from trials import models as m

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="a TCP fault: PostgreSQL only")

BASE_DIR = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 5.0  # the 503 must come within this


@pytest.fixture
def proxy():
    settings_dict = connections["default"].settings_dict
    proxy = HangingProxy(settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432))
    yield proxy
    proxy.close()


@pytest.fixture
def through_proxy(transactional_db, proxy):
    """The default connection goes through the proxy; the test's own connection is set aside meanwhile
    and restored afterwards (the database is flushed through it)."""
    conn = connections["default"]
    saved_settings, saved_connection = dict(conn.settings_dict), conn.connection
    conn.connection = None
    conn.settings_dict.update(HOST="127.0.0.1", PORT=str(proxy.port))
    yield conn
    proxy.heal()
    if conn.connection is not None and conn.connection is not saved_connection:
        with contextlib.suppress(Exception):  # cut by the watchdog: already unusable
            conn.connection.close()
    conn.settings_dict.clear()
    conn.settings_dict.update(saved_settings)
    conn.connection = saved_connection


def timed_get(client, url: str):
    started = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - started


def test_a_database_that_accepts_and_never_answers_is_a_503_with_retry_after_within_seconds(client, proxy, through_proxy):
    client.get("/livez")  # the first request builds the middleware (WhiteNoise indexes static files): not the budget's
    proxy.hang()
    for url in ("/api/v1/studies/?q=stroke", "/studies/NCR-000001/", "/healthz"):
        response, seconds = timed_get(client, url)
        assert response.status_code == 503, url
        assert response["Retry-After"] == "30", url
        assert seconds < BUDGET_SECONDS, f"{url} took {seconds:.1f}s"
    response, seconds = timed_get(client, "/livez")  # liveness never asks the database
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert seconds < 0.5

    proxy.heal()
    assert client.get("/healthz").status_code == 200  # no restart needed


def test_a_connection_that_stops_answering_mid_request_is_cut_and_answered_503(
    client, proxy, through_proxy, settings, monkeypatch
):
    from registry import serving
    from trials.database import watchdog

    # As in a web process, with the limits short enough for a test: cut after 1 + 2 seconds.
    monkeypatch.setattr(serving, "_web_process", True)
    settings.DATABASE_STATEMENT_TIMEOUT, settings.DATABASE_CONNECT_TIMEOUT = 1, 2
    f.full_study()
    assert client.get("/api/v1/studies/").status_code == 200  # the connection is open and answering
    severed = watchdog.severed

    proxy.hang()
    response, seconds = timed_get(client, "/api/v1/studies/?q=anything")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "database_unavailable"
    assert seconds < BUDGET_SECONDS
    assert watchdog.severed == severed + 1

    proxy.heal()
    assert client.get("/api/v1/studies/").status_code == 200


# --- gunicorn, as in production -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    def __init__(self, port: int, token: str):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 20) -> tuple[int, dict, bytes, float]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Host", "registry.example.org")
        if body is not None:
            request.add_header("Content-Type", "application/json")
            request.add_header("Authorization", f"Token {self.token}")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read(), time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read(), time.monotonic() - started


def test_gunicorn_answers_a_hung_database_with_503s_in_seconds_keeps_its_workers_and_loses_no_acknowledged_write(
    transactional_db, proxy
):
    # A superuser: the groups the migrations create are flushed away by earlier transactional tests.
    curator = User.objects.create_superuser("hang-curator", "curator@example.org", None)
    token = Token.objects.create(user=curator).key
    document = minimal_document()
    f.full_study()
    settings_dict = connections["default"].settings_dict
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=uuid.uuid4().hex * 2,
        ALLOWED_HOSTS="registry.example.org",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        DATABASE_URL=f"postgres://{settings_dict['USER']}@127.0.0.1:{proxy.port}/{settings_dict['NAME']}",
        API_ANON_RATE="off",
        REGISTRY_PAGE_CACHE="1",
        REGISTRY_CACHE_SECONDS="60",
        LOG_LEVEL="WARNING",
    )
    log_path = BASE_DIR / f".gunicorn-hang-{port}.log"
    command = [sys.executable, "-m", "gunicorn", "registry.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    command += ["--timeout", "30", "--graceful-timeout", "2"]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    site = Site(port, token)
    figures = {"faults": 0, "requests_during_fault": 0, "acknowledged": 0, "lost": 0}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if site.request("GET", "/livez", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        acknowledged: list[str] = []

        def write(title: str) -> tuple[int, dict, bytes, float]:
            answer = site.request("POST", "/api/v1/studies/", {**document, "title": title})
            if answer[0] == 201:
                acknowledged.append(json.loads(answer[2])["accession"])
            return answer

        # Before: reads and writes answer.
        assert site.request("GET", "/api/v1/studies/?q=before")[0] == 200
        assert all(write(f"Before the fault {i}")[0] == 201 for i in range(3))

        # The fault, while a client keeps writing: its write in flight is acknowledged (and kept) or
        # refused, never left hanging.
        stop = threading.Event()
        background: list[tuple[int, float]] = []

        def keep_writing():
            while not stop.is_set():
                status, _headers, _body, seconds = write(f"Racing the fault {uuid.uuid4().hex[:8]}")
                background.append((status, seconds))

        writer = threading.Thread(target=keep_writing)
        writer.start()
        time.sleep(0.5)
        proxy.hang()
        stop.set()
        writer.join(30)
        figures["faults"] = proxy.faults
        assert all(status in (201, 503) and seconds < BUDGET_SECONDS + 0.5 for status, seconds in background), background

        # During it: every request that needs the database is a 503 with Retry-After within the budget
        # (two clients for two workers: the time measured is the server's, not a queue's).
        calls = [("GET", f"/api/v1/studies/?q={uuid.uuid4().hex[:6]}", None) for _ in range(4)]
        calls += [("POST", "/api/v1/studies/", {**document, "title": f"Sent during the fault {i}"}) for i in range(2)]
        calls += [("GET", f"/api/v1/studies/{acknowledged[0]}/", None), ("GET", "/healthz", None)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(lambda call: site.request(*call), calls))
        figures["requests_during_fault"] = len(answers) + 1  # and the racing write in flight
        figures["slowest_503_seconds"] = round(max(answer[3] for answer in answers), 2)
        for (method, path, _), (status, headers, _body, seconds) in zip(calls, answers, strict=True):
            assert status == 503, f"{method} {path}: {status}"
            assert headers.get("Retry-After") == "30", f"{method} {path}"
            assert seconds < BUDGET_SECONDS + 0.5, f"{method} {path} took {seconds:.1f}s"
        status, _headers, _body, seconds = site.request("GET", "/livez")
        assert status == 200 and seconds < 1.0

        # Recovery, without a restart.
        proxy.heal()
        recovered = time.monotonic()
        while site.request("GET", f"/api/v1/studies/?q={uuid.uuid4().hex[:6]}")[0] != 200:
            assert time.monotonic() - recovered < 10, "the site recovers by itself"
            time.sleep(0.1)
        assert site.request("GET", "/healthz")[0] == 200
        assert write("After the fault")[0] == 201
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(15)
        log_text = log_path.read_text(errors="replace")
        log_path.unlink()

    figures["acknowledged"] = len(acknowledged)
    figures["lost"] = len(
        set(acknowledged) - set(m.Study.objects.filter(accession__in=acknowledged).values_list("accession", flat=True))
    )
    print(f"\nhung-database figures: {figures}")
    assert figures["lost"] == 0, figures
    assert "WORKER TIMEOUT" not in log_text, log_text[-3000:]
    assert len(re.findall(r"Booting worker", log_text)) == 2, "no worker was killed and replaced"
    assert "Traceback" not in log_text, log_text[-3000:]
    # The stamp watcher: one line per outage and process, not one per retry.
    assert len(re.findall(r"Data stamp watcher lost its database connection", log_text)) <= 2, log_text[-3000:]
