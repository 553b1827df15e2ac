import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from trials import models as m
from trials.backup import export_records
from trials.documents import DOCUMENT_FORMAT, VOCABULARIES, document_queryset, study_document, vocabulary_items
from trials.interop import jsonl as _jsonl


class Command(BaseCommand):
    help = "Write studies, their vocabularies and source documents as one JSON file that import_studies reads."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default="-", help="Output file, or - for standard output (default)")
        parser.add_argument("--public", action="store_true", help="Only published and retracted studies")
        parser.add_argument(
            "--no-records",
            action="store_true",
            help="Only the study documents (no published versions, review trail or change log)",
        )
        parser.add_argument(
            "--jsonl",
            action="store_true",
            help="Gzip JSON Lines instead: a header line, then one study document per line (as /api/v1/export/"
            "studies.jsonl.gz serves the public ones), written as it is read",
        )

    def handle(self, *args, file: str, public: bool, no_records: bool = False, jsonl: bool = False, **options):
        if jsonl:
            return self.write_jsonl(file, public)
        # Studies proper: a private revision copy is not a study of its own (it is published or dropped).
        studies = m.Study.objects.records().order_by("accession")
        if public:
            studies = studies.public()
        payload = {
            "format": DOCUMENT_FORMAT,
            "vocabularies": {v.name: vocabulary_items(v.name) for v in VOCABULARIES if v.name != "source_documents"},
            "source_documents": vocabulary_items("source_documents"),
            "studies": [study_document(study) for study in document_queryset(studies)],
        }
        if not no_records:
            payload["records"] = export_records(studies)
        text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
        if file == "-":
            self.stdout.write(text, ending="")
        else:
            Path(file).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {len(payload['studies'])} studies to {file}")

    def write_jsonl(self, file: str, public: bool) -> None:
        studies = m.Study.objects.records()
        if public:
            studies = studies.public()
        pieces = _jsonl.gzipped(_jsonl.jsonl_lines(studies))
        if file == "-":
            for piece in pieces:
                sys.stdout.buffer.write(piece)
            sys.stdout.buffer.flush()
            return
        with open(file, "wb") as output:
            for piece in pieces:
                output.write(piece)
        self.stderr.write(f"Wrote {file}")
