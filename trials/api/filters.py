"""Filters for the flat result and harm lists: the search page's study filters, then the rows' own.

`StudyFilterSet` (trials/filters.py) picks the studies with exactly the search page's parameters; the
row FilterSets below narrow the rows of those studies. They live here because only the API lists rows
across studies; move them next to `StudyFilterSet` when a page needs them.
"""

from __future__ import annotations

import django_filters as df
from django.db.models import Case, F, FloatField, QuerySet, Value, When
from django.db.models.functions import Cast
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.forms.utils import ErrorDict
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from rest_framework.exceptions import ValidationError

from trials import choices as c
from trials import models as m
from trials.filters import SlugMultipleFilter, StudyFilterSet

# Bounds and rows are compared in days, so "6 months" finds a row recorded as "26 weeks" or "0.5 years".
DAYS_PER_UNIT = {
    c.TimeUnit.HOUR: 1 / 24,
    c.TimeUnit.DAY: 1.0,
    c.TimeUnit.WEEK: 7.0,
    c.TimeUnit.MONTH: 30.4375,
    c.TimeUnit.YEAR: 365.25,
}


def timepoint_in_days() -> Case:
    timepoint = Cast(F("timepoint"), FloatField())
    return Case(
        *[When(timepoint_unit=unit, then=timepoint * Value(days)) for unit, days in DAYS_PER_UNIT.items()],
        output_field=FloatField(),
    )


class OutcomeFilterSet(df.FilterSet):
    instrument = SlugMultipleFilter(vocabulary=m.Instrument, field_name="instrument__slug", distinct=False, label="Instrument")
    outcome_type = df.MultipleChoiceFilter(choices=c.OutcomeType.choices, distinct=False, label="Outcome type")
    timepoint_min = df.NumberFilter(method="filter_timepoint", label="Measured at or after (in timepoint_unit)")
    timepoint_max = df.NumberFilter(method="filter_timepoint", label="Measured at or before (in timepoint_unit)")
    timepoint_unit = df.ChoiceFilter(
        choices=c.TimeUnit.choices, method="filter_unit", label="Unit of timepoint_min and timepoint_max (default month)"
    )

    class Meta:
        model = m.OutcomeMeasure
        fields: list[str] = []

    def filter_timepoint(self, queryset: QuerySet, name: str, value) -> QuerySet:
        unit = self.form.cleaned_data.get("timepoint_unit") or c.TimeUnit.MONTH
        bound = float(value) * DAYS_PER_UNIT[unit]
        lookup = GreaterThanOrEqual if name == "timepoint_min" else LessThanOrEqual
        return queryset.filter(lookup(timepoint_in_days(), bound))

    def filter_unit(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset  # read by filter_timepoint


class AdverseEventFilterSet(df.FilterSet):
    serious = df.MultipleChoiceFilter(choices=c.Seriousness.choices, distinct=False, label="Serious")
    organ_class = df.MultipleChoiceFilter(choices=c.OrganClass.choices, distinct=False, label="Organ class (MedDRA SOC)")
    relatedness = df.MultipleChoiceFilter(choices=c.Relatedness.choices, distinct=False, label="Relatedness")
    grade_min = df.NumberFilter(field_name="grade", lookup_expr="gte", min_value=1, max_value=5, label="CTCAE grade from")
    grade_max = df.NumberFilter(field_name="grade", lookup_expr="lte", min_value=1, max_value=5, label="CTCAE grade up to")

    class Meta:
        model = m.AdverseEvent
        fields: list[str] = []


# What the search page's yes/no select sends: "unknown" (and empty) mean either.
BOOLEAN_VALUES = ["true", "false", "unknown"]


def check_booleans(request, *filterset_classes: type[df.FilterSet]) -> None:
    """A yes/no filter takes true, false or unknown. The page's select widget quietly reads anything
    else as "either"; an API client that sent `has_results=yes` would never learn its filter was dropped."""
    errors = {
        name: ["Enter true, false or unknown (either)."]
        for filterset_class in filterset_classes
        for name, filter_ in filterset_class.base_filters.items()
        if isinstance(filter_, df.BooleanFilter)
        and any(value not in ("", *BOOLEAN_VALUES) for value in request.query_params.getlist(name))
    }
    if errors:
        raise ValidationError(errors)


class StudyFilterBackend(DjangoFilterBackend):
    """The view's FilterSet, as django-filter applies it, with strict booleans."""

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "detail", False):
            return queryset  # a study's own URL names it: list filters in its query string select nothing
        check_booleans(request, view.filterset_class)
        return super().filter_queryset(request, queryset, view)


class StudyRowFilterBackend(StudyFilterBackend):
    """The view's row FilterSet over the rows of the public studies `StudyFilterSet` selects.

    Both sets read the same query string, and their errors are reported together.
    """

    def filter_queryset(self, request, queryset, view):
        check_booleans(request, StudyFilterSet, view.filterset_class)
        studies = StudyFilterSet(data=request.query_params, queryset=m.Study.objects.public(), request=request)
        rows = view.filterset_class(data=request.query_params, queryset=queryset, request=request)
        studies_valid, rows_valid = studies.is_valid(), rows.is_valid()
        if not (studies_valid and rows_valid):
            raise translate_validation(ErrorDict({**studies.errors, **rows.errors}))
        return rows.qs.filter(study__in=studies.qs.order_by().values("pk"))
