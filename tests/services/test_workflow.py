"""The review workflow: who may take each step of the one transition table, in which state, and what the
public sees meanwhile."""

import io
import json

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import override_settings

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.choices import WorkflowAction as Action
from trials.documents import load_document
from trials.services import studies, workflow
from trials.services.accessions import accession_reserve


def member(group: str | None, name: str | None = None) -> User:
    user = User.objects.create_user(name or group or "nobody", is_staff=group is not None)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def curator(db):
    return member("curator")


@pytest.fixture
def reviewer(db):
    return member("reviewer")


@pytest.fixture
def second_reviewer(db):
    return member("reviewer", "second-reviewer")


RUN = {
    Action.SUBMIT: lambda study, by: workflow.study_submit(study=study, by=by),
    Action.PUBLISH: lambda study, by: workflow.study_publish(study=study, by=by, note="A correction"),
    Action.REQUEST_CHANGES: lambda study, by: workflow.study_request_changes(study=study, by=by, text="Fix"),
    Action.RETRACT: lambda study, by: workflow.study_retract(study=study, by=by, reason="Duplicate"),
    Action.START_REVISION: lambda study, by: workflow.study_start_revision(study=study, by=by),
}
ROLE_PERMISSIONS = {
    "anonymous": set(),
    "read_only": set(),
    "curator": {"trials.change_study"},
    "reviewer": {"trials.change_study", "trials.publish_study"},
}


def test_every_step_of_the_table_has_a_service():
    assert set(RUN) == set(workflow.TRANSITIONS)


@pytest.mark.parametrize("role", list(ROLE_PERMISSIONS))
@pytest.mark.parametrize("action", list(workflow.TRANSITIONS))
def test_each_role_may_take_exactly_the_steps_the_table_gives_it(db, role, action):
    transition = workflow.TRANSITIONS[action]
    state = sorted(transition.sources)[0]
    study = f.full_study(curation_state=state)
    by = {"anonymous": AnonymousUser(), "read_only": member(None, "reader")}.get(role) or member(role)
    assert workflow.allowed(action, study, by) == (transition.permission in ROLE_PERMISSIONS[role])
    if transition.permission in ROLE_PERMISSIONS[role]:
        RUN[action](study, by)
        step = m.StudyTransition.objects.get()
        assert (step.action, step.by) == (action, by)
    else:
        with pytest.raises(PermissionDenied, match=transition.permission):
            RUN[action](study, by)
        study.refresh_from_db()
        assert study.curation_state == state
        assert not m.StudyTransition.objects.exists()


@pytest.mark.parametrize("action", list(workflow.TRANSITIONS))
def test_each_step_refuses_every_state_it_does_not_leave_from(reviewer, action):
    transition = workflow.TRANSITIONS[action]
    for state in set(c.CurationState.values) - transition.sources:
        study = f.full_study(curation_state=state)
        with pytest.raises(workflow.WorkflowError, match="This step needs a study that is"):
            RUN[action](study, reviewer)
        study.refresh_from_db()
        assert study.curation_state == state
    assert not m.StudyTransition.objects.exists()


def test_draft_to_published_records_who_and_when(curator, reviewer):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    workflow.study_submit(study=study, by=curator)
    workflow.study_publish(study=study, by=reviewer, note="First release")
    study.refresh_from_db()
    assert study.curation_state == c.CurationState.PUBLISHED
    steps = list(study.transitions.values_list("action", "by__username"))
    assert steps == [("submitted", "curator"), ("published", "reviewer")]
    version = study.versions.get()
    assert (version.number, version.published_by, version.note) == (1, reviewer, "First release")
    assert version.document["accession"] == study.accession


def test_a_reviewer_does_not_publish_what_they_submitted(reviewer, second_reviewer):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    workflow.study_submit(study=study, by=reviewer)
    with pytest.raises(workflow.SelfPublication, match="another reviewer"):
        workflow.study_publish(study=study, by=reviewer)
    assert m.Study.objects.get(pk=study.pk).curation_state == c.CurationState.IN_REVIEW
    workflow.study_publish(study=study, by=second_reviewer)
    assert m.Study.objects.get(pk=study.pk).curation_state == c.CurationState.PUBLISHED


@override_settings(REGISTRY_ALLOW_SELF_PUBLISH=True)
def test_a_deployment_may_allow_self_publication(reviewer):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    workflow.study_submit(study=study, by=reviewer)
    workflow.study_publish(study=study, by=reviewer)
    assert m.Study.objects.get(pk=study.pk).curation_state == c.CurationState.PUBLISHED


def test_a_correction_is_published_with_a_note(curator, reviewer):
    study = f.full_study(curation_state=c.CurationState.IN_REVIEW)
    workflow.study_publish(study=study, by=reviewer)  # the first publication may say nothing
    assert study.versions.get().note == "First publication"
    revision = workflow.study_start_revision(study=study, by=curator)
    workflow.study_submit(study=revision, by=curator)
    with pytest.raises(ValidationError) as error:
        workflow.study_publish(study=revision, by=reviewer, note="  ")
    assert "note" in error.value.message_dict
    workflow.study_publish(study=revision, by=reviewer, note="Nothing changed but the check")


def test_blocking_comment_stops_publication_until_resolved(curator, reviewer):
    study = f.full_study(curation_state=c.CurationState.IN_REVIEW)
    workflow.study_request_changes(study=study, by=reviewer, text="Add the dose.", blocking=True)
    workflow.study_submit(study=study, by=curator)
    with pytest.raises(workflow.BlockingComments, match="1 blocking"):
        workflow.study_publish(study=study, by=reviewer)
    workflow.study_resolve_comment(comment=study.review_comments.get(), by=curator)
    workflow.study_publish(study=study, by=reviewer)
    assert m.Study.objects.get(pk=study.pk).curation_state == c.CurationState.PUBLISHED


