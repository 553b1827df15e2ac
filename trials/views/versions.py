"""Public version history: every published version of a study, frozen, and what changed between two, in words."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from trials import choices as c
from trials import models as m
from trials.documents import PARTS, changes_by_section, document_changes, without_private_contacts
from trials.documents.words import Words, field_label, value_text

HEADLINE_FIELDS = [
    "accession", "study_type", "phase", "phase_reported", "overall_status", "start_date", "completion_date",
    "enrollment", "enrollment_type", "follow_up_months", "countries", "sponsor", "institutions", "curation_state",
    "retraction_reason",
]  # fmt: skip


def _public_study(accession: str) -> m.Study:
    return get_object_or_404(m.Study.objects.public(), accession=accession)


def _in_words(model, key: str, value, words: Words, part=None) -> str:
    return value_text(model, key, value, words, part)


def _table(part, rows: list[dict], words: Words) -> tuple[list[str], list[list[str]]]:
    """Columns that hold a value in at least one row (so that empty fields do not crowd the table), in words."""
    nested = {child.name for child in part.children}
    keys = [
        key for key in part.keys if key not in ("key", "url", *nested) and any(row.get(key) not in (None, "", []) for row in rows)
    ]
    if part.parent_field == "cohort":  # a cohort's own rows (interventions, withdrawals, baselines)
        keys = ["cohort", *keys]
    columns = [field_label(part.model, key) for key in keys]
    return columns, [[_in_words(part.model, key, row.get(key), words, part) for key in keys] for row in rows]


def document_tables(document: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    words = Words()
    tables = []
    for part in PARTS:
        rows = document.get(part.name) or []
        if rows:
            tables.append((str(part.label), *_table(part, rows, words)))
        for child in part.children:
            child_rows = [{**row, "cohort": parent.get("label")} for parent in rows for row in parent.get(child.name) or []]
            if child_rows:
                tables.append((str(child.label), *_table(child, child_rows, words)))
    return tables


@require_safe  # GET and HEAD only: any other method is a 405, never the page
def study_versions(request, accession: str):
    study = _public_study(accession)
    versions = list(study.versions.order_by("-number").values("number", "published_at", "note"))
    return render(request, "trials/study_versions.html", {"study": study, "versions": versions})


@require_safe  # GET and HEAD only: any other method is a 405, never the page
def study_version_detail(request, accession: str, number: int):
    study = _public_study(accession)
    version = get_object_or_404(study.versions, number=number)
    latest = study.versions.order_by("-number").values_list("number", flat=True).first()
    # A retracted study's versions keep their sites but not the contacts of people (as its page does).
    document = (
        version.document if study.curation_state == c.CurationState.PUBLISHED else without_private_contacts(version.document)
    )
    return render(
        request,
        "trials/study_version_detail.html",
        {
            "study": study,
            "version": version,
            "latest": latest,
            "document": document,
            "headline": [
                (field_label(m.Study, key), _in_words(m.Study, key, document.get(key), Words()))
                for key in HEADLINE_FIELDS
                if document.get(key) not in (None, "", [])
            ],
            "tables": document_tables(document),
        },
    )


@require_safe  # GET and HEAD only: any other method is a 405, never the page
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
    changes = document_changes(versions[old].document, versions[new].document)
    return render(
        request,
        "trials/study_version_compare.html",
        {
            "study": study,
            "numbers": numbers,
            "old": versions[old],
            "new": versions[new],
            "sections": changes_by_section(changes),
            "change_count": sum(max(1, len(change.fields)) for change in changes),
        },
    )
