"""Importing ClinicalTrials.gov API v2 records into drafts: the mapping and its report, re-imports that
keep a curator's edits, and the admin upload and `import_ctgov` command that run it."""

import copy
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as f
from tests.i18n import chinese
from trials import choices as c
from trials import models as m
from trials.documents import DocumentError, comparable, load_document, vocabulary_upsert
from trials.interop.ctgov import map_record
from trials.services.ctgov import RecordError, study_import_ctgov
from trials.services.studies import StudyNotEditable, study_update
from trials.services.workflow import study_publish, study_submit

FIXTURES = Path(__file__).parent / "ctgov"


def record(nct_id: str = "NCT09990001") -> dict:
    return json.loads((FIXTURES / f"{nct_id}.json").read_text(encoding="utf-8"))


@pytest.fixture
def vocabularies(db):
    """The curated dataset's vocabularies (conditions, cell types, instruments), which the records map to."""
    curated = json.loads((Path(settings.BASE_DIR) / "trials" / "data" / "curated_studies.json").read_text(encoding="utf-8"))
    for name in ("conditions", "cell_types", "instruments"):
        vocabulary_upsert(name=name, items=curated["vocabularies"][name])


def entries(result, status: str) -> dict[str, dict]:
    return {entry.source: entry for entry in result.mapped.report if entry.status == status}


def test_cell_therapy_trial_with_results_becomes_a_draft(vocabularies):
    result = study_import_ctgov(record=record(), by=None)
    assert result.outcome == "created"
    study = result.study
    assert study.curation_state == c.CurationState.DRAFT
    document = load_document(study)
    # What the record says, in the registry's vocabularies.
    assert document["title"] == "Intrathecal Autologous Bone Marrow MSC-NTF Cells in Amyotrophic Lateral Sclerosis"
    assert (document["acronym"], document["phase"], document["allocation"], document["masking"]) == (
        "NTF-ALS", "phase2", "randomized", "double",
    )  # fmt: skip
    assert (document["overall_status"], document["start_date"], document["completion_date"]) == (
        "COMPLETED", "2018-03-14", "2020-12-15",
    )  # fmt: skip
    assert (document["enrollment"], document["enrollment_type"]) == (48, "actual")
    assert document["sponsor"] == "Example Neurotherapeutics, Inc."
    assert document["countries"] == ["US", "IL"]
    assert [(r["registry"], r["value"]) for r in document["registry_ids"]] == [
        ("NCT", "NCT09990001"),
        ("EudraCT", "2017-001234-56"),
    ]
    assert [row["condition"] for row in document["conditions"]] == ["amyotrophic-lateral-sclerosis"]
    cohorts = {cohort["label"]: cohort for cohort in document["cohorts"]}
    assert (cohorts["MSC-NTF cells"]["role"], cohorts["MSC-NTF cells"]["n_enrolled"]) == ("experimental", 36)
    cells = cohorts["MSC-NTF cells"]["interventions"][0]
    assert (cells["kind"], cells["cell_type"], cells["donor"], cells["route"]) == (
        "cell_product", "bone-marrow-msc", "autologous", "intrathecal",
    )  # fmt: skip
    assert cohorts["Placebo"]["interventions"][0]["kind"] == "placebo"
    assert document["control_type"] == "placebo"
    (msc, placebo) = document["outcomes"]
    assert (msc["cohort"], msc["instrument"], msc["statistic"], msc["change_value"], msc["dispersion_value"]) == (
        "MSC-NTF cells", "alsfrs-r", "mean_change", -5.6, 4.2,
    )  # fmt: skip
    assert (msc["timepoint"], msc["timepoint_unit"], msc["n_analysed"], msc["outcome_type"]) == (28, "week", 32, "primary")
    assert placebo["change_value"] == -6.3
    harms = {(row["term"], row["cohort"]): row for row in document["adverse_events"]}
    assert len(harms) == 10
    embolism = harms[("Pulmonary embolism", "MSC-NTF cells")]
    assert (embolism["serious"], embolism["organ_class"], embolism["n_affected"], embolism["n_at_risk"]) == (
        "yes",
        "respiratory",
        2,
        36,
    )
    assert harms[("Headache", "Placebo")]["n_events"] == 6
    assert document["publications"][0]["pmid"] == "30000001"
    # What has no field is kept as text for the curator, in the source note of the record.
    (source,) = document["sources"]
    assert source["document"] == "ctgov-nct09990001"
    for text in (
        "ALS diagnosed by the revised El Escorial criteria",
        "California Institute for Regenerative Medicine",
        "Motor Neuron Disease",
    ):
        assert text in source["curator_note"]
    # The report: mapped, guessed (to confirm) and left out, each naming where in the record.
    assert any(e.source == "designModule.phases" and e.field == "phase" for e in result.mapped.report if e.status == "mapped")
    guessed = entries(result, "guessed")
    assert "armsInterventionsModule.interventions[0]" in guessed and "referencesModule.references[0]" in guessed
    left_out = entries(result, "left_out")
    assert "eligibilityModule" in left_out and "conditionsModule.conditions[1]" in left_out
    assert "referencesModule.references[1]" in left_out  # a background reference is not about this study
    counts = result.mapped.counts()
    assert counts["mapped"] > 20 and counts["guessed"] > 5 and counts["left_out"] > 5
    record_row = m.CtgovImport.objects.get(nct_id="NCT09990001")
    assert record_row.study == study and record_row.report == result.mapped.report_json()


