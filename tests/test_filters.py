"""Every filter of the search page finds what it should and nothing else; facets count under the others."""

import datetime as dt
import re

import pytest

from tests import factories as f
from trials import choices as c
from trials import facets
from trials import models as m
from trials.filters import StudyFilterSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry():
    """Two public studies that differ on every filter, an unused condition, and a hidden draft."""
    sci = f.ConditionFactory(slug="spinal-cord-injury", name="Spinal cord injury", name_zh="脊髓损伤")
    cervical = f.ConditionFactory(slug="cervical-spinal-cord-injury", name="Cervical spinal cord injury", parent=sci)
    stroke = f.ConditionFactory(slug="stroke", name="Stroke")
    f.ConditionFactory(slug="parkinson-disease", name="Parkinson's disease")
    schwann = f.CellTypeFactory(slug="schwann-cells", name="Schwann cells", category=c.CellCategory.GLIAL)
    msc = f.CellTypeFactory(slug="umbilical-cord-msc", name="Umbilical cord MSC", category=c.CellCategory.MSC)
    f.CellTypeFactory(slug="ipsc-npc", name="iPSC neural progenitors", category=c.CellCategory.PLURIPOTENT_DERIVED)
    motor = f.InstrumentFactory(slug="isncsci-motor", name="ISNCSCI motor score")
    nihss = f.InstrumentFactory(slug="nihss", name="NIH Stroke Scale", direction=c.Direction.LOWER_IS_BETTER)
    f.InstrumentFactory(slug="mrs", name="modified Rankin Scale")

    first = f.StudyFactory(
        title="Autologous Schwann cells in chronic cervical injury",
        title_zh="自体施万细胞移植治疗慢性颈脊髓损伤",
        study_type=c.StudyType.INTERVENTIONAL,
        phase=c.Phase.PHASE1,
        overall_status=c.OverallStatus.RECRUITING,
        start_date=dt.date(2015, 1, 1),
        start_date_precision=c.DatePrecision.YEAR,
        enrollment=8,
        enrollment_type=c.EnrollmentType.ACTUAL,
    )
    m.StudyCondition.objects.create(study=first, condition=cervical)
    m.StudyCountry.objects.create(study=first, country="US")
    cohort = f.CohortFactory(study=first)
    f.InterventionFactory(
        cohort=cohort,
        cell_type=schwann,
        source_tissue=c.SourceTissue.PERIPHERAL_NERVE,
        donor=c.Donor.AUTOLOGOUS,
        route=c.Route.INTRASPINAL,
    )
    f.OutcomeFactory(study=first, cohort=cohort, instrument=motor, value=50.0)
    f.AdverseEventFactory(study=first, cohort=cohort, term="Meningitis", serious=c.Seriousness.SERIOUS, n_affected=1)
    f.RegistryIdentifierFactory(study=first, value="NCT02354625")

    second = f.StudyFactory(
        title="Umbilical cord MSC case series in ischaemic stroke",
        study_type=c.StudyType.CASE_REPORT,
        phase="",
        overall_status=c.OverallStatus.COMPLETED,
        start_date=dt.date(2021, 6, 1),
        start_date_precision=c.DatePrecision.MONTH,
        enrollment=120,
        enrollment_type=c.EnrollmentType.ACTUAL,
    )
    m.StudyCondition.objects.create(study=second, condition=stroke)
    m.StudyCountry.objects.create(study=second, country="CN")
    cohort = f.CohortFactory(study=second)
    f.InterventionFactory(
        cohort=cohort,
        cell_type=msc,
        source_tissue=c.SourceTissue.UMBILICAL_CORD,
        donor=c.Donor.ALLOGENEIC,
        route=c.Route.INTRAVENOUS,
    )
    # an outcome named but nothing reported for it (no number, no p, no finding): no results yet
    f.OutcomeFactory(study=second, cohort=cohort, instrument=nihss, baseline_value=None, value=None, finding="")
    # a serious row that counts nobody is not a serious adverse event
    f.AdverseEventFactory(study=second, cohort=cohort, serious=c.Seriousness.SERIOUS, n_affected=0)

    # Everything the first study has, but not public: never found, never counted.
    draft = f.full_study(title="Draft Schwann cell study", curation_state=c.CurationState.DRAFT)
    m.StudyCondition.objects.create(study=draft, condition=cervical)
    m.StudyCountry.objects.create(study=draft, country="US")
    return {"first": first, "second": second, "draft": draft}


