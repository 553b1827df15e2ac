"""A curator and a reviewer take a study from draft to published, then publish a correction, in the
real admin of a live server (headless Chromium), while an anonymous reader watches the public page.

Each step is also saved as a screenshot under $WALKTHROUGH_DIR (default /tmp/walkthrough/<database>/<test>/),
outside the repository, for the issue's closing note.
"""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection

from trials import models as m

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "walkthrough-password-1"
STUDY_PERMISSIONS = ["study", "studycondition", "studycountry", "regulatorymilestone", "registryidentifier", "publication",
                     "source", "cohort", "intervention", "outcomemeasure", "adverseevent"]  # fmt: skip


def role_groups() -> dict[str, Group]:
    """The groups migration 0004 creates; a transactional test's flush removed them, so made again here
    with the same permissions (the flush's post_migrate signal has recreated the permissions)."""
    codenames = [f"{action}_{model}" for action in ("view", "add", "change", "delete") for model in STUDY_PERMISSIONS]
    study_perms = list(Permission.objects.filter(content_type__app_label="trials", codename__in=codenames))
    groups = {}
    for name, extra in (("curator", []), ("reviewer", ["publish_study"])):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(study_perms + list(Permission.objects.filter(content_type__app_label="trials", codename__in=extra)))
        groups[name] = group
    return groups


@pytest.fixture
def people(transactional_db):
    groups = role_groups()
    for username, role in (("carla", "curator"), ("colin", "curator"), ("rita", "reviewer")):
        user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
        user.groups.add(groups[role])


@pytest.fixture
def browser(people, chromium):
    return chromium


@pytest.fixture
def shots(request):
    test = request.node.name.removeprefix("test_")
    folder = Path(os.environ.get("WALKTHROUGH_DIR", "/tmp/walkthrough")) / connection.vendor / test
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    taken = iter(range(1, 100))

    def shot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{next(taken):02d}-{name}.png"), full_page=True)

    return shot


def sign_in(browser, live_server, username: str):
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username, ignore_case=True)
    return page


def change_url(live_server, study: m.Study) -> str:
    return f"{live_server.url}/admin/trials/study/{study.pk}/change/"


