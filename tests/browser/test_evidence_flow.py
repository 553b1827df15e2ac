"""Evidence across studies in a real browser, on the curated dataset: the ALS safety table and the
ALSFRS-R outcome view in both languages at desktop and phone widths, and two studies side by side
chosen from the search page."""

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture
def curated(transactional_db):
    call_command("import_studies", verbosity=0)


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_als_safety_and_outcomes_read_on_every_size(curated, chromium, live_server, size, prefix):
    width, height = SIZES[size]
    page = chromium.new_page(viewport={"width": width, "height": height})
    page.goto(f"{live_server.url}{prefix}/evidence/safety/?condition=amyotrophic-lateral-sclerosis")
    table = page.locator("#safety-table")
    # NCR-000007: no serious adverse event related to cell administration among 67 (a stated total).
    figures = table.locator("td[data-measure=serious_cell_related] .figure").all_inner_texts()
    studies = table.locator("td[data-measure=serious_cell_related] .figure__studies").all_inner_texts()
    assert any(figure == "0/67" for figure in figures)
    assert any("NCR-000007" in text for text in studies)
    # NCR-000005: one death (respiratory failure) among 29.
    deaths = table.locator("td[data-measure=death]").filter(has=page.locator(".figure__studies", has_text="NCR-000005"))
    assert deaths.locator(".figure").inner_text() == "1/29"
    assert overflow(page) == 0
    page.goto(f"{live_server.url}{prefix}/evidence/outcomes/?instrument=alsfrs-r&condition=amyotrophic-lateral-sclerosis")
    excluded = page.locator("#excluded-table")
    assert excluded.locator("tr").filter(has_text="NCR-000006").count() == 2  # the lead-in and the 9-month window
    assert page.locator("#pooled.pooled--none").is_visible()
    assert overflow(page) == 0
    page.close()


def test_two_studies_chosen_on_the_search_page_are_compared(curated, chromium, live_server):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/studies/?condition=amyotrophic-lateral-sclerosis")
    for accession in ("NCR-000005", "NCR-000007"):
        page.locator(f"input[form=compare-form][value={accession}]").check()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_url("**/evidence/compare/**")
    headers = page.locator(".compare-table thead th a").all_inner_texts()
    assert sorted(headers) == ["NCR-000005", "NCR-000007"]
    # Harms line up by organ class: NCR-000005's death sits in the respiratory row.
    respiratory = page.locator(".compare-table tr").filter(has_text="Respiratory")
    assert "Death (respiratory failure): 1/29" in respiratory.inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    assert overflow(page) == 0
    page.close()
