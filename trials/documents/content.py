"""A document's content, and complete documents: every key of every row present, at its default. An
importer building a document from another format starts from these, so that what it builds equals the
stored document read back."""

from __future__ import annotations

from typing import Any

from trials import models as m

from .spec import PARTS, PARTS_BY_NAME, SERVER_OWNED, STUDY_DATES, STUDY_FIELD_KEYS, WORKFLOW_OWNED, Part, model_field
from .values import to_json


def _default(part_or_model: Any, key: str) -> Any:
    model = part_or_model.model if isinstance(part_or_model, Part) else part_or_model
    return to_json(model_field(model, key), model_field(model, key).get_default())


def blank_row(part: Part) -> dict[str, Any]:
    """A row of `part` with every key at its default (vocabulary entries, cohort and dates unset)."""
    row: dict[str, Any] = {}
    nested = {child.name for child in part.children}
    for key in part.keys:
        if key == "key" or key in part.computed:
            continue
        if key in nested:
            row[key] = []
        elif key in part.vocabularies or key in part.dates or key == "cohort":
            row[key] = None
        else:
            row[key] = _default(part, key)
    return row


def blank_document() -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key in STUDY_FIELD_KEYS:
        document[key] = None if key in STUDY_DATES else _default(m.Study, key)
    document["countries"] = []
    for part in PARTS:  # every list the document has, from its one definition
        document[part.name] = []
    return document


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """A document's content as the import compares it: no row keys, no computed or registry-owned keys."""
    content = without_keys(document)
    for key in (*SERVER_OWNED, *WORKFLOW_OWNED):
        content.pop(key, None)
    for name, part in PARTS_BY_NAME.items():
        if name in content and part.computed:
            content[name] = [{k: v for k, v in row.items() if k not in part.computed} for row in content[name]]
    return content


def without_keys(document: Any) -> Any:
    """The document's content: without row keys and what the registry stamps on it (version, updated_at).
    Two documents with the same content describe the same study, whatever their rows' keys."""
    if isinstance(document, dict):
        return {k: without_keys(v) for k, v in document.items() if k not in ("key", "version", "updated_at")}
    if isinstance(document, list):
        return [without_keys(item) for item in document]
    return document
