"""Public version history: every published version of a study, frozen, and the difference between two."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from . import models as m
from .services import document_diff

# The parts of a frozen document shown as tables, in reading order.
DOCUMENT_TABLES = [
    ("conditions", _("Conditions")),
    ("registry_ids", _("Registry identifiers")),
    ("milestones", _("Regulatory milestones")),
    ("publications", _("Publications")),
    ("cohorts", _("Cohorts")),
    ("interventions", _("Interventions")),
    ("outcomes", _("Outcomes")),
    ("adverse_events", _("Adverse events")),
    ("sources", _("Sources and curator notes")),
]
HEADLINE_FIELDS = [
    "accession", "study_type", "phase", "phase_reported", "overall_status", "start_date", "completion_date",
    "enrollment", "enrollment_type", "follow_up_months", "countries", "sponsor", "institutions", "curation_state",
    "retraction_reason",
]  # fmt: skip


def _public_study(accession: str) -> m.Study:
    return get_object_or_404(m.Study.objects.public(), accession=accession)


def _table(rows: list[dict]) -> tuple[list[str], list[list]]:
    """Columns that hold a value in at least one row, so that empty fields do not crowd the table."""
    columns = [key for key in (rows[0] if rows else {}) if any(row.get(key) not in (None, "", []) for row in rows)]
    return columns, [[row.get(key) for key in columns] for row in rows]


def _display(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def document_tables(document: dict) -> list[tuple[str, list[str], list[list]]]:
    parts = dict(document)
    parts["interventions"] = [
        {"cohort": cohort["label"], **intervention}
        for cohort in document.get("cohorts", [])
        for intervention in cohort.get("interventions", [])
    ]
    parts["cohorts"] = [{k: v for k, v in cohort.items() if k != "interventions"} for cohort in document.get("cohorts", [])]
    tables = []
    for key, label in DOCUMENT_TABLES:
        if parts.get(key):
            columns, rows = _table(parts[key])
            tables.append((label, columns, rows))
    return tables


def study_versions(request, accession: str):
    study = _public_study(accession)
    versions = list(study.versions.order_by("-number").values("number", "published_at", "note"))
    return render(request, "trials/study_versions.html", {"study": study, "versions": versions})


def study_version_detail(request, accession: str, number: int):
    study = _public_study(accession)
    version = get_object_or_404(study.versions, number=number)
    latest = study.versions.order_by("-number").values_list("number", flat=True).first()
    document = version.document
    return render(
        request,
        "trials/study_version_detail.html",
        {
            "study": study,
            "version": version,
            "latest": latest,
            "document": document,
            "headline": [
                (key, _display(document.get(key))) for key in HEADLINE_FIELDS if document.get(key) not in (None, "", [])
            ],
            "tables": document_tables(document),
        },
    )


def study_version_compare(request, accession: str):
    study = _public_study(accession)
    numbers = list(study.versions.order_by("number").values_list("number", flat=True))
    if not numbers:
        raise Http404
    try:
        old = int(request.GET.get("from", numbers[-2] if len(numbers) > 1 else numbers[0]))
        new = int(request.GET.get("to", numbers[-1]))
    except ValueError:
        raise Http404 from None
    versions = {v.number: v for v in study.versions.filter(number__in=[old, new])}
    if old not in versions or new not in versions:
        raise Http404
    changes = document_diff(versions[old].document, versions[new].document)
    return render(
        request,
        "trials/study_version_compare.html",
        {"study": study, "numbers": numbers, "old": versions[old], "new": versions[new], "changes": changes},
    )
