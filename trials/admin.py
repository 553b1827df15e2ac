"""The curator admin: a study and all its children on one page, vocabularies behind autocomplete."""

from __future__ import annotations

import nested_admin
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import choices as c
from . import models as m
from . import services
from .history import study_history
from .services import accession_reserve

# --- vocabularies ------------------------------------------------------------------------------------


@admin.register(m.Condition)
class ConditionAdmin(admin.ModelAdmin):
    list_display = ["name", "name_zh", "slug", "parent", "mesh_id"]
    list_select_related = ["parent"]
    search_fields = ["name", "name_zh", "slug", "mesh_id"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


@admin.register(m.CellType)
class CellTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "name_zh", "slug", "category", "cell_ontology_id"]
    list_filter = ["category"]
    search_fields = ["name", "name_zh", "slug", "cell_ontology_id"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(m.Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["name", "abbreviation", "slug", "direction", "range_min", "range_max", "unit"]
    list_filter = ["direction"]
    search_fields = ["name", "name_zh", "abbreviation", "slug"]
    prepopulated_fields = {"slug": ["abbreviation"]}


@admin.register(m.SourceDocument)
class SourceDocumentAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "language", "publisher", "published_on"]
    list_filter = ["language"]
    search_fields = ["key", "title", "publisher"]


# --- study inlines -----------------------------------------------------------------------------------


class PublicRecordReadOnlyMixin:
    """Inlines of a published or retracted study are shown, not editable, like the study itself.

    Without this the view-only page of a public study kept editable inlines and a Save button, and
    saving answered with a 403 error page (the study's change permission is refused).
    """

    @staticmethod
    def _public(obj) -> bool:
        study = obj if isinstance(obj, m.Study) else getattr(obj, "study", None)  # a cohort, for its interventions
        return study is not None and study.pk is not None and study.is_public

    def has_add_permission(self, request, obj=None):
        return not self._public(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._public(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._public(obj) and super().has_delete_permission(request, obj)


class StudyCohortChoicesMixin:
    """Limit a child's cohort choices to the cohorts of the study being edited."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "cohort":
            study_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            kwargs["queryset"] = m.Cohort.objects.filter(study_id=study_id) if study_id else m.Cohort.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ConditionInline(PublicRecordReadOnlyMixin, nested_admin.NestedTabularInline):
    model = m.StudyCondition
    extra = 0
    autocomplete_fields = ["condition"]


class CountryInline(PublicRecordReadOnlyMixin, nested_admin.NestedTabularInline):
    model = m.StudyCountry
    extra = 0


class MilestoneInline(PublicRecordReadOnlyMixin, nested_admin.NestedTabularInline):
    model = m.RegulatoryMilestone
    extra = 0


class RegistryIdentifierInline(PublicRecordReadOnlyMixin, nested_admin.NestedTabularInline):
    model = m.RegistryIdentifier
    extra = 0


class PublicationInline(PublicRecordReadOnlyMixin, nested_admin.NestedStackedInline):
    model = m.Publication
    extra = 0
    fieldsets = [
        (None, {"fields": [("title", "title_zh"), ("first_author", "journal"), ("date", "date_precision")]}),
        (_("Identifiers"), {"fields": [("doi", "pmid", "pmcid"), "url", "citation"]}),
    ]


class SourceInline(PublicRecordReadOnlyMixin, nested_admin.NestedStackedInline):
    model = m.Source
    extra = 0
    autocomplete_fields = ["document"]
    fields = [("document", "locator"), "curator_note"]


class InterventionInline(PublicRecordReadOnlyMixin, nested_admin.NestedStackedInline):
    model = m.Intervention
    extra = 0
    autocomplete_fields = ["cell_type"]
    fieldsets = [
        (None, {"fields": [("kind", "name"), ("cell_type", "source_tissue", "donor", "product_name")]}),
        (
            _("Administration"),
            {
                "fields": [
                    ("route", "route_detail"),
                    ("dose_cells_total", "dose_cells_per_kg", "dose_text"),
                    ("n_administrations", "schedule"),
                ]
            },
        ),
        (_("Manufacturing"), {"fields": ["manufacturing_notes"], "classes": ["collapse"]}),
    ]


class CohortInline(PublicRecordReadOnlyMixin, nested_admin.NestedStackedInline):
    model = m.Cohort
    extra = 0
    inlines = [InterventionInline]
    fieldsets = [
        (None, {"fields": [("label", "label_zh", "role"), ("n_enrolled", "n_analysed")]}),
        (
            _("Participants"),
            {
                "fields": [
                    ("age_summary", "sex_summary"),
                    ("stage", "injury_level", "ais_grade", "time_since_onset"),
                    "description",
                ]
            },
        ),
    ]


class OutcomeInline(PublicRecordReadOnlyMixin, StudyCohortChoicesMixin, nested_admin.NestedStackedInline):
    model = m.OutcomeMeasure
    extra = 0
    autocomplete_fields = ["instrument"]
    fieldsets = [
        (None, {"fields": [("cohort", "instrument", "measure_detail", "outcome_type")]}),
        (_("Timepoint"), {"fields": [("timepoint", "timepoint_to", "timepoint_unit", "is_last_follow_up")]}),
        (
            _("Values"),
            {
                "fields": [
                    ("statistic", "n_analysed"),
                    ("baseline_value", "baseline_dispersion", "value", "change_value"),
                    ("dispersion_type", "dispersion_value", "dispersion_lower", "dispersion_upper"),
                    ("p_qualifier", "p_value", "p_text"),
                ]
            },
        ),
        (_("Finding"), {"fields": [("finding", "finding_zh")]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("instrument", "cohort")


class AdverseEventInline(PublicRecordReadOnlyMixin, StudyCohortChoicesMixin, nested_admin.NestedStackedInline):
    model = m.AdverseEvent
    extra = 0
    fieldsets = [
        (None, {"fields": [("cohort", "term", "term_zh", "organ_class")]}),
        (_("Classification"), {"fields": [("serious", "grade", "relatedness", "attributed_to", "outcome")]}),
        (_("Counts"), {"fields": [("n_events", "n_affected", "n_at_risk", "onset")]}),
        (_("Description"), {"fields": [("description", "description_zh")]}),
    ]


# --- the study ---------------------------------------------------------------------------------------


class StudyAdminForm(forms.ModelForm):
    """Carries the version the curator loaded, so a save over someone else's newer save is refused."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.fields["loaded_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            loaded = cleaned.get("loaded_version")
            # Locked until the admin's transaction ends, so no save can slip in between check and write.
            current = m.Study.objects.select_for_update().filter(pk=self.instance.pk).values_list("version", flat=True).first()
            if loaded is not None and current is not None and loaded != current:
                raise ValidationError(stale_edit_message(self.instance, loaded, current), code="stale")
        return cleaned


def stale_edit_message(study: m.Study, loaded: int, current: int) -> str:
    """Who changed the study since the curator opened it, and which fields of the study itself."""
    records = list(study.history.filter(version__gt=loaded).select_related("history_user").order_by("history_date"))
    changed: set[str] = set()
    base = study.history.filter(version=loaded).order_by("-history_date").first()
    if base and records:
        changed = {change.field for change in records[-1].diff_against(base).changes}
    who = ", ".join(sorted({str(r.history_user) for r in records if r.history_user})) or _("another curator")
    when = records[-1].history_date if records else timezone.now()
    fields = ", ".join(
        str(m.Study._meta.get_field(f).verbose_name) for f in sorted(changed) if f not in ("version", "updated_at")
    )
    return str(
        _(
            "This study was changed by %(who)s at %(when)s (version %(current)s; you opened version %(loaded)s)%(fields)s. "
            "Your changes were not saved: reload the page to see the current study, then make your edits again."
        )
    ) % {
        "who": who,
        "when": timezone.localtime(when).strftime("%Y-%m-%d %H:%M"),
        "current": current,
        "loaded": loaded,
        "fields": (str(_("; fields changed: %s")) % fields) if fields else "",
    }


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


# The workflow log's action codes, as curators read them.
TRANSITION_LABELS = {
    "submitted": _("submitted for review"),
    "changes_requested": _("changes requested"),
    "returned_to_draft": _("returned to draft"),
    "published": _("published"),
    "retracted": _("retracted"),
    "revision_started": _("revision started"),
    "revision_published": _("revision published"),
}


@admin.register(m.Study)
class StudyAdmin(SimpleHistoryAdmin, nested_admin.NestedModelAdmin):
    form = StudyAdminForm
    list_display = [
        "accession", "title", "condition_list", "cell_type_list", "phase", "overall_status", "enrollment",
        "curation_state", "updated_at",
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
        "accession",
        "curation_state",
        "retraction_reason",
        "revision_of",
        "version",
        "created_at",
        "updated_at",
        "published_at",
    ]
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
                    ("accession", "curation_state", "version"),
                    ("title", "acronym"),
                    "title_zh",
                    ("brief_summary", "brief_summary_zh"),
                    "loaded_version",
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
                    ("enrollment", "enrollment_type", "follow_up_months"),
                ]
            },
        ),
        (_("Sponsor"), {"fields": [("sponsor", "institutions")]}),
        (_("Record"), {"fields": [("created_at", "updated_at", "published_at")], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        # Columns come from two prefetches: a fixed number of queries whatever the page size.
        return (
            super()
            .get_queryset(request)
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

    def save_model(self, request, obj: m.Study, form, change):
        if not obj.accession:
            obj.accession = accession_reserve()
        obj.updated_at = timezone.now()
        if change:
            # One version step per save, covering the study and its inlines; the row has been locked
            # since the form checked the version, inside the admin's transaction.
            obj.version = (form.cleaned_data.get("loaded_version") or obj.version) + 1
        super().save_model(request, obj, form, change)

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
        study = m.Study.objects.filter(pk=object_id).first()
        extra_context = extra_context or {}
        if study is not None:
            transitions = list(study.transitions.select_related("by"))
            for step in transitions:
                step.label = TRANSITION_LABELS.get(step.action, step.action)
            extra_context.update(
                workflow_actions=self.available_actions(request, study),
                review_comments=study.review_comments.select_related("author", "resolved_by"),
                open_blocking_comments=study.review_comments.filter(blocking=True, resolved_at=None).count(),
                transitions=transitions,
                open_revision=study.revisions.first(),
                published_versions=study.versions.select_related("published_by").order_by("-number"),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def available_actions(self, request, study: m.Study) -> list[tuple[str, str]]:
        user, state = request.user, study.curation_state
        can_edit, can_review = user.has_perm("trials.change_study"), user.has_perm("trials.publish_study")
        actions = []
        if state == c.CurationState.DRAFT and can_edit:
            actions.append(("submit", _("Submit for review")))
        if state == c.CurationState.IN_REVIEW and can_review:
            actions += [("publish", _("Publish")), ("request_changes", _("Request changes"))]
        if state == c.CurationState.PUBLISHED and can_edit and not study.revisions.exists():
            actions.append(("revise", _("Start a revision")))
        if state == c.CurationState.PUBLISHED and can_review:
            actions.append(("retract", _("Retract")))
        return actions

    def workflow_view(self, request, pk: int, action: str):
        study = get_object_or_404(m.Study, pk=pk)
        change_url = reverse("admin:trials_study_change", args=[study.pk])
        if request.method != "POST":
            if action not in ("request_changes", "retract"):
                return redirect(change_url)
            return TemplateResponse(
                request,
                "admin/trials/study/workflow_form.html",
                {**self.admin_site.each_context(request), "study": study, "action": action, "opts": self.model._meta,
                 "title": _("Request changes") if action == "request_changes" else _("Retract")},
            )  # fmt: skip
        text = request.POST.get("text", "")
        try:
            if action == "submit":
                result = services.study_submit(study=study, by=request.user)
            elif action == "publish":
                result = services.study_publish(study=study, by=request.user, note=text)
            elif action == "request_changes":
                result = services.study_request_changes(
                    study=study, by=request.user, text=text, blocking=bool(request.POST.get("blocking"))
                )
            elif action == "retract":
                result = services.study_retract(study=study, by=request.user, reason=text)
            elif action == "revise":
                result = services.study_start_revision(study=study, by=request.user)
            else:
                raise Http404
        except PermissionDenied as error:
            messages.error(request, str(error))
            return redirect(change_url)
        except (services.WorkflowError, ValidationError) as error:
            messages.error(request, " ".join(error.messages) if isinstance(error, ValidationError) else str(error))
            return redirect(change_url)
        messages.success(request, self.workflow_message(action, study, result))
        return redirect(reverse("admin:trials_study_change", args=[result.pk]))

    @staticmethod
    def workflow_message(action: str, study: m.Study, result: m.Study) -> str:
        """What happened, and what it means for the public record: a bare "NCR-000002: Draft." after
        starting a revision of NCR-000001 left curators wondering where their study had gone."""
        names = {"accession": result.accession, "original": study.accession}
        if action == "submit":
            return _("%(accession)s was submitted for review.") % names
        if action == "request_changes":
            return _("%(accession)s was sent back to its curator as a draft, with your comment.") % names
        if action == "publish":
            names["number"] = result.versions.order_by("-number").values_list("number", flat=True).first()
            if study.revision_of_id:
                return (
                    _("Revision %(original)s was published: %(accession)s now shows the correction, as version %(number)s.")
                    % names
                )
            return _("%(accession)s was published, as version %(number)s; it is on the public site now.") % names
        if action == "retract":
            return _("%(accession)s was retracted; its public page shows it as retracted, with your reason.") % names
        return (
            _(
                "Revision %(accession)s of %(original)s: a private draft copy. Edit it and submit it for review; the public "
                "record %(original)s stays as it is until the revision is published."
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
                services.study_resolve_comment(comment=comment, by=request.user)
            except PermissionDenied as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("Comment marked resolved: “%(text)s”.") % {"text": str(comment)})
        return redirect(reverse("admin:trials_study_change", args=[pk]))

    @admin.action(description=_("Submit the selected drafts for review"))
    def submit_selected(self, request, queryset):
        self._bulk(request, queryset, services.study_submit)

    @admin.action(description=_("Publish the selected studies in review"), permissions=["publish"])
    def publish_selected(self, request, queryset):
        self._bulk(request, queryset, services.study_publish)

    def has_publish_permission(self, request):
        return request.user.has_perm("trials.publish_study")

    def _bulk(self, request, queryset, transition):
        done = 0
        for study in queryset:
            try:
                transition(study=study, by=request.user)
                done += 1
            except (services.WorkflowError, PermissionDenied) as error:
                messages.warning(request, f"{study.accession}: {error}")
        if done:
            messages.success(request, _("%(n)s studies moved on.") % {"n": done})
