"""Importing a ClinicalTrials.gov record into a draft, and importing it again without losing a curator's edits.

The first import creates a draft (`study_create`) from the record's document. A later import of the same
NCT number updates that draft (`study_update`) by a three-way merge against the document the previous
import mapped to: a study key, or a whole list (cohorts, outcomes ...), that the curator changed since is
kept as the curator left it when ClinicalTrials.gov changed it too, and the import reports it as kept; a
part only ClinicalTrials.gov changed is updated; a part only the curator changed stays. A study already
published changes through its revision: the import refuses, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trials import models as m
from trials.documents import PARTS, DocumentError, comparable, load_document, vocabulary_upsert
from trials.documents.spec import STUDY_FIELD_KEYS
from trials.interop.ctgov import MappedRecord, RecordError, map_record

from .studies import StudyNotEditable, require_permission, study_create, study_update

__all__ = ["CtgovImportResult", "RecordError", "study_import_ctgov"]

MERGED_KEYS = (*STUDY_FIELD_KEYS, "countries", *(part.name for part in PARTS))


@dataclass
class CtgovImportResult:
    study: m.Study
    outcome: str  # created | updated | unchanged
    mapped: MappedRecord
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    updated_keys: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "nct_id": self.mapped.nct_id,
            "study": self.study.accession,
            "outcome": self.outcome,
            "counts": self.mapped.counts(),
            "updated": self.updated_keys,
            "kept_curator_edits": self.conflicts,
            "report": self.mapped.report_json(),
        }


def merge(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[dict[str, Any], list[dict], list[str]]:
    """(merged document, the curator's edits kept over a change from ClinicalTrials.gov, the keys updated)."""
    merged = dict(ours)
    conflicts, updated = [], []
    for key in MERGED_KEYS:
        old, mine, new = base.get(key), ours.get(key), theirs.get(key)
        if new in (old, mine):
            continue  # ClinicalTrials.gov did not change it, or changed it as the curator did
        if mine == old:
            merged[key] = new
            updated.append(key)
        else:
            conflicts.append({"key": key, "curator": mine, "clinicaltrials_gov": new})
    return merged, conflicts, updated


@transaction.atomic
def study_import_ctgov(*, record: Any, by) -> CtgovImportResult:
    """Create or update the draft of one ClinicalTrials.gov v2 record. Raises RecordError for what is not
    a record, DocumentError for a document the registry refuses (e.g. its NCT number belongs to another
    study), StudyNotEditable when the study is public."""
    require_permission(by, "trials.add_study")
    mapped = map_record(record)
    vocabulary_upsert(name="source_documents", items=[mapped.source_document])
    previous = m.CtgovImport.objects.select_for_update().select_related("study").filter(nct_id=mapped.nct_id).first()
    user = by if getattr(by, "is_authenticated", False) else None
    if previous is None:
        study = study_create(document=mapped.document, by=by)
        m.CtgovImport.objects.create(
            nct_id=mapped.nct_id,
            study=study,
            record=record,
            document=mapped.document,
            report=mapped.report_json(),
            last_update_posted=mapped.last_update,
            imported_by=user,
        )
        return CtgovImportResult(study, "created", mapped)
    study = previous.study
    if study.is_public:
        raise StudyNotEditable(
            _("%(accession)s, imported from %(nct)s, is %(state)s: start its revision and import into that, or edit it.")
            % {"accession": study.accession, "nct": mapped.nct_id, "state": study.get_curation_state_display().lower()}
        )
    ours = load_document(study)
    merged, conflicts, updated = merge(comparable(previous.document), comparable(ours), comparable(mapped.document))
    # Rows the merge takes from the record carry no keys: the store matches them to the stored rows by their
    # natural identity, so an unchanged row keeps its key and its history.
    document = {**ours, **{key: merged[key] for key in updated}}
    changed = False
    if updated:
        study, changed = study_update(study=study, document=document, by=by)
    previous.record = record
    previous.document = mapped.document
    previous.report = mapped.report_json()
    previous.conflicts = conflicts
    previous.last_update_posted = mapped.last_update
    previous.imported_at = timezone.now()
    previous.imported_by = user
    previous.import_count += 1
    previous.save()
    return CtgovImportResult(study, "updated" if changed else "unchanged", mapped, conflicts, updated if changed else [])


def import_error_messages(error: Exception) -> dict[str, list[str]]:
    """Any of the import's refusals as field-keyed messages (the admin form, the command)."""
    if isinstance(error, DocumentError):
        return error.errors
    return {"non_field_errors": [str(error)]}
