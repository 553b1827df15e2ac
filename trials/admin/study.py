"""The study's admin page: its fields and every row on one page, the workflow's buttons, its full history.

Nothing here saves a study itself: `save_related` hands the document the forms make to
`study_create` / `study_update`, and the buttons call the workflow services, as the API does.
"""

from __future__ import annotations

import nested_admin
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from trials import choices as c
from trials import models as m
from trials.changelog import study_history
from trials.choices import WorkflowAction as Action
from trials.documents import public_version_subquery
from trials.services import studies as study_services
from trials.services import workflow

from .forms import DocumentCheck, StudyAdminForm, admin_document, live_forms
from .inlines import (
    AdverseEventInline,
    CohortInline,
    ConditionInline,
    CountryInline,
    MilestoneInline,
    OutcomeInline,
    PublicationInline,
    RegistryIdentifierInline,
    SourceInline,
)


class ConditionFilter(admin.SimpleListFilter):
    title = _("condition")
    parameter_name = "condition"

    def lookups(self, request, model_admin):
        return list(m.Condition.objects.values_list("slug", "name"))

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        condition = m.Condition.objects.filter(slug=self.value()).first()
        ids = condition.descendant_ids() if condition else set()
        return queryset.filter(Exists(m.StudyCondition.objects.filter(study=OuterRef("pk"), condition_id__in=ids)))


class CellTypeFilter(admin.SimpleListFilter):
    title = _("cell type")
    parameter_name = "cell_type"

    def lookups(self, request, model_admin):
        return list(m.CellType.objects.values_list("slug", "name"))

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(Exists(m.Intervention.objects.filter(cohort__study=OuterRef("pk"), cell_type__slug=self.value())))


