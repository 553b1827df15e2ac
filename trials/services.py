"""Writes that touch several rows. The admin, `import_studies` and the API all call these."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils import timezone

from . import choices as c
from . import models as m
from .validators import validate_accession

# Months per time unit, to compare times given in different units.
MONTHS_PER_UNIT = {
    c.TimeUnit.HOUR: 1 / (24 * 30.4375),
    c.TimeUnit.DAY: 1 / 30.4375,
    c.TimeUnit.WEEK: 7 / 30.4375,
    c.TimeUnit.MONTH: 1.0,
    c.TimeUnit.YEAR: 12.0,
}
PARTIAL_DATE = re.compile(r"^(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2}))?)?$")


class DocumentError(Exception):
    """A study document that cannot be saved; `errors` maps a field path to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items()))


def parse_partial_date(value: Any) -> tuple[dt.date | None, str]:
    """ "2018" -> (2018-01-01, "year"); "2018-06-03" -> (that day, "day"); None/"" -> (None, "")."""
    if value in (None, ""):
        return None, ""
    match = PARTIAL_DATE.match(str(value))
    if not match:
        raise ValidationError("Enter a date as YYYY, YYYY-MM or YYYY-MM-DD.", code="invalid_date")
    year, month, day = match["year"], match["month"], match["day"]
    try:
        date = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValidationError("This date does not exist.", code="invalid_date") from None
    precision = c.DatePrecision.DAY if day else c.DatePrecision.MONTH if month else c.DatePrecision.YEAR
    return date, precision


# --- accessions ----------------------------------------------------------------------------------------


def accession_number(accession: str) -> int:
    return int(accession.split("-")[1])


@transaction.atomic
def accession_reserve(*, at_least: int = 0) -> str:
    """The next accession; the counter row is locked, so two writers never get the same number,
    and it only moves forward, so a deleted draft's accession is never handed out again."""
    counter, _ = m.AccessionCounter.objects.select_for_update().get_or_create(pk=1)
    # Curated rows only: synthetic NCR-S accessions (benchmark data) sort above them and are numbered apart.
    highest = m.Study.objects.curated().aggregate(top=Max("accession"))["top"]
    number = max(counter.last_number, accession_number(highest) if highest else 0, at_least - 1) + 1
    counter.last_number = number
    counter.save(update_fields=["last_number"])
    return f"NCR-{number:06d}"


def accession_counter_raise(number: int) -> None:
    counter, _ = m.AccessionCounter.objects.select_for_update().get_or_create(pk=1)
    if counter.last_number < number:
        counter.last_number = number
        counter.save(update_fields=["last_number"])


# --- the study document --------------------------------------------------------------------------------

STUDY_FIELDS = [
    "title", "title_zh", "title_translated", "acronym", "brief_summary", "brief_summary_zh", "study_type", "phase",
    "phase_reported",
    "allocation", "masking", "control_type", "overall_status", "enrollment", "enrollment_type", "follow_up_months",
    "lead_in_months", "sponsor", "institutions", "curation_state", "retraction_reason",
]  # fmt: skip
STUDY_DATES = ["start_date", "completion_date"]
STUDY_CHILDREN = [
    "conditions", "countries", "milestones", "registry_ids", "publications", "sources", "cohorts", "outcomes",
    "adverse_events",
]  # fmt: skip
IGNORED_KEYS = {"accession", "version", "updated_at"}

