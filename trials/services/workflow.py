"""The review workflow: draft -> in review -> published -> retracted, and revisions of published studies.

`TRANSITIONS` is the one table of the workflow's steps: from which states each leaves, where it leads,
which permission it needs and how its button is labelled. The services below, the admin's buttons and the
API's endpoints all read it. A reviewer requesting changes sends a study back to draft with a comment;
an open blocking comment stops publication. A published study is never edited in place:
`study_start_revision` makes a private copy under the same accession, and publishing that copy applies
it to the public record, which readers see unchanged meanwhile. Every publication is frozen as a
numbered version (1, 2, 3 ...): the only version numbers readers see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trials import models as m
from trials.choices import CurationState as State
from trials.choices import WorkflowAction as Action
from trials.documents import SERVER_OWNED, WORKFLOW_OWNED, document_queryset, load_document, parse_document, study_document

from .studies import lock, save_document


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[str]
    target: str | None  # None: the step leaves the state as it is
    permission: str
    button: Any  # the admin's button label (lazy translation)
    path: str  # the API endpoint, under /api/v1/studies/<accession>/
    asks: str = ""  # what the person writes with it: "comment", "note" (what changed) or "reason"

    @property
    def slug(self) -> str:
        """The step's name in URLs, the admin's as the API's: "submit", "request-changes" ..."""
        return self.path.strip("/")


TRANSITIONS: dict[Action, Transition] = {
    transition.action: transition
    for transition in (
        Transition(
            Action.SUBMIT,
            frozenset({State.DRAFT}),
            State.IN_REVIEW,
            "trials.change_study",
            gettext_lazy("Submit for review"),
            "submit/",
        ),
        Transition(
            Action.REQUEST_CHANGES,
            frozenset({State.IN_REVIEW}),
            State.DRAFT,
            "trials.publish_study",
            gettext_lazy("Request changes"),
            "request-changes/",
            asks="comment",
        ),
        Transition(
            Action.PUBLISH,
            frozenset({State.IN_REVIEW}),
            State.PUBLISHED,
            "trials.publish_study",
            gettext_lazy("Publish"),
            "publish/",
            "note",
        ),
        Transition(
            Action.RETRACT,
            frozenset({State.PUBLISHED}),
            State.RETRACTED,
            "trials.publish_study",
            gettext_lazy("Retract"),
            "retract/",
            "reason",
        ),
        Transition(
            Action.START_REVISION,
            frozenset({State.PUBLISHED}),
            None,
            "trials.change_study",
            gettext_lazy("Start a revision"),
            "revision/",
        ),
    )
}

TRANSITIONS_BY_SLUG = {transition.slug: transition for transition in TRANSITIONS.values()}

# Who holds each permission, so that a refusal tells the person which role to ask for.
ROLE_OF_PERMISSION = {"trials.change_study": "curator or reviewer", "trials.publish_study": "reviewer"}


class WorkflowError(Exception):
    """A step the study's state (or its open comments, or who submitted it) does not allow."""


class BlockingComments(WorkflowError):
    """Publication refused while blocking review comments are unresolved."""


class SelfPublication(WorkflowError):
    """A reviewer may not publish what they submitted themselves: a second pair of eyes."""


def require(by, permission: str) -> None:
    if by is None or not by.has_perm(permission):
        raise PermissionDenied(
            _("This needs the %(name)s permission (%(permission)s, which the %(role)s role has).")
            % {
                "name": permission.split(".")[1].replace("_", " "),
                "permission": permission,
                "role": ROLE_OF_PERMISSION[permission],
            }
        )


def allowed(action: Action, study: m.Study, by) -> bool:
    """Whether `by` may take this step now (for showing buttons; the services check again)."""
    transition = TRANSITIONS[action]
    if study.curation_state not in transition.sources or by is None or not by.has_perm(transition.permission):
        return False
    if action == Action.START_REVISION:
        return study.revision_of_id is None and not study.revisions.exists()
    if action == Action.RETRACT:
        return study.revision_of_id is None
    return True


