"""The study page's inlines: every row of a study on one page, read-only once the study is public."""

from __future__ import annotations

from typing import TYPE_CHECKING

import nested_admin
from django.utils.translation import gettext_lazy as _

from trials import models as m

if TYPE_CHECKING:  # the mixins are mixed into the admin's inlines only
    from django.contrib.admin.options import InlineModelAdmin as _Inline
else:
    _Inline = object


class PublicRecordReadOnlyMixin(_Inline):
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


class StudyCohortChoicesMixin(_Inline):
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
        (_("Classification"), {"fields": [("scope", "serious", "grade", "relatedness", "attributed_to", "outcome")]}),
        (_("Counts"), {"fields": [("n_events", "n_affected", "n_at_risk", "onset")]}),
        (_("Description"), {"fields": [("description", "description_zh")]}),
    ]
