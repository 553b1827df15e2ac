"""A study's whole change history, readable: the study and every child row, each change as field diffs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import models as m

# Child models and how their historical rows point back to the study.
CHILD_HISTORIES: list[tuple[Any, str]] = [
    (m.StudyCondition, "study_id"),
    (m.StudyCountry, "study_id"),
    (m.RegulatoryMilestone, "study_id"),
    (m.RegistryIdentifier, "study_id"),
    (m.Publication, "study_id"),
    (m.Source, "study_id"),
    (m.Cohort, "study_id"),
    (m.OutcomeMeasure, "study_id"),
    (m.AdverseEvent, "study_id"),
]
IGNORED_FIELDS = ["updated_at", "edit_count", "in_revision"]
ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class Change:
    at: datetime
    user: str
    model: str
    label: str
    action: str
    fields: list[tuple[str, object, object]] = field(default_factory=list)


def study_history(study: m.Study) -> list[Change]:
    """Newest first. One query per child model (and one for interventions), however long the history."""
    histories: list[tuple[Any, Any]] = [(m.Study, m.Study.history.filter(id=study.pk))]
    for model, key in CHILD_HISTORIES:
        histories.append((model, model.history.filter(**{key: study.pk})))
    cohort_ids = set(m.Cohort.history.filter(study_id=study.pk).values_list("id", flat=True))
    histories.append((m.Intervention, m.Intervention.history.filter(cohort_id__in=cohort_ids)))

    changes: list[Change] = []
    for model, records in histories:
        previous: dict[int, object] = {}
        for record in records.select_related("history_user").order_by("history_date", "history_id"):
            before = previous.get(record.id)
            fields = []
            if record.history_type == "~" and before is not None:
                delta = record.diff_against(before, excluded_fields=IGNORED_FIELDS)
                fields = [(_verbose(model, c.field), c.old, c.new) for c in delta.changes]
                if not fields:
                    previous[record.id] = record
                    continue
            changes.append(
                Change(
                    at=record.history_date,
                    user=str(record.history_user or "—"),
                    model=str(model._meta.verbose_name),
                    label=str(record.instance) if record.history_type != "-" else f"#{record.id}",
                    action=ACTIONS[record.history_type],
                    fields=fields,
                )
            )
            previous[record.id] = record
    return sorted(changes, key=lambda change: change.at, reverse=True)


def _verbose(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:  # a field that no longer exists on the model
        return name