def found(client, query: str) -> set[str]:
    response = client.get(f"/studies/?{query}")
    assert response.status_code == 200, (query, response.status_code)
    return set(re.findall(r'<span class="accession">(NCR-\d+)</span>', response.content.decode()))


# (query, the study it finds): the other study is the miss.
FINDS = [
    ("q=Schwann", "first"),
    ("q=%E6%96%BD%E4%B8%87%E7%BB%86%E8%83%9E", "first"),  # 施万细胞: Chinese titles are searchable
    ("q=NCT02354625", "first"),
    ("trust=registered", "first"),  # its registry id
    ("condition=spinal-cord-injury", "first"),  # through its narrower condition
    ("condition=cervical-spinal-cord-injury", "first"),
    ("condition=stroke", "second"),
    ("cell_type=schwann-cells", "first"),
    ("cell_type=umbilical-cord-msc", "second"),
    ("cell_category=glial", "first"),
    ("cell_category=msc", "second"),
    ("source_tissue=peripheral_nerve", "first"),
    ("source_tissue=umbilical_cord", "second"),
    ("donor=autologous", "first"),
    ("donor=allogeneic", "second"),
    ("route=intraspinal", "first"),
    ("route=intravenous", "second"),
    ("phase=phase1", "first"),
    ("status=RECRUITING", "first"),
    ("status=COMPLETED", "second"),
    ("study_type=interventional", "first"),
    ("study_type=case_report", "second"),
    ("country=US", "first"),
    ("country=CN", "second"),
    ("instrument=isncsci-motor", "first"),
    ("instrument=nihss", "second"),
    ("start_year_min=2020", "second"),
    ("start_year_max=2016", "first"),
    ("enrollment_min=100", "second"),
    ("enrollment_max=10", "first"),
    ("has_results=true", "first"),
    ("has_results=false", "second"),
    ("has_serious_ae=true", "first"),
    ("has_serious_ae=false", "second"),
]

# Values that exist but match neither study.
FINDS_NOTHING = [
    "q=dopaminergic",
    "condition=parkinson-disease",
    "cell_type=ipsc-npc",
    "cell_category=immune",
    "source_tissue=adipose",
    "donor=unknown",
    "route=intranasal",
    "phase=phase3",
    "status=WITHDRAWN",
    "study_type=observational",
    "country=JP",
    "instrument=mrs",
    "start_year_min=2022",
    "start_year_max=2014",
    "enrollment_min=121",
    "enrollment_max=7",
    "has_results=true&study_type=case_report",
    "has_serious_ae=true&country=CN",
    "trust=authorised",
]


@pytest.mark.parametrize(("query", "finds"), FINDS, ids=[query for query, _ in FINDS])
def test_filter_finds_its_study_and_not_the_other(client, registry, query, finds):
    other = "second" if finds == "first" else "first"

    accessions = found(client, query)

    assert registry[finds].accession in accessions
    assert registry[other].accession not in accessions
    assert registry["draft"].accession not in accessions


@pytest.mark.parametrize("query", FINDS_NOTHING)
def test_filter_value_matching_no_study_finds_none(client, registry, query):
    assert found(client, query) == set()


def test_every_filter_is_tested():
    from tests.test_clinic_filters import CLINIC_FINDS, CLINIC_FINDS_NOTHING

    queries = [*(query for query, _ in FINDS + CLINIC_FINDS), *FINDS_NOTHING, *CLINIC_FINDS_NOTHING]
    tested = {re.split(r"[=&]", query)[0] for query in queries}
    assert tested == set(StudyFilterSet.base_filters) - {"ordering"}


