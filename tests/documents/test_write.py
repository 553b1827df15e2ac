"""The study document's write path: parsed and validated whole, stored in place by row key, through the
study services (the one path the admin, the API and imports take)."""

import copy

import pytest
from django.contrib.auth.models import Group, User

from tests import factories as f
from tests.factories import a_document
from trials import models as m
from trials.documents import DocumentError, load_document
from trials.services.accessions import accession_reserve
from trials.services.studies import StudyNotEditable, study_create, study_update


@pytest.fixture
def curator(db):
    user = User.objects.create_user("curator")
    user.groups.add(Group.objects.get(name="curator"))
    return user


def draft(**overrides) -> dict:
    document = a_document(**overrides)
    document.pop("curation_state")
    return document


def test_creates_a_whole_draft_with_a_new_accession(vocab, curator):
    study = study_create(document=draft(), by=curator)
    assert study.accession.startswith("NCR-")
    assert study.curation_state == "draft"
    assert study.start_display == "2016"
    assert study.completion_display == "2016-09"
    assert study.cohorts.get().interventions.get().cell_type.slug == "umbilical-cord-msc"
    assert study.outcomes.get().cohort.label == "UC-MSC"
    assert study.adverse_events.get().cohort.label == "UC-MSC"
    assert all(row["key"] for part in ("cohorts", "outcomes", "adverse_events") for row in load_document(study)[part])


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["adverse_events"][0].update(n_affected=30), "adverse_events[0].n_affected"),
        (lambda d: d["registry_ids"][0].update(value="NCT123"), "registry_ids[0].value"),
        (lambda d: d["publications"][0].update(doi="doi:10.1000"), "publications[0].doi"),
        (lambda d: d["outcomes"][0].update(cohort="Another study's arm"), "outcomes[0].cohort"),
        (lambda d: d.update(start_date="2017-03", completion_date="2016"), "completion_date"),
        (lambda d: d.update(start_date="2017-02-30"), "start_date"),
        (
            lambda d: d["cohorts"][0]["interventions"][0].update(cell_type="no-such-cells"),
            "cohorts[0].interventions[0].cell_type",
        ),
        (lambda d: d["cohorts"][0]["interventions"][0].update(donor=""), "cohorts[0].interventions[0].donor"),
        (lambda d: d.update(enrollment="many"), "enrollment"),
        (lambda d: d.update(enrollment=1.5), "enrollment"),
        (lambda d: d.update(title=["x"]), "title"),
        (lambda d: d.update(title_translated=1), "title_translated"),
        (lambda d: d.update(phase="phase9"), "phase"),
        (lambda d: d.update(sponsr="typo"), "sponsr"),
        (lambda d: d["outcomes"][0].update(p_value=1.5, p_qualifier="="), "outcomes[0].p_value"),
        (lambda d: d["outcomes"][0].update(value=9999), "outcomes[0].value"),
        (lambda d: d["outcomes"][0].update(timepoint=None), "outcomes[0].timepoint"),
        (lambda d: d["outcomes"][0].update(timepoint=-3, timepoint_unit="month"), "outcomes[0].timepoint"),
        (lambda d: d["outcomes"][0].update(change_value=-2, change_reported_as="improvement"), "outcomes[0].change_reported_as"),
        (lambda d: d["adverse_events"][0].update(n_at_risk=0, n_affected=0), "adverse_events[0].n_at_risk"),
        (lambda d: d.update(overall_status="COMPLETED", completion_date=None), "completion_date"),
        (lambda d: d.update(overall_status="WITHDRAWN"), "enrollment"),
        (lambda d: d["cohorts"].append(dict(d["cohorts"][0], interventions=[])), "cohorts[1].label"),
        (
            lambda d: (
                d["cohorts"].append(dict(d["cohorts"][0], label="B", key="dup", interventions=[]))
                or d["cohorts"][0].update(key="dup")
            ),
            "cohorts[1].key",
        ),
        (lambda d: d.update(curation_state="published"), "curation_state"),
        (lambda d: d.update(accession="NCR-000123"), "accession"),
    ],
)
def test_invalid_documents_name_the_field_and_save_nothing(vocab, curator, change, path):
    document = draft()
    change(document)
    with pytest.raises(DocumentError) as error:
        study_create(document=document, by=curator)
    assert path in error.value.errors, error.value.errors
    assert not m.Study.objects.exists()
    assert not m.Cohort.objects.exists()


