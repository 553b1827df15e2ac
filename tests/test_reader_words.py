"""Words that match the data on the study page and in search results, in both languages."""

from decimal import Decimal

import pytest

from tests import factories as f
from trials import choices as c

pytestmark = pytest.mark.django_db


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.fixture
def study():
    """A published study whose only results are findings in words, with a co-therapy and its dose."""
    record = f.StudyFactory(follow_up_months=Decimal("1"), lead_in_months=Decimal("3"))
    cohort = f.CohortFactory(study=record, label="Treated", label_zh="治疗组", stage="chronic stroke", stage_zh="")
    f.InterventionFactory(cohort=cohort, name="Neural stem cells", name_zh="神经干细胞")
    f.InterventionFactory(
        cohort=cohort,
        kind=c.InterventionKind.DRUG,
        cell_type=None,
        source_tissue="",
        donor="",
        route=c.Route.ORAL,
        dose_cells_per_kg=None,
        name="Tacrolimus",
        name_zh="他克莫司",
        dose_text="target blood level 4–8 ng/ml",
        dose_text_zh="维持 4-8 ng/ml 的血药浓度",
    )
    scale = f.InstrumentFactory(slug="nihss", name="NIH Stroke Scale", abbreviation="NIHSS", unit="points")
    f.OutcomeFactory(
        study=record, cohort=cohort, instrument=scale, timepoint=12, value=None, baseline_value=None, finding="Improved."
    )
    return record


def test_findings_in_words_are_results(client, study):
    listing = page(client, "/studies/")
    assert study.accession in listing
    assert '<span class="flag flag--yes">Reported</span>' in listing
    assert '<span class="flag">Not reported</span>' not in listing


def test_co_therapy_doses_and_plural_units_are_printed(client, study):
    html = page(client, f"/studies/{study.accession}/")
    assert "Tacrolimus" in html and "target blood level 4–8 ng/ml" in html
    assert "1 month" in html and "1 months" not in html
    assert "after a lead-in of 3 months before treatment" in html


def test_chinese_page_shows_chinese_fields_and_marks_english_fallbacks(client, study):
    html = page(client, f"/zh-hans/studies/{study.accession}/")
    assert "他克莫司" in html and "维持 4-8 ng/ml 的血药浓度" in html
    assert "1 个月" in html
    # No Chinese stage was curated: the English one is shown, tagged and marked as English.
    assert '<span lang="en">chronic stroke</span> <span class="lang-fallback">（仅有英文）</span>' in html
