"""Accessions: NCR-000123, handed out once and never again, even when the draft that took one is deleted."""

from __future__ import annotations

from django.db import transaction
from django.db.models.functions import Length

from trials import models as m


def accession_number(accession: str) -> int:
    return int(accession.split("-")[1])


def accession_format(number: int) -> str:
    return f"NCR-{number:06d}"


@transaction.atomic
def accession_reserve() -> str:
    """The next accession. The counter row is locked, so two writers never get the same number, and it
    only moves forward, so a deleted draft's accession is never handed out again."""
    counter, _created = m.AccessionCounter.objects.select_for_update().get_or_create(pk=1)
    # Longest first: NCR-1000000 comes after NCR-999999 (rows written without the counter, e.g. bulk loads).
    highest = (
        m.Study.objects.records().order_by(Length("accession").desc(), "-accession").values_list("accession", flat=True).first()
    )
    number = max(counter.last_number, accession_number(highest) if highest else 0) + 1
    counter.last_number = number
    counter.save(update_fields=["last_number"])
    return accession_format(number)


def accession_counter_raise(number: int) -> None:
    """A restored study keeps its accession; later ones are numbered after it."""
    counter, _created = m.AccessionCounter.objects.select_for_update().get_or_create(pk=1)
    if counter.last_number < number:
        counter.last_number = number
        counter.save(update_fields=["last_number"])
