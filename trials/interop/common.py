"""What the interchange formats share: the public studies' documents read in bounded chunks, the names
behind vocabulary slugs, and the registries' identifier namespaces."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db.models import QuerySet

from trials import models as m
from trials.documents import document_queryset, study_document
from trials.validators import REGISTRY_URLS

# Studies read per round trip when streaming a whole registry: memory stays flat, queries stay few.
CHUNK = 500


def public_studies() -> QuerySet:
    """Published and retracted studies (retracted ones stay readable, marked as such)."""
    return m.Study.objects.public().records()


def iter_documents(queryset: QuerySet, chunk: int = CHUNK) -> Iterator[dict[str, Any]]:
    """The documents of `queryset` in primary-key order, `chunk` studies at a time (keyset, not OFFSET), so
    that a registry of any size streams with the memory of one chunk."""
    last = 0
    while True:
        studies = list(document_queryset(queryset.filter(pk__gt=last).order_by("pk")[:chunk]))
        if not studies:
            return
        for study in studies:
            yield study_document(study)
        last = studies[-1].pk
        # Prefetched rows and their parents refer to each other: without a collection the chunks read so far
        # wait for the cyclic collector's oldest generation, and memory grows with the registry after all.
        del studies
        gc.collect()


def registry_system(registry: str) -> str:
    """A registry's identifier namespace: the origin of its record pages (REGISTRY_URLS), e.g.
    https://clinicaltrials.gov; empty for `other`."""
    template = REGISTRY_URLS.get(registry)
    if not template:
        return ""
    parts = urlsplit(template)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Term:
    name: str
    name_zh: str = ""
    code: str = ""  # MeSH id of a condition, Cell Ontology id of a cell type, abbreviation of an instrument


class Vocabularies:
    """The names behind the slugs a document uses: one query per vocabulary, read once per response."""

    def __init__(self) -> None:
        self.conditions = {
            row.slug: Term(row.name, row.name_zh, row.mesh_id)
            for row in m.Condition.objects.only("slug", "name", "name_zh", "mesh_id")
        }
        self.cell_types = {
            row.slug: Term(row.name, row.name_zh, row.cell_ontology_id)
            for row in m.CellType.objects.only("slug", "name", "name_zh", "cell_ontology_id")
        }
        self.instruments = {
            row.slug: Term(row.name, row.name_zh, row.abbreviation)
            for row in m.Instrument.objects.only("slug", "name", "name_zh", "abbreviation")
        }

    @staticmethod
    def name(table: dict[str, Term], slug: str | None) -> str:
        if not slug:
            return ""
        term = table.get(slug)
        return term.name if term else slug
