"""The Content-Security-Policy in a real browser (headless Chromium): the public pages, the API docs
and the admin with its nested inlines work under it, and the browser reports no violation."""

import pytest
from django.contrib.auth.models import User

from tests import factories as f
from trials import choices as c

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"

# Scripts added this way run outside the page's policy, so they can watch it.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI} in ${where}`);
});
"""


# Data is made before the browser starts: code inside Playwright's sync API runs in another greenlet,
# where Django would open a second database connection that nothing closes.
@pytest.fixture
def public_study(transactional_db):
    return f.full_study()


@pytest.fixture
def draft_study(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.create_superuser("curator", "curator@example.org", PASSWORD)
    return f.full_study(curation_state=c.CurationState.DRAFT)


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    context.add_init_script(REPORT_VIOLATIONS)
    browser_page = context.new_page()
    browser_page.violations = []

    def on_console(message):
        if "Content Security Policy" in message.text or "CSP violation" in message.text:
            browser_page.violations.append(f"{browser_page.url}: {message.text}")

    browser_page.on("console", on_console)
    browser_page.on("pageerror", lambda error: browser_page.violations.append(f"{browser_page.url}: {error}"))
    yield browser_page


def test_public_pages_and_the_api_docs_work_under_the_policy(public_study, page, live_server):
    study = public_study
    for path in ["/", "/studies/", f"/studies/{study.accession}/", f"/zh-hans/studies/{study.accession}/"]:
        response = page.goto(live_server.url + path, wait_until="networkidle")
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"], path

    page.goto(f"{live_server.url}/api/v1/docs/", wait_until="networkidle")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)  # rendered by its own script
    page.locator(".opblock-summary").first.click()
    page.locator("button.try-out__btn").first.click()
    page.locator("button.execute").first.click()
    page.wait_for_selector(".live-responses-table .response-col_status", timeout=10_000)

    assert page.violations == []


def test_the_admin_and_its_nested_inlines_work_under_the_policy(draft_study, page, live_server):
    study = draft_study
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "curator")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/trials/study/?q={study.accession}", wait_until="networkidle")
    page.goto(f"{live_server.url}/admin/trials/study/{study.pk}/change/", wait_until="networkidle")
    adders = page.locator("a.djn-add-handler")
    visible = [index for index in range(adders.count()) if adders.nth(index).is_visible()]
    assert visible, "nested-admin's add buttons"
    adders.nth(visible[0]).click()  # adds an empty row, drawn by nested-admin's script
    page.locator("input[name=acronym]").fill("CSP")
    page.locator("input[name=_continue]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".messagelist .success").count() == 1, page.locator(".errornote, .errorlist").all_inner_texts()
    page.goto(f"{live_server.url}/admin/trials/study/{study.pk}/history/", wait_until="networkidle")

    assert page.violations == []
