"""Creating, changing, importing and deleting studies: the one write path for a study's content.

Every edit, from the admin, the API or an import, is a whole study document parsed and validated by
`trials.documents`, then stored in place under the study's row lock, in one transaction: all of it or
none of it. A document equal to the stored one changes nothing (no edit, no history), which makes
imports idempotent. The curation state is not content: only `trials.services.workflow` changes it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trials import choices as c
from trials import models as m
from trials.documents import (
    SERVER_OWNED,
    DocumentError,
    ParsedDocument,
    load_document,
    parse_document,
    store_document,
    without_keys,
)

from .accessions import accession_counter_raise, accession_number, accession_reserve


class StudyNotEditable(Exception):
    """The study's state does not allow editing its content (published and retracted studies change
    through a revision; nothing changes a study while it is being replaced)."""


class StudyProtected(Exception):
    """Deleting this study would lose curated data; retract it or send it back to draft instead."""


def require_permission(by, permission: str) -> None:
    """Users need the permission; `by=None` is the registry itself (imports, migrations)."""
    if by is not None and not by.has_perm(permission):
        raise PermissionDenied(
            _("This needs the %(permission)s permission.") % {"permission": permission},
        )


def lock(study: m.Study) -> m.Study:
    """The study's row, locked until the transaction ends: no other write slips in between."""
    return m.Study.objects.select_for_update().get(pk=study.pk)


def _parsed(document: dict | ParsedDocument, study: m.Study | None, **kwargs: Any) -> ParsedDocument:
    return document if isinstance(document, ParsedDocument) else parse_document(document, study=study, **kwargs)


class _Unchanged(Exception):
    pass


def save_document(study: m.Study, parsed: ParsedDocument, by, *, creating: bool) -> bool:
    """Store the document; False (and nothing written) when it equals what is stored."""
    before = None if creating else without_keys(load_document(study))
    try:
        with transaction.atomic():
            study.updated_at = timezone.now()
            if not creating:
                # The row is locked (`lock`): no other writer counts meanwhile. Counted before the save, so
                # that the study's history row of this edit carries its number.
                study.edit_count += 1
            store_document(parsed, study, by=by)
            if before is not None and without_keys(load_document(study)) == before:
                raise _Unchanged
    except _Unchanged:
        study.refresh_from_db()
        return False
    except IntegrityError as error:  # a race with another writer, or a rule only the database knows
        raise DocumentError({"non_field_errors": [_("The database refused this study: %(error)s") % {"error": error}]}) from None
    study.refresh_from_db()
    return True


@transaction.atomic
def study_create(*, document: dict | ParsedDocument, by) -> m.Study:
    """A new draft from a whole document; the registry assigns its accession."""
    require_permission(by, "trials.add_study")
    parsed = _parsed(document, None)
    study = m.Study(accession=accession_reserve(), curation_state=c.CurationState.DRAFT)
    save_document(study, parsed, by, creating=True)
    return study


@transaction.atomic
def study_update(*, study: m.Study, document: dict | ParsedDocument, by) -> tuple[m.Study, bool]:
    """Replace a draft's (or a study in review's) content by the document; returns (study, changed).

    A published or retracted study is never edited in place: a revision carries the change through review.
    """
    require_permission(by, "trials.change_study")
    study = lock(study)
    if study.is_public:
        raise StudyNotEditable(
            _("%(accession)s is %(state)s: it changes through a revision, reviewed before it replaces the public record.")
            % {"accession": study.accession, "state": study.get_curation_state_display().lower()}
        )
    parsed = _parsed(document, study)
    changed = save_document(study, parsed, by, creating=False)
    return study, changed


@transaction.atomic
def study_import(*, document: Any, by=None, snapshot: bool = True) -> tuple[m.Study, str]:
    """The restore path of `import_studies`: returns (study, "created" | "updated" | "unchanged").

    The study is found by its accession, else by one of its registry identifiers; a document with
    neither is refused, because importing it again could not find it and would create it twice. A new
    study keeps the accession and curation state the file gives (a backup, the curated dataset); an
    existing one is updated in place (its state changes only through the workflow), and a published one
    gets a new published version when its content changed.
    """
    if not isinstance(document, dict):
        raise DocumentError({"non_field_errors": [_("Expected a study document (a JSON object).")]})
    study = _find_for_import(document)
    if study is None:
        parsed = parse_document(document, study=None, restore=True)
        accession = parsed.accession or accession_reserve()
        if parsed.accession:
            accession_counter_raise(accession_number(accession))
        study = m.Study(
            accession=accession,
            curation_state=parsed.curation_state or c.CurationState.DRAFT,
            retraction_reason=document.get("retraction_reason") or "",
        )
        if study.curation_state in (c.CurationState.PUBLISHED, c.CurationState.RETRACTED):
            study.published_at = timezone.now()
        save_document(study, parsed, by, creating=True)
        if snapshot and study.curation_state == c.CurationState.PUBLISHED:
            from .workflow import study_snapshot

            study_snapshot(study=study, by=by, note=_("First publication"))
        return study, "created"
    study = lock(study)
    parsed = parse_document(
        {key: value for key, value in document.items() if key != "accession" or value == study.accession}, study=study
    )
    if not save_document(study, parsed, by, creating=False):
        return study, "unchanged"
    if snapshot and study.curation_state == c.CurationState.PUBLISHED:
        from .workflow import study_snapshot

        study_snapshot(study=study, by=by, note=_("Updated from an imported file."))
    return study, "updated"


def _find_for_import(document: dict) -> m.Study | None:
    accession = document.get("accession")
    if accession:
        return m.Study.objects.records().filter(accession=accession).first() if isinstance(accession, str) else None
    registry_ids = [
        (row.get("registry"), row.get("value"))
        for row in document.get("registry_ids") or []
        if isinstance(row, dict) and row.get("registry") and row.get("value")
    ]
    for registry, value in registry_ids:
        found = m.Study.objects.records().filter(registry_ids__registry=registry, registry_ids__value=value).first()
        if found is not None:
            return found
    if not registry_ids:
        raise DocumentError(
            {
                "accession": [
                    _(
                        "Give the study's accession or a registry identifier: without either, importing the file "
                        "again could not find this study and would create it twice."
                    )
                ]
            }
        )
    return None


@transaction.atomic
def study_delete(*, study: m.Study, by=None) -> None:
    """Delete a draft and its rows. Anything further along (in review, published, retracted) is curated
    data, and a study that was ever published keeps its accession, because citations use it."""
    require_permission(by, "trials.delete_study")
    study = lock(study)
    if study.curation_state != c.CurationState.DRAFT:
        raise StudyProtected(
            _("%(accession)s is %(state)s: only drafts can be deleted (retract a published study instead).")
            % {"accession": study.accession, "state": study.get_curation_state_display().lower()}
        )
    if study.published_at is not None and study.revision_of_id is None:
        raise StudyProtected(
            _("%(accession)s was published on %(date)s; its accession must keep resolving.")
            % {"accession": study.accession, "date": f"{study.published_at:%Y-%m-%d}"}
        )
    if by is not None and getattr(by, "is_authenticated", False):
        study._history_user = by  # type: ignore[attr-defined]
    study.delete()


def server_owned_removed(document: dict) -> dict:
    return {key: value for key, value in document.items() if key not in SERVER_OWNED}
