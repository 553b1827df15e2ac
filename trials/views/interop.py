"""The registry in standard formats over HTTP: FHIR R5 (/fhir/), WHO TRDS as ICTRP-style XML and the bulk
JSON Lines export (/api/v1/...). Public records only; each endpoint names every parameter it does not
know in one 400, as the API does.

Lists take their filters from the one StudyFilterSet (FHIR's `condition` and `status` are translated to
it) and read the page's documents with `document_queryset`: a fixed number of queries per page.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_GET

from trials.documents import document_queryset, study_document
from trials.filters import StudyFilterSet
from trials.interop import fhir, jsonl, trds
from trials.interop.common import Vocabularies, public_studies

AE_ID = re.compile(r"^(NCR-[0-9]{6,8})-")
MAX_COUNT = 200
DEFAULT_COUNT = 50


class BadParameters(Exception):
    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems.items()))


def check_parameters(request: HttpRequest, allowed: set[str]) -> None:
    """Every unknown parameter at once, each with the closest known name."""
    problems = {}
    for name in sorted(set(request.GET) - allowed):
        close = difflib.get_close_matches(name, sorted(allowed), n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        problems[name] = f"Unknown parameter.{hint} Known: {', '.join(sorted(allowed))}."
    if problems:
        raise BadParameters(problems)


def page_numbers(request: HttpRequest, count_name: str, page_name: str, problems: dict[str, str]) -> tuple[int, int]:
    def number(name: str, default: int, low: int, high: int | None) -> int:
        raw = request.GET.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
            problems[name] = f"Expected a whole number from {low}" + (f" to {high}." if high else ".")
            return default
        return int(raw)

    return number(count_name, DEFAULT_COUNT, 1, MAX_COUNT), number(page_name, 1, 1, None)


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


# --- FHIR ----------------------------------------------------------------------------------------


def fhir_response(payload: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(payload, status=status, content_type=fhir.CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})


def operation_outcome(status: int, code: str, problems: dict[str, str]) -> JsonResponse:
    issues = [
        {"severity": "error", "code": code, "diagnostics": message, **({"expression": [name]} if name else {})}
        for name, message in problems.items()
    ]
    return fhir_response({"resourceType": "OperationOutcome", "issue": issues}, status)


def fhir_view(view):
    """FHIR errors are OperationOutcomes: unknown parameters (400), unknown resources (404)."""

    def wrapped(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BadParameters as error:
            return operation_outcome(400, "invalid", error.problems)
        except Http404Outcome as error:
            return operation_outcome(404, "not-found", {"": str(error)})

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return require_GET(wrapped)


class Http404Outcome(Exception):
    pass


def fhir_study(accession: str):
    study = document_queryset(public_studies().filter(accession=accession)).first()
    if study is None:
        raise Http404Outcome(f"No public study {accession}.")
    return study


@fhir_view
def fhir_metadata(request: HttpRequest) -> JsonResponse:
    """The server's CapabilityStatement: what it serves and which search parameters it takes."""
    search = [
        {"name": "condition", "type": "token", "documentation": "A condition's slug or MeSH id; commas mean OR."},
        {"name": "status", "type": "token", "documentation": "active | retired, or a research-study-status code."},
        {"name": "_count", "type": "number", "documentation": f"Results per page, 1 to {MAX_COUNT}."},
        {"name": "_page", "type": "number", "documentation": "Page number, from 1."},
    ]
    payload = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-04",
        "kind": "instance",
        "fhirVersion": fhir.FHIR_VERSION,
        "format": [fhir.CONTENT_TYPE],
        "implementation": {"description": "NeuroCell Registry (read-only)", "url": f"{base_url(request)}/fhir"},
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {"type": "ResearchStudy", "interaction": [{"code": "read"}, {"code": "search-type"}], "searchParam": search},
                    {
                        "type": "AdverseEvent",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [{"name": "study", "type": "reference", "documentation": "The study's accession."}],
                    },
                ],
            }
        ],
    }
    return fhir_response(payload)


