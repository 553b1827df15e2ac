"""The review workflow through the API: each action runs the service the admin's buttons run, so the
roles, states and blocking comments are the same; these tests pin the HTTP side (statuses, error
bodies, If-Match, what anonymous readers see meanwhile)."""

import json

import pytest
from django.contrib.auth.models import User
from drf_spectacular.validation import validate_schema

from tests import factories as f
from tests.api.conftest import member, token_client
from trials import choices as c
from trials import models as m

STUDIES = "/api/v1/studies/"
DRAFT, IN_REVIEW, PUBLISHED, RETRACTED = (
    c.CurationState.DRAFT,
    c.CurationState.IN_REVIEW,
    c.CurationState.PUBLISHED,
    c.CurationState.RETRACTED,
)


@pytest.fixture
def superuser(db):
    return token_client(User.objects.create_superuser("admin-user"))


def url(study_or_accession, action: str = "") -> str:
    accession = getattr(study_or_accession, "accession", study_or_accession)
    return f"{STUDIES}{accession}/{action + '/' if action else ''}"


def post(client, study, action: str, body: dict | None = None, **headers):
    return client.post(url(study, action), body or {}, format="json", **headers)


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def snapshot() -> tuple:
    """Everything a refused action must leave as it was."""
    return (
        list(
            m.Study.objects.order_by("pk").values_list("accession", "title", "edit_count", "curation_state", "retraction_reason")
        ),
        list(m.ReviewComment.objects.order_by("pk").values_list("text", "blocking", "resolved_at")),
        m.StudyTransition.objects.count(),
        m.StudyVersion.objects.count(),
    )


def open_comment(study: m.Study) -> m.ReviewComment:
    return m.ReviewComment.objects.create(study=study, author=member("earlier-reviewer", "reviewer"), text="Add the dose.")


# --- who may do what --------------------------------------------------------------------------------

