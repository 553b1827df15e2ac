"""`manage.py api_token`: issue, rotate and revoke the tokens integrators send as `Authorization: Token <key>`."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from tests.api.conftest import api_client, member


def api_token(*args) -> str:
    out = io.StringIO()
    call_command("api_token", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_issue_prints_only_the_key_and_is_idempotent(db):
    user = member("integrator", "curator")
    key = api_token("issue", "integrator")
    assert key == Token.objects.get(user=user).key
    assert api_token("issue", "integrator") == key


def test_issued_token_writes_with_the_users_role(db):
    member("integrator", "curator")
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token('issue', 'integrator')}")
    assert client.delete("/api/v1/studies/NCR-000001/").status_code == 404  # authorised; no such study


def test_rotate_replaces_the_key(db):
    member("integrator")
    old = api_token("issue", "integrator")
    new = api_token("issue", "integrator", "--rotate")
    assert new != old
    assert list(Token.objects.values_list("key", flat=True)) == [new]


def test_revoke_ends_access(db):
    member("integrator", "curator")
    key = api_token("issue", "integrator")
    api_token("revoke", "integrator")
    assert not Token.objects.exists()
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/studies/").status_code == 401


def test_unknown_or_inactive_users_get_no_token(db):
    with pytest.raises(CommandError, match="No user"):
        api_token("issue", "nobody")
    user = member("former")
    user.is_active = False
    user.save()
    with pytest.raises(CommandError, match="inactive"):
        api_token("issue", "former")


def test_tokens_are_listed_in_the_admin(db, client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("boss", password="x" * 12))
    member("integrator")
    api_token("issue", "integrator")
    response = client.get("/admin/authtoken/tokenproxy/")
    assert response.status_code == 200
    assert b"integrator" in response.content