def test_the_stored_draft_reads_back_as_the_mapped_document(vocabularies):
    """The merge's common ancestor is exact: what was mapped is what a re-import compares the draft with."""
    for nct_id in ("NCT09990001", "NCT09990002"):
        result = study_import_ctgov(record=record(nct_id), by=None)
        assert comparable(load_document(result.study)) == comparable(result.mapped.document)


def test_recruiting_trial_without_results(vocabularies):
    result = study_import_ctgov(record=record("NCT09990002"), by=None)
    document = load_document(result.study)
    assert (document["overall_status"], document["phase"], document["phase_reported"]) == (
        "RECRUITING",
        "phase1_phase2",
        "PHASE1/PHASE2",
    )
    assert (document["enrollment"], document["enrollment_type"]) == (30, "anticipated")
    assert document["completion_date"] is None  # an anticipated date is not recorded as the completion date
    assert "Anticipated completion date: 2025-12" in document["sources"][0]["curator_note"]
    assert document["countries"] == ["CN", "KR"]
    assert document["control_type"] == "none"
    assert [row["condition"] for row in document["conditions"]] == ["ischemic-stroke"]
    intervention = document["cohorts"][0]["interventions"][0]
    assert (intervention["cell_type"], intervention["donor"], intervention["route"]) == (
        "umbilical-cord-msc",
        "allogeneic",
        "intravenous",
    )
    assert document["outcomes"] == [] and document["adverse_events"] == []


def test_reimport_of_the_same_record_changes_nothing(vocabularies):
    first = study_import_ctgov(record=record(), by=None)
    edits = first.study.edit_count
    again = study_import_ctgov(record=record(), by=None)
    assert (again.outcome, again.study.pk, again.conflicts) == ("unchanged", first.study.pk, [])
    assert m.Study.objects.filter(registry_ids__value="NCT09990001").count() == 1
    assert m.Study.objects.get(pk=first.study.pk).edit_count == edits
    assert m.CtgovImport.objects.get(nct_id="NCT09990001").import_count == 2


def test_reimport_updates_what_only_clinicaltrials_gov_changed_and_keeps_the_curators_edits(vocabularies):
    study = study_import_ctgov(record=record(), by=None).study
    document = load_document(study)
    document["title"] = "MSC-NTF in ALS (curated title)"
    document["cohorts"][0]["description"] = "Curator: dose per kg not reported."
    study, _ = study_update(study=study, document=document, by=None)
    harm_keys = {(row["term"], row["cohort"]): row["key"] for row in load_document(study)["adverse_events"]}

    changed = record()
    changed["protocolSection"]["identificationModule"]["briefTitle"] = "Repeated Intrathecal MSC-NTF Cells in ALS"
    changed["protocolSection"]["sponsorCollaboratorsModule"]["leadSponsor"]["name"] = "Example Neuro Holdings"
    changed["protocolSection"]["armsInterventionsModule"]["armGroups"][0]["description"] = "Three doses, eight weeks apart."
    headache = changed["resultsSection"]["adverseEventsModule"]["otherEvents"][0]["stats"][0]
    headache.update(numEvents=43, numAffected=26)
    result = study_import_ctgov(record=changed, by=None)

    after = load_document(result.study)
    assert result.outcome == "updated" and result.study.pk == study.pk
    assert after["title"] == "MSC-NTF in ALS (curated title)"  # the curator's, reported
    assert after["cohorts"][0]["description"] == "Curator: dose per kg not reported."
    assert {conflict["key"] for conflict in result.conflicts} == {"title", "cohorts"}
    assert result.conflicts[0]["clinicaltrials_gov"] == "Repeated Intrathecal MSC-NTF Cells in ALS"
    assert after["sponsor"] == "Example Neuro Holdings"  # only ClinicalTrials.gov changed it
    rows = {(row["term"], row["cohort"]): row for row in after["adverse_events"]}
    assert (rows[("Headache", "MSC-NTF cells")]["n_events"], rows[("Headache", "MSC-NTF cells")]["n_affected"]) == (43, 26)
    # Rows are updated in place: every harm keeps its key.
    assert {key: row["key"] for key, row in rows.items()} == harm_keys
    assert set(result.updated_keys) == {"sponsor", "adverse_events"}
    stored = m.CtgovImport.objects.get(nct_id="NCT09990001")
    assert stored.conflicts == result.conflicts and stored.document["sponsor"] == "Example Neuro Holdings"
    # The curator's decision stands: importing the same record again reports no conflict.
    assert study_import_ctgov(record=changed, by=None).conflicts == []


