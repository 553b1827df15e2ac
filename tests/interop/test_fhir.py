"""FHIR R5: every curated study as a ResearchStudy and its harms as AdverseEvents, validated by the
fhir.resources R5 models; the search Bundle, its filters and paging; errors as OperationOutcomes."""

import pytest
from fhir.resources.adverseevent import AdverseEvent
from fhir.resources.bundle import Bundle
from fhir.resources.capabilitystatement import CapabilityStatement
from fhir.resources.researchstudy import ResearchStudy

from tests import factories as f
from trials import choices as c
from trials import models as m

FHIR_JSON = "application/fhir+json"


def test_every_curated_study_validates_as_research_study_and_its_harms_as_adverse_events(client, curated_dataset):
    studies = list(m.Study.objects.published().order_by("accession"))
    assert len(studies) == 20
    adverse_events = 0
    for study in studies:
        response = client.get(f"/fhir/ResearchStudy/{study.accession}")
        assert response.status_code == 200
        assert response["Content-Type"] == FHIR_JSON
        resource = ResearchStudy.model_validate(response.json())
        assert resource.id == study.accession
        assert resource.status == "active"
        bundle = Bundle.model_validate(client.get(f"/fhir/AdverseEvent?study={study.accession}").json())
        for entry in bundle.entry or []:
            event = AdverseEvent.model_validate(entry.resource.model_dump())
            assert event.study[0].reference == f"ResearchStudy/{study.accession}"
            adverse_events += 1
        assert (bundle.total or 0) == study.adverse_events.count()
    assert adverse_events == m.AdverseEvent.objects.filter(study__curation_state="published").count() > 0


def test_research_study_carries_the_document(client, study):
    """The factory's study: condition with its MeSH id, phase, status, arm, sponsor, identifiers, citation."""
    m.Condition.objects.filter(slug="amyotrophic-lateral-sclerosis").update(mesh_id="D000690")
    m.Study.objects.filter(pk=study.pk).update(sponsor="Shandong University", institutions="Site A\nSite B")
    data = client.get(f"/fhir/ResearchStudy/{study.accession}").json()
    ResearchStudy.model_validate(data)
    assert data["identifier"][0] == {"use": "official", "system": "http://testserver/studies", "value": study.accession}
    registry_id = study.registry_ids.get()
    assert {"use": "secondary", "value": registry_id.value, "system": "https://clinicaltrials.gov"}.items() <= data["identifier"][
        1
    ].items()
    assert data["condition"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/MSH",
        "code": "D000690",
        "display": "Amyotrophic lateral sclerosis",
    }
    assert data["phase"]["coding"][0]["code"] == "phase-1"
    assert data["progressStatus"][1]["state"]["coding"][0]["code"] == "completed"
    assert data["associatedParty"] == [
        {
            "name": "Shandong University",
            "role": {
                "coding": [{"system": "http://hl7.org/fhir/research-study-party-role", "code": "sponsor"}],
                "text": "Sponsor",
            },
        }
    ]
    assert [site["display"] for site in data["site"]] == ["Site A", "Site B"]
    cohort = study.cohorts.get()
    assert data["comparisonGroup"][0]["name"] == cohort.label
    assert data["region"][0]["coding"][0]["code"] == "CN"
    labels = [artifact.get("label") for artifact in data["relatedArtifact"]]
    assert {"registry-record", "results", "adverse-events", "progress"} <= set(labels)
    citation = next(a for a in data["relatedArtifact"] if a["type"] == "citation")
    assert citation["display"] == study.publications.get().title