@fhir_view
def fhir_research_study(request: HttpRequest, accession: str) -> JsonResponse:
    check_parameters(request, {"_format"})
    builder = fhir.FhirBuilder(base_url(request))
    return fhir_response(builder.research_study(study_document(fhir_study(accession))))


FHIR_STATUS_TO_FILTER = {code: status for status, code in fhir.PROGRESS.items()}
FHIR_PUBLICATION_TO_STATE = {code: state for state, code in fhir.PUBLICATION_STATUS.items()}


def fhir_filters(request: HttpRequest) -> tuple[dict[str, list[str]], list[str]]:
    """FHIR's search parameters as the StudyFilterSet's data, plus the curation states asked for."""
    problems: dict[str, str] = {}
    data: dict[str, list[str]] = {}
    states: list[str] = []
    conditions = [v for raw in request.GET.getlist("condition") for v in raw.split(",") if v]
    if conditions:
        vocabulary = Vocabularies().conditions
        by_mesh = {term.code: slug for slug, term in vocabulary.items() if term.code}
        slugs = []
        for value in conditions:
            token = value.split("|", 1)[-1]  # system|code, as FHIR token searches spell it
            slug = token if token in vocabulary else by_mesh.get(token)
            if slug is None:
                problems["condition"] = f"Unknown condition “{value}”: give a condition's slug or MeSH id."
            else:
                slugs.append(slug)
        data["condition"] = slugs
    for value in (v for raw in request.GET.getlist("status") for v in raw.split(",") if v):
        token = value.split("|", 1)[-1]
        if token in FHIR_PUBLICATION_TO_STATE:
            states.append(FHIR_PUBLICATION_TO_STATE[token])
        elif token in FHIR_STATUS_TO_FILTER:
            data.setdefault("status", []).append(FHIR_STATUS_TO_FILTER[token])
        else:
            known = ", ".join([*FHIR_PUBLICATION_TO_STATE, *FHIR_STATUS_TO_FILTER])
            problems["status"] = f"Unknown status “{value}”. Known: {known}."
    if problems:
        raise BadParameters(problems)
    return data, states


@fhir_view
def fhir_research_study_search(request: HttpRequest) -> JsonResponse:
    """A searchset Bundle of ResearchStudy resources, in accession order, paged by `_count` and `_page`."""
    check_parameters(request, {"condition", "status", "_count", "_page", "_format"})
    data, states = fhir_filters(request)
    problems: dict[str, str] = {}
    count, page = page_numbers(request, "_count", "_page", problems)
    if problems:
        raise BadParameters(problems)
    studies = public_studies()
    if states:
        studies = studies.filter(curation_state__in=states)
    filterset = StudyFilterSet(data=data, queryset=studies)
    if not filterset.is_valid():
        raise BadParameters({name: " ".join(messages) for name, messages in filterset.errors.items()})
    matching = filterset.qs.order_by("accession")
    total = matching.count()
    rows = list(document_queryset(matching[(page - 1) * count : page * count]))
    builder = fhir.FhirBuilder(base_url(request))
    resources = [builder.research_study(study_document(study)) for study in rows]
    params = [(k, v) for k, v in request.GET.items() if k != "_page"]
    self_url = f"{base_url(request)}{request.path}?{urlencode([*params, ('_page', page)])}"
    bundle = builder.bundle(resources, self_url, total)
    if page * count < total:
        bundle["link"].append(
            {"relation": "next", "url": f"{base_url(request)}{request.path}?{urlencode([*params, ('_page', page + 1)])}"}
        )
    return fhir_response(bundle)


@fhir_view
def fhir_adverse_event_search(request: HttpRequest) -> JsonResponse:
    """The harms of one study (`study=` its accession or ResearchStudy/<accession>) as a searchset Bundle."""
    check_parameters(request, {"study", "_format"})
    reference = request.GET.get("study", "")
    if not reference:
        raise BadParameters({"study": "Give the study: study=NCR-000001 (or ResearchStudy/NCR-000001)."})
    accession = reference.rsplit("/", 1)[-1]
    builder = fhir.FhirBuilder(base_url(request))
    document = study_document(fhir_study(accession))
    return fhir_response(builder.bundle(builder.adverse_events(document), request.build_absolute_uri()))


