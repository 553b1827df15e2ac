"""Public version history: the current record, every published version frozen, and their difference."""

import pytest
from django.contrib.auth.models import Group, User

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.documents import load_document
from trials.services import studies, workflow


def member(name: str, group: str) -> User:
    user = User.objects.create_user(name)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def reviewer(db):
    return member("reviewer", "reviewer")


@pytest.fixture
def curator(db):
    return member("curator", "curator")


def revise(study, change, *, by, reviewer, note: str) -> None:
    """Correct a published study through a reviewed revision: `change(document)` edits its document."""
    revision = workflow.study_start_revision(study=study, by=by)
    document = load_document(revision)
    change(document)
    studies.study_update(study=revision, document=document, by=by)
    workflow.study_submit(study=revision, by=by)
    workflow.study_publish(study=revision, by=reviewer, note=note)


@pytest.fixture
def corrected_study(curator, reviewer):
    """Published as version 1, then corrected through a reviewed revision as version 2."""
    study = f.full_study(title="Original title", curation_state=c.CurationState.IN_REVIEW)
    workflow.study_publish(study=study, by=reviewer, note="First release")
    revise(study, lambda d: d.update(title="Corrected title"), by=curator, reviewer=reviewer, note="Corrected the title")
    return study


def test_versions_page_lists_every_published_version(client, corrected_study):
    page = client.get(f"/studies/{corrected_study.accession}/versions/").content.decode()
    assert "Version 2" in page and "Version 1" in page
    assert "Corrected the title" in page and "First release" in page


def test_a_past_version_shows_what_was_published_then(client, corrected_study):
    page = client.get(f"/studies/{corrected_study.accession}/versions/1/").content.decode()
    assert "Original title" in page
    assert "Corrected title" not in page
    assert "version 1 of this record" in page
    assert "The latest version is 2." in page


def test_compare_shows_the_changed_fields_in_words(client, corrected_study):
    page = client.get(f"/studies/{corrected_study.accession}/versions/compare/?from=1&to=2").content.decode()
    assert "<dt>title</dt>" in page
    assert "<del>Original title</del> → <ins>Corrected title</ins>" in page
    assert "Corrected the title" in page  # the reviewer's note says what changed


@pytest.fixture
def one_number_revised(curator, reviewer):
    """A study with two cohorts and outcomes, corrected by one number while its rows were reordered."""
    study = f.full_study(curation_state=c.CurationState.IN_REVIEW)
    cohort = study.cohorts.get()
    other = f.CohortFactory(study=study, label="Control")
    alsfrs = m.Instrument.objects.get(slug="alsfrs-r")
    f.OutcomeFactory(study=study, cohort=cohort, instrument=alsfrs, timepoint=6, value=36.0, baseline_value=38.0)
    f.OutcomeFactory(study=study, cohort=other, instrument=alsfrs, timepoint=6, value=33.0, baseline_value=37.0)
    f.AdverseEventFactory(study=study, cohort=other, term="Headache")
    workflow.study_publish(study=study, by=reviewer)

    def change(document):
        changed = next(o for o in document["outcomes"] if o["value"] == 36.0)
        changed["value"] = 36.4
        document["outcomes"].reverse()
        document["adverse_events"].reverse()
        document["cohorts"].reverse()

    revise(study, change, by=curator, reviewer=reviewer, note="Corrected the 6-month ALSFRS-R mean from the paper's table 2")
    return study


def test_one_changed_number_is_exactly_one_change_in_words(client, one_number_revised):
    accession = one_number_revised.accession
    api = client.get(f"/api/v1/studies/{accession}/versions/1/compare/2/").json()
    assert api["note"] == "Corrected the 6-month ALSFRS-R mean from the paper's table 2"
    [change] = api["changes"]
    label = f"ALSFRS-R at 6 months · {one_number_revised.cohorts.order_by('pk').first().label}"
    assert (change["section"], change["change"], change["label"]) == ("outcomes", "changed", label)
    assert [(f["field"], f["label"], f["old"], f["new"], f["old_text"], f["new_text"]) for f in change["fields"]] == [
        ("value", "value", 36.0, 36.4, "36", "36.4")
    ]
    assert (change["label_zh"], change["fields"][0]["label_zh"]) == (label.replace("at 6 months", "第 6 个月"), "数值")
    page = client.get(f"/studies/{accession}/versions/compare/?from=1&to=2").content.decode()
    assert label in page
    assert "<del>36</del> → <ins>36.4</ins>" in page
    assert "1 change<" in page


def test_the_comparison_reads_in_chinese_too(client, one_number_revised):
    accession = one_number_revised.accession
    [change] = client.get(f"/api/v1/studies/{accession}/versions/1/compare/2/").json()["changes"]
    page = client.get(f"/zh-hans/studies/{accession}/versions/compare/?from=1&to=2").content.decode()
    assert change["label_zh"] in page
    assert "<dt>数值</dt>" in page
    assert "1 处修改" in page


def test_version_pages_are_in_chinese_too(client, corrected_study):
    response = client.get(f"/zh-hans/studies/{corrected_study.accession}/versions/")
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode().lower()


@pytest.mark.parametrize("state", [c.CurationState.DRAFT, c.CurationState.IN_REVIEW])
def test_private_studies_have_no_public_versions(client, db, state):
    study = f.full_study(curation_state=state)
    for url in ["versions/", "versions/1/", "versions/compare/?from=1&to=1"]:
        assert client.get(f"/studies/{study.accession}/{url}").status_code == 404


def test_unknown_versions_are_not_found(client, corrected_study):
    assert client.get(f"/studies/{corrected_study.accession}/versions/9/").status_code == 404
    assert client.get(f"/studies/{corrected_study.accession}/versions/compare/?from=1&to=9").status_code == 404
    assert client.get(f"/studies/{corrected_study.accession}/versions/compare/?from=x").status_code == 404
