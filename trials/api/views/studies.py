"""Studies in the API: search (the search page's filters), facets, whole documents, writes through the
study services, and each study's published versions with what changed between two of them."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.http import Http404, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, DjangoModelPermissionsOrAnonReadOnly
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response

from trials import models as m
from trials.documents import SERVER_OWNED, document_changes_json, document_queryset, load_document
from trials.filters import StudyFilterSet
from trials.services.studies import StudyNotEditable, StudyProtected, study_create, study_delete, study_update

from .. import schema as openapi
from ..csv import CSVRenderer
from ..documents import StudyDocumentInputSerializer, StudyDocumentSerializer
from ..errors import Conflict
from ..etag import check_write_preconditions, none_match_hits, study_etag
from ..filters import StudyFilterBackend, check_booleans
from ..parsers import BoundedJSONParser
from ..serializers import (
    StudyFacetsSerializer,
    StudySummarySerializer,
    StudyVersionDocumentSerializer,
    StudyVersionSerializer,
    VersionComparisonSerializer,
    summary_queryset,
    summary_rows,
)
from .base import ACCESSION_REGEX, ApiMixin, RegistryListMixin, readable_studies


def request_document(request) -> dict:
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send the study document as a JSON object."]})
    return request.data


def workflow_endpoints(study: m.Study) -> str:
    detail = reverse("api:study-detail", kwargs={"accession": study.accession})
    return f"POST {detail}submit/, request-changes/, publish/ or retract/"


def document_response(view, study: m.Study, status_code: int = status.HTTP_200_OK, headers: dict | None = None) -> Response:
    study = document_queryset(m.Study.objects.filter(pk=study.pk)).get()
    data = StudyDocumentSerializer(study, context=view.get_serializer_context()).data
    return Response(data, status=status_code, headers={"ETag": study_etag(study), **(headers or {})})


def save_document(view, study: m.Study, *, partial: bool) -> Response:
    """PUT / PATCH of a study or of its revision: If-Match, the merge of a PATCH, validation, the service."""
    request = view.request
    check_write_preconditions(request, study_etag(study))
    sent = request_document(request)
    if study.is_public:
        revision = reverse("api:study-workflow-revision", kwargs={"accession": study.accession})
        raise Conflict(
            f"{study.accession} is {study.get_curation_state_display().lower()}: a published study changes through a "
            f"revision (POST {revision}, then PUT or PATCH it there), reviewed before it replaces the public record.",
            code="published",
        )
    document = {**{k: v for k, v in load_document(study).items() if k not in SERVER_OWNED}, **sent} if partial else sent
    serializer = StudyDocumentInputSerializer(data=document, context={"study": study, "workflow_url": workflow_endpoints(study)})
    serializer.is_valid(raise_exception=True)
    try:
        study, _changed = study_update(study=study, document=serializer.validated_data, by=request.user)
    except StudyNotEditable as error:
        raise Conflict(str(error), code="published") from None
    return document_response(view, study)


@extend_schema_view(
    list=extend_schema(
        summary="Search studies",
        description="The public search page's filters and parameter names. Items are summaries; "
        "`expand=children` returns whole study documents.",
        parameters=[
            *openapi.filter_parameters(StudyFilterSet),
            openapi.EXPAND_PARAMETER,
            *openapi.list_parameters(StudySummarySerializer, " With expand=children: the document's keys."),
            openapi.CONDITIONAL_READ,
        ],
        responses={200: StudySummarySerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="A whole study document",
        description="The format `manage.py export_studies` writes and `import_studies` reads.",
        parameters=[openapi.CONDITIONAL_READ],
    ),
    create=extend_schema(
        summary="Create a draft from a whole document",
        description="Validated whole, by the same rules as the admin and import_studies, and saved atomically. The "
        "registry assigns the accession; the study is a draft (the workflow's endpoints move it on).",
        request=StudyDocumentInputSerializer,
        responses={201: StudyDocumentSerializer, 400: openapi.ErrorSerializer},
    ),
    update=extend_schema(
        summary="Replace a draft's whole document",
        description="Absent keys take their defaults and absent lists are emptied. Rows are matched by their `key`: "
        "a row sent back with its key is updated in place, one without a key is added. A published study changes "
        "through its revision (409 `published`).",
        request=StudyDocumentInputSerializer,
        parameters=[openapi.CONDITIONAL_WRITE],
    ),
    partial_update=extend_schema(
        summary="Change some top-level keys of a draft",
        description="The sent keys replace the stored document's keys (a list is replaced whole), then the whole "
        "document is saved as with PUT.",
        request=StudyDocumentInputSerializer,
        parameters=[openapi.CONDITIONAL_WRITE],
    ),
    destroy=extend_schema(
        summary="Delete a draft",
        description="Refused with 409 for a study in review, published or retracted, or ever published.",
        parameters=[openapi.CONDITIONAL_WRITE],
    ),
)
class StudyViewSet(ApiMixin, RegistryListMixin, viewsets.ModelViewSet):
    lookup_field = "accession"
    lookup_value_regex = ACCESSION_REGEX
    queryset = m.Study.objects.records()  # the model DjangoModelPermissions checks; each action narrows it
    serializer_class = StudyDocumentSerializer
    permission_classes = [DjangoModelPermissionsOrAnonReadOnly]
    filter_backends = [StudyFilterBackend]
    filterset_class = StudyFilterSet
    parser_classes = [BoundedJSONParser]
    csv_name = "studies"

    def get_renderers(self):
        renderers = [JSONRenderer(), BrowsableAPIRenderer()]
        return [*renderers, CSVRenderer()] if self.action == "list" else renderers

    def expanded(self) -> bool:
        value = self.request.query_params.get("expand", "")
        if value not in ("", "children"):
            raise exceptions.ValidationError({"expand": ['The only expansion is "children" (whole study documents).']})
        if value and isinstance(self.request.accepted_renderer, CSVRenderer):
            message = (
                "CSV has one row per study; results and harms have their own lists: /api/v1/outcomes/, /api/v1/adverse-events/."
            )
            raise exceptions.ValidationError({"expand": [message]})
        return value == "children"

    def get_serializer_class(self):
        if self.action == "list" and not self.expanded():
            return StudySummarySerializer
        if self.action == "facets":
            return StudyFacetsSerializer
        return StudyDocumentSerializer

    def get_queryset(self):
        if self.action == "list":
            public = m.Study.objects.public()
            return document_queryset(public) if self.expanded() else summary_queryset(public)
        if self.action == "retrieve":
            return document_queryset(readable_studies(self.request.user))
        return m.Study.objects.records()

    def csv_rows(self, queryset: QuerySet, serializer_class) -> Iterator[dict]:
        # A whole registry's CSV: rows built from tuples, not a serializer run per study (bench/README.md).
        return summary_rows(queryset, context=self.get_serializer_context())

    def csv_fingerprint(self, queryset: QuerySet) -> tuple:
        stats = queryset.order_by().aggregate(n=Count("pk"), latest=Max("updated_at"))
        return stats["n"], stats["latest"]

    # --- reads -----------------------------------------------------------------------------------

    def retrieve(self, request, *args, **kwargs):
        study = self.get_object()
        if not isinstance(request.accepted_renderer, JSONRenderer):
            return Response(self.get_serializer(study).data)  # another representation, tagged by its own body
        etag = study_etag(study)
        response: HttpResponseNotModified | Response
        if none_match_hits(request, etag):
            response = HttpResponseNotModified()
            response["ETag"] = etag
        else:
            response = Response(self.get_serializer(study).data, headers={"ETag": etag})
        patch_vary_headers(response, ["Authorization"])  # drafts are visible to curators only
        return response

    @extend_schema(
        summary="Facet counts",
        description="For each facet, the number of matching studies per value, counting each facet under every "
        "*other* active filter (as the search page's sidebar does).",
        parameters=[*openapi.filter_parameters(StudyFilterSet), openapi.CONDITIONAL_READ],
        responses={200: StudyFacetsSerializer},
    )
    @action(detail=False, methods=["get"], url_path="facets", filter_backends=[], pagination_class=None)
    def facets(self, request):
        check_booleans(request, StudyFilterSet)
        filterset = StudyFilterSet(data=request.query_params, queryset=m.Study.objects.public(), request=request)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        return Response({"count": filterset.qs.order_by().count(), "facets": filterset.facet_counts()})

    # --- writes ----------------------------------------------------------------------------------

    def create(self, request, *args, **kwargs):
        serializer = StudyDocumentInputSerializer(data=request_document(request), context={"study": None})
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            study = study_create(document=serializer.validated_data, by=request.user)
        location = reverse("api:study-detail", kwargs={"accession": study.accession})
        return document_response(self, study, status.HTTP_201_CREATED, {"Location": request.build_absolute_uri(location)})

    def update(self, request, *args, **kwargs):
        with transaction.atomic():
            return save_document(self, self.locked_study(), partial=kwargs.pop("partial", False))

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            study = self.locked_study()
            check_write_preconditions(request, study_etag(study))
            try:
                study_delete(study=study, by=request.user)
            except StudyProtected as error:
                raise Conflict(str(error)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    def locked_study(self) -> m.Study:
        # Held until the write commits, so If-Match compares against the edit the save replaces.
        return get_object_or_404(m.Study.objects.records().select_for_update(), accession=self.kwargs["accession"])


@extend_schema_view(
    list=extend_schema(
        summary="A study's published versions",
        description="Every version the registry published, oldest first; each is frozen as its whole document.",
        parameters=[*openapi.list_parameters(StudyVersionSerializer), openapi.CONDITIONAL_READ],
    ),
    retrieve=extend_schema(summary="One published version, as its document", parameters=[openapi.CONDITIONAL_READ]),
)
class StudyVersionViewSet(ApiMixin, RegistryListMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    lookup_field = "number"
    lookup_value_regex = r"[0-9]+"
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]
    filter_backends: list = []
    csv_name = "versions"

    def get_renderers(self):
        renderers = super().get_renderers()
        return renderers if self.action == "list" else [r for r in renderers if not isinstance(r, CSVRenderer)]

    def get_serializer_class(self):
        if self.action == "compare":
            return VersionComparisonSerializer
        return StudyVersionDocumentSerializer if self.action == "retrieve" else StudyVersionSerializer

    def get_queryset(self):
        study = get_object_or_404(readable_studies(self.request.user), accession=self.kwargs["accession"])
        versions = m.StudyVersion.objects.filter(study=study).select_related("study", "published_by").order_by("number")
        return versions.defer("document") if self.action == "list" else versions

    def csv_fingerprint(self, queryset: QuerySet) -> tuple:
        return tuple(queryset.values_list("pk", "number"))

    @extend_schema(
        summary="What changed between two published versions",
        description="Rows are compared by their stable keys, so reordering is no change and one changed number is one "
        "change. Each change is labelled in words in English (`label`, `old_text` ...) and Chinese (`label_zh` ...).",
        parameters=[openapi.CONDITIONAL_READ],
        responses={200: VersionComparisonSerializer, 404: OpenApiResponse(openapi.ErrorSerializer)},
    )
    @action(detail=True, methods=["get"], url_path=r"compare/(?P<other>[0-9]+)")
    def compare(self, request, accession, number, other):
        versions = {v.number: v for v in self.get_queryset().filter(number__in=[number, other])}
        if int(number) not in versions or int(other) not in versions:
            raise Http404
        old, new = versions[int(number)], versions[int(other)]
        payload = {
            "study": accession,
            "from_version": old.number,
            "to_version": new.number,
            "note": new.note,
            "published_at": new.published_at,
            "changes": document_changes_json(old.document, new.document),
        }
        return Response(VersionComparisonSerializer(payload).data)
