"""Facet counting: for each facet of the search, the number of matching studies per value, each facet
counted under every *other* active filter (as the search page's sidebar shows them).

A fixed number of queries whatever the number of studies: each groups a child table's rows (or the
studies' own columns) over the studies the other filters select. Counts are cached until the data
changes (trials.cache).
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Q, QuerySet

from . import choices as c
from . import models as m
from . import trust
from .cache import cached
from .filters import StudyFilterSet, condition_closure

# Facets: name -> how to count it. Exposed for the page and the API alike.
FACETS = StudyFilterSet.FACETS


def facet_counts(filterset: StudyFilterSet) -> dict[str, dict[str, int]]:
    filterset.is_valid()
    # The same filters give the same counts until the data changes.
    return cached(("facets", str(filterset.queryset.query), filterset.filter_key()), lambda: _count_facets(filterset))


def _count_facets(filterset: StudyFilterSet) -> dict[str, dict[str, int]]:
    # Facets without a value selected all count over the same set, the one the filters select, so
    # facets read from the same rows are counted together there, in one pass over those rows.
    selected = set(filterset.active_filters())
    everything = filterset.queryset_without(None)
    counts: dict[str, dict[str, int]] = {}
    for group, count_together, postgresql_only in FACET_GROUPS:
        together = [facet for facet in group if facet not in selected]
        if len(together) > 1 and (connection.vendor == "postgresql" or not postgresql_only):
            counts.update(count_together(everything, together))
    for facet in FACETS:
        if facet not in counts:
            base = filterset.queryset_without(facet) if facet in selected else everything
            counts[facet] = FACET_COUNTERS[facet](base)
    return {facet: counts[facet] for facet in FACETS}


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
    "trust": _count_flag("trust"),
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
    booleans = [facet for facet in facets if facet in exists]
    aggregates = {facet: Count("pk", filter=Q(exists[facet]())) for facet in booleans}
    if "trust" in facets:  # the studies for which each trust flag is "yes" (trials.trust)
        aggregates |= {f"trust_{flag}": Count("pk", filter=yes) for flag, yes in trust.yes_counts().items()}
    totals = studies.aggregate(all=Count("pk"), **aggregates)
    counts = {facet: {"true": totals[facet], "false": totals["all"] - totals[facet]} for facet in booleans}
    if "trust" in facets:
        counts["trust"] = {flag: totals[f"trust_{flag}"] for flag in c.TrustFlag.values if totals[f"trust_{flag}"]}
    return counts


# Facets counted together over the same set, by what, and whether only PostgreSQL can (GROUPING SETS).
FACET_GROUPS = [
    (list(INTERVENTION_COLUMNS), _count_interventions_together, True),
    (list(STUDY_COLUMNS), _count_study_columns_together, True),
    (["has_results", "has_serious_ae", "trust"], _count_flags, False),
]
