"""The study document, defined once (`spec`), read (`read`), written (`write`) and compared (`diff`).

The admin, the API, import/export, backups, published versions and the compare page all go through
this package; `trials.services` wraps its writes in locks, permissions and the workflow's rules.
"""

from .content import blank_document, blank_row, comparable, without_keys
from .diff import RowChange, changes_by_section, document_changes, document_changes_json
from .read import document_queryset, load_document, public_version_subquery, row_document, study_document
from .spec import (
    DOCUMENT_FORMAT,
    DOCUMENT_KEYS,
    PARTS,
    PARTS_BY_NAME,
    READABLE_FORMATS,
    SERVER_OWNED,
    STUDY_KEYS,
    VOCABULARIES,
    WORKFLOW_OWNED,
    Part,
    without_private_contacts,
)
from .store import store_document
from .vocabularies import vocabulary_items, vocabulary_upsert
from .write import DocumentError, ParsedDocument, parse_document

__all__ = [
    "blank_document",
    "blank_row",
    "comparable",
    "DOCUMENT_FORMAT",
    "DOCUMENT_KEYS",
    "PARTS",
    "PARTS_BY_NAME",
    "READABLE_FORMATS",
    "SERVER_OWNED",
    "STUDY_KEYS",
    "VOCABULARIES",
    "WORKFLOW_OWNED",
    "DocumentError",
    "ParsedDocument",
    "Part",
    "RowChange",
    "changes_by_section",
    "document_changes",
    "document_changes_json",
    "document_queryset",
    "load_document",
    "parse_document",
    "public_version_subquery",
    "row_document",
    "store_document",
    "study_document",
    "vocabulary_items",
    "vocabulary_upsert",
    "without_keys",
    "without_private_contacts",
]