# Per child list: model, plain fields, partial-date fields, vocabulary lookups {key: (model, slug field)}.
CHILD_SPECS: dict[str, tuple[type[models.Model], list[str], list[str], dict[str, tuple[type[models.Model], str]]]] = {
    "conditions": (m.StudyCondition, ["detail"], [], {"condition": (m.Condition, "slug")}),
    "milestones": (m.RegulatoryMilestone, ["kind", "agency", "reference", "note"], ["date"], {}),
    "registry_ids": (m.RegistryIdentifier, ["registry", "value", "note"], [], {}),
    "publications": (
        m.Publication,
        ["title", "title_zh", "title_translated", "first_author", "journal", "doi", "pmid", "pmcid", "citation", "url"],
        ["date"],
        {},
    ),
    "sources": (m.Source, ["locator", "curator_note", "curator_note_zh"], [], {"document": (m.SourceDocument, "key")}),
    "cohorts": (
        m.Cohort,
        [
            "label",
            "label_zh",
            "role",
            "n_enrolled",
            "n_analysed",
            "age_summary",
            "sex_summary",
            "stage",
            "stage_zh",
            "injury_level",
            "ais_grade",
            "time_since_onset",
            "description",
            "description_zh",
        ],
        [],
        {},
    ),  # fmt: skip
    "interventions": (
        m.Intervention,
        [
            "kind",
            "name",
            "name_zh",
            "source_tissue",
            "donor",
            "product_name",
            "manufacturing_notes",
            "route",
            "route_detail",
            "dose_cells_total",
            "dose_cells_per_kg",
            "dose_text",
            "dose_text_zh",
            "n_administrations",
            "schedule",
            "schedule_zh",
        ],
        [],
        {"cell_type": (m.CellType, "slug")},
    ),  # fmt: skip
    "outcomes": (
        m.OutcomeMeasure,
        [
            "measure_detail",
            "measure_detail_zh",
            "outcome_type",
            "timepoint",
            "timepoint_to",
            "timepoint_unit",
            "is_last_follow_up",
            "timepoint_not_reported",
            "statistic",
            "baseline_value",
            "baseline_dispersion",
            "value",
            "change_value",
            "change_reported",
            "change_reported_as",
            "dispersion_type",
            "dispersion_value",
            "dispersion_lower",
            "dispersion_upper",
            "n_analysed",
            "p_value",
            "p_qualifier",
            "p_text",
            "finding",
            "finding_zh",
        ],
        [],
        {"instrument": (m.Instrument, "slug")},
    ),  # fmt: skip
    "adverse_events": (
        m.AdverseEvent,
        [
            "term",
            "term_zh",
            "organ_class",
            "serious",
            "grade",
            "relatedness",
            "attributed_to",
            "n_events",
            "n_affected",
            "n_at_risk",
            "onset",
            "outcome",
            "description",
            "description_zh",
        ],
        [],
        {},
    ),  # fmt: skip
}
CHILD_READ_ONLY = {"registry_ids": {"url"}, "cohorts": {"interventions"}, "outcomes": {"cohort"}, "adverse_events": {"cohort"}}


