"""Reading a study document: the query shape that loads one, and the document built from its rows."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from trials import models as m

from .spec import PARTS, STUDY_DATES, STUDY_KEYS, Part, model_field
from .values import format_partial_date, to_json


def _rows(part: Part) -> QuerySet:
    """One part's rows with what their keys name (vocabulary entries, the cohort), in curation order."""
    related = [*part.vocabularies, *(["cohort"] if "cohort" in part.keys else [])]
    rows = part.model.objects.select_related(*related).order_by("pk")
    for child in part.children:
        rows = rows.prefetch_related(Prefetch(child.manager, queryset=_rows(child)))
    return rows


def public_version_subquery() -> Subquery:
    """The number of the study's latest published version (null before its first publication)."""
    return Subquery(m.StudyVersion.objects.filter(study=OuterRef("pk")).order_by("-number").values("number")[:1])


def document_queryset(queryset: QuerySet | None = None) -> QuerySet:
    """Everything a study document needs, in a fixed number of queries whatever the study's size:
    the studies (with their public version number), then one query per part (two for cohorts)."""
    queryset = m.Study.objects.all() if queryset is None else queryset
    return queryset.annotate(public_version=public_version_subquery()).prefetch_related(
        Prefetch("countries", queryset=m.StudyCountry.objects.order_by("pk")),
        *(Prefetch(part.manager, queryset=_rows(part)) for part in PARTS),
    )


def row_document(part: Part, row: Any, children: dict[str, list] | None = None) -> dict[str, Any]:
    """One row as its document; `children` gives nested lists instead of reading them (the admin's forms)."""
    document: dict[str, Any] = {}
    nested = {child.name: child for child in part.children}
    for key in part.keys:
        if key in part.computed:
            value = part.computed[key](row)
        elif key in nested and children is not None:
            value = children.get(key, [])
        elif key in nested:
            child = nested[key]
            value = [row_document(child, item) for item in getattr(row, child.manager).all()]
        elif key in part.dates:
            value = format_partial_date(getattr(row, key), getattr(row, f"{key}_precision")) or None
        elif key in part.vocabularies:
            entry = getattr(row, key)
            value = getattr(entry, part.vocabularies[key][1]) if entry is not None else None
        elif key == "cohort":
            value = row.cohort.label if row.cohort_id is not None else None
        else:
            value = to_json(part.field(key), getattr(row, key))
        document[key] = value
    return document


def study_document(study: m.Study) -> dict[str, Any]:
    """The study as its document. Load it with `document_queryset` (else each part costs a query)."""
    document: dict[str, Any] = {}
    for key in STUDY_KEYS:
        if key == "countries":
            document[key] = [row.country.code for row in study.countries.all()]
        elif key in STUDY_DATES:
            document[key] = format_partial_date(getattr(study, key), getattr(study, f"{key}_precision")) or None
        else:
            document[key] = to_json(model_field(m.Study, key), getattr(study, key))
    for part in PARTS:
        document[part.name] = [row_document(part, row) for row in getattr(study, part.manager).all()]
    document["version"] = public_version(study)
    document["updated_at"] = to_json(model_field(m.Study, "updated_at"), study.updated_at)
    return document


def public_version(study: m.Study) -> int | None:
    if hasattr(study, "public_version"):  # document_queryset's annotation
        return cast(int | None, study.public_version)
    return study.versions.order_by("-number").values_list("number", flat=True).first()


def load_document(study: m.Study) -> dict[str, Any]:
    """The stored document of `study`, read afresh."""
    return study_document(document_queryset(m.Study.objects.filter(pk=study.pk)).get())
