"""The registry's vocabularies (conditions, cell types, instruments) and the documents studies come from."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from trials import choices as c
from trials.validators import validate_cell_ontology_id, validate_mesh_id

from .base import Localized, constraint_name

SYNONYMS_HELP = _(
    "Other names, abbreviations and everyday words in English or Chinese, one per line: "
    "free-text search finds this entry by any of them."
)


class Condition(Localized, models.Model):
    """A disease or injury studies enrol patients for; `parent` makes "stroke" include its kinds."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("broader condition")
    )
    mesh_id = models.CharField(_("MeSH id"), max_length=12, blank=True, validators=[validate_mesh_id])
    synonyms = models.TextField(
        _("synonyms and lay terms"),
        blank=True,
        help_text=SYNONYMS_HELP,
    )

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
    synonyms = models.TextField(
        _("synonyms and lay terms"),
        blank=True,
        help_text=SYNONYMS_HELP,
    )

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
    synonyms = models.TextField(
        _("synonyms and lay terms"),
        blank=True,
        help_text=SYNONYMS_HELP,
    )

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


class CodeSynonyms(models.Model):
    """Search synonyms for one code of a coded list that has no table of its own (a route, a cell
    category), so that "鞘内注射" or "MSC" finds studies coded with it."""

    vocabulary = models.CharField(_("list"), max_length=16, choices=c.SynonymVocabulary.choices)
    code = models.CharField(_("code"), max_length=32)
    synonyms = models.TextField(
        _("synonyms and lay terms"),
        help_text=_("Other names, abbreviations and everyday words in English or Chinese, one per line."),
    )

    class Meta:
        ordering = ["vocabulary", "code"]
        verbose_name = _("synonyms of a coded value")
        verbose_name_plural = _("synonyms of coded values")
        constraints = [
            models.UniqueConstraint(fields=["vocabulary", "code"], name=constraint_name("unique")),
            models.CheckConstraint(
                condition=(Q(vocabulary=c.SynonymVocabulary.ROUTE) & Q(code__in=c.Route.values))
                | (Q(vocabulary=c.SynonymVocabulary.CELL_CATEGORY) & Q(code__in=c.CellCategory.values)),
                name=constraint_name("known_code"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_vocabulary_display()}: {self.label}"

    @property
    def choices(self) -> type[models.TextChoices]:
        return c.Route if self.vocabulary == c.SynonymVocabulary.ROUTE else c.CellCategory

    @property
    def label(self) -> str:
        return str(dict(self.choices.choices).get(self.code, self.code))

    def clean(self) -> None:
        if self.vocabulary and self.code not in self.choices.values:
            raise ValidationError(
                {"code": _("Not a code of this list; choose one of: %(codes)s") % {"codes": ", ".join(self.choices.values)}}
            )


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
