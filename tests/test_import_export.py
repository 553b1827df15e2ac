"""import_studies and export_studies: the curated dataset, backups, and the import's promises (idempotent for
every record, errors by position and path, nothing saved from a failing file unless --partial)."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import a_document
from trials import models as m
from trials.management.commands.import_studies import DEFAULT_DATASET


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


def write(tmp_path, studies: list, file_format: str = "neurocell-registry/2"):
    path = tmp_path / "studies.json"
    path.write_text(json.dumps({"format": file_format, "studies": studies}), encoding="utf-8")
    return path


def test_import_reports_errors_by_study_and_field_and_saves_nothing(vocab, tmp_path):
    bad = a_document(accession="NCR-000777")
    bad["adverse_events"][0]["n_affected"] = 30
    path = write(tmp_path, [a_document(accession="NCR-000001"), bad])
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_studies", str(path), stdout=out, stderr=err)
    assert "NCR-000777: adverse_events[0].n_affected" in err.getvalue()
    assert "Studies: 1 created, 0 updated, 0 unchanged, 1 with errors. Nothing was saved" in out.getvalue()
    assert not m.Study.objects.exists()  # a file that fails validation saves nothing


def test_import_with_partial_saves_the_valid_studies(vocab, tmp_path):
    bad = a_document(accession="NCR-000777")
    bad["adverse_events"][0]["n_affected"] = 30
    path = write(tmp_path, [a_document(accession="NCR-000001"), bad])
    with pytest.raises(CommandError):
        call_command("import_studies", str(path), "--partial", stdout=io.StringIO(), stderr=io.StringIO())
    assert list(m.Study.objects.values_list("accession", flat=True)) == ["NCR-000001"]


def test_a_malformed_entry_is_reported_by_position_with_a_summary(vocab, tmp_path):
    path = write(tmp_path, [a_document(accession="NCR-000001"), "not a study", 42])
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_studies", str(path), stdout=out, stderr=err)
    assert "studies[1]: non_field_errors: Expected a study document" in err.getvalue()
    assert "studies[2]" in err.getvalue()
    assert "2 with errors" in out.getvalue()
    assert not m.Study.objects.exists()


def test_new_studies_without_an_accession_are_found_again_by_registry_id(vocab, tmp_path):
    document = a_document()
    path = write(tmp_path, [document])
    call_command("import_studies", str(path), stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_studies", str(path), stdout=out)
    assert "0 created, 0 updated, 1 unchanged" in out.getvalue()
    assert m.Study.objects.count() == 1


def test_a_study_with_neither_accession_nor_registry_id_is_refused(vocab, tmp_path):
    document = a_document(registry_ids=[])
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_studies", str(write(tmp_path, [document])), stdout=io.StringIO(), stderr=err)
    assert "studies[0]: accession: Give the study's accession or a registry identifier" in err.getvalue()


def test_import_refuses_a_file_of_another_format(tmp_path, db):
    path = tmp_path / "x.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(CommandError, match="not a neurocell-registry/1 or neurocell-registry/2 document"):
        call_command("import_studies", str(path))


def test_import_does_not_change_a_state_only_the_workflow_changes(vocab, tmp_path):
    call_command("import_studies", str(write(tmp_path, [a_document(accession="NCR-000001")])), stdout=io.StringIO())
    err = io.StringIO()
    retracted = a_document(accession="NCR-000001", curation_state="retracted", retraction_reason="Because")
    with pytest.raises(CommandError):
        call_command("import_studies", str(write(tmp_path, [retracted])), stdout=io.StringIO(), stderr=err)
    assert "NCR-000001: curation_state: curation_state changes only through the review workflow" in err.getvalue()
    assert m.Study.objects.get().curation_state == "published"
