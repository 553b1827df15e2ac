"""Reading studies: the search page's filters, ordering, pagination, field selection, documents and facets."""

import datetime as dt

import pytest
from rest_framework.fields import DateTimeField

from tests import factories as f
from tests.api.conftest import accessions, results
from trials import choices as c
from trials import models as m
from trials.documents import load_document
from trials.filters import StudyFilterSet

LIST = "/api/v1/studies/"


def timestamp(value: dt.datetime) -> str:
    return DateTimeField().to_representation(value)


@pytest.fixture
def pair(db):
    """Two public studies that differ on every filter: `als` (the full factory study) and `sci`."""
    als = f.full_study(
        enrollment=40,
        enrollment_type=c.EnrollmentType.ACTUAL,
        start_date=dt.date(2015, 1, 1),
        start_date_precision=c.DatePrecision.YEAR,
        updated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    parent = f.ConditionFactory(slug="spinal-cord-injury", name="Spinal cord injury")
    cervical = f.ConditionFactory(slug="cervical-spinal-cord-injury", name="Cervical SCI", parent=parent)
    sci = f.StudyFactory(
        title="Autologous Schwann cells in chronic cervical injury",
        study_type=c.StudyType.OBSERVATIONAL,
        phase="",
        overall_status=c.OverallStatus.RECRUITING,
        enrollment=10,
        enrollment_type=c.EnrollmentType.ANTICIPATED,
        start_date=dt.date(2021, 6, 1),
        start_date_precision=c.DatePrecision.MONTH,
        updated_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    m.StudyCondition.objects.create(study=sci, condition=cervical)
    m.StudyCountry.objects.create(study=sci, country="US")
    cohort = f.CohortFactory(study=sci, label="Schwann")
    f.InterventionFactory(
        cohort=cohort,
        name="Autologous Schwann cells",
        cell_type=f.CellTypeFactory(slug="schwann-cells", name="Schwann cells", category=c.CellCategory.GLIAL),
        source_tissue=c.SourceTissue.PERIPHERAL_NERVE,
        donor=c.Donor.AUTOLOGOUS,
        route=c.Route.INTRASPINAL,
    )
    motor = f.InstrumentFactory(slug="isncsci-motor", name="ISNCSCI motor score")
    # An outcome named, nothing reported for it yet: the study has no results.
    f.OutcomeFactory(study=sci, cohort=cohort, instrument=motor, value=None, baseline_value=None, finding="")
    f.AdverseEventFactory(study=sci, cohort=cohort, term="Headache", n_affected=1, n_at_risk=4)
    # Eligibility, sites and sponsors: adults of either sex in Guangzhou (a university) against men of
    # 16 to 60 in Boston (a company).
    m.Study.objects.filter(pk=als.pk).update(
        min_age=18, min_age_unit="year", max_age=75, max_age_unit="year", eligible_sex="all", healthy_volunteers=False
    )
    m.Study.objects.filter(pk=sci.pk).update(
        min_age=16, min_age_unit="year", max_age=60, max_age_unit="year", eligible_sex="male", healthy_volunteers=True
    )
    f.SiteFactory(study=als, facility="Guangzhou Hospital", city="Guangzhou", country="CN")
    f.SiteFactory(study=sci, facility="Boston Hospital", city="Boston", country="US")
    f.StudyOrganisationFactory(study=als, organisation=f.OrganisationFactory(slug="sysu", name="Sun Yat-sen University"))
    company = f.OrganisationFactory(slug="cellgen", name="CellGen", kind=c.OrganisationKind.INDUSTRY, country="US")
    f.StudyOrganisationFactory(study=sci, organisation=company)
    als.refresh_from_db()
    sci.refresh_from_db()
    return als, sci


# One hit and one miss per filter: (parameters, the pair's studies they select).
FILTER_CASES = [
    ("q=Schwann", ["sci"]),
    ("q=no-such-words", []),
    ("condition=spinal-cord-injury", ["sci"]),  # through its narrower condition
    ("condition=amyotrophic-lateral-sclerosis", ["als"]),
    ("cell_type=umbilical-cord-msc", ["als"]),
    ("cell_type=schwann-cells", ["sci"]),
    ("cell_category=msc", ["als"]),
    ("cell_category=glial", ["sci"]),
    ("source_tissue=umbilical_cord", ["als"]),
    ("source_tissue=peripheral_nerve", ["sci"]),
    ("donor=allogeneic", ["als"]),
    ("donor=autologous", ["sci"]),
    ("route=intrathecal", ["als"]),
    ("route=intraspinal", ["sci"]),
    ("phase=phase1", ["als"]),
    ("phase=phase2", []),
    ("status=COMPLETED", ["als"]),
    ("status=RECRUITING", ["sci"]),
    ("status=COMPLETED&status=RECRUITING", ["als", "sci"]),  # repeated: any of
    ("study_type=interventional", ["als"]),
    ("study_type=observational", ["sci"]),
    ("country=CN", ["als"]),
    ("country=US", ["sci"]),
    ("instrument=alsfrs-r", ["als"]),
    ("instrument=isncsci-motor", ["sci"]),
    ("start_year_min=2020", ["sci"]),
    ("start_year_max=2016", ["als"]),
    ("enrollment_min=20", ["als"]),
    ("enrollment_max=20", ["sci"]),
    ("has_results=true", ["als"]),
    ("has_results=false", ["sci"]),
    ("has_serious_ae=true", ["als"]),
    ("has_serious_ae=false", ["sci"]),
    ("trust=registered", ["als"]),  # the full study has a registry id, the other none
    ("trust=registered&trust=authorised", []),  # all of them: no study is authorised
    ("ordering=accession", ["als", "sci"]),
    ("age=70", ["als"]),
    ("age=17", ["sci"]),
    ("sex=female", ["als"]),
    ("healthy_volunteers=true", ["sci"]),
    ("city=Guangzhou", ["als"]),
    ("city=Tokyo", []),
    ("near=Guangzhou", ["als"]),
    ("radius_km=30&near=Cambridge, US", ["sci"]),
    ("organisation=sysu", ["als"]),
    ("sponsor_kind=industry", ["sci"]),
    ("sponsor_kind=government", []),
]


@pytest.mark.parametrize(("query", "expected"), FILTER_CASES)
def test_each_filter_selects_its_study(anon, pair, query, expected):
    named = {"als": pair[0].accession, "sci": pair[1].accession}
    response = anon.get(f"{LIST}?{query}&ordering=accession" if "ordering" not in query else f"{LIST}?{query}")
    assert accessions(response) == [named[name] for name in expected]


def test_every_filter_of_the_search_page_is_tested():
    tested = {query.split("=")[0] for query, _expected in FILTER_CASES}
    assert tested == set(StudyFilterSet.base_filters)


@pytest.mark.parametrize(
    ("ordering", "first"),
    [
        ("-start_date", "sci"),
        ("start_date", "als"),
        ("-enrollment", "als"),
        ("enrollment", "sci"),
        ("-phase", "als"),
        ("phase", "sci"),
        ("-updated_at", "sci"),
        ("accession", "als"),
        ("relevance", "sci"),  # without q: most recently updated first
        ("", "sci"),  # the page's default
    ],
)
def test_ordering_as_on_the_search_page(anon, pair, ordering, first):
    named = {"als": pair[0].accession, "sci": pair[1].accession}
    assert accessions(anon.get(f"{LIST}?ordering={ordering}"))[0] == named[first]


def test_invalid_filter_value_is_a_400_naming_the_parameter(anon, pair):
    response = anon.get(f"{LIST}?phase=phase9&start_year_min=abc")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"phase", "start_year_min"}


def test_only_published_and_retracted_studies_are_listed(anon, db):
    shown = [f.StudyFactory(curation_state=state) for state in (c.CurationState.PUBLISHED, c.CurationState.RETRACTED)]
    for state in (c.CurationState.DRAFT, c.CurationState.IN_REVIEW):
        f.StudyFactory(curation_state=state)
    assert sorted(accessions(anon.get(f"{LIST}?ordering=accession"))) == [study.accession for study in shown]


def test_summary_item_is_the_documented_shape(anon, published):
    published.refresh_from_db()
    item = results(anon.get(LIST))[0]
    assert item == {
        "accession": published.accession,
        "title": published.title,
        "title_zh": "",
        "acronym": "",
        "study_type": "interventional",
        "phase": "phase1",
        "overall_status": "COMPLETED",
        "curation_state": "published",
        "conditions": ["amyotrophic-lateral-sclerosis"],
        "cell_types": ["umbilical-cord-msc"],
        "source_tissues": ["umbilical_cord"],
        "donors": ["allogeneic"],
        "routes": ["intrathecal"],
        "enrollment": None,
        "enrollment_type": "",
        "start_date": None,
        "completion_date": "2020",
        "countries": ["CN"],
        "min_age": None,
        "min_age_unit": "",
        "max_age": None,
        "max_age_unit": "",
        "eligible_sex": "",
        "healthy_volunteers": None,
        "organisations": [],
        "cities": [],
        "has_results": True,
        "has_serious_ae": True,
        "trust": {
            "registered": "yes",
            "prospective": "unknown",
            "authorised": "unknown",
            "patient_pays": "unknown",
            "peer_reviewed": "yes",  # the publication has a PMID
            "results_posted": "yes",
            "stale": "no",  # completed
        },
        "version": None,  # the factory's study has no published version recorded
        "updated_at": timestamp(published.updated_at),
        "url": f"http://testserver/api/v1/studies/{published.accession}/",
    }


def test_summary_lists_cell_products_only_and_each_value_once(anon, published):
    cohort = published.cohorts.get()
    f.InterventionFactory(cohort=cohort, name="Second batch")  # same cell type, donor and route
    f.InterventionFactory(
        cohort=cohort,
        kind=c.InterventionKind.REHABILITATION,
        name="Training",
        cell_type=None,
        donor="",
        source_tissue="",
        route="",
    )
    item = results(anon.get(LIST))[0]
    assert (item["cell_types"], item["donors"], item["routes"]) == (["umbilical-cord-msc"], ["allogeneic"], ["intrathecal"])


# --- pagination and field selection ------------------------------------------------------------


def test_pages_carry_a_count_and_only_the_links_that_exist(anon, db):
    for _ in range(5):
        f.StudyFactory()
    first = anon.get(f"{LIST}?page_size=2&ordering=accession").json()
    assert first["count"] == 5
    assert "previous" not in first
    assert first["next"] == "http://testserver/api/v1/studies/?ordering=accession&page=2&page_size=2"
    middle = anon.get(first["next"]).json()
    assert set(middle) == {"count", "next", "previous", "results"}
    last = anon.get(middle["next"]).json()
    assert "next" not in last
    assert len(last["results"]) == 1


def test_one_page_has_no_links(anon, published):
    assert set(anon.get(LIST).json()) == {"count", "results"}


def test_page_size_goes_up_to_1000(anon, db):
    for _ in range(3):
        f.StudyFactory()
    assert len(results(anon.get(f"{LIST}?page_size=1000"))) == 3


@pytest.mark.parametrize("query", ["page_size=1001", "page_size=0", "page_size=ten", "page=0", "page=two"])
def test_malformed_paging_is_a_400(anon, db, query):
    response = anon.get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [query.split("=")[0]]


def test_a_page_past_the_end_is_a_404(anon, published):
    response = anon.get(f"{LIST}?page=2")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_fields_selects_keys_in_their_documented_order(anon, published):
    item = results(anon.get(f"{LIST}?fields=url,accession&fields=has_results"))[0]
    assert list(item) == ["accession", "has_results", "url"]


@pytest.mark.parametrize("fields", ["accession,sponsor", "accession,", ","])
def test_unknown_or_empty_field_name_is_a_400(anon, published, fields):
    response = anon.get(f"{LIST}?fields={fields}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["fields"][0].startswith("Unknown field(s): ")


def test_empty_fields_parameter_means_all(anon, published):
    assert results(anon.get(f"{LIST}?fields=")) == results(anon.get(LIST))


# --- whole documents ------------------------------------------------------------------------------


def document_of(study: m.Study) -> dict:
    return load_document(study)


def test_detail_is_the_export_document(anon, published):
    response = anon.get(f"{LIST}{published.accession}/")
    assert response.status_code == 200
    assert response.json() == document_of(published)


def test_expand_children_lists_whole_documents(anon, pair):
    items = results(anon.get(f"{LIST}?expand=children&ordering=accession"))
    assert items == [document_of(study) for study in pair]


def test_expand_with_fields_selects_document_keys(anon, published):
    assert results(anon.get(f"{LIST}?expand=children&fields=accession,adverse_events"))[0] == {
        "accession": published.accession,
        "adverse_events": document_of(published)["adverse_events"],
    }


def test_unknown_expansion_is_a_400(anon, published):
    response = anon.get(f"{LIST}?expand=everything")
    assert response.status_code == 400
    assert "expand" in response.json()["error"]["fields"]


@pytest.mark.parametrize("state", [c.CurationState.DRAFT, c.CurationState.IN_REVIEW])
def test_unpublished_study_is_not_found_for_anonymous_and_read_only_callers(anon, reader, state):
    study = f.StudyFactory(curation_state=state)
    for client in (anon, reader):
        assert client.get(f"{LIST}{study.accession}/").status_code == 404


def test_curators_read_drafts_they_may_edit(curator, draft):
    response = curator.get(f"{LIST}{draft.accession}/")
    assert response.status_code == 200
    assert response.json()["curation_state"] == "draft"
    assert "Authorization" in response["Vary"]


def test_retracted_study_is_readable_with_its_reason(anon, db):
    study = f.StudyFactory(curation_state=c.CurationState.RETRACTED)
    assert anon.get(f"{LIST}{study.accession}/").json()["retraction_reason"] == "Retracted in a test."


# --- facets ---------------------------------------------------------------------------------------


def test_facets_are_the_search_pages_counts(anon, pair):
    response = anon.get(f"{LIST}facets/?status=COMPLETED&country=US")
    assert response.status_code == 200
    body = response.json()
    filterset = StudyFilterSet(data={"status": ["COMPLETED"], "country": ["US"]}, queryset=m.Study.objects.public())
    assert body == {"count": 0, "facets": filterset.facet_counts()}
    # Each facet is counted under the other filters: COMPLETED alone selects als, which is in CN.
    assert body["facets"]["country"] == {"CN": 1}
    assert body["facets"]["status"] == {"RECRUITING": 1}


def test_facets_cover_every_facet_of_the_filterset(anon, pair):
    facets = anon.get(f"{LIST}facets/").json()["facets"]
    assert list(facets) == StudyFilterSet.FACETS
    assert facets["has_results"] == {"true": 1, "false": 1}
    assert facets["condition"]["spinal-cord-injury"] == 1


def test_facets_validate_filters(anon, pair):
    response = anon.get(f"{LIST}facets/?donor=martian")
    assert response.status_code == 400
    assert "donor" in response.json()["error"]["fields"]


def test_facets_count_public_studies_only(anon, pair):
    f.full_study(curation_state=c.CurationState.DRAFT)
    assert anon.get(f"{LIST}facets/").json()["count"] == 2


# --- vocabularies -----------------------------------------------------------------------------------


def test_conditions_with_mesh_id_and_parent(anon, db):
    parent = f.ConditionFactory(slug="stroke", name="Stroke", mesh_id="D020521")
    f.ConditionFactory(slug="ischemic-stroke", name="Ischemic stroke", name_zh="缺血性卒中", parent=parent)
    assert anon.get("/api/v1/conditions/").json() == {
        "count": 2,
        "results": [
            {"slug": "ischemic-stroke", "name": "Ischemic stroke", "name_zh": "缺血性卒中", "mesh_id": "", "parent": "stroke"},
            {"slug": "stroke", "name": "Stroke", "name_zh": "", "mesh_id": "D020521", "parent": None},
        ],
    }


def test_cell_types_with_category_and_cell_ontology_id(anon, db):
    f.CellTypeFactory(slug="schwann-cells", name="Schwann cells", category=c.CellCategory.GLIAL, cell_ontology_id="CL:0002573")
    assert results(anon.get("/api/v1/cell-types/")) == [
        {
            "slug": "schwann-cells",
            "name": "Schwann cells",
            "name_zh": "",
            "category": "glial",
            "cell_ontology_id": "CL:0002573",
            "description": "",
        }
    ]


def test_instruments_with_direction_and_range(anon, db):
    f.InstrumentFactory(slug="alsfrs-r", name="ALSFRS-R", abbreviation="ALSFRS-R", range_min=0, range_max=48, unit="points")
    assert results(anon.get("/api/v1/instruments/")) == [
        {
            "slug": "alsfrs-r",
            "name": "ALSFRS-R",
            "name_zh": "",
            "abbreviation": "ALSFRS-R",
            "direction": "higher_is_better",
            "range_min": 0.0,
            "range_max": 48.0,
            "unit": "points",
            "description": "",
        }
    ]


def test_vocabulary_fields_parameter(anon, db):
    f.ConditionFactory(slug="stroke", name="Stroke")
    assert results(anon.get("/api/v1/conditions/?fields=slug")) == [{"slug": "stroke"}]


# --- results and harms across studies ------------------------------------------------------------


def test_outcome_rows_carry_study_and_cohort(anon, published):
    outcome = published.outcomes.get()
    row = results(anon.get("/api/v1/outcomes/"))[0]
    assert row == {"study": published.accession, **document_of(published)["outcomes"][0]}
    assert row["cohort"] == outcome.cohort.label


def test_adverse_event_rows_carry_study_and_cohort(anon, published):
    row = results(anon.get("/api/v1/adverse-events/"))[0]
    assert row == {"study": published.accession, **document_of(published)["adverse_events"][0]}
    assert row["cohort"] == published.cohorts.get().label


OUTCOME_CASES = [
    ("condition=spinal-cord-injury", ["sci"]),  # a study filter
    ("has_results=true", ["als"]),
    ("instrument=isncsci-motor", ["sci"]),
    ("outcome_type=secondary", ["als", "sci"]),
    ("outcome_type=primary", []),
    ("timepoint_min=6", ["als", "sci"]),  # both at 6 months
    ("timepoint_min=7", []),
    ("timepoint_max=5", []),
    ("timepoint_min=26&timepoint_max=26.1&timepoint_unit=week", ["als", "sci"]),  # 6 months = 26.09 weeks
    ("timepoint_max=0.5&timepoint_unit=year", ["als", "sci"]),
    ("timepoint_max=0.49&timepoint_unit=year", []),
]


@pytest.mark.parametrize(("query", "expected"), OUTCOME_CASES)
def test_outcome_filters(anon, pair, query, expected):
    named = {pair[0].accession: "als", pair[1].accession: "sci"}
    rows = results(anon.get(f"/api/v1/outcomes/?{query}"))
    assert [named[row["study"]] for row in rows] == expected


ADVERSE_EVENT_CASES = [
    ("country=US", ["sci"]),  # a study filter
    ("serious=yes", ["als"]),
    ("serious=no", ["sci"]),
    ("organ_class=nervous", ["als", "sci"]),
    ("organ_class=cardiac", []),
    ("relatedness=unknown", ["als", "sci"]),
    ("relatedness=definite", []),
    ("grade_min=3", ["als"]),
    ("grade_max=2", ["sci"]),
]


@pytest.mark.parametrize(("query", "expected"), ADVERSE_EVENT_CASES)
def test_adverse_event_filters(anon, pair, query, expected):
    pair[0].adverse_events.update(grade=5)
    pair[1].adverse_events.update(grade=1)
    named = {pair[0].accession: "als", pair[1].accession: "sci"}
    rows = results(anon.get(f"/api/v1/adverse-events/?{query}"))
    assert [named[row["study"]] for row in rows] == expected


def test_every_row_filter_is_tested():
    from trials.api.filters import AdverseEventFilterSet, OutcomeFilterSet

    def tested(cases):
        return {pair.split("=")[0] for query, _expected in cases for pair in query.split("&")}

    assert set(OutcomeFilterSet.base_filters) <= tested(OUTCOME_CASES)
    assert set(AdverseEventFilterSet.base_filters) <= tested(ADVERSE_EVENT_CASES)


def test_row_filters_report_errors_of_both_filtersets(anon, pair):
    response = anon.get("/api/v1/adverse-events/?serious=perhaps&phase=phase9")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"serious", "phase"}


def test_rows_of_unpublished_studies_are_not_listed(anon, draft):
    assert anon.get("/api/v1/outcomes/").json()["count"] == 0
    assert anon.get("/api/v1/adverse-events/").json()["count"] == 0


# --- version history and API version ---------------------------------------------------------------


def test_version_history_lists_published_versions_and_serves_each_document(anon, published):
    first = m.StudyVersion.objects.create(study=published, number=1, document={"title": "First"}, note="Imported")
    m.StudyVersion.objects.create(study=published, number=2, document={"title": "Second"}, note="Corrected dose")
    listed = results(anon.get(f"{LIST}{published.accession}/versions/"))
    assert [(item["number"], item["note"]) for item in listed] == [(1, "Imported"), (2, "Corrected dose")]
    assert listed[0] == {
        "study": published.accession,
        "number": 1,
        "published_at": timestamp(first.published_at),
        "published_by": None,
        "note": "Imported",
        "url": f"http://testserver/api/v1/studies/{published.accession}/versions/1/",
    }
    detail = anon.get(listed[1]["url"]).json()
    assert detail["document"] == {"title": "Second"}


def test_version_history_of_a_draft_is_not_found(anon, draft):
    assert anon.get(f"{LIST}{draft.accession}/versions/").status_code == 404
    assert anon.get(f"{LIST}{draft.accession}/versions/1/").status_code == 404


def test_version_reports_when_public_data_last_changed(anon, pair):
    body = anon.get("/api/v1/version/").json()
    assert body == {
        "api_version": "1.0.0",
        "document_format": "neurocell-registry/2",
        "data_updated_at": timestamp(pair[1].updated_at),
        "studies": 2,
    }


def test_root_lists_the_endpoints(anon, db):
    body = anon.get("/api/v1/").json()
    assert body["studies"] == "http://testserver/api/v1/studies/"
    assert body["adverse_events"] == "http://testserver/api/v1/adverse-events/"


@pytest.mark.parametrize("path", [LIST, f"{LIST}facets/", "/api/v1/outcomes/", "/api/v1/adverse-events/"])
def test_yes_no_filters_take_true_false_or_unknown(anon, pair, path):
    """The search page's select reads anything else as "either"; the API says so instead."""
    response = anon.get(f"{path}?has_results=yes")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"has_results": ["Enter true, false or unknown (either)."]}
    everything = anon.get(path).json()
    for either in ("", "unknown"):  # what the page's select sends for "either"
        assert anon.get(f"{path}?has_results={either}").json() == everything


@pytest.mark.parametrize("path", [LIST, f"{LIST}facets/"])
def test_a_filter_no_row_can_match_counts_zero(anon, pair, path):
    # Beyond the enrollment column's integer range: Django compiles the comparison to "no rows".
    response = anon.get(f"{path}?enrollment_min=100000000000000000000")
    assert response.status_code == 200
    assert response.json()["count"] == 0