# action: (the state it starts from, the body, the path)
ACTIONS = {
    "submit": (DRAFT, {}, lambda study: url(study, "submit")),
    "request-changes": (IN_REVIEW, {"text": "Add the dose."}, lambda study: url(study, "request-changes")),
    "publish": (IN_REVIEW, {}, lambda study: url(study, "publish")),
    "retract": (PUBLISHED, {"reason": "Duplicate of another study."}, lambda study: url(study, "retract")),
    "revision": (PUBLISHED, {}, lambda study: url(study, "revision")),
    "comment": (IN_REVIEW, {"text": "Check the dose.", "blocking": False}, lambda study: url(study, "comments")),
    "resolve": (IN_REVIEW, {}, lambda study: url(study, f"comments/{open_comment(study).pk}/resolve")),
}
ALLOWED = {"submit": 200, "request-changes": 200, "publish": 200, "retract": 200, "revision": 201, "comment": 201, "resolve": 200}
REVIEWER_ONLY = {"request-changes", "publish", "retract", "comment"}
EXPECTED = {
    # Authentication is asked for before anything about the study is told.
    "anon": dict.fromkeys(ACTIONS, 401),
    # A drafts or a study in review does not exist for those who may not view it; a public one does.
    "reader": {action: 403 if state in (PUBLISHED, RETRACTED) else 404 for action, (state, _, _) in ACTIONS.items()},
    "curator": {action: 403 if action in REVIEWER_ONLY else ALLOWED[action] for action in ACTIONS},
    "reviewer": ALLOWED,
    "superuser": ALLOWED,
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_and_action(db, request, role, action):
    client = request.getfixturevalue(role)
    state, body, path = ACTIONS[action]
    study = f.full_study(curation_state=state)
    target = path(study)
    before = snapshot()
    response = client.post(target, body, format="json")
    expected = EXPECTED[role][action]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert snapshot() == before
        error = response.json()["error"]
        if expected == 403:
            assert "permission" in error["message"]  # names which one, and the role that has it
    else:
        assert m.StudyTransition.objects.filter(by=client.user).exists() or action in ("comment", "resolve")


def test_a_refused_role_is_told_which_permission_and_role(curator):
    study = f.full_study(curation_state=IN_REVIEW)
    error = error_of(post(curator, study, "publish"), 403)
    assert error == {
        "status": 403,
        "code": "permission_denied",
        "message": "This needs the publish study permission (trials.publish_study, which the reviewer role has).",
        "fields": {},
    }


def test_a_private_study_is_not_found_exactly_as_a_missing_one(reader):
    draft = f.full_study(curation_state=DRAFT)
    assert post(reader, draft, "submit").json() == post(reader, "NCR-999999", "submit").json()
    assert reader.get(url(draft, "comments")).status_code == 404


def test_anonymous_clients_are_asked_for_a_token(anon, db):
    study = f.full_study(curation_state=DRAFT)
    response = post(anon, study, "submit")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


# --- each transition --------------------------------------------------------------------------------


def test_submit_answers_the_new_state_and_version(curator):
    study = f.full_study(curation_state=DRAFT)
    response = post(curator, study, "submit")
    assert response.status_code == 200
    assert response.json() == {
        "accession": study.accession,
        "curation_state": "in_review",
        "is_revision": False,
        "version": None,
        "open_revision": None,
        "open_blocking_comments": 0,
        "retraction_reason": "",
        "published_at": None,
        "updated_at": response.json()["updated_at"],
        "url": f"http://testserver{url(study)}",
    }
    assert response["ETag"] == f'"{study.accession}-e2"'
    step = m.StudyTransition.objects.get(study=study)
    assert (step.action, step.from_state, step.to_state, step.by) == ("submitted", DRAFT, IN_REVIEW, curator.user)


def test_draft_to_published_and_the_public_api_serves_it(anon, curator, reviewer):
    study = f.full_study(curation_state=DRAFT)
    assert anon.get(url(study)).status_code == 404
    assert post(curator, study, "submit").json()["curation_state"] == "in_review"
    published = post(reviewer, study, "publish", {"note": "First release"})
    assert published.status_code == 200
    assert published.json()["curation_state"] == "published"
    assert published.json()["published_at"] is not None
    public = anon.get(url(study))
    assert public.status_code == 200
    assert public.json()["curation_state"] == "published"
    assert public["ETag"] == published["ETag"]
    versions = anon.get(url(study, "versions")).json()["results"]
    assert [(v["number"], v["note"]) for v in versions] == [(1, "First release")]
    steps = list(study.transitions.values_list("action", "by__username"))
    assert steps == [("submitted", "curator-user"), ("published", "reviewer-user")]


def test_request_changes_returns_the_study_to_draft_with_the_comment(curator, reviewer):
    study = f.full_study(curation_state=IN_REVIEW)
    response = post(reviewer, study, "request-changes", {"text": "  Give the dose per kg.  ", "blocking": True})
    assert response.status_code == 200
    assert (response.json()["curation_state"], response.json()["open_blocking_comments"]) == ("draft", 1)
    comments = curator.get(url(study, "comments"))
    assert comments.status_code == 200
    [comment] = comments.json()
    assert comment == {
        "id": comment["id"],
        "study": study.accession,
        "text": "Give the dose per kg.",
        "blocking": True,
        "author": "reviewer-user",
        "created_at": comment["created_at"],
        "resolved_at": None,
        "resolved_by": None,
    }


@pytest.mark.parametrize(
    ("action", "wrong_state", "body"),
    [
        ("submit", IN_REVIEW, {}),
        ("submit", PUBLISHED, {}),
        ("publish", DRAFT, {}),
        ("publish", RETRACTED, {}),
        ("request-changes", PUBLISHED, {"text": "Fix"}),
        ("retract", IN_REVIEW, {"reason": "Duplicate"}),
        ("retract", RETRACTED, {"reason": "Duplicate"}),
        ("revision", DRAFT, {}),
    ],
)
def test_the_wrong_state_is_a_409_naming_the_state(reviewer, action, wrong_state, body):
    study = f.full_study(curation_state=wrong_state)
    before = snapshot()
    error = error_of(post(reviewer, study, action, body), 409)
    assert error["code"] == "invalid_state"
    state = f"{study.accession} is {study.get_curation_state_display().lower()} ({wrong_state})."
    assert error["fields"] == {"curation_state": [state]}
    assert error["message"].startswith("This step needs a study that is")
    assert snapshot() == before


def test_a_blocking_comment_stops_publication_until_resolved(curator, reviewer):
    study = f.full_study(curation_state=IN_REVIEW)
    post(reviewer, study, "request-changes", {"text": "Add the dose."})
    post(curator, study, "submit")
    before = snapshot()
    error = error_of(post(reviewer, study, "publish"), 409)
    assert error["code"] == "blocking_comments"
    assert error["message"] == "1 blocking review comment(s) must be resolved before publishing."
    assert error["fields"] == {"comments": [f"Resolve them first: {url(study, 'comments')}"]}
    assert snapshot() == before

    comment = study.review_comments.get()
    resolved = post(curator, study, f"comments/{comment.pk}/resolve")
    assert resolved.status_code == 200
    assert resolved.json()["resolved_by"] == "curator-user"
    assert post(curator, study, f"comments/{comment.pk}/resolve").json() == resolved.json()  # idempotent
    assert post(reviewer, study, "publish").json()["curation_state"] == "published"


def test_an_advisory_comment_does_not_block(reviewer):
    study = f.full_study(curation_state=IN_REVIEW)
    assert post(reviewer, study, "comments", {"text": "Consider the Chinese title.", "blocking": False}).status_code == 201
    assert post(reviewer, study, "publish").status_code == 200


def test_a_comment_of_another_study_is_not_found(curator):
    study, other = f.full_study(curation_state=IN_REVIEW), f.full_study(curation_state=IN_REVIEW)
    comment = open_comment(other)
    assert post(curator, study, f"comments/{comment.pk}/resolve").status_code == 404
    assert m.ReviewComment.objects.get(pk=comment.pk).resolved_at is None


def test_retraction_needs_a_reason_and_the_study_stays_public(anon, reviewer):
    study = f.full_study()
    before = snapshot()
    assert error_of(post(reviewer, study, "retract"), 400)["fields"] == {"reason": ["This field is required."]}
    assert error_of(post(reviewer, study, "retract", {"reason": "   "}), 400)["fields"] == {
        "reason": ["This field may not be blank."]
    }
    assert snapshot() == before
    response = post(reviewer, study, "retract", {"reason": "Data could not be verified."})
    assert response.status_code == 200
    assert (response.json()["curation_state"], response.json()["retraction_reason"]) == (
        "retracted",
        "Data could not be verified.",
    )
    public = anon.get(url(study)).json()
    assert (public["curation_state"], public["retraction_reason"]) == ("retracted", "Data could not be verified.")
    assert study.accession in [item["accession"] for item in anon.get(STUDIES).json()["results"]]


def test_a_revision_stays_private_until_published(anon, curator, reviewer):
    study = f.full_study(title="Original title", curation_state=IN_REVIEW)
    post(reviewer, study, "publish")
    revision_url = url(study, "revision")
    started = post(curator, study, "revision")
    assert started.status_code == 201
    revision = started.json()
    assert (revision["accession"], revision["is_revision"], revision["curation_state"]) == (study.accession, True, "draft")
    assert started["Location"] == f"http://testserver{revision_url}"
    assert revision["url"] == f"http://testserver{revision_url}"
    again = post(curator, study, "revision")  # one open revision at a time: the same one
    assert (again.status_code, again.json()["url"]) == (200, revision["url"])
    assert curator.get(url(study)).json()["title"] == "Original title"
    assert curator.get(url(study)).json()["curation_state"] == "published"

    assert anon.get(revision_url).status_code in (401, 404)
    assert curator.get(revision_url).json()["title"] == "Original title"
    changed = curator.patch(revision_url, {"title": "Corrected title"}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed["ETag"].startswith(f'"{study.accession}-r')  # a revision's tags are its own
    # The review steps act on the open revision; the public study is served as it was.
    assert post(curator, study, "submit").json()["curation_state"] == "in_review"
    public = anon.get(url(study))
    assert public.json()["title"] == "Original title"
    assert public.json()["version"] == 1
    assert public["ETag"] == f'"{study.accession}-e2"'  # as the first publication left it

    assert error_of(post(reviewer, study, "publish"), 400)["fields"] == {
        "note": ["Say what changed: the note is shown in the version history."]
    }
    published = post(reviewer, study, "publish", {"note": "Corrected the title"})
    assert published.status_code == 200
    assert (published.json()["accession"], published.json()["curation_state"]) == (study.accession, "published")
    assert (published.json()["is_revision"], published.json()["open_revision"], published.json()["version"]) == (False, None, 2)
    assert anon.get(url(study)).json()["title"] == "Corrected title"
    assert curator.get(revision_url).status_code == 404  # the copy became the public record
    versions = anon.get(url(study, "versions")).json()["results"]
    assert [(v["number"], v["note"], v["published_by"]) for v in versions] == [
        (1, "First publication", "reviewer-user"),
        (2, "Corrected the title", "reviewer-user"),
    ]


def test_a_revision_is_discarded_with_delete(curator):
    study = f.full_study()
    post(curator, study, "revision")
    assert curator.delete(url(study, "revision")).status_code == 204
    assert curator.get(url(study, "revision")).status_code == 404
    assert m.Study.objects.get().pk == study.pk


# --- conditional writes and bad bodies ----------------------------------------------------------------


def test_if_match_refuses_a_stale_version(curator, reviewer):
    study = f.full_study(curation_state=DRAFT)
    read = curator.get(url(study))
    assert post(curator, study, "submit", HTTP_IF_MATCH=read["ETag"]).status_code == 200
    # The reviewer still holds the tag from before the submission.
    before = snapshot()
    error = error_of(post(reviewer, study, "publish", HTTP_IF_MATCH=read["ETag"]), 412)
    assert error["code"] == "precondition_failed"
    assert snapshot() == before
    current = reviewer.get(url(study))["ETag"]
    assert current != read["ETag"]
    assert post(reviewer, study, "publish", HTTP_IF_MATCH=current).status_code == 200


def test_a_transition_changes_the_etag_so_caches_do_not_serve_the_old_state(curator):
    study = f.full_study(curation_state=DRAFT)
    tag = curator.get(url(study))["ETag"]
    post(curator, study, "submit")
    response = curator.get(url(study), HTTP_IF_NONE_MATCH=tag)
    assert response.status_code == 200
    assert response.json()["curation_state"] == "in_review"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "Fix\x00"}, "text"),
        ({"text": "Fix \ud800"}, "text"),
        ({"text": "Fix", "blocking": "perhaps"}, "blocking"),
        (["Fix"], "non_field_errors"),
    ],
)
def test_an_invalid_comment_is_a_400_naming_the_field(reviewer, body, field):
    study = f.full_study(curation_state=IN_REVIEW)
    before = snapshot()
    # Sent as JSON text: the test client's encoder would refuse the lone surrogate itself.
    response = reviewer.post(url(study, "request-changes"), json.dumps(body), content_type="application/json")
    assert field in error_of(response, 400)["fields"]
    assert snapshot() == before


