"""The one FilterSet behind the public search page, its CSV, the API list and the facet counts.

Every filter is a subquery on the study (`pk__in` / `Exists`), never a join on the study list, so no
filter can duplicate rows and the page query stays one query whatever is selected.
"""

from __future__ import annotations

import datetime as dt
import functools

import django_filters as df
from django import forms
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from . import choices as c
from . import models as m

MAX_PAGE_SIZE = 1000


def condition_closure() -> dict[int, set[int]]:
    """Each condition's id -> itself and every narrower condition's id (one query)."""
    edges = list(m.Condition.objects.values_list("pk", "parent_id"))
    children: dict[int | None, list[int]] = {}
    for pk, parent in edges:
        children.setdefault(parent, []).append(pk)
    closure: dict[int, set[int]] = {}
    for pk, _parent in edges:
        found, frontier = {pk}, [pk]
        while frontier:
            frontier = [child for node in frontier for child in children.get(node, []) if child not in found]
            found.update(frontier)
        closure[pk] = found
    return closure


def intervention_exists(**lookups) -> Exists:
    return Exists(m.Intervention.objects.filter(cohort__study=OuterRef("pk"), **lookups))


def vocabulary_choices(vocabulary: type) -> list[tuple[str, str]]:
    return [(slug, name) for slug, name in vocabulary.objects.values_list("slug", "name")]


class SlugMultipleFilter(df.MultipleChoiceFilter):
    """Vocabulary filter by slug: `?cell_type=umbilical-cord-msc&cell_type=bone-marrow-msc` (any of)."""

    def __init__(self, *args, vocabulary: type, **kwargs):
        self.vocabulary = vocabulary
        super().__init__(*args, **kwargs)

    def get_choices(self):
        return vocabulary_choices(self.vocabulary)

    @property
    def field(self):
        # Choices come from the vocabulary at request time, not at import time. A partial, not the
        # bound get_choices: forms deep-copy their choices, and a bound method would drag this filter's
        # FilterSet and its request (whose input stream cannot be copied) into the copy.
        self.extra["choices"] = functools.partial(vocabulary_choices, self.vocabulary)
        return super().field


