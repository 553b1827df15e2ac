"""The curator admin as a curator meets it: forms posted as the browser would post them."""

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group, User

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.services import workflow as workflow_services


class FormFields(HTMLParser):
    """Collects the values a browser would submit from the page's main form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self.data.setdefault(self._select, []).append(value)
                self._select_chosen = True
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            if not self._select_chosen and "multiple" not in self._select:
                self.data.setdefault(self._select, []).append(self._select_first or "")
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data


def form_data(response) -> dict:
    parser = FormFields()
    parser.feed(response.content.decode())
    # Templates for new inline rows ("__prefix__") are not submitted by a browser.
    return {k: v if len(v) > 1 else v[0] for k, v in parser.data.items() if "__prefix__" not in k}


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("admin", "admin@example.org", "pw")


def user_in(group: str) -> User:
    user = User.objects.create_user(group, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def change_url(study) -> str:
    return f"/admin/trials/study/{study.pk}/change/"


@pytest.mark.parametrize("rows", [2, 20])
def test_study_changelist_query_count_is_fixed(admin_client, django_assert_num_queries, rows):
    for _ in range(rows):
        f.full_study()
    # session, user, count (filtered), count (total), page of studies, prefetch study_conditions(+condition),
    # prefetch cohorts, prefetch interventions(+cell_type), condition filter choices, cell-type filter choices
    with django_assert_num_queries(10):
        response = admin_client.get("/admin/trials/study/")
    assert response.status_code == 200
    assert response.content.decode().count('class="field-accession"') == rows


def test_changelist_searches_registry_ids_doi_and_chinese_titles(admin_client):
    study = f.full_study(title_zh="脐带间充质干细胞治疗渐冻症")
    other = f.full_study()
    doi = study.publications.get().doi
    for term in [study.registry_ids.get().value, doi, "渐冻症", study.publications.get().pmid]:
        page = admin_client.get("/admin/trials/study/", {"q": term}).content.decode()
        assert study.accession in page, term
        assert other.accession not in page, term


def test_changelist_filters_by_condition_and_cell_type(admin_client):
    study = f.full_study()
    stroke = f.StudyFactory()
    m.StudyCondition.objects.create(study=stroke, condition=f.ConditionFactory(slug="stroke"))
    page = admin_client.get(
        "/admin/trials/study/", {"condition": "amyotrophic-lateral-sclerosis", "cell_type": "umbilical-cord-msc"}
    )
    assert study.accession in page.content.decode()
    assert stroke.accession not in page.content.decode()


def draft() -> m.Study:
    return f.full_study(curation_state=c.CurationState.DRAFT)


def test_valid_edit_saves_through_the_service_and_counts_an_edit(admin_client):
    study = draft()
    data = form_data(admin_client.get(change_url(study)))
    data["title"] = "Renamed by a curator"
    response = admin_client.post(change_url(study), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    study.refresh_from_db()
    assert study.title == "Renamed by a curator"
    assert study.edit_count == 2
    # Rows are updated in place (same keys, same database rows), never deleted and added again.
    assert not m.Cohort.history.filter(study_id=study.pk, history_type="-").exists()


def test_invalid_child_shows_the_error_beside_the_field_and_saves_nothing(admin_client):
    study = draft()
    data = form_data(admin_client.get(change_url(study)))
    data["title"] = "Should not be saved"
    affected = next(k for k in data if k.endswith("-n_affected") and k.startswith("adverse_events"))
    data[affected] = "99"
    response = admin_client.post(change_url(study), data)
    assert response.status_code == 200
    assert "More participants affected (99) than at risk (10)." in response.content.decode()
    study.refresh_from_db()
    assert study.title != "Should not be saved"
    assert study.edit_count == 1


def test_a_rule_across_rows_is_shown_on_the_field_it_concerns(admin_client):
    """The document's rules (here: a negative time needs a declared lead-in) checked before saving."""
    study = draft()
    data = form_data(admin_client.get(change_url(study)))
    timepoint = next(k for k in data if k.endswith("-timepoint") and k.startswith("outcomes"))
    data[timepoint] = "-3"
    response = admin_client.post(change_url(study), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "A negative time lies before treatment" in page
    field_row = page[: page.index("A negative time lies before treatment")].rsplit("form-row", 1)[1]
    assert "timepoint" in field_row
    assert m.OutcomeMeasure.objects.get(study=study).timepoint == 6


def test_cohort_choices_are_the_studys_own(admin_client):
    study = draft()
    foreign = f.CohortFactory(label="Another study's arm")
    page = admin_client.get(change_url(study)).content.decode()
    assert study.cohorts.get().label in page
    assert foreign.label not in page


def test_second_of_two_concurrent_edits_is_refused(admin_client, client, db):
    study = draft()
    first = form_data(admin_client.get(change_url(study)))
    second = form_data(admin_client.get(change_url(study)))
    first["title"] = "First curator's title"
    assert admin_client.post(change_url(study), first).status_code == 302
    second["sponsor"] = "Second curator's sponsor"
    response = admin_client.post(change_url(study), second)
    assert response.status_code == 200
    page = response.content.decode()
    assert "This study was changed by admin" in page
    assert "your copy is out of date" in page
    assert "title" in page.split("fields changed:")[1][:200]
    study.refresh_from_db()
    assert (study.title, study.sponsor, study.edit_count) == ("First curator's title", "", 2)


def workflow(client, study, action, **data):
    return client.post(f"/admin/trials/study/{study.pk}/workflow/{action}/", data)


def test_curation_state_is_not_a_form_field(client, db):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    client.force_login(user_in("curator"))
    data = form_data(client.get(change_url(study)))
    assert "curation_state" not in data
    data["curation_state"] = "published"
    assert client.post(change_url(study), data).status_code == 302
    study.refresh_from_db()
    assert study.curation_state == c.CurationState.DRAFT


def test_curator_submits_and_cannot_publish_reviewer_publishes(client, db):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    client.force_login(user_in("curator"))
    page = client.get(change_url(study)).content.decode()
    assert "Submit for review" in page
    assert ">Publish<" not in page
    workflow(client, study, "submit")
    study.refresh_from_db()
    assert study.curation_state == c.CurationState.IN_REVIEW
    workflow(client, study, "publish")
    study.refresh_from_db()
    assert study.curation_state == c.CurationState.IN_REVIEW

    client.force_login(user_in("reviewer"))
    assert ">Publish<" in client.get(change_url(study)).content.decode()
    assert "What changed" in client.get(f"/admin/trials/study/{study.pk}/workflow/publish/").content.decode()
    workflow(client, study, "publish", text="First publication")
    study.refresh_from_db()
    assert study.curation_state == c.CurationState.PUBLISHED
    assert study.versions.get().number == 1


def test_published_study_is_read_only_in_the_admin(admin_client):
    study = f.full_study()
    page = admin_client.get(change_url(study)).content.decode()
    assert 'name="title"' not in page
    assert "Start a revision" in page
    data = {"title": "Edited in place", "loaded_edit": "1"}
    assert admin_client.post(change_url(study), data).status_code == 403
    study.refresh_from_db()
    assert study.title != "Edited in place"


def test_request_changes_form_keeps_a_blocking_comment(client, db):
    study = f.full_study(curation_state=c.CurationState.IN_REVIEW)
    client.force_login(user_in("reviewer"))
    assert "Comment for the curator" in client.get(f"/admin/trials/study/{study.pk}/workflow/request-changes/").content.decode()
    workflow(client, study, "request-changes", text="Dose per kg is missing.", blocking="1")
    study.refresh_from_db()
    assert study.curation_state == c.CurationState.DRAFT
    page = client.get(change_url(study)).content.decode()
    assert "Dose per kg is missing." in page
    assert "Blocking" in page


def test_adding_a_study_assigns_the_next_accession(admin_client):
    data = form_data(admin_client.get("/admin/trials/study/add/"))
    data.update(title="A new trial", study_type="interventional", overall_status="RECRUITING", curation_state="draft")
    response = admin_client.post("/admin/trials/study/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert m.Study.objects.get(title="A new trial").accession == "NCR-000001"


def test_history_records_child_edits_with_the_user(admin_client, superuser):
    study = draft()
    data = form_data(admin_client.get(change_url(study)))
    term = next(k for k in data if k.endswith("-term") and k.startswith("adverse_events"))
    data[term] = "Respiratory failure"
    assert admin_client.post(change_url(study), data).status_code == 302
    record = m.AdverseEvent.history.filter(term="Respiratory failure").get()
    assert record.history_user == superuser
    assert record.history_type == "~"


def test_full_history_shows_child_changes_as_readable_diffs(admin_client, superuser):
    study = draft()
    data = form_data(admin_client.get(change_url(study)))
    affected = next(k for k in data if k.endswith("-n_affected") and k.startswith("adverse_events"))
    data[affected] = "3"
    assert admin_client.post(change_url(study), data).status_code == 302
    page = admin_client.get(f"/admin/trials/study/{study.pk}/full-history/").content.decode()
    row = page[page.index("Adverse event “Death” changed") :][:600]
    assert "affected" in row
    assert "<del>1</del>" in row
    assert "<ins>3</ins>" in row
    assert "admin" in page[: page.index("Adverse event “Death” changed")].rsplit("<tr>", 1)[1]


# --- what the browser walkthrough (tests/browser/test_workflow_flow.py) found ---------------------------


def test_a_public_studys_inlines_are_read_only_and_it_has_no_save_button(admin_client):
    """The view-only page used to keep editable inlines and a Save button that answered 403."""
    study = f.full_study()
    page = admin_client.get(change_url(study)).content.decode()
    assert 'name="cohorts-0-label"' not in page
    assert 'name="_save"' not in page
    assert "Close" in page


def test_mark_resolved_posts_its_own_form_not_the_studys(client, db):
    """Forms cannot nest: a resolve form inside the study's form submitted the study instead."""
    study = f.full_study(curation_state=c.CurationState.IN_REVIEW)
    client.force_login(user_in("reviewer"))
    workflow(client, study, "request-changes", text="Dose per kg is missing.", blocking="1")
    comment = study.review_comments.get()
    page = client.get(change_url(study)).content.decode()
    assert "1 blocking comment is open: the study cannot be published until it is marked resolved." in page
    assert f'form="resolve-comment-{comment.pk}"' in page
    main_form_end = page.index("</form>", page.index('id="study_form"'))
    assert page.index(f'<form id="resolve-comment-{comment.pk}"') > main_form_end
    response = client.post(f"/admin/trials/study/{study.pk}/comments/{comment.pk}/resolve/", follow=True)
    assert "Comment marked resolved: “Dose per kg is missing.”." in response.content.decode()
    assert study.review_comments.get().resolved_by.username == "reviewer"


def test_view_on_site_only_for_public_studies(admin_client):
    draft_study, public = f.full_study(curation_state=c.CurationState.DRAFT), f.full_study()
    assert "View on site" not in admin_client.get(change_url(draft_study)).content.decode()
    assert "View on site" in admin_client.get(change_url(public)).content.decode()


def test_workflow_messages_say_what_happened_to_the_public_record(client, db):
    study = f.full_study()
    client.force_login(user_in("curator"))
    response = workflow(client, study, "revision")
    study.revisions.get()
    page = client.get(response.url).content.decode()
    assert f"A revision of {study.accession}: a private draft copy." in page
    assert "Submit for review" in page
    assert "Workflow and published versions" in client.get(change_url(study)).content.decode()
    assert "revision started" in client.get(change_url(study)).content.decode()


# --- the workflow's table, through the admin's buttons ------------------------------------------------

ADMIN_TEXT = {"comment": "Dose per kg is missing.", "note": "Corrected the dose", "reason": "Duplicate record."}


@pytest.mark.parametrize("role", ["curator", "reviewer"])
@pytest.mark.parametrize("slug", list(workflow_services.TRANSITIONS_BY_SLUG))
def test_each_step_of_the_table_through_the_admin(client, db, role, slug):
    """Every transition shows as a button exactly when the role may take it, and a refused POST changes nothing."""
    transition = workflow_services.TRANSITIONS_BY_SLUG[slug]
    state = sorted(transition.sources)[0]
    study = f.full_study(curation_state=state)
    user = user_in(role)
    client.force_login(user)
    may = user.has_perm(transition.permission)
    page = client.get(change_url(study)).content.decode()
    assert (f"/workflow/{slug}/" in page) == may
    response = client.post(f"/admin/trials/study/{study.pk}/workflow/{slug}/", {"text": ADMIN_TEXT.get(transition.asks, "")})
    assert response.status_code == 302
    steps = m.StudyTransition.objects.filter(study__accession=study.accession)
    if may:
        assert steps.get().action == transition.action
    else:
        assert not steps.exists()
        assert m.Study.objects.get(pk=study.pk).curation_state == state
        assert transition.permission in client.get(response.url).content.decode()  # the message names it


def test_the_admin_refuses_self_publication(client, db):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    client.force_login(user_in("reviewer"))
    client.post(f"/admin/trials/study/{study.pk}/workflow/submit/")
    response = client.post(f"/admin/trials/study/{study.pk}/workflow/publish/", {"text": "First publication"}, follow=True)
    assert "another reviewer publishes it" in response.content.decode()
    assert m.Study.objects.get(pk=study.pk).curation_state == c.CurationState.IN_REVIEW
