"""A study and what describes it as a whole: its fields, conditions and countries (its identifiers,
milestones, publications and sources are in `references`)."""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import models
from django.db.models import Case, F, FloatField, Q, Value, When
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from trials import choices as c
from trials.validators import (
    validate_accession,
)

from .base import (
    Localized,
    constraint_name,
    format_partial_date,
    partial_date_check,
    period_end,
    period_start,
    require_precision,
)
from .vocabularies import Condition

# Trust signals a curator sets, each with a `<flag>_evidence` text required once it is not unknown.
CURATED_TRUST_FLAGS = ("patient_pays", "peer_reviewed", "prospective_registration")


def age_in_days(field: str) -> Case:
    """An age bound in days, whatever its unit: a minimum in years and a maximum in months compare."""
    return Case(
        *[When(**{f"{field}_unit": unit}, then=F(field) * Value(days)) for unit, days in c.DAYS_PER_AGE_UNIT.items()],
        output_field=FloatField(),
    )


class StudyQuerySet(models.QuerySet):
    def public(self) -> StudyQuerySet:
        """What anonymous readers may see: published studies, and retracted ones (shown as such).
        Revision copies are never public: they are drafts or in review by construction."""
        return self.filter(curation_state__in=[c.CurationState.PUBLISHED, c.CurationState.RETRACTED])

    def published(self) -> StudyQuerySet:
        return self.filter(curation_state=c.CurationState.PUBLISHED)

    def records(self) -> StudyQuerySet:
        """Studies under their own accession: not the private revision copies, which share it."""
        return self.filter(revision_of__isnull=True)

    def with_trust(self) -> StudyQuerySet:
        """Annotate every trust flag (`trust_<flag>`: "yes", "no" or "unknown") as subqueries (trials.trust)."""
        from trials.trust import trust_annotations

        return self.annotate(**trust_annotations())

    def with_flags(self) -> StudyQuerySet:
        """Annotate `has_results` and `has_serious_ae` as subqueries: no per-row queries in lists."""
        from .results import RowExists, has_results_exists, has_serious_ae_exists

        return self.annotate(has_results=has_results_exists(RowExists), has_serious_ae=has_serious_ae_exists(RowExists))

    def count(self) -> int:
        """The search's totals (flagged by StudyFilterSet.qs) come from trials.cache until the data
        changes; every other count is counted."""
        if getattr(self.query, "cache_count", False) and self._result_cache is None:
            from trials.cache import cached

            try:
                key = ("count", *self.query.sql_with_params())
            except EmptyResultSet:  # a filter no row can match (e.g. enrollment beyond any integer)
                return 0
            return cached(key, super().count)
        return super().count()


