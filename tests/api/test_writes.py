"""Writing studies: whole documents through the one write service, role permissions, atomicity."""

import pytest
from django.db import IntegrityError
from rest_framework.test import APIClient

from tests import factories as f
from tests.api.conftest import member, minimal_document
from trials import choices as c
from trials import models as m
from trials.documents import load_document

LIST = "/api/v1/studies/"


def url(study: m.Study) -> str:
    return f"{LIST}{study.accession}/"


def stored(study: m.Study) -> dict:
    return load_document(study)


def snapshot() -> tuple:
    """Everything a failed write must leave as it was."""
    return (
        list(m.Study.objects.order_by("pk").values_list("accession", "title", "edit_count", "curation_state")),
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
    assert response["ETag"] == f'"{study.accession}-e1"'
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


@pytest.mark.parametrize("role", ["curator", "reviewer"])
@pytest.mark.parametrize("state", ["in_review", "published", "retracted"])
def test_a_new_study_is_a_draft_whatever_the_document_says(request, db, role, state):
    """The state changes only through the workflow's endpoints: a document naming another is refused."""
    client = request.getfixturevalue(role)
    before = snapshot()
    response = client.post(LIST, minimal_document(curation_state=state, retraction_reason="Duplicate"), format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "curation_state" in fields
    assert "review workflow" in fields["curation_state"][0]
    assert snapshot() == before


def test_post_may_not_choose_the_accession(curator):
    response = curator.post(LIST, minimal_document(accession="NCR-000777"), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["accession"]
    assert not m.Study.objects.exists()


def test_server_owned_keys_sent_back_are_ignored(curator):
    response = curator.post(LIST, minimal_document(version=99, updated_at="2001-01-01T00:00:00Z"), format="json")
    assert response.status_code == 201
    assert response.json()["version"] is None  # no published version yet


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
    assert draft.edit_count == 2
    assert response["ETag"] == f'"{draft.accession}-e2"'
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
    assert draft.edit_count == 1


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
    assert response["ETag"].endswith('-e2"')


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


@pytest.mark.parametrize("role", ["curator", "reviewer"])
def test_nobody_edits_a_published_study_in_place(request, role, published):
    client = request.getfixturevalue(role)
    before = snapshot()
    for response in (
        client.patch(url(published), {"title": "Quiet fix"}, format="json"),
        client.patch(url(published), {"curation_state": "draft"}, format="json"),
        client.put(url(published), stored(published), format="json"),
    ):
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "published"
        assert f"{url(published)}revision/" in error["message"]
    assert snapshot() == before


def test_a_published_study_is_corrected_through_its_revision(curator, reviewer, published):
    revision_url = f"{url(published)}revision/"
    assert curator.post(revision_url).status_code == 201
    assert curator.patch(revision_url, {"title": "Corrected title"}, format="json").status_code == 200
    assert anon_title(published) != "Corrected title"
    assert curator.post(f"{url(published)}submit/").status_code == 200
    response = reviewer.post(f"{url(published)}publish/", {"note": "Corrected the title"}, format="json")
    assert response.status_code == 200, response.content
    published.refresh_from_db()
    assert (published.title, published.curation_state) == ("Corrected title", "published")
    assert list(published.versions.values_list("number", "note")) == [(1, "Corrected the title")]


def anon_title(study) -> str:
    return APIClient().get(url(study)).json()["title"]


@pytest.mark.parametrize("state", ["in_review", "published", "retracted"])
def test_a_draft_cannot_be_patched_to_another_state(curator, reviewer, draft, state):
    before = snapshot()
    for client in (curator, reviewer):
        response = client.patch(url(draft), {"curation_state": state, "retraction_reason": "x"}, format="json")
        assert response.status_code == 400
        fields = response.json()["error"]["fields"]
        assert "curation_state" in fields
        assert f"{url(draft)}submit/" in fields["curation_state"][0]  # says where the state does change
    assert snapshot() == before


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
    assert response.json()["error"]["fields"] == {"cohorts[0].label": ["Null characters are not allowed."]}
    assert not m.Study.objects.exists()


def test_a_value_of_the_wrong_type_is_a_400_not_a_crash(curator):
    """A field that fails its own validation is reported without running the model's cross-field rules."""
    document = minimal_document()
    document["adverse_events"][0]["n_at_risk"] = [10]
    response = curator.post(LIST, document, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["adverse_events[0].n_at_risk"]
