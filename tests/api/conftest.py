"""API test fixtures: a client per role (anonymous, read-only token, curator, reviewer) and helpers."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache, caches
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient, ForceAuthClientHandler

from tests import factories as f
from trials import choices as c


@pytest.fixture(autouse=True)
def _unthrottled(settings):
    """The suite makes hundreds of anonymous requests a minute; test_http.py lowers the rate itself."""
    settings.API_ANON_RATE = "100000/min"
    cache.clear()
    caches["ratelimit"].clear()
    yield
    cache.clear()
    caches["ratelimit"].clear()


_handler: ForceAuthClientHandler | None = None


def api_client() -> APIClient:
    """A client sharing one request handler: building the middleware (WhiteNoise indexes every static
    file) costs about a second, which every test would otherwise pay again."""
    global _handler
    client = APIClient()
    _handler = _handler or client.handler
    client.handler = _handler
    return client


def token_client(user: User) -> APIClient:
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    client.user = user
    return client


def member(username: str, group: str | None = None) -> User:
    user = User.objects.create_user(username)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def anon():
    return api_client()


@pytest.fixture
def reader(db):
    """A token whose user has no permission at all: it may read, like anyone."""
    return token_client(member("reader"))


@pytest.fixture
def curator(db):
    return token_client(member("curator-user", "curator"))


@pytest.fixture
def reviewer(db):
    return token_client(member("reviewer-user", "reviewer"))


@pytest.fixture
def published(db):
    return f.full_study()


@pytest.fixture
def draft(db):
    return f.full_study(curation_state=c.CurationState.DRAFT)


def minimal_document(**fields) -> dict:
    """The smallest valid study document, plus a cohort, an adverse event and a cell product."""
    f.ConditionFactory(slug="stroke", name="Stroke")
    f.CellTypeFactory(slug="umbilical-cord-msc", name="Umbilical cord MSC")
    document = {
        "title": "Umbilical cord MSC after ischaemic stroke",
        "study_type": "interventional",
        "phase": "phase1",
        "start_date": "2019-03",
        "completion_date": "2021",
        "conditions": [{"condition": "stroke", "detail": "acute"}],
        "countries": ["CN"],
        "cohorts": [
            {
                "label": "MSC",
                "role": "experimental",
                "n_enrolled": 10,
                "interventions": [
                    {
                        "kind": "cell_product",
                        "name": "UC-MSC",
                        "cell_type": "umbilical-cord-msc",
                        "donor": "allogeneic",
                        "route": "intravenous",
                    }
                ],
            }
        ],
        "adverse_events": [
            {"cohort": "MSC", "term": "Fever", "organ_class": "general", "serious": "no", "n_affected": 2, "n_at_risk": 10}
        ],
    }
    document.update(fields)
    return document


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def accessions(response) -> list[str]:
    return [item["accession"] for item in results(response)]
