"""Lists besides the studies: vocabularies, outcomes and adverse events across studies; and the API's
index and version."""

from __future__ import annotations

from django.db.models import Count, Max
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, OpenApiTypes, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from trials import models as m
from trials.documents import DOCUMENT_FORMAT
from trials.filters import StudyFilterSet

from .. import schema as openapi
from ..csv import CSVRenderer
from ..filters import AdverseEventFilterSet, OutcomeFilterSet, StudyRowFilterBackend
from ..serializers import (
    AdverseEventRowSerializer,
    ApiVersionSerializer,
    CellTypeSerializer,
    ConditionSerializer,
    InstrumentSerializer,
    OutcomeRowSerializer,
)
from .base import ApiMixin, RegistryListMixin, StudyRowsFingerprintMixin, api_version


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
        "evidence_safety": "api:evidence-safety",
        "evidence_outcomes": "api:evidence-outcomes",
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
