"""The study document: one nested JSON shape for the API detail, `export_studies` and `import_studies`.

Reading goes through these serializers; writing goes through `trials.services.study_save_document`,
which takes exactly these keys and validates with the models' own rules (the admin's rules).
"""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trials import models as m
from trials.models import format_partial_date

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
        fields = ["title", "title_zh", "first_author", "journal", "date", "doi", "pmid", "pmcid", "citation", "url"]


class SourceDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = m.SourceDocument
        fields = ["key", "title", "language", "publisher", "url", "file_name", "published_on", "notes"]


class SourceSerializer(serializers.ModelSerializer):
    document = SlugOrNull(slug_field="key")

    class Meta:
        model = m.Source
        fields = ["document", "locator", "curator_note"]


class InterventionSerializer(serializers.ModelSerializer):
    cell_type = SlugOrNull(allow_null=True)

    class Meta:
        model = m.Intervention
        fields = [
            "kind",
            "name",
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
            "n_administrations",
            "schedule",
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
            "injury_level",
            "ais_grade",
            "time_since_onset",
            "description",
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
            "outcome_type",
            "timepoint",
            "timepoint_to",
            "timepoint_unit",
            "is_last_follow_up",
            "statistic",
            "baseline_value",
            "baseline_dispersion",
            "value",
            "change_value",
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
            "sponsor",
            "institutions",
            "countries",
            "curation_state",
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
        "milestones",
        "registry_ids",
        "publications",
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