def test_advisory_comment_does_not_block(reviewer):
    study = f.full_study(curation_state=c.CurationState.IN_REVIEW)
    workflow.study_comment(study=study, by=reviewer, text="Consider adding the Chinese title.", blocking=False)
    workflow.study_publish(study=study, by=reviewer)


def test_retraction_needs_a_reason_and_stays_public(reviewer):
    study = f.full_study()
    with pytest.raises(ValidationError):
        workflow.study_retract(study=study, by=reviewer, reason="  ")
    workflow.study_retract(study=study, by=reviewer, reason="Data could not be verified.")
    study = m.Study.objects.public().get(pk=study.pk)
    assert study.curation_state == c.CurationState.RETRACTED
    assert study.retraction_reason == "Data could not be verified."


def test_every_step_moves_the_edit_counter_not_the_public_version(curator, reviewer):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    counts = [m.Study.objects.get(pk=study.pk).edit_count]
    for step in (workflow.study_submit, lambda study, by: workflow.study_request_changes(study=study, by=by, text="x")):
        step(study=study, by=reviewer if step is not workflow.study_submit else curator)
        counts.append(m.Study.objects.get(pk=study.pk).edit_count)
    assert counts == [1, 2, 3]
    assert load_document(study)["version"] is None  # not published yet: no public version


def test_a_revision_keeps_the_accession_and_stays_private_until_published(curator, reviewer):
    study = f.full_study(title="Original title", curation_state=c.CurationState.IN_REVIEW)
    workflow.study_publish(study=study, by=reviewer)
    before = load_document(study)
    counter = m.AccessionCounter.objects.values_list("last_number", flat=True).first()
    revision = workflow.study_start_revision(study=study, by=curator)
    assert revision.accession == study.accession  # a private copy needs no number of its own
    assert m.AccessionCounter.objects.values_list("last_number", flat=True).first() == counter
    assert revision.curation_state == c.CurationState.DRAFT
    assert workflow.study_start_revision(study=study, by=curator) == revision  # one open revision at a time
    assert workflow.working_copy(m.Study.objects.get(pk=study.pk)) == revision

    document = load_document(revision)
    document["title"] = "Corrected title"
    document["adverse_events"][0]["n_affected"] = 2
    document["outcomes"].reverse()
    studies.study_update(study=revision, document=document, by=curator)
    workflow.study_submit(study=revision, by=curator)

    # Meanwhile the public record, its registry id and every public query are unchanged.
    assert load_document(study) == before
    assert m.Study.objects.public().count() == 1
    assert m.Study.objects.records().get() == study
    assert revision.registry_ids.get().value == study.registry_ids.get().value

    published = workflow.study_publish(study=revision, by=reviewer, note="Corrected the title")
    assert published.pk == study.pk
    assert not m.Study.objects.filter(pk=revision.pk).exists()
    after = load_document(study)
    assert after["title"] == "Corrected title"
    assert after["accession"] == study.accession
    assert after["adverse_events"][0]["n_affected"] == 2
    # The rows were updated in place: same keys, same database rows.
    assert [row["key"] for row in after["outcomes"]] == [row["key"] for row in before["outcomes"]]
    assert (after["version"], before["version"]) == (2, 1)
    assert list(study.versions.values_list("number", flat=True)) == [1, 2]
    assert "revision_published" in study.transitions.values_list("action", flat=True)


def test_a_discarded_revision_leaves_the_public_study_and_the_counter_alone(curator):
    study = f.full_study()
    counter_before = accession_reserve()
    revision = workflow.study_start_revision(study=study, by=curator)
    studies.study_delete(study=revision, by=curator)
    assert m.Study.objects.get(pk=study.pk).curation_state == c.CurationState.PUBLISHED
    assert accession_reserve() == f"NCR-{int(counter_before[4:]) + 1:06d}"


def test_backup_restores_versions_and_the_review_trail(curator, reviewer, tmp_path):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    workflow.study_submit(study=study, by=curator)
    workflow.study_request_changes(study=study, by=reviewer, text="Check the dose.", blocking=True)
    workflow.study_resolve_comment(comment=study.review_comments.get(), by=curator)
    workflow.study_submit(study=study, by=curator)
    workflow.study_publish(study=study, by=reviewer, note="v1")
    backup = tmp_path / "backup.json"
    call_command("export_studies", str(backup), stderr=io.StringIO())
    exported = json.loads(backup.read_text())["records"][study.accession]
    assert [v["number"] for v in exported["versions"]] == [1]
    assert exported["change_log"], "the field-level change log travels with the backup"

    m.Study.objects.all().delete()
    call_command("import_studies", str(backup), stdout=io.StringIO())
    call_command("import_studies", str(backup), stdout=io.StringIO())  # idempotent
    restored = m.Study.objects.get(accession=study.accession)
    assert restored.curation_state == c.CurationState.PUBLISHED
    assert list(restored.versions.values_list("number", "published_by__username", "note")) == [(1, "reviewer", "v1")]
    comment = restored.review_comments.get()
    assert (comment.author.username, comment.resolved_by.username, comment.blocking) == ("reviewer", "curator", True)
    assert list(restored.transitions.values_list("action", flat=True)) == [
        "submitted",
        "changes_requested",
        "submitted",
        "published",
    ]
