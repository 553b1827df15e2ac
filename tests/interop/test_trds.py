"""WHO TRDS as ICTRP-style XML: every curated study validates against the XSD in the repository, all 24
items are present in TRDS order, the search takes the API's filters, and the README maps every item."""

from pathlib import Path

import pytest
from lxml import etree

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.filters import StudyFilterSet
from trials.interop import trds

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(trds.SCHEMA_PATH)))


def test_every_curated_study_validates_with_all_24_items(client, curated_dataset, schema):
    for study in m.Study.objects.published():
        response = client.get(f"/api/v1/trds/studies/{study.accession}/")
        assert response.status_code == 200
        assert response["Content-Type"] == trds.CONTENT_TYPE
        root = etree.fromstring(response.content)
        schema.assertValid(root)
        (trial,) = root.findall("Trial")
        assert [int(item.get("trds")) for item in trial] == list(range(1, 25))
        assert trial.findtext("Main/TrialID") == study.accession


def test_search_is_one_valid_document_with_the_api_filters(client, curated_dataset, schema):
    response = client.get("/api/v1/trds/studies/?condition=spinal-cord-injury&page_size=200")
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    schema.assertValid(root)
    expected = StudyFilterSet({"condition": ["spinal-cord-injury"]}, queryset=m.Study.objects.public()).qs.count()
    assert len(root.findall("Trial")) == int(response["X-Total-Count"]) == expected > 0
    paged = client.get("/api/v1/trds/studies/?page_size=5")
    assert len(etree.fromstring(paged.content).findall("Trial")) == 5
    assert 'rel="next"' in paged["Link"]


def test_items_carry_the_document(client, study, schema):
    m.Study.objects.filter(pk=study.pk).update(
        sponsor="Shandong University", title_zh="中文标题", enrollment=29, enrollment_type="actual"
    )
    f.OutcomeFactory(study=study, cohort=study.cohorts.get(), outcome_type=c.OutcomeType.PRIMARY)
    m.RegulatoryMilestone.objects.create(study=study, kind="ethics_approved", agency="IRB", reference="2015-01", key="e1")
    root = etree.fromstring(client.get(f"/api/v1/trds/studies/{study.accession}/").content)
    schema.assertValid(root)
    trial = root.find("Trial")
    assert trial.findtext("Primary_sponsor") == "Shandong University"
    assert [t.text for t in trial.findall("Public_title/Title")] == [study.title, "中文标题"]
    assert trial.find("Secondary_IDs/Secondary_ID").text == study.registry_ids.get().value
    assert trial.find("Countries/Country").get("code") == "CN"
    assert trial.findtext("Target_size") == "29"
    assert trial.findtext("Recruitment_status") == "Completed"
    assert trial.findtext("Ethics_reviews/Ethics_review/Reference") == "2015-01"
    assert trial.find("Primary_outcomes/Outcome") is not None
    assert "Death (serious)" in trial.findtext("Results/Adverse_events")
    assert trial.findtext("Public_contacts") == "" and len(trial.find("Public_contacts")) == 0  # unknown stays empty


def test_drafts_and_unknown_parameters(client, db):
    draft = f.StudyFactory(curation_state=c.CurationState.DRAFT)
    assert client.get(f"/api/v1/trds/studies/{draft.accession}/").status_code == 404
    response = client.get("/api/v1/trds/studies/?conditon=x&page_size=0")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"conditon"}
    assert client.get("/api/v1/trds/studies/?page_size=0").json()["errors"].keys() == {"page_size"}
    assert client.get("/api/v1/trds/studies/?phase=nonsense").status_code == 400


def test_invalid_xml_is_refused_by_the_schema(schema):
    """The schema is a real check: a record without an item fails it."""
    root = etree.fromstring(
        b'<Trials_downloaded_from_ICTRP export_date="2026-01-01"><Trial><Main trds="1"/></Trial></Trials_downloaded_from_ICTRP>'
    )
    assert not schema.validate(root)


def test_readme_maps_every_item():
    text = README.read_text(encoding="utf-8")
    section = text.split("### WHO TRDS / ICTRP", 1)[1].split("\n## ", 1)[0]
    for number, element in trds.ITEM_ELEMENTS:
        assert f"| {number} |" in section and f"`{element}`" in section, (number, element)


@pytest.mark.parametrize("rows", [2, 20])
def test_search_has_a_fixed_query_count(client, db, django_assert_num_queries, rows):
    for _ in range(rows):
        f.InterventionFactory(cohort=f.CohortFactory(study=f.StudyFactory()))
    # The total, the page of studies, the countries, one query per part (interventions too), the vocabularies.
    with django_assert_num_queries(19):
        response = client.get("/api/v1/trds/studies/?page_size=50")
    assert response.status_code == 200
    assert len(etree.fromstring(response.content).findall("Trial")) == rows