class Study(Localized, models.Model):
    """One registered study (trial, case report, review, ...) under its stable NCR accession."""

    # Unique among studies proper; a private revision copy repeats its study's accession (see Meta).
    accession = models.CharField(_("accession"), max_length=12, editable=False, validators=[validate_accession])
    title = models.CharField(_("title"), max_length=500)
    title_zh = models.CharField(_("Chinese title"), max_length=500, blank=True)
    title_translated = models.BooleanField(
        _("title translated by the curator"),
        default=False,
        help_text=_("The source gives the title in one language only: the other is the curator's translation."),
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
    # Eligibility, as registries state it: criteria as text, the age range with its unit (blank: not stated).
    eligibility_inclusion = models.TextField(_("inclusion criteria"), blank=True)
    eligibility_inclusion_zh = models.TextField(_("Chinese inclusion criteria"), blank=True)
    eligibility_exclusion = models.TextField(_("exclusion criteria"), blank=True)
    eligibility_exclusion_zh = models.TextField(_("Chinese exclusion criteria"), blank=True)
    min_age = models.PositiveSmallIntegerField(_("minimum age"), null=True, blank=True, help_text=_("Blank when not stated."))
    min_age_unit = models.CharField(_("minimum age unit"), max_length=5, choices=c.AgeUnit.choices, blank=True)
    max_age = models.PositiveSmallIntegerField(_("maximum age"), null=True, blank=True, help_text=_("Blank when not stated."))
    max_age_unit = models.CharField(_("maximum age unit"), max_length=5, choices=c.AgeUnit.choices, blank=True)
    eligible_sex = models.CharField(
        _("sex eligible"), max_length=6, choices=c.EligibleSex.choices, blank=True, help_text=_("Blank when not stated.")
    )
    healthy_volunteers = models.BooleanField(
        _("accepts healthy volunteers"), null=True, blank=True, help_text=_("Blank when not stated.")
    )
    sponsor = models.CharField(_("sponsor"), max_length=300, blank=True)
    institutions = models.TextField(_("institutions"), blank=True, help_text=_("One per line."))
    conditions: models.ManyToManyField = models.ManyToManyField(
        Condition, through="StudyCondition", related_name="studies", verbose_name=_("conditions")
    )

    # Trust signals the sources have to state (trials/trust.py computes the others from the rows): each
    # curated "yes" or "no" carries its evidence; what the sources do not say stays unknown.
    patient_pays = models.CharField(
        _("patients pay to take part"),
        max_length=8,
        choices=c.TriState.choices,
        default=c.TriState.UNKNOWN,
        help_text=_("Whether participants are charged for the cell product or the procedure, as a source states."),
    )
    patient_pays_evidence = models.TextField(_("evidence that patients pay (or not)"), blank=True)
    peer_reviewed = models.CharField(
        _("peer-reviewed results (curated)"),
        max_length=8,
        choices=c.TriState.choices,
        default=c.TriState.UNKNOWN,
        help_text=_(
            "Used when no publication has a PMID (which settles it): e.g. a journal article indexed elsewhere, or only a thesis."
        ),
    )
    peer_reviewed_evidence = models.TextField(_("evidence of peer review"), blank=True)
    prospective_registration = models.CharField(
        _("registered before enrolment (curated)"),
        max_length=8,
        choices=c.TriState.choices,
        default=c.TriState.UNKNOWN,
        help_text=_("Used when the registration and start dates do not settle it."),
    )
    prospective_registration_evidence = models.TextField(_("evidence of prospective registration"), blank=True)
    status_verified_on = models.DateField(
        _("status last verified"),
        null=True,
        blank=True,
        help_text=_("When the overall status was last confirmed against a registry or the sponsor."),
    )

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
    # Internal: one more for every saved change and workflow step. ETags and the admin's lost-update check
    # use it; readers only ever see published version numbers (StudyVersion.number).
    edit_count = models.PositiveIntegerField(_("edits"), default=1, editable=False)
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
            models.CheckConstraint(
                condition=Q(min_age__isnull=True, min_age_unit="") | (Q(min_age__isnull=False) & ~Q(min_age_unit="")),
                name=constraint_name("min_age_unit"),
            ),
            models.CheckConstraint(
                condition=Q(max_age__isnull=True, max_age_unit="") | (Q(max_age__isnull=False) & ~Q(max_age_unit="")),
                name=constraint_name("max_age_unit"),
            ),
            models.CheckConstraint(
                condition=Q(min_age__isnull=True)
                | Q(max_age__isnull=True)
                | Q(LessThanOrEqual(age_in_days("min_age"), age_in_days("max_age"))),
                name=constraint_name("age_range_ordered"),
            ),
            models.CheckConstraint(condition=Q(accession__regex=r"^NCR-[0-9]{6,8}$"), name=constraint_name("accession_format")),
            models.UniqueConstraint(
                fields=["accession"], condition=Q(revision_of__isnull=True), name=constraint_name("accession_unique")
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
            *(
                models.CheckConstraint(
                    condition=Q(**{flag: c.TriState.UNKNOWN}) | ~Q(**{f"{flag}_evidence": ""}),
                    name=constraint_name(f"{flag}_has_evidence"),
                )
                for flag in CURATED_TRUST_FLAGS
            ),
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
        for bound in ("min_age", "max_age"):
            if getattr(self, bound) is not None and not getattr(self, f"{bound}_unit"):
                errors[f"{bound}_unit"] = _("Say whether the age is in years, months, weeks or days.")
            if getattr(self, bound) is None and getattr(self, f"{bound}_unit"):
                errors[bound] = _("A unit is set but the age is missing.")
        if self.min_age_days is not None and self.max_age_days is not None and self.min_age_days > self.max_age_days:
            errors["max_age"] = _("The maximum age is below the minimum age.")
        if self.lead_in_months is not None and self.lead_in_months <= 0:
            errors["lead_in_months"] = _("A lead-in lasts more than 0 months (leave it blank when there is none).")
        if self.study_type != c.StudyType.INTERVENTIONAL and self.phase not in ("", c.Phase.NOT_APPLICABLE):
            errors["phase"] = _("Only interventional trials have a phase; use “Not applicable” or leave it blank.")
        for flag in CURATED_TRUST_FLAGS:
            if getattr(self, flag) != c.TriState.UNKNOWN and not getattr(self, f"{flag}_evidence").strip():
                errors[f"{flag}_evidence"] = _("Quote or cite the source that says so (or leave the answer unknown).")
        # The retraction_has_reason constraint, with a message on the field instead of the constraint's name.
        if self.curation_state == c.CurationState.RETRACTED and not self.retraction_reason.strip():
            errors["retraction_reason"] = _("A retracted study needs the public reason for its retraction.")
        if errors:
            raise ValidationError(errors)

    def normalize_dates(self) -> None:
        self.start_date = period_start(self.start_date, self.start_date_precision)
        self.completion_date = period_end(self.completion_date, self.completion_date_precision)

    def _age_days(self, bound: str) -> float | None:
        value, unit = getattr(self, bound), getattr(self, f"{bound}_unit")
        if value is None or unit not in c.DAYS_PER_AGE_UNIT:
            return None
        return value * c.DAYS_PER_AGE_UNIT[c.AgeUnit(unit)]

    @property
    def min_age_days(self) -> float | None:
        return self._age_days("min_age")

    @property
    def max_age_days(self) -> float | None:
        return self._age_days("max_age")

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
    country = CountryField(verbose_name=_("country"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("country")
        verbose_name_plural = _("countries")
        ordering = ["country"]
        constraints = [models.UniqueConstraint(fields=["study", "country"], name=constraint_name("unique"))]

    def __str__(self) -> str:
        return str(self.country.name)
