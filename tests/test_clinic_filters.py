"""The filters a referring clinician uses (a patient's age and sex, a city or "near", a sponsor): each finds
its study and not the other, and values that exist but fit neither find nothing."""

import re

import pytest
from django.http import QueryDict

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.filters import StudyFilterSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic_registry():
    """Two public studies that differ on every new filter, and a draft that matches them all."""
    university = f.OrganisationFactory(slug="nanjing-university", name="Nanjing University", name_zh="南京大学")
    company = f.OrganisationFactory(
        slug="cellgen", name="CellGen Therapeutics", name_zh="细胞基因治疗", kind=c.OrganisationKind.INDUSTRY
    )
    f.OrganisationFactory(slug="unused-agency", name="Unused Agency", kind=c.OrganisationKind.GOVERNMENT)

    # Adults of either sex, 18–70, in Nanjing; sponsored by a university.
    first = f.StudyFactory(
        title="UC-MSC in ALS",
        min_age=18,
        min_age_unit=c.AgeUnit.YEAR,
        max_age=70,
        max_age_unit=c.AgeUnit.YEAR,
        eligible_sex=c.EligibleSex.ALL,
        healthy_volunteers=False,
    )
    m.StudyCountry.objects.create(study=first, country="CN")
    f.SiteFactory(study=first, facility="Drum Tower Hospital", city="Nanjing", country="CN")
    f.StudyOrganisationFactory(study=first, organisation=university, role=c.OrganisationRole.LEAD_SPONSOR)

    # Children, boys only, 6 months to 12 years, in Boston; a company leads, the university collaborates... not.
    second = f.StudyFactory(
        title="Cord blood in cerebral palsy",
        min_age=6,
        min_age_unit=c.AgeUnit.MONTH,
        max_age=12,
        max_age_unit=c.AgeUnit.YEAR,
        eligible_sex=c.EligibleSex.MALE,
        healthy_volunteers=True,
    )
    m.StudyCountry.objects.create(study=second, country="US")
    f.SiteFactory(study=second, facility="Children's Hospital", city="Boston", country="US")
    f.StudyOrganisationFactory(study=second, organisation=company, role=c.OrganisationRole.LEAD_SPONSOR)

    draft = f.StudyFactory(
        title="Draft",
        curation_state=c.CurationState.DRAFT,
        min_age=0,
        min_age_unit=c.AgeUnit.DAY,
        max_age=120,
        max_age_unit=c.AgeUnit.YEAR,
        eligible_sex=c.EligibleSex.ALL,
    )
    f.SiteFactory(study=draft, city="Nanjing", country="CN")
    f.StudyOrganisationFactory(study=draft, organisation=university)
    # A public study stating no age range: no age filter finds it.
    f.StudyFactory(title="Age not stated")
    return {"first": first, "second": second, "draft": draft}


def found(client, query: str) -> set[str]:
    response = client.get(f"/studies/?{query}")
    assert response.status_code == 200, (query, response.status_code)
    return set(re.findall(r'<span class="accession">(NCR-\d+)</span>', response.content.decode()))


CLINIC_FINDS = [
    ("age=45", "first"),
    ("age=70", "first"),  # the maximum is included
    ("age=1", "second"),  # 6 months is below one year: the units compare
    ("age=12", "second"),
    ("sex=female", "first"),
    ("healthy_volunteers=false", "first"),
    ("healthy_volunteers=true", "second"),
    ("city=Nanjing", "first"),
    ("city=%E5%8D%97%E4%BA%AC", "first"),  # 南京: the gazetteer's Chinese name of Nanjing
    ("city=boston", "second"),
    ("near=Nanjing", "first"),
    ("near=Shanghai&radius_km=300", "first"),  # about 270 km away
    ("near=Cambridge,%20US&radius_km=20", "second"),  # Cambridge, MA is next to Boston
    ("near=42.36,-71.06&radius_km=5", "second"),
    ("radius_km=300&near=Shanghai", "first"),
    ("organisation=nanjing-university", "first"),
    ("organisation=cellgen", "second"),
    ("sponsor_kind=academic", "first"),
    ("sponsor_kind=industry", "second"),
    ("q=CellGen", "second"),  # free text over organisations
    ("q=%E5%8D%97%E4%BA%AC%E5%A4%A7%E5%AD%A6", "first"),  # 南京大学
    ("q=Drum%20Tower", "first"),  # and sites
]


def test_free_text_finds_institutions_as_curated(client, clinic_registry):
    keio = f.StudyFactory(title="iPSC-derived NSC in SCI", institutions="Keio University (日本庆应义塾大学)")

    assert found(client, "q=Keio") == {keio.accession}
    assert found(client, "q=%E5%BA%86%E5%BA%94%E4%B9%89%E5%A1%BE") == {keio.accession}  # 庆应义塾


CLINIC_FINDS_NOTHING = [
    "age=90",
    "age=15",  # between the two ranges
    "sex=female&age=5",
    "city=Tokyo",
    "near=Shanghai",  # 100 km by default: Nanjing is further
    "near=Tokyo&radius_km=1000",
    "radius_km=5&near=31.2,121.5",
    "organisation=unused-agency",
    "sponsor_kind=government",
    "healthy_volunteers=true&sex=female",
]


@pytest.mark.parametrize(("query", "finds"), CLINIC_FINDS, ids=[query for query, _ in CLINIC_FINDS])
def test_filter_finds_its_study_and_not_the_other(client, clinic_registry, query, finds):
    other = "second" if finds == "first" else "first"

    accessions = found(client, query)

    assert clinic_registry[finds].accession in accessions
    assert clinic_registry[other].accession not in accessions
    assert clinic_registry["draft"].accession not in accessions


@pytest.mark.parametrize("query", CLINIC_FINDS_NOTHING)
def test_filter_value_matching_no_study_finds_none(client, clinic_registry, query):
    assert found(client, query) == set()


@pytest.mark.parametrize("path", ["/api/v1/studies/", "/api/v1/outcomes/"])
@pytest.mark.parametrize("query", ["near=Xyzzyville", "near=95,10", "radius_km=0&near=Nanjing", "age=-1", "near=50%25off"])
def test_the_api_answers_400_naming_the_parameter(client, clinic_registry, query, path):
    response = client.get(f"{path}?{query}")

    assert response.status_code == 400
    assert query.split("=")[0].split("&")[0] in response.content.decode()


def test_sponsor_facets_count_studies_per_organisation_and_kind(clinic_registry):
    counts = StudyFilterSet(QueryDict(""), queryset=m.Study.objects.public()).facet_counts()

    assert counts["organisation"] == {"nanjing-university": 1, "cellgen": 1}
    assert counts["sponsor_kind"] == {"academic": 1, "industry": 1}
    narrowed = StudyFilterSet(QueryDict("sponsor_kind=industry"), queryset=m.Study.objects.public()).facet_counts()
    assert narrowed["organisation"] == {"cellgen": 1}
    assert narrowed["sponsor_kind"] == {"academic": 1, "industry": 1}  # a facet is counted without its own filter
