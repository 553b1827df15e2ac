"""What identifies and documents a study: regulatory milestones, registry identifiers, publications and
the source documents it was curated from."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials import choices as c
from trials.validators import (
    REGISTRY_URLS,
    validate_doi,
    validate_pmcid,
    validate_pmid,
    validate_registry_value,
)

from .base import (
    constraint_name,
    format_partial_date,
    partial_date_check,
    period_start,
    require_precision,
    row_key_field,
)
from .study import Study
from .vocabularies import SourceDocument


class RegulatoryMilestone(models.Model):
    """A regulator's decision about the study or its product, e.g. an IND cleared by the NMPA."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="milestones")
    kind = models.CharField(_("kind"), max_length=24, choices=c.MilestoneKind.choices)
    agency = models.CharField(_("agency"), max_length=8, choices=c.Agency.choices)
    date = models.DateField(_("date"), null=True, blank=True)
    date_precision = models.CharField(_("date precision"), max_length=5, choices=c.DatePrecision.choices, blank=True)
    reference = models.CharField(_("reference"), max_length=200, blank=True, help_text=_("e.g. the acceptance number."))
    note = models.TextField(_("note"), blank=True)

    key = row_key_field()
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "pk"]
        verbose_name = _("regulatory milestone")
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name=constraint_name("unique_key")),
            models.CheckConstraint(condition=partial_date_check("date"), name=constraint_name("date_precision")),
        ]

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

    key = row_key_field()
    history = HistoricalRecords()

    class Meta:
        ordering = ["registry", "value"]
        verbose_name = _("registry identifier")
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name=constraint_name("unique_key")),
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
        template = REGISTRY_URLS.get(self.registry)
        return template.format(value=self.value) if template else ""


class Publication(models.Model):
    """A paper or thesis reporting the study, with its identifiers checked for format."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="publications")
    title = models.CharField(_("title"), max_length=500)
    title_zh = models.CharField(_("Chinese title"), max_length=500, blank=True)
    title_translated = models.BooleanField(
        _("title translated by the curator"),
        default=False,
        help_text=_("The publication's title is in one language only: the other is the curator's translation."),
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

    key = row_key_field()
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "pk"]
        verbose_name = _("publication")
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name=constraint_name("unique_key")),
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
