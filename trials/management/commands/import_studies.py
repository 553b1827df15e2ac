import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from trials.backup import import_records, restore_server_owned
from trials.documents import READABLE_FORMATS, VOCABULARIES, DocumentError, vocabulary_upsert
from trials.services.studies import study_import

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "data" / "curated_studies.json"


class Command(BaseCommand):
    help = (
        "Import study documents (the format export_studies writes). Idempotent: a study is found by its accession, "
        "else by a registry identifier, and an unchanged study is left alone. Nothing is saved from a file with an "
        "invalid study unless --partial is given; each study is saved whole or not at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(DEFAULT_DATASET), help="JSON file (default: the curated dataset)")
        parser.add_argument("--partial", action="store_true", help="Save the valid studies of a file that also has invalid ones")

    def handle(self, *args, file: str, partial: bool = False, **options):
        try:
            payload = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        if not isinstance(payload, dict) or payload.get("format") not in READABLE_FORMATS:
            raise CommandError(f"{file} is not a {' or '.join(READABLE_FORMATS)} document (missing or wrong 'format').")
        studies = payload.get("studies", [])
        if not isinstance(studies, list):
            raise CommandError(f"{file}: 'studies' must be a list of study documents.")
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        failures = 0
        try:
            with transaction.atomic():
                failures += self.vocabularies(payload)
                records = payload.get("records") or {}
                for index, document in enumerate(studies):
                    failures += self.study(index, document, records, payload["format"], counts, partial)
                if failures and not partial:
                    raise _Refused
                if records:
                    restored = import_records(records)
                    if restored:
                        self.stdout.write(f"Published versions, review comments and workflow steps: {restored} restored.")
        except _Refused:
            pass
        self.stdout.write(
            f"Studies: {counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged, "
            f"{failures} with errors."
            + (" Nothing was saved (give --partial to save the valid ones)." if failures and not partial else "")
        )
        if failures:
            raise CommandError(f"{failures} record(s) were not imported; see the messages above.")

    def vocabularies(self, payload: dict) -> int:
        failures = 0
        for vocabulary in VOCABULARIES:
            items = (
                payload.get("source_documents", [])
                if vocabulary.name == "source_documents"
                else ((payload.get("vocabularies") or {}).get(vocabulary.name, []))
            )
            try:
                changed = vocabulary_upsert(name=vocabulary.name, items=items)
            except DocumentError as error:
                failures += 1
                for path, messages in error.errors.items():
                    self.stderr.write(f"{path}: {' '.join(messages)}")
                continue
            if changed:
                self.stdout.write(f"{vocabulary.name.replace('_', ' ').capitalize()}: {changed} created or updated.")
        return failures

    def study(self, index: int, document, records: dict, file_format: str, counts: dict, partial: bool) -> int:
        accession = document.get("accession") if isinstance(document, dict) else None
        label = accession if isinstance(accession, str) and accession else f"studies[{index}]"
        # A backup's own published versions are restored as they were, not taken anew.
        has_versions = bool((records.get(accession) or {}).get("versions")) if isinstance(accession, str) else False
        try:
            with transaction.atomic():
                study, outcome = study_import(document=document, snapshot=not has_versions)
        except DocumentError as error:
            for path, messages in error.errors.items():
                self.stderr.write(f"{label}: {path}: {' '.join(messages)}")
            return 1
        counts[outcome] += 1
        if outcome == "created":
            restore_server_owned(study, document, records.get(study.accession) or {}, file_format)
        return 0


class _Refused(Exception):
    """Roll the whole file back: it has an invalid study and --partial was not given."""
