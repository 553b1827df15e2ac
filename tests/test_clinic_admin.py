"""The admin for eligibility, sites, organisations, flow and baseline: organisations by autocomplete and
found by name, and the document's rules across rows shown beside the field to fix, nothing saved."""

import pytest

from tests import factories as f
from tests.test_admin import change_url, form_data
from trials import choices as c
from trials import models as m

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("admin", "admin@example.org", "pw"))
    return client


def test_organisations_are_chosen_by_autocomplete(admin_client):
    f.OrganisationFactory(slug="sysu", name="Sun Yat-sen University", name_zh="中山大学")
    f.OrganisationFactory(slug="other", name="Other Institute")
    params = {"app_label": "trials", "model_name": "studyorganisation", "field_name": "organisation"}

    for term in ("Sun Yat", "中山"):
        results = admin_client.get("/admin/autocomplete/", {**params, "term": term}).json()["results"]
        assert [r["text"] for r in results] == ["Sun Yat-sen University"], term


def test_the_study_changelist_finds_studies_by_sponsor_name(admin_client):
    study = f.StudyFactory()
    other = f.StudyFactory()
    f.StudyOrganisationFactory(
        study=study, organisation=f.OrganisationFactory(slug="cellgen", name="CellGen", name_zh="细胞基因")
    )

    for term in ("CellGen", "细胞基因"):
        page = admin_client.get("/admin/trials/study/", {"q": term}).content.decode()
        assert study.accession in page and other.accession not in page


def test_the_organisation_changelist_counts_studies(admin_client):
    organisation = f.OrganisationFactory(slug="cellgen", name="CellGen")
    for _ in range(2):
        f.StudyOrganisationFactory(organisation=organisation)

    page = admin_client.get("/admin/trials/organisation/").content.decode()

    assert 'class="field-n_studies">2<' in page


def test_a_flow_that_does_not_add_up_is_shown_on_the_cohort_and_nothing_is_saved(admin_client):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    cohort = study.cohorts.get()
    m.Cohort.objects.filter(pk=cohort.pk).update(n_started=10, n_completed=8)
    f.WithdrawalFactory(cohort=cohort, n=2)
    data = form_data(admin_client.get(change_url(study)))
    completed = next(k for k in data if k.startswith("cohorts") and k.endswith("-n_completed"))
    data[completed] = "9"
    data["title"] = "Should not be saved"

    response = admin_client.post(change_url(study), data)

    assert response.status_code == 200
    page = response.content.decode()
    message = "9 completed and 2 withdrawn are more than the 10 who started."
    assert message in page
    assert "n_started" in page[: page.index(message)].rsplit("form-row", 1)[1]
    study.refresh_from_db()
    assert study.title != "Should not be saved"
    assert m.Cohort.objects.get(pk=cohort.pk).n_completed == 8


def test_an_age_range_upside_down_is_refused_on_its_field(admin_client):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    data = form_data(admin_client.get(change_url(study)))
    data.update(min_age="65", min_age_unit="year", max_age="18", max_age_unit="year")

    response = admin_client.post(change_url(study), data)

    assert response.status_code == 200
    assert "The maximum age is below the minimum age." in response.content.decode()
    study.refresh_from_db()
    assert study.min_age is None


def test_a_site_is_added_and_placed_by_the_gazetteer(admin_client):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    data = form_data(admin_client.get(change_url(study)))
    data.update(
        {
            "sites-TOTAL_FORMS": "1",
            "sites-0-facility": "Drum Tower Hospital",
            "sites-0-city": "Nanjing",
            "sites-0-country": "CN",
            "sites-0-status": "RECRUITING",
        }
    )

    response = admin_client.post(change_url(study), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    site = study.sites.get()
    assert round(site.geo_latitude) == 32 and round(site.geo_longitude) == 119