@admin.register(m.Study)
class StudyAdmin(SimpleHistoryAdmin, nested_admin.NestedModelAdmin):
    form = StudyAdminForm
    list_display = [
        "accession", "title", "condition_list", "cell_type_list", "phase", "overall_status", "enrollment",
        "curation_state", "public_version", "updated_at",
    ]  # fmt: skip
    list_display_links = ["accession", "title"]
    list_filter = [ConditionFilter, CellTypeFilter, "phase", "overall_status", "curation_state", "study_type"]
    search_fields = [
        "accession",
        "title",
        "title_zh",
        "acronym",
        "registry_ids__value",
        "publications__doi",
        "publications__pmid",
    ]
    readonly_fields = [
        "accession", "curation_state", "retraction_reason", "revision_of", "public_version", "created_at", "updated_at",
        "published_at",
    ]  # fmt: skip
    change_form_template = "admin/trials/study/change_form.html"
    actions = ["submit_selected", "publish_selected"]
    list_per_page = 50
    inlines = [
        ConditionInline,
        CountryInline,
        RegistryIdentifierInline,
        MilestoneInline,
        PublicationInline,
        SourceInline,
        CohortInline,
        OutcomeInline,
        AdverseEventInline,
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("accession", "curation_state", "public_version"),
                    ("title", "acronym"),
                    ("title_zh", "title_translated"),
                    ("brief_summary", "brief_summary_zh"),
                    "loaded_edit",
                ]
            },
        ),
        (_("Design"), {"fields": [("study_type", "phase", "phase_reported"), ("allocation", "masking", "control_type")]}),
        (
            _("Status and dates"),
            {
                "fields": [
                    "overall_status",
                    ("start_date", "start_date_precision"),
                    ("completion_date", "completion_date_precision"),
                    ("enrollment", "enrollment_type"),
                    ("follow_up_months", "lead_in_months"),
                ]
            },
        ),
        (_("Sponsor"), {"fields": [("sponsor", "institutions")]}),
        (
            _("Trust signals (curated)"),
            {
                "description": _(
                    "Registration, regulatory authorisation, PMIDs, results and dates are worked out from the record; "
                    "record here only what a source says, with its words."
                ),
                "fields": [
                    ("patient_pays", "patient_pays_evidence"),
                    ("peer_reviewed", "peer_reviewed_evidence"),
                    ("prospective_registration", "prospective_registration_evidence"),
                    "status_verified_on",
                ],
            },
        ),
        (_("Record"), {"fields": [("revision_of", "created_at", "updated_at", "published_at")], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        # Columns come from two prefetches and one subquery: a fixed number of queries whatever the page size.
        return (
            super()
            .get_queryset(request)
            .select_related("revision_of")
            .annotate(latest_version=public_version_subquery())
            .prefetch_related(
                Prefetch("study_conditions", queryset=m.StudyCondition.objects.select_related("condition").order_by("pk")),
                Prefetch(
                    "cohorts__interventions",
                    queryset=m.Intervention.objects.filter(kind=c.InterventionKind.CELL_PRODUCT).select_related("cell_type"),
                ),
            )
        )

    @admin.display(description=_("conditions"))
    def condition_list(self, study: m.Study) -> str:
        return ", ".join(str(link.condition) for link in study.study_conditions.all())

    @admin.display(description=_("cell types"))
    def cell_type_list(self, study: m.Study) -> str:
        names = {i.cell_type.name for cohort in study.cohorts.all() for i in cohort.interventions.all() if i.cell_type}
        return ", ".join(sorted(names))

    @admin.display(description=_("published version"))
    def public_version(self, study: m.Study) -> str:
        """The number readers and citations use; a revision shows the version it will follow."""
        if hasattr(study, "latest_version"):  # the changelist's annotation
            number = study.latest_version
        else:
            number = study.versions.order_by("-number").values_list("number", flat=True).first() if study.pk else None
        if study.revision_of_id:
            return str(_("revision of %(accession)s") % {"accession": study.accession})
        return str(number) if number else "—"

    def view_on_site(self, obj: m.Study) -> str | None:
        # Drafts and revisions have no public page yet: the link was a 404.
        return obj.get_absolute_url() if obj.is_public else None

    def has_change_permission(self, request, obj=None):
        # The public record is changed only through a reviewed revision (or a retraction).
        if obj is not None and obj.is_public:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_public:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        study_services.study_delete(study=obj, by=request.user)

    # --- saving: through the service ---------------------------------------------------------------

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        if request.method == "POST":
            # Last in the list, so it runs after every form has been validated on its own.
            formsets.append(DocumentCheck(obj, formsets))
        return formsets, inline_instances

    def save_model(self, request, obj, form, change):
        """Nothing is saved here: `save_related` hands the whole study, form and inlines, to the service."""

    def save_related(self, request, form, formsets, change):
        document, _sources = admin_document(form.instance, formsets)
        if change:
            study_services.study_update(study=form.instance, document=document, by=request.user)
        else:
            study = study_services.study_create(document=document, by=request.user)
            form.instance.pk = study.pk
            form.instance.refresh_from_db()
        for formset in formsets:
            if isinstance(formset, DocumentCheck):
                continue
            # For the admin's change message; the formsets themselves saved nothing.
            rows = live_forms(formset)
            formset.new_objects = [f.instance for f in rows if f.instance.pk is None]
            formset.changed_objects = [(f.instance, f.changed_data) for f in rows if f.instance.pk and f.has_changed()]
            formset.deleted_objects = [f.instance for f in getattr(formset, "deleted_forms", [])]

    # --- workflow buttons ------------------------------------------------------------------------

    def get_urls(self):
        return [
            path("<int:pk>/workflow/<str:action>/", self.admin_site.admin_view(self.workflow_view), name="trials_study_workflow"),
            path("<int:pk>/full-history/", self.admin_site.admin_view(self.full_history_view), name="trials_study_full_history"),
            path(
                "<int:pk>/comments/<int:comment_pk>/resolve/",
                self.admin_site.admin_view(self.resolve_comment_view),
                name="trials_study_resolve_comment",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        study = m.Study.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        extra_context = extra_context or {}
        if study is not None:
            extra_context.update(
                workflow_actions=workflow.available_actions(study, request.user),
                review_comments=study.review_comments.select_related("author", "resolved_by"),
                open_blocking_comments=workflow.open_blocking_comments(study),
                transitions=list(study.transitions.select_related("by")),
                open_revision=study.revisions.first(),
                published_versions=study.versions.select_related("published_by").order_by("-number"),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def workflow_view(self, request, pk: int, action: str):
        study = get_object_or_404(m.Study, pk=pk)
        change_url = reverse("admin:trials_study_change", args=[study.pk])
        transition = workflow.TRANSITIONS_BY_SLUG.get(action)
        if transition is None:
            raise Http404
        if request.method != "POST":
            if not transition.asks:
                return redirect(change_url)
            context = {
                **self.admin_site.each_context(request),
                "study": study,
                "transition": transition,
                "first_publication": not study.versions.exists() and study.revision_of_id is None,
                "opts": self.model._meta,
                "title": transition.button,
            }
            return TemplateResponse(request, "admin/trials/study/workflow_form.html", context)
        text = request.POST.get("text", "")
        try:
            result = self.take(transition.action, study, request, text)
        except PermissionDenied as error:
            messages.error(request, str(error))
            return redirect(change_url)
        except (workflow.WorkflowError, ValidationError) as error:
            messages.error(request, " ".join(error.messages) if isinstance(error, ValidationError) else str(error))
            return redirect(change_url)
        messages.success(request, self.workflow_message(transition.action, study, result))
        return redirect(reverse("admin:trials_study_change", args=[result.pk]))

    @staticmethod
    def take(action: Action, study: m.Study, request, text: str) -> m.Study:
        by = request.user
        if action == Action.SUBMIT:
            return workflow.study_submit(study=study, by=by)
        if action == Action.PUBLISH:
            return workflow.study_publish(study=study, by=by, note=text)
        if action == Action.REQUEST_CHANGES:
            return workflow.study_request_changes(study=study, by=by, text=text, blocking=bool(request.POST.get("blocking")))
        if action == Action.RETRACT:
            return workflow.study_retract(study=study, by=by, reason=text)
        return workflow.study_start_revision(study=study, by=by)

    @staticmethod
    def workflow_message(action: str, study: m.Study, result: m.Study) -> str:
        """What happened, and what it means for the public record."""
        names: dict[str, object] = {"accession": result.accession}
        if action == Action.SUBMIT:
            return _("%(accession)s was submitted for review.") % names
        if action == Action.REQUEST_CHANGES:
            return _("%(accession)s was sent back to its curator as a draft, with your comment.") % names
        if action == Action.PUBLISH:
            names["number"] = result.versions.order_by("-number").values_list("number", flat=True).first()
            if study.revision_of_id:
                return _("The revision was published: %(accession)s now shows the correction, as version %(number)s.") % names
            return _("%(accession)s was published, as version %(number)s; it is on the public site now.") % names
        if action == Action.RETRACT:
            return _("%(accession)s was retracted; its public page shows it as retracted, with your reason.") % names
        return (
            _(
                "A revision of %(accession)s: a private draft copy. Edit it and submit it for review; the public record "
                "stays as it is until the revision is published."
            )
            % names
        )

    def full_history_view(self, request, pk: int):
        study = get_object_or_404(m.Study, pk=pk)
        if not self.has_view_permission(request, study):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "study": study,
                   "changes": study_history(study), "title": _("Full history")}  # fmt: skip
        return TemplateResponse(request, "admin/trials/study/full_history.html", context)

    def resolve_comment_view(self, request, pk: int, comment_pk: int):
        comment = get_object_or_404(m.ReviewComment, pk=comment_pk, study_id=pk)
        if request.method == "POST":
            try:
                workflow.study_resolve_comment(comment=comment, by=request.user)
            except PermissionDenied as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("Comment marked resolved: “%(text)s”.") % {"text": str(comment)})
        return redirect(reverse("admin:trials_study_change", args=[pk]))

    @admin.action(description=_("Submit the selected drafts for review"))
    def submit_selected(self, request, queryset):
        self._bulk(request, queryset, workflow.study_submit)

    @admin.action(description=_("Publish the selected studies in review (first publications)"), permissions=["publish"])
    def publish_selected(self, request, queryset):
        self._bulk(request, queryset, workflow.study_publish)

    def has_publish_permission(self, request):
        return request.user.has_perm("trials.publish_study")

    def _bulk(self, request, queryset, step):
        done = 0
        for study in queryset:
            try:
                step(study=study, by=request.user)
                done += 1
            except (workflow.WorkflowError, PermissionDenied, ValidationError) as error:
                text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                messages.warning(request, f"{study.accession}: {text}")
        if done:
            messages.success(request, _("%(n)s studies moved on.") % {"n": done})
