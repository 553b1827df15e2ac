"""A stateful schemathesis run, signed in as a curator, with writes.

Schemathesis infers links from the schema, but only into the operations they target: creating a study
is never a starting point, so its own state machine only ever posts comments to made-up accessions. The
machine here is Hypothesis's, the requests are schemathesis's: studies are created through the API (a
valid document half the time, a generated one otherwise) and kept in a bundle, then any operation on a
study is called on one of them, with its current ETag as If-Match half the time, interleaved with the
operations that name no study. Every response must be no server error and must conform to the schema.

Against the app itself (in-process WSGI, the page-cache front included), throttling off. Bounded in time:
STATEFUL_EXAMPLES runs (default 15) of at most STATEFUL_STEPS steps (default 12), about a minute.
"""

import os
import time

import pytest
import schemathesis
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.management import call_command
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, multiple, rule, run_state_machine_as_test
from rest_framework.authtoken.models import Token
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.api.conftest import api_client, minimal_document
from tests.api.test_schemathesis import keep_test_connection  # noqa: F401  (a fixture)

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "15"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "12"))
# Acceptance of a study document depends on rules across fields the schema cannot state.
UNDECIDABLE = [positive_data_acceptance, negative_data_rejection]


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_test_connection")
@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="On PostgreSQL the run's in-process connection is found closed after a few writes and answered "
    "with 503: open, not yet diagnosed (issue #15); it passes on SQLite.",
)
def test_stateful_run_as_a_curator_with_writes_finds_no_server_error(settings):
    settings.API_ANON_RATE = "off"
    cache.clear()
    call_command("import_studies", verbosity=0)
    curator = User.objects.create_user("stateful-curator")
    curator.groups.add(Group.objects.get(name="curator"))
    auth = {"Authorization": f"Token {Token.objects.create(user=curator).key}"}
    reader = api_client()
    reader.credentials(HTTP_AUTHORIZATION=auth["Authorization"])
    template = minimal_document()
    from registry.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    by_label = {operation.label: operation for operation in operations}
    create = by_label["POST /api/v1/studies/"]
    on_a_study = [operation for operation in operations if "{accession}" in operation.path]
    elsewhere = [operation for operation in operations if "{accession}" not in operation.path and operation is not create]
    assert on_a_study and elsewhere
    calls: dict = {"count": 0, "by_status": {}}

    def call(case) -> object:
        try:
            response = case.call_and_validate(headers={**auth, **(case.headers or {})}, excluded_checks=UNDECIDABLE)
        finally:
            calls["count"] += 1
        calls["by_status"][response.status_code] = calls["by_status"].get(response.status_code, 0) + 1
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
        return response

    modes = st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE])

    class Curation(RuleBasedStateMachine):
        studies = Bundle("studies")

        @rule(target=studies, data=st.data(), valid=st.booleans(), title=st.text(min_size=1, max_size=60))
        def create_a_study(self, data, valid, title):
            case = data.draw(create.as_strategy(generation_mode=GenerationMode.POSITIVE))
            if valid:
                case.body = {**template, "title": title.strip() or "Untitled"}
            response = call(case)
            return response.json()["accession"] if response.status_code == 201 else multiple()

        @rule(accession=studies, data=st.data(), operation=st.sampled_from(on_a_study), if_match=st.booleans())
        def act_on_a_study(self, accession, data, operation, if_match):
            case = data.draw(operation.as_strategy(generation_mode=data.draw(modes)))
            case.path_parameters = {**(case.path_parameters or {}), "accession": accession}
            if if_match and case.method in ("PUT", "PATCH", "POST", "DELETE"):
                etag = reader.get(f"/api/v1/studies/{accession}/").get("ETag")
                if etag:
                    case.headers = {**(case.headers or {}), "If-Match": etag}
            call(case)

        @rule(data=st.data(), operation=st.sampled_from(elsewhere))
        def browse(self, data, operation):
            call(data.draw(operation.as_strategy(generation_mode=data.draw(modes))))

    started = time.monotonic()
    run_state_machine_as_test(
        Curation,
        settings=hypothesis_settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(f"\nstateful run: {calls['count']} calls in {time.monotonic() - started:.0f}s, by status {calls['by_status']}")
    assert calls["count"] >= EXAMPLES
    assert calls["by_status"].get(201), "studies were created, so later steps reached real ones"
    assert calls["by_status"].get(200), "and read or changed them"
