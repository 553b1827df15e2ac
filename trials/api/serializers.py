"""The API's own shapes: study summaries, vocabularies, result and harm rows, facets, versions and the
workflow's inputs and answers. (The study document's serializers are in trials.api.documents.)"""

from collections.abc import Iterator
from itertools import islice

from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trials import choices as c
from trials import models as m
from trials.documents import PARTS_BY_NAME, public_version_subquery, row_document, without_private_contacts
from trials.models import format_partial_date

from .documents import PART_SERIALIZERS


class SlugOrNull(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("slug_field", "slug")
        super().__init__(**kwargs)


@extend_schema_field({"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$", "nullable": True, "example": "2018-06"})
class PartialDateReadField(serializers.Field):
    """A stored date at its precision, spelled "2018", "2018-06" or "2018-06-03" (as in the document)."""

    def __init__(self, date_attr: str, **kwargs):
        self.date_attr = date_attr
        kwargs.setdefault("source", "*")
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, instance) -> str | None:
        value = format_partial_date(getattr(instance, self.date_attr), getattr(instance, f"{self.date_attr}_precision"))
        return value or None


def _unique(values) -> list:
    return list(dict.fromkeys(value for value in values if value not in (None, "")))


def _enum_list(choices) -> dict:
    return {"type": "array", "items": {"type": "string", "enum": [value for value, _label in choices]}}


STRING_LIST = {"type": "array", "items": {"type": "string"}}


def absolute_url(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def summary_queryset(queryset):
    """A study list row's query shape: two flags as subqueries and six prefetches, whatever the page size."""
    cell_products = m.Intervention.objects.filter(kind=c.InterventionKind.CELL_PRODUCT).select_related("cell_type").order_by("pk")
    return (
        queryset.with_flags()
        .with_trust()
        .annotate(version=public_version_subquery())
        .prefetch_related(
            Prefetch("study_conditions", queryset=m.StudyCondition.objects.select_related("condition").order_by("pk")),
            Prefetch("countries", queryset=m.StudyCountry.objects.order_by("pk")),
            Prefetch("study_organisations", queryset=m.StudyOrganisation.objects.select_related("organisation").order_by("pk")),
            Prefetch("sites", queryset=m.Site.objects.only("pk", "study_id", "city").order_by("pk")),
            Prefetch(
                "cohorts",
                queryset=m.Cohort.objects.only("pk", "study_id")
                .order_by("pk")
                .prefetch_related(Prefetch("interventions", queryset=cell_products, to_attr="cell_products")),
                to_attr="summary_cohorts",
            ),
        )
    )


class StudySummarySerializer(serializers.ModelSerializer):
    """One item of /api/v1/studies/ (and one CSV row): what integrators filter, sort and link on.

    `cell_types`, `source_tissues`, `donors` and `routes` describe the study's cell products, as the
    filters of the same names do; `url` is the whole document.
    """

    start_date = PartialDateReadField("start_date")
    completion_date = PartialDateReadField("completion_date")
    version = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The latest published version's number (the one citations name)."
    )
    conditions = serializers.SerializerMethodField(help_text="Condition slugs (see /api/v1/conditions/).")
    cell_types = serializers.SerializerMethodField(help_text="Cell type slugs of the cell products (see /api/v1/cell-types/).")
    source_tissues = serializers.SerializerMethodField()
    donors = serializers.SerializerMethodField()
    routes = serializers.SerializerMethodField()
    countries = serializers.SerializerMethodField(help_text="ISO 3166-1 alpha-2 codes.")
    organisations = serializers.SerializerMethodField(
        help_text="Slugs of the sponsor and collaborators, lead sponsor first (see /api/v1/organisations/)."
    )
    cities = serializers.SerializerMethodField(help_text="Cities of the study's sites.")
    has_results = serializers.BooleanField(
        read_only=True, help_text="At least one outcome reports a result: a number, a p-value or a finding in words."
    )
    has_serious_ae = serializers.BooleanField(read_only=True, help_text="At least one serious adverse event was reported.")
    url = serializers.SerializerMethodField(help_text="The whole study document.")
    trust = serializers.SerializerMethodField(
        help_text='Each trust signal ("yes", "no" or "unknown"): registered, prospective, authorised, patient_pays, '
        "peer_reviewed, results_posted, stale. The study page and its document give the evidence."
    )

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
            "min_age",
            "min_age_unit",
            "max_age",
            "max_age_unit",
            "eligible_sex",
            "healthy_volunteers",
            "organisations",
            "cities",
            "has_results",
            "has_serious_ae",
            "trust",
            "version",
            "updated_at",
            "url",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {"type": "object", "properties": {flag: {"type": "string", "enum": c.TriState.values} for flag in c.TrustFlag.values}}
    )
    def get_trust(self, study: m.Study) -> dict[str, str]:
        return {flag: getattr(study, f"trust_{flag}") for flag in c.TrustFlag.values}

    def get_url(self, study: m.Study) -> str:
        # Not HyperlinkedIdentityField: DRF's reverse() carries `format=csv` over, and the link must be
        # the same in JSON and CSV.
        return absolute_url(self.context.get("request"), reverse("api:study-detail", kwargs={"accession": study.accession}))

    @staticmethod
    def _cell_products(study: m.Study) -> list[m.Intervention]:
        cohorts = study.summary_cohorts  # type: ignore[attr-defined]  # prefetched (to_attr)
        return [product for cohort in cohorts for product in cohort.cell_products]

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

    @extend_schema_field(STRING_LIST)
    def get_organisations(self, study: m.Study) -> list[str]:
        return lead_first((link.role, link.organisation.slug) for link in study.study_organisations.all())

    @extend_schema_field(STRING_LIST)
    def get_cities(self, study: m.Study) -> list[str]:
        return _unique(site.city for site in study.sites.all() if site.city)