def available_actions(study: m.Study, by) -> list[Transition]:
    return [transition for action, transition in TRANSITIONS.items() if allowed(action, study, by)]


def open_blocking_comments(study: m.Study) -> int:
    return study.review_comments.filter(blocking=True, resolved_at=None).count()


def _check(action: Action, study: m.Study, by) -> Transition:
    transition = TRANSITIONS[action]
    require(by, transition.permission)
    if study.curation_state not in transition.sources:
        states = ", ".join(str(State(state).label).lower() for state in sorted(transition.sources))
        raise WorkflowError(
            _("This step needs a study that is %(states)s; %(accession)s is %(state)s.")
            % {"states": states, "accession": study.accession, "state": study.get_curation_state_display().lower()}
        )
    return transition


def _log(study: m.Study, action: Action, from_state: str, by, note: str = "") -> None:
    m.StudyTransition.objects.create(
        study=study, action=action, from_state=from_state, to_state=study.curation_state, by=by, note=note
    )


def _move(study: m.Study, action: Action, by, note: str = "") -> m.Study:
    """Set the step's target state; callers hold the row lock. A new state is a real change: the edit
    counter (ETags, the admin's lost-update check) moves with it."""
    transition = TRANSITIONS[action]
    from_state = study.curation_state
    if transition.target is not None:
        study.curation_state = transition.target
    study.updated_at = timezone.now()
    study.edit_count += 1  # the row is locked: no other writer counts meanwhile
    study._history_user = by  # type: ignore[attr-defined]
    study.save(update_fields=["curation_state", "updated_at", "retraction_reason", "published_at", "edit_count"])
    _log(study, action, from_state, by, note)
    return study


@transaction.atomic
def study_submit(*, study: m.Study, by) -> m.Study:
    """A curator hands a draft (or a revision) to the reviewers."""
    study = lock(study)
    _check(Action.SUBMIT, study, by)
    return _move(study, Action.SUBMIT, by)


@transaction.atomic
def study_comment(*, study: m.Study, by, text: str, blocking: bool) -> m.ReviewComment:
    require(by, "trials.publish_study")
    if not text.strip():
        raise ValidationError({"text": _("Write the comment.")})
    return m.ReviewComment.objects.create(study=study, author=by, text=text.strip(), blocking=blocking)


@transaction.atomic
def study_request_changes(*, study: m.Study, by, text: str, blocking: bool = True) -> m.Study:
    """A reviewer sends a study back to its curator with a comment that stays on the study."""
    study = lock(study)
    _check(Action.REQUEST_CHANGES, study, by)
    study_comment(study=study, by=by, text=text, blocking=blocking)
    return _move(study, Action.REQUEST_CHANGES, by, note=text.strip())


@transaction.atomic
def study_resolve_comment(*, comment: m.ReviewComment, by) -> m.ReviewComment:
    require(by, "trials.change_study")
    if comment.resolved_at is None:
        comment.resolved_at, comment.resolved_by = timezone.now(), by
        comment.save(update_fields=["resolved_at", "resolved_by"])
    return comment


def submitted_by(study: m.Study):
    """Who last submitted the study for review (None if no one did, e.g. an imported study)."""
    step = study.transitions.filter(action=Action.SUBMIT).select_related("by").order_by("-at", "-pk").first()
    return step.by if step else None


