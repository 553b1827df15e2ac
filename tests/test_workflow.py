"""The review workflow: who may do what, in which state, and what the public sees meanwhile."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.exceptions import PermissionDenied, ValidationError

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials import services as s
from trials.api.serializers import document_queryset, study_document


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


ACTIONS = {
    "submit": (c.CurationState.DRAFT, lambda study, by: s.study_submit(study=study, by=by)),
    "publish": (c.CurationState.IN_REVIEW, lambda study, by: s.study_publish(study=study, by=by)),
    "request_changes": (c.CurationState.IN_REVIEW, lambda study, by: s.study_request_changes(study=study, by=by, text="Fix")),
    "retract": (c.CurationState.PUBLISHED, lambda study, by: s.study_retract(study=study, by=by, reason="Duplicate")),
    "revise": (c.CurationState.PUBLISHED, lambda study, by: s.study_start_revision(study=study, by=by)),
}
ALLOWED = {
    "anonymous": set(),
    "read_only": set(),
    "curator": {"submit", "revise"},
    "reviewer": {"submit", "revise", "publish", "request_changes", "retract"},
}


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_role_and_action(db, role, action):
    state, run = ACTIONS[action]
    study = f.full_study(curation_state=state)
    by = {"anonymous": AnonymousUser(), "read_only": member(None, "reader")}.get(role) or member(role)
    if action in ALLOWED[role]:
        run(study, by)
    else:
        with pytest.raises(PermissionDenied):
            run(study, by)
        study.refresh_from_db()
        assert study.curation_state == state
        assert not m.StudyTransition.objects.exists()


@pytest.mark.parametrize(
    ("action", "wrong_state"),
    [
        ("submit", c.CurationState.IN_REVIEW),
        ("publish", c.CurationState.DRAFT),
        ("request_changes", c.CurationState.PUBLISHED),
        ("retract", c.CurationState.IN_REVIEW),
        ("revise", c.CurationState.DRAFT),
    ],
)
def test_transitions_refuse_the_wrong_state(reviewer, action, wrong_state):
    study = f.full_study(curation_state=wrong_state)
    with pytest.raises(s.WorkflowError):
        ACTIONS[action][1](study, reviewer)
    study.refresh_from_db()
    assert study.curation_state == wrong_state


def test_draft_to_published_records_who_and_when(curator, reviewer):
    study = f.full_study(curation_state=c.CurationState.DRAFT)
    s.study_submit(study=study, by=curator)
    s.study_publish(study=study, by=reviewer, note="First release")
    study.refresh_from_db()
    assert study.curation_state == c.CurationState.PUBLISHED
    steps = list(study.transitions.values_list("action", "by__username"))
    assert steps == [("submitted", "curator"), ("published", "reviewer")]
    version = study.versions.get()
    assert (version.number, version.published_by, version.note) == (1, reviewer, "First release")
    assert version.document["accession"] == study.accession


def test_blocking_comment_stops_publication_until_resolved(curator, reviewer):
    study = f.full_study(curation_state=c.CurationState.IN_REVIEW)
    s.study_request_changes(study=study, by=reviewer, text="Add the dose.", blocking=True)
    s.study_submit(study=study, by=curator)
    with pytest.raises(s.WorkflowError, match="1 blocking"):
        s.study_publish(study=study, by=reviewer)
    s.study_resolve_comment(comment=study.review_comments.get(), by=curator)
    s.study_publish(study=study, by=reviewer)
    assert m.Study.objects.get(pk=study.pk).curation_state == c.CurationState.PUBLISHED


def test_advisory_comment_does_not_block(reviewer):
    study = f.full_study(curation_state=c.CurationState.IN_REVIEW)
    s.study_comment(study=study, by=reviewer, text="Consider adding the Chinese title.", blocking=False)
    s.study_publish(study=study, by=reviewer)


def test_retraction_needs_a_reason_and_stays_public(reviewer):
    study = f.full_study()
    with pytest.raises(ValidationError):
        s.study_retract(study=study, by=reviewer, reason="  ")
    s.study_retract(study=study, by=reviewer, reason="Data could not be verified.")
    study = m.Study.objects.public().get(pk=study.pk)
    assert study.curation_state == c.CurationState.RETRACTED
    assert study.retraction_reason == "Data could not be verified."


def public_document(study) -> dict:
    return study_document(document_queryset(m.Study.objects.public()).get(pk=study.pk))


def test_a_revision_stays_private_until_published(curator, reviewer):
    study = f.full_study(title="Original title", curation_state=c.CurationState.IN_REVIEW)
    s.study_publish(study=study, by=reviewer)
    before = public_document(study)
    revision = s.study_start_revision(study=study, by=curator)
    assert revision.accession != study.accession
    assert revision.curation_state == c.CurationState.DRAFT
    assert s.study_start_revision(study=study, by=curator) == revision  # one open revision at a time

    document = study_document(document_queryset().get(pk=revision.pk))
    document["title"] = "Corrected title"
    document["adverse_events"][0]["n_affected"] = 2
    s.study_save_document(document=document, study=revision, by=curator)
    s.study_submit(study=revision, by=curator)

    # Meanwhile the public record, its registry id and every public query are unchanged.
    assert public_document(study) == before
    assert m.Study.objects.public().count() == 1
    assert revision.registry_ids.get().value == study.registry_ids.get().value

    published = s.study_publish(study=revision, by=reviewer, note="Corrected the title")
    assert published.pk == study.pk
    assert not m.Study.objects.filter(pk=revision.pk).exists()
    after = public_document(study)
    assert after["title"] == "Corrected title"
    assert after["accession"] == study.accession
    assert after["adverse_events"][0]["n_affected"] == 2
    assert after["version"] == before["version"] + 1
    assert list(study.versions.values_list("number", flat=True)) == [1, 2]
    assert "revision_published" in study.transitions.values_list("action", flat=True)


def test_the_revisions_accession_is_never_reused(curator):
    study = f.full_study()
    revision = s.study_start_revision(study=study, by=curator)
    revision.delete()
    assert s.accession_reserve() > revision.accession


def test_document_diff_lists_changed_paths():
    old = {"title": "A", "cohorts": [{"label": "x", "n_enrolled": 4}], "registry_ids": []}
    new = {"title": "B", "cohorts": [{"label": "x", "n_enrolled": 5}], "registry_ids": [{"value": "NCT00000001"}]}
    assert s.document_diff(old, new) == [
        ("title", "A", "B"),
        ("cohorts[0].n_enrolled", 4, 5),
        ("registry_ids[0]", None, {"value": "NCT00000001"}),
    ]


def test_backup_restores_versions_and_the_review_trail(curator, reviewer, tmp_path):
    import io
    import json

    from django.core.management import call_command

    study = f.full_study(curation_state=c.CurationState.DRAFT)
    s.study_submit(study=study, by=curator)
    s.study_request_changes(study=study, by=reviewer, text="Check the dose.", blocking=True)
    s.study_resolve_comment(comment=study.review_comments.get(), by=curator)
    s.study_submit(study=study, by=curator)
    s.study_publish(study=study, by=reviewer, note="v1")
    backup = tmp_path / "backup.json"
    call_command("export_studies", str(backup), stderr=io.StringIO())
    exported = json.loads(backup.read_text())["records"][study.accession]
    assert [v["number"] for v in exported["versions"]] == [1]
    assert exported["change_log"], "the field-level change log travels with the backup"

    m.Study.objects.all().delete()
    out = io.StringIO()
    call_command("import_studies", str(backup), stdout=out)
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
