"""A clinician's path through the public pages in a real browser (headless Chromium).

Filter by a disease and a cell source without a page reload, open a study and see its chart, come
back with the back button; the same search without JavaScript; the filters folded away on a phone.
"""

import re

import pytest

from tests import factories as f
from trials import choices as c
from trials import models as m

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dataset(transactional_db):
    """Three public studies: only the first has both the disease and the cell source searched for."""
    sci = f.ConditionFactory(slug="spinal-cord-injury", name="Spinal cord injury")
    cervical = f.ConditionFactory(slug="cervical-spinal-cord-injury", name="Cervical spinal cord injury", parent=sci)
    stroke = f.ConditionFactory(slug="stroke", name="Stroke")
    schwann = f.CellTypeFactory(slug="schwann-cells", name="Schwann cells", category=c.CellCategory.GLIAL)
    msc = f.CellTypeFactory(slug="umbilical-cord-msc", name="Umbilical cord MSC")
    motor = f.InstrumentFactory(
        slug="isncsci-motor", name="ISNCSCI motor score", abbreviation="ISNCSCI motor", range_min=0, range_max=100
    )

    def study(title, condition, cell_type, tissue):
        record = f.StudyFactory(title=title)
        m.StudyCondition.objects.create(study=record, condition=condition)
        cohort = f.CohortFactory(study=record, label="Transplanted")
        f.InterventionFactory(cohort=cohort, cell_type=cell_type, source_tissue=tissue, donor=c.Donor.AUTOLOGOUS)
        return record, cohort

    wanted, cohort = study("Autologous Schwann cells in cervical injury", cervical, schwann, c.SourceTissue.PERIPHERAL_NERVE)
    for month, value in ((3, 22.0), (12, 25.0)):
        f.OutcomeFactory(study=wanted, cohort=cohort, instrument=motor, timepoint=month, baseline_value=20.0, value=value)
    study("Umbilical cord MSC in spinal cord injury", sci, msc, c.SourceTissue.UMBILICAL_CORD)
    study("Schwann cells after stroke", stroke, schwann, c.SourceTissue.PERIPHERAL_NERVE)
    return wanted


@pytest.fixture
def browser(dataset, chromium):
    return chromium


def test_filter_by_disease_and_cell_source_then_open_the_study_and_its_chart(browser, live_server, dataset):
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{live_server.url}/studies/")
    expect(page.locator("#results-heading")).to_have_text("3 studies")
    page.evaluate("window.stillTheSamePage = true")

    page.check("#f-condition-spinal-cord-injury")
    expect(page.locator("#results-heading")).to_have_text("2 studies")
    expect(page).to_have_url(re.compile(r"/studies/\?condition=spinal-cord-injury$"))

    page.check("#f-source_tissue-peripheral_nerve")
    expect(page.locator("#results-heading")).to_have_text("1 study")
    expect(page).to_have_url(re.compile(r"/studies/\?condition=spinal-cord-injury&source_tissue=peripheral_nerve$"))
    expect(page.locator(".result__title")).to_have_text(dataset.title)
    # the other options were recounted under the new filters, and the page was never reloaded
    expect(page.locator("label[for='f-cell_type-umbilical-cord-msc'] .facet__count")).to_have_text("0")
    assert page.evaluate("window.stillTheSamePage") is True

    page.click(f"text={dataset.title}")
    expect(page).to_have_url(f"{live_server.url}/studies/{dataset.accession}/")
    chart = page.locator("figure.chart-figure svg.chart")
    expect(chart).to_be_visible()
    expect(chart.locator("> title")).to_have_text("ISNCSCI motor over time")
    expect(page.locator("figure.chart-figure table caption")).to_have_text("Data: ISNCSCI motor over time")
    assert chart.locator("circle").count() == 3  # baseline, 3 and 12 months

    page.go_back()
    expect(page).to_have_url(re.compile(r"condition=spinal-cord-injury&source_tissue=peripheral_nerve$"))
    expect(page.locator("#results-heading")).to_have_text("1 study")
    expect(page.locator("#f-condition-spinal-cord-injury")).to_be_checked()
    expect(page.locator("#f-source_tissue-peripheral_nerve")).to_be_checked()


def test_the_search_works_without_javascript(browser, live_server, dataset):
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/studies/")

    page.check("#f-condition-spinal-cord-injury")
    page.check("#f-source_tissue-peripheral_nerve")
    page.click("button.apply-filters")

    # the GET form sends every field; the page answers at the search's clean address
    expect(page).to_have_url(f"{live_server.url}/studies/?condition=spinal-cord-injury&source_tissue=peripheral_nerve")
    expect(page.locator("#results-heading")).to_have_text("1 study")
    context.close()


def test_filters_fold_away_on_a_phone(browser, live_server, dataset):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/zh-hans/studies/")
    toggle = page.locator(".filters-toggle")

    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#filters")).to_be_hidden()
    toggle.click()
    expect(page.locator("#filters")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
