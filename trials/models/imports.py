"""Records imported from other registries: what was read, into which draft, and what the import made of it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import constraint_name
from .study import Study


class CtgovImport(models.Model):
    """The last import of one ClinicalTrials.gov record (by NCT number) and the study it fills.

    `document` is the study document the record mapped to at that import: the common ancestor against
    which a re-import tells the curator's edits (the study differs from it) from ClinicalTrials.gov's
    changes (the new mapping differs from it), so that an edit is never overwritten silently.
    """

    nct_id = models.CharField(_("NCT number"), max_length=11, unique=True)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="ctgov_imports", verbose_name=_("study"))
    record = models.JSONField(_("record as imported"))
    document = models.JSONField(_("document as mapped"))
    report = models.JSONField(_("import report"), default=list)
    conflicts = models.JSONField(_("kept curator edits"), default=list)
    last_update_posted = models.CharField(_("last update posted"), max_length=10, blank=True)
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)
    imported_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("imported by")
    )
    import_count = models.PositiveIntegerField(_("imports"), default=1)

    class Meta:
        verbose_name = _("ClinicalTrials.gov import")
        verbose_name_plural = _("ClinicalTrials.gov imports")
        ordering = ["-imported_at"]
        constraints = [
            models.CheckConstraint(condition=Q(nct_id__regex=r"^NCT[0-9]{8}$"), name=constraint_name("nct_format")),
        ]

    def __str__(self) -> str:
        return f"{self.nct_id} → {self.study.accession}"
