"""The study document: one nested JSON shape for the API detail, `export_studies` and `import_studies`.

Reading goes through these serializers; writing goes through `trials.services.study_save_document`,
which takes exactly these keys and validates with the models' own rules (the admin's rules).
"""

from collections.abc import Iterator
from itertools import islice

from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trials import choices as c
from trials import models as m
from trials.models import format_partial_date
from trials.services import CHILD_SPECS, STUDY_CHILDREN, STUDY_DATES, STUDY_FIELDS

DOCUMENT_FORMAT = "neurocell-registry/1"


@extend_schema_field({"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$", "nullable": True, "example": "2018-06"})
class PartialDateField(serializers.Field):
    """A date at its precision, spelled as an ISO partial date: "2018", "2018-06" or "2018-06-03"."""

    def __init__(self, date_attr: str, **kwargs):
        self.date_attr = date_attr
        kwargs.setdefault("source", "*")
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, instance) -> str | None:
        value = format_partial_date(getattr(instance, self.date_attr), getattr(instance, f"{self.date_attr}_precision"))
        return value or None


class SlugOrNull(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("slug_field", "slug")
        super().__init__(**kwargs)


class ConditionLinkSerializer(serializers.ModelSerializer):
    condition = SlugOrNull()

    class Meta:
        model = m.StudyCondition
        fields = ["condition", "detail"]


class MilestoneSerializer(serializers.ModelSerializer):
    date = PartialDateField("date")

    class Meta:
        model = m.RegulatoryMilestone
        fields = ["kind", "agency", "date", "reference", "note"]


class RegistryIdentifierSerializer(serializers.ModelSerializer):
    url = serializers.CharField(read_only=True)

    class Meta:
        model = m.RegistryIdentifier
        fields = ["registry", "value", "note", "url"]


class PublicationSerializer(serializers.ModelSerializer):
    date = PartialDateField("date")

    class Meta:
        model = m.Publication
        fields = [
            "title",
            "title_zh",
            "title_translated",
            "first_author",
            "journal",
            "date",
            "doi",
            "pmid",
            "pmcid",
            "citation",
            "url",
        ]


class SourceDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = m.SourceDocument
        fields = ["key", "title", "language", "publisher", "url", "file_name", "published_on", "notes"]


class SourceSerializer(serializers.ModelSerializer):
    document = SlugOrNull(slug_field="key")

    class Meta:
        model = m.Source
        fields = ["document", "locator", "curator_note", "curator_note_zh"]


class InterventionSerializer(serializers.ModelSerializer):
    cell_type = SlugOrNull(allow_null=True)

    class Meta:
        model = m.Intervention
        fields = [
            "kind",
            "name",
            "name_zh",
            "cell_type",
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
        ]


class CohortSerializer(serializers.ModelSerializer):
    interventions = InterventionSerializer(many=True, read_only=True)

    class Meta:
        model = m.Cohort
        fields = [
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
            "interventions",
        ]


class CohortLabelField(serializers.SlugRelatedField):
    """Children name their cohort by its label, which is unique within the study."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="label", read_only=True, allow_null=True, **kwargs)


class OutcomeSerializer(serializers.ModelSerializer):
    cohort = CohortLabelField()
    instrument = SlugOrNull()

    class Meta:
        model = m.OutcomeMeasure
        fields = [
            "cohort",
            "instrument",
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
        ]


class AdverseEventSerializer(serializers.ModelSerializer):
    cohort = CohortLabelField()

    class Meta:
        model = m.AdverseEvent
        fields = [
            "cohort",
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
        ]


class StudyDocumentSerializer(serializers.ModelSerializer):
    """The whole study with its children, as exported, imported and served at /api/v1/studies/<accession>/."""

    start_date = PartialDateField("start_date")
    completion_date = PartialDateField("completion_date")
    conditions = ConditionLinkSerializer(source="study_conditions", many=True, read_only=True)
    countries = serializers.SerializerMethodField()
    milestones = MilestoneSerializer(many=True, read_only=True)
    registry_ids = RegistryIdentifierSerializer(many=True, read_only=True)
    publications = PublicationSerializer(many=True, read_only=True)
    sources = SourceSerializer(many=True, read_only=True)
    cohorts = CohortSerializer(many=True, read_only=True)
    outcomes = OutcomeSerializer(many=True, read_only=True)
    adverse_events = AdverseEventSerializer(many=True, read_only=True)

    class Meta:
        model = m.Study
        fields = [
            "accession",
            "title",
            "title_zh",
            "title_translated",
            "acronym",
            "brief_summary",
            "brief_summary_zh",
            "study_type",
            "phase",
            "phase_reported",
            "allocation",
            "masking",
            "control_type",
            "overall_status",
            "start_date",
            "completion_date",
            "enrollment",
            "enrollment_type",
            "follow_up_months",
            "lead_in_months",
            "sponsor",
            "institutions",
            "countries",
            "curation_state",
            "retraction_reason",
            "conditions",
            "milestones",
            "registry_ids",
            "publications",
            "sources",
            "cohorts",
            "outcomes",
            "adverse_events",
            "version",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "array", "items": {"type": "string", "example": "US"}})
    def get_countries(self, study: m.Study) -> list[str]:
        return [row.country.code for row in study.countries.all()]


# Keys the importer accepts in a study document: the serializer's, less those the registry owns.
SERVER_OWNED_KEYS = {"version", "updated_at"}
READ_ONLY_CHILD_KEYS = {"url"}


def document_queryset(queryset=None):
    """Everything a study document needs, in a fixed number of queries whatever the study's size."""
    queryset = m.Study.objects.all() if queryset is None else queryset
    return queryset.prefetch_related(
        Prefetch("study_conditions", queryset=m.StudyCondition.objects.select_related("condition").order_by("pk")),
        Prefetch("countries", queryset=m.StudyCountry.objects.order_by("pk")),
        # Children keep the order they were curated in (pk), identically on every database.
        Prefetch("milestones", queryset=m.RegulatoryMilestone.objects.order_by("pk")),
        Prefetch("registry_ids", queryset=m.RegistryIdentifier.objects.order_by("pk")),
        Prefetch("publications", queryset=m.Publication.objects.order_by("pk")),
        Prefetch("sources", queryset=m.Source.objects.select_related("document").order_by("pk")),
        Prefetch(
            "cohorts",
            queryset=m.Cohort.objects.order_by("pk").prefetch_related(
                Prefetch("interventions", queryset=m.Intervention.objects.select_related("cell_type").order_by("pk"))
            ),
        ),
        Prefetch("outcomes", queryset=m.OutcomeMeasure.objects.select_related("instrument", "cohort").order_by("pk")),
        Prefetch("adverse_events", queryset=m.AdverseEvent.objects.select_related("cohort").order_by("pk")),
    )


def study_document(study: m.Study) -> dict:
    return StudyDocumentSerializer(study).data


__all__ = ["DOCUMENT_FORMAT", "OpenApiTypes", "StudyDocumentSerializer", "document_queryset", "study_document"]


# --- API lists: study summaries, vocabularies, result and harm rows ------------------------------------
# Below the document serializers on purpose: these shapes are the API's own; the document above is
# shared with export/import and must not change.


def _unique(values) -> list:
    return list(dict.fromkeys(value for value in values if value not in (None, "")))


def _enum_list(choices) -> dict:
    return {"type": "array", "items": {"type": "string", "enum": [value for value, _label in choices]}}


STRING_LIST = {"type": "array", "items": {"type": "string"}}


def absolute_url(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def summary_queryset(queryset):
    """A study list row's query shape: two flags as subqueries and four prefetches, whatever the page size."""
    cell_products = m.Intervention.objects.filter(kind=c.InterventionKind.CELL_PRODUCT).select_related("cell_type").order_by("pk")
    return queryset.with_flags().prefetch_related(
        Prefetch("study_conditions", queryset=m.StudyCondition.objects.select_related("condition").order_by("pk")),
        Prefetch("countries", queryset=m.StudyCountry.objects.order_by("pk")),
        Prefetch(
            "cohorts",
            queryset=m.Cohort.objects.only("pk", "study_id")
            .order_by("pk")
            .prefetch_related(Prefetch("interventions", queryset=cell_products, to_attr="cell_products")),
            to_attr="summary_cohorts",
        ),
    )


class StudySummarySerializer(serializers.ModelSerializer):
    """One item of /api/v1/studies/ (and one CSV row): what integrators filter, sort and link on.

    `cell_types`, `source_tissues`, `donors` and `routes` describe the study's cell products, as the
    filters of the same names do; `url` is the whole document.
    """

    start_date = PartialDateField("start_date")
    completion_date = PartialDateField("completion_date")
    conditions = serializers.SerializerMethodField(help_text="Condition slugs (see /api/v1/conditions/).")
    cell_types = serializers.SerializerMethodField(help_text="Cell type slugs of the cell products (see /api/v1/cell-types/).")
    source_tissues = serializers.SerializerMethodField()
    donors = serializers.SerializerMethodField()
    routes = serializers.SerializerMethodField()
    countries = serializers.SerializerMethodField(help_text="ISO 3166-1 alpha-2 codes.")
    has_results = serializers.BooleanField(read_only=True, help_text="At least one outcome carries a number.")
    has_serious_ae = serializers.BooleanField(read_only=True, help_text="At least one serious adverse event was reported.")
    url = serializers.SerializerMethodField(help_text="The whole study document.")

    class Meta:
        model = m.Study
        fields = [
            "accession",
            "title",
            "title_zh",
            "acronym",
            "study_type",
            "phase",
            "overall_status",
            "curation_state",
            "conditions",
            "cell_types",
            "source_tissues",
            "donors",
            "routes",
            "enrollment",
            "enrollment_type",
            "start_date",
            "completion_date",
            "countries",
            "has_results",
            "has_serious_ae",
            "version",
            "updated_at",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, study: m.Study) -> str:
        # Not HyperlinkedIdentityField: DRF's reverse() carries `format=csv` over, and the link must be
        # the same in JSON and CSV.
        return absolute_url(self.context.get("request"), reverse("api:study-detail", kwargs={"accession": study.accession}))

    @staticmethod
    def _cell_products(study: m.Study) -> list[m.Intervention]:
        return [product for cohort in study.summary_cohorts for product in cohort.cell_products]

    @extend_schema_field(STRING_LIST)
    def get_conditions(self, study: m.Study) -> list[str]:
        return [link.condition.slug for link in study.study_conditions.all()]

    @extend_schema_field(STRING_LIST)
    def get_cell_types(self, study: m.Study) -> list[str]:
        return _unique(product.cell_type.slug for product in self._cell_products(study) if product.cell_type)

    @extend_schema_field(_enum_list(c.SourceTissue.choices))
    def get_source_tissues(self, study: m.Study) -> list[str]:
        return _unique(product.source_tissue for product in self._cell_products(study))

    @extend_schema_field(_enum_list(c.Donor.choices))
    def get_donors(self, study: m.Study) -> list[str]:
        return _unique(product.donor for product in self._cell_products(study))

    @extend_schema_field(_enum_list(c.Route.choices))
    def get_routes(self, study: m.Study) -> list[str]:
        return _unique(product.route for product in self._cell_products(study))

    @extend_schema_field({"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{2}$", "example": "CN"}})
    def get_countries(self, study: m.Study) -> list[str]:
        return [row.country.code for row in study.countries.all()]


def summary_rows(queryset, *, context: dict, chunk_size: int = 2000) -> Iterator[dict]:
    """StudySummarySerializer's items for every study of `queryset`, without a model instance per row.

    For the CSV of a whole filtered set (100,000 studies and more): the studies' columns as tuples, and
    per chunk one query per kind of child, grouped in Python. Each value goes through the serializer's
    own field, so a row is exactly the JSON item (tests/api/test_csv.py checks they agree).
    """
    serializer = StudySummarySerializer(context=context)
    fields = serializer.fields
    columns = [name for name in StudySummarySerializer.Meta.fields if not isinstance(fields[name], _DERIVED)]
    dates = ["start_date", "start_date_precision", "completion_date", "completion_date_precision"]
    request = context.get("request")
    marker = "NCR-000000"
    link = absolute_url(request, reverse("api:study-detail", kwargs={"accession": marker}))
    head, tail = link.split(marker, 1)
    rows = queryset.prefetch_related(None).values_list("pk", *columns, *dates).iterator(chunk_size=chunk_size)
    while chunk := list(islice(rows, chunk_size)):
        ids = [row[0] for row in chunk]
        conditions = _grouped_rows(
            m.StudyCondition.objects.filter(study_id__in=ids).order_by("pk").values_list("study_id", "condition__slug")
        )
        countries = _grouped_rows(
            m.StudyCountry.objects.filter(study_id__in=ids).order_by("pk").values_list("study_id", "country")
        )
        products = _grouped_rows(
            m.Intervention.objects.filter(kind=c.InterventionKind.CELL_PRODUCT, cohort__study_id__in=ids)
            .order_by("cohort_id", "pk")
            .values_list("cohort__study_id", "cell_type__slug", "source_tissue", "donor", "route")
        )
        for row in chunk:
            pk, values, (start, start_precision, end, end_precision) = row[0], row[1 : len(columns) + 1], row[-4:]
            item = {
                name: None if value is None else fields[name].to_representation(value)
                for name, value in zip(columns, values, strict=True)
            }
            cells = products.get(pk, [])
            item.update(
                conditions=[slug for (slug,) in conditions.get(pk, [])],
                cell_types=_unique(product[0] for product in cells),
                source_tissues=_unique(product[1] for product in cells),
                donors=_unique(product[2] for product in cells),
                routes=_unique(product[3] for product in cells),
                countries=[code for (code,) in countries.get(pk, [])],
                start_date=format_partial_date(start, start_precision) or None,
                completion_date=format_partial_date(end, end_precision) or None,
                url=f"{head}{item['accession']}{tail}",
            )
            yield {name: item[name] for name in StudySummarySerializer.Meta.fields}


_DERIVED = (serializers.SerializerMethodField, PartialDateField)


def _grouped_rows(rows) -> dict[int, list[tuple]]:
    grouped: dict[int, list[tuple]] = {}
    for study_id, *rest in rows:
        grouped.setdefault(study_id, []).append(tuple(rest))
    return grouped


class ConditionSerializer(serializers.ModelSerializer):
    parent = SlugOrNull(allow_null=True, help_text="The broader condition's slug; filtering by it includes this one.")

    class Meta:
        model = m.Condition
        fields = ["slug", "name", "name_zh", "mesh_id", "parent"]
        read_only_fields = fields


class CellTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = m.CellType
        fields = ["slug", "name", "name_zh", "category", "cell_ontology_id", "description"]
        read_only_fields = fields


class InstrumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = m.Instrument
        fields = ["slug", "name", "name_zh", "abbreviation", "direction", "range_min", "range_max", "unit", "description"]
        read_only_fields = fields


class StudyAccessionField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="accession", read_only=True, help_text="The study's accession.", **kwargs)


