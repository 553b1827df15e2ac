"""The public pages: search, study page and home, in English and Chinese, and what they never show."""

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from tests import factories as f
from tests.i18n import chinese
from tests.query_counts import other_facets
from tests.test_filters import facet_option
from trials import choices as c
from trials import models as m
from trials.services.workflow import study_snapshot

pytestmark = pytest.mark.django_db


class Elements(HTMLParser):
    """Every start tag with its attributes, to look at links, inputs and tables without a DOM library."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]


def page(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def unpublished_studies():
    """A draft and a study in review, each with children that would show anywhere they leaked."""
    hidden = []
    for state in (c.CurationState.DRAFT, c.CurationState.IN_REVIEW):
        study = f.full_study(title=f"Hidden {state} study", curation_state=state, enrollment=999, enrollment_type="actual")
        m.StudyCountry.objects.create(study=study, country="JP")
        hidden.append(study)
    return hidden


def retracted_study(**fields):
    return f.full_study(
        title="Retracted umbilical cord study",
        curation_state=c.CurationState.RETRACTED,
        retraction_reason="Duplicate of NCR-000007.",
        **fields,
    )


# --- Search page -----------------------------------------------------------------------------------


SEARCH_PAGE = 13 + other_facets()
# 1 COUNT of the matching studies
# 2 the page of studies (has_results / has_serious_ae as EXISTS subqueries)
# 3 their conditions (JOIN condition)
# 4 their cohorts
# 5 the cohorts' cell products (JOIN cell type)
# 6-8 condition facet: the hierarchy, the slugs, one aggregate over every condition
# the other 12 facets: cell type, cell category, source tissue, donor, route, phase, status, study type,
#   country, instrument, has results, has serious adverse events (tests/query_counts.py)
# 9-13 the options' labels: conditions, countries named by public studies, cell types, instruments, organisations

SEARCH_PAGE_FILTERED = SEARCH_PAGE + 8 + other_facets(selected_from_groups=1) - other_facets()
# ?condition=…&cell_type=…: the page's FilterSet validates both slugs against their vocabularies (2)
# and resolves the condition to its narrower conditions (hierarchy + slug ids: 2). Facets are counted
# over three sets (trials/filters.py): without the condition (no query to build), without the cell type
# and with both (each resolves the condition again: 2 x 2); the cell type facet is counted by itself.


@pytest.fixture(params=[2, 20], ids=["2-studies", "20-studies"])
def studies(request):
    return [f.full_study() for _ in range(request.param)]


@pytest.mark.parametrize("page_size", [10, 20, 50])
def test_search_page_runs_a_fixed_number_of_queries(client, studies, django_assert_num_queries, page_size):
    url = "/studies/" if page_size == 20 else f"/studies/?page_size={page_size}"  # 20 is the default
    with django_assert_num_queries(SEARCH_PAGE):
        html = page(client, url)
    assert html.count('class="result"') == min(len(studies), page_size)


def test_filtered_search_runs_a_fixed_number_of_queries(client, studies, django_assert_num_queries):
    with django_assert_num_queries(SEARCH_PAGE_FILTERED):
        html = page(client, "/studies/?condition=amyotrophic-lateral-sclerosis&cell_type=umbilical-cord-msc")
    assert html.count('class="result"') == min(len(studies), 20)


def test_htmx_partial_runs_the_same_queries(client, studies, django_assert_num_queries):
    with django_assert_num_queries(SEARCH_PAGE):
        page(client, "/studies/", HTTP_HX_REQUEST="true")


def test_search_shows_published_and_retracted_studies_only(client):
    shown = f.full_study(title="Published umbilical cord study")
    retracted = retracted_study()
    hidden = unpublished_studies()

    html = page(client, "/studies/")

    assert shown.accession in html and retracted.accession in html
    for study in hidden:
        assert study.accession not in html and study.title not in html
    assert "2 studies" in html
    retracted_card = html[html.index(retracted.accession) :].split("</li>")[0]
    assert "Retracted" in retracted_card


def test_a_result_shows_what_a_clinician_scans_for(client):
    study = f.full_study(
        title="UC-MSC in ALS",
        phase=c.Phase.PHASE2,
        overall_status=c.OverallStatus.RECRUITING,
        enrollment=48,
        enrollment_type=c.EnrollmentType.ANTICIPATED,
        start_date=dt.date(2021, 3, 1),
        start_date_precision=c.DatePrecision.MONTH,
    )

    html = page(client, "/studies/")
    card = html[html.index(study.accession) :].split("</li>")[0]

    assert f'href="/studies/{study.accession}/"' in card
    for text in (
        "UC-MSC in ALS",
        "Amyotrophic lateral sclerosis",
        "Umbilical cord MSC",
        "Allogeneic",
        "Intrathecal",
        "Phase 2",
        "Recruiting",
        "48",
        "Anticipated",
        "2021",
    ):
        assert text in card, text
    assert 'class="status status--recruiting"' in card
    # full_study has a numeric outcome and a serious adverse event
    assert card.count(">Reported<") == 2


def test_search_counts_and_paginates(client):
    for _ in range(25):
        f.StudyFactory()

    first = page(client, "/studies/")
    second = page(client, "/studies/?page=2")

    assert "25 studies" in first and "Showing 1–20" in first
    assert first.count('class="result"') == 20
    assert second.count('class="result"') == 5 and "Showing 21–25" in second
    assert 'href="?page=2" rel="next"' in first
    assert 'href="?" rel="prev"' in second


def test_pagination_links_keep_the_search(client):
    condition = f.ConditionFactory(slug="stroke", name="Stroke")
    for _ in range(12):
        m.StudyCondition.objects.create(study=f.StudyFactory(), condition=condition)

    html = page(client, "/studies/?condition=stroke&page_size=10")

    assert 'href="?condition=stroke&amp;page_size=10&amp;page=2"' in html


def test_sorting_offers_relevance_only_when_searching(client):
    f.StudyFactory(title="Stem cells for stroke")

    browsing = page(client, "/studies/")
    searching = page(client, "/studies/?q=stroke")

    assert 'value="relevance"' not in browsing
    assert '<option value="-updated_at" selected>' in browsing
    assert '<option value="relevance" selected>' in searching


def test_sorting_by_enrollment(client):
    small = f.StudyFactory(enrollment=5, enrollment_type="actual")
    large = f.StudyFactory(enrollment=500, enrollment_type="actual")

    html = page(client, "/studies/?ordering=-enrollment")

    assert html.index(large.accession) < html.index(small.accession)
    assert '<option value="-enrollment" selected>' in html


def test_a_plain_form_submission_redirects_to_the_clean_url(client):
    response = client.get(
        "/studies/?q=&condition=stroke&cell_type=&has_results=&page=1&page_size=20&ordering=-enrollment&utm_source=x"
    )

    assert response.status_code == 302
    assert response["Location"] == "/studies/?condition=stroke&ordering=-enrollment"


def test_a_clean_url_is_served_as_is(client):
    f.ConditionFactory(slug="stroke", name="Stroke")
    assert client.get("/studies/?condition=stroke&ordering=-enrollment").status_code == 200


def test_htmx_gets_the_results_fragment_and_the_url_to_push(client):
    f.full_study()

    response = client.get("/studies/?q=&condition=amyotrophic-lateral-sclerosis", HTTP_HX_REQUEST="true")
    html = response.content.decode()

    assert response.status_code == 200
    assert "<html" not in html and 'id="filters"' in html and 'id="results-heading"' in html
    assert response["HX-Push-Url"] == "/studies/?condition=amyotrophic-lateral-sclerosis"
    assert "HX-Request" in response["Vary"]
    # the screen-reader announcement is swapped out of band, next to the results
    assert 'id="search-status"' in html and 'hx-swap-oob="true"' in html and "1 study found" in html


def test_a_history_restore_gets_the_whole_page(client):
    response = client.get("/studies/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")

    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_the_full_page_wires_the_form_for_htmx_and_for_no_javascript(client):
    html = page(client, "/studies/")
    [form] = Elements(html).find("form", id="search-form")

    assert form["method"] == "get" and form["action"] == "/studies/"
    assert form["hx-get"] == "/studies/" and form["hx-target"] == "#search-results" and form["hx-push-url"] == "true"
    assert Elements(html).find("script", src="/static/vendor/htmx/htmx.min.js")
    assert 'class="button apply-filters"' in html  # the submit button for the GET form without JavaScript


def test_clear_all_appears_with_filters_and_links_to_the_bare_search(client):
    f.ConditionFactory(slug="stroke", name="Stroke")

    assert "Clear all" not in page(client, "/studies/")
    assert 'class="clear-all" href="/studies/"' in page(client, "/studies/?condition=stroke")
    assert 'class="clear-all" href="/zh-hans/studies/"' in page(client, "/zh-hans/studies/?condition=stroke")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", "/api/v1/studies/?format=csv"),
        (
            "?condition=amyotrophic-lateral-sclerosis&cell_type=umbilical-cord-msc&ordering=-enrollment&page=2&page_size=10",
            "/api/v1/studies/?condition=amyotrophic-lateral-sclerosis&cell_type=umbilical-cord-msc&ordering=-enrollment&format=csv",
        ),
        ("?q=%E8%84%8A%E9%AB%93", "/api/v1/studies/?q=%E8%84%8A%E9%AB%93&format=csv"),
    ],
)
def test_download_csv_links_to_the_apis_csv_of_the_same_search(client, query, expected):
    for _ in range(12):
        f.full_study()

    html = page(client, f"/studies/{query}")
    [link] = [a for a in Elements(html).find("a") if "format=csv" in a.get("href", "")]

    # every matching study, not the page on screen: no page and no page size
    assert link["href"] == expected


def test_invalid_filter_input_is_reported_and_ignored(client):
    f.StudyFactory()

    html = page(client, "/studies/?start_year_min=soon")

    assert "1 study" in html
    assert 'id="start-year-min-error"' in html and 'aria-invalid="true"' in html


def test_facets_show_every_option_with_zero_counts_greyed(client):
    f.full_study()
    f.ConditionFactory(slug="stroke", name="Stroke")

    html = page(client, "/studies/")

    assert facet_option(html, "condition", "amyotrophic-lateral-sclerosis") == (False, "1")
    assert facet_option(html, "condition", "stroke") == (True, "0")
    # every controlled value is offered, matched or not
    for route in c.Route.values:
        assert f'id="f-route-{route}"' in html
    # radio groups for the yes/no filters, "Any" checked by default
    [any_results] = Elements(html).find("input", id="f-has_results-any")
    assert any_results["type"] == "radio" and "checked" in any_results


def test_narrower_conditions_are_indented_under_their_parent(client):
    stroke = f.ConditionFactory(slug="stroke", name="Stroke")
    f.ConditionFactory(slug="ischemic-stroke", name="Ischemic stroke", parent=stroke)

    html = page(client, "/studies/")

    assert html.index('id="f-condition-stroke"') < html.index('id="f-condition-ischemic-stroke"')
    assert re.search(r'class="facet__option depth-1[^"]*">\s*<input type="checkbox" id="f-condition-ischemic-stroke"', html)


def test_the_chinese_search_page(client):
    study = f.full_study(title="Umbilical cord MSC in ALS", title_zh="脐带间充质干细胞治疗渐冻症")
    untranslated = f.StudyFactory(title="Bone marrow cells in ALS", title_zh="")
    m.Condition.objects.filter(slug="amyotrophic-lateral-sclerosis").update(name_zh="肌萎缩侧索硬化")

    html = page(client, "/zh-hans/studies/")

    assert '<html lang="zh-Hans">' in html
    for msgid in ("Search studies", "Filters", "Sort by", "Download CSV", "Cell product", "Completed", "Phase 1", "Condition"):
        assert chinese(msgid) in html, msgid
    assert "脐带间充质干细胞治疗渐冻症" in html and "Umbilical cord MSC in ALS" not in html
    assert "Bone marrow cells in ALS" in html  # no curated Chinese title: the English one
    assert "肌萎缩侧索硬化" in html
    assert f'href="/zh-hans/studies/{study.accession}/"' in html and f'href="/zh-hans/studies/{untranslated.accession}/"' in html


def test_chinese_free_text_search(client):
    wanted = f.StudyFactory(title="Neural stem cells in spinal cord injury", title_zh="神经干细胞治疗脊髓损伤")
    other = f.StudyFactory(title="MSC in stroke", title_zh="间充质干细胞治疗脑卒中")

    html = page(client, "/zh-hans/studies/?q=脊髓损伤")

    assert wanted.accession in html and other.accession not in html


# --- Study page ------------------------------------------------------------------------------------


STUDY_PAGE = 15
# 1 the study
# 2-15 its children, each list once: conditions (+condition), sponsors and collaborators (+organisation),
#      sites, countries, milestones, registry ids, publications, sources (+document), cohorts, interventions
#      (+cell type), withdrawals, baseline measures (+instrument), outcomes (+instrument, cohort), adverse
#      events (+cohort)


def grow(study: m.Study, cohorts: int) -> None:
    """Add cohorts, each with a cell product and a co-therapy, outcomes at three timepoints and events."""
    instrument = f.InstrumentFactory(slug="alsfrs-r")
    for index in range(cohorts):
        cohort = f.CohortFactory(study=study, label=f"Dose level {index}", label_zh=f"剂量组 {index}")
        f.InterventionFactory(cohort=cohort, dose_cells_total=1e8, dose_text="1 × 10^8 cells")
        f.InterventionFactory(
            cohort=cohort, kind=c.InterventionKind.DRUG, name="Tacrolimus", cell_type=None, donor="", source_tissue=""
        )
        for month in (3, 6, 12):
            f.OutcomeFactory(study=study, cohort=cohort, instrument=instrument, timepoint=month, value=30 - month / 3)
        f.AdverseEventFactory(study=study, cohort=cohort, term="Fever", organ_class=c.OrganClass.GENERAL)
        f.AdverseEventFactory(study=study, cohort=cohort, term="Headache")


@pytest.mark.parametrize("cohorts", [0, 8], ids=["1-cohort", "9-cohorts"])
def test_study_page_queries_do_not_grow_with_its_children(client, django_assert_num_queries, cohorts):
    study = f.full_study()
    grow(study, cohorts)
    f.RegistryIdentifierFactory(study=study)
    m.RegulatoryMilestone.objects.create(study=study, kind=c.MilestoneKind.IND_CLEARED, agency=c.Agency.NMPA)
    m.Source.objects.create(study=study, document=f.SourceDocumentFactory(), curator_note="Checked.")

    with django_assert_num_queries(STUDY_PAGE):
        html = page(client, f"/studies/{study.accession}/")
    assert html.count("<figure") == 1 and html.count('<section class="cohort"') == cohorts + 1


@pytest.mark.parametrize("state", [c.CurationState.DRAFT, c.CurationState.IN_REVIEW])
def test_unpublished_studies_have_no_page(client, state):
    study = f.full_study(curation_state=state)

    assert client.get(f"/studies/{study.accession}/").status_code == 404
    assert client.get(f"/zh-hans/studies/{study.accession}/").status_code == 404


def test_unknown_accessions_are_not_found(client):
    assert client.get("/studies/NCR-999999/").status_code == 404
    assert client.get("/studies/not-an-accession/").status_code == 404


def test_a_retracted_study_is_shown_under_a_banner_with_its_reason(client):
    study = retracted_study()

    html = page(client, f"/studies/{study.accession}/")

    assert 'class="banner banner--retracted"' in html
    assert "Duplicate of NCR-000007." in html


def test_the_study_header(client):
    study = f.full_study(
        title="Umbilical cord MSC in ALS",
        title_zh="脐带间充质干细胞治疗渐冻症",
        phase=c.Phase.PHASE1_PHASE2,
        phase_reported="1/2a",
        start_date=dt.date(2018, 6, 1),
        start_date_precision=c.DatePrecision.MONTH,
        completion_date=dt.date(2020, 12, 31),
        completion_date_precision=c.DatePrecision.YEAR,
        enrollment=67,
        enrollment_type=c.EnrollmentType.ACTUAL,
        sponsor="Shandong University",
        institutions="Qilu Hospital\nShandong Provincial Hospital",
        follow_up_months=Decimal("12"),
    )
    link = study.study_conditions.get()
    link.detail = "sporadic, El Escorial probable"
    link.save()
    m.RegulatoryMilestone.objects.create(
        study=study,
        kind=c.MilestoneKind.IND_CLEARED,
        agency=c.Agency.NMPA,
        date=dt.date(2019, 1, 1),
        date_precision=c.DatePrecision.YEAR,
        reference="CXSL1900001",
    )

    html = page(client, f"/studies/{study.accession}/")

    for text in (
        "Umbilical cord MSC in ALS",
        '<p class="study-header__alt" lang="zh-Hans">脐带间充质干细胞治疗渐冻症</p>',
        study.accession,
        "Completed",
        "Phase 1/2",
        "1/2a",
        "Interventional trial",
        "sporadic, El Escorial probable",
        "2018-06",
        ">2020<",
        '67 <span class="muted">(Actual)</span>',
        "12 months",
        "China",
        "Shandong University",
        "Qilu Hospital<br>Shandong Provincial Hospital",
        "IND cleared",
        "NMPA (China)",
        "CXSL1900001",
    ):
        assert text in html, text


def test_registry_ids_publications_and_the_api_are_linked(client):
    study = f.full_study()
    registration = study.registry_ids.get()
    publication = study.publications.get()

    links = {a["href"] for a in Elements(page(client, f"/studies/{study.accession}/")).find("a")}

    assert f"https://clinicaltrials.gov/study/{registration.value}" in links
    assert f"https://doi.org/{publication.doi}" in links
    assert f"https://pubmed.ncbi.nlm.nih.gov/{publication.pmid}/" in links
    assert f"/api/v1/studies/{study.accession}/" in links


def test_sources_and_curator_notes_are_shown(client):
    study = f.full_study()
    document = f.SourceDocumentFactory(title="神经干细胞移植治疗脊髓损伤的长期临床疗效如何?", url="https://example.org/seed")
    m.Source.objects.create(study=study, document=document, locator="section 2", curator_note="The seed names the wrong trial.")

    html = page(client, f"/studies/{study.accession}/")
    provenance = html[html.index('id="provenance"') :]

    assert "神经干细胞移植治疗脊髓损伤的长期临床疗效如何?" in provenance
    assert 'href="https://example.org/seed"' in provenance
    assert "section 2" in provenance
    assert 'class="curator-note"' in provenance and "The seed names the wrong trial." in provenance


def test_cohorts_and_their_interventions(client):
    study = f.StudyFactory()
    cohort = f.CohortFactory(study=study, label="High dose", n_enrolled=12, n_analysed=10, age_summary="mean 54 years")
    f.InterventionFactory(
        cohort=cohort,
        product_name="NurOwn",
        dose_cells_per_kg=2e6,
        dose_cells_total=1.25e8,
        dose_text="2 × 10^6 cells/kg",
        route_detail="lumbar puncture",
        n_administrations=3,
        schedule="every 2 months",
    )
    f.InterventionFactory(
        cohort=cohort, kind=c.InterventionKind.DRUG, name="Riluzole", cell_type=None, donor="", source_tissue=""
    )

    html = page(client, f"/studies/{study.accession}/")
    cohorts = html[html.index('id="cohorts"') : html.index('id="outcomes"')]

    for text in (
        "High dose",
        "Experimental",
        ">12<",
        ">10<",
        "mean 54 years",
        "NurOwn",
        "Umbilical cord MSC",
        "Umbilical cord",
        "Allogeneic",
        "2 × 10⁶ cells/kg",
        "1.25 × 10⁸ cells per administration",
        "<q>2 × 10^6 cells/kg</q>",
        "Intrathecal",
        "lumbar puncture",
        "3 administrations",
        "every 2 months",
        "Riluzole",
    ):
        assert text in cohorts, text


def test_outcomes_are_a_chart_with_its_data_table(client):
    study = f.StudyFactory()
    cohort = f.CohortFactory(study=study, label="UC-MSC")
    instrument = f.InstrumentFactory(
        slug="alsfrs-r", name="ALS Functional Rating Scale", abbreviation="ALSFRS-R", range_min=0, range_max=48
    )
    f.OutcomeFactory(
        study=study,
        cohort=cohort,
        instrument=instrument,
        timepoint=3,
        baseline_value=36,
        value=34.5,
        p_value=Decimal("0.03"),
        p_qualifier="=",
    )
    f.OutcomeFactory(
        study=study,
        cohort=cohort,
        instrument=instrument,
        timepoint=6,
        baseline_value=36,
        value=33,
        p_text="n.s.",
        finding="Slower decline.",
    )
    f.OutcomeFactory(
        study=study,
        cohort=cohort,
        instrument=instrument,
        timepoint=12,
        value=None,
        baseline_value=None,
        finding="Stable at one year.",
    )

    html = page(client, f"/studies/{study.accession}/")
    outcomes = html[html.index('id="outcomes"') : html.index('id="adverse-events"')]

    assert "<figure" in outcomes and "<figcaption" in outcomes
    assert '<svg class="chart"' in outcomes and 'role="img"' in outcomes
    assert "↑ Higher is better" in outcomes
    assert "Data: ALSFRS-R over time</caption>" in outcomes
    assert outcomes.count('<th scope="col"') == 7 and outcomes.count('<th scope="row">UC-MSC') == 2
    assert "p = 0.03" in outcomes and "n.s." in outcomes
    assert "Slower decline." in outcomes
    findings = outcomes[outcomes.index('class="findings"') :]
    assert "Stable at one year." in findings and "12 months" in findings


def test_adverse_events_grouped_by_organ_class_and_seriousness_per_cohort(client):
    study = f.StudyFactory()
    low, high = f.CohortFactory(study=study, label="Low dose"), f.CohortFactory(study=study, label="High dose")
    for cohort, affected in ((low, 1), (high, 3)):
        f.AdverseEventFactory(
            study=study,
            cohort=cohort,
            term="Headache",
            organ_class=c.OrganClass.NERVOUS,
            n_affected=affected,
            n_at_risk=10,
            grade=1,
        )
    f.AdverseEventFactory(
        study=study,
        cohort=high,
        term="Meningitis",
        organ_class=c.OrganClass.INFECTIONS,
        serious=c.Seriousness.SERIOUS,
        grade=3,
        relatedness=c.Relatedness.PROBABLE,
        n_affected=1,
        n_at_risk=10,
    )

    html = page(client, f"/studies/{study.accession}/")
    harms = html[html.index('id="adverse-events"') : html.index('id="references"')]
    serious, non_serious = harms.split("<caption>")[1:]

    assert serious.startswith("Serious adverse events") and "Meningitis" in serious and "Probable" in serious
    assert "Infections and infestations" in serious and "High dose" in serious and "Low dose" not in serious
    assert non_serious.startswith("Non-serious adverse events") and "Nervous system disorders" in non_serious
    # one line for headache, a column per cohort: affected / at risk (%)
    assert non_serious.count("Headache") == 1
    assert "1 / 10 (10%)" in non_serious and "3 / 10 (30%)" in non_serious
    assert '<th scope="rowgroup"' in non_serious


def test_the_citation_line(client):
    study = f.full_study(title="Umbilical cord MSC in ALS")
    study_snapshot(study=study)
    study_snapshot(study=study, note="A correction")  # the same document: still version 1
    m.Study.objects.filter(pk=study.pk).update(updated_at=timezone.make_aware(dt.datetime(2025, 3, 4, 12)), edit_count=7)

    html = page(client, f"/studies/{study.accession}/")

    # The version readers can find in the version history, not the internal edit counter.
    assert (
        f"NeuroCell Registry. Umbilical cord MSC in ALS. Record {study.accession}, version 1, last updated 2025-03-04. "
        f"http://testserver/studies/{study.accession}/"
    ) in html
    assert f"/studies/{study.accession}/versions/" in html


def test_the_chinese_study_page(client):
    study = f.StudyFactory(title="UC-MSC in ALS", title_zh="脐带间充质干细胞治疗渐冻症", brief_summary="English summary.")
    cohort = f.CohortFactory(study=study, label="Treated", label_zh="治疗组")
    f.InterventionFactory(cohort=cohort)
    m.CellType.objects.filter(slug="umbilical-cord-msc").update(name_zh="脐带间充质干细胞")
    f.OutcomeFactory(study=study, cohort=cohort, timepoint=3, finding="Improved.", finding_zh="有所改善。")
    f.OutcomeFactory(study=study, cohort=cohort, timepoint=6, finding="Sustained.", finding_zh="")
    f.AdverseEventFactory(study=study, cohort=cohort, term="Headache", term_zh="头痛")

    html = page(client, f"/zh-hans/studies/{study.accession}/")

    assert '<html lang="zh-Hans">' in html
    assert '<h1 id="study-title">脐带间充质干细胞治疗渐冻症</h1>' in html
    assert '<p class="study-header__alt" lang="en">UC-MSC in ALS</p>' in html
    assert '<div class="prose" lang="en">' in html  # no Chinese summary: the English one, marked as such
    for text in (
        "治疗组",
        "脐带间充质干细胞",
        "有所改善。",
        "Sustained.",
        "头痛",
        chinese("Adverse events"),
        chinese("Cite this record"),
    ):
        assert text in html, text
    assert "Improved." not in html


# --- Home page -------------------------------------------------------------------------------------


HOME_PAGE = 8
# 1 headline numbers: COUNT and SUM(enrollment) of public studies
# 2 (study, condition) pairs of public studies
# 3 cohorts of public studies that received each cell type, with their size
# 4 the condition hierarchy
# 5 cell types (the map's columns)
# 6 conditions (the map's rows)
# 7 the most recently updated public studies
# 8 their conditions


def test_home_runs_a_fixed_number_of_queries(client, studies, django_assert_num_queries):
    with django_assert_num_queries(HOME_PAGE):
        html = page(client, "/")
    assert html.count('class="recent__item"') == min(len(studies), 8)


def test_the_evidence_map_counts_studies_and_patients_treated(client):
    als = f.ConditionFactory(slug="amyotrophic-lateral-sclerosis", name="Amyotrophic lateral sclerosis")
    stroke = f.ConditionFactory(slug="stroke", name="Stroke")
    ischemic = f.ConditionFactory(slug="ischemic-stroke", name="Ischemic stroke", parent=stroke)
    msc = f.CellTypeFactory(slug="umbilical-cord-msc", name="Umbilical cord MSC")
    f.CellTypeFactory(slug="schwann-cells", name="Schwann cells")

    def trial(condition, arms, **fields):
        study = f.StudyFactory(**fields)
        m.StudyCondition.objects.create(study=study, condition=condition)
        for n_enrolled, treated in arms:
            cohort = f.CohortFactory(study=study, n_enrolled=n_enrolled)
            if treated:
                # two administrations of the same product: the cohort still counts once
                f.InterventionFactory(cohort=cohort, cell_type=msc)
                f.InterventionFactory(cohort=cohort, cell_type=msc)
        return study

    trial(als, [(20, True), (20, False)], enrollment=40, enrollment_type="actual")
    trial(als, [(7, True)], enrollment=7, enrollment_type="actual")
    trial(ischemic, [(None, True)])
    trial(als, [(500, True)], curation_state=c.CurationState.DRAFT, enrollment=500, enrollment_type="actual")

    html = page(client, "/")

    link = 'href="/studies/?condition={}&amp;cell_type=umbilical-cord-msc"'
    als_cell = html[html.index(link.format("amyotrophic-lateral-sclerosis")) :].split("</a>")[0]
    assert '<span class="heat__studies" aria-hidden="true">2</span>' in als_cell
    assert '<span class="heat__patients" aria-hidden="true">27</span>' in als_cell  # 20 + 7: not the control arm, not the draft
    assert "2 studies" in als_cell and "27 patients treated" in als_cell
    # a broader condition includes its narrower ones; a cohort of unreported size is said to be unknown
    for slug in ("stroke", "ischemic-stroke"):
        cell = html[html.index(link.format(slug)) :].split("</a>")[0]
        assert '<span class="heat__patients" aria-hidden="true">—</span>' in cell and "patients treated not reported" in cell
    assert 'cell_type=schwann-cells"' not in html  # an empty pair has no link
    assert "not counting control arms" in html  # the definition is on the page
    stats = html[html.index('class="stats"') :]
    assert re.search(r"<dt>Studies</dt><dd>3</dd>", stats) and re.search(r"<dt>Participants</dt><dd>47</dd>", stats)
    assert re.search(r"<dt>Conditions</dt><dd>2</dd>", stats) and re.search(r"<dt>Cell types</dt><dd>1</dd>", stats)


def test_home_never_shows_unpublished_studies(client):
    shown = f.full_study(enrollment=10, enrollment_type="actual")
    hidden = unpublished_studies()

    html = page(client, "/")

    assert shown.accession in html
    for study in hidden:
        assert study.accession not in html and study.title not in html
    assert "<dt>Studies</dt><dd>1</dd>" in html and "<dt>Participants</dt><dd>10</dd>" in html


def test_recently_updated_lists_the_newest_first(client):
    old, new = f.StudyFactory(), f.StudyFactory()
    m.Study.objects.filter(pk=old.pk).update(updated_at=timezone.now() - dt.timedelta(days=30))

    html = page(client, "/")

    assert html.index(new.accession) < html.index(old.accession)


def test_the_chinese_home_page(client):
    f.full_study()
    m.Condition.objects.filter(slug="amyotrophic-lateral-sclerosis").update(name_zh="肌萎缩侧索硬化")

    html = page(client, "/zh-hans/")

    assert '<html lang="zh-Hans">' in html
    for text in (chinese("Evidence map"), chinese("Recently updated"), "肌萎缩侧索硬化", chinese("Completed")):
        assert text in html, text
    assert 'href="/zh-hans/studies/?condition=amyotrophic-lateral-sclerosis&amp;cell_type=umbilical-cord-msc"' in html


# --- Language, layout, accessibility ----------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/studies/", "/studies/{accession}/"])
def test_every_page_has_landmarks_a_skip_link_and_both_languages(client, url):
    study = f.full_study()
    html = page(client, url.format(accession=study.accession))
    tags = Elements(html)

    assert tags.find("a", class_="skip-link", href="#main")
    assert tags.find("main", id="main") and tags.find("header") and tags.find("footer") and tags.find("nav")
    assert len(tags.find("h1")) == 1
    switcher = tags.find("a", class_="language-switcher__link") + tags.find("span", class_="language-switcher__link")
    assert {a["lang"] for a in switcher} == {"en", "zh-Hans"}
    assert "csrfmiddlewaretoken" not in html, "a public page has no form needing a CSRF cookie"
    assert tags.find("link", rel="alternate", hreflang="zh-Hans")
    # only our own assets; external addresses are outbound links only
    for tag, attrs in tags.tags:
        for attr in ("src",) if tag != "link" else ("href",):
            assert not attrs.get(attr, "").startswith(("http:", "https:", "//")), (tag, attrs)


def test_the_language_switcher_keeps_the_page_and_the_search(client):
    f.ConditionFactory(slug="stroke", name="Stroke")
    english = Elements(page(client, "/studies/?condition=stroke")).find("a", class_="language-switcher__link")
    assert [a["href"] for a in english] == ["/zh-hans/studies/?condition=stroke"]

    chinese = Elements(page(client, english[0]["href"])).find("a", class_="language-switcher__link")
    assert [a["href"] for a in chinese] == ["/studies/?condition=stroke"]


def test_form_controls_have_labels(client):
    f.full_study()
    html = page(client, "/studies/")
    tags = Elements(html)
    labelled = {label["for"] for label in tags.find("label") if "for" in label}

    for tag in ("input", "select"):
        for control in tags.find(tag):
            if control.get("type") in ("hidden", "submit"):
                continue
            assert control.get("id") in labelled, control
