"""Writing a study document: parse and validate the whole of it, then store it row by row, in place.

`parse_document` checks everything before anything is written: each value's type, each row with its
model's own rules (`clean_fields`, `clean`, check constraints), and the rules across rows (cohort labels,
identifiers, keys, the lead-in). Errors are keyed by path (`adverse_events[2].n_affected`).

`store_document` (trials.documents.store) then updates the study's rows in place, matched by their stable `key` (rows of a
legacy document without keys are matched by their natural identity, `Part.natural`): a row that did not
change is not written, a changed one is updated, a new one created with a new key, a missing one
deleted. History then reads as the changes they are, and reordering rows is not a change. The caller
(trials.services) holds the study's row lock and the transaction.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _

from trials import choices as c
from trials import models as m
from trials.validators import validate_accession

from .spec import (
    COHORT_CHILDREN,
    PARTS,
    SERVER_OWNED,
    STUDY_DATES,
    STUDY_FIELD_KEYS,
    WORKFLOW_OWNED,
    Part,
    model_field,
)
from .values import ValueError_, from_json, parse_partial_date

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
# Months per time unit, to compare times given in different units.
MONTHS_PER_UNIT = {
    c.TimeUnit.HOUR: 1 / (24 * 30.4375),
    c.TimeUnit.DAY: 1 / 30.4375,
    c.TimeUnit.WEEK: 7 / 30.4375,
    c.TimeUnit.MONTH: 1.0,
    c.TimeUnit.YEAR: 12.0,
}


class DocumentError(Exception):
    """A study document that cannot be saved; `errors` maps a field path to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items()))


class Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, messages: Any) -> None:
        if isinstance(messages, str) or not isinstance(messages, Iterable):
            messages = [messages]
        self.errors.setdefault(path or "non_field_errors", []).extend(str(message) for message in messages)

    def add_validation_error(self, prefix: str, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for name, field_errors in error.error_dict.items():
                path = prefix if name == "__all__" else f"{prefix}.{name}" if prefix else name
                self.add(path, [message for e in field_errors for message in e.messages])
        else:
            self.add(prefix, error.messages)

    def raise_if_any(self) -> None:
        if self.errors:
            raise DocumentError(self.errors)


@dataclass
class ParsedRow:
    part: Part
    path: str
    key: str | None
    values: dict[str, Any]  # model attribute -> value (cohort and nested rows apart)
    instance: models.Model  # an unsaved row holding `values`, as validated
    cohort_label: str | None = None
    children: dict[str, list[ParsedRow]] = field(default_factory=dict)


@dataclass
class ParsedDocument:
    """A validated document, ready for `store_document` on the study it was parsed for."""

    study_values: dict[str, Any]
    countries: list[str]
    rows: dict[str, list[ParsedRow]]
    accession: str | None
    curation_state: str | None = None  # restores only (import of a new study)


class _Vocabulary:
    """Slug lookups for a whole document in one query per vocabulary."""

    def __init__(self) -> None:
        self.cache: dict[Any, dict[str, models.Model]] = {}

    def get(self, model: Any, slug_field: str, value: Any) -> models.Model | None:
        if model not in self.cache:
            self.cache[model] = {getattr(obj, slug_field): obj for obj in model.objects.all()}
        return self.cache[model].get(value) if isinstance(value, str) else None


def _object(data: Any, path: str, errors: Errors) -> bool:
    if not isinstance(data, dict):
        errors.add(path, _("Expected an object."))
        return False
    return True


def _list(data: dict, key: str, path: str, errors: Errors) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(path, _("Expected a list."))
        return []
    return value


def _unknown_keys(data: dict, allowed: Iterable[str], path: str, errors: Errors) -> None:
    for key in sorted(set(data) - set(allowed), key=str):
        errors.add(f"{path}.{key}" if path else str(key), _("Unknown field."))


def _set_value(instance: models.Model, values: dict, name: str, raw: Any, path: str, errors: Errors) -> None:
    try:
        value = from_json(model_field(type(instance), name), raw)
    except ValueError_ as error:
        errors.add(path, str(error))
        return
    setattr(instance, name, value)
    values[name] = value


def _set_date(instance: models.Model, values: dict, name: str, raw: Any, path: str, errors: Errors) -> None:
    try:
        date, precision = parse_partial_date(raw)
    except ValueError_ as error:
        errors.add(path, str(error))
        return
    for attribute, value in ((name, date), (f"{name}_precision", precision)):
        setattr(instance, attribute, value)
        values[attribute] = value


def _validate(instance: models.Model, path: str, errors: Errors, exclude: list[str]) -> None:
    """The model's field rules, clean() and check constraints. Uniqueness is checked across the
    document instead (`_cross_row_rules`), since the stored rows are about to be replaced. A value that
    could not even be read is reported once, as such: not also as blank, nor compared with others."""
    prefix = f"{path}." if path else ""
    unread = [key[len(prefix) :] for key in errors.errors if key.startswith(prefix) and "." not in key[len(prefix) :]]
    if unread:
        exclude = [*exclude, *unread]
        if any(name in unread for name in _CROSS_FIELD_RULES.get(type(instance).__name__, ())):
            # clean() compares fields with each other: with one of them unread, it cannot say anything true.
            try:
                instance.clean_fields(exclude=exclude)
            except ValidationError as error:
                errors.add_validation_error(path, error)
            return
    try:
        # Fields first, alone: clean() compares values that must be of the right type by then.
        instance.clean_fields(exclude=exclude)
    except ValidationError as error:
        errors.add_validation_error(path, error)
        return
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        for constraint in instance._meta.constraints:
            if isinstance(constraint, models.CheckConstraint):
                constraint.validate(type(instance), instance, exclude=set(exclude))  # type: ignore[attr-defined]
    except ValidationError as error:
        errors.add_validation_error(path, error)


# Fields that a model's clean() compares with others (validating those would compare with a default).
_CROSS_FIELD_RULES: dict[str, tuple[str, ...]] = {
    "Study": (
        "start_date",
        "completion_date",
        "enrollment",
        "enrollment_type",
        "overall_status",
        "phase",
        "study_type",
        "min_age",
        "min_age_unit",
        "max_age",
        "max_age_unit",
    ),
    "Site": ("latitude", "longitude", "contact_public"),
    "Withdrawal": ("n", "reason"),
    "BaselineMeasure": (
        "kind",
        "instrument",
        "statistic",
        "value",
        "category",
        "n",
        "dispersion_type",
        "dispersion_value",
        "dispersion_lower",
        "dispersion_upper",
    ),
    "AdverseEvent": ("n_affected", "n_at_risk", "n_events", "grade", "serious"),
    "OutcomeMeasure": ("timepoint", "timepoint_to", "value", "baseline_value", "change_value", "p_value", "p_qualifier"),
    "Cohort": ("n_enrolled", "n_analysed", "n_started", "n_completed"),
    "Intervention": ("kind", "cell_type", "donor", "dose_cells_total", "dose_cells_per_kg"),
}


def _parse_row(part: Part, data: Any, path: str, errors: Errors, vocabulary: _Vocabulary) -> ParsedRow | None:
    if not _object(data, path, errors):
        return None
    _unknown_keys(data, part.keys, path, errors)
    instance = part.model()
    row = ParsedRow(part=part, path=path, key=None, values={}, instance=instance)
    nested = {child.name: child for child in part.children}
    for key in part.keys:
        if key in part.computed or key not in data:
            continue
        raw, key_path = data[key], f"{path}.{key}"
        if key == "key":
            if raw not in (None, "") and (not isinstance(raw, str) or not KEY_PATTERN.match(raw)):
                errors.add(key_path, _("A key is 1 to 32 letters, digits, hyphens or underscores."))
            elif raw:
                row.key = raw
        elif key in nested:
            child = nested[key]
            row.children[key] = [
                parsed
                for index, item in enumerate(_list(data, key, key_path, errors))
                if (parsed := _parse_row(child, item, f"{key_path}[{index}]", errors, vocabulary)) is not None
            ]
        elif key == "cohort":
            if raw not in (None, "") and not isinstance(raw, str):
                errors.add(key_path, _("Name the cohort by its label."))
            row.cohort_label = raw or None
        elif key in part.dates:
            _set_date(instance, row.values, key, raw, key_path, errors)
        elif key in part.vocabularies:
            model, slug_field = part.vocabularies[key]
            if raw in (None, ""):
                continue
            entry = vocabulary.get(model, slug_field, raw)
            if entry is None:
                errors.add(
                    key_path, _("Unknown %(vocabulary)s “%(value)s”.") % {"vocabulary": model._meta.verbose_name, "value": raw}
                )
                continue
            setattr(instance, key, entry)
            row.values[key] = entry
        else:
            _set_value(instance, row.values, key, raw, key_path, errors)
    _validate(instance, path, errors, exclude=[part.parent_field, "cohort", "key"])
    return row


def parse_document(
    document: Any, *, study: m.Study | None = None, restore: bool = False, workflow_url: str = ""
) -> ParsedDocument:
    """Validate a whole document for `study` (None: a new study). Raises DocumentError.

    `restore` is for imports of a study the registry does not have yet (a backup, the curated
    dataset): its accession and curation state are taken from the document. Otherwise the registry
    assigns accessions, and the curation state changes only through the workflow (`workflow_url`
    names where, in the error).
    """
    errors = Errors()
    if not _object(document, "", errors):
        errors.raise_if_any()
    allowed = {*STUDY_FIELD_KEYS, *STUDY_DATES, "countries", *SERVER_OWNED, *WORKFLOW_OWNED, *(p.name for p in PARTS)}
    _unknown_keys(document, allowed, "", errors)
    creating = study is None or study.pk is None
    accession = _check_owned_keys(document, study, creating, restore, workflow_url, errors)

    # The study's own fields on a copy: the stored study is left alone until the document is stored.
    candidate = copy.copy(study) if study is not None else m.Study()
    study_values: dict[str, Any] = {}
    for key in STUDY_FIELD_KEYS:
        if key in STUDY_DATES:
            _set_date(candidate, study_values, key, document.get(key), key, errors)
        else:
            # A document is the whole record: an absent key takes the field's default.
            _set_value(candidate, study_values, key, document.get(key), key, errors)
    state = None
    if restore and creating:
        state = document.get("curation_state") or c.CurationState.DRAFT
        candidate.curation_state = state
        candidate.retraction_reason = document.get("retraction_reason") or ""
    _validate(candidate, "", errors, exclude=["accession", "revision_of"])

    countries: list[str] = []
    for index, code in enumerate(_list(document, "countries", "countries", errors)):
        row = m.StudyCountry(country=code if isinstance(code, str) else "")
        if not isinstance(code, str):
            errors.add(f"countries[{index}]", _("Expected an ISO 3166-1 alpha-2 code."))
            continue
        _validate(row, f"countries[{index}]", errors, exclude=["study"])
        countries.append(code)

    vocabulary = _Vocabulary()
    rows: dict[str, list[ParsedRow]] = {}
    for part in PARTS:
        rows[part.name] = [
            parsed
            for index, item in enumerate(_list(document, part.name, part.name, errors))
            if (parsed := _parse_row(part, item, f"{part.name}[{index}]", errors, vocabulary)) is not None
        ]
    _cross_row_rules(rows, countries, candidate, study, errors)
    errors.raise_if_any()
    return ParsedDocument(study_values=study_values, countries=countries, rows=rows, accession=accession, curation_state=state)


def _check_owned_keys(document: dict, study, creating: bool, restore: bool, workflow_url: str, errors: Errors) -> str | None:
    accession = document.get("accession") or None
    if creating and accession is not None:
        if not restore:
            errors.add("accession", _("The registry assigns accessions: leave it out (to change a study, use its own URL)."))
        else:
            try:
                validate_accession(accession)
            except ValidationError as error:
                errors.add("accession", error.messages)
    if not creating and accession not in (None, study.accession):
        errors.add("accession", _("This is %(accession)s: an accession cannot change.") % {"accession": study.accession})
    if restore and creating:
        return accession
    where = f" ({workflow_url})" if workflow_url else ""
    current = {
        "curation_state": study.curation_state if not creating else c.CurationState.DRAFT,
        "retraction_reason": study.retraction_reason if not creating else "",
    }
    for key in WORKFLOW_OWNED:
        if key in document and (document[key] or "") != current[key]:
            errors.add(
                key,
                _("%(key)s changes only through the review workflow%(where)s: submit, publish, request changes or retract.")
                % {"key": key, "where": where},
            )
    return accession


def _months(value: Any, unit: str) -> float | None:
    months_per_unit = MONTHS_PER_UNIT.get(c.TimeUnit(unit)) if unit in c.TimeUnit.values else None
    if not isinstance(value, (int, float, Decimal)) or months_per_unit is None:
        return None
    return float(value) * months_per_unit


def _cross_row_rules(rows: dict[str, list[ParsedRow]], countries: list[str], candidate: m.Study, study, errors: Errors) -> None:
    """What no single row's full_clean() can see."""
    labels: set[str | None] = set()
    for row in rows["cohorts"]:
        label = row.values.get("label")
        if label in labels:
            errors.add(f"{row.path}.label", _("Another cohort of this study is already labelled “%(label)s”.") % {"label": label})
        labels.add(label)
    # A label that could not be read is reported as such; the rows naming it are not reported again.
    labels_read = all("label" in row.values for row in rows["cohorts"])
    for name in COHORT_CHILDREN:
        for row in rows[name]:
            if labels_read and row.cohort_label is not None and row.cohort_label not in labels:
                errors.add(f"{row.path}.cohort", _("No cohort labelled “%(label)s” in this study.") % {"label": row.cohort_label})
    for part in PARTS:
        _unique(rows[part.name], part, errors)
        for child in part.children:
            _unique([r for row in rows[part.name] for r in row.children.get(child.name, [])], child, errors)
    seen: set[str] = set()
    for index, code in enumerate(countries):
        if code in seen:
            errors.add(f"countries[{index}]", _("This country is listed twice."))
        seen.add(code)
    _registry_ids_free(rows["registry_ids"], study, errors)
    _flow_rules(rows["cohorts"], errors)
    for row in rows["sites"]:
        country = row.values.get("country")
        if country and str(country) not in countries:
            errors.add(f"{row.path}.country", _("Add this site's country to the study's countries."))
    leads = [row for row in rows["organisations"] if row.values.get("role") == c.OrganisationRole.LEAD_SPONSOR]
    for row in leads[1:]:
        errors.add(f"{row.path}.role", _("A study has one lead sponsor; list the others as collaborators."))
    lead_in = candidate.lead_in_months
    for row in rows["outcomes"]:
        months = _months(row.values.get("timepoint"), row.values.get("timepoint_unit", ""))
        if months is None or months >= 0:
            continue
        if lead_in is None:
            errors.add(
                f"{row.path}.timepoint", _("A negative time lies before treatment: give the study's lead-in (lead_in_months).")
            )
        elif -months > float(lead_in) + 1e-9:
            errors.add(
                f"{row.path}.timepoint",
                _("This time lies %(months)s months before treatment, beyond the study's %(lead_in)s month lead-in.")
                % {"months": f"{-months:g}", "lead_in": lead_in},
            )


def _flow_rules(cohorts: list[ParsedRow], errors: Errors) -> None:
    """A cohort's flow adds up: those who completed and those who withdrew are among those who started,
    and its baseline counts (women and men, participants per AIS grade) are among its participants."""
    for cohort in cohorts:
        started = cohort.values.get("n_started")
        completed = cohort.values.get("n_completed") or 0
        withdrawals = cohort.children.get("withdrawals", [])
        withdrawn = sum(row.values.get("n") or 0 for row in withdrawals)
        if withdrawals and started is None:
            errors.add(f"{cohort.path}.n_started", _("Give how many started when listing withdrawals."))
        elif started is not None and completed + withdrawn > started:
            errors.add(
                f"{cohort.path}.n_started",
                _("%(completed)s completed and %(withdrawn)s withdrawn are more than the %(started)s who started.")
                % {"completed": completed, "withdrawn": withdrawn, "started": started},
            )
        participants = started if started is not None else cohort.values.get("n_enrolled")
        groups: dict[tuple, float] = {}
        for row in cohort.children.get("baseline_measures", []):
            if row.values.get("statistic") != c.BaselineStatistic.COUNT:
                continue
            instrument = row.values.get("instrument")
            group = (row.values.get("kind"), getattr(instrument, "pk", None), row.values.get("label"))
            groups[group] = groups.get(group, 0) + float(row.values.get("value") or 0)
            if participants is not None and groups[group] > participants:
                errors.add(
                    f"{row.path}.value",
                    _("These counts add up to more than the cohort's %(n)s participants.") % {"n": participants},
                )


def _unique(rows: list[ParsedRow], part: Part, errors: Errors) -> None:
    keys: set[str] = set()
    naturals: set[tuple] = set()
    for row in rows:
        if row.key is not None:
            if row.key in keys:
                errors.add(f"{row.path}.key", _("Two rows have this key."))
            keys.add(row.key)
        if not part.keyed:  # conditions, sources: one row per vocabulary entry
            identity = natural_identity(part, row.values, row.cohort_label)
            if identity in naturals:
                errors.add(f"{row.path}.{part.natural[0]}", _("This is listed twice."))
            naturals.add(identity)
    if part.name == "registry_ids":
        pairs: set[tuple] = set()
        for row in rows:
            pair = (row.values.get("registry"), row.values.get("value"))
            if pair in pairs:
                errors.add(f"{row.path}.value", _("This identifier is listed twice."))
            pairs.add(pair)


def _registry_ids_free(rows: list[ParsedRow], study, errors: Errors) -> None:
    """An identifier belongs to one study: refused when another public record holds it (one query)."""
    pairs: list[tuple[Any, Any]] = [(row.values.get("registry"), row.values.get("value")) for row in rows]
    if not pairs:
        return
    wanted = Q()
    for registry, value in pairs:
        wanted |= Q(registry=registry, value=value)
    own = [pk for pk in (getattr(study, "pk", None), getattr(study, "revision_of_id", None)) if pk]
    owners: dict[tuple[Any, Any], str] = dict(
        ((registry, value), accession)
        for registry, value, accession in m.RegistryIdentifier.objects.filter(wanted, in_revision=False)
        .exclude(study_id__in=own)
        .values_list("registry", "value", "study__accession")
    )
    for row, pair in zip(rows, pairs, strict=True):
        if pair in owners:
            errors.add(
                f"{row.path}.value",
                _("%(value)s is already registered to %(accession)s.") % {"value": pair[1], "accession": owners[pair]},
            )


def natural_identity(part: Part, values: dict[str, Any], cohort_label: str | None) -> tuple:
    identity: list[Any] = []
    for key in part.natural:
        if key == "cohort":
            identity.append(cohort_label)
        elif key in part.dates:
            identity.append((values.get(key), values.get(f"{key}_precision")))
        elif key in part.vocabularies:
            entry = values.get(key)
            identity.append(getattr(entry, "pk", entry))
        else:
            value = values.get(key)
            identity.append(float(value) if isinstance(value, Decimal) else value)
    return tuple(identity)