def test_a_published_study_is_not_changed_by_a_reimport(vocabularies):
    study = study_import_ctgov(record=record("NCT09990002"), by=None).study
    curator, reviewer = (User.objects.create_user(role, password="pw") for role in ("a-curator", "a-reviewer"))
    curator.groups.add(Group.objects.get(name="curator"))
    reviewer.groups.add(Group.objects.get(name="reviewer"))
    study_submit(study=study, by=curator)
    study_publish(study=m.Study.objects.get(pk=study.pk), by=reviewer)
    changed = record("NCT09990002")
    changed["protocolSection"]["statusModule"]["overallStatus"] = "ACTIVE_NOT_RECRUITING"
    with pytest.raises(StudyNotEditable, match="revision"):
        study_import_ctgov(record=changed, by=None)
    assert load_document(study)["overall_status"] == "RECRUITING"


def test_an_nct_number_of_another_study_or_a_non_record_is_refused_and_nothing_is_saved(vocabularies):
    other = f.StudyFactory()
    m.RegistryIdentifier.objects.create(study=other, registry="NCT", value="NCT09990001", key="nct1")
    before = m.Study.objects.count()
    with pytest.raises(DocumentError, match=other.accession):
        study_import_ctgov(record=record(), by=None)
    with pytest.raises(RecordError):
        study_import_ctgov(record={"studies": []}, by=None)
    broken = copy.deepcopy(record("NCT09990002"))
    broken["protocolSection"]["identificationModule"]["nctId"] = "12345"
    with pytest.raises(RecordError, match="nctId"):
        map_record(broken)
    assert m.Study.objects.count() == before and not m.CtgovImport.objects.exists()


def test_command_imports_and_prints_the_report(vocabularies, tmp_path):
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record()), encoding="utf-8")
    out = io.StringIO()
    call_command("import_ctgov", str(path), stdout=out)
    text = out.getvalue()
    assert "NCT09990001 → NCR-" in text and "(created)" in text
    assert "guessed" in text and "left_out" in text
    out = io.StringIO()
    call_command("import_ctgov", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue())["outcome"] == "unchanged"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="1 of 1"):
        call_command("import_ctgov", str(bad), stdout=io.StringIO(), stderr=io.StringIO())


def upload(client, payload: bytes):
    return client.post("/admin/trials/ctgovimport/upload/", {"record": SimpleUploadedFile("r.json", payload, "application/json")})


def test_admin_upload_creates_the_draft_and_shows_the_report(client, vocabularies):
    curator = User.objects.create_user("curator-x", password="pw", is_staff=True)
    curator.groups.add(Group.objects.get(name="curator"))
    client.force_login(curator)
    assert client.get("/admin/trials/ctgovimport/upload/").status_code == 200
    response = upload(client, json.dumps(record()).encode())
    assert response.status_code == 302
    imported = m.CtgovImport.objects.get(nct_id="NCT09990001")
    assert imported.imported_by == curator
    assert imported.study.history.first().history_user == curator
    page = client.get(response["Location"]).content.decode()
    assert "guessed: confirm" in page and "eligibilityModule" in page
    listing = client.get("/admin/trials/ctgovimport/").content.decode()
    assert "NCT09990001" in listing and "Import a ClinicalTrials.gov record" in listing
    refused = upload(client, b"{not json")
    assert refused.status_code == 200 and "Not a JSON file" in refused.content.decode()
    not_a_record = upload(client, b'{"studies": []}')
    assert "protocolSection" in not_a_record.content.decode()


def test_admin_upload_needs_the_permission_to_add_studies(client, vocabularies):
    visitor = User.objects.create_user("staff-only", password="pw", is_staff=True)
    client.force_login(visitor)
    assert upload(client, json.dumps(record()).encode()).status_code == 403
    assert not m.CtgovImport.objects.exists()


def test_the_import_speaks_chinese():
    for msgid in (
        "Import a ClinicalTrials.gov record",
        "guessed: confirm",
        "mapped / guessed / left out",
        "ClinicalTrials.gov imports",
    ):
        chinese(msgid)


def test_admin_list_of_imports_has_a_fixed_query_count(client, db):
    """The same queries for 2 rows as for 20: session and user, the counts, the page's rows with their
    study and user (list_select_related)."""
    admin_user = User.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin_user)
    counts = []
    for index in range(20):
        study = f.StudyFactory(curation_state=c.CurationState.DRAFT)
        m.CtgovImport.objects.create(nct_id=f"NCT0999{index:04d}", study=study, record={}, document={}, imported_by=admin_user)
        if index + 1 in (2, 20):
            with CaptureQueriesContext(connection) as queries:
                response = client.get("/admin/trials/ctgovimport/")
            assert response.status_code == 200
            assert response.content.decode().count("NCT0999") >= index + 1
            counts.append(len(queries))
    assert counts[0] == counts[1] <= 8, counts
