"""REST API v1: thin views over the shared FilterSet, the document serializers and the write service.

Reads are public (published and retracted studies only) and throttled per address; writes need a
token or a session and the curator roles' model permissions. Every list pages with a total count,
selects keys with `fields=` and streams every page as CSV with `format=csv`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.http import HttpResponseNotModified
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, DjangoModelPermissionsOrAnonReadOnly, IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from trials import choices as c
from trials import models as m
from trials import services
from trials.filters import StudyFilterSet
from trials.services import StudyProtected, study_delete, study_save_document

from . import schema as openapi
from .csv import CSVRenderer, serialized_rows, stream_csv
from .errors import Conflict
from .etag import ConditionalGetMixin, check_write_preconditions, content_etag, none_match_hits, study_etag
from .filters import AdverseEventFilterSet, OutcomeFilterSet, StudyFilterBackend, StudyRowFilterBackend, check_booleans
from .pagination import RegistryPagination
from .serializers import (
    DOCUMENT_FORMAT,
    SERVER_OWNED_KEYS,
    AdverseEventRowSerializer,
    ApiVersionSerializer,
    CellTypeSerializer,
    ConditionSerializer,
    InstrumentSerializer,
    OutcomeRowSerializer,
    PublishInputSerializer,
    RetractInputSerializer,
    ReviewCommentInputSerializer,
    ReviewCommentSerializer,
    StudyDocumentInputSerializer,
    StudyDocumentSerializer,
    StudyFacetsSerializer,
    StudyStateSerializer,
    StudySummarySerializer,
    StudyVersionDocumentSerializer,
    StudyVersionSerializer,
    document_queryset,
    summary_queryset,
    summary_rows,
)

# Curated accessions, and the generated benchmark studies' (`generate_synthetic`, NCR-S0000001).
ACCESSION_REGEX = r"NCR-(?:\d{6}|S\d{7})"
PUBLIC_STATES = {c.CurationState.PUBLISHED, c.CurationState.RETRACTED}
# The workflow log's action for a state an API write moves a study to.
STATE_ACTIONS = {
    c.CurationState.DRAFT: "returned_to_draft",
    c.CurationState.IN_REVIEW: "submitted",
    c.CurationState.PUBLISHED: "published",
    c.CurationState.RETRACTED: "retracted",
}


def api_version() -> str:
    return settings.SPECTACULAR_SETTINGS["VERSION"]


def readable_studies(user) -> QuerySet:
    """Public studies for everyone; drafts and studies in review too for those who may view them."""
    return m.Study.objects.all() if user.has_perm("trials.view_study") else m.Study.objects.public()


def _encodable(text: str) -> bool:
    """A lone UTF-16 surrogate (valid in JSON's \\u escapes) has no UTF-8 form: no database can store it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def null_character_paths(value, path: str = "") -> list[str]:
    if isinstance(value, str):
        return [path or "non_field_errors"] if "\x00" in value or not _encodable(value) else []
    if isinstance(value, dict):
        return [
            found for key, item in value.items() for found in null_character_paths(item, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in null_character_paths(item, f"{path}[{index}]")]
    return []


class Negotiation(DefaultContentNegotiation):
    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            available = ", ".join(renderer.format for renderer in renderers)
            raise exceptions.NotAcceptable(f"format={format} is not available here; choose from {available}.")
        return matching


class ApiMixin(ConditionalGetMixin):
    content_negotiation_class = Negotiation
    schema = openapi.RegistryAutoSchema()

    def handle_exception(self, exc):
        # Errors are JSON whatever format was asked for: a CSV "error table" would be read as data.
        if isinstance(getattr(self.request, "accepted_renderer", None), CSVRenderer):
            self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().handle_exception(exc)


def selected_fields(request, available: list[str]) -> list[str]:
    # An empty `fields=` is "not given", as forms send it; an empty name inside a list is a mistake.
    names = [name.strip() for value in request.query_params.getlist("fields") if value for name in value.split(",")]
    if not names:
        return available
    unknown = [repr(name) for name in names if name not in available]
    if unknown:
        raise exceptions.ValidationError(
            {"fields": [f"Unknown field(s): {', '.join(unknown)}. Choose from: {', '.join(available)}."]}
        )
    return [name for name in available if name in names]


class RegistryListMixin:
    """`list` for every API list: a page of JSON, or with `format=csv` every matching row, streamed."""

    pagination_class = RegistryPagination
    csv_name = "rows"

    def list(self, request, *args, **kwargs):
        serializer_class = self.get_serializer_class()
        columns = selected_fields(request, list(serializer_class.Meta.fields))
        queryset = self.filter_queryset(self.get_queryset())
        if isinstance(request.accepted_renderer, CSVRenderer):
            self.paginator.check_parameters(request)
            return self.csv_response(queryset, serializer_class, columns)
        page = self.paginate_queryset(queryset)
        data = self.get_serializer(page, many=True).data
        if len(columns) < len(serializer_class.Meta.fields):
            data = [{name: item[name] for name in columns} for item in data]
        return self.get_paginated_response(data)

    def csv_response(self, queryset: QuerySet, serializer_class, columns: list[str]):
        response = stream_csv(columns=columns, rows=self.csv_rows(queryset, serializer_class), filename=f"{self.csv_name}.csv")
        # The body is not known before it is streamed: tag what determines it instead.
        query = sorted(
            (key, value)
            for key, values in self.request.query_params.lists()
            if key not in ("page", "page_size")
            for value in values
        )
        response["ETag"] = content_etag(api_version(), self.request.path, query, *self.csv_fingerprint(queryset))
        return response

    def csv_rows(self, queryset: QuerySet, serializer_class) -> Iterator[dict]:
        """Every row's JSON item, serialized a chunk at a time."""
        context = self.get_serializer_context()

        def serialize(chunk: list) -> list[dict]:
            return serializer_class(chunk, many=True, context=context).data

        return serialized_rows(queryset, serialize)

    def csv_fingerprint(self, queryset: QuerySet) -> tuple:
        """What the CSV depends on besides the query. Vocabularies are small: their rows themselves."""
        return tuple(queryset.values_list())


class StudyRowsFingerprintMixin:
    def csv_fingerprint(self, queryset: QuerySet) -> tuple:
        # Every change to a study's children bumps the study's updated_at.
        stats = queryset.order_by().aggregate(n=Count("pk"), latest=Max("study__updated_at"))
        return stats["n"], stats["latest"]


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
        summary="Create a study from a whole document",
        description="Saved atomically by the same validation the admin and import_studies use. The registry assigns "
        "the accession. Without `trials.publish_study` the study must be a draft or in review (else 403).",
        request=StudyDocumentInputSerializer,
        responses={201: StudyDocumentSerializer, 400: openapi.ErrorSerializer},
    ),
    update=extend_schema(
        summary="Replace a study's whole document",
        description="Absent keys take their defaults and absent lists are emptied, children included.",
        request=StudyDocumentInputSerializer,
        parameters=[openapi.CONDITIONAL_WRITE],
    ),
    partial_update=extend_schema(
        summary="Change some top-level keys of a study",
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
    queryset = m.Study.objects.all()  # the model DjangoModelPermissions checks; each action narrows it
    serializer_class = StudyDocumentSerializer
    permission_classes = [DjangoModelPermissionsOrAnonReadOnly]
    filter_backends = [StudyFilterBackend]
    filterset_class = StudyFilterSet
    parser_classes = [JSONParser]
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
        return m.Study.objects.all()

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
        document = self.request_document()
        if document.get("accession"):
            raise exceptions.ValidationError(
                {"accession": ["The registry assigns accessions: leave it out (to change a study, PUT to its URL)."]}
            )
        with transaction.atomic():
            new_state = self.check_state_change(None, document)
            study, _changed = study_save_document(document=document, by=request.user)
            self.log_transition(study, c.CurationState.DRAFT, new_state)
        location = reverse("api:study-detail", kwargs={"accession": study.accession})
        return self.document_response(study, status.HTTP_201_CREATED, {"Location": request.build_absolute_uri(location)})

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            study = self.locked_study()
            check_write_preconditions(request, study_etag(study))
            sent = self.request_document()
            if sent.get("accession") not in (None, "", study.accession):
                raise exceptions.ValidationError({"accession": [f"This is {study.accession}'s URL: an accession cannot change."]})
            document = {**self.stored_document(study), **sent} if partial else sent
            old_state = study.curation_state
            new_state = self.check_state_change(study, document)
            study, _changed = study_save_document(document=document, study=study, by=request.user)
            self.log_transition(study, old_state, new_state)
        return self.document_response(study)

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
        # Held until the write commits, so If-Match compares against the version the save replaces.
        return get_object_or_404(m.Study.objects.select_for_update(), accession=self.kwargs["accession"])

    def request_document(self) -> dict:
        if not isinstance(self.request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send the study document as a JSON object."]})
        nul = null_character_paths(self.request.data)
        if nul:
            # PostgreSQL cannot store them: refuse with the field's path rather than fail on save.
            raise exceptions.ValidationError({path: ["Null characters and unpaired surrogates are not allowed."] for path in nul})
        return {key: value for key, value in self.request.data.items() if key not in SERVER_OWNED_KEYS}

    @staticmethod
    def stored_document(study: m.Study) -> dict:
        stored = StudyDocumentSerializer(document_queryset(m.Study.objects.filter(pk=study.pk)).get()).data
        return {key: value for key, value in stored.items() if key not in SERVER_OWNED_KEYS}

    def check_state_change(self, study: m.Study | None, document: dict) -> str:
        """The workflow rules a document save would otherwise skip; returns the state being saved.

        Without `trials.publish_study` a write may neither produce nor touch a public (published or
        retracted) study: 403, nothing saved. Reviewers may, except publish over a blocking comment.
        """
        value = document.get("curation_state")
        new_state = value if isinstance(value, str) and value else c.CurationState.DRAFT
        old_state = study.curation_state if study is not None else None
        if not self.request.user.has_perm("trials.publish_study"):
            if new_state in PUBLIC_STATES or old_state in PUBLIC_STATES:
                raise exceptions.PermissionDenied(
                    "Only reviewers (trials.publish_study) may save a published or retracted study. Save it as "
                    '"draft" or "in_review" to send your change to review.',
                    code="publish_permission_required",
                )
        elif (
            new_state == c.CurationState.PUBLISHED
            and old_state != c.CurationState.PUBLISHED
            and study is not None
            and study.review_comments.filter(blocking=True, resolved_at=None).exists()
        ):
            raise Conflict("Blocking review comments on this study must be resolved before it is published.")
        return new_state

    def log_transition(self, study: m.Study, old_state: str, new_state: str) -> None:
        if study.curation_state == new_state and old_state != new_state and new_state in STATE_ACTIONS:
            m.StudyTransition.objects.create(
                study=study,
                action=STATE_ACTIONS[new_state],
                from_state=old_state,
                to_state=new_state,
                by=self.request.user,
                note="Saved through the API.",
            )

    def document_response(self, study: m.Study, status_code: int = status.HTTP_200_OK, headers: dict | None = None):
        study = document_queryset(m.Study.objects.filter(pk=study.pk)).get()
        data = StudyDocumentSerializer(study, context=self.get_serializer_context()).data
        return Response(data, status=status_code, headers={"ETag": study_etag(study), **(headers or {})})


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
        return StudyVersionDocumentSerializer if self.action == "retrieve" else StudyVersionSerializer

    def get_queryset(self):
        study = get_object_or_404(readable_studies(self.request.user), accession=self.kwargs["accession"])
        versions = m.StudyVersion.objects.filter(study=study).select_related("study").order_by("number")
        return versions.defer("document") if self.action == "list" else versions

    def csv_fingerprint(self, queryset: QuerySet) -> tuple:
        return tuple(queryset.values_list("pk", "number"))


# --- the review workflow -------------------------------------------------------------------------------


@contextmanager
def workflow_errors(study: m.Study):
    """The services' refusals as API errors; raised inside the view's transaction, so nothing is kept."""
    try:
        yield
    except PermissionDenied as error:
        raise exceptions.PermissionDenied(str(error)) from None
    except services.BlockingComments as error:
        path = reverse("api:study-workflow-comments", kwargs={"accession": study.accession})
        raise Conflict(str(error), code="blocking_comments", fields={"comments": [f"Resolve them first: {path}"]}) from None
    except services.WorkflowError as error:
        state = f"{study.accession} is {study.get_curation_state_display().lower()} ({study.curation_state})."
        raise Conflict(f"{error} {state}", code="invalid_state", fields={"curation_state": [state]}) from None
    except ValidationError as error:
        raise exceptions.ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages) from None


def workflow_schema(summary: str, description: str, request=None, responses=None, parameters=(), methods=None):
    errors = {
        404: OpenApiResponse(openapi.ErrorSerializer, description="No such study, or not one you may see (drafts and "
                             "studies in review are found by curators and reviewers only)."),
        409: OpenApiResponse(openapi.ErrorSerializer, description="The study's state does not allow this "
                             "(`invalid_state`, `fields.curation_state`), or blocking review comments are open "
                             "(`blocking_comments`)."),
        412: OpenApiResponse(openapi.ErrorSerializer, description="If-Match does not match the study's ETag."),
    }  # fmt: skip
    return extend_schema(
        methods=methods,
        tags=["workflow"],
        summary=summary,
        description=description + " Needs a token or a session; a role that may not do this gets 403 naming the permission.",
        request=request,
        responses={**(responses or {200: StudyStateSerializer}), **errors},
        parameters=[openapi.CONDITIONAL_WRITE, *parameters],
    )


COMMENT_ID = OpenApiParameter("comment_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The comment's id.")


class StudyWorkflowViewSet(ApiMixin, viewsets.GenericViewSet):
    """The review workflow: each action calls the service the admin's buttons call, which checks the
    role and records who and when. Every write honours If-Match against the study's ETag."""

    lookup_field = "accession"
    lookup_value_regex = ACCESSION_REGEX
    queryset = m.Study.objects.all()
    serializer_class = StudyStateSerializer
    permission_classes = [IsAuthenticated]  # roles are the services' to check
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def visible_study(self, *, lock: bool) -> m.Study:
        # Drafts and revisions are "not found" for those who may not view them, as on reads.
        queryset = readable_studies(self.request.user)
        study = get_object_or_404(queryset.select_for_update() if lock else queryset, accession=self.kwargs["accession"])
        if lock:
            check_write_preconditions(self.request, study_etag(study))
        return study

    def body(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def state_response(self, study: m.Study, status_code: int = status.HTTP_200_OK, headers: dict | None = None):
        study = m.Study.objects.select_related("revision_of").get(pk=study.pk)
        data = StudyStateSerializer(study, context=self.get_serializer_context()).data
        return Response(data, status=status_code, headers={"ETag": study_etag(study), **(headers or {})})

    def transition(self, run, serializer_class=None):
        with transaction.atomic():
            study = self.visible_study(lock=True)
            data = self.body(serializer_class) if serializer_class else {}
            with workflow_errors(study):
                study = run(study, **data)
        return self.state_response(study)

    @workflow_schema("Submit a draft for review", "A curator hands a draft (or a revision) to the reviewers.", request=None)
    @action(detail=True, methods=["post"])
    def submit(self, request, accession):
        return self.transition(lambda study: services.study_submit(study=study, by=request.user))

    @workflow_schema(
        "Send a study in review back to its curator",
        "Reviewers only. The comment stays on the study; a blocking one (the default) must be resolved before "
        "the study can be published. The study returns to draft.",
        request=ReviewCommentInputSerializer,
    )
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, accession):
        def run(study, text, blocking):
            return services.study_request_changes(study=study, by=request.user, text=text, blocking=blocking)

        return self.transition(run, ReviewCommentInputSerializer)

    @workflow_schema(
        "Publish a study in review",
        "Reviewers only; refused while blocking comments are open. A revision replaces its public study, "
        "which keeps its accession: the answer is that public study. Each publication is kept as a version.",
        request=PublishInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, accession):
        return self.transition(
            lambda study, note: services.study_publish(study=study, by=request.user, note=note), PublishInputSerializer
        )

    @workflow_schema(
        "Retract a published study",
        "Reviewers only. The study stays public, marked as retracted with the reason.",
        request=RetractInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def retract(self, request, accession):
        return self.transition(
            lambda study, reason: services.study_retract(study=study, by=request.user, reason=reason), RetractInputSerializer
        )

    @workflow_schema(
        "Start a revision of a published study",
        "A private draft copy under its own accession, for corrections: change it with PUT/PATCH, submit and "
        "publish it, and it replaces the public study, which is served unchanged meanwhile. One open revision at "
        "a time: 201 with Location when it is created, 200 with the open one.",
        request=None,
        responses={201: StudyStateSerializer, 200: StudyStateSerializer},
    )
    @action(detail=True, methods=["post"])
    def revision(self, request, accession):
        with transaction.atomic():
            study = self.visible_study(lock=True)
            existed = study.revisions.exists()
            with workflow_errors(study):
                revision = services.study_start_revision(study=study, by=request.user)
        location = request.build_absolute_uri(reverse("api:study-detail", kwargs={"accession": revision.accession}))
        return self.state_response(revision, status.HTTP_200_OK if existed else status.HTTP_201_CREATED, {"Location": location})

    @extend_schema(
        methods=["get"],
        tags=["workflow"],
        summary="A study's review comments",
        description="Curators and reviewers (trials.view_study) only, oldest first, resolved ones included.",
        responses={200: ReviewCommentSerializer(many=True)},
        parameters=[openapi.CONDITIONAL_READ],
    )
    @workflow_schema(
        "Add a review comment",
        "Reviewers only; in any state. A blocking comment (the default) stops publication until resolved.",
        request=ReviewCommentInputSerializer,
        responses={201: ReviewCommentSerializer},
        methods=["post"],
    )
    @action(detail=True, methods=["get", "post"])
    def comments(self, request, accession):
        if request.method == "GET":
            study = self.visible_study(lock=False)
            if not request.user.has_perm("trials.view_study"):
                raise exceptions.PermissionDenied(
                    "Review comments are for curators and reviewers (the trials.view_study permission)."
                )
            comments = study.review_comments.select_related("study", "author", "resolved_by")
            return Response(ReviewCommentSerializer(comments, many=True).data)
        with transaction.atomic():
            study = self.visible_study(lock=True)
            data = self.body(ReviewCommentInputSerializer)
            with workflow_errors(study):
                comment = services.study_comment(study=study, by=request.user, **data)
        return Response(ReviewCommentSerializer(comment).data, status=status.HTTP_201_CREATED)

    @workflow_schema(
        "Mark a review comment resolved",
        "Curators and reviewers. Resolving a resolved comment changes nothing.",
        request=None,
        responses={200: ReviewCommentSerializer},
        parameters=[COMMENT_ID],
    )
    @action(detail=True, methods=["post"], url_path=r"comments/(?P<comment_id>[0-9]+)/resolve")
    def resolve_comment(self, request, accession, comment_id):
        with transaction.atomic():
            study = self.visible_study(lock=True)
            comment = get_object_or_404(study.review_comments.select_for_update(), pk=comment_id)
            with workflow_errors(study):
                comment = services.study_resolve_comment(comment=comment, by=request.user)
        return Response(ReviewCommentSerializer(comment).data)


class VocabularyViewSet(ApiMixin, RegistryListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]


@extend_schema_view(
    list=extend_schema(summary="Conditions", parameters=[*openapi.list_parameters(ConditionSerializer), openapi.CONDITIONAL_READ])
)
class ConditionViewSet(VocabularyViewSet):
    queryset = m.Condition.objects.select_related("parent").order_by("name")
    serializer_class = ConditionSerializer
    csv_name = "conditions"


@extend_schema_view(
    list=extend_schema(summary="Cell types", parameters=[*openapi.list_parameters(CellTypeSerializer), openapi.CONDITIONAL_READ])
)
class CellTypeViewSet(VocabularyViewSet):
    queryset = m.CellType.objects.order_by("name")
    serializer_class = CellTypeSerializer
    csv_name = "cell-types"


@extend_schema_view(
    list=extend_schema(
        summary="Outcome instruments", parameters=[*openapi.list_parameters(InstrumentSerializer), openapi.CONDITIONAL_READ]
    )
)
class InstrumentViewSet(VocabularyViewSet):
    queryset = m.Instrument.objects.order_by("name")
    serializer_class = InstrumentSerializer
    csv_name = "instruments"


@extend_schema_view(
    list=extend_schema(
        summary="Outcomes across studies",
        description="Every outcome of the public studies the study filters select (the search page's parameters), "
        "narrowed by the outcome filters. Rows are ordered by study accession, then as in the document.",
        parameters=[
            *openapi.filter_parameters(StudyFilterSet),
            *openapi.filter_parameters(OutcomeFilterSet),
            *openapi.list_parameters(OutcomeRowSerializer),
            openapi.CONDITIONAL_READ,
        ],
    )
)
class OutcomeViewSet(ApiMixin, StudyRowsFingerprintMixin, RegistryListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = m.OutcomeMeasure.objects.select_related("study", "cohort", "instrument").order_by("study__accession", "pk")
    serializer_class = OutcomeRowSerializer
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]
    filter_backends = [StudyRowFilterBackend]
    filterset_class = OutcomeFilterSet
    csv_name = "outcomes"


@extend_schema_view(
    list=extend_schema(
        summary="Adverse events across studies",
        description="Every adverse event of the public studies the study filters select (the search page's "
        "parameters), narrowed by the adverse-event filters. Rows are ordered by study accession, then as in the document.",
        parameters=[
            *openapi.filter_parameters(StudyFilterSet),
            *openapi.filter_parameters(AdverseEventFilterSet),
            *openapi.list_parameters(AdverseEventRowSerializer),
            openapi.CONDITIONAL_READ,
        ],
    )
)
class AdverseEventViewSet(ApiMixin, StudyRowsFingerprintMixin, RegistryListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = m.AdverseEvent.objects.select_related("study", "cohort").order_by("study__accession", "pk")
    serializer_class = AdverseEventRowSerializer
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]
    filter_backends = [StudyRowFilterBackend]
    filterset_class = AdverseEventFilterSet
    csv_name = "adverse-events"


class ApiVersionView(ApiMixin, APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]

    @extend_schema(
        tags=["about"],
        summary="API version and data freshness",
        responses={200: ApiVersionSerializer},
        parameters=[openapi.CONDITIONAL_READ],
    )
    def get(self, request):
        stats = m.Study.objects.public().aggregate(latest=Max("updated_at"), n=Count("pk"))
        payload = {
            "api_version": api_version(),
            "document_format": DOCUMENT_FORMAT,
            "data_updated_at": stats["latest"],
            "studies": stats["n"],
        }
        return Response(ApiVersionSerializer(payload).data)


class ApiRootView(ApiMixin, APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    ENDPOINTS = {
        "studies": "api:study-list",
        "facets": "api:study-facets",
        "conditions": "api:condition-list",
        "cell_types": "api:cell-type-list",
        "instruments": "api:instrument-list",
        "outcomes": "api:outcome-list",
        "adverse_events": "api:adverse-event-list",
        "version": "api:version",
        "schema": "api:schema",
        "docs": "api:docs",
    }

    @extend_schema(
        tags=["about"],
        summary="Index of the API's endpoints",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="Endpoint name -> absolute URL.")},
        parameters=[openapi.CONDITIONAL_READ],
    )
    def get(self, request):
        return Response({name: request.build_absolute_uri(reverse(route)) for name, route in self.ENDPOINTS.items()})
