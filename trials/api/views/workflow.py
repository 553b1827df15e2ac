"""The review workflow in the API: the steps of `trials.services.workflow.TRANSITIONS` as POSTs under a
study's URL, its review comments, and its revision (a private copy under the same accession, at
`.../revision/`). Each step runs the service the admin's buttons run, which checks the role and records
who and when; every write honours If-Match against the study's ETag.

While a published study has an open revision, the review steps (submit, request changes, publish,
comments) act on the revision; retract acts on the public study.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from trials import models as m
from trials.services import workflow
from trials.services.studies import StudyProtected, study_delete

from .. import schema as openapi
from ..documents import StudyDocumentInputSerializer, StudyDocumentSerializer
from ..errors import Conflict
from ..etag import check_write_preconditions, none_match_hits, study_etag
from ..parsers import BoundedJSONParser
from ..serializers import (
    PublishInputSerializer,
    RetractInputSerializer,
    ReviewCommentInputSerializer,
    ReviewCommentSerializer,
    StudyStateSerializer,
)
from .base import ACCESSION_REGEX, ApiMixin, readable_studies
from .studies import document_response, save_document


@contextmanager
def workflow_errors(study: m.Study):
    """The services' refusals as API errors; raised inside the view's transaction, so nothing is kept."""
    try:
        yield
    except PermissionDenied as error:
        raise exceptions.PermissionDenied(str(error)) from None
    except workflow.BlockingComments as error:
        path = reverse("api:study-workflow-comments", kwargs={"accession": study.accession})
        raise Conflict(str(error), code="blocking_comments", fields={"comments": [f"Resolve them first: {path}"]}) from None
    except workflow.SelfPublication as error:
        raise Conflict(str(error), code="self_publication") from None
    except workflow.WorkflowError as error:
        state = f"{study.accession} is {study.get_curation_state_display().lower()} ({study.curation_state})."
        raise Conflict(str(error), code="invalid_state", fields={"curation_state": [state]}) from None
    except ValidationError as error:
        raise exceptions.ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages) from None


def workflow_schema(summary: str, description: str, request=None, responses=None, parameters=(), methods=None):
    errors = {
        404: OpenApiResponse(openapi.ErrorSerializer, description="No such study, or not one you may see (drafts and "
                             "studies in review are found by curators and reviewers only)."),
        409: OpenApiResponse(openapi.ErrorSerializer, description="The study's state does not allow this "
                             "(`invalid_state`, `fields.curation_state`), blocking review comments are open "
                             "(`blocking_comments`), or you submitted what you would publish (`self_publication`)."),
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
    lookup_field = "accession"
    lookup_value_regex = ACCESSION_REGEX
    queryset = m.Study.objects.records()
    serializer_class = StudyStateSerializer
    permission_classes = [IsAuthenticated]  # roles are the services' to check
    renderer_classes = [JSONRenderer]
    parser_classes = [BoundedJSONParser]

    def visible_study(self, *, lock: bool) -> m.Study:
        # Drafts are "not found" for those who may not view them, as on reads.
        queryset = readable_studies(self.request.user)
        return get_object_or_404(queryset.select_for_update() if lock else queryset, accession=self.kwargs["accession"])

    def target(self, *, lock: bool = True, working: bool = True) -> m.Study:
        """The study the step acts on (its open revision, for review steps), its ETag checked."""
        study = self.visible_study(lock=lock)
        if working:
            study = workflow.working_copy(study)
            if lock and study.revision_of_id:
                study = m.Study.objects.select_for_update().get(pk=study.pk)
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

    def transition(self, run, serializer_class=None, *, working: bool = True):
        with transaction.atomic():
            study = self.target(working=working)
            data = self.body(serializer_class) if serializer_class else {}
            with workflow_errors(study):
                study = run(study, **data)
        return self.state_response(study)

    @workflow_schema(
        "Submit a draft for review",
        "A curator hands a draft (or the study's open revision) to the reviewers.",
        request=None,
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, accession):
        return self.transition(lambda study: workflow.study_submit(study=study, by=request.user))

    @workflow_schema(
        "Send a study in review back to its curator",
        "Reviewers only. The comment stays on the study; a blocking one (the default) must be resolved before "
        "the study can be published. The study returns to draft.",
        request=ReviewCommentInputSerializer,
    )
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, accession):
        def run(study, text, blocking):
            return workflow.study_request_changes(study=study, by=request.user, text=text, blocking=blocking)

        return self.transition(run, ReviewCommentInputSerializer)

    @workflow_schema(
        "Publish a study in review",
        "Reviewers only, not the one who submitted it (unless the deployment allows it); refused while blocking "
        "comments are open. `note` says what changed (required except for a first publication). Publishing a "
        "revision applies it to the public study; each publication is kept as a numbered version.",
        request=PublishInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, accession):
        return self.transition(
            lambda study, note: workflow.study_publish(study=study, by=request.user, note=note), PublishInputSerializer
        )

    @workflow_schema(
        "Retract a published study",
        "Reviewers only. The study stays public, marked as retracted with the reason.",
        request=RetractInputSerializer,
    )
    @action(detail=True, methods=["post"])
    def retract(self, request, accession):
        return self.transition(
            lambda study, reason: workflow.study_retract(study=study, by=request.user, reason=reason),
            RetractInputSerializer,
            working=False,
        )

    # --- the revision: a private copy under the same accession -----------------------------------

    @extend_schema(
        methods=["get"],
        tags=["workflow"],
        summary="The study's open revision, as its document",
        description="Curators and reviewers only. 404 when the study has no open revision.",
        responses={200: StudyDocumentSerializer},
        parameters=[openapi.CONDITIONAL_READ],
    )
    @workflow_schema(
        "Start a revision of a published study",
        "A private draft copy under the same accession, for corrections: change it with PUT/PATCH here, submit and "
        "publish it (the review steps act on it), and it is applied to the public study, which is served unchanged "
        "meanwhile. One open revision at a time: 201 when it is created, 200 with the open one.",
        request=None,
        responses={201: StudyStateSerializer, 200: StudyStateSerializer},
        methods=["post"],
    )
    @workflow_schema(
        "Change the open revision",
        "As PUT / PATCH of a draft's document; the revision's own ETag.",
        request=StudyDocumentInputSerializer,
        responses={200: StudyDocumentSerializer},
        methods=["put", "patch"],
    )
    @workflow_schema(
        "Discard the open revision",
        "Curators and reviewers; the public study is untouched.",
        methods=["delete"],
        responses={204: None},
    )
    @action(detail=True, methods=["get", "post", "put", "patch", "delete"])
    def revision(self, request, accession):
        if request.method == "POST":
            return self.start_revision(request)
        if request.method == "GET":
            study = self.visible_study(lock=False)
            revision = study.revisions.first()
            if revision is None or not request.user.has_perm("trials.view_study"):
                raise Http404
            etag = study_etag(revision)
            if none_match_hits(request, etag):
                response = HttpResponseNotModified()
                response["ETag"] = etag
                return response
            return document_response(self, revision)
        with transaction.atomic():
            study = self.visible_study(lock=True)
            revision = study.revisions.select_for_update().first()
            if revision is None:
                raise Http404
            if request.method == "DELETE":
                check_write_preconditions(request, study_etag(revision))
                try:
                    study_delete(study=revision, by=request.user)
                except StudyProtected as error:
                    raise Conflict(str(error)) from None
                return Response(status=status.HTTP_204_NO_CONTENT)
            return save_document(self, revision, partial=request.method == "PATCH")

    def start_revision(self, request):
        with transaction.atomic():
            study = self.target(working=False)
            existed = study.revisions.exists()
            with workflow_errors(study):
                revision = workflow.study_start_revision(study=study, by=request.user)
        location = request.build_absolute_uri(reverse("api:study-workflow-revision", kwargs={"accession": revision.accession}))
        return self.state_response(revision, status.HTTP_200_OK if existed else status.HTTP_201_CREATED, {"Location": location})

    # --- review comments -------------------------------------------------------------------------

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
            study = workflow.working_copy(self.visible_study(lock=False))
            if not request.user.has_perm("trials.view_study"):
                raise exceptions.PermissionDenied(
                    "Review comments are for curators and reviewers (the trials.view_study permission)."
                )
            comments = study.review_comments.select_related("study", "author", "resolved_by")
            return Response(ReviewCommentSerializer(comments, many=True).data)
        with transaction.atomic():
            study = self.target()
            data = self.body(ReviewCommentInputSerializer)
            with workflow_errors(study):
                comment = workflow.study_comment(study=study, by=request.user, **data)
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
            study = self.target()
            comment = get_object_or_404(study.review_comments.select_for_update(), pk=comment_id)
            with workflow_errors(study):
                comment = workflow.study_resolve_comment(comment=comment, by=request.user)
        return Response(ReviewCommentSerializer(comment).data)
