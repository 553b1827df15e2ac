"""The vocabularies and source documents in an export file: written by `export_studies`, read by
`import_studies` (created or updated by slug or key, broader conditions first)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from .spec import VOCABULARIES_BY_NAME
from .write import Errors


def vocabulary_items(name: str) -> list[dict[str, Any]]:
    vocabulary = VOCABULARIES_BY_NAME[name]
    related = ["parent"] if "parent" in vocabulary.keys else []
    # Broader conditions first, so that an import can resolve each `parent` as it goes.
    rows = sorted(vocabulary.model.objects.select_related(*related), key=_depth)
    items = []
    for row in rows:
        item: dict[str, Any] = {vocabulary.identity: getattr(row, vocabulary.identity)}
        for key in vocabulary.keys:
            value = getattr(row, key)
            if key == "parent":
                value = row.parent.slug if row.parent else None
            elif value is not None and not isinstance(value, (str, int, float, bool)):
                value = str(value)
            item[key] = value
        items.append(item)
    return items


def _depth(row: Any) -> tuple[int, str]:
    depth, node = 0, row
    while getattr(node, "parent_id", None):
        depth, node = depth + 1, node.parent
    return depth, str(getattr(row, "slug", getattr(row, "key", "")))


@transaction.atomic
def vocabulary_upsert(*, name: str, items: list[dict]) -> int:
    """Create or update vocabulary entries by slug (or key); returns how many rows changed."""
    vocabulary = VOCABULARIES_BY_NAME[name]
    model, identity = vocabulary.model, vocabulary.identity
    errors = Errors()
    changed = 0
    existing = {getattr(row, identity): row for row in model.objects.all()}
    for index, item in enumerate(items if isinstance(items, list) else []):
        path = f"{name}[{index}]"
        if not isinstance(item, dict):
            errors.add(path, "Expected an object.")
            continue
        for key in sorted(set(item) - {identity, *vocabulary.keys}):
            errors.add(f"{path}.{key}", "Unknown field.")
        instance = existing.get(item.get(identity)) or model(**{identity: item.get(identity)})
        before = [getattr(instance, "parent_id" if key == "parent" else key) for key in vocabulary.keys]
        for key in vocabulary.keys:
            value = item.get(key, model._meta.get_field(key).get_default())
            if key == "parent":
                parent = existing.get(value) if value else None
                if value and parent is None:
                    errors.add(f"{path}.parent", f"Unknown condition “{value}” (list broader conditions first).")
                instance.parent = parent
                continue
            if value is None and not model._meta.get_field(key).null:
                value = model._meta.get_field(key).get_default()
            setattr(instance, key, value)
        try:
            instance.full_clean(validate_unique=instance.pk is None)
        except ValidationError as error:
            errors.add_validation_error(path, error)
            continue
        after = [getattr(instance, "parent_id" if key == "parent" else key) for key in vocabulary.keys]
        if instance.pk is None or before != after:
            instance.save()
            changed += 1
        existing[getattr(instance, identity)] = instance
    errors.raise_if_any()
    return changed