@transaction.atomic
def study_publish(*, study: m.Study, by, note: str = "") -> m.Study:
    """A reviewer publishes a study in review; returns the public study (for a revision, its original).

    The note says what changed; it is shown in the version history (the first publication may leave it
    out). Unless the deployment allows it (REGISTRY_ALLOW_SELF_PUBLISH), the reviewer is not the person
    who submitted the study.
    """
    study = lock(study)
    _check(Action.PUBLISH, study, by)
    blocking = open_blocking_comments(study)
    if blocking:
        raise BlockingComments(_("%(n)s blocking review comment(s) must be resolved before publishing.") % {"n": blocking})
    if not getattr(settings, "REGISTRY_ALLOW_SELF_PUBLISH", False) and submitted_by(study) == by:
        raise SelfPublication(
            _("You submitted %(accession)s yourself: another reviewer publishes it (a second pair of eyes).")
            % {"accession": study.accession}
        )
    note = note.strip()
    first = study.revision_of_id is None and not study.versions.exists()
    if not note and not first:
        raise ValidationError({"note": _("Say what changed: the note is shown in the version history.")})
    note = note or _("First publication")
    if study.revision_of_id is None:
        study.published_at = study.published_at or timezone.now()
        study = _move(study, Action.PUBLISH, by, note)
        study_snapshot(study=study, by=by, note=note)
        return study
    return _publish_revision(study, by, note)


def _publish_revision(revision: m.Study, by, note: str) -> m.Study:
    """Apply a reviewed revision to its public study, row by row (rows keep their keys), and freeze it."""
    assert revision.revision_of is not None
    original = lock(revision.revision_of)
    document = {
        key: value for key, value in study_document(document_queryset().get(pk=revision.pk)).items()
        if key not in SERVER_OWNED and key not in WORKFLOW_OWNED
    }  # fmt: skip
    # The copy's review trail belongs to the public record it becomes.
    revision.review_comments.update(study=original)
    revision.transitions.update(study=original)
    revision.delete()  # its registry ids must be gone before the original takes them back
    parsed = parse_document(document, study=original)
    save_document(original, parsed, by, creating=False)
    original.updated_at = timezone.now()
    original.save(update_fields=["updated_at"])
    _log(original, Action.PUBLISH_REVISION, State.IN_REVIEW, by, note)
    study_snapshot(study=original, by=by, note=note)
    return original


@transaction.atomic
def study_retract(*, study: m.Study, by, reason: str) -> m.Study:
    """Withdraw a published study from the evidence base; it stays visible, marked, with the reason."""
    require(by, "trials.publish_study")
    if not reason.strip():
        raise ValidationError({"retraction_reason": _("Give the public reason for the retraction.")})
    study = lock(study)
    _check(Action.RETRACT, study, by)
    study.retraction_reason = reason.strip()
    return _move(study, Action.RETRACT, by, note=reason.strip())


@transaction.atomic
def study_start_revision(*, study: m.Study, by) -> m.Study:
    """A private draft copy of a published study, for corrections: same accession, same row keys; one
    open revision at a time (asking again returns the open one)."""
    study = lock(study)
    _check(Action.START_REVISION, study, by)
    existing = study.revisions.first()
    if existing:
        return existing
    document = {
        key: value for key, value in load_document(study).items() if key not in SERVER_OWNED and key not in WORKFLOW_OWNED
    }
    revision = m.Study(revision_of=study, accession=study.accession, curation_state=State.DRAFT)
    save_document(revision, parse_document(document, study=revision), by, creating=True)
    _log(study, Action.START_REVISION, study.curation_state, by, note=_("Revision started"))
    return revision


def study_snapshot(*, study: m.Study, by=None, note: str = "") -> m.StudyVersion:
    """Freeze the study as published now; numbers run 1, 2, 3 ... per study."""
    document = {k: v for k, v in load_document(study).items() if k not in ("version", "updated_at")}
    last = study.versions.order_by("-number").first()
    if last and last.document == document:
        return last
    by = by if getattr(by, "is_authenticated", False) else None
    return m.StudyVersion.objects.create(
        study=study, number=(last.number + 1) if last else 1, document=document, published_by=by, note=note
    )


def working_copy(study: m.Study) -> m.Study:
    """What the review steps act on: a published study's open revision, if it has one, else the study."""
    if study.curation_state == State.PUBLISHED:
        revision = study.revisions.first()
        if revision is not None:
            return revision
    return study
