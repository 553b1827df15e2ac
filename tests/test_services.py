"""The study document write path (`study_save_document`) and the import/export commands built on it."""

import copy
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests import factories as f
from trials import models as m
from trials.api.serializers import document_queryset, study_document
from trials.management.commands.import_studies import DEFAULT_DATASET
from trials.services import DocumentError, accession_reserve, study_save_document


@pytest.fixture
def vocab(db):
    f.ConditionFactory(slug="amyotrophic-lateral-sclerosis", name="ALS")
    f.CellTypeFactory(slug="umbilical-cord-msc", name="UC-MSC")
    f.InstrumentFactory(slug="alsfrs-r", name="ALSFRS-R")


def a_document(**overrides) -> dict:
    document = {
        "title": "UC-MSC in ALS",
        "title_zh": "脐带间充质干细胞治疗肌萎缩侧索硬化",
        "study_type": "interventional",
        "phase": "phase1",
        "overall_status": "COMPLETED",
        "start_date": "2016",
        "completion_date": "2016-09",
        "enrollment": 29,
        "enrollment_type": "actual",
        "countries": ["CN"],
        "curation_state": "published",
        "conditions": [{"condition": "amyotrophic-lateral-sclerosis", "detail": "sporadic"}],
        "registry_ids": [{"registry": "NCT", "value": "NCT02354625"}],
        "publications": [{"title": "Short-term efficacy", "journal": "山东医药", "date": "2016-09-30", "doi": "10.1000/x.1"}],
        "cohorts": [
            {
                "label": "UC-MSC",
                "role": "experimental",
                "n_enrolled": 29,
                "interventions": [
                    {
                        "kind": "cell_product",
                        "name": "UC-MSC",
                        "cell_type": "umbilical-cord-msc",
                        "donor": "allogeneic",
                        "route": "intrathecal",
                    }
                ],
            }
        ],
        "outcomes": [
            {
                "cohort": "UC-MSC",
                "instrument": "alsfrs-r",
                "statistic": "mean",
                "timepoint": 28,
                "timepoint_unit": "day",
                "value": 40,
            }
        ],
        "adverse_events": [
            {"cohort": "UC-MSC", "term": "Pyrexia", "organ_class": "general", "serious": "no", "n_affected": 2, "n_at_risk": 29}
        ],
    }
    document.update(overrides)
    return document


def test_creates_a_whole_study_with_a_new_accession(vocab):
    study, changed = study_save_document(document=a_document())
    assert changed
    assert study.accession.startswith("NCR-")
    assert study.start_display == "2016"
    assert study.completion_display == "2016-09"
    assert study.cohorts.get().interventions.get().cell_type.slug == "umbilical-cord-msc"
    assert study.outcomes.get().cohort.label == "UC-MSC"
    assert study.adverse_events.get().cohort.label == "UC-MSC"
    assert study.published_at is not None


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
        (lambda d: d.update(phase="phase9"), "phase"),
        (lambda d: d.update(sponsr="typo"), "sponsr"),
        (lambda d: d["outcomes"][0].update(p_value=1.5, p_qualifier="="), "outcomes[0].p_value"),
        (lambda d: d["cohorts"].append(dict(d["cohorts"][0], interventions=[])), "cohorts[1].label"),
    ],
)
def test_invalid_documents_name_the_field_and_save_nothing(vocab, change, path):
    document = a_document()
    change(document)
    with pytest.raises(DocumentError) as error:
        study_save_document(document=document)
    assert path in error.value.errors, error.value.errors
    assert not m.Study.objects.exists()
    assert not m.Cohort.objects.exists()


def test_a_failed_update_leaves_the_stored_study_untouched(vocab):
    study, _ = study_save_document(document=a_document())
    before = study_document(document_queryset().get(pk=study.pk))
    broken = a_document(accession=study.accession, title="Renamed")
    broken["adverse_events"][0]["n_affected"] = 99
    with pytest.raises(DocumentError):
        study_save_document(document=broken)
    assert study_document(document_queryset().get(pk=study.pk)) == before


def test_registry_id_owned_by_another_study_is_refused(vocab):
    study_save_document(document=a_document())
    with pytest.raises(DocumentError) as error:
        study_save_document(document=a_document(title="Another study"))
    assert "already registered to NCR-" in error.value.errors["registry_ids[0].value"][0]


