"""The study page's clinical blocks (eligibility, sponsor, sites and contacts, participant flow, baseline
table) in both languages; contacts only where they may be shown; the API and exports likewise."""

import json

import pytest
from django.core.management import call_command

from tests import factories as f
from trials import choices as c
from trials import models as m

pytestmark = pytest.mark.django_db


def clinic_study(**fields) -> m.Study:
    study = f.full_study(
        min_age=18,
        min_age_unit=c.AgeUnit.YEAR,
        max_age=65,
        max_age_unit=c.AgeUnit.YEAR,
        eligible_sex=c.EligibleSex.ALL,
        healthy_volunteers=False,
        eligibility_inclusion="Definite ALS by El Escorial criteria",
        eligibility_inclusion_zh="符合El Escorial标准的确诊ALS",
        eligibility_exclusion="Invasive ventilation",
        **fields,
    )
    f.StudyOrganisationFactory(
        study=study, organisation=f.OrganisationFactory(slug="sysu", name="Sun Yat-sen University", name_zh="中山大学")
    )
    f.SiteFactory(
        study=study,
        facility="First Affiliated Hospital",
        facility_zh="第一附属医院",
        city="Guangzhou",
        contact_name="Dr Wang",
        contact_phone="+86 20 1234 5678",
        contact_email="wang@example.org",
    )
    cohort = study.cohorts.get()
    m.Cohort.objects.filter(pk=cohort.pk).update(n_started=10, n_completed=7)
    f.WithdrawalFactory(cohort=cohort, reason=c.WithdrawalReason.LOST_TO_FOLLOW_UP, n=2)
    f.WithdrawalFactory(cohort=cohort, reason=c.WithdrawalReason.DEATH, n=1)
    f.BaselineMeasureFactory(cohort=cohort, value=52.5, dispersion_value=8.1)
    m.BaselineMeasure.objects.create(cohort=cohort, kind="sex", statistic="count", category="female", value=4)
    alsfrs = f.InstrumentFactory(slug="alsfrs-r", abbreviation="ALSFRS-R")
    m.BaselineMeasure.objects.create(
        cohort=cohort,
        kind="instrument",
        instrument=alsfrs,
        statistic="median",
        value=38,
        unit="points",
        dispersion_type="iqr",
        dispersion_lower=33,
        dispersion_upper=41,
    )
    return study


def html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_study_page_shows_eligibility_sponsor_sites_flow_and_baseline(client):
    study = clinic_study()

    page = html(client, f"/studies/{study.accession}/")

    assert 'id="eligibility-heading"' in page and "18 years to 65 years" in page
    assert "Definite ALS by El Escorial criteria" in page and "Invasive ventilation" in page
    assert "Sun Yat-sen University" in page and "?organisation=sysu" in page
    assert "First Affiliated Hospital" in page and "Guangzhou" in page
    assert "Dr Wang" in page and 'href="mailto:wang@example.org"' in page and 'href="tel:+862012345678"' in page
    # The flow: enrolled, started, completed, then who left and why.
    assert '<figure class="flow-diagram"' in page
    assert "Lost to follow-up: 2" in page and "Death: 1" in page
    # The baseline table: one column per cohort, one row per measure.
    assert "<caption>Baseline characteristics</caption>" in page
    assert "52.5 ± 8.1 (Standard deviation)" in page
    assert "4 (40 %)" in page  # of the 10 who started
    assert "median 38 (Interquartile range 33–41)" in page


def test_from_a_search_near_a_place_the_nearest_site_comes_first(client):
    study = clinic_study()
    f.SiteFactory(study=study, facility="Shenzhen Site", city="Shenzhen", country="CN")
    f.SiteFactory(study=study, facility="Unplaced Site", city="Nowhereville", country="CN")

    results = html(client, "/studies/?near=Hong%20Kong&radius_km=200")
    page = html(client, f"/studies/{study.accession}/?near=Hong%20Kong")

    assert f'href="/studies/{study.accession}/?near=Hong+Kong"' in results
    assert "Nearest site to Hong Kong: <strong>Shenzhen Site</strong>" in page
    assert page.index("Shenzhen Site") < page.index("First Affiliated Hospital") < page.index("Unplaced Site")
    # Without a place the sites are in curation order.
    plain = html(client, f"/studies/{study.accession}/")
    assert "Nearest site" not in plain and plain.index("First Affiliated Hospital") < plain.index("Shenzhen Site")


def test_the_chinese_page_shows_the_same_blocks_in_chinese(client):
    study = clinic_study()

    page = html(client, f"/zh-hans/studies/{study.accession}/")

    assert "入选标准" in page and "符合El Escorial标准的确诊ALS" in page
    assert "中山大学" in page and "第一附属医院" in page
    assert "参与者流程" in page and "基线特征" in page
    assert "18 岁至 65 岁" in page


