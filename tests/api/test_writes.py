"""Writing studies: whole documents through the one write service, role permissions, atomicity."""

import pytest
from django.db import IntegrityError
from rest_framework.test import APIClient

from tests import factories as f
from tests.api.conftest import member, minimal_document
from trials import choices as c
from trials import models as m
from trials.api.serializers import StudyDocumentSerializer, document_queryset

LIST = "/api/v1/studies/"


def url(study: m.Study) -> str:
    return f"{LIST}{study.accession}/"


def stored(study: m.Study) -> dict:
    return StudyDocumentSerializer(document_queryset(m.Study.objects.filter(pk=study.pk)).get()).data


def snapshot() -> tuple:
    """Everything a failed write must leave as it was."""
    return (
        list(m.Study.objects.order_by("pk").values_list("accession", "title", "version", "curation_state")),
        m.Cohort.objects.count(),
        m.Intervention.objects.count(),
        m.AdverseEvent.objects.count(),
        m.OutcomeMeasure.objects.count(),
        m.StudyVersion.objects.count(),
        m.StudyTransition.objects.count(),
    )


# --- create ---------------------------------------------------------------------------------------


def test_curator_creates_a_whole_study_as_a_draft(curator):
    response = curator.post(LIST, minimal_document(), format="json")
    assert response.status_code == 201, response.content
    study = m.Study.objects.get()
    assert response["Location"] == f"http://testserver{url(study)}"
    assert response["ETag"] == f'"{study.accession}-v1"'
    assert response.json() == stored(study)
    assert study.curation_state == c.CurationState.DRAFT
    assert study.start_display == "2019-03"
    intervention = study.cohorts.get().interventions.get()
    assert (intervention.cell_type.slug, intervention.donor, intervention.route) == (
        "umbilical-cord-msc",
        "allogeneic",
        "intravenous",
    )
    assert study.adverse_events.get().cohort.label == "MSC"
    assert study.history.first().history_user == curator.user


def test_reviewer_creates_a_published_study_with_its_first_version(reviewer):
    response = reviewer.post(LIST, minimal_document(curation_state="published"), format="json")
    assert response.status_code == 201, response.content
    study = m.Study.objects.get()
    assert study.curation_state == c.CurationState.PUBLISHED
    assert study.published_at is not None
    assert study.versions.count() == 1
    transition = study.transitions.get()
    assert (transition.action, transition.from_state, transition.to_state, transition.by) == (
        "published",
        "draft",
        "published",
        reviewer.user,
    )


