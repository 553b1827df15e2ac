"""A study document in words, in the active language: names for slugs and codes, labels for keys, how a
reader names a row ("ALSFRS-R at 6 months · UC-MSC"). Used by the compare page and the version pages."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django_countries import countries as country_names

from trials import choices as c
from trials import models as m
from trials.formatting import duration

from .spec import Part, model_field


def _is_zh() -> bool:
    return (get_language() or "").startswith("zh")


class Words:
    """Names for the slugs and codes a document holds, from the vocabularies (one query each, on demand)."""

    def __init__(self, *documents: dict) -> None:
        self._cache: dict[Any, dict[str, Any]] = {}
        # Cohorts are named by label in a document; their Chinese labels come from the documents themselves.
        self._cohorts_zh = {
            cohort.get("label"): cohort.get("label_zh")
            for document in documents
            for cohort in document.get("cohorts") or []
            if cohort.get("label_zh")
        }

    def cohort(self, label: str | None) -> str:
        if not label:
            return ""
        return (self._cohorts_zh.get(label) if _is_zh() else None) or label

    def entry(self, model: Any, slug_field: str, value: Any) -> Any:
        if model not in self._cache:
            self._cache[model] = {getattr(obj, slug_field): obj for obj in model.objects.all()}
        return self._cache[model].get(value)

    def vocabulary(self, model: Any, slug_field: str, value: Any) -> str:
        entry = self.entry(model, slug_field, value)
        if entry is None:
            return str(value)
        if isinstance(entry, m.Instrument):
            return entry.abbreviation or entry.tr("name")
        if isinstance(entry, m.SourceDocument):
            return entry.title
        return entry.tr("name")


def _number(value: Any) -> str:
    from trials.formatting import number

    return number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def value_text(model: type[models.Model], key: str, value: Any, words: Words, part: Part | None = None) -> str:
    """A document value as a reader reads it: choice labels, yes/no, numbers as written, names for slugs."""
    if value is None or value == "" or value == []:
        return "—"
    if part is not None and key in part.vocabularies:
        vocabulary, slug_field = part.vocabularies[key]
        return words.vocabulary(vocabulary, slug_field, value)
    if key == "countries":
        return ", ".join(str(country_names.name(code) or code) for code in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    try:
        stored = model_field(model, key)
    except Exception:
        stored = None
    if stored is not None and stored.choices:
        return str(dict(stored.flatchoices).get(value, value))
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return _number(value)


def field_label(model: type[models.Model], key: str) -> str:
    try:
        return str(model_field(model, key).verbose_name)
    except Exception:
        return {"countries": _("countries"), "cohort": _("cohort")}.get(key, key.replace("_", " "))


def _localized(row: dict, key: str) -> str:
    return (row.get(f"{key}_zh") if _is_zh() else None) or row.get(key) or ""


def timepoint_words(row: dict) -> str:
    start, end, unit = row.get("timepoint"), row.get("timepoint_to"), row.get("timepoint_unit") or ""
    if start is None:
        return _("at last follow-up") if row.get("is_last_follow_up") else _("time not reported")
    known = unit in c.TimeUnit.values
    if end is not None:
        window = f"{_number(start)}–{_number(end)}"
        return _("over %(window)s") % {"window": duration(window, unit, count=end) if known else window}
    return _("at %(time)s") % {"time": duration(_number(start), unit, count=start) if known else _number(start)}


def row_label(part: Part, row: dict, words: Words, cohort: str = "") -> str:
    """How a reader names a row: "ALSFRS-R at 6 months · UC-MSC"."""
    name = part.name
    if name == "outcomes":
        what = words.vocabulary(m.Instrument, "slug", row.get("instrument"))
        detail = _localized(row, "measure_detail")
        parts = [f"{what} ({detail})" if detail else what, timepoint_words(row)]
        text = " ".join(parts)
        return f"{text} · {words.cohort(row['cohort'])}" if row.get("cohort") else text
    if name == "adverse_events":
        term = _localized(row, "term")
        return f"{term} · {words.cohort(row['cohort'])}" if row.get("cohort") else term
    if name == "cohorts":
        return _localized(row, "label")
    if name == "interventions":
        return f"{_localized(row, 'name')} · {words.cohort(cohort)}" if cohort else _localized(row, "name")
    if name == "registry_ids":
        return f"{row.get('registry')} {row.get('value')}"
    if name == "publications":
        return _localized(row, "title")
    if name == "milestones":
        kind = value_text(part.model, "kind", row.get("kind"), words)
        return " ".join(filter(None, [kind, f"({row.get('agency')})" if row.get("agency") else "", row.get("date") or ""]))
    if name == "conditions":
        return words.vocabulary(m.Condition, "slug", row.get("condition"))
    if name == "organisations":
        return words.vocabulary(m.Organisation, "slug", row.get("organisation"))
    if name == "sites":
        return ", ".join(filter(None, [_localized(row, "facility"), row.get("city") or ""]))
    if name in ("withdrawals", "baseline_measures"):
        what = value_text(
            part.model,
            "reason" if name == "withdrawals" else "kind",
            row.get("reason" if name == "withdrawals" else "kind"),
            words,
        )
        if name == "baseline_measures":
            detail = (
                words.vocabulary(m.Instrument, "slug", row.get("instrument"))
                if row.get("instrument")
                else _localized(row, "label")
            )
            what = " ".join(filter(None, [detail or what, row.get("category") or ""]))
        return f"{what} · {words.cohort(cohort)}" if cohort else what
    if name == "sources":
        return words.vocabulary(m.SourceDocument, "key", row.get("document"))
    return str(row.get("key") or "")