def lead_first(links) -> list[str]:
    """Organisation slugs from (role, slug) pairs in curation order, the lead sponsor first."""
    pairs = list(links)
    return [slug for role, slug in pairs if role == c.OrganisationRole.LEAD_SPONSOR] + [
        slug for role, slug in pairs if role != c.OrganisationRole.LEAD_SPONSOR
    ]


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
    # The trust signals are the queryset's annotations (StudyQuerySet.with_trust), read as columns.
    flags = [f"trust_{flag}" for flag in c.TrustFlag.values]
    rows = queryset.prefetch_related(None).values_list("pk", *columns, *flags, *dates).iterator(chunk_size=chunk_size)
    while chunk := list(islice(rows, chunk_size)):
        ids = [row[0] for row in chunk]
        conditions = _grouped_rows(
            m.StudyCondition.objects.filter(study_id__in=ids).order_by("pk").values_list("study_id", "condition__slug")
        )
        countries = _grouped_rows(
            m.StudyCountry.objects.filter(study_id__in=ids).order_by("pk").values_list("study_id", "country")
        )
        organisations = _grouped_rows(
            m.StudyOrganisation.objects.filter(study_id__in=ids)
            .order_by("pk")
            .values_list("study_id", "role", "organisation__slug")
        )
        cities = _grouped_rows(
            m.Site.objects.filter(study_id__in=ids).exclude(city="").order_by("pk").values_list("study_id", "city")
        )
        products = _grouped_rows(
            m.Intervention.objects.filter(kind=c.InterventionKind.CELL_PRODUCT, cohort__study_id__in=ids)
            .order_by("cohort_id", "pk")
            .values_list("cohort__study_id", "cell_type__slug", "source_tissue", "donor", "route")
        )
        for row in chunk:
            pk, values, (start, start_precision, end, end_precision) = row[0], row[1 : len(columns) + 1], row[-4:]
            trust = dict(zip(c.TrustFlag.values, row[len(columns) + 1 : len(columns) + 1 + len(flags)], strict=True))
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
                trust=trust,
                organisations=lead_first(organisations.get(pk, [])),
                cities=_unique(city for (city,) in cities.get(pk, [])),
                start_date=format_partial_date(start, start_precision) or None,
                completion_date=format_partial_date(end, end_precision) or None,
                url=f"{head}{item['accession']}{tail}",
            )
            yield {name: item[name] for name in StudySummarySerializer.Meta.fields}


_DERIVED = (serializers.SerializerMethodField, PartialDateReadField)


def _grouped_rows(rows) -> dict[int, list[tuple]]:
    grouped: dict[int, list[tuple]] = {}
    for study_id, *rest in rows:
        grouped.setdefault(study_id, []).append(tuple(rest))
    return grouped


class ConditionSerializer(serializers.ModelSerializer):
    parent = SlugOrNull(allow_null=True, help_text="The broader condition's slug; filtering by it includes this one.")  # type: ignore[assignment]

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


class OrganisationSerializer(serializers.ModelSerializer):
    country = serializers.CharField(
        source="country.code", allow_blank=True, help_text="ISO 3166-1 alpha-2 code; blank if unknown."
    )

    class Meta:
        model = m.Organisation
        fields = ["slug", "name", "name_zh", "kind", "country"]
        read_only_fields = fields


class StudyAccessionField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="accession", read_only=True, help_text="The study's accession.", **kwargs)


def _row_serializer(part_name: str, doc: str) -> type[serializers.ModelSerializer]:
    """A document row with its study's accession in front: exactly the document's row, one per item."""
    base = PART_SERIALIZERS[part_name]
    part = PARTS_BY_NAME[part_name]

    def to_representation(self, row) -> dict:
        return {"study": row.study.accession, **row_document(part, row)}

    name = f"{base.__name__.removesuffix('Document')}Row"
    fields = ["study", *base.Meta.fields]
    meta = type("Meta", (base.Meta,), {"fields": fields, "read_only_fields": fields, "ref_name": name})
    return type(
        name, (base,), {"__doc__": doc, "study": StudyAccessionField(), "Meta": meta, "to_representation": to_representation}
    )