@pytest.mark.parametrize("state", ["published", "retracted"])
def test_curator_cannot_create_a_public_study(curator, state):
    before = snapshot()
    response = curator.post(LIST, minimal_document(curation_state=state, retraction_reason="Duplicate"), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "publish_permission_required"
    assert snapshot() == before


def test_curator_may_submit_for_review(curator):
    response = curator.post(LIST, minimal_document(curation_state="in_review"), format="json")
    assert response.status_code == 201
    assert m.StudyTransition.objects.get().action == "submitted"


def test_post_may_not_choose_the_accession(curator):
    response = curator.post(LIST, minimal_document(accession="NCR-000777"), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["accession"]
    assert not m.Study.objects.exists()


def test_server_owned_keys_sent_back_are_ignored(curator):
    response = curator.post(LIST, minimal_document(version=99, updated_at="2001-01-01T00:00:00Z"), format="json")
    assert response.status_code == 201
    assert response.json()["version"] == 1


FEVER = {"term": "Fever", "organ_class": "general", "serious": "no"}
INVALID = [
    ("adverse_events", [{**FEVER, "n_affected": 12, "n_at_risk": 10}], "adverse_events[0].n_affected"),
    ("registry_ids", [{"registry": "NCT", "value": "NCT123"}], "registry_ids[0].value"),
    ("publications", [{"title": "Results", "doi": "https://doi.org/10.1000/x"}], "publications[0].doi"),
    ("adverse_events", [{**FEVER, "cohort": "Arm of another study"}], "adverse_events[0].cohort"),
    ("completion_date", "2018", "completion_date"),
    (
        "cohorts",
        [{"label": "MSC", "role": "experimental", "interventions": [{"kind": "cell_product", "name": "x", "cell_type": "nope"}]}],
        "cohorts[0].interventions[0].cell_type",
    ),
    ("phase", "phase9", "phase"),
    ("title", "", "title"),
]


@pytest.mark.parametrize(("key", "value", "path"), INVALID, ids=[case[2] for case in INVALID])
def test_invalid_document_is_a_400_with_the_field_path_and_nothing_is_saved(curator, key, value, path):
    f.StudyFactory().cohorts.create(label="Arm of another study", role=c.CohortRole.EXPERIMENTAL)
    before = snapshot()
    response = curator.post(LIST, minimal_document(**{key: value}), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert path in error["fields"]
    assert snapshot() == before


def test_every_error_of_a_document_is_reported_at_once(curator):
    document = minimal_document(completion_date="2018")
    document["adverse_events"][0]["n_affected"] = 11
    fields = curator.post(LIST, document, format="json").json()["error"]["fields"]
    assert set(fields) == {"completion_date", "adverse_events[0].n_affected"}


@pytest.mark.parametrize("body", [[], "a study", 42])
def test_body_must_be_a_json_object(curator, body):
    response = curator.post(LIST, body, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["error"]["fields"]


# --- update ---------------------------------------------------------------------------------------


def test_put_replaces_the_whole_document_children_included(curator, draft):
    document = minimal_document(title="Replaced")
    response = curator.put(url(draft), document, format="json")
    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert draft.version == 2
    assert response["ETag"] == f'"{draft.accession}-v2"'
    body = response.json()
    assert body == stored(draft)
    assert body["title"] == "Replaced"
    assert [cohort["label"] for cohort in body["cohorts"]] == ["MSC"]
    assert body["outcomes"] == []  # absent from the document: removed
    assert [event["term"] for event in body["adverse_events"]] == ["Fever"]


def test_put_of_the_stored_document_changes_nothing(curator, draft):
    response = curator.put(url(draft), stored(draft), format="json")
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.version == 1


def test_put_cannot_change_the_accession(curator, draft):
    response = curator.put(url(draft), {**stored(draft), "accession": "NCR-000001"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["accession"]


def test_patch_merges_top_level_keys_and_keeps_the_rest(curator, draft):
    before = stored(draft)
    response = curator.patch(url(draft), {"title": "Renamed", "enrollment": 12, "enrollment_type": "actual"}, format="json")
    assert response.status_code == 200, response.content
    after = response.json()
    assert (after["title"], after["enrollment"]) == ("Renamed", 12)
    unchanged = {key for key in before if key not in ("title", "enrollment", "enrollment_type", "version", "updated_at")}
    assert {key: after[key] for key in unchanged} == {key: before[key] for key in unchanged}
    assert after["version"] == 2


def test_patch_replaces_a_child_list_whole(curator, draft):
    events = [{"cohort": draft.cohorts.get().label, "term": "Rash", "organ_class": "skin", "serious": "no"}]
    response = curator.patch(url(draft), {"adverse_events": events}, format="json")
    assert response.status_code == 200
    assert [event["term"] for event in response.json()["adverse_events"]] == ["Rash"]
    assert draft.outcomes.count() == 1  # other lists untouched


def test_invalid_patch_changes_nothing(curator, draft):
    before = snapshot()
    change = {"title": "Valid change", "adverse_events": [{**FEVER, "n_affected": 5, "n_at_risk": 2}]}
    response = curator.patch(url(draft), change, format="json")
    assert response.status_code == 400
    assert "adverse_events[0].n_affected" in response.json()["error"]["fields"]
    assert snapshot() == before


def test_a_failure_while_writing_children_rolls_the_whole_study_back(curator, draft, monkeypatch):
    """Validation passed, then the database refused the last child: nothing of the write remains."""
    before, document_before = snapshot(), stored(draft)

    def refuse(self, *args, **kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr(m.AdverseEvent, "save", refuse)
    response = curator.put(url(draft), minimal_document(title="Half written"), format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["error"]["fields"]
    assert snapshot() == before
    assert stored(draft) == document_before


def test_curator_cannot_change_a_published_study(curator, published):
    before = snapshot()
    for response in (
        curator.patch(url(published), {"title": "Quiet fix"}, format="json"),
        curator.patch(url(published), {"curation_state": "draft"}, format="json"),
        curator.put(url(published), stored(published), format="json"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "publish_permission_required"
    assert snapshot() == before


def test_reviewer_corrects_a_published_study_and_a_version_is_recorded(reviewer, published):
    response = reviewer.patch(url(published), {"title": "Corrected title"}, format="json")
    assert response.status_code == 200
    published.refresh_from_db()
    assert (published.title, published.curation_state, published.version) == ("Corrected title", "published", 2)
    assert published.versions.get().document["title"] == "Corrected title"


def test_reviewer_retracts_with_a_reason(reviewer, published):
    response = reviewer.patch(url(published), {"curation_state": "retracted"}, format="json")
    assert response.status_code == 400
    assert "retraction" in str(response.json()["error"]["fields"])  # the model's retraction_has_reason rule
    response = reviewer.patch(
        url(published), {"curation_state": "retracted", "retraction_reason": "Duplicate of NCR-000001"}, format="json"
    )
    assert response.status_code == 200
    assert m.StudyTransition.objects.get().action == "retracted"


def test_reviewer_cannot_publish_over_a_blocking_comment(reviewer):
    study = f.full_study(curation_state=c.CurationState.IN_REVIEW)
    m.ReviewComment.objects.create(study=study, author=reviewer.user, text="Check the dose", blocking=True)
    response = reviewer.patch(url(study), {"curation_state": "published"}, format="json")
    assert response.status_code == 409
    study.refresh_from_db()
    assert study.curation_state == c.CurationState.IN_REVIEW


def test_writes_to_a_missing_study_are_404(curator):
    assert curator.put(f"{LIST}NCR-999999/", {}, format="json").status_code == 404
    assert curator.delete(f"{LIST}NCR-999999/").status_code == 404


# --- delete ---------------------------------------------------------------------------------------


def test_curator_deletes_a_draft(curator, draft):
    response = curator.delete(url(draft))
    assert response.status_code == 204
    assert not m.Study.objects.exists()
    assert not m.AdverseEvent.objects.exists()


@pytest.mark.parametrize("state", [c.CurationState.IN_REVIEW, c.CurationState.PUBLISHED, c.CurationState.RETRACTED])
def test_delete_refuses_curated_studies(reviewer, state):
    study = f.full_study(curation_state=state)
    response = reviewer.delete(url(study))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert m.Study.objects.filter(pk=study.pk).exists()


def test_delete_refuses_a_draft_that_was_once_published(reviewer, db):
    from django.utils import timezone

    study = f.full_study(curation_state=c.CurationState.DRAFT, published_at=timezone.now())
    assert reviewer.delete(url(study)).status_code == 409


# --- roles ------------------------------------------------------------------------------------------

ROLE_STATUS = {
    # role: (POST, PATCH a draft, DELETE a draft)
    "anon": (401, 401, 401),
    "reader": (403, 403, 403),
    "curator": (201, 200, 204),
    "reviewer": (201, 200, 204),
}


@pytest.mark.parametrize("role", list(ROLE_STATUS))
def test_permissions_follow_the_curator_roles(request, role, draft):
    client = request.getfixturevalue(role)
    expected_post, expected_patch, expected_delete = ROLE_STATUS[role]
    before = snapshot()
    assert client.post(LIST, minimal_document(), format="json").status_code == expected_post
    assert client.patch(url(draft), {"title": "Changed"}, format="json").status_code == expected_patch
    assert client.delete(url(draft)).status_code == expected_delete
    if role in ("anon", "reader"):
        assert snapshot() == before


def test_anonymous_write_asks_for_a_token(anon, draft):
    response = anon.delete(url(draft))
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_session_writes_need_the_csrf_token(db):
    user = member("admin-user", "curator")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    refused = client.post(LIST, minimal_document(), format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    client.get("/admin/login/")  # sets the CSRF cookie, as a page of the admin would
    token = client.cookies["csrftoken"].value
    assert client.post(LIST, minimal_document(), format="json", HTTP_X_CSRFTOKEN=token).status_code == 201


def test_null_characters_are_refused_with_their_path(curator):
    document = minimal_document()
    document["cohorts"][0]["label"] = "MSC\x00"
    response = curator.post(LIST, document, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "cohorts[0].label": ["Null characters and unpaired surrogates are not allowed."]
    }
    assert not m.Study.objects.exists()


def test_a_value_of_the_wrong_type_is_a_400_not_a_crash(curator):
    """A field that fails its own validation is reported without running the model's cross-field rules."""
    document = minimal_document()
    document["adverse_events"][0]["n_at_risk"] = [10]
    response = curator.post(LIST, document, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["adverse_events[0].n_at_risk"]
