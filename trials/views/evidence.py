"""Evidence across studies (public pages): harms per cell product, one instrument's changes side by side.

The numbers come from `trials.evidence`, the same functions the API's JSON and CSV use."""

from urllib.parse import urlencode

from django.shortcuts import render
from django.utils.translation import gettext as _

from trials import evidence
from trials.documents import document_queryset
from trials.filters import StudyFilterSet
from trials.models import Instrument, Study


def study_filters(request) -> StudyFilterSet:
    return StudyFilterSet(request.GET, queryset=Study.objects.public())


# The search filters the evidence pages offer as selects; the FilterSet's own, so the values mean the same.
SELECT_FILTERS = ["condition", "cell_type", "route", "donor"]


def filter_selects(filterset: StudyFilterSet) -> list[dict]:
    selects = []
    for name in SELECT_FILTERS:
        field = filterset.form.fields[name]
        chosen = filterset.form[name].value() or []
        choices = field.choices() if callable(field.choices) else field.choices
        selects.append(
            {
                "name": name,
                "label": field.label,
                "options": [(value, label, value in chosen) for value, label in choices],
            }
        )
    return selects


def api_query(request) -> str:
    """The page's own query string, non-empty values only: the API's twin of the page answers it alike."""
    return urlencode([(key, value) for key, values in request.GET.lists() for value in values if value])


def safety(request):
    filterset = study_filters(request)
    data = request.GET.copy()
    data.setdefault("measure", "serious")
    form = evidence.EvidenceForm(data)
    form.is_valid()
    organ_class = form.cleaned_data.get("organ_class") or None
    measure = form.cleaned_data.get("measure") or "serious"
    valid = filterset.is_valid()
    rows = evidence.safety_table(filterset.qs) if valid else []
    terms = evidence.term_table(filterset.qs, organ_class) if valid else []
    headings = {item.key: item.heading for item in evidence.SAFETY_MEASURES}
    lines = []
    for row in rows:
        pooled = row.cells[measure].pooled
        if pooled is not None:
            low, high = pooled.wilson
            label = f"{row.product.cell_type or _('No cell product')} · {row.product.route}"
            lines.append((label, pooled.percent, low, high, "", False))
    plot = evidence.forest(lines)
    context = {
        "filterset": filterset,
        "selects": filter_selects(filterset),
        "form": form,
        "rows": rows,
        "terms": terms,
        "measures": evidence.SAFETY_MEASURES,
        "measure": measure,
        "measure_heading": headings[measure],
        "plot": plot,
        "api_query": api_query(request),
    }
    return render(request, "trials/evidence/safety.html", context)


def outcomes(request):
    filterset = study_filters(request)
    form = evidence.EvidenceForm(request.GET)
    form.is_valid()
    instruments = list(Instrument.objects.filter(outcomes__study__in=Study.objects.public()).distinct().order_by("name"))
    slug = form.cleaned_data.get("instrument") or ""
    instrument = next((item for item in instruments if item.slug == slug), None)
    entries, pooled, used = [], None, set()
    if instrument is not None and form.is_valid() and filterset.is_valid():
        entries = evidence.outcome_entries(filterset.qs, instrument, form.window)
        pooled = evidence.pool(entries)
        used = {entry.outcome.pk for entry in evidence.pooled_rows(entries)}
    included = [entry for entry in entries if entry.included]
    lines = [
        (
            f"{entry.outcome.study.accession} · {entry.outcome.cohort or ''}",
            entry.improvement,
            *entry.interval,
            entry.outcome.study.get_absolute_url(),
            False,
        )
        for entry in included
        if entry.interval is not None and entry.improvement is not None
    ]
    if pooled is not None:
        lines.append((_("Pooled (random effects)"), pooled.estimate, pooled.low, pooled.high, "", True))
    plot = evidence.forest(lines)
    context = {
        "filterset": filterset,
        "selects": filter_selects(filterset),
        "form": form,
        "instruments": instruments,
        "instrument": instrument,
        "entries": entries,
        "included": included,
        "excluded": [entry for entry in entries if not entry.included],
        "used": used,
        "pooled": pooled,
        "plot": plot,
        "window": form.window if form.is_valid() else None,
        "api_query": api_query(request),
    }
    return render(request, "trials/evidence/outcomes.html", context)


def compare(request):
    """2–4 published studies side by side: `?study=NCR-000005&study=NCR-000007`."""
    wanted = list(dict.fromkeys(value.strip() for value in request.GET.getlist("study") if value.strip()))
    error = ""
    if len(wanted) > evidence.MAX_COMPARED:
        error = _("Choose at most %(count)d studies.") % {"count": evidence.MAX_COMPARED}
        wanted = wanted[: evidence.MAX_COMPARED]
    found = {study.accession: study for study in document_queryset(Study.objects.public()).filter(accession__in=wanted)}
    studies = [found[accession] for accession in wanted if accession in found]
    missing = [accession for accession in wanted if accession not in found]
    if len(studies) < 2 and not error:
        error = _("Choose two to four studies to compare: tick “Compare” on the search page.")
    context = {
        "studies": studies,
        "missing": missing,
        "error": error,
        "aligned": evidence.side_by_side(studies) if len(studies) >= 2 else None,
    }
    return render(request, "trials/evidence/compare.html", context, status=200)
