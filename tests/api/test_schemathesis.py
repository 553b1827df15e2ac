"""Property-based run of the published OpenAPI schema against the app itself (schemathesis, in-process WSGI).

Every operation of /api/v1/schema/ gets generated requests, valid and invalid, signed in as a reviewer
so that writes run the whole write path. Every response must have a documented status, content type
and body, and none may be a server error.

The schema is loaded inside the test rather than with `schemathesis.pytest.from_fixture`: the lazy
fixture loader of schemathesis 4 relies on a pytest node attribute that pytest 9.2 removed, and the
schema cannot be loaded at import time because generating it reads the vocabularies from the test
database. Each operation's cases come from schemathesis's own Hypothesis strategy instead.
"""

import os

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.api.conftest import member

# Enough to run in well under a minute; SCHEMATHESIS_EXAMPLES=200 for a deeper search.
EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))


def acceptance_is_undecidable(case) -> bool:
    """Requests whose validity depends on more than OpenAPI 3.0 can state.

    A study document's rules span fields and rows (completion after start, a cohort label that exists,
    a slug of the vocabulary ...), and `expand=children` changes which keys `fields` may name and is
    JSON only. `near` names a place the offline gazetteer must know (an unknown one is a 400 naming it).
    For these, "valid per the schema" neither means acceptable nor the reverse; every other check still
    applies.
    """
    return case.method in ("POST", "PUT", "PATCH") or bool({"expand", "near"} & set(case.query or {}))


def run(operation, mode: GenerationMode, token: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case):
        excluded = [positive_data_acceptance, negative_data_rejection] if acceptance_is_undecidable(case) else []
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=excluded)

    check()


@pytest.fixture
def keep_test_connection():
    """The real WSGI handler closes "obsolete" connections around each request, and inside the test's
    transaction the connection looks obsolete: PostgreSQL would lose the test data (Django's test
    client disconnects the same signal handler for the same reason)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_test_connection")
def test_api_conforms_to_its_schema():
    call_command("import_studies", verbosity=0)  # real vocabularies and studies to find
    token = Token.objects.create(user=member("schemathesis", "reviewer")).key
    from registry.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16

    failures = []
    for operation in operations:
        # Invalid requests need something to get wrong: a query or path parameter, or a body.
        invalid_possible = bool(len(operation.query) or len(operation.path_parameters) or len(operation.body))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if invalid_possible else (GenerationMode.POSITIVE,):
            try:
                run(operation, mode, token)
            except Exception as error:  # collected, so that one run reports every operation at fault
                failures.append(f"{operation.label} [{mode}]:\n{error}")
    assert not failures, "\n\n".join(failures)
