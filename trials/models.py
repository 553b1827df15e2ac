"""The registry's data model: studies, their arms and what each arm received, measured and suffered.

Every invariant a curator could break is a database constraint first; `clean()` repeats it with a
message keyed by the field so the admin, `import_studies` and the API report it where it belongs.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from . import choices as c
from .validators import (
    validate_accession,
    validate_cell_ontology_id,
    validate_doi,
    validate_mesh_id,
    validate_pmcid,
    validate_pmid,
    validate_registry_value,
)


def constraint_name(rule: str) -> str:
    return "%(app_label)s_%(class)s_" + rule


def period_start(value: dt.date | None, precision: str) -> dt.date | None:
    """First day of the year or month a partial date stands for."""
    if value is None:
        return None
    if precision == c.DatePrecision.YEAR:
        return value.replace(month=1, day=1)
    if precision == c.DatePrecision.MONTH:
        return value.replace(day=1)
    return value


def period_end(value: dt.date | None, precision: str) -> dt.date | None:
    """Last day of the year or month a partial date stands for.

    Completion dates are stored this way so that "completed 2018" after "started 2018-05-03" holds
    in a plain `completion_date >= start_date` constraint.
    """
    if value is None:
        return None
    if precision == c.DatePrecision.YEAR:
        return value.replace(month=12, day=31)
    if precision == c.DatePrecision.MONTH:
        return value.replace(day=calendar.monthrange(value.year, value.month)[1])
    return value


def format_partial_date(value: dt.date | None, precision: str) -> str:
    """ISO partial date: "2018", "2018-06" or "2018-06-03" (the document format's spelling)."""
    if value is None:
        return ""
    if precision == c.DatePrecision.YEAR:
        return f"{value.year:04d}"
    if precision == c.DatePrecision.MONTH:
        return f"{value.year:04d}-{value.month:02d}"
    return value.isoformat()


def partial_date_check(field: str) -> Q:
    """A date is given with its precision, or neither is."""
    return Q(**{f"{field}__isnull": True, f"{field}_precision": ""}) | (
        Q(**{f"{field}__isnull": False}) & ~Q(**{f"{field}_precision": ""})
    )


def require_precision(instance: models.Model, field: str, errors: dict) -> None:
    if getattr(instance, field) is not None and not getattr(instance, f"{field}_precision"):
        errors[f"{field}_precision"] = _("Say whether the date is known to the year, month or day.")
    if getattr(instance, field) is None and getattr(instance, f"{field}_precision"):
        errors[field] = _("A precision is set but the date is missing.")


class Localized:
    """`obj.tr("title")` gives the Chinese field on Chinese pages when it is curated, else English."""

    def tr(self, field: str) -> str:
        if translation.get_language() and translation.get_language().startswith("zh"):
            value = getattr(self, f"{field}_zh", "")
            if value:
                return value
        return getattr(self, field)


# --- Vocabularies -------------------------------------------------------------------------------


class Condition(Localized, models.Model):
    """A disease or injury studies enrol patients for; `parent` makes "stroke" include its kinds."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("broader condition")
    )
    mesh_id = models.CharField(_("MeSH id"), max_length=12, blank=True, validators=[validate_mesh_id])

    class Meta:
        ordering = ["name"]
        verbose_name = _("condition")
        constraints = [models.CheckConstraint(condition=~Q(parent=F("pk")), name=constraint_name("not_own_parent"))]

    def __str__(self) -> str:
        return self.name

    def descendant_ids(self) -> set[int]:
        """This condition and all narrower ones (the vocabulary is small; one query)."""
        edges = list(Condition.objects.values_list("pk", "parent_id"))
        found, frontier = {self.pk}, [self.pk]
        while frontier:
            frontier = [pk for pk, parent in edges if parent in frontier and pk not in found]
            found.update(frontier)
        return found


class CellType(Localized, models.Model):
    """A kind of cell product (e.g. umbilical-cord MSC), with its category and Cell Ontology id."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=32, choices=c.CellCategory.choices)
    cell_ontology_id = models.CharField(
        _("Cell Ontology id"),
        max_length=20,
        blank=True,
        validators=[validate_cell_ontology_id],
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("cell type")

    def __str__(self) -> str:
        return self.name


class Instrument(Localized, models.Model):
    """An outcome instrument (ALSFRS-R, NIHSS ...): which way is better and its scale's range."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    abbreviation = models.CharField(_("abbreviation"), max_length=40, blank=True)
    direction = models.CharField(_("direction"), max_length=20, choices=c.Direction.choices)
    range_min = models.DecimalField(_("scale minimum"), max_digits=10, decimal_places=3, null=True, blank=True)
    range_max = models.DecimalField(_("scale maximum"), max_digits=10, decimal_places=3, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("instrument")
        constraints = [
            models.CheckConstraint(
                condition=Q(range_min__isnull=True) | Q(range_max__isnull=True) | Q(range_max__gt=F("range_min")),
                name=constraint_name("range_ordered"),
            )
        ]

    def __str__(self) -> str:
        return self.abbreviation or self.name

    def clean(self) -> None:
        if self.range_min is not None and self.range_max is not None and self.range_max <= self.range_min:
            raise ValidationError({"range_max": _("The scale maximum must be above its minimum.")})


class SourceDocument(models.Model):
    """A document studies were curated from (e.g. one seed article), identified by a stable key."""

    key = models.SlugField(_("key"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=500)
    language = models.CharField(_("language"), max_length=8, choices=c.Language.choices)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    url = models.URLField(_("link"), max_length=500, blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    notes = models.TextField(_("notes on the document"), blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("source document")

    def __str__(self) -> str:
        return self.title


# --- Study ----------------------------------------------------------------------------------------


class StudyQuerySet(models.QuerySet):
    def public(self) -> StudyQuerySet:
        """What anonymous readers may see: published studies, and retracted ones (shown as such).
        Revision copies are never public: they are drafts or in review by construction."""
        return self.filter(curation_state__in=[c.CurationState.PUBLISHED, c.CurationState.RETRACTED])

    def published(self) -> StudyQuerySet:
        return self.filter(curation_state=c.CurationState.PUBLISHED)

    def curated(self) -> StudyQuerySet:
        return self.filter(is_synthetic=False)

    def with_flags(self) -> StudyQuerySet:
        """Annotate `has_results` and `has_serious_ae` as subqueries: no per-row queries in lists."""
        return self.annotate(has_results=has_results_exists(RowExists), has_serious_ae=has_serious_ae_exists(RowExists))

    def count(self) -> int:
        """The search's totals (flagged by StudyFilterSet.qs) come from trials.cache until the data
        changes; every other count is counted."""
        if getattr(self.query, "cache_count", False) and self._result_cache is None:
            from .cache import cached

            try:
                key = ("count", *self.query.sql_with_params())
            except EmptyResultSet:  # a filter no row can match (e.g. enrollment beyond any integer)
                return 0
            return cached(key, super().count)
        return super().count()


class Study(Localized, models.Model):
    """One registered study (trial, case report, review, ...) under its stable NCR accession."""

    # 12 characters: curated NCR-000123, or NCR-S0000001 for a generated benchmark study (is_synthetic).
    accession = models.CharField(_("accession"), max_length=12, unique=True, editable=False, validators=[validate_accession])
    title = models.CharField(_("title"), max_length=500)
    title_zh = models.CharField(_("Chinese title"), max_length=500, blank=True)
    title_translated = models.BooleanField(
        _("English title translated by the curator"),
        default=False,
        help_text=_("The source gives no English title: the one shown is the curator's translation."),
    )
    acronym = models.CharField(_("acronym"), max_length=60, blank=True)
    brief_summary = models.TextField(_("summary"), blank=True)
    brief_summary_zh = models.TextField(_("Chinese summary"), blank=True)

    study_type = models.CharField(_("study type"), max_length=24, choices=c.StudyType.choices)
    phase = models.CharField(_("phase"), max_length=16, choices=c.Phase.choices, blank=True, help_text=_("Blank when unknown."))
    phase_reported = models.CharField(_("phase as reported"), max_length=60, blank=True, help_text=_("Verbatim, e.g. “2a”."))
    allocation = models.CharField(_("allocation"), max_length=16, choices=c.Allocation.choices, blank=True)
    masking = models.CharField(_("masking"), max_length=12, choices=c.Masking.choices, blank=True)
    control_type = models.CharField(_("control"), max_length=16, choices=c.ControlType.choices, blank=True)
    overall_status = models.CharField(
        _("overall status"), max_length=24, choices=c.OverallStatus.choices, default=c.OverallStatus.UNKNOWN
    )

    start_date = models.DateField(_("start date"), null=True, blank=True)
    start_date_precision = models.CharField(_("start date precision"), max_length=5, choices=c.DatePrecision.choices, blank=True)
    completion_date = models.DateField(_("completion date"), null=True, blank=True)
    completion_date_precision = models.CharField(
        _("completion date precision"), max_length=5, choices=c.DatePrecision.choices, blank=True
    )
    enrollment = models.PositiveIntegerField(_("enrollment"), null=True, blank=True, help_text=_("Blank when not reported."))
    enrollment_type = models.CharField(_("enrollment type"), max_length=12, choices=c.EnrollmentType.choices, blank=True)
    follow_up_months = models.DecimalField(_("follow-up (months)"), max_digits=6, decimal_places=1, null=True, blank=True)
    lead_in_months = models.DecimalField(
        _("lead-in before treatment (months)"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("An observation period before the first treatment; outcomes may carry negative times only within it."),
    )
    sponsor = models.CharField(_("sponsor"), max_length=300, blank=True)
    institutions = models.TextField(_("institutions"), blank=True, help_text=_("One per line."))
    conditions = models.ManyToManyField(Condition, through="StudyCondition", related_name="studies", verbose_name=_("conditions"))

    curation_state = models.CharField(
        _("curation state"), max_length=12, choices=c.CurationState.choices, default=c.CurationState.DRAFT
    )
    retraction_reason = models.TextField(_("reason for retraction"), blank=True, help_text=_("Shown publicly."))
    revision_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="revisions",
        editable=False,
        verbose_name=_("revision of"),
        help_text=_("A private working copy of a published study; publishing it replaces the public record."),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    is_synthetic = models.BooleanField(_("synthetic"), default=False, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("last updated"), default=timezone.now, editable=False)
    published_at = models.DateTimeField(_("first published"), null=True, blank=True, editable=False)
    # Title and summary as weighted English full text for the `q` filter, kept by a PostgreSQL trigger
    # (migration 0007) on every insert and update, COPY included; always empty on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    history = HistoricalRecords(excluded_fields=["search_vector"])
    objects = StudyQuerySet.as_manager()

    class Meta:
        ordering = ["accession"]
        verbose_name = _("study")
        verbose_name_plural = _("studies")
        permissions = [
            ("publish_study", "Can publish, retract and request changes to studies"),
        ]
        indexes = [
            models.Index(fields=["curation_state", "-updated_at"], name="trials_study_state_updated"),
            models.Index(fields=["start_date"], name="trials_study_start"),
            # The public studies' ids without reading the (wide) table: every filter, facet and total
            # starts from them.
            models.Index(fields=["curation_state", "id"], name="trials_study_state_id"),
        ]
        constraints = [
            models.CheckConstraint(condition=partial_date_check("start_date"), name=constraint_name("start_precision")),
            models.CheckConstraint(condition=partial_date_check("completion_date"), name=constraint_name("completion_precision")),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(completion_date__isnull=True) | Q(completion_date__gte=F("start_date")),
                name=constraint_name("completion_after_start"),
            ),
            models.CheckConstraint(
                condition=Q(enrollment__isnull=True, enrollment_type="") | (Q(enrollment__isnull=False) & ~Q(enrollment_type="")),
                name=constraint_name("enrollment_typed"),
            ),
            models.CheckConstraint(
                condition=Q(study_type=c.StudyType.INTERVENTIONAL) | Q(phase__in=["", c.Phase.NOT_APPLICABLE]),
                name=constraint_name("phase_only_for_trials"),
            ),
            models.CheckConstraint(condition=Q(follow_up_months__gte=0), name=constraint_name("follow_up_not_negative")),
            models.CheckConstraint(condition=Q(lead_in_months__gt=0), name=constraint_name("lead_in_positive")),
            # ClinicalTrials.gov's meaning of the statuses: a completed study has ended (so has an end
            # date) with an actual enrollment; a withdrawn one enrolled nobody.
            models.CheckConstraint(
                condition=~Q(overall_status=c.OverallStatus.COMPLETED)
                | (Q(completion_date__isnull=False) & ~Q(enrollment_type=c.EnrollmentType.ANTICIPATED)),
                name=constraint_name("completed_has_end"),
            ),
            models.CheckConstraint(
                condition=~Q(overall_status=c.OverallStatus.WITHDRAWN)
                | ~Q(enrollment_type=c.EnrollmentType.ACTUAL)
                | Q(enrollment=0),
                name=constraint_name("withdrawn_enrolled_nobody"),
            ),
            models.CheckConstraint(
                condition=~Q(overall_status=c.OverallStatus.NOT_YET_RECRUITING) | ~Q(enrollment_type=c.EnrollmentType.ACTUAL),
                name=constraint_name("not_yet_recruiting_anticipated"),
            ),
            # Synthetic studies (`generate_synthetic`) number up to millions under their own "NCR-S" prefix,
            # so they can never take, or be mistaken for, a curated accession.
            models.CheckConstraint(
                condition=Q(accession__regex=r"^NCR-[0-9]{6}$") | Q(is_synthetic=True, accession__regex=r"^NCR-S[0-9]{7}$"),
                name=constraint_name("accession_format"),
            ),
            models.CheckConstraint(
                condition=~Q(curation_state=c.CurationState.RETRACTED) | ~Q(retraction_reason=""),
                name=constraint_name("retraction_has_reason"),
            ),
            models.CheckConstraint(
                condition=Q(revision_of__isnull=True) | Q(curation_state__in=[c.CurationState.DRAFT, c.CurationState.IN_REVIEW]),
                name=constraint_name("revision_is_private"),
            ),
            models.UniqueConstraint(fields=["revision_of"], name=constraint_name("one_open_revision")),
        ]

    def __str__(self) -> str:
        return f"{self.accession} {self.title}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("trials:study-detail", kwargs={"accession": self.accession})

    def clean(self) -> None:
        errors: dict = {}
        require_precision(self, "start_date", errors)
        require_precision(self, "completion_date", errors)
        self.normalize_dates()
        if self.start_date and self.completion_date and self.completion_date < self.start_date:
            errors["completion_date"] = _("The completion date is before the start date.")
        if self.enrollment is not None and not self.enrollment_type:
            errors["enrollment_type"] = _("Say whether the enrollment is actual or anticipated.")
        if self.enrollment is None and self.enrollment_type:
            errors["enrollment"] = _("An enrollment type is set but the number is missing (leave both blank when unknown).")
        status = self.overall_status
        if status == c.OverallStatus.COMPLETED and self.completion_date is None:
            errors.setdefault(
                "completion_date", _("A completed study has a completion date; leave the status unknown if none is reported.")
            )
        if status == c.OverallStatus.COMPLETED and self.enrollment_type == c.EnrollmentType.ANTICIPATED:
            errors.setdefault("enrollment_type", _("A completed study's enrollment is actual, not anticipated."))
        if status == c.OverallStatus.WITHDRAWN and self.enrollment_type == c.EnrollmentType.ACTUAL and self.enrollment:
            errors.setdefault("enrollment", _("A withdrawn study enrolled nobody: its actual enrollment is 0."))
        if status == c.OverallStatus.NOT_YET_RECRUITING and self.enrollment_type == c.EnrollmentType.ACTUAL:
            errors.setdefault("enrollment_type", _("A study not yet recruiting has an anticipated enrollment only."))
        if self.lead_in_months is not None and self.lead_in_months <= 0:
            errors["lead_in_months"] = _("A lead-in lasts more than 0 months (leave it blank when there is none).")
        if self.study_type != c.StudyType.INTERVENTIONAL and self.phase not in ("", c.Phase.NOT_APPLICABLE):
            errors["phase"] = _("Only interventional trials have a phase; use “Not applicable” or leave it blank.")
        # The retraction_has_reason constraint, with a message on the field instead of the constraint's name.
        if self.curation_state == c.CurationState.RETRACTED and not self.retraction_reason.strip():
            errors["retraction_reason"] = _("A retracted study needs the public reason for its retraction.")
        if errors:
            raise ValidationError(errors)

    def normalize_dates(self) -> None:
        self.start_date = period_start(self.start_date, self.start_date_precision)
        self.completion_date = period_end(self.completion_date, self.completion_date_precision)

    @property
    def start_display(self) -> str:
        return format_partial_date(self.start_date, self.start_date_precision)

    @property
    def completion_display(self) -> str:
        return format_partial_date(self.completion_date, self.completion_date_precision)

    @property
    def is_public(self) -> bool:
        return self.curation_state in (c.CurationState.PUBLISHED, c.CurationState.RETRACTED)


class AccessionCounter(models.Model):
    """The last accession number handed out; a row lock makes numbers unique and never reused."""

    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("accession counter")

    def __str__(self) -> str:
        return f"NCR-{self.last_number:06d}"


class StudyCondition(models.Model):
    """A condition a study enrols for, with the study's own wording (e.g. "C6 complete, chronic")."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="study_conditions")
    condition = models.ForeignKey(
        Condition, on_delete=models.PROTECT, related_name="study_conditions", verbose_name=_("condition")
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("condition")
        constraints = [models.UniqueConstraint(fields=["study", "condition"], name=constraint_name("unique"))]

    def __str__(self) -> str:
        return f"{self.condition} ({self.detail})" if self.detail else str(self.condition)


class StudyCountry(models.Model):
    """A country the study recruits or recruited in (ISO 3166-1 alpha-2)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="countries")
    country = CountryField(_("country"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("country")
        verbose_name_plural = _("countries")
        ordering = ["country"]
        constraints = [models.UniqueConstraint(fields=["study", "country"], name=constraint_name("unique"))]

    def __str__(self) -> str:
        return str(self.country.name)


class RegulatoryMilestone(models.Model):
    """A regulator's decision about the study or its product, e.g. an IND cleared by the NMPA."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="milestones")
    kind = models.CharField(_("kind"), max_length=24, choices=c.MilestoneKind.choices)
    agency = models.CharField(_("agency"), max_length=8, choices=c.Agency.choices)
    date = models.DateField(_("date"), null=True, blank=True)
    date_precision = models.CharField(_("date precision"), max_length=5, choices=c.DatePrecision.choices, blank=True)
    reference = models.CharField(_("reference"), max_length=200, blank=True, help_text=_("e.g. the acceptance number."))
    note = models.TextField(_("note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "pk"]
        verbose_name = _("regulatory milestone")
        constraints = [models.CheckConstraint(condition=partial_date_check("date"), name=constraint_name("date_precision"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.agency})"

    def clean(self) -> None:
        errors: dict = {}
        require_precision(self, "date", errors)
        self.date = period_start(self.date, self.date_precision)
        if errors:
            raise ValidationError(errors)

    @property
    def date_display(self) -> str:
        return format_partial_date(self.date, self.date_precision)


class RegistryIdentifier(models.Model):
    """A study's id in a trial registry; an id belongs to one study only."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="registry_ids")
    registry = models.CharField(_("registry"), max_length=8, choices=c.Registry.choices)
    value = models.CharField(_("identifier"), max_length=60)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # A revision copy repeats its public study's ids; only public records' ids must be unique.
    in_revision = models.BooleanField(default=False, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["registry", "value"]
        verbose_name = _("registry identifier")
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "value"], condition=Q(in_revision=False), name=constraint_name("unique_per_registry")
            ),
            models.CheckConstraint(condition=~Q(value=""), name=constraint_name("value_present")),
            models.CheckConstraint(
                condition=~Q(registry="NCT") | Q(value__regex=r"^NCT[0-9]{8}$"), name=constraint_name("nct_format")
            ),
        ]

    def __str__(self) -> str:
        return self.value

    def save(self, *args, **kwargs):
        if self.study_id is not None:
            self.in_revision = self.study.revision_of_id is not None
        super().save(*args, **kwargs)

    def clean(self) -> None:
        try:
            validate_registry_value(self.registry, self.value)
        except ValidationError as error:
            raise ValidationError({"value": error}) from None

    @property
    def url(self) -> str:
        from .validators import REGISTRY_URLS

        template = REGISTRY_URLS.get(self.registry)
        return template.format(value=self.value) if template else ""


class Publication(models.Model):
    """A paper or thesis reporting the study, with its identifiers checked for format."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="publications")
    title = models.CharField(_("title"), max_length=500)
    title_zh = models.CharField(_("Chinese title"), max_length=500, blank=True)
    title_translated = models.BooleanField(
        _("English title translated by the curator"),
        default=False,
        help_text=_("The publication has no English title of its own."),
    )
    first_author = models.CharField(_("first author"), max_length=120, blank=True)
    journal = models.CharField(_("journal"), max_length=200, blank=True)
    date = models.DateField(_("publication date"), null=True, blank=True)
    date_precision = models.CharField(_("date precision"), max_length=5, choices=c.DatePrecision.choices, blank=True)
    doi = models.CharField(_("DOI"), max_length=200, blank=True, validators=[validate_doi])
    pmid = models.CharField(_("PMID"), max_length=10, blank=True, validators=[validate_pmid])
    pmcid = models.CharField(_("PMCID"), max_length=12, blank=True, validators=[validate_pmcid])
    citation = models.TextField(_("citation"), blank=True)
    url = models.URLField(_("link"), max_length=500, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "pk"]
        verbose_name = _("publication")
        constraints = [
            models.CheckConstraint(condition=partial_date_check("date"), name=constraint_name("date_precision")),
            models.CheckConstraint(condition=Q(doi="") | Q(doi__startswith="10."), name=constraint_name("doi_format")),
            models.CheckConstraint(condition=Q(pmcid="") | Q(pmcid__startswith="PMC"), name=constraint_name("pmcid_format")),
            models.UniqueConstraint(fields=["study", "doi"], condition=~Q(doi=""), name=constraint_name("unique_doi")),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors: dict = {}
        require_precision(self, "date", errors)
        self.date = period_start(self.date, self.date_precision)
        if errors:
            raise ValidationError(errors)

    @property
    def date_display(self) -> str:
        return format_partial_date(self.date, self.date_precision)


class Source(models.Model):
    """Provenance: the document a study was curated from, and what the curator found wrong in it."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="sources")
    document = models.ForeignKey(SourceDocument, on_delete=models.PROTECT, related_name="sources", verbose_name=_("document"))
    locator = models.CharField(_("where in the document"), max_length=300, blank=True)
    curator_note = models.TextField(_("curator note"), blank=True, help_text=_("Discrepancies found in the source."))
    curator_note_zh = models.TextField(_("Chinese curator note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("source")
        constraints = [models.UniqueConstraint(fields=["study", "document"], name=constraint_name("unique"))]

    def __str__(self) -> str:
        return str(self.document)


# --- Arms and what they received --------------------------------------------------------------------


class Cohort(models.Model):
    """An arm or group of a study: who was in it, how many, at what stage of disease."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="cohorts")
    label = models.CharField(_("label"), max_length=120)
    label_zh = models.CharField(_("Chinese label"), max_length=120, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=c.CohortRole.choices)
    n_enrolled = models.PositiveIntegerField(_("enrolled"), null=True, blank=True)
    n_analysed = models.PositiveIntegerField(_("analysed"), null=True, blank=True)
    age_summary = models.CharField(_("age"), max_length=120, blank=True)
    sex_summary = models.CharField(_("sex"), max_length=120, blank=True)
    stage = models.CharField(_("disease stage / severity"), max_length=300, blank=True)
    stage_zh = models.CharField(_("Chinese disease stage / severity"), max_length=300, blank=True)
    injury_level = models.CharField(_("injury level"), max_length=20, blank=True, help_text=_("Neurological level, e.g. C7, T8."))
    ais_grade = models.CharField(_("AIS grade"), max_length=1, choices=c.AisGrade.choices, blank=True)
    time_since_onset = models.CharField(_("time since onset"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("Chinese description"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "pk"]
        verbose_name = _("cohort")
        constraints = [
            models.UniqueConstraint(fields=["study", "label"], name=constraint_name("unique_label")),
            # Target of the composite keys that keep a child's cohort inside the child's study.
            models.UniqueConstraint(fields=["id", "study"], name=constraint_name("id_study")),
            models.CheckConstraint(
                condition=Q(n_analysed__isnull=True) | Q(n_enrolled__isnull=True) | Q(n_analysed__lte=F("n_enrolled")),
                name=constraint_name("analysed_within_enrolled"),
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        if self.n_analysed is not None and self.n_enrolled is not None and self.n_analysed > self.n_enrolled:
            raise ValidationError({"n_analysed": _("More participants analysed than enrolled.")})


class Intervention(models.Model):
    """What one cohort received: a cell product (structured) or a co-therapy, procedure, placebo."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="interventions")
    kind = models.CharField(_("kind"), max_length=16, choices=c.InterventionKind.choices)
    name = models.CharField(_("name"), max_length=200, help_text=_("e.g. “NSI-566 neural stem cells” or “tacrolimus”."))
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    cell_type = models.ForeignKey(
        CellType, null=True, blank=True, on_delete=models.PROTECT, related_name="interventions", verbose_name=_("cell type")
    )
    source_tissue = models.CharField(_("source tissue"), max_length=20, choices=c.SourceTissue.choices, blank=True)
    donor = models.CharField(_("donor"), max_length=12, choices=c.Donor.choices, blank=True)
    product_name = models.CharField(_("product name"), max_length=120, blank=True)
    manufacturing_notes = models.TextField(_("manufacturing"), blank=True, help_text=_("Culture, passage, genetic modification."))
    route = models.CharField(_("route"), max_length=16, choices=c.Route.choices, blank=True)
    route_detail = models.CharField(_("route detail"), max_length=200, blank=True)
    dose_cells_total = models.FloatField(_("cells per administration"), null=True, blank=True)
    dose_cells_per_kg = models.FloatField(_("cells per kg"), null=True, blank=True)
    dose_text = models.CharField(_("dose as reported"), max_length=300, blank=True)
    dose_text_zh = models.CharField(_("dose as reported (Chinese)"), max_length=300, blank=True)
    n_administrations = models.PositiveSmallIntegerField(_("administrations"), null=True, blank=True)
    schedule = models.CharField(_("schedule"), max_length=300, blank=True)
    schedule_zh = models.CharField(_("Chinese schedule"), max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["cohort", "pk"]
        verbose_name = _("intervention")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind=c.InterventionKind.CELL_PRODUCT) | (Q(cell_type__isnull=False) & ~Q(donor="")),
                name=constraint_name("cell_product_typed"),
            ),
            models.CheckConstraint(
                condition=Q(kind=c.InterventionKind.CELL_PRODUCT) | Q(cell_type__isnull=True, donor="", source_tissue=""),
                name=constraint_name("cell_fields_only_for_cells"),
            ),
            models.CheckConstraint(
                condition=Q(dose_cells_total__isnull=True) | Q(dose_cells_total__gt=0),
                name=constraint_name("total_dose_positive"),
            ),
            models.CheckConstraint(
                condition=Q(dose_cells_per_kg__isnull=True) | Q(dose_cells_per_kg__gt=0),
                name=constraint_name("per_kg_dose_positive"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict = {}
        if self.kind == c.InterventionKind.CELL_PRODUCT:
            if self.cell_type_id is None:
                errors["cell_type"] = _("A cell product needs its cell type.")
            if not self.donor:
                errors["donor"] = _("Say whether the cells are autologous or allogeneic (or not reported).")
        else:
            for field in ("cell_type", "donor", "source_tissue"):
                if getattr(self, field if field != "cell_type" else "cell_type_id"):
                    errors[field] = _("Only cell products have a cell type, donor or source tissue.")
        for field in ("dose_cells_total", "dose_cells_per_kg"):
            value = getattr(self, field)
            if value is not None and value <= 0:
                errors[field] = _("A dose must be above zero.")
        if errors:
            raise ValidationError(errors)


# --- Results and harms -------------------------------------------------------------------------------


class CohortInStudyMixin:
    """A study child that may name one of the study's cohorts (never another study's)."""

    def clean_cohort(self, errors: dict) -> None:
        if self.cohort_id is not None and self.study_id is not None and self.cohort.study_id != self.study_id:
            errors["cohort"] = _("This cohort belongs to another study.")


# Statistics measured on the instrument's own scale (a count of improved participants is not).
ON_SCALE_STATISTICS = {c.Statistic.MEAN, c.Statistic.MEDIAN, c.Statistic.INDIVIDUAL}


def expected_change_sign(reported_as: str, direction: str) -> int | None:
    """The sign a change must have for the source's words: +1, -1, 0, or None when the words do not say."""
    if reported_as == c.ChangeReportedAs.INCREASE:
        return 1
    if reported_as == c.ChangeReportedAs.DECREASE:
        return -1
    if reported_as == c.ChangeReportedAs.NO_CHANGE:
        return 0
    better = {c.Direction.HIGHER_IS_BETTER: 1, c.Direction.LOWER_IS_BETTER: -1}.get(direction)
    if better is None or reported_as not in (c.ChangeReportedAs.IMPROVEMENT, c.ChangeReportedAs.WORSENING):
        return None
    return better if reported_as == c.ChangeReportedAs.IMPROVEMENT else -better


class OutcomeMeasureQuerySet(models.QuerySet):
    def public(self) -> OutcomeMeasureQuerySet:
        return self.filter(study__in=Study.objects.public())


class OutcomeMeasure(Localized, CohortInStudyMixin, models.Model):
    """One result: an instrument's value in a cohort (or pooled) at a timepoint, with its statistics."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="outcomes")
    cohort = models.ForeignKey(
        Cohort, null=True, blank=True, on_delete=models.CASCADE, related_name="outcomes", verbose_name=_("cohort")
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="outcomes", verbose_name=_("instrument"))
    measure_detail = models.CharField(_("what was measured"), max_length=300, blank=True, help_text=_("e.g. “leg motor score”."))
    measure_detail_zh = models.CharField(_("what was measured (Chinese)"), max_length=300, blank=True)
    outcome_type = models.CharField(_("type"), max_length=10, choices=c.OutcomeType.choices, default=c.OutcomeType.SECONDARY)
    timepoint = models.DecimalField(
        _("timepoint"), max_digits=8, decimal_places=2, null=True, blank=True, help_text=_("Negative for a lead-in period.")
    )
    timepoint_to = models.DecimalField(_("timepoint window end"), max_digits=8, decimal_places=2, null=True, blank=True)
    timepoint_unit = models.CharField(_("unit"), max_length=6, choices=c.TimeUnit.choices, blank=True)
    is_last_follow_up = models.BooleanField(_("at last follow-up"), default=False)
    timepoint_not_reported = models.BooleanField(
        _("timepoint not reported"), default=False, help_text=_("The source gives no time for this result.")
    )
    statistic = models.CharField(_("statistic"), max_length=16, choices=c.Statistic.choices)
    baseline_value = models.FloatField(_("baseline"), null=True, blank=True)
    baseline_dispersion = models.FloatField(_("baseline SD/SE"), null=True, blank=True)
    value = models.FloatField(_("value"), null=True, blank=True)
    change_value = models.FloatField(
        _("change"), null=True, blank=True, help_text=_("Signed: the later value minus the earlier one (a fall is negative).")
    )
    change_reported = models.CharField(
        _("change as reported"), max_length=200, blank=True, help_text=_("The source's own words, e.g. “改善了3分”.")
    )
    change_reported_as = models.CharField(
        _("reported as"),
        max_length=12,
        choices=c.ChangeReportedAs.choices,
        blank=True,
        help_text=_("How the source describes the change; checked against the sign and the instrument's direction."),
    )
    dispersion_type = models.CharField(_("dispersion"), max_length=6, choices=c.Dispersion.choices, blank=True)
    dispersion_value = models.FloatField(_("SD / SE"), null=True, blank=True)
    dispersion_lower = models.FloatField(_("lower bound"), null=True, blank=True)
    dispersion_upper = models.FloatField(_("upper bound"), null=True, blank=True)
    n_analysed = models.PositiveIntegerField(_("n analysed"), null=True, blank=True)
    p_value = models.DecimalField(
        _("p-value"),
        max_digits=7,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    p_qualifier = models.CharField(_("p qualifier"), max_length=1, choices=c.PQualifier.choices, blank=True)
    p_text = models.CharField(_("p-value as reported"), max_length=120, blank=True)
    finding = models.TextField(_("finding"), blank=True)
    finding_zh = models.TextField(_("Chinese finding"), blank=True)

    history = HistoricalRecords()
    objects = OutcomeMeasureQuerySet.as_manager()

    class Meta:
        ordering = ["study", "instrument", "cohort", "timepoint", "pk"]
        verbose_name = _("outcome measure")
        indexes = [models.Index(fields=["instrument", "study"], name="trials_outcome_instr_study")]
        constraints = [
            models.CheckConstraint(
                condition=Q(p_value__isnull=True) | Q(p_value__gte=0, p_value__lte=1), name=constraint_name("p_value_range")
            ),
            models.CheckConstraint(
                condition=Q(p_value__isnull=True, p_qualifier="") | (Q(p_value__isnull=False) & ~Q(p_qualifier="")),
                name=constraint_name("p_value_qualified"),
            ),
            models.CheckConstraint(
                condition=Q(timepoint_to__isnull=True) | Q(timepoint__isnull=False, timepoint_to__gte=F("timepoint")),
                name=constraint_name("window_ordered"),
            ),
            models.CheckConstraint(
                condition=Q(timepoint__isnull=True) | ~Q(timepoint_unit=""), name=constraint_name("timepoint_has_unit")
            ),
            # Every result is placed in time, or says that the source does not place it.
            models.CheckConstraint(
                condition=(Q(timepoint__isnull=False) | Q(is_last_follow_up=True)) ^ Q(timepoint_not_reported=True),
                name=constraint_name("timepoint_stated"),
            ),
            models.CheckConstraint(
                condition=Q(dispersion_lower__isnull=True)
                | Q(dispersion_upper__isnull=True)
                | Q(dispersion_upper__gte=F("dispersion_lower")),
                name=constraint_name("interval_ordered"),
            ),
            models.CheckConstraint(
                condition=Q(dispersion_value__isnull=True) | Q(dispersion_value__gte=0),
                name=constraint_name("dispersion_not_negative"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.timepoint_display}"

    def clean(self) -> None:
        errors: dict = {}
        self.clean_cohort(errors)
        if self.p_value is not None and not self.p_qualifier:
            errors["p_qualifier"] = _("Say whether p is =, < or > the number.")
        if self.p_value is None and self.p_qualifier:
            errors["p_value"] = _("A qualifier is set but the p-value is missing.")
        if self.timepoint_to is not None and (self.timepoint is None or self.timepoint_to < self.timepoint):
            errors["timepoint_to"] = _("The window must end at or after its start.")
        if self.timepoint is not None and not self.timepoint_unit:
            errors["timepoint_unit"] = _("A timepoint needs its unit.")
        placed = self.timepoint is not None or self.is_last_follow_up
        if not placed and not self.timepoint_not_reported:
            errors["timepoint"] = _("Give the timepoint, or tick “at last follow-up” or “timepoint not reported”.")
        if placed and self.timepoint_not_reported:
            errors["timepoint_not_reported"] = _("A timepoint is given: untick “timepoint not reported”.")
        self.clean_against_instrument(errors)
        if (
            self.dispersion_lower is not None
            and self.dispersion_upper is not None
            and self.dispersion_upper < self.dispersion_lower
        ):
            errors["dispersion_upper"] = _("The upper bound is below the lower bound.")
        if errors:
            raise ValidationError(errors)

    def clean_against_instrument(self, errors: dict) -> None:
        """Values on the instrument's own scale stay inside its range, and a change's sign agrees with
        the words the source used for it (an improvement on a lower-is-better scale is a fall)."""
        instrument = self.instrument if self.instrument_id is not None else None
        if instrument is None:
            return
        if self.statistic in ON_SCALE_STATISTICS and instrument.range_min is not None and instrument.range_max is not None:
            low, high = float(instrument.range_min), float(instrument.range_max)
            for name in ("value", "baseline_value"):
                value = getattr(self, name)
                if isinstance(value, (int, float)) and not low <= value <= high:
                    errors.setdefault(
                        name,
                        _("%(value)s is outside the %(instrument)s scale (%(low)s–%(high)s).")
                        % {"value": value, "instrument": instrument, "low": instrument.range_min, "high": instrument.range_max},
                    )
            span = high - low
            if isinstance(self.change_value, (int, float)) and abs(self.change_value) > span:
                errors.setdefault(
                    "change_value", _("A change of %(value)s is larger than the whole scale.") % {"value": self.change_value}
                )
        expected = expected_change_sign(self.change_reported_as, instrument.direction)
        if expected is not None and isinstance(self.change_value, (int, float)):
            sign = (self.change_value > 0) - (self.change_value < 0)
            if sign != expected:
                errors.setdefault(
                    "change_reported_as",
                    _("The source calls this change “%(words)s”, but %(value)s on a scale where %(direction)s says otherwise.")
                    % {
                        "words": self.get_change_reported_as_display(),
                        "value": self.change_value,
                        "direction": instrument.get_direction_display().lower(),
                    },
                )

    @property
    def timepoint_display(self) -> str:
        from .formatting import timepoint_label

        return timepoint_label(self)


class AdverseEventQuerySet(models.QuerySet):
    def serious_reported(self) -> AdverseEventQuerySet:
        """Serious events that happened: a serious row with a non-zero (or unstated) count."""
        return self.filter(serious=c.Seriousness.SERIOUS).exclude(n_affected=0).exclude(n_events=0, n_affected__isnull=True)

    def public(self) -> AdverseEventQuerySet:
        return self.filter(study__in=Study.objects.public())


class AdverseEvent(Localized, CohortInStudyMixin, models.Model):
    """A harm reported in the study, per cohort where reported, with counts affected / at risk."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="adverse_events")
    cohort = models.ForeignKey(
        Cohort, null=True, blank=True, on_delete=models.CASCADE, related_name="adverse_events", verbose_name=_("cohort")
    )
    term = models.CharField(_("term"), max_length=200, help_text=_("MedDRA-style preferred term."))
    term_zh = models.CharField(_("Chinese term"), max_length=200, blank=True)
    organ_class = models.CharField(_("organ class"), max_length=20, choices=c.OrganClass.choices)
    serious = models.CharField(_("serious"), max_length=8, choices=c.Seriousness.choices)
    grade = models.PositiveSmallIntegerField(
        _("CTCAE grade"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    relatedness = models.CharField(_("relatedness"), max_length=10, choices=c.Relatedness.choices, default=c.Relatedness.UNKNOWN)
    attributed_to = models.CharField(
        _("attributed to"), max_length=16, choices=c.Attribution.choices, default=c.Attribution.UNKNOWN
    )
    n_events = models.PositiveIntegerField(_("events"), null=True, blank=True)
    n_affected = models.PositiveIntegerField(_("affected"), null=True, blank=True)
    n_at_risk = models.PositiveIntegerField(_("at risk"), null=True, blank=True)
    onset = models.CharField(_("onset"), max_length=120, blank=True, help_text=_("e.g. “30 months after transplantation”."))
    outcome = models.CharField(_("outcome"), max_length=24, choices=c.AeOutcome.choices, default=c.AeOutcome.UNKNOWN)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("Chinese description"), blank=True)

    history = HistoricalRecords()
    objects = AdverseEventQuerySet.as_manager()

    class Meta:
        ordering = ["study", "organ_class", "term", "pk"]
        verbose_name = _("adverse event")
        constraints = [
            models.CheckConstraint(
                condition=Q(n_affected__isnull=True) | Q(n_at_risk__isnull=True) | Q(n_affected__lte=F("n_at_risk")),
                name=constraint_name("affected_within_at_risk"),
            ),
            models.CheckConstraint(
                condition=Q(n_affected__isnull=True) | Q(n_events__isnull=True) | Q(n_events__gte=F("n_affected")),
                name=constraint_name("events_cover_affected"),
            ),
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__gte=1, grade__lte=5), name=constraint_name("grade_range")
            ),
            # Nobody at risk is not a denominator: unknown is null.
            models.CheckConstraint(
                condition=Q(n_at_risk__isnull=True) | Q(n_at_risk__gt=0), name=constraint_name("at_risk_positive")
            ),
            models.CheckConstraint(
                condition=~Q(grade=5) | Q(serious=c.Seriousness.SERIOUS), name=constraint_name("fatal_grade_serious")
            ),
        ]

    def __str__(self) -> str:
        return self.term

    def clean(self) -> None:
        errors: dict = {}
        self.clean_cohort(errors)
        if self.n_affected is not None and self.n_at_risk is not None and self.n_affected > self.n_at_risk:
            errors["n_affected"] = _("More participants affected (%(affected)s) than at risk (%(at_risk)s).") % {
                "affected": self.n_affected,
                "at_risk": self.n_at_risk,
            }
        if self.n_affected is not None and self.n_events is not None and self.n_events < self.n_affected:
            errors["n_events"] = _("Fewer events than participants affected.")
        if self.n_at_risk == 0:
            errors["n_at_risk"] = _("Nobody at risk is not a denominator: leave it blank when the source does not report one.")
        if self.grade == 5 and self.serious != c.Seriousness.SERIOUS:
            errors["serious"] = _("A grade 5 (fatal) event is serious.")
        if errors:
            raise ValidationError(errors)

    @property
    def percent_affected(self) -> float | None:
        if self.n_affected is None or not self.n_at_risk:
            return None
        return round(100 * self.n_affected / self.n_at_risk, 1)


class RowExists(Exists):
    """EXISTS asked of each row it is shown for. On PostgreSQL `OFFSET 0` keeps the planner from hashing
    the whole subquery instead (for a page of 20 studies it would read every serious adverse event)."""

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="EXISTS(%(subquery)s OFFSET 0)", **extra_context)


def has_results_exists(exists: type[Exists] = Exists) -> Exists:
    """A study "has results" when at least one outcome carries a number (not only a sentence)."""
    return exists(OutcomeMeasure.objects.filter(study=OuterRef("pk")).exclude(value=None, change_value=None))


def has_serious_ae_exists(exists: type[Exists] = Exists) -> Exists:
    return exists(AdverseEvent.objects.filter(study=OuterRef("pk")).serious_reported())


# --- review workflow ---------------------------------------------------------------------------------


class ReviewComment(models.Model):
    """A reviewer's comment on a study; an unresolved blocking comment stops publication."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="review_comments")
    author = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("author"))
    text = models.TextField(_("comment"))
    blocking = models.BooleanField(
        _("blocking"), default=True, help_text=_("Must be resolved before the study can be published.")
    )
    created_at = models.DateTimeField(_("written"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("resolved by")
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("review comment")
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True, resolved_by__isnull=True)
                | Q(resolved_at__isnull=False, resolved_by__isnull=False),
                name=constraint_name("resolution_complete"),
            ),
            models.CheckConstraint(condition=~Q(text=""), name=constraint_name("text_present")),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class StudyTransition(models.Model):
    """One step of a study through the workflow: who moved it from which state to which, and when."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from"), max_length=12, choices=c.CurationState.choices)
    to_state = models.CharField(_("to"), max_length=12, choices=c.CurationState.choices)
    by = models.ForeignKey("auth.User", null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("workflow step")

    def __str__(self) -> str:
        return f"{self.action}: {self.from_state} → {self.to_state}"


class StudyVersion(models.Model):
    """A published version of a study, frozen as its whole document at the moment it was published."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    document = models.JSONField(_("document"))
    published_at = models.DateTimeField(_("published"), default=timezone.now)
    published_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("what changed"), blank=True)

    class Meta:
        ordering = ["study", "number"]
        verbose_name = _("published version")
        constraints = [
            models.UniqueConstraint(fields=["study", "number"], name=constraint_name("unique_number")),
            models.CheckConstraint(condition=Q(number__gte=1), name=constraint_name("number_positive")),
        ]

    def __str__(self) -> str:
        return f"{self.study.accession} v{self.number}"
