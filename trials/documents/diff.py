"""What changed between two versions of a study document, row by row and in words.

Rows are compared by identity, never by position: by their stable `key`, or, for documents frozen before
rows had keys, by their natural identity (`Part.natural`). Reordering rows is therefore no change, and
one changed number is exactly one change. Each change is labelled as a reader says it ("ALSFRS-R at
6 months · UC-MSC", "value", "36 → 36.4") in the active language.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from trials import models as m

from .spec import PARTS, STUDY_KEYS, Part
from .values import parse_partial_date
from .words import Words, field_label, row_label, value_text

STUDY_SECTION = "study"
# Keys that are not content: where a row sits in a list is not a change, nor is a computed link.
IGNORED = {"key", "url", "accession", "version", "updated_at"}


@dataclass
class FieldChange:
    key: str
    label: str
    old: Any
    new: Any
    old_text: str
    new_text: str


@dataclass
class RowChange:
    section: str
    section_label: str
    change: str  # "added", "removed" or "changed"
    key: str | None
    label: str
    fields: list[FieldChange] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "section_label": self.section_label,
            "change": self.change,
            "key": self.key,
            "label": self.label,
            "fields": [
                {"field": f.key, "label": f.label, "old": f.old, "new": f.new, "old_text": f.old_text, "new_text": f.new_text}
                for f in self.fields
            ],
        }


def _natural(part: Part, row: dict, cohort: str = "") -> tuple:
    identity: list[Any] = [cohort] if part.name == "interventions" else []
    for key in part.natural:
        value = row.get(key)
        if key in part.dates:
            with contextlib.suppress(Exception):
                value = parse_partial_date(value)
        identity.append(float(value) if isinstance(value, int) and not isinstance(value, bool) else value)
    return tuple(identity)


def _pair(part: Part, old_rows: list[dict], new_rows: list[dict]):
    """Pairs of (old row, new row); either is None for a row added or removed. Keys first, then identity."""
    pairs: list[tuple[dict | None, dict | None]] = []
    old_left = list(enumerate(old_rows))
    new_left = list(enumerate(new_rows))
    old_keys = {row.get("key"): i for i, row in old_left if row.get("key")}
    matched_old: set[int] = set()
    unmatched_new = []
    for _j, row in new_left:
        i = old_keys.get(row.get("key")) if row.get("key") else None
        if i is not None and i not in matched_old:
            matched_old.add(i)
            pairs.append((old_rows[i], row))
        else:
            unmatched_new.append(row)
    remaining_old = [(i, row) for i, row in old_left if i not in matched_old]
    for row in unmatched_new:
        identity = _natural(part, row, row.get("__cohort", ""))
        found = next(
            (
                (i, old)
                for i, old in remaining_old
                if not (old.get("key") and row.get("key")) and _natural(part, old, old.get("__cohort", "")) == identity
            ),
            None,
        )
        if found is not None:
            remaining_old.remove(found)
            pairs.append((found[1], row))
        else:
            pairs.append((None, row))
    pairs.extend((old, None) for _i, old in remaining_old)
    return pairs


def _flatten_interventions(document: dict) -> list[dict]:
    return [
        {**intervention, "__cohort": cohort.get("label", "")}
        for cohort in document.get("cohorts") or []
        for intervention in cohort.get("interventions") or []
    ]


def _compare_rows(part: Part, old: dict | None, new: dict | None, words: Words) -> RowChange | None:
    section_label = str(part.label)
    some = new if new is not None else old
    assert some is not None
    cohort = some.get("__cohort", "")
    label = row_label(part, some, words, cohort)
    key = some.get("key")
    if old is None or new is None:
        return RowChange(part.name, section_label, "added" if old is None else "removed", key, label)
    nested = {child.name for child in part.children}
    fields = []
    for name in part.keys:
        if name in IGNORED or name in nested or name in part.computed:
            continue
        before, after = old.get(name), new.get(name)
        if _same(before, after):
            continue
        fields.append(
            FieldChange(
                name,
                field_label(part.model, name),
                before,
                after,
                value_text(part.model, name, before, words, part),
                value_text(part.model, name, after, words, part),
            )
        )
    if new.get("__cohort", cohort) != old.get("__cohort", cohort):
        before, after = old.get("__cohort"), new.get("__cohort")
        fields.insert(0, FieldChange("cohort", _("cohort"), before, after, str(before), str(after)))
    if not fields:
        return None
    return RowChange(part.name, section_label, "changed", key, label, fields)


def _same(before: Any, after: Any) -> bool:
    empty: tuple[Any, ...] = (None, "", [])
    if before in empty and after in empty:
        return True
    if isinstance(before, (int, float)) and isinstance(after, (int, float)) and not isinstance(before, bool):
        return float(before) == float(after)
    return before == after


def document_changes(old: dict, new: dict, words: Words | None = None) -> list[RowChange]:
    """Every difference between two study documents, study fields first, then each part in reading order.

    `words` may be shared by many comparisons (a feed's entries), so each vocabulary is read once."""
    words = words or Words(old, new)
    changes: list[RowChange] = []
    study_fields = []
    for key in STUDY_KEYS:
        if key in IGNORED:
            continue
        before, after = old.get(key), new.get(key)
        if key == "countries":
            if sorted(before or []) == sorted(after or []):
                continue
        elif _same(before, after):
            continue
        study_fields.append(
            FieldChange(
                key,
                field_label(m.Study, key),
                before,
                after,
                value_text(m.Study, key, before, words),
                value_text(m.Study, key, after, words),
            )
        )
    if study_fields:
        changes.append(RowChange(STUDY_SECTION, _("Study"), "changed", None, old.get("accession") or "", study_fields))
    for part in PARTS:
        for old_row, new_row in _pair(part, old.get(part.name) or [], new.get(part.name) or []):
            change = _compare_rows(part, old_row, new_row, words)
            if change is not None:
                changes.append(change)
        for child in part.children:
            old_children = _flatten_interventions(old) if child.name == "interventions" else []
            new_children = _flatten_interventions(new) if child.name == "interventions" else []
            for old_row, new_row in _pair(child, old_children, new_children):
                change = _compare_rows(child, old_row, new_row, words)
                if change is not None:
                    changes.append(change)
    return changes


def document_changes_json(old: dict, new: dict) -> list[dict[str, Any]]:
    """The changes as JSON, in words in both languages: `label`, `section_label`, `old_text` ... in English,
    and the same keys ending in `_zh` in Chinese (an API's answer should not depend on a header)."""
    from django.utils import translation

    with translation.override("en"):
        english = [change.as_json() for change in document_changes(old, new)]
    with translation.override("zh-hans"):
        chinese = [change.as_json() for change in document_changes(old, new)]
    for en, zh in zip(english, chinese, strict=True):
        en.update(section_label_zh=zh["section_label"], label_zh=zh["label"])
        for field_en, field_zh in zip(en["fields"], zh["fields"], strict=True):
            field_en.update(label_zh=field_zh["label"], old_text_zh=field_zh["old_text"], new_text_zh=field_zh["new_text"])
    return english


def changes_by_section(changes: list[RowChange]) -> list[tuple[str, list[RowChange]]]:
    sections: dict[str, list[RowChange]] = {}
    for change in changes:
        sections.setdefault(change.section_label, []).append(change)
    return list(sections.items())
