"""Public pages: the evidence map (home), the faceted study search and the study page.

Thin views: the queries live in `trials.pages` (lists) and `document_queryset` (one study with its
rows); each view builds its context and renders.
"""

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from trials import charts, pages, trust
from trials.choices import InterventionKind
from trials.clinic import clinic_context
from trials.documents import document_queryset
from trials.filters import StudyFilterSet
from trials.models import Study
from trials.views import feeds

# The API's study list (trials/api): given the search's query string and format=csv it returns every
# matching study, which is what "Download CSV" offers.
API_STUDIES_PATH = "api/v1/studies/"


@require_safe  # GET and HEAD only: any other method is a 405, never the page
def home(request):
    context = {"evidence": pages.evidence_map(), "recent": pages.recently_updated()}
    return render(request, "trials/home.html", context)


@require_safe  # GET and HEAD only: any other method is a 405, never the page
def study_list(request):
    # htmx swaps the results in place; a history restore (back button after a reload) needs the full page.
    partial = request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")
    pairs = pages.canonical_pairs(request.GET)
    search_url = request.path + (f"?{urlencode(pairs)}" if pairs else "")
    submitted = sorted((key, value) for key, values in request.GET.lists() for value in values)
    if not partial and submitted != sorted(pairs):
        # A plain GET form sends every field, empty or not: one search gets one clean, shareable URL.
        return redirect(search_url)

    filterset = StudyFilterSet(request.GET, queryset=Study.objects.public())
    paginator = Paginator(pages.search_results_queryset(filterset), pages.page_size(request.GET))
    page = paginator.get_page(request.GET.get("page"))
    studies = list(page.object_list)
    for study in studies:
        study.products, study.routes = pages.summarize_products(study)
        study.trust_badges = trust.badges(study)

    without_page = [pair for pair in pairs if pair[0] != "page"]
    filters_only = [pair for pair in without_page if pair[0] not in pages.PAGING_PARAMETERS]
    has_query = bool(filterset.form.cleaned_data.get("q"))
    # The concepts the free text named (worked out while filtering: no query), said above the results.
    expansion = filterset.search_expansion(filterset.form.cleaned_data["q"].strip()) if has_query else None
    ordering_choices = [
        (value, label) for value, label in filterset.filters["ordering"].extra["choices"] if value != "relevance" or has_query
    ]
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "facets": pages.facets(filterset),
        "page": page,
        "studies": studies,
        "page_links": pages.page_links(page, without_page),
        "previous_url": pages.page_url(without_page, page.number - 1) if page.has_previous() else "",
        "next_url": pages.page_url(without_page, page.number + 1) if page.has_next() else "",
        "ordering": filterset.form.cleaned_data.get("ordering") or filterset.default_ordering(),
        "ordering_choices": ordering_choices,
        "page_size": paginator.per_page,
        "page_sizes": pages.PAGE_SIZES,
        "has_filters": any(key != "ordering" for key, _value in filters_only),
        "csv_url": f"{get_script_prefix()}{API_STUDIES_PATH}?{urlencode([*filters_only, ('format', 'csv')])}",
        "partial": partial,
        # From a search "near" a place, each study opens with its sites nearest that place first.
        "near_suffix": f"?{urlencode([('near', request.GET['near'])])}"
        if filterset.form.cleaned_data.get("near") is not None
        else "",
        "search_about": expansion.label() if expansion and expansion.groups else "",
        "feed_urls": feeds.feed_urls(request, filters_only),
    }
    if partial:
        response = render(request, "trials/includes/search_results.html", context)
        response["HX-Push-Url"] = search_url
    else:
        response = render(request, "trials/study_filter.html", context)
    # The same URL answers with a fragment or a page: caches must not hand one out for the other.
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_safe  # GET and HEAD only: any other method is a 405, never the page
def study_detail(request, accession):
    study = get_object_or_404(document_queryset(Study.objects.public().with_trust()), accession=accession)
    for cohort in study.cohorts.all():
        cohort.cell_products = [i for i in cohort.interventions.all() if i.kind == InterventionKind.CELL_PRODUCT]
        cohort.co_therapies = [i for i in cohort.interventions.all() if i.kind != InterventionKind.CELL_PRODUCT]
    context = {
        "study": study,
        "outcome_sections": charts.outcome_sections(list(study.outcomes.all()), follow_up_months=study.follow_up_months),
        "ae_tables": pages.adverse_event_tables(study),
        "trust_signals": trust.signals(study),
        "api_url": reverse("api:study-detail", kwargs={"accession": study.accession}),
        "permalink": request.build_absolute_uri(study.get_absolute_url()),
        "clinic": clinic_context(study, near=request.GET.get("near", "")[:200]),
    }
    return render(request, "trials/study_detail.html", context)