class OutcomeRowSerializer(OutcomeSerializer):
    """An outcome of the document's `outcomes`, with its study: one row of /api/v1/outcomes/."""

    study = StudyAccessionField()

    class Meta(OutcomeSerializer.Meta):
        fields = ["study", *OutcomeSerializer.Meta.fields]
        read_only_fields = fields


class AdverseEventRowSerializer(AdverseEventSerializer):
    """An adverse event of the document's `adverse_events`, with its study: one row of /api/v1/adverse-events/."""

    study = StudyAccessionField()

    class Meta(AdverseEventSerializer.Meta):
        fields = ["study", *AdverseEventSerializer.Meta.fields]
        read_only_fields = fields


class FacetsSerializer(serializers.Serializer):
    """Matching studies per facet value, each facet counted under every *other* active filter."""

    condition = serializers.DictField(child=serializers.IntegerField(min_value=0), help_text="Includes narrower conditions.")
    cell_type = serializers.DictField(child=serializers.IntegerField(min_value=0))
    cell_category = serializers.DictField(child=serializers.IntegerField(min_value=0))
    source_tissue = serializers.DictField(child=serializers.IntegerField(min_value=0))
    donor = serializers.DictField(child=serializers.IntegerField(min_value=0))
    route = serializers.DictField(child=serializers.IntegerField(min_value=0))
    phase = serializers.DictField(child=serializers.IntegerField(min_value=0))
    status = serializers.DictField(child=serializers.IntegerField(min_value=0))
    study_type = serializers.DictField(child=serializers.IntegerField(min_value=0))
    country = serializers.DictField(child=serializers.IntegerField(min_value=0))
    instrument = serializers.DictField(child=serializers.IntegerField(min_value=0))
    has_results = serializers.DictField(child=serializers.IntegerField(min_value=0), help_text='Keys "true" and "false".')
    has_serious_ae = serializers.DictField(child=serializers.IntegerField(min_value=0), help_text='Keys "true" and "false".')


class StudyFacetsSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0, help_text="Studies matching all the filters.")
    facets = FacetsSerializer()


class ApiVersionSerializer(serializers.Serializer):
    api_version = serializers.CharField()
    document_format = serializers.CharField(help_text="The study document format, as export_studies writes it.")
    data_updated_at = serializers.DateTimeField(allow_null=True, help_text="When a public study last changed.")
    studies = serializers.IntegerField(min_value=0, help_text="Public studies.")


# --- Writes: the document as a request body ------------------------------------------------------------
# Documentation only. `study_save_document` reads the body and is the one validator (the admin's and
# import_studies' rules); these serializers describe the keys it accepts, taken from its own specs.


@extend_schema_field({"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$", "nullable": True, "example": "2018-06"})
class PartialDateInput(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, allow_blank=True, **kwargs)


def _slug(help_text: str, required: bool = True) -> serializers.CharField:
    return serializers.CharField(required=required, allow_null=not required, help_text=help_text)


def _spec_fields(key: str) -> list[str]:
    _model, fields, dates, lookups = CHILD_SPECS[key]
    return [*lookups, *fields, *dates]


class ConditionLinkInputSerializer(serializers.ModelSerializer):
    condition = _slug("Condition slug (see /api/v1/conditions/).")

    class Meta:
        model = m.StudyCondition
        fields = _spec_fields("conditions")