def test_negative_times_are_allowed_within_the_declared_lead_in(vocab, curator):
    document = draft(lead_in_months=3)
    document["outcomes"][0].update(timepoint=-3, timepoint_to=0, timepoint_unit="month", change_value=-3.77)
    study_create(document=document, by=curator)


def test_a_failed_update_leaves_the_stored_study_untouched(vocab, curator):
    study = study_create(document=draft(), by=curator)
    before = load_document(study)
    broken = draft(title="Renamed")
    broken["adverse_events"][0]["n_affected"] = 99
    with pytest.raises(DocumentError):
        study_update(study=study, document=broken, by=curator)
    assert load_document(study) == before


def test_registry_id_owned_by_another_study_is_refused(vocab, curator):
    f.RegistryIdentifierFactory(value="NCT02354625")
    with pytest.raises(DocumentError) as error:
        study_create(document=draft(title="Another study"), by=curator)
    assert "already registered to NCR-" in error.value.errors["registry_ids[0].value"][0]


def test_saving_the_same_document_changes_nothing(vocab, curator):
    study = study_create(document=draft(), by=curator)
    history_rows = m.Study.history.count() + m.Cohort.history.count()
    again, changed = study_update(study=study, document=copy.deepcopy(load_document(study)), by=curator)
    assert not changed
    assert again.edit_count == study.edit_count == 1
    assert m.Study.history.count() + m.Cohort.history.count() == history_rows


def test_a_change_updates_rows_in_place_by_key(vocab, curator):
    study = study_create(document=draft(), by=curator)
    document = load_document(study)
    ids = {
        part: list(getattr(study, manager).values_list("pk", flat=True))
        for part, manager in (("cohorts", "cohorts"), ("outcomes", "outcomes"))
    }
    document["outcomes"][0]["value"] = 41
    document["cohorts"][0]["n_enrolled"] = 30
    document["adverse_events"].append(
        {"term": "Death", "organ_class": "respiratory", "serious": "yes", "n_affected": 1, "n_at_risk": 29}
    )
    updated, changed = study_update(study=study, document=document, by=curator)
    assert changed
    assert updated.edit_count == 2
    assert list(updated.cohorts.values_list("pk", flat=True)) == ids["cohorts"]
    assert list(updated.outcomes.values_list("pk", flat=True)) == ids["outcomes"]
    assert updated.outcomes.get().value == 41
    assert sorted(updated.adverse_events.values_list("term", flat=True)) == ["Death", "Pyrexia"]
    # The history reads as the changes they are: an outcome changed, nothing deleted and added again.
    assert list(m.OutcomeMeasure.history.filter(study_id=study.pk).values_list("history_type", flat=True)) == ["~", "+"]
    assert not m.Cohort.history.filter(study_id=study.pk, history_type="-").exists()


def test_reordering_rows_is_not_a_change(vocab, curator):
    document = draft()
    document["adverse_events"].append({**document["adverse_events"][0], "term": "Headache"})
    study = study_create(document=document, by=curator)
    stored = load_document(study)
    stored["adverse_events"].reverse()
    _study, changed = study_update(study=study, document=stored, by=curator)
    assert not changed


def test_a_row_sent_without_its_key_is_a_new_row(vocab, curator):
    study = study_create(document=draft(), by=curator)
    document = load_document(study)
    old_key = document["adverse_events"][0].pop("key")
    document["adverse_events"][0]["term"] = "Fever"
    study_update(study=study, document=document, by=curator)
    [row] = load_document(study)["adverse_events"]
    assert row["key"] != old_key and row["term"] == "Fever"


def test_the_document_may_repeat_the_state_it_cannot_change(vocab, curator):
    study = study_create(document=draft(), by=curator)
    document = load_document(study)
    assert document["curation_state"] == "draft"
    study_update(study=study, document={**document, "title": "Renamed"}, by=curator)
    with pytest.raises(DocumentError) as error:
        study_update(study=study, document={**document, "curation_state": "published"}, by=curator)
    assert list(error.value.errors) == ["curation_state"]


def test_a_published_study_is_not_edited_in_place(vocab, curator):
    study = f.full_study()
    with pytest.raises(StudyNotEditable, match="revision"):
        study_update(study=study, document=load_document(study), by=curator)


def test_accessions_are_never_reused(db):
    first = f.StudyFactory(accession=accession_reserve())
    first.delete()
    assert accession_reserve() > first.accession
