"""What a clinician needs before referring a patient: who runs a study (organisations), where it recruits
and whom to call (sites), and what happened to its participants (flow and baseline, per cohort)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Floor
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from trials import choices as c

from .arms import Cohort
from .base import Localized, constraint_name, row_key_field
from .study import Study
from .vocabularies import Instrument, Organisation


class StudyOrganisation(models.Model):
    """An organisation's part in a study: its lead sponsor (one at most) or a collaborator."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="study_organisations")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="study_links", verbose_name=_("organisation")
    )
    role = models.CharField(_("role"), max_length=12, choices=c.OrganisationRole.choices)

    history = HistoricalRecords()

    class Meta:
        ordering = ["study", "pk"]
        verbose_name = _("sponsor or collaborator")
        verbose_name_plural = _("sponsors and collaborators")
        constraints = [
            models.UniqueConstraint(fields=["study", "organisation"], name=constraint_name("unique")),
            models.UniqueConstraint(
                fields=["study"], condition=Q(role=c.OrganisationRole.LEAD_SPONSOR), name=constraint_name("one_lead_sponsor")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display()})"


class Site(Localized, models.Model):
    """A place a study recruits at, with its own recruitment status and the contact registries publish.

    `latitude`/`longitude` are the curator's, when the gazetteer does not know the city; `geo_latitude`
    and `geo_longitude` are what the "near" filter reads: those, else the city's from the offline gazetteer.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="sites")
    facility = models.CharField(_("facility"), max_length=300)
    facility_zh = models.CharField(_("Chinese facility name"), max_length=300, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True, help_text=_("As the gazetteer names it, e.g. Nanjing."))
    country = CountryField(verbose_name=_("country"))
    status = models.CharField(
        _("recruitment status"), max_length=24, choices=c.OverallStatus.choices, default=c.OverallStatus.UNKNOWN
    )
    latitude = models.FloatField(_("latitude"), null=True, blank=True, help_text=_("Only when the city is not found."))
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_role = models.CharField(_("contact role"), max_length=200, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=60, blank=True)
    contact_email = models.EmailField(_("contact email"), max_length=254, blank=True)
    contact_public = models.BooleanField(
        _("contact published in a public registry"),
        default=False,
        help_text=_("Only such contacts are included in bulk exports; others appear on the published study's page alone."),
    )
    geo_latitude = models.FloatField(null=True, blank=True, editable=False)
    geo_longitude = models.FloatField(null=True, blank=True, editable=False)

    key = row_key_field()
    history = HistoricalRecords(excluded_fields=["geo_latitude", "geo_longitude"])

    class Meta:
        ordering = ["study", "pk"]
        verbose_name = _("site")
        indexes = [models.Index(fields=["geo_latitude", "geo_longitude"], name="trials_site_geo")]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name=constraint_name("unique_key")),
            models.CheckConstraint(condition=~Q(facility=""), name=constraint_name("facility_present")),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(
                    latitude__isnull=False,
                    longitude__isnull=False,
                    latitude__gte=-90,
                    latitude__lte=90,
                    longitude__gte=-180,
                    longitude__lte=180,
                ),
                name=constraint_name("coordinates_valid"),
            ),
            models.CheckConstraint(
                condition=~Q(contact_public=True) | ~Q(contact_name="", contact_phone="", contact_email=""),
                name=constraint_name("public_contact_present"),
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(filter(None, [self.facility, self.city, str(self.country.name or "")]))

    def save(self, *args, **kwargs):
        from trials.geo import site_coordinates

        self.geo_latitude, self.geo_longitude = site_coordinates(self)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict = {}
        if (self.latitude is None) != (self.longitude is None):
            errors["longitude" if self.longitude is None else "latitude"] = _("Give both latitude and longitude, or neither.")
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            errors["latitude"] = _("A latitude lies between -90 and 90.")
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            errors["longitude"] = _("A longitude lies between -180 and 180.")
        if self.contact_public and not (self.contact_name or self.contact_phone or self.contact_email):
            errors["contact_public"] = _("A public contact needs a name, phone or email.")
        if errors:
            raise ValidationError(errors)

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_name or self.contact_phone or self.contact_email)


class Withdrawal(Localized, models.Model):
    """Participants of a cohort who started but did not complete, for one reason (as CT.gov's flow lists them)."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="withdrawals")
    reason = models.CharField(_("reason"), max_length=20, choices=c.WithdrawalReason.choices)
    reason_detail = models.CharField(_("reason as reported"), max_length=300, blank=True)
    reason_detail_zh = models.CharField(_("reason as reported (Chinese)"), max_length=300, blank=True)
    n = models.PositiveIntegerField(_("participants"))

    key = row_key_field()
    history = HistoricalRecords()

    class Meta:
        ordering = ["cohort", "pk"]
        verbose_name = _("withdrawal")
        constraints = [
            models.UniqueConstraint(fields=["cohort", "key"], name=constraint_name("unique_key")),
            models.CheckConstraint(condition=Q(n__gt=0), name=constraint_name("n_positive")),
            models.CheckConstraint(
                condition=~Q(reason=c.WithdrawalReason.OTHER) | ~Q(reason_detail=""), name=constraint_name("other_explained")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.n}"

    def clean(self) -> None:
        errors: dict = {}
        if self.n is not None and self.n <= 0:
            errors["n"] = _("A withdrawal row counts at least one participant.")
        if self.reason == c.WithdrawalReason.OTHER and not self.reason_detail.strip():
            errors["reason_detail"] = _("Say what the other reason was.")
        if errors:
            raise ValidationError(errors)


class BaselineMeasure(Localized, models.Model):
    """One baseline characteristic of a cohort: a mean/median with its dispersion (age, ALSFRS-R, EDSS) or
    a count of participants in a category (women, AIS grade A)."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="baseline_measures")
    kind = models.CharField(_("kind"), max_length=12, choices=c.BaselineKind.choices)
    instrument = models.ForeignKey(
        Instrument, null=True, blank=True, on_delete=models.PROTECT, related_name="baselines", verbose_name=_("instrument")
    )
    label = models.CharField(_("measure"), max_length=200, blank=True, help_text=_("For “other”: what was measured."))
    label_zh = models.CharField(_("measure (Chinese)"), max_length=200, blank=True)
    category = models.CharField(
        _("category"), max_length=60, blank=True, help_text=_("For counts: female / male, an AIS grade (A–E), …")
    )
    statistic = models.CharField(_("statistic"), max_length=8, choices=c.BaselineStatistic.choices)
    value = models.FloatField(_("value"))
    unit = models.CharField(_("unit"), max_length=40, blank=True, help_text=_("e.g. years, points."))
    dispersion_type = models.CharField(_("dispersion"), max_length=6, choices=c.BaselineDispersion.choices, blank=True)
    dispersion_value = models.FloatField(_("SD / SE"), null=True, blank=True)
    dispersion_lower = models.FloatField(_("lower"), null=True, blank=True)
    dispersion_upper = models.FloatField(_("upper"), null=True, blank=True)
    n = models.PositiveIntegerField(_("participants measured"), null=True, blank=True)

    key = row_key_field()
    history = HistoricalRecords()

    class Meta:
        ordering = ["cohort", "pk"]
        verbose_name = _("baseline measure")
        constraints = [
            models.UniqueConstraint(fields=["cohort", "key"], name=constraint_name("unique_key")),
            models.CheckConstraint(
                condition=Q(kind=c.BaselineKind.INSTRUMENT, instrument__isnull=False)
                | (~Q(kind=c.BaselineKind.INSTRUMENT) & Q(instrument__isnull=True)),
                name=constraint_name("instrument_iff_kind"),
            ),
            models.CheckConstraint(
                condition=~Q(kind=c.BaselineKind.OTHER) | ~Q(label=""), name=constraint_name("other_labelled")
            ),
            models.CheckConstraint(
                condition=~Q(kind=c.BaselineKind.SEX) | Q(statistic=c.BaselineStatistic.COUNT, category__in=c.Sex.values),
                name=constraint_name("sex_is_count"),
            ),
            models.CheckConstraint(
                condition=~Q(kind=c.BaselineKind.AGE) | (~Q(statistic=c.BaselineStatistic.COUNT) & ~Q(unit="")),
                name=constraint_name("age_has_unit"),
            ),
            # A count is a whole, non-negative number of participants in a category, without dispersion.
            models.CheckConstraint(
                condition=~Q(statistic=c.BaselineStatistic.COUNT)
                | (Q(value__gte=0, dispersion_type="") & ~Q(category="") & Q(value=Floor("value"))),
                name=constraint_name("count_whole"),
            ),
            models.CheckConstraint(
                condition=Q(n__isnull=True) | ~Q(statistic=c.BaselineStatistic.COUNT) | Q(value__lte=F("n")),
                name=constraint_name("count_within_n"),
            ),
            models.CheckConstraint(
                condition=Q(
                    dispersion_type="",
                    dispersion_value__isnull=True,
                    dispersion_lower__isnull=True,
                    dispersion_upper__isnull=True,
                )
                | Q(
                    dispersion_type__in=[c.BaselineDispersion.SD, c.BaselineDispersion.SE],
                    dispersion_value__isnull=False,
                    dispersion_value__gte=0,
                    dispersion_lower__isnull=True,
                    dispersion_upper__isnull=True,
                )
                | Q(
                    dispersion_type__in=[c.BaselineDispersion.RANGE, c.BaselineDispersion.IQR],
                    dispersion_value__isnull=True,
                    dispersion_lower__isnull=False,
                    dispersion_upper__isnull=False,
                    dispersion_lower__lte=F("dispersion_upper"),
                ),
                name=constraint_name("dispersion_shape"),
            ),  # fmt: skip
            models.CheckConstraint(
                condition=~Q(dispersion_type=c.BaselineDispersion.RANGE)
                | Q(dispersion_lower__lte=F("value"), dispersion_upper__gte=F("value")),
                name=constraint_name("value_within_range"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.category}".strip()

    def clean(self) -> None:
        errors: dict = {}
        if self.kind == c.BaselineKind.INSTRUMENT and self.instrument_id is None:
            errors["instrument"] = _("Name the instrument of this baseline measure.")
        if self.kind != c.BaselineKind.INSTRUMENT and self.instrument_id is not None:
            errors["instrument"] = _("Only a disease measure names an instrument.")
        if self.kind == c.BaselineKind.OTHER and not self.label.strip():
            errors["label"] = _("Say what was measured.")
        if self.kind == c.BaselineKind.SEX:
            if self.statistic != c.BaselineStatistic.COUNT:
                errors["statistic"] = _("Sex is given as counts of participants.")
            if self.category not in c.Sex.values:
                errors["category"] = _("The category of a sex count is “female” or “male”.")
        if self.kind == c.BaselineKind.AGE:
            if self.statistic == c.BaselineStatistic.COUNT:
                errors["statistic"] = _("Age is a mean or a median (age groups: use “other”).")
            if not self.unit.strip():
                errors["unit"] = _("Give the unit of age (e.g. years).")
        if self.statistic == c.BaselineStatistic.COUNT and self.value is not None:
            if self.value < 0 or self.value != int(self.value):
                errors["value"] = _("A count is a whole number of participants.")
            elif self.n is not None and self.value > self.n:
                errors["value"] = _("More participants counted than measured.")
            if not self.category.strip():
                errors.setdefault("category", _("Say which category is counted."))
            if self.dispersion_type:
                errors["dispersion_type"] = _("A count has no dispersion.")
        self._clean_dispersion(errors)
        if errors:
            raise ValidationError(errors)

    def _clean_dispersion(self, errors: dict) -> None:
        kind, value, lower, upper = self.dispersion_type, self.dispersion_value, self.dispersion_lower, self.dispersion_upper
        if not kind:
            if value is not None or lower is not None or upper is not None:
                errors["dispersion_type"] = _("Say which dispersion these numbers are.")
        elif kind in (c.BaselineDispersion.SD, c.BaselineDispersion.SE):
            if value is None or value < 0:
                errors["dispersion_value"] = _("An SD or SE is a number of 0 or more.")
            if lower is not None or upper is not None:
                errors["dispersion_lower"] = _("An SD or SE has no lower and upper bound.")
        else:
            if lower is None or upper is None or lower > upper:
                errors["dispersion_upper"] = _("A range or IQR has a lower bound at or below its upper bound.")
            elif kind == c.BaselineDispersion.RANGE and self.value is not None and not lower <= self.value <= upper:
                errors["value"] = _("The value lies outside its range.")
            if value is not None:
                errors["dispersion_value"] = _("A range or IQR is given by its bounds.")