class _Collector:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, messages: Any) -> None:
        if isinstance(messages, str):
            messages = [messages]
        self.errors.setdefault(path, []).extend(str(message) for message in messages)

    def add_validation_error(self, prefix: str, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, field_errors in error.error_dict.items():
                path = prefix if field == "__all__" else f"{prefix}.{field}" if prefix else field
                self.add(path or "non_field_errors", [message for e in field_errors for message in e.messages])
        else:
            self.add(prefix or "non_field_errors", error.messages)


def _check_keys(data: Any, allowed: set[str], path: str, errors: _Collector) -> bool:
    if not isinstance(data, dict):
        errors.add(path or "non_field_errors", "Expected an object.")
        return False
    for key in sorted(set(data) - allowed):
        errors.add(f"{path}.{key}" if path else key, "Unknown field.")
    return True


def _child_list(data: dict, key: str, errors: _Collector, path: str) -> list:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(path, "Expected a list.")
        return []
    return value


class _Vocabulary:
    """Slug lookups for a whole document in one query per vocabulary."""

    def __init__(self) -> None:
        self.cache: dict[type[models.Model], dict[str, models.Model]] = {}

    def get(self, model: type[models.Model], slug_field: str, value: Any) -> models.Model:
        if model not in self.cache:
            self.cache[model] = {getattr(obj, slug_field): obj for obj in model.objects.all()}
        try:
            return self.cache[model][value]
        except (KeyError, TypeError):
            raise ObjectDoesNotExist(f"Unknown {model._meta.verbose_name} “{value}”.") from None


def _coerce(model_field, value):
    """JSON numbers arrive as floats; a decimal field takes the number as written (0.0186), not the
    float's binary expansion, which would fail the field's digit limits."""
    if isinstance(value, float) and isinstance(model_field, models.DecimalField):
        return Decimal(repr(value))
    return value


def _build(model, fields, date_fields, lookups, data, path, errors, vocabulary, exclude=()) -> models.Model | None:
    spec_keys = set(fields) | set(date_fields) | set(lookups) | set(exclude)
    if not _check_keys(data, spec_keys, path, errors):
        return None
    instance = model()
    for field in fields:
        if field in data:
            value = data[field]
            model_field = model._meta.get_field(field)
            if value is None and not model_field.null:
                value = model_field.get_default()
            setattr(instance, field, _coerce(model_field, value))
    for field in date_fields:
        try:
            date, precision = parse_partial_date(data.get(field))
        except ValidationError as error:
            errors.add(f"{path}.{field}", error.messages)
            continue
        setattr(instance, field, date)
        setattr(instance, f"{field}_precision", precision)
    for key, (vocab_model, slug_field) in lookups.items():
        if data.get(key) in (None, ""):
            continue
        try:
            setattr(instance, key, vocabulary.get(vocab_model, slug_field, data[key]))
        except ObjectDoesNotExist as error:
            errors.add(f"{path}.{key}", str(error))
    return instance


def _validate(instance: models.Model, path: str, errors: _Collector, exclude: list[str]) -> None:
    """The model's field, clean() and check-constraint rules. Uniqueness is checked across the
    document instead (the stored rows of this very study are about to be replaced)."""
    try:
        # Fields first, alone: full_clean() would go on to clean(), which compares values that may
        # not even be numbers yet (`"n_at_risk": [1]` raised TypeError there, a 500 in the API).
        instance.clean_fields(exclude=exclude)
    except ValidationError as error:
        errors.add_validation_error(path, error)
        return
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        for constraint in instance._meta.constraints:
            if isinstance(constraint, models.CheckConstraint):
                constraint.validate(type(instance), instance, exclude=exclude)
    except ValidationError as error:
        errors.add_validation_error(path, error)


def study_save_document(
    *, document: dict, study: m.Study | None = None, by=None, snapshot_note: str = "", snapshot: bool = True
) -> tuple[m.Study, bool]:
    """Create or replace a whole study from its document, atomically; returns (study, changed).

    The study is matched by `study`, else by the document's accession. Every object is validated with
    the model's own `full_clean()` before anything is written; any error raises DocumentError with
    paths such as `adverse_events[2].n_affected`, and nothing is saved. Saving a document identical to
    the stored one changes nothing (no new version, no history), which makes imports idempotent.
    """
    from .api.serializers import study_document

    errors = _Collector()
    allowed = set(STUDY_FIELDS) | set(STUDY_DATES) | set(STUDY_CHILDREN) | IGNORED_KEYS
    if not _check_keys(document, allowed, "", errors):
        raise DocumentError(errors.errors)

    accession = document.get("accession") or None
    if study is None and accession:
        study = m.Study.objects.filter(accession=accession).first()
    creating = study is None or study.pk is None
    if creating:
        study = study or m.Study()
        if accession:
            try:
                validate_accession(accession)
            except ValidationError as error:
                errors.add("accession", error.messages)
    vocabulary = _Vocabulary()

    # The study's own fields: a document replaces the whole record, so absent keys take defaults.
    for field in STUDY_FIELDS:
        model_field = m.Study._meta.get_field(field)
        value = document.get(field, model_field.get_default())
        if value is None and not model_field.null:
            value = model_field.get_default()
        setattr(study, field, _coerce(model_field, value))
    for field in STUDY_DATES:
        try:
            date, precision = parse_partial_date(document.get(field))
        except ValidationError as error:
            errors.add(field, error.messages)
            date, precision = None, ""
        setattr(study, field, date)
        setattr(study, f"{field}_precision", precision)
    _validate(study, "", errors, exclude=["accession"])

    countries = _child_list(document, "countries", errors, "countries")
    country_rows = []
    for index, code in enumerate(countries):
        row = m.StudyCountry(country=code)
        _validate(row, f"countries[{index}]", errors, exclude=["study"])
        country_rows.append(row)

    children: dict[str, list[models.Model]] = {}
    interventions: list[tuple[int, m.Intervention]] = []
    for key in ["conditions", "milestones", "registry_ids", "publications", "sources", "cohorts", "outcomes", "adverse_events"]:
        model, fields, date_fields, lookups = CHILD_SPECS[key]
        extra = CHILD_READ_ONLY.get(key, set())
        children[key] = []
        for index, data in enumerate(_child_list(document, key, errors, key)):
            path = f"{key}[{index}]"
            instance = _build(model, fields, date_fields, lookups, data, path, errors, vocabulary, exclude=extra)
            if instance is None:
                continue
            _validate(instance, path, errors, exclude=["study", "cohort"])
            children[key].append(instance)
            if key == "cohorts":
                for j, item in enumerate(_child_list(data, "interventions", errors, f"{path}.interventions")):
                    ipath = f"{path}.interventions[{j}]"
                    i_model, i_fields, i_dates, i_lookups = CHILD_SPECS["interventions"]
                    intervention = _build(i_model, i_fields, i_dates, i_lookups, item, ipath, errors, vocabulary)
                    if intervention is not None:
                        _validate(intervention, ipath, errors, exclude=["cohort"])
                        interventions.append((len(children[key]) - 1, intervention))
            if key in ("outcomes", "adverse_events"):
                instance._cohort_label = data.get("cohort")  # resolved once cohorts exist

    # Cross-row rules a single full_clean() cannot see.
    labels: dict[str, int] = {}
    for index, cohort in enumerate(children["cohorts"]):
        if cohort.label in labels:
            errors.add(f"cohorts[{index}].label", f"Another cohort of this study is already labelled “{cohort.label}”.")
        labels.setdefault(cohort.label, index)
    for key in ("outcomes", "adverse_events"):
        for index, instance in enumerate(children[key]):
            label = instance._cohort_label
            if label not in (None, "") and label not in labels:
                errors.add(f"{key}[{index}].cohort", f"No cohort labelled “{label}” in this study.")
    lead_in = study.lead_in_months
    for index, outcome in enumerate(children["outcomes"]):
        earliest = outcome.timepoint if isinstance(outcome.timepoint, (int, float, Decimal)) else None
        if earliest is None or earliest >= 0 or outcome.timepoint_unit not in MONTHS_PER_UNIT:
            continue
        months_before = -float(earliest) * MONTHS_PER_UNIT[outcome.timepoint_unit]
        if lead_in is None or months_before > float(lead_in) + 1e-9:
            errors.add(
                f"outcomes[{index}].timepoint",
                "A negative time lies before treatment: declare the study's lead-in (lead_in_months) to cover it."
                if lead_in is None
                else f"This time lies {months_before:g} months before treatment, beyond the study's {lead_in} month lead-in.",
            )
    _unique_within(
        children["registry_ids"],
        lambda r: (r.registry, r.value),
        "registry_ids",
        "value",
        errors,
        "This identifier is listed twice.",
    )
    _unique_within(
        children["conditions"], lambda r: r.condition_id, "conditions", "condition", errors, "This condition is listed twice."
    )
    _unique_within(children["sources"], lambda r: r.document_id, "sources", "document", errors, "This document is listed twice.")
    _unique_within(country_rows, lambda r: r.country.code, "countries", "", errors, "This country is listed twice.")
    for index, registry_id in enumerate(children["registry_ids"]):
        owner = (
            m.RegistryIdentifier.objects.filter(registry=registry_id.registry, value=registry_id.value, in_revision=False)
            .exclude(study_id__in=[pk for pk in (study.pk, study.revision_of_id) if pk])
            .values_list("study__accession", flat=True)
            .first()
        )
        if owner:
            errors.add(f"registry_ids[{index}].value", f"{registry_id.value} is already registered to {owner}.")
    if errors.errors:
        raise DocumentError(errors.errors)

    before = None if creating else study_document(m.Study.objects.get(pk=study.pk))
    try:
        with transaction.atomic():
            if creating:
                study.accession = accession or accession_reserve()
                if accession:
                    accession_counter_raise(accession_number(accession))
            else:
                _delete_children(study)
            study.updated_at = timezone.now()
            if study.curation_state == c.CurationState.PUBLISHED and study.published_at is None:
                study.published_at = study.updated_at
            _attach_history_user(study, by)
            study.save()
            _attach_history_user(country_rows, by)
            for row in country_rows:
                row.study = study
                row.save()
            cohorts = children["cohorts"]
            by_label = {}
            for cohort in cohorts:
                cohort.study = study
                _attach_history_user(cohort, by)
                cohort.save()
                by_label[cohort.label] = cohort
            for cohort_index, intervention in interventions:
                intervention.cohort = cohorts[cohort_index]
                _attach_history_user(intervention, by)
                intervention.save()
            for key in ("conditions", "milestones", "registry_ids", "publications", "sources", "outcomes", "adverse_events"):
                for instance in children[key]:
                    instance.study = study
                    if key in ("outcomes", "adverse_events"):
                        instance.cohort = by_label.get(instance._cohort_label) if instance._cohort_label else None
                    _attach_history_user(instance, by)
                    instance.save()
            after = study_document(m.Study.objects.get(pk=study.pk))
            if before is not None and _same_content(before, after):
                raise _Unchanged
            if not creating:
                m.Study.objects.filter(pk=study.pk).update(version=models.F("version") + 1)
                study.refresh_from_db(fields=["version"])
            if snapshot and study.curation_state == c.CurationState.PUBLISHED:
                study_snapshot(study=study, by=by, note=snapshot_note)
    except _Unchanged:
        study.refresh_from_db()
        return study, False
    except IntegrityError as error:  # a race with another writer, or a rule only the database knows
        raise DocumentError({"non_field_errors": [f"The database refused this study: {error}"]}) from None
    return study, True


class _Unchanged(Exception):
    pass


def _same_content(before: dict, after: dict) -> bool:
    ignore = {"updated_at", "version"}
    return {k: v for k, v in before.items() if k not in ignore} == {k: v for k, v in after.items() if k not in ignore}


def _unique_within(rows, key, list_name, field, errors: _Collector, message: str) -> None:
    seen = set()
    for index, row in enumerate(rows):
        value = key(row)
        if value in seen:
            errors.add(f"{list_name}[{index}].{field}" if field else f"{list_name}[{index}]", message)
        seen.add(value)


def _delete_children(study: m.Study) -> None:
    # Outcomes and adverse events first: their cohort foreign keys are checked on delete.
    for manager in (study.outcomes, study.adverse_events, study.cohorts, study.study_conditions, study.countries,
                    study.milestones, study.registry_ids, study.publications, study.sources):  # fmt: skip
        for instance in manager.all():
            instance.delete()


def _attach_history_user(instances, by) -> None:
    if by is None or not getattr(by, "is_authenticated", False):
        return
    for instance in instances if isinstance(instances, list) else [instances]:
        instance._history_user = by


# --- vocabularies and source documents --------------------------------------------------------------

VOCABULARY_MODELS = {
    "conditions": (m.Condition, "slug", ["name", "name_zh", "mesh_id", "parent"]),
    "cell_types": (m.CellType, "slug", ["name", "name_zh", "category", "cell_ontology_id", "description"]),
    "instruments": (
        m.Instrument,
        "slug",
        ["name", "name_zh", "abbreviation", "direction", "range_min", "range_max", "unit", "description"],
    ),
    "source_documents": (
        m.SourceDocument,
        "key",
        ["title", "language", "publisher", "url", "file_name", "published_on", "notes"],
    ),
}


@transaction.atomic
def vocabulary_upsert(*, kind: str, items: list[dict]) -> int:
    """Create or update vocabulary entries by slug (or key); returns how many rows changed."""
    model, key_field, fields = VOCABULARY_MODELS[kind]
    errors = _Collector()
    changed = 0
    existing = {getattr(obj, key_field): obj for obj in model.objects.all()}
    for index, item in enumerate(items):
        path = f"{kind}[{index}]"
        if not _check_keys(item, {key_field, *fields}, path, errors):
            continue
        instance = existing.get(item.get(key_field)) or model(**{key_field: item.get(key_field)})
        before = {field: getattr(instance, field if field != "parent" else "parent_id") for field in fields}
        for field in fields:
            value = item.get(field, model._meta.get_field(field).get_default())
            if field == "parent":
                parent = existing.get(value) if value else None
                if value and parent is None:
                    errors.add(f"{path}.parent", f"Unknown condition “{value}” (list broader conditions first).")
                instance.parent = parent
                continue
            if value is None and not model._meta.get_field(field).null:
                value = model._meta.get_field(field).get_default()
            setattr(instance, field, value)
        try:
            instance.full_clean(validate_unique=instance.pk is None)
        except ValidationError as error:
            errors.add_validation_error(path, error)
            continue
        after = {field: getattr(instance, field if field != "parent" else "parent_id") for field in fields}
        if instance.pk is None or list(before.values()) != list(after.values()):
            instance.save()
            changed += 1
        existing[getattr(instance, key_field)] = instance
    if errors.errors:
        raise DocumentError(errors.errors)
    return changed


# --- review workflow ---------------------------------------------------------------------------------
# draft -> in_review -> published -> retracted; in_review -> draft when a reviewer requests changes.
# A published study is never edited in place: `study_start_revision` makes a private draft copy and
# publishing that copy replaces the public record, so readers see the last published version meanwhile.


class WorkflowError(Exception):
    """A transition that the study's state or open review comments do not allow."""


class BlockingComments(WorkflowError):
    """Publication refused while blocking review comments are unresolved."""


# Who holds each permission, so a refusal tells the person which role to ask for.
ROLE_OF_PERMISSION = {"trials.change_study": "curator or reviewer", "trials.publish_study": "reviewer"}


def _require(by, permission: str) -> None:
    if by is None or not by.has_perm(permission):
        raise PermissionDenied(
            f"This needs the {permission.split('.')[1].replace('_', ' ')} permission "
            f"({permission}, which the {ROLE_OF_PERMISSION[permission]} role has)."
        )


def _transition(study: m.Study, *, action: str, to_state: str, by, note: str = "") -> None:
    """Callers hold the row lock (`_lock`), so the version step cannot race another writer."""
    from_state = study.curation_state
    study.curation_state = to_state
    study.updated_at = timezone.now()
    # A new state is a real change: the API's ETag and the admin's lost-update check both follow the version.
    study.version += 1
    study._history_user = by
    study.save(update_fields=["curation_state", "updated_at", "retraction_reason", "published_at", "version"])
    m.StudyTransition.objects.create(study=study, action=action, from_state=from_state, to_state=to_state, by=by, note=note)


def _lock(study: m.Study) -> m.Study:
    return m.Study.objects.select_for_update().get(pk=study.pk)


@transaction.atomic
def study_submit(*, study: m.Study, by) -> m.Study:
    """A curator hands a draft to the reviewers."""
    _require(by, "trials.change_study")
    study = _lock(study)
    if study.curation_state != c.CurationState.DRAFT:
        raise WorkflowError(f"Only a draft can be submitted for review; this study is {study.get_curation_state_display()}.")
    _transition(study, action="submitted", to_state=c.CurationState.IN_REVIEW, by=by)
    return study


@transaction.atomic
def study_comment(*, study: m.Study, by, text: str, blocking: bool) -> m.ReviewComment:
    _require(by, "trials.publish_study")
    if not text.strip():
        raise ValidationError({"text": "Write the comment."})
    return m.ReviewComment.objects.create(study=study, author=by, text=text.strip(), blocking=blocking)


@transaction.atomic
def study_request_changes(*, study: m.Study, by, text: str, blocking: bool = True) -> m.Study:
    """A reviewer sends a study back to its curator with a comment that stays on the study."""
    _require(by, "trials.publish_study")
    study = _lock(study)
    if study.curation_state != c.CurationState.IN_REVIEW:
        raise WorkflowError("Changes can only be requested on a study in review.")
    study_comment(study=study, by=by, text=text, blocking=blocking)
    _transition(study, action="changes_requested", to_state=c.CurationState.DRAFT, by=by, note=text.strip())
    return study


@transaction.atomic
def study_resolve_comment(*, comment: m.ReviewComment, by) -> m.ReviewComment:
    _require(by, "trials.change_study")
    if comment.resolved_at is None:
        comment.resolved_at, comment.resolved_by = timezone.now(), by
        comment.save(update_fields=["resolved_at", "resolved_by"])
    return comment


@transaction.atomic
def study_publish(*, study: m.Study, by, note: str = "") -> m.Study:
    """A reviewer publishes a study in review; returns the public study (for a revision, the original)."""
    _require(by, "trials.publish_study")
    study = _lock(study)
    if study.curation_state != c.CurationState.IN_REVIEW:
        raise WorkflowError("Only a study in review can be published.")
    blocking = study.review_comments.filter(blocking=True, resolved_at=None).count()
    if blocking:
        raise BlockingComments(f"{blocking} blocking review comment(s) must be resolved before publishing.")
    if study.revision_of_id is None:
        study.published_at = study.published_at or timezone.now()
        _transition(study, action="published", to_state=c.CurationState.PUBLISHED, by=by, note=note)
        study_snapshot(study=study, by=by, note=note)
        return study

    from .api.serializers import study_document

    original = _lock(study.revision_of)
    document = study_document(study)
    document.update(accession=original.accession, curation_state=c.CurationState.PUBLISHED, retraction_reason="")
    # The copy's review trail belongs to the public record it becomes.
    study.review_comments.update(study=original)
    study.transitions.update(study=original)
    study.delete()  # the copy's registry ids must be gone before the original takes them back
    original, _changed = study_save_document(document=document, study=original, by=by, snapshot_note=note)
    m.StudyTransition.objects.create(
        study=original,
        action="revision_published",
        from_state=c.CurationState.IN_REVIEW,
        to_state=c.CurationState.PUBLISHED,
        by=by,
        note=note,
    )
    return original


@transaction.atomic
def study_retract(*, study: m.Study, by, reason: str) -> m.Study:
    """Withdraw a published study from the evidence base; it stays visible, marked, with the reason."""
    _require(by, "trials.publish_study")
    if not reason.strip():
        raise ValidationError({"retraction_reason": "Give the public reason for the retraction."})
    study = _lock(study)
    if study.curation_state != c.CurationState.PUBLISHED:
        raise WorkflowError("Only a published study can be retracted.")
    study.retraction_reason = reason.strip()
    _transition(study, action="retracted", to_state=c.CurationState.RETRACTED, by=by, note=reason.strip())
    return study


@transaction.atomic
def study_start_revision(*, study: m.Study, by) -> m.Study:
    """A private draft copy of a published study, for corrections; one open revision at a time."""
    from .api.serializers import document_queryset, study_document

    _require(by, "trials.change_study")
    study = _lock(study)
    if study.curation_state != c.CurationState.PUBLISHED:
        raise WorkflowError("Only a published study is revised through a copy; edit drafts directly.")
    existing = study.revisions.first()
    if existing:
        return existing
    document = study_document(document_queryset().get(pk=study.pk))
    document.pop("accession")
    document["curation_state"] = c.CurationState.DRAFT
    revision = m.Study(revision_of=study)
    revision, _changed = study_save_document(document=document, study=revision, by=by)
    m.StudyTransition.objects.create(
        study=study, action="revision_started", from_state=study.curation_state, to_state=study.curation_state, by=by,
        note=revision.accession,
    )  # fmt: skip
    return revision


def study_snapshot(*, study: m.Study, by=None, note: str = "") -> m.StudyVersion:
    """Freeze the study as published now; numbers run 1, 2, 3 ... per study."""
    from .api.serializers import document_queryset, study_document

    document = study_document(document_queryset().get(pk=study.pk))
    document = _jsonable({k: v for k, v in document.items() if k not in ("version", "updated_at")})
    last = study.versions.order_by("-number").first()
    if last and last.document == document:
        return last
    by = by if getattr(by, "is_authenticated", False) else None
    return m.StudyVersion.objects.create(
        study=study, number=(last.number + 1) if last else 1, document=document, published_by=by, note=note
    )


def _jsonable(document: dict) -> dict:
    import json

    from rest_framework.utils.encoders import JSONEncoder

    return json.loads(json.dumps(document, cls=JSONEncoder))


def document_diff(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Flattened differences between two study documents: (path, old value, new value)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in list(old) + [k for k in new if k not in old]:
            changes += document_diff(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return changes
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for index in range(max(len(old), len(new))):
            changes += document_diff(
                old[index] if index < len(old) else None, new[index] if index < len(new) else None, f"{path}[{index}]"
            )
        return changes
    return [] if old == new else [(path, old, new)]


# --- deletion ------------------------------------------------------------------------------------------


class StudyProtected(Exception):
    """Deleting this study would lose curated data; retract it or send it back to draft instead."""


@transaction.atomic
def study_delete(*, study: m.Study, by=None) -> None:
    """Delete a draft and its children. Anything further along (in review, published, retracted) is
    curated data, and a study that was ever published keeps its accession because citations use it."""
    study = _lock(study)
    if study.curation_state != c.CurationState.DRAFT:
        raise StudyProtected(
            f"{study.accession} is {study.get_curation_state_display().lower()}: only drafts can be deleted "
            "(retract a published study instead)."
        )
    if study.published_at is not None:
        raise StudyProtected(
            f"{study.accession} was published on {study.published_at:%Y-%m-%d}; its accession must keep resolving."
        )
    _attach_history_user(study, by)
    study.delete()
