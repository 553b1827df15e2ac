import json
from pathlib import Path

from django.core.management.base import BaseCommand
from rest_framework.utils.encoders import JSONEncoder

from trials import models as m
from trials.api.serializers import DOCUMENT_FORMAT, document_queryset, study_document
from trials.backup import export_records
from trials.services import VOCABULARY_MODELS


class Command(BaseCommand):
    help = "Write studies, their vocabularies and source documents as one JSON file that import_studies reads."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default="-", help="Output file, or - for standard output (default)")
        parser.add_argument("--public", action="store_true", help="Only published and retracted studies")
        parser.add_argument("--include-synthetic", action="store_true", help="Include generated benchmark studies")
        parser.add_argument(
            "--no-records",
            action="store_true",
            help="Only the study documents (no published versions, review trail or change log)",
        )

    def handle(self, *args, file: str, public: bool, include_synthetic: bool, no_records: bool = False, **options):
        studies = m.Study.objects.order_by("accession")
        if public:
            studies = studies.public()
        if not include_synthetic:
            studies = studies.curated()
        payload = {
            "format": DOCUMENT_FORMAT,
            "vocabularies": {kind: vocabulary_items(kind) for kind in ("conditions", "cell_types", "instruments")},
            "source_documents": vocabulary_items("source_documents"),
            "studies": [study_document(study) for study in document_queryset(studies)],
        }
        if not no_records:
            payload["records"] = export_records(studies)
        text = json.dumps(payload, ensure_ascii=False, indent=2, cls=JSONEncoder) + "\n"
        if file == "-":
            self.stdout.write(text, ending="")
        else:
            Path(file).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {len(payload['studies'])} studies to {file}")


def vocabulary_items(kind: str) -> list[dict]:
    model, key_field, fields = VOCABULARY_MODELS[kind]
    # Broader conditions first, so that an import can resolve each `parent` as it goes.
    rows = sorted(model.objects.select_related(*(["parent"] if kind == "conditions" else [])), key=lambda o: _depth(o))
    items = []
    for obj in rows:
        item = {key_field: getattr(obj, key_field)}
        for field in fields:
            value = getattr(obj, field)
            if field == "parent":
                value = obj.parent.slug if obj.parent else None
            elif value is not None and not isinstance(value, (str, int, float, bool)):
                value = str(value)
            item[field] = value
        items.append(item)
    return items


def _depth(obj) -> tuple[int, str]:
    depth, node = 0, obj
    while getattr(node, "parent_id", None):
        depth, node = depth + 1, node.parent
    return depth, str(getattr(obj, "slug", getattr(obj, "key", "")))
