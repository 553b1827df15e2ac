import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from trials.api.serializers import DOCUMENT_FORMAT
from trials.backup import import_records
from trials.services import DocumentError, study_save_document, vocabulary_upsert

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "data" / "curated_studies.json"


class Command(BaseCommand):
    help = (
        "Import study documents (the format export_studies writes). Idempotent: studies are matched by "
        "accession and an unchanged study is left alone. Each study is saved whole or not at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(DEFAULT_DATASET), help="JSON file (default: the curated dataset)")

    def handle(self, *args, file: str, **options):
        try:
            payload = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        if not isinstance(payload, dict) or payload.get("format") != DOCUMENT_FORMAT:
            raise CommandError(f"{file} is not a {DOCUMENT_FORMAT} document (missing or wrong 'format').")

        failures = 0
        vocabularies = payload.get("vocabularies", {})
        for kind in ("conditions", "cell_types", "instruments"):
            failures += self._upsert(kind, vocabularies.get(kind, []))
        failures += self._upsert("source_documents", payload.get("source_documents", []))

        records = payload.get("records") or {}
        created = updated = unchanged = 0
        for index, document in enumerate(payload.get("studies", [])):
            label = document.get("accession") if isinstance(document, dict) else None
            label = label or f"studies[{index}]"
            is_new = not isinstance(document, dict) or not document.get("accession")
            try:
                from trials.models import Study

                exists = not is_new and Study.objects.filter(accession=document["accession"]).exists()
                # A backup's own published versions are restored below, as they were.
                has_versions = bool(records.get(document.get("accession"), {}).get("versions"))
                study, changed = study_save_document(document=document, snapshot=not has_versions)
            except DocumentError as error:
                failures += 1
                for path, messages in error.errors.items():
                    self.stderr.write(f"{label}: {path}: {' '.join(messages)}")
                continue
            if not changed:
                unchanged += 1
            elif exists:
                updated += 1
            else:
                restore_server_owned(study, document)
                created += 1
        self.stdout.write(f"Studies: {created} created, {updated} updated, {unchanged} unchanged, {failures} with errors.")
        if records:
            restored = import_records(records)
            if restored:
                self.stdout.write(f"Published versions, review comments and workflow steps: {restored} restored.")
        if failures:
            raise CommandError(f"{failures} record(s) were not imported; see the messages above.")

    def _upsert(self, kind: str, items: list) -> int:
        try:
            changed = vocabulary_upsert(kind=kind, items=items)
        except DocumentError as error:
            for path, messages in error.errors.items():
                self.stderr.write(f"{path}: {' '.join(messages)}")
            return 1
        if changed:
            self.stdout.write(f"{kind.replace('_', ' ').capitalize()}: {changed} created or updated.")
        return 0


def restore_server_owned(study, document: dict) -> None:
    """A new study from a document that carries `version` and `updated_at` (an export_studies backup):
    keep them, so that a restored registry answers as before instead of "version 1, updated today".

    Versions feed ETags (`NCR-000001-v4`): starting again at 1 would let a client's cached tag match a
    different document later. An existing study changed by an import is an edit, versioned as usual.
    """
    from trials.models import Study

    restored = {}
    version = document.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > 1:
        restored["version"] = version
    updated_at = parse_datetime(document["updated_at"]) if isinstance(document.get("updated_at"), str) else None
    if updated_at is not None:
        restored["updated_at"] = updated_at
    if restored:
        Study.objects.filter(pk=study.pk).update(**restored)