class MilestoneInputSerializer(serializers.ModelSerializer):
    date = PartialDateInput()

    class Meta:
        model = m.RegulatoryMilestone
        fields = _spec_fields("milestones")


class RegistryIdentifierInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = m.RegistryIdentifier
        fields = _spec_fields("registry_ids")


class PublicationInputSerializer(serializers.ModelSerializer):
    date = PartialDateInput()

    class Meta:
        model = m.Publication
        fields = _spec_fields("publications")


class SourceInputSerializer(serializers.ModelSerializer):
    document = _slug("Source document key.")

    class Meta:
        model = m.Source
        fields = _spec_fields("sources")


class InterventionInputSerializer(serializers.ModelSerializer):
    cell_type = _slug("Cell type slug (see /api/v1/cell-types/); cell products only.", required=False)

    class Meta:
        model = m.Intervention
        fields = _spec_fields("interventions")


class CohortInputSerializer(serializers.ModelSerializer):
    interventions = InterventionInputSerializer(many=True, required=False)

    class Meta:
        model = m.Cohort
        fields = [*_spec_fields("cohorts"), "interventions"]


class OutcomeInputSerializer(serializers.ModelSerializer):
    cohort = _slug("Label of one of this document's cohorts; null when pooled.", required=False)
    instrument = _slug("Instrument slug (see /api/v1/instruments/).")

    class Meta:
        model = m.OutcomeMeasure
        fields = ["cohort", *_spec_fields("outcomes")]


