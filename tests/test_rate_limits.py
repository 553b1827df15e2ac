"""Rate limits that hold: one counter per client address shared by every gunicorn worker (Redis), the
client's address read by the same rule as login throttling, and a 429 that says when to come back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.test import RequestFactory

from trials.addresses import client_ip

BASE_DIR = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, **headers: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": "registry.example.org", **headers})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


@pytest.fixture
def gunicorn(tmp_path):
    """Three workers sharing Redis, as production runs. The throttle decides before a view reads anything,
    so the database is left unreachable: a request let through is answered (503 here), a refused one 429."""
    servers: list[subprocess.Popen] = []

    def start(**extra: str) -> int:
        port = free_port()
        env = {
            key: value for key, value in os.environ.items() if not key.startswith(("DEBUG", "TRUSTED_PROXY_COUNT", "API_ANON"))
        }
        env.update(
            DEBUG="0",
            SECRET_KEY=uuid.uuid4().hex * 2,
            ALLOWED_HOSTS="registry.example.org",
            SECURE_SSL_REDIRECT="0",
            SECURE_COOKIES="0",
            DATABASE_URL=f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}",
            REGISTRY_PAGE_CACHE="0",
            REDIS_URL=REDIS_URL,
            REDIS_KEY_PREFIX=f"ncr-test-{uuid.uuid4().hex}",
        )
        env.setdefault("API_ANON_RATE", "12/min")
        env.update(extra)
        command = [sys.executable, "-m", "gunicorn", "registry.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "3"]
        servers.append(subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if get(port, "/livez")[0] == 200:
                    return port
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not start")

    yield start
    for server in servers:
        server.send_signal(signal.SIGTERM)
        server.wait(15)


@pytest.mark.skipif(not redis_reachable(), reason="needs Redis on 127.0.0.1:6379")
def test_the_anonymous_limit_holds_across_three_workers_and_forged_forwarded_for(gunicorn):
    port = gunicorn()
    statuses, retry_after = [], []
    for index in range(36):  # a new connection each: the requests spread over the workers
        # A client making up X-Forwarded-For: ignored, as no proxy is trusted (TRUSTED_PROXY_COUNT=0).
        status, headers = get(port, f"/api/v1/version/?n={index}", **{"X-Forwarded-For": f"10.0.{index}.1"})
        statuses.append(status)
        if status == 429:
            retry_after.append(int(headers["Retry-After"]))
    assert sum(status != 429 for status in statuses) == 12, statuses
    assert statuses.count(429) == 24
    assert all(0 < seconds <= 61 for seconds in retry_after)


@pytest.mark.skipif(not redis_reachable(), reason="needs Redis on 127.0.0.1:6379")
def test_behind_one_trusted_proxy_each_client_is_counted_by_the_address_the_proxy_appended(gunicorn):
    port = gunicorn(TRUSTED_PROXY_COUNT="1", API_ANON_RATE="3/min")
    # The proxy appends the client's address; whatever the client wrote before it is not trusted.
    first = [get(port, f"/api/v1/version/?a={i}", **{"X-Forwarded-For": f"1.1.1.{i}, 203.0.113.7"})[0] for i in range(5)]
    second = [get(port, f"/api/v1/version/?b={i}", **{"X-Forwarded-For": "203.0.113.8"})[0] for i in range(5)]
    assert first.count(429) == 2 and second.count(429) == 2, (first, second)


def test_login_and_api_read_the_client_address_by_one_rule(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.7"
    assert settings.AXES_CLIENT_IP_CALLABLE == "trials.addresses.client_ip"
    from trials.api import throttling

    assert throttling.client_ip is client_ip
