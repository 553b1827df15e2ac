"""What a study found and what harmed its participants: outcome measures and adverse events."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials import choices as c

from .arms import Cohort
from .base import Localized, constraint_name, row_key_field
from .study import Study
from .vocabularies import Instrument


class CohortInStudyMixin:
    """A study child that may name one of the study's cohorts (never another study's)."""

    cohort_id: int | None
    study_id: int | None
    cohort: Cohort | None

    def clean_cohort(self, errors: dict) -> None:
        if self.cohort is not None and self.study_id is not None and self.cohort.study_id != self.study_id:
            errors["cohort"] = _("This cohort belongs to another study.")


# Statistics measured on the instrument's own scale (a count of improved participants is not).
ON_SCALE_STATISTICS = {c.Statistic.MEAN, c.Statistic.MEDIAN, c.Statistic.INDIVIDUAL}


# Words that fix a change's sign on any scale.
CHANGE_SIGNS = [c.ChangeReportedAs.INCREASE, c.ChangeReportedAs.DECREASE, c.ChangeReportedAs.NO_CHANGE]


def expected_change_sign(reported_as: str, direction: str) -> int | None:
    """The sign a change must have for the source's words: +1, -1, 0, or None when the words do not say."""
    if reported_as == c.ChangeReportedAs.INCREASE:
        return 1
    if reported_as == c.ChangeReportedAs.DECREASE:
        return -1
    if reported_as == c.ChangeReportedAs.NO_CHANGE:
        return 0
    better = {c.Direction.HIGHER_IS_BETTER.value: 1, c.Direction.LOWER_IS_BETTER.value: -1}.get(direction)
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

    key = row_key_field()
    history = HistoricalRecords()
    objects = OutcomeMeasureQuerySet.as_manager()

    class Meta:
        ordering = ["study", "instrument", "cohort", "timepoint", "pk"]
        verbose_name = _("outcome measure")
        indexes = [models.Index(fields=["instrument", "study"], name="trials_outcome_instr_study")]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name=constraint_name("unique_key")),
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
            # The words that need no instrument to check (a rise is positive); "improvement" depends on
            # the instrument's direction and is checked in clean_against_instrument().
            models.CheckConstraint(
                condition=Q(change_value__isnull=True)
                | ~Q(change_reported_as__in=CHANGE_SIGNS)
                | Q(change_reported_as=c.ChangeReportedAs.INCREASE, change_value__gt=0)
                | Q(change_reported_as=c.ChangeReportedAs.DECREASE, change_value__lt=0)
                | Q(change_reported_as=c.ChangeReportedAs.NO_CHANGE, change_value=0),
                name=constraint_name("change_sign_matches_words"),
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
        from trials.formatting import timepoint_label

        return timepoint_label(self)


# Relatedness values that attribute an event to something (degrees of "related").
RELATED = [
    c.Relatedness.POSSIBLE,
    c.Relatedness.PROBABLE,
    c.Relatedness.DEFINITE,
    c.Relatedness.RELATED,
]
SERIOUS_SCOPES = [c.AeScope.ALL_SERIOUS, c.AeScope.ALL_SERIOUS_RELATED]
RELATED_SCOPES = [c.AeScope.ALL_RELATED, c.AeScope.ALL_SERIOUS_RELATED]


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
    scope = models.CharField(
        _("counts"),
        max_length=20,
        choices=c.AeScope.choices,
        default=c.AeScope.EVENT,
        help_text=_("A total the source states (e.g. “no serious adverse event”), or one kind of event."),
    )
    n_events = models.PositiveIntegerField(_("events"), null=True, blank=True)
    n_affected = models.PositiveIntegerField(_("affected"), null=True, blank=True)
    n_at_risk = models.PositiveIntegerField(_("at risk"), null=True, blank=True)
    onset = models.CharField(_("onset"), max_length=120, blank=True, help_text=_("e.g. “30 months after transplantation”."))
    outcome = models.CharField(_("outcome"), max_length=24, choices=c.AeOutcome.choices, default=c.AeOutcome.UNKNOWN)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("Chinese description"), blank=True)

    key = row_key_field()
    history = HistoricalRecords()
    objects = AdverseEventQuerySet.as_manager()

    class Meta:
        ordering = ["study", "organ_class", "term", "pk"]
        verbose_name = _("adverse event")
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name=constraint_name("unique_key")),
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
            # A total of serious events is serious; a total of related events is related.
            models.CheckConstraint(
                condition=~Q(scope__in=SERIOUS_SCOPES) | Q(serious=c.Seriousness.SERIOUS),
                name=constraint_name("serious_scope_serious"),
            ),
            models.CheckConstraint(
                condition=~Q(scope__in=RELATED_SCOPES) | Q(relatedness__in=RELATED),
                name=constraint_name("related_scope_related"),
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
        if self.scope in SERIOUS_SCOPES and self.serious != c.Seriousness.SERIOUS:
            errors["serious"] = _("A total of serious events is serious: set “serious” to yes.")
        if self.scope in RELATED_SCOPES and self.relatedness not in RELATED:
            errors["relatedness"] = _("A total of related events needs a relatedness that says related.")
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
        return self.as_sql(compiler, connection, template="EXISTS(%(subquery)s OFFSET 0)", **extra_context)  # type: ignore[call-arg]


def has_results_exists(exists: type[Exists] = Exists) -> Exists:
    """A study "has results" when at least one outcome reports one: a number, a p-value, or a finding in
    words ("no change in ISNCSCI" is a result; a study listing seven findings is never "not reported")."""
    reported = (
        Q(value__isnull=False)
        | Q(change_value__isnull=False)
        | Q(baseline_value__isnull=False)
        | Q(p_value__isnull=False)
        | ~Q(p_text="")
        | ~Q(finding="")
        | ~Q(finding_zh="")
    )
    return exists(OutcomeMeasure.objects.filter(reported, study=OuterRef("pk")))


def has_serious_ae_exists(exists: type[Exists] = Exists) -> Exists:
    return exists(AdverseEvent.objects.filter(study=OuterRef("pk")).serious_reported())