def test_adverse_event_is_an_aggregate_count_for_the_cohort_group(client, study):
    event_row = study.adverse_events.get()
    m.AdverseEvent.objects.filter(pk=event_row.pk).update(n_at_risk=12, n_events=2, grade=3)
    bundle = client.get(f"/fhir/AdverseEvent?study=ResearchStudy/{study.accession}").json()
    Bundle.model_validate(bundle)
    event = bundle["entry"][0]["resource"]
    assert event["subject"] == {"reference": "#participants", "display": event_row.cohort.label}
    assert event["contained"][0]["resourceType"] == "Group"
    assert event["contained"][0]["quantity"] == 12
    counts = {ext["url"].rsplit("/", 1)[-1]: ext["valueInteger"] for ext in event["extension"]}
    assert counts == {"ae-participants-affected": 1, "ae-events": 2, "ae-participants-at-risk": 12, "ae-grade": 3}
    assert event["seriousness"]["coding"][0]["code"] == "serious"
    single = client.get(f"/fhir/AdverseEvent/{event['id']}")
    assert single.status_code == 200
    assert AdverseEvent.model_validate(single.json()).id == event["id"]


def test_search_filters_by_condition_and_status_and_pages(client, db):
    als = f.ConditionFactory(slug="als", name="ALS", mesh_id="D000690")
    stroke = f.ConditionFactory(slug="stroke", name="Stroke")
    for index in range(3):
        study = f.StudyFactory(overall_status=c.OverallStatus.COMPLETED)
        m.StudyCondition.objects.create(study=study, condition=als if index < 2 else stroke)
    recruiting = f.StudyFactory(overall_status=c.OverallStatus.RECRUITING)
    m.StudyCondition.objects.create(study=recruiting, condition=als)
    f.StudyFactory(curation_state=c.CurationState.DRAFT)  # never served
    retracted = f.StudyFactory(curation_state=c.CurationState.RETRACTED)

    def ids(query: str) -> list[str]:
        response = client.get(f"/fhir/ResearchStudy{query}")
        assert response.status_code == 200, response.content
        bundle = Bundle.model_validate(response.json())
        return [entry.resource.id for entry in bundle.entry or []]

    assert len(ids("")) == 5
    assert len(ids("?condition=als")) == 3
    assert len(ids("?condition=http://terminology.hl7.org/CodeSystem/MSH|D000690")) == 3
    assert ids("?condition=als&status=recruiting") == [recruiting.accession]
    assert ids("?status=retired") == [retracted.accession]
    assert len(ids("?condition=als,stroke&status=completed")) == 3
    first = client.get("/fhir/ResearchStudy?_count=2").json()
    assert first["total"] == 5 and len(first["entry"]) == 2
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = client.get(following).json()
    assert {e["resource"]["id"] for e in second["entry"]}.isdisjoint({e["resource"]["id"] for e in first["entry"]})


def test_unknown_parameters_and_values_are_one_operation_outcome(client, db):
    response = client.get("/fhir/ResearchStudy?conditon=als&foo=1")
    assert response.status_code == 400
    assert response["Content-Type"] == FHIR_JSON
    issues = response.json()["issue"]
    assert [issue["expression"] for issue in issues] == [["conditon"], ["foo"]]
    assert "Did you mean condition?" in issues[0]["diagnostics"]
    bad_values = client.get("/fhir/ResearchStudy?condition=nonexistent&status=bogus&_count=0").json()["issue"]
    assert {issue["expression"][0] for issue in bad_values} == {"condition", "status"}
    assert client.get("/fhir/ResearchStudy?_count=0").status_code == 400
    assert client.get("/fhir/AdverseEvent").status_code == 400


def test_drafts_are_not_found(client, db):
    draft = f.StudyFactory(curation_state=c.CurationState.DRAFT)
    response = client.get(f"/fhir/ResearchStudy/{draft.accession}")
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"
    assert client.get(f"/fhir/AdverseEvent?study={draft.accession}").status_code == 404


def test_capability_statement_validates(client, db):
    CapabilityStatement.model_validate(client.get("/fhir/metadata").json())


@pytest.mark.parametrize("rows", [2, 20])
def test_search_has_a_fixed_query_count(client, db, django_assert_num_queries, rows):
    for _ in range(rows):
        f.InterventionFactory(cohort=f.CohortFactory(study=f.StudyFactory()))
    # Vocabularies (conditions, cell types, instruments), the total, the page of studies, then one query per
    # part of the document (cohorts and their interventions count two) and the countries.
    with django_assert_num_queries(19):
        response = client.get("/fhir/ResearchStudy?_count=50")
    assert len(response.json()["entry"]) == rows
