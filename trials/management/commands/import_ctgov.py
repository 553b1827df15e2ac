import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trials.documents import DocumentError
from trials.services.ctgov import RecordError, study_import_ctgov
from trials.services.studies import StudyNotEditable


class Command(BaseCommand):
    help = (
        "Import ClinicalTrials.gov API v2 study records (JSON, as /api/v2/studies/{nctId} returns them) into drafts; "
        "importing a record again updates its draft without overwriting a curator's edits. Prints the import report."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="JSON files, one study record each")
        parser.add_argument("--json", action="store_true", help="Print each report as JSON instead of text")

    def handle(self, *args, files: list[str], json: bool = False, **options):
        failed = 0
        for name in files:
            try:
                record = _load(name)
                result = study_import_ctgov(record=record, by=None)
            except (RecordError, DocumentError, StudyNotEditable, ValueError, OSError) as error:
                failed += 1
                self.stderr.write(f"{name}: {error}")
                continue
            summary = result.summary()
            if json:
                self.stdout.write(_dumps(summary))
                continue
            self.stdout.write(
                f"{name}: {summary['nct_id']} → {summary['study']} ({summary['outcome']}); "
                + ", ".join(f"{count} {status.replace('_', ' ')}" for status, count in summary["counts"].items())
            )
            for entry in summary["report"]:
                if entry["status"] != "mapped":
                    target = entry["field"] or "—"
                    note = f" ({entry['note']})" if entry["note"] else ""
                    value = " ".join(entry["value"].split())[:80]
                    self.stdout.write(f"  {entry['status']:<9} {entry['source']} → {target}: {value}{note}")
            for conflict in summary["kept_curator_edits"]:
                now = str(conflict["clinicaltrials_gov"])[:120]
                self.stdout.write(f"  kept the curator's {conflict['key']}; ClinicalTrials.gov now says: {now}")
        if failed:
            raise CommandError(f"{failed} of {len(files)} records were not imported.")


def _load(name: str):
    try:
        return json.loads(Path(name).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
