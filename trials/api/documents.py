"""The study document in the API: serializers built from the document's one definition (trials.documents).

Reading gives `trials.documents.study_document` itself; the serializers' fields exist so that the
OpenAPI schema describes each key. The input serializer is the document's write spec: it parses and
validates the whole document (`parse_document`) before the service runs, and its validated data is the
parsed document the service stores.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trials import choices as c
from trials import models as m
from trials.documents import PARTS, DocumentError, parse_document, study_document, without_private_contacts
from trials.documents.spec import STUDY_DATES, STUDY_KEYS, Part

PARTIAL_DATE_SCHEMA = {"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$", "nullable": True, "example": "2018-06"}
KEY_HELP = (
    "The row's stable identity within the study, kept across edits, revisions and exports. Send it back to "
    "change the row in place; leave it out for a new row (the registry assigns one)."
)


@extend_schema_field(PARTIAL_DATE_SCHEMA)
class PartialDateField(serializers.CharField):
    """A date at its precision, spelled as an ISO partial date: "2018", "2018-06" or "2018-06-03"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, allow_blank=True, **kwargs)


def _special_field(part_name: str, key: str, vocabularies: dict, dates: frozenset, computed: dict) -> serializers.Field | None:
    if key == "key":
        return serializers.CharField(required=False, help_text=KEY_HELP)
    if key in dates:
        return PartialDateField()
    if key in vocabularies:
        model, slug_field = vocabularies[key]
        return serializers.CharField(
            allow_null=True, required=key != "cell_type", help_text=f"The {model._meta.verbose_name}'s {slug_field}."
        )
    if key == "cohort":
        return serializers.CharField(
            allow_null=True, required=False, help_text="Label of one of this study's cohorts; null when pooled or not per cohort."
        )
    if key in computed:
        return serializers.CharField(read_only=True)
    return None


def _part_serializer(part: Part, *, name: str) -> type[serializers.ModelSerializer]:
    declared: dict[str, Any] = {}
    for child in part.children:
        declared[child.name] = _part_serializer(child, name=_component(child))(many=True, required=False)
    for key in part.keys:
        field = _special_field(part.name, key, dict(part.vocabularies), part.dates, dict(part.computed))
        if field is not None:
            declared[key] = field
    meta = type("Meta", (), {"model": part.model, "fields": list(part.keys), "ref_name": name})
    return type(name, (serializers.ModelSerializer,), {**declared, "Meta": meta, "__module__": __name__})


def _component(part: Part) -> str:
    return "".join(word.capitalize() for word in part.name.rstrip("s").split("_")) + "Document"


PART_SERIALIZERS = {part.name: _part_serializer(part, name=_component(part)) for part in PARTS}


class _StudyFields(serializers.ModelSerializer):
    accession = serializers.CharField(read_only=True, help_text="The study's stable accession, NCR-000123.")
    start_date = PartialDateField()
    completion_date = PartialDateField()
    countries = serializers.ListField(child=serializers.CharField(help_text="ISO 3166-1 alpha-2 code."), required=False)
    curation_state = serializers.CharField(
        required=False,
        help_text="Where the study stands in the review workflow. Read-only: the workflow's endpoints change it "
        "(a document may repeat it unchanged).",
    )
    retraction_reason = serializers.CharField(required=False, help_text="Read-only: set by the retract endpoint.")

    class Meta:
        model = m.Study
        fields = list(STUDY_KEYS)


def _with_parts(base: Any, name: str, extra: dict) -> Any:
    declared = {part.name: PART_SERIALIZERS[part.name](many=True, required=False) for part in PARTS}
    meta = type("Meta", (base.Meta,), {"fields": [*STUDY_KEYS, *(p.name for p in PARTS), *extra], "ref_name": name})
    return type(name, (base,), {**declared, **extra, "Meta": meta, "__module__": __name__})


_DocumentBase = _with_parts(
    _StudyFields,
    "StudyDocumentBase",
    {
        "version": serializers.IntegerField(
            read_only=True, allow_null=True, help_text="The latest published version's number (null before the first)."
        ),
        "updated_at": serializers.DateTimeField(read_only=True),
    },
)


class StudyDocumentSerializer(_DocumentBase):  # type: ignore[misc, valid-type]
    """The whole study with its rows, as exported, imported and served at /api/v1/studies/<accession>/."""

    class Meta(_DocumentBase.Meta):  # type: ignore[name-defined]
        ref_name = "StudyDocument"
        read_only_fields = [*STUDY_KEYS, *(p.name for p in PARTS), "version", "updated_at"]

    def to_representation(self, instance: m.Study) -> dict[str, Any]:
        document = study_document(instance)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        # Contact details of people: on a published study's own document, and to those who curate it (a
        # document fetched to be edited and sent back must keep them); in bulk (`expand=children`) only
        # the contacts a public registry published.
        if isinstance(self.parent, serializers.ListSerializer):
            return without_private_contacts(document)
        if instance.curation_state == c.CurationState.PUBLISHED:
            return document
        curator = user is not None and user.has_perm("trials.change_study")
        return document if curator else without_private_contacts(document)


_InputBase = _with_parts(_StudyFields, "StudyDocumentInputBase", {})


class StudyDocumentInputSerializer(_InputBase):  # type: ignore[misc, valid-type]
    """A whole study document, as GET returns it. `accession`, `version`, `updated_at` and computed keys are the
    registry's and may be sent back unchanged; absent lists are empty. Validated whole, by the same rules as the
    admin and the importer; the validated data is the parsed document."""

    class Meta(_InputBase.Meta):  # type: ignore[name-defined]
        ref_name = "StudyDocumentInput"

    def to_internal_value(self, data: Any) -> Any:
        try:
            return parse_document(data, study=self.context.get("study"), workflow_url=self.context.get("workflow_url", ""))
        except DocumentError as error:
            raise serializers.ValidationError(error.errors) from None


__all__ = ["STUDY_DATES", "PART_SERIALIZERS", "PartialDateField", "StudyDocumentInputSerializer", "StudyDocumentSerializer"]
