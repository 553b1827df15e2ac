"""Evidence across studies in the API: the numbers of the public evidence pages, as JSON or CSV.

`/api/v1/evidence/safety/` and `/api/v1/evidence/outcomes/?instrument=…` take the search's filters
plus the evidence parameters (`trials.evidence.EvidenceForm`); both answer exactly what the pages show."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from trials import choices as c
from trials import evidence
from trials.filters import StudyFilterSet
from trials.models import Instrument, Study

from .. import schema as openapi
from ..csv import CONTENT_TYPE, CSVRenderer, csv_lines
from ..filters import check_booleans
from .base import ApiMixin

FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "csv"], description="`csv` for a CSV file of the same numbers."
)
SAFETY_PARAMETERS = [
    *openapi.filter_parameters(StudyFilterSet),
    OpenApiParameter(
        "organ_class",
        OpenApiTypes.STR,
        enum=[value for value, _label in c.OrganClass.choices],
        description="Only this MedDRA organ class in the table of named events (`terms`).",
    ),
    FORMAT_PARAMETER,
]
OUTCOME_PARAMETERS = [
    *(parameter for parameter in openapi.filter_parameters(StudyFilterSet) if parameter.name != "instrument"),
    # The search's own `instrument` filter, here required and single: the one instrument the view is about.
    OpenApiParameter(
        "instrument",
        {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 1},
        OpenApiParameter.QUERY,
        required=True,
        explode=True,
        description="The instrument's slug, e.g. alsfrs-r (see /api/v1/instruments/).",
        extensions={"x-vocabulary": "instruments"},
    ),
    OpenApiParameter(
        "window_from",
        {"type": "number", "minimum": 0, "maximum": 600},
        OpenApiParameter.QUERY,
        description="Window start, months after treatment (default 0).",
    ),
    OpenApiParameter(
        "window_to",
        {"type": "number", "minimum": 0, "maximum": 600},
        OpenApiParameter.QUERY,
        description="Window end, months after treatment (default 600). A window that ends before it starts holds no row.",
    ),
    FORMAT_PARAMETER,
]


class EvidenceView(ApiMixin, APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, CSVRenderer]
    csv_name = "evidence"

    def parameters(self, request) -> tuple[StudyFilterSet, evidence.EvidenceForm]:
        check_booleans(request, StudyFilterSet)
        filterset = StudyFilterSet(request.query_params, queryset=Study.objects.public())
        form = evidence.EvidenceForm(request.query_params)
        errors = {}
        if not filterset.is_valid():
            errors.update(filterset.errors)
        if not form.is_valid():
            errors.update(form.errors)
        if errors:
            raise exceptions.ValidationError({name: [str(message) for message in messages] for name, messages in errors.items()})
        return filterset, form

    def respond(self, request, data, csv_rows: list[dict]):
        if isinstance(request.accepted_renderer, CSVRenderer):
            columns = list(csv_rows[0]) if csv_rows else []
            response = StreamingHttpResponse(csv_lines(columns, csv_rows), content_type=CONTENT_TYPE)
            response["Content-Disposition"] = f'attachment; filename="{self.csv_name}.csv"'
            return response
        return Response(data)


class SafetyEvidenceView(EvidenceView):
    csv_name = "safety"

    @extend_schema(
        tags=["evidence"],
        summary="Safety across studies",
        description="Per cell product (cell type, route, donor): participants with any reported adverse event, a "
        "serious one, death, procedure- and cell-related events, each as affected/at risk pooled over the cohorts "
        "that report both, with Wilson and exact (Clopper-Pearson) 95 % intervals, the studies behind each figure "
        "and every cohort left out with the reason.",
        parameters=SAFETY_PARAMETERS,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT)},
    )
    def get(self, request):
        filterset, form = self.parameters(request)
        rows = evidence.safety_table(filterset.qs)
        terms = evidence.term_table(filterset.qs, form.cleaned_data.get("organ_class") or None)
        items = evidence.safety_data(rows)
        data = {"count": len(items), "results": items, "terms": evidence.term_data(terms)}
        return self.respond(request, data, evidence.safety_csv_rows(items))


class OutcomeEvidenceView(EvidenceView):
    csv_name = "outcomes"

    @extend_schema(
        tags=["evidence"],
        summary="One instrument's outcomes across studies",
        description="Every published row of the instrument in the filtered studies, as improvement from baseline "
        "(the instrument's direction applied), included or left out with the reason; where at least three studies "
        "give a mean change with SD or SE and n, a DerSimonian-Laird random-effects pooled estimate with its 95 % "
        "interval, I² and τ².",
        parameters=OUTCOME_PARAMETERS,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT)},
    )
    def get(self, request):
        filterset, form = self.parameters(request)
        slug = form.cleaned_data.get("instrument")
        if len(request.query_params.getlist("instrument")) > 1:
            raise exceptions.ValidationError({"instrument": ["Give one instrument: the view pools one scale."]})
        if not slug:
            raise exceptions.ValidationError({"instrument": ["Give the instrument's slug, e.g. instrument=alsfrs-r."]})
        instrument = Instrument.objects.filter(slug=slug).first()
        if instrument is None:
            raise exceptions.ValidationError({"instrument": [f"No instrument {slug!r}: see /api/v1/instruments/."]})
        entries = evidence.outcome_entries(filterset.qs, instrument, form.window)
        data = evidence.outcome_data(instrument, form.window, entries)
        return self.respond(request, data, data["rows"])