class AdverseEventInputSerializer(serializers.ModelSerializer):
    cohort = _slug("Label of one of this document's cohorts; null when not reported per cohort.", required=False)

    class Meta:
        model = m.AdverseEvent
        fields = ["cohort", *_spec_fields("adverse_events")]


class StudyDocumentInputSerializer(serializers.ModelSerializer):
    """A whole study document, as GET returns it. `accession`, `version`, `updated_at` and
    `registry_ids[].url` are the registry's and may be sent back unchanged; absent lists are empty."""

    start_date = PartialDateInput()
    completion_date = PartialDateInput()
    countries = serializers.ListField(
        child=serializers.CharField(help_text="ISO 3166-1 alpha-2 code."), required=False, help_text="ISO 3166-1 alpha-2 codes."
    )
    conditions = ConditionLinkInputSerializer(many=True, required=False)
    milestones = MilestoneInputSerializer(many=True, required=False)
    registry_ids = RegistryIdentifierInputSerializer(many=True, required=False)
    publications = PublicationInputSerializer(many=True, required=False)
    sources = SourceInputSerializer(many=True, required=False)
    cohorts = CohortInputSerializer(many=True, required=False)
    outcomes = OutcomeInputSerializer(many=True, required=False)
    adverse_events = AdverseEventInputSerializer(many=True, required=False)

    class Meta:
        model = m.Study
        fields = [*STUDY_FIELDS, *STUDY_DATES, *STUDY_CHILDREN]