def test_a_retracted_study_keeps_its_sites_but_not_its_contacts(client):
    study = clinic_study(curation_state=c.CurationState.RETRACTED, retraction_reason="Duplicate.")

    page = html(client, f"/studies/{study.accession}/")
    document = client.get(f"/api/v1/studies/{study.accession}/").json()

    assert "First Affiliated Hospital" in page and "Dr Wang" not in page and "wang@example.org" not in page
    assert document["sites"][0]["facility"] == "First Affiliated Hospital"
    assert document["sites"][0]["contact_email"] == ""


def test_a_published_documents_contact_is_served_alone_but_not_in_bulk(client):
    study = clinic_study()
    public = clinic_study()
    m.Site.objects.filter(study=public).update(contact_public=True)

    alone = client.get(f"/api/v1/studies/{study.accession}/").json()
    bulk = {d["accession"]: d for d in client.get("/api/v1/studies/?expand=children").json()["results"]}

    assert alone["sites"][0]["contact_email"] == "wang@example.org"
    assert bulk[study.accession]["sites"][0]["contact_email"] == ""
    assert bulk[public.accession]["sites"][0]["contact_email"] == "wang@example.org"  # a public-registry contact


def test_the_public_export_drops_private_contacts_and_the_backup_keeps_them(tmp_path):
    study = clinic_study()
    public_file, backup_file = tmp_path / "public.json", tmp_path / "backup.json"

    call_command("export_studies", str(public_file), "--public")
    call_command("export_studies", str(backup_file))

    public = {d["accession"]: d for d in json.loads(public_file.read_text())["studies"]}
    backup = {d["accession"]: d for d in json.loads(backup_file.read_text())["studies"]}
    assert public[study.accession]["sites"][0]["contact_name"] == ""
    assert backup[study.accession]["sites"][0]["contact_name"] == "Dr Wang"


def test_the_csv_and_list_carry_eligibility_sponsors_and_cities(client):
    study = clinic_study()

    item = client.get("/api/v1/studies/").json()["results"][0]
    csv = b"".join(client.get("/api/v1/studies/?format=csv").streaming_content).decode()

    assert item["accession"] == study.accession
    assert (item["min_age"], item["min_age_unit"], item["max_age"], item["eligible_sex"]) == (18, "year", 65, "all")
    assert item["organisations"] == ["sysu"] and item["cities"] == ["Guangzhou"]
    header = csv.splitlines()[0].split(",")
    assert {"min_age", "eligible_sex", "healthy_volunteers", "organisations", "cities"} <= set(header)
    assert "wang@example.org" not in csv


STUDY_PAGE_WITH_CLINIC = 15  # tests/test_views.py STUDY_PAGE: every list of the document once


@pytest.mark.parametrize("rows", [2, 20])
def test_the_study_page_queries_do_not_grow_with_sites_withdrawals_and_baselines(client, django_assert_num_queries, rows):
    study = clinic_study()
    cohort = study.cohorts.get()
    m.Cohort.objects.filter(pk=cohort.pk).update(n_started=100, n_completed=0)
    for index in range(rows):
        f.SiteFactory(study=study, facility=f"Site {index}")
        f.WithdrawalFactory(cohort=cohort, reason=c.WithdrawalReason.OTHER, reason_detail=f"reason {index}")
        f.BaselineMeasureFactory(cohort=cohort, kind="other", label=f"Measure {index}", unit="", statistic="count",
                                 category="yes", value=1, dispersion_type="", dispersion_value=None)  # fmt: skip
        f.StudyOrganisationFactory(study=study, role=c.OrganisationRole.COLLABORATOR)

    with django_assert_num_queries(STUDY_PAGE_WITH_CLINIC):
        page = html(client, f"/studies/{study.accession}/")
    assert page.count("Site ") >= rows


def test_a_retracted_studys_published_versions_do_not_show_contacts(client, django_user_model):
    from trials.services import workflow

    study = clinic_study(curation_state=c.CurationState.DRAFT)
    curator = django_user_model.objects.create_superuser("curator", password="x")
    reviewer = django_user_model.objects.create_superuser("reviewer", password="x")
    workflow.study_submit(study=study, by=curator)
    workflow.study_publish(study=study, by=reviewer)
    published = client.get(f"/api/v1/studies/{study.accession}/versions/1/").json()["document"]
    assert published["sites"][0]["contact_name"] == "Dr Wang"

    workflow.study_retract(study=study, by=reviewer, reason="Duplicate record.")

    version = client.get(f"/api/v1/studies/{study.accession}/versions/1/").json()["document"]
    page = html(client, f"/studies/{study.accession}/versions/1/")
    assert version["sites"][0]["contact_name"] == "" and version["sites"][0]["facility"] == "First Affiliated Hospital"
    assert "Dr Wang" not in page and "First Affiliated Hospital" in page