def test_saving_the_same_document_changes_nothing(vocab):
    study, _ = study_save_document(document=a_document())
    history_rows = m.Study.history.count() + m.Cohort.history.count()
    document = study_document(document_queryset().get(pk=study.pk))
    again, changed = study_save_document(document=copy.deepcopy(document))
    assert not changed
    assert again.version == study.version == 1
    assert m.Study.history.count() + m.Cohort.history.count() == history_rows


def test_a_real_change_replaces_children_and_bumps_the_version(vocab):
    study, _ = study_save_document(document=a_document())
    document = a_document(accession=study.accession)
    document["adverse_events"].append(
        {"term": "Death", "organ_class": "respiratory", "serious": "yes", "n_affected": 1, "n_at_risk": 29}
    )
    updated, changed = study_save_document(document=document)
    assert changed
    assert updated.version == 2
    assert sorted(updated.adverse_events.values_list("term", flat=True)) == ["Death", "Pyrexia"]


def test_accessions_are_never_reused(db):
    first = f.StudyFactory(accession=accession_reserve())
    first.delete()
    assert accession_reserve() > first.accession


def load(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def export() -> dict:
    out = io.StringIO()
    call_command("export_studies", stdout=out)
    return json.loads(out.getvalue())


def without_server_fields(payload: dict) -> dict:
    for study in payload["studies"]:
        study.pop("updated_at")
        study.pop("version")
    # The restored database writes its own audit rows; the exported change log is a record of the old one.
    for record in payload.get("records", {}).values():
        record.pop("change_log")
    return payload


def test_curated_dataset_imports_idempotently_and_round_trips(db, tmp_path):
    out = io.StringIO()
    call_command("import_studies", stdout=out)
    dataset = load(DEFAULT_DATASET)
    assert f"{len(dataset['studies'])} created" in out.getvalue()

    out = io.StringIO()
    call_command("import_studies", stdout=out)
    assert f"0 created, 0 updated, {len(dataset['studies'])} unchanged" in out.getvalue()

    first = export()
    assert [s["accession"] for s in first["studies"]] == sorted(s["accession"] for s in dataset["studies"])
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps(first, ensure_ascii=False), encoding="utf-8")

    m.Study.objects.all().delete()
    call_command("import_studies", str(backup), stdout=io.StringIO())
    assert without_server_fields(export()) == without_server_fields(first)


def test_curated_dataset_is_faithful_to_its_file(db):
    """Export reproduces every curated value, so nothing in the file is silently dropped or altered."""
    call_command("import_studies", stdout=io.StringIO())
    exported = {s["accession"]: s for s in export()["studies"]}
    for study in load(DEFAULT_DATASET)["studies"]:
        stored = exported[study["accession"]]
        for key, value in study.items():
            # Keys the file leaves out take their defaults; every key it gives must come back as given.
            assert as_given(stored[key], value) == value, (study["accession"], key)


def as_given(stored, given):
    """`stored` with only the keys `given` has, at every depth."""
    if isinstance(given, dict) and isinstance(stored, dict):
        return {name: as_given(stored.get(name), value) for name, value in given.items()}
    if isinstance(given, list) and isinstance(stored, list) and len(given) == len(stored):
        return [as_given(row, value) for row, value in zip(stored, given, strict=True)]
    return stored


def test_import_reports_errors_by_study_and_field(vocab, tmp_path):
    bad = a_document(accession="NCR-000777")
    bad["adverse_events"][0]["n_affected"] = 30
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "neurocell-registry/1", "studies": [a_document(), bad]}), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_studies", str(path), stdout=io.StringIO(), stderr=err)
    assert "NCR-000777: adverse_events[0].n_affected" in err.getvalue()
    assert m.Study.objects.count() == 1  # the valid study is imported, the broken one not at all
    assert not m.Study.objects.filter(accession="NCR-000777").exists()


def test_import_refuses_a_file_of_another_format(tmp_path, db):
    path = tmp_path / "x.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(CommandError, match="not a neurocell-registry/1 document"):
        call_command("import_studies", str(path))