class StudyVersionSerializer(serializers.ModelSerializer):
    """One published version of a study (a row of its version history)."""

    study = StudyAccessionField()
    url = serializers.SerializerMethodField(help_text="This version's frozen document.")

    class Meta:
        model = m.StudyVersion
        fields = ["study", "number", "published_at", "note", "url"]
        read_only_fields = fields

    def get_url(self, version: m.StudyVersion) -> str:
        path = reverse("api:study-version-detail", kwargs={"accession": version.study.accession, "number": version.number})
        return absolute_url(self.context.get("request"), path)


class StudyVersionDocumentSerializer(StudyVersionSerializer):
    document = serializers.JSONField(
        read_only=True,
        help_text="The study document as it was published (its format at that time; without version and updated_at).",
    )

    class Meta(StudyVersionSerializer.Meta):
        fields = [*StudyVersionSerializer.Meta.fields, "document"]
        read_only_fields = fields


# --- The review workflow -----------------------------------------------------------------------------
# Inputs are validated here (shape, blanks, characters no database can store); the rules about roles,
# states and blocking comments are the services', which the admin's buttons call too.


def _storable(value: str) -> None:
    # A lone UTF-16 surrogate is valid in a JSON string but has no UTF-8 form: refused, not a 500 on save.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise serializers.ValidationError("Unpaired surrogates are not allowed.") from None


class StudyStateSerializer(serializers.ModelSerializer):
    """Where a study stands in the review workflow: the answer of every workflow action."""

    revision_of = serializers.SlugRelatedField(
        slug_field="accession",
        read_only=True,
        allow_null=True,
        help_text="For a private revision copy: the public study that publishing it replaces.",
    )
    open_revision = serializers.SerializerMethodField(help_text="The accession of this study's open revision, if any.")
    open_blocking_comments = serializers.SerializerMethodField(
        help_text="Unresolved blocking review comments: publishing is refused while there are any."
    )
    url = serializers.SerializerMethodField(help_text="The study's document (visible to curators and reviewers until published).")

    class Meta:
        model = m.Study
        fields = [
            "accession", "curation_state", "version", "revision_of", "open_revision", "open_blocking_comments",
            "retraction_reason", "published_at", "updated_at", "url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_open_revision(self, study: m.Study) -> str | None:
        return study.revisions.values_list("accession", flat=True).first()

    def get_open_blocking_comments(self, study: m.Study) -> int:
        return study.review_comments.filter(blocking=True, resolved_at=None).count()

    def get_url(self, study: m.Study) -> str:
        return absolute_url(self.context.get("request"), reverse("api:study-detail", kwargs={"accession": study.accession}))


class ReviewCommentSerializer(serializers.ModelSerializer):
    """A reviewer's comment on a study; an unresolved blocking one stops publication."""

    study = StudyAccessionField()
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = m.ReviewComment
        fields = ["id", "study", "text", "blocking", "author", "created_at", "resolved_at", "resolved_by"]
        read_only_fields = fields


class ReviewCommentInputSerializer(serializers.Serializer):
    text = serializers.CharField(validators=[_storable], help_text="The comment, for the curator.")
    blocking = serializers.BooleanField(
        default=True, help_text="true: must be resolved before the study can be published; false: advisory."
    )


class PublishInputSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        validators=[_storable],
        help_text="What changed, shown in the version history.",
    )


class RetractInputSerializer(serializers.Serializer):
    reason = serializers.CharField(validators=[_storable], help_text="The public reason for the retraction (required).")