def test_values_of_one_filter_are_alternatives(client, registry):
    assert found(client, "condition=spinal-cord-injury&condition=stroke") == {
        registry["first"].accession,
        registry["second"].accession,
    }


def test_filters_combine(client, registry):
    assert found(client, "cell_category=glial&country=US") == {registry["first"].accession}
    assert found(client, "cell_category=glial&country=CN") == set()


# --- Facet counts --------------------------------------------------------------------------------


def counts(query: str = "") -> dict[str, dict[str, int]]:
    from django.http import QueryDict

    return StudyFilterSet(QueryDict(query), queryset=m.Study.objects.public()).facet_counts()


def test_facet_counts_without_filters_count_public_studies_only(registry):
    facets = counts()

    assert facets["condition"] == {
        "spinal-cord-injury": 1,
        "cervical-spinal-cord-injury": 1,
        "stroke": 1,
        "parkinson-disease": 0,
        "amyotrophic-lateral-sclerosis": 0,  # the draft's (full_study) condition
    }
    assert facets["country"] == {"US": 1, "CN": 1}  # the draft's US does not count
    assert facets["cell_type"] == {"schwann-cells": 1, "umbilical-cord-msc": 1}
    assert facets["has_results"] == {"true": 1, "false": 1}


def test_each_facet_counts_under_the_other_filters_but_not_its_own(registry):
    facets = counts("condition=stroke&cell_type=umbilical-cord-msc")

    # the condition facet ignores the condition filter (so one can switch) but applies the cell type
    assert facets["condition"]["stroke"] == 1 and facets["condition"]["spinal-cord-injury"] == 0
    # the cell type facet applies the condition filter only
    assert facets["cell_type"] == {"umbilical-cord-msc": 1}
    # every other facet applies both
    assert facets["country"] == {"CN": 1}
    assert facets["phase"] == {}
    assert facets["has_serious_ae"] == {"true": 0, "false": 1}


@pytest.mark.parametrize(
    "query",
    ["", "condition=stroke", "donor=allogeneic&phase=phase1", "cell_type=schwann-cells&route=intrathecal&has_results=true",
     "status=COMPLETED&study_type=interventional&country=CN", "q=study"],
)  # fmt: skip
def test_facets_counted_together_equal_facets_counted_one_by_one(registry, monkeypatch, query):
    """Facets read from the same rows are counted in one pass (GROUPING SETS on PostgreSQL); the
    counts must be those of one query per facet."""
    together = counts(query)
    monkeypatch.setattr(facets, "FACET_GROUPS", [])
    assert together == counts(query)


def facet_option(html: str, facet: str, value: str) -> tuple[bool, str]:
    """Whether a facet option is greyed out (no study left with it), and the count it shows."""
    option = re.search(rf'<li class="([^"]*)">\s*<input [^>]*id="f-{facet}-{value}".*?</li>', html, re.S)
    assert option, (facet, value)
    count = re.search(r'<span class="facet__count" aria-hidden="true">(\d+)</span>', option.group(0))
    return "is-empty" in option.group(1), count.group(1)


def test_the_page_shows_facet_counts_and_zeroes(client, registry):
    html = client.get("/studies/?condition=stroke").content.decode()

    assert facet_option(html, "condition", "spinal-cord-injury") == (False, "1")  # its own facet: still offered
    assert facet_option(html, "cell_type", "umbilical-cord-msc") == (False, "1")
    assert facet_option(html, "cell_type", "schwann-cells") == (True, "0")  # shown, greyed, not hidden
    assert facet_option(html, "country", "US") == (True, "0")
    assert facet_option(html, "has_results", "false") == (False, "1")
    assert re.search(r'id="f-condition-stroke"\s+name="condition" value="stroke" checked>', html)