OutcomeRowSerializer = _row_serializer(
    "outcomes", "An outcome of the document's `outcomes`, with its study: one row of /api/v1/outcomes/."
)
AdverseEventRowSerializer = _row_serializer(
    "adverse_events", "An adverse event of the document's `adverse_events`, with its study: one row of /api/v1/adverse-events/."
)


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


class StudyVersionSerializer(serializers.ModelSerializer):
    """One published version of a study (a row of its version history)."""

    study = StudyAccessionField()
    published_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="The reviewer who published it."
    )
    url = serializers.SerializerMethodField(help_text="This version's frozen document.")

    class Meta:
        model = m.StudyVersion
        fields = ["study", "number", "published_at", "published_by", "note", "url"]
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

    def to_representation(self, instance: m.StudyVersion) -> dict:
        data = super().to_representation(instance)
        # Contacts of people: a published study's versions only (a retracted one keeps its sites).
        if instance.study.curation_state != c.CurationState.PUBLISHED:
            data["document"] = without_private_contacts(data["document"])
        return data


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The document key.")
    label = serializers.CharField(help_text="The key in words, in English.")  # type: ignore[assignment]
    old = serializers.JSONField(allow_null=True, help_text="The value in the earlier version.")
    new = serializers.JSONField(allow_null=True, help_text="The value in the later version.")
    old_text = serializers.CharField(help_text="The earlier value in words.")
    new_text = serializers.CharField(help_text="The later value in words.")
    label_zh = serializers.CharField()
    old_text_zh = serializers.CharField()
    new_text_zh = serializers.CharField()

    def to_representation(self, instance):
        return instance  # already the document's JSON (trials.documents.diff.RowChange.as_json)


class RowChangeSerializer(serializers.Serializer):
    section = serializers.CharField(help_text='"study" or the document list the row is in ("outcomes" ...).')
    section_label = serializers.CharField()
    change = serializers.ChoiceField(choices=["added", "removed", "changed"])
    key = serializers.CharField(allow_null=True, help_text="The row's stable key (null for the study's own fields).")
    label = serializers.CharField(help_text="The row in words, e.g. “ALSFRS-R at 6 months · UC-MSC”.")  # type: ignore[assignment]
    section_label_zh = serializers.CharField()
    label_zh = serializers.CharField(help_text="The row in Chinese words.")
    fields = FieldChangeSerializer(many=True, help_text="For changed rows: each changed key.")  # type: ignore[assignment]

    def to_representation(self, instance):
        return instance


class VersionComparisonSerializer(serializers.Serializer):
    """What changed from one published version to another, row by row and in words."""

    study = serializers.CharField()
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    note = serializers.CharField(help_text="The reviewer's note on the later version: what changed, in their words.")
    published_at = serializers.DateTimeField()
    changes = RowChangeSerializer(many=True)


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

    is_revision = serializers.SerializerMethodField(
        help_text="A private revision copy of the published study with this accession, at .../revision/."
    )
    version = serializers.SerializerMethodField(help_text="The latest published version's number (null before the first).")
    open_revision = serializers.SerializerMethodField(
        help_text="The URL of this study's open revision, if it has one (review steps then act on the revision)."
    )
    open_blocking_comments = serializers.SerializerMethodField(
        help_text="Unresolved blocking review comments: publishing is refused while there are any."
    )
    url = serializers.SerializerMethodField(help_text="The document (drafts and revisions: for curators and reviewers only).")

    class Meta:
        model = m.Study
        fields = [
            "accession", "curation_state", "is_revision", "version", "open_revision", "open_blocking_comments",
            "retraction_reason", "published_at", "updated_at", "url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_is_revision(self, study: m.Study) -> bool:
        return study.revision_of_id is not None

    def get_version(self, study: m.Study) -> int | None:
        original = study.revision_of or study
        return original.versions.order_by("-number").values_list("number", flat=True).first()

    def get_open_revision(self, study: m.Study) -> str | None:
        if study.revision_of_id is not None or not study.revisions.exists():
            return None
        return absolute_url(
            self.context.get("request"), reverse("api:study-workflow-revision", kwargs={"accession": study.accession})
        )

    def get_open_blocking_comments(self, study: m.Study) -> int:
        return study.review_comments.filter(blocking=True, resolved_at=None).count()

    def get_url(self, study: m.Study) -> str:
        route = "api:study-workflow-revision" if study.revision_of_id else "api:study-detail"
        return absolute_url(self.context.get("request"), reverse(route, kwargs={"accession": study.accession}))


class ReviewCommentSerializer(serializers.ModelSerializer):
    """A reviewer's comment on a study; an unresolved blocking one stops publication."""

    study = StudyAccessionField()
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

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
        help_text="What changed, shown in the version history. Required, except for a first publication.",
    )


class RetractInputSerializer(serializers.Serializer):
    reason = serializers.CharField(validators=[_storable], help_text="The public reason for the retraction (required).")
