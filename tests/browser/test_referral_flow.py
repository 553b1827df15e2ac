"""Referring a patient in a real browser: a recruiting ALS study for a 45-year-old woman near a city, then
its eligibility, nearest site and contact, participant flow and baseline table on the study page."""

import pytest

from tests import factories as f
from trials import choices as c
from trials import models as m

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dataset(transactional_db):
    als = f.ConditionFactory(slug="amyotrophic-lateral-sclerosis", name="Amyotrophic lateral sclerosis")

    def study(title, city, country, **fields):
        record = f.StudyFactory(title=title, overall_status=c.OverallStatus.RECRUITING, **fields)
        m.StudyCondition.objects.create(study=record, condition=als)
        m.StudyCountry.objects.create(study=record, country=country)
        f.SiteFactory(study=record, facility=f"{city} ALS Centre", city=city, country=country,
                      contact_name="Dr Chen", contact_email="chen@example.org")  # fmt: skip
        return record

    adults = {"min_age": 18, "min_age_unit": "year", "max_age": 70, "max_age_unit": "year", "eligible_sex": "all"}
    wanted = study("UC-MSC for ALS in Nanjing", "Nanjing", "CN", eligibility_inclusion="Definite ALS", **adults)
    study("UC-MSC for ALS in Boston", "Boston", "US", **adults)  # too far
    study("Men-only ALS study in Shanghai", "Shanghai", "CN", **{**adults, "eligible_sex": "male"})
    cohort = f.CohortFactory(study=wanted, label="UC-MSC", n_enrolled=20, n_started=20, n_completed=18)
    f.WithdrawalFactory(cohort=cohort, reason=c.WithdrawalReason.WITHDREW_CONSENT, n=2)
    m.BaselineMeasure.objects.create(cohort=cohort, kind="sex", statistic="count", category="female", value=9)
    return wanted


def test_find_a_study_for_a_patient_near_a_city_and_read_its_eligibility_sites_and_flow(chromium, live_server, dataset):
    from playwright.sync_api import expect

    page = chromium.new_page()
    page.goto(f"{live_server.url}/studies/?condition=amyotrophic-lateral-sclerosis")
    expect(page.locator("#results-heading")).to_have_text("3 studies")

    page.locator("#facet-patient summary").click()
    page.fill("#patient-age", "45")
    page.select_option("#patient-sex", "female")
    page.fill("#patient-near", "南京")
    page.fill("#patient-radius", "400")
    page.press("#patient-radius", "Enter")
    expect(page.locator("#results-heading")).to_have_text("1 study")

    page.get_by_role("link", name="UC-MSC for ALS in Nanjing").click()
    expect(page.locator("#eligibility-heading")).to_be_visible()
    expect(page.locator("#eligibility")).to_contain_text("18 years to 70 years")
    expect(page.locator("#eligibility")).to_contain_text("Definite ALS")
    expect(page.locator("#sites .nearest")).to_contain_text("Nearest site to Nanjing: Nanjing ALS Centre, about 0 km away.")
    expect(page.locator("#sites a[href='mailto:chen@example.org']")).to_be_visible()
    expect(page.locator("figure.flow-diagram")).to_contain_text("Withdrawal by participant: 2")
    expect(page.get_by_role("table", name="Baseline characteristics")).to_contain_text("9 (45 %)")
