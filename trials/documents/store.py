"""Storing a parsed study document: the study's rows updated in place, matched by their stable keys.

A row that did not change is not written, a changed one is updated, a new one is created with a new key,
a missing one is deleted. Rows of a legacy document without keys are matched by their natural identity
(`Part.natural`). History then reads as the changes they are, and reordering rows is not a change. The
caller (trials.services) holds the study's row lock and the transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from trials import models as m

from .spec import COHORT_CHILDREN, PARTS, Part, cohort_key
from .write import ParsedDocument, ParsedRow, natural_identity


def _stored_identity(part: Part, row: Any) -> tuple:
    values: dict[str, Any] = {}
    for key in part.natural:
        if key in part.dates:
            values[key], values[f"{key}_precision"] = getattr(row, key), getattr(row, f"{key}_precision")
        elif key in part.vocabularies:
            values[key] = getattr(row, f"{key}_id")
        elif key != "cohort":
            values[key] = getattr(row, key)
    label = row.cohort.label if cohort_key(part) and row.cohort_id else None
    return natural_identity(part, values, label)


# ------------------------------------------------------------------------------------------


def _attach_history_user(instance: Any, by) -> None:
    if by is not None and getattr(by, "is_authenticated", False):
        instance._history_user = by


class _Store:
    def __init__(self, study: m.Study, by) -> None:
        self.study = study
        self.by = by

    def save(self, instance: Any) -> None:
        _attach_history_user(instance, self.by)
        instance.save()

    def delete(self, instance: Any) -> None:
        _attach_history_user(instance, self.by)
        instance.delete()

    def match(self, part: Part, parsed: list[ParsedRow], stored: list[Any]) -> tuple[list, list]:
        """(parsed row, stored row or None) pairs, and the stored rows nothing matched."""
        by_key = {row.key: row for row in stored} if part.keyed else {}
        unclaimed = {row.pk: row for row in stored}
        pairs = []
        for row in parsed:
            target = by_key.get(row.key) if row.key is not None else None
            if target is not None and target.pk not in unclaimed:
                target = None
            if target is None and (row.key is None or not part.keyed):
                identity = natural_identity(part, row.values, row.cohort_label)
                target = next((s for s in unclaimed.values() if _stored_identity(part, s) == identity), None)
            if target is not None:
                del unclaimed[target.pk]
            pairs.append((row, target))
        return pairs, list(unclaimed.values())

    def apply(self, part: Part, row: ParsedRow, target: Any, parent: models.Model, cohorts: dict) -> Any:
        """Create the row, or update the stored one where the document's values differ from it."""
        creating = target is None
        if target is None:
            target = part.model()
            setattr(target, part.parent_field, parent)
            if part.keyed:
                target.key = row.key or m.new_key()
        changed = creating
        for name, value in _row_values(part, row, cohorts).items():
            if isinstance(part.model._meta.get_field(name), models.ForeignKey):
                differs = getattr(target, f"{name}_id") != (value.pk if value is not None else None)
            else:
                differs = getattr(target, name) != value
            if differs:
                setattr(target, name, value)
                changed = True
        if changed:
            self.save(target)
        return target


def _row_values(part: Part, row: ParsedRow, cohorts: dict) -> dict[str, Any]:
    """Every stored attribute the part's keys set: the document's value, else the field's default (a
    document row is the whole row)."""
    values: dict[str, Any] = {}
    for name in part.field_keys:
        if name == "key":
            continue
        if name == "cohort":
            values["cohort"] = cohorts.get(row.cohort_label) if row.cohort_label else None
        elif name in part.dates:
            values[name] = row.values.get(name)
            values[f"{name}_precision"] = row.values.get(f"{name}_precision", "")
        elif name in row.values:
            values[name] = row.values[name]
        else:
            model_field = part.model._meta.get_field(name)
            values[name] = None if model_field.null or name in part.vocabularies else model_field.get_default()
    return values


def store_document(parsed: ParsedDocument, study: m.Study, *, by=None) -> m.Study:
    """Write a parsed document onto `study` (saved first when new), row by row, in place."""
    for name, value in parsed.study_values.items():
        setattr(study, name, value)
    study.normalize_dates()
    store = _Store(study, by)
    store.save(study)

    stored_countries = {row.country.code: row for row in study.countries.all()}
    for code in parsed.countries:
        if code not in stored_countries:
            store.save(m.StudyCountry(study=study, country=code))
    for code, row in stored_countries.items():
        if code not in parsed.countries:
            store.delete(row)

    stored = {part.name: list(getattr(study, part.manager).all()) for part in PARTS} if study.pk else {}
    matches = {part.name: store.match(part, parsed.rows[part.name], stored.get(part.name, [])) for part in PARTS}

    # Rows that go first; cohorts last, once no result or harm that stays points to them any more.
    for name in COHORT_CHILDREN:
        for row in matches[name][1]:
            store.delete(row)
    cohorts: dict[str, m.Cohort] = {}
    cohort_part = next(part for part in PARTS if part.name == "cohorts")
    for row, target in matches["cohorts"][0]:
        cohort = store.apply(cohort_part, row, target, study, cohorts)
        cohorts[cohort.label] = cohort
        for child in cohort_part.children:
            child_pairs, child_gone = store.match(
                child, row.children.get(child.name, []), list(getattr(cohort, child.manager).all()) if target else []
            )
            for gone in child_gone:
                store.delete(gone)
            for child_row, child_target in child_pairs:
                store.apply(child, child_row, child_target, cohort, cohorts)
    for part in PARTS:
        if part.name == "cohorts":
            continue
        if part.name not in COHORT_CHILDREN:
            for row in matches[part.name][1]:
                store.delete(row)
        for row, target in matches[part.name][0]:
            store.apply(part, row, target, study, cohorts)
    for row in matches["cohorts"][1]:
        store.delete(row)
    return study