def test_a_form_body_is_refused(reviewer):
    study = f.full_study(curation_state=IN_REVIEW)
    assert reviewer.post(url(study, "request-changes"), {"text": "Fix"}).status_code == 415


def test_the_workflow_is_in_the_openapi_schema(anon, db):
    schema = anon.get("/api/v1/schema/?format=json").json()
    validate_schema(schema)
    base = "/api/v1/studies/{accession}/"
    for action in ("submit", "request-changes", "publish", "retract", "revision", "comments", "comments/{comment_id}/resolve"):
        operation = schema["paths"][f"{base}{action}/"]["post"]
        assert operation["tags"] == ["workflow"]
        assert {"401", "403", "404", "409", "412"} <= set(operation["responses"]), action
        assert "If-Match" in {parameter["name"] for parameter in operation["parameters"]}
    assert "200" in schema["paths"][f"{base}comments/"]["get"]["responses"]
    retract = schema["paths"][f"{base}retract/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert retract == {"$ref": "#/components/schemas/RetractInput"}
    assert schema["components"]["schemas"]["RetractInput"]["required"] == ["reason"]


def test_every_step_of_the_table_is_an_endpoint():
    from trials.services.workflow import TRANSITIONS_BY_SLUG

    assert set(TRANSITIONS_BY_SLUG) <= set(ACTIONS)


def test_a_reviewer_cannot_publish_their_own_submission(reviewer, superuser):
    study = f.full_study(curation_state=DRAFT)
    post(reviewer, study, "submit")
    error = error_of(post(reviewer, study, "publish", {"note": "x"}), 409)
    assert error["code"] == "self_publication"
    assert post(superuser, study, "publish").status_code == 200  # another reviewer