@fhir_view
def fhir_adverse_event(request: HttpRequest, resource_id: str) -> JsonResponse:
    check_parameters(request, {"_format"})
    match = AE_ID.match(resource_id)
    if match is None:
        raise Http404Outcome(f"No adverse event {resource_id}.")
    accession = match.group(1)
    builder = fhir.FhirBuilder(base_url(request))
    document = study_document(fhir_study(accession))
    for resource in builder.adverse_events(document):
        if resource["id"] == resource_id:
            return fhir_response(resource)
    raise Http404Outcome(f"No adverse event {resource_id}.")


# --- WHO TRDS / ICTRP XML ------------------------------------------------------------------------

# The search's own paging; every other parameter is the StudyFilterSet's (as /api/v1/studies/ takes them).
TRDS_PAGING = {"page", "page_size"}


def xml_response(payload: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(payload, status=status, content_type=trds.CONTENT_TYPE)


def xml_error(problems: dict[str, str], status: int = 400) -> HttpResponse:
    return HttpResponse(
        json.dumps({"errors": problems}, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8"
    )


@require_GET
def trds_study(request: HttpRequest, accession: str) -> HttpResponse:
    """One public study's 24 TRDS items as ICTRP-style XML."""
    try:
        check_parameters(request, set())
    except BadParameters as error:
        return xml_error(error.problems)
    study = get_object_or_404(document_queryset(public_studies()), accession=accession)
    writer = trds.TrdsWriter(base_url(request))
    root = writer.trials([study_document(study)], export_date=f"{timezone_today()}")
    return xml_response(writer.serialize(root))


@require_GET
def trds_search(request: HttpRequest) -> HttpResponse:
    """A page of the public search (the API's filters) as ICTRP-style XML, in accession order."""
    allowed = {*StudyFilterSet.base_filters, *TRDS_PAGING} - {"ordering"}
    try:
        check_parameters(request, allowed)
        problems: dict[str, str] = {}
        count, page = page_numbers(request, "page_size", "page", problems)
        if problems:
            raise BadParameters(problems)
        data = request.GET.copy()
        for name in TRDS_PAGING:
            data.pop(name, None)
        filterset = StudyFilterSet(data=data, queryset=public_studies())
        if not filterset.is_valid():
            raise BadParameters({name: " ".join(messages) for name, messages in filterset.errors.items()})
    except BadParameters as error:
        return xml_error(error.problems)
    matching = filterset.qs.order_by("accession")
    total = matching.count()
    rows = document_queryset(matching[(page - 1) * count : page * count])
    writer = trds.TrdsWriter(base_url(request))
    root = writer.trials((study_document(study) for study in rows), export_date=f"{timezone_today()}")
    response = xml_response(writer.serialize(root))
    response["X-Total-Count"] = str(total)
    if page * count < total:
        params = [(k, v) for k, v in request.GET.items() if k != "page"]
        response["Link"] = f'<{base_url(request)}{request.path}?{urlencode([*params, ("page", page + 1)])}>; rel="next"'
    return response


def timezone_today() -> str:
    return timezone.now().date().isoformat()


# --- bulk JSON Lines -----------------------------------------------------------------------------


@require_GET
def jsonl_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Every public study as gzip JSON Lines (header line first), streamed."""
    try:
        check_parameters(request, set())
    except BadParameters as error:
        return xml_error(error.problems)
    response = StreamingHttpResponse(jsonl.gzipped(jsonl.jsonl_lines(public_studies())), content_type=jsonl.CONTENT_TYPE)
    # The body is the gzip file itself (not a transfer encoding): clients save it as is.
    response["Content-Disposition"] = f'attachment; filename="{jsonl.FILE_NAME}"'
    response["Cache-Control"] = "no-transform"
    return response