class StudyFilterSet(df.FilterSet):
    q = df.CharFilter(label=_("Search"), method="filter_q", help_text=_("Titles, summaries, registry ids, DOI, PMID."))
    condition = SlugMultipleFilter(
        vocabulary=m.Condition, label=_("Condition"), method="filter_condition", help_text=_("Includes narrower conditions.")
    )
    cell_type = SlugMultipleFilter(vocabulary=m.CellType, label=_("Cell type"), method="filter_cell_type")
    cell_category = df.MultipleChoiceFilter(
        choices=c.CellCategory.choices, label=_("Cell category"), method="filter_cell_category"
    )
    source_tissue = df.MultipleChoiceFilter(
        choices=c.SourceTissue.choices, label=_("Source tissue"), method="filter_source_tissue"
    )
    donor = df.MultipleChoiceFilter(choices=c.Donor.choices, label=_("Donor"), method="filter_donor")
    route = df.MultipleChoiceFilter(choices=c.Route.choices, label=_("Route"), method="filter_route")
    # Columns of the study itself: no join, so no DISTINCT (which would also make the facet counts
    # aggregate over a subquery).
    phase = df.MultipleChoiceFilter(choices=c.Phase.choices, label=_("Phase"), distinct=False)
    status = df.MultipleChoiceFilter(
        field_name="overall_status", choices=c.OverallStatus.choices, label=_("Status"), distinct=False
    )
    study_type = df.MultipleChoiceFilter(choices=c.StudyType.choices, label=_("Study type"), distinct=False)
    country = df.MultipleChoiceFilter(choices=list(countries), label=_("Country"), method="filter_country")
    instrument = SlugMultipleFilter(vocabulary=m.Instrument, label=_("Outcome instrument"), method="filter_instrument")
    start_year_min = df.NumberFilter(
        label=_("Started from (year)"), method="filter_start_year_min", min_value=1900, max_value=2200
    )
    start_year_max = df.NumberFilter(
        label=_("Started until (year)"), method="filter_start_year_max", min_value=1900, max_value=2200
    )
    enrollment_min = df.NumberFilter(field_name="enrollment", lookup_expr="gte", label=_("Enrollment from"), min_value=0)
    enrollment_max = df.NumberFilter(field_name="enrollment", lookup_expr="lte", label=_("Enrollment up to"), min_value=0)
    has_results = df.BooleanFilter(label=_("Has results"), method="filter_has_results", widget=forms.NullBooleanSelect)
    has_serious_ae = df.BooleanFilter(
        label=_("Has serious adverse events"), method="filter_has_serious_ae", widget=forms.NullBooleanSelect
    )
    ordering = df.ChoiceFilter(
        label=_("Sort by"),
        method="filter_ordering",
        empty_label=None,
        choices=[
            ("relevance", _("Relevance")),
            ("-start_date", _("Newest first")),
            ("start_date", _("Oldest first")),
            ("-enrollment", _("Largest enrollment")),
            ("enrollment", _("Smallest enrollment")),
            ("-phase", _("Latest phase")),
            ("phase", _("Earliest phase")),
            ("-updated_at", _("Recently updated")),
            ("accession", _("Accession")),
        ],
    )

    class Meta:
        model = m.Study
        fields: list[str] = []

    # Facets: name -> how to count it. Exposed for the page and the API alike.
    FACETS = [
        "condition", "cell_type", "cell_category", "source_tissue", "donor", "route", "phase", "status", "study_type",
        "country", "instrument", "has_results", "has_serious_ae",
    ]  # fmt: skip

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        if "ordering" not in self.form.cleaned_data or not self.form.cleaned_data.get("ordering"):
            queryset = self.filter_ordering(queryset, "ordering", self.default_ordering())
        queryset.query.cache_count = True  # its total is cached until the data changes (StudyQuerySet.count)
        return queryset

    def default_ordering(self) -> str:
        return "relevance" if self.form.cleaned_data.get("q") else "-updated_at"

    # --- filters ---------------------------------------------------------------------------------

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        identifiers = Q(
            Exists(m.RegistryIdentifier.objects.filter(study=OuterRef("pk"), value__icontains=value))
            | Exists(
                m.Publication.objects.filter(Q(doi__iexact=value) | Q(pmid=value) | Q(pmcid__iexact=value), study=OuterRef("pk"))
            )
        )
        # Chinese has no spaces for a full-text parser to split words on, so Chinese fields (and
        # every field on SQLite) are matched as substrings; English text uses PostgreSQL's ranked search.
        substring = Q(title_zh__icontains=value) | Q(brief_summary_zh__icontains=value) | Q(acronym__iexact=value)
        if connection.vendor == "postgresql":
            # A full-text match (@@, through the GIN index on the stored `search_vector`), or a
            # substring of the Chinese fields, or an identifier. ts_rank is 1e-20, not 0, for a
            # document that does not match, so the rank itself is only used for ordering.
            query = SearchQuery(value, config="english", search_type="websearch")
            rank = SearchRank(F("search_vector"), query)
            papers = m.Publication.objects.filter(Q(doi__iexact=value) | Q(pmid=value) | Q(pmcid__iexact=value))
            ids = (
                m.Study.objects.filter(search_vector=query)
                .values("pk")
                .order_by()
                .union(
                    m.Study.objects.filter(substring).values("pk").order_by(),
                    m.RegistryIdentifier.objects.filter(value__icontains=value).values("study_id").order_by(),
                    papers.values("study_id").order_by(),
                )
            )
            return queryset.annotate(search_rank=rank).filter(pk__in=ids)
        substring |= Q(title__icontains=value) | Q(brief_summary__icontains=value)
        return queryset.filter(substring | identifiers).annotate(
            search_rank=Case(When(Q(title__icontains=value) | Q(title_zh__icontains=value), then=Value(2)), default=Value(1))
        )

    def filter_condition(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return queryset
        closure = condition_closure()
        ids = {
            pk for slug_pk in m.Condition.objects.filter(slug__in=value).values_list("pk", flat=True) for pk in closure[slug_pk]
        }
        return queryset.filter(Exists(m.StudyCondition.objects.filter(study=OuterRef("pk"), condition_id__in=ids)))

    def filter_cell_type(self, queryset, name, value):
        return queryset.filter(intervention_exists(cell_type__slug__in=value)) if value else queryset

    def filter_cell_category(self, queryset, name, value):
        return queryset.filter(intervention_exists(cell_type__category__in=value)) if value else queryset

    def filter_source_tissue(self, queryset, name, value):
        return queryset.filter(intervention_exists(source_tissue__in=value)) if value else queryset

    def filter_donor(self, queryset, name, value):
        return queryset.filter(intervention_exists(donor__in=value)) if value else queryset

    def filter_route(self, queryset, name, value):
        return queryset.filter(intervention_exists(kind=c.InterventionKind.CELL_PRODUCT, route__in=value)) if value else queryset

    def filter_country(self, queryset, name, value):
        return (
            queryset.filter(Exists(m.StudyCountry.objects.filter(study=OuterRef("pk"), country__in=value))) if value else queryset
        )

    def filter_instrument(self, queryset, name, value):
        return (
            queryset.filter(Exists(m.OutcomeMeasure.objects.filter(study=OuterRef("pk"), instrument__slug__in=value)))
            if value
            else queryset
        )

    def filter_start_year_min(self, queryset, name, value):
        return queryset.filter(start_date__gte=dt.date(int(value), 1, 1))

    def filter_start_year_max(self, queryset, name, value):
        return queryset.filter(start_date__lte=dt.date(int(value), 12, 31))

    def filter_has_results(self, queryset, name, value):
        return queryset.filter(m.has_results_exists() if value else ~m.has_results_exists())

    def filter_has_serious_ae(self, queryset, name, value):
        return queryset.filter(m.has_serious_ae_exists() if value else ~m.has_serious_ae_exists())

    def filter_ordering(self, queryset, name, value):
        if value == "relevance":
            if "search_rank" in queryset.query.annotations:
                return queryset.order_by("-search_rank", "-updated_at", "accession")
            value = "-updated_at"
        if value.lstrip("-") == "phase":
            rank = Case(
                *[When(phase=code, then=Value(n)) for code, n in c.PHASE_RANK.items()],
                default=Value(-1),
                output_field=IntegerField(),
            )
            queryset = queryset.annotate(phase_rank=rank)
            field = "phase_rank"
        else:
            field = value.lstrip("-")
        ordered = F(field).desc(nulls_last=True) if value.startswith("-") else F(field).asc(nulls_last=True)
        return queryset.order_by(ordered, "accession")

    # --- facets ----------------------------------------------------------------------------------

    def facet_counts(self) -> dict[str, dict[str, int]]:
        """For each facet, the number of matching studies per value, given every *other* active filter.

        A fixed number of queries whatever the number of studies: each groups a child table's rows
        (or the studies' own columns) over the studies the other filters select.
        """
        self.is_valid()
        # The same filters give the same counts until the data changes: cached (trials.cache).
        from .cache import cached

        return cached(("facets", str(self.queryset.query), self._filter_key()), self._count_facets)

    def _filter_key(self) -> tuple:
        """The filters as given (values in order: a repeated single-value filter keeps its last)."""
        data = self._data_without("")
        items = data.lists() if hasattr(data, "lists") else ((k, v if isinstance(v, list) else [v]) for k, v in data.items())
        return tuple(sorted((key, tuple(map(str, values))) for key, values in items))

    def _count_facets(self) -> dict[str, dict[str, int]]:
        # Facets without a value selected all count over the same set, the one the filters select, so
        # facets read from the same rows are counted together there, in one pass over those rows.
        selected = {name for name, value in self.form.cleaned_data.items() if name != "ordering" and _is_active(value)}
        everything = self._queryset_without(None)
        counts: dict[str, dict[str, int]] = {}
        for group, count_together, postgresql_only in FACET_GROUPS:
            together = [facet for facet in group if facet not in selected]
            if len(together) > 1 and (connection.vendor == "postgresql" or not postgresql_only):
                counts.update(count_together(everything, together))
        for facet in self.FACETS:
            if facet not in counts:
                base = self._queryset_without(facet) if facet in selected else everything
                counts[facet] = FACET_COUNTERS[facet](base)
        return {facet: counts[facet] for facet in self.FACETS}

    def _queryset_without(self, facet: str | None) -> QuerySet:
        """The studies every active filter but `facet`'s selects.

        Applies the already validated filters directly: no second FilterSet, so no second validation
        and no second round of vocabulary queries per facet.
        """
        queryset = self.queryset.all()
        for name, value in self.form.cleaned_data.items():
            if name in (facet, "ordering") or not _is_active(value):
                continue
            queryset = self.filters[name].filter(queryset, value)
        return queryset.order_by()

    def _data_without(self, facet: str):
        data = self.data.copy() if hasattr(self.data, "copy") else dict(self.data)
        for key in (facet, "ordering", "page", "page_size", "format", "fields"):
            if hasattr(data, "pop"):
                data.pop(key, None)
        return data


def _is_active(value) -> bool:
    return value not in (None, "", [], ())


def _grouped(queryset: QuerySet, key: str, study_path: str, distinct: bool = True) -> dict[str, int]:
    rows = queryset.values(key).annotate(n=Count(study_path, distinct=distinct)).order_by()
    return {row[key]: row["n"] for row in rows if row[key] not in (None, "")}


def _grouped_studies(key: str):
    """A facet on the study's own column: each study counts once, so no DISTINCT to sort for."""
    return lambda studies: _grouped(studies, key, "pk", distinct=False)


def _count_conditions(studies: QuerySet) -> dict[str, int]:
    closure = condition_closure()
    slugs = dict(m.Condition.objects.values_list("pk", "slug"))
    aggregates = {f"c{pk}": Count("study", distinct=True, filter=Q(condition_id__in=ids)) for pk, ids in closure.items()}
    if not aggregates:
        return {}
    totals = m.StudyCondition.objects.filter(study__in=studies.values("pk")).aggregate(**aggregates)
    return {slugs[int(key[1:])]: n for key, n in totals.items()}


def _count_interventions(key: str):
    def count(studies: QuerySet) -> dict[str, int]:
        rows = m.Intervention.objects.filter(cohort__study__in=studies.values("pk"))
        if key == "route":
            rows = rows.filter(kind=c.InterventionKind.CELL_PRODUCT)
        return _grouped(rows, key, "cohort__study")

    return count


def _count_flag(facet: str):
    return lambda studies: _count_flags(studies, [facet])[facet]


FACET_COUNTERS = {
    "condition": _count_conditions,
    "cell_type": _count_interventions("cell_type__slug"),
    "cell_category": _count_interventions("cell_type__category"),
    "source_tissue": _count_interventions("source_tissue"),
    "donor": _count_interventions("donor"),
    "route": _count_interventions("route"),
    "phase": _grouped_studies("phase"),
    "status": _grouped_studies("overall_status"),
    "study_type": _grouped_studies("study_type"),
    "country": lambda studies: _grouped(m.StudyCountry.objects.filter(study__in=studies.values("pk")), "country", "study"),
    "instrument": lambda studies: _grouped(
        m.OutcomeMeasure.objects.filter(study__in=studies.values("pk")), "instrument__slug", "study"
    ),
    "has_results": _count_flag("has_results"),
    "has_serious_ae": _count_flag("has_serious_ae"),
}


# --- facets counted together (one pass over the same rows) ---------------------------------------------

INTERVENTION_COLUMNS = {
    "cell_type": "ct.slug",
    "cell_category": "ct.category",
    "source_tissue": "i.source_tissue",
    "donor": "i.donor",
    # Routes are those of cell products only, as the route filter reads them.
    "route": f"CASE WHEN i.kind = '{c.InterventionKind.CELL_PRODUCT.value}' THEN i.route END",
}
STUDY_COLUMNS = {"phase": "phase", "status": "overall_status", "study_type": "study_type"}


def _grouping_sets(columns: dict[str, str], facets: list[str], source: str, params: tuple) -> dict[str, dict[str, int]]:
    """PostgreSQL: every facet's counts in one statement, GROUP BY GROUPING SETS over `source`.

    `source` is SQL the ORM compiled (with its parameters), never user text.
    """
    expressions = [columns[facet] for facet in facets]
    flags = ", ".join(f"GROUPING({expression})" for expression in expressions)
    sets = ", ".join(f"({expression})" for expression in expressions)
    sql = f"SELECT {', '.join(expressions)}, {flags}, {source} GROUP BY GROUPING SETS ({sets})"
    counts: dict[str, dict[str, int]] = {facet: {} for facet in facets}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            values, grouped, n = row[: len(facets)], row[len(facets) : 2 * len(facets)], row[-1]
            # GROUPING() is 0 for the column this row is grouped by, 1 for the others.
            facet_index = list(grouped).index(0)
            value = values[facet_index]
            if value not in (None, ""):
                counts[facets[facet_index]][value] = n
    return counts


def _count_interventions_together(studies: QuerySet, facets: list[str]) -> dict[str, dict[str, int]]:
    try:
        ids_sql, params = studies.values("pk").query.sql_with_params()
    except EmptyResultSet:  # filters no row can match (e.g. an enrollment beyond any integer)
        return {facet: {} for facet in facets}
    source = (
        "COUNT(DISTINCT co.study_id) FROM trials_intervention i "
        "JOIN trials_cohort co ON co.id = i.cohort_id LEFT JOIN trials_celltype ct ON ct.id = i.cell_type_id "
        f"WHERE co.study_id IN ({ids_sql})"
    )
    return _grouping_sets(INTERVENTION_COLUMNS, facets, source, params)


def _count_study_columns_together(studies: QuerySet, facets: list[str]) -> dict[str, dict[str, int]]:
    try:
        rows_sql, params = studies.values(*(STUDY_COLUMNS[facet] for facet in facets)).query.sql_with_params()
    except EmptyResultSet:
        return {facet: {} for facet in facets}
    return _grouping_sets(STUDY_COLUMNS, facets, f"COUNT(*) FROM ({rows_sql}) s", params)


def _count_flags(studies: QuerySet, facets: list[str]) -> dict[str, dict[str, int]]:
    exists = {"has_results": m.has_results_exists, "has_serious_ae": m.has_serious_ae_exists}
    totals = studies.aggregate(all=Count("pk"), **{facet: Count("pk", filter=Q(exists[facet]())) for facet in facets})
    return {facet: {"true": totals[facet], "false": totals["all"] - totals[facet]} for facet in facets}


# Facets counted together over the same set, by what, and whether only PostgreSQL can (GROUPING SETS).
FACET_GROUPS = [
    (list(INTERVENTION_COLUMNS), _count_interventions_together, True),
    (list(STUDY_COLUMNS), _count_study_columns_together, True),
    (["has_results", "has_serious_ae"], _count_flags, False),
]
