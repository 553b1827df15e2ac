import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_assign_role_gives_and_takes_roles(db):
    User.objects.create_user("li")
    assert run("assign_role", "li", "reviewer") == "li: reviewer\n"
    user = User.objects.get(username="li")
    assert user.is_staff and user.has_perm("trials.publish_study")
    run("assign_role", "li", "reviewer", "--remove")
    user = User.objects.get(username="li")
    assert not user.is_staff and not user.has_perm("trials.publish_study")


def test_assign_role_refuses_unknown_users_unless_asked_to_create(db):
    with pytest.raises(CommandError, match="No user"):
        run("assign_role", "ghost", "curator")
    assert run("assign_role", "ghost", "curator", "--create") == "ghost: curator\n"


def test_ensure_curator_is_idempotent(db):
    first = run("ensure_curator")
    assert "Created the local curator account" in first
    second = run("ensure_curator")
    assert "Created" not in second
    assert User.objects.filter(username="curator", is_superuser=True).count() == 1
