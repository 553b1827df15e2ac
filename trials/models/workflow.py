"""The review workflow's records: comments, the steps a study took, and its published versions."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trials import choices as c

from .base import constraint_name
from .study import Study


class ReviewComment(models.Model):
    """A reviewer's comment on a study; an unresolved blocking comment stops publication."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="review_comments")
    author = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("author"))
    text = models.TextField(_("comment"))
    blocking = models.BooleanField(
        _("blocking"), default=True, help_text=_("Must be resolved before the study can be published.")
    )
    created_at = models.DateTimeField(_("written"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("resolved by")
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("review comment")
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True, resolved_by__isnull=True)
                | Q(resolved_at__isnull=False, resolved_by__isnull=False),
                name=constraint_name("resolution_complete"),
            ),
            models.CheckConstraint(condition=~Q(text=""), name=constraint_name("text_present")),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class StudyTransition(models.Model):
    """One step of a study through the workflow: who moved it from which state to which, and when."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(_("action"), max_length=20, choices=c.WorkflowAction.choices)
    from_state = models.CharField(_("from"), max_length=12, choices=c.CurationState.choices)
    to_state = models.CharField(_("to"), max_length=12, choices=c.CurationState.choices)
    by = models.ForeignKey("auth.User", null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("workflow step")

    def __str__(self) -> str:
        return f"{self.action}: {self.from_state} → {self.to_state}"


class StudyVersion(models.Model):
    """A published version of a study, frozen as its whole document at the moment it was published."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    document = models.JSONField(_("document"))
    published_at = models.DateTimeField(_("published"), default=timezone.now)
    published_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("what changed"), blank=True)

    class Meta:
        ordering = ["study", "number"]
        verbose_name = _("published version")
        constraints = [
            models.UniqueConstraint(fields=["study", "number"], name=constraint_name("unique_number")),
            models.CheckConstraint(condition=Q(number__gte=1), name=constraint_name("number_positive")),
        ]

    def __str__(self) -> str:
        return f"{self.study.accession} v{self.number}"
