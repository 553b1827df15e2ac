"""A study's arms (cohorts) and what each received (interventions: cell products and co-therapies)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials import choices as c

from .base import constraint_name, row_key_field
from .study import Study
from .vocabularies import CellType


class Cohort(models.Model):
    """An arm or group of a study: who was in it, how many, at what stage of disease."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="cohorts")
    label = models.CharField(_("label"), max_length=120)
    label_zh = models.CharField(_("Chinese label"), max_length=120, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=c.CohortRole.choices)
    n_enrolled = models.PositiveIntegerField(_("enrolled"), null=True, blank=True)
    n_analysed = models.PositiveIntegerField(_("analysed"), null=True, blank=True)
    # Participant flow as ClinicalTrials.gov results carry it; withdrawals and their reasons are rows (Withdrawal).
    n_started = models.PositiveIntegerField(_("started"), null=True, blank=True, help_text=_("Blank when not reported."))
    n_completed = models.PositiveIntegerField(_("completed"), null=True, blank=True, help_text=_("Blank when not reported."))
    age_summary = models.CharField(_("age"), max_length=120, blank=True)
    sex_summary = models.CharField(_("sex"), max_length=120, blank=True)
    stage = models.CharField(_("disease stage / severity"), max_length=300, blank=True)
    stage_zh = models.CharField(_("Chinese disease stage / severity"), max_length=300, blank=True)
    injury_level = models.CharField(_("injury level"), max_length=20, blank=True, help_text=_("Neurological level, e.g. C7, T8."))
    ais_grade = models.CharField(_("AIS grade"), max_length=1, choices=c.AisGrade.choices, blank=True)
    time_since_onset = models.CharField(_("time since onset"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("Chinese description"), blank=True)

    key = row_key_field()
    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "pk"]
        verbose_name = _("cohort")
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name=constraint_name("unique_key")),
            models.UniqueConstraint(fields=["study", "label"], name=constraint_name("unique_label")),
            # Target of the composite keys that keep a child's cohort inside the child's study.
            models.UniqueConstraint(fields=["id", "study"], name=constraint_name("id_study")),
            models.CheckConstraint(
                condition=Q(n_analysed__isnull=True) | Q(n_enrolled__isnull=True) | Q(n_analysed__lte=F("n_enrolled")),
                name=constraint_name("analysed_within_enrolled"),
            ),
            models.CheckConstraint(
                condition=Q(n_completed__isnull=True) | Q(n_started__isnull=False, n_completed__lte=F("n_started")),
                name=constraint_name("completed_within_started"),
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        errors: dict = {}
        if self.n_analysed is not None and self.n_enrolled is not None and self.n_analysed > self.n_enrolled:
            errors["n_analysed"] = _("More participants analysed than enrolled.")
        if self.n_completed is not None and self.n_started is None:
            errors["n_started"] = _("Give how many started when giving how many completed.")
        elif self.n_completed is not None and self.n_started is not None and self.n_completed > self.n_started:
            errors["n_completed"] = _("More participants completed than started.")
        if errors:
            raise ValidationError(errors)


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

    key = row_key_field()
    history = HistoricalRecords()

    class Meta:
        ordering = ["cohort", "pk"]
        verbose_name = _("intervention")
        constraints = [
            models.UniqueConstraint(fields=["cohort", "key"], name=constraint_name("unique_key")),
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