def click_button(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


def publish(page, note: str = "") -> None:
    """The reviewer's Publish button opens a form asking what changed (prefilled for a first publication)."""
    page.get_by_role("link", name="Publish", exact=True).click()
    if note:
        page.fill("#id_text", note)
    page.get_by_role("button", name="Publish", exact=True).click()


def expect_message(page, kind: str, text) -> None:
    from playwright.sync_api import expect

    expect(page.locator(f"ul.messagelist li.{kind}")).to_contain_text(text)


def test_from_draft_to_published_then_a_correction(browser, live_server, shots):
    from playwright.sync_api import expect

    reader = browser.new_context().new_page()

    # --- the curator enters a new study and saves it as a draft ---------------------------------------
    carla = sign_in(browser, live_server, "carla")
    carla.goto(f"{live_server.url}/admin/trials/study/add/")
    carla.fill("#id_title", "Umbilical cord MSC after ischaemic stroke")
    carla.select_option("#id_study_type", "interventional")
    carla.select_option("#id_phase", "phase1")
    carla.get_by_text("Add another Cohort", exact=True).click()
    carla.fill("#id_cohorts-0-label", "UC-MSC")
    carla.select_option("#id_cohorts-0-role", "experimental")
    carla.fill("#id_cohorts-0-n_enrolled", "12")
    shots(carla, "curator-fills-the-new-study")
    carla.click("input[name=_continue]")
    expect_message(carla, "success", "was added successfully")
    study = m.Study.objects.get(title="Umbilical cord MSC after ischaemic stroke")
    assert study.curation_state == "draft"
    assert list(study.cohorts.values_list("label", "n_enrolled")) == [("UC-MSC", 12)]
    shots(carla, "curator-saved-the-draft")

    reader.goto(f"{live_server.url}/studies/{study.accession}/")
    expect(reader.locator("h1")).not_to_contain_text(study.title)  # a draft is not public (404)

    click_button(carla, "Submit for review")
    expect_message(carla, "success", study.accession)
    study.refresh_from_db()
    assert study.curation_state == "in_review"
    shots(carla, "curator-submitted-for-review")

    # --- the reviewer asks for a change, with a blocking comment ------------------------------------
    rita = sign_in(browser, live_server, "rita")
    rita.goto(f"{live_server.url}/admin/trials/study/?curation_state__exact=in_review")
    shots(rita, "reviewer-sees-the-studies-in-review")
    rita.get_by_role("link", name=study.accession).click()
    rita.get_by_role("link", name="Request changes").click()
    rita.fill("#id_text", "Give the cell dose per kilogram.")
    expect(rita.locator("#id_blocking")).to_be_checked()
    shots(rita, "reviewer-writes-a-blocking-comment")
    rita.get_by_role("button", name="Request changes").click()
    expect_message(rita, "success", study.accession)
    study.refresh_from_db()
    assert study.curation_state == "draft"
    shots(rita, "reviewer-sent-it-back")

    # --- the curator sees the comment, edits, resubmits without resolving it ------------------------
    carla.goto(change_url(live_server, study))
    expect(carla.locator("fieldset", has_text="Review comments")).to_contain_text("Give the cell dose per kilogram.")
    carla.fill("#id_sponsor", "Example University Hospital")
    carla.click("input[name=_continue]")
    expect_message(carla, "success", "was changed successfully")
    click_button(carla, "Submit for review")
    expect_message(carla, "success", study.accession)

    # --- publishing is refused while the blocking comment is open ------------------------------------
    rita.goto(change_url(live_server, study))
    shots(rita, "reviewer-sees-the-open-blocking-comment")
    publish(rita)
    expect_message(rita, "error", "1 blocking review comment(s) must be resolved before publishing.")
    study.refresh_from_db()
    assert study.curation_state == "in_review"
    shots(rita, "publish-refused-while-the-comment-is-open")

    carla.goto(change_url(live_server, study))
    click_button(carla, "Mark resolved")
    expect(carla.locator("fieldset", has_text="Review comments")).to_contain_text("Resolved by carla")
    shots(carla, "curator-resolved-the-comment")

    rita.goto(change_url(live_server, study))
    rita.get_by_role("link", name="Publish", exact=True).click()
    from playwright.sync_api import expect as expect_now

    expect_now(rita.locator("#id_text")).to_have_value("First publication")
    shots(rita, "reviewer-is-asked-what-changed")
    rita.get_by_role("button", name="Publish", exact=True).click()
    expect_message(rita, "success", study.accession)
    study.refresh_from_db()
    assert study.curation_state == "published"
    shots(rita, "reviewer-published")

    reader.goto(f"{live_server.url}/studies/{study.accession}/")
    expect(reader.locator("h1")).to_contain_text("Umbilical cord MSC after ischaemic stroke")
    shots(reader, "public-page-shows-the-published-study")

    # --- a correction: a revision, private until published -------------------------------------------
    carla.goto(change_url(live_server, study))
    click_button(carla, "Start a revision")
    revision = m.Study.objects.get(revision_of=study)
    assert revision.accession == study.accession  # a private copy uses up no accession
    expect_message(carla, "success", f"A revision of {study.accession}: a private draft copy.")
    expect(carla).to_have_url(change_url(live_server, revision))
    shots(carla, "curator-started-a-revision")
    carla.fill("#id_title", "Umbilical cord MSC after acute ischaemic stroke")
    carla.click("input[name=_continue]")
    expect_message(carla, "success", "was changed successfully")
    click_button(carla, "Submit for review")
    expect_message(carla, "success", revision.accession)
    shots(carla, "curator-submitted-the-revision")

    reader.goto(f"{live_server.url}/studies/{study.accession}/")
    expect(reader.locator("h1")).to_contain_text("Umbilical cord MSC after ischaemic stroke")
    shots(reader, "public-page-still-shows-the-old-title")
    rita.goto(change_url(live_server, revision))
    publish(rita, "Added “acute” to the title, as the paper has it.")
    expect_message(rita, "success", study.accession)
    expect(rita).to_have_url(change_url(live_server, study))
    shots(rita, "reviewer-published-the-revision")

    reader.goto(f"{live_server.url}/studies/{study.accession}/")
    expect(reader.locator("h1")).to_contain_text("Umbilical cord MSC after acute ischaemic stroke")
    shots(reader, "public-page-shows-the-new-title")
    reader.get_by_role("link", name="All versions").click()
    expect(reader.locator("#versions-heading")).to_contain_text(study.accession)
    expect(reader.locator("table tbody tr")).to_have_count(2)
    shots(reader, "public-version-history")
    reader.get_by_role("link", name=re.compile(r"1 → 2")).click()
    expect(reader.locator(".compare-note")).to_contain_text("Added “acute” to the title, as the paper has it.")
    expect(reader.locator(".change-fields dd")).to_have_count(1)  # one change: the title
    expect(reader.locator(".change-fields del")).to_have_text("Umbilical cord MSC after ischaemic stroke")
    expect(reader.locator(".change-fields ins")).to_have_text("Umbilical cord MSC after acute ischaemic stroke")
    shots(reader, "public-compare-version-1-and-2")


def test_the_second_of_two_simultaneous_edits_is_refused(browser, live_server, shots):
    from playwright.sync_api import expect

    study = m.Study.objects.create(accession="NCR-000001", title="Bone marrow MNC in chronic spinal cord injury",
                                   study_type="interventional", curation_state="draft")  # fmt: skip
    carla, colin = sign_in(browser, live_server, "carla"), sign_in(browser, live_server, "colin")
    carla.goto(change_url(live_server, study))
    colin.goto(change_url(live_server, study))

    carla.fill("#id_acronym", "BM-SCI")
    carla.click("input[name=_continue]")
    expect_message(carla, "success", "was changed successfully")

    colin.fill("#id_sponsor", "A sponsor typed over a stale page")
    colin.click("input[name=_continue]")
    expect(colin.locator(".errorlist.nonfield")).to_contain_text("This study was changed by carla")
    shots(colin, "second-simultaneous-edit-is-refused")
    study.refresh_from_db()
    assert (study.acronym, study.sponsor, study.edit_count) == ("BM-SCI", "", 2)
