"""Harms across studies: per cell product, the participants with an event of each kind, pooled over the
cohorts whose rows state it, with the cohorts left out and why."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from statsmodels.stats.proportion import proportion_confint

from trials import choices as c
from trials import models as m
from trials.models.base import Localized
from trials.models.results import RELATED_SCOPES

from .figures import rounded


@dataclass(frozen=True)
class SafetyMeasure:
    """One figure of the safety table: which rows state its total exactly, and which wider totals imply
    it is zero when they are zero (no serious event at all means no serious cell-related one)."""

    key: str
    heading: str | Promise
    scope: str
    attributed_to: str = ""
    wider: tuple[str, ...] = ()

    def states(self, event: m.AdverseEvent) -> bool:
        if self.key == "death":
            return event.outcome == c.AeOutcome.FATAL or event.grade == 5
        return event.scope == self.scope and (not self.attributed_to or event.attributed_to == self.attributed_to)

    def implied_zero(self, event: m.AdverseEvent) -> bool:
        if event.n_affected != 0 or event.n_at_risk is None or event.scope not in self.wider:
            return False
        # A related total says nothing of events related to something else.
        return event.scope not in RELATED_SCOPES or event.attributed_to == self.attributed_to


SAFETY_MEASURES = [
    SafetyMeasure("any", _("Any adverse event"), c.AeScope.ALL),
    SafetyMeasure("serious", _("Serious adverse event"), c.AeScope.ALL_SERIOUS, wider=(c.AeScope.ALL,)),
    SafetyMeasure("death", _("Death"), "", wider=(c.AeScope.ALL, c.AeScope.ALL_SERIOUS)),
    SafetyMeasure(
        "procedure_related",
        _("Related to the procedure"),
        c.AeScope.ALL_RELATED,
        attributed_to=c.Attribution.PROCEDURE,
        wider=(c.AeScope.ALL,),
    ),
    SafetyMeasure(
        "cell_related",
        _("Related to the cell product"),
        c.AeScope.ALL_RELATED,
        attributed_to=c.Attribution.CELL_PRODUCT,
        wider=(c.AeScope.ALL,),
    ),
    SafetyMeasure(
        "serious_cell_related",
        _("Serious, related to the cell product"),
        c.AeScope.ALL_SERIOUS_RELATED,
        attributed_to=c.Attribution.CELL_PRODUCT,
        wider=(c.AeScope.ALL, c.AeScope.ALL_SERIOUS, c.AeScope.ALL_RELATED),
    ),
]
SAFETY_MEASURE_KEYS = [measure.key for measure in SAFETY_MEASURES]

NOT_POOLABLE_REASONS = {
    "no_statement": _("the study states no total for this"),
    "no_cohort": _("the events are not attributed to a cohort of a study with several cohorts"),
    "affected_unknown": _("the number of participants affected is not reported"),
    "at_risk_unknown": _("the number of participants at risk is not reported"),
    "denominators_differ": _("the statements count over different numbers at risk"),
    "several_totals": _("the study states this total more than once, with different numbers"),
}


@dataclass(frozen=True)
class Proportion:
    affected: int
    at_risk: int

    @property
    def percent(self) -> float:
        return 100 * self.affected / self.at_risk

    @property
    def wilson(self) -> tuple[float, float]:
        low, high = proportion_confint(self.affected, self.at_risk, alpha=0.05, method="wilson")
        return 100 * float(low), 100 * float(high)

    @property
    def exact(self) -> tuple[float, float]:
        """Clopper–Pearson."""
        low, high = proportion_confint(self.affected, self.at_risk, alpha=0.05, method="beta")
        low = 0.0 if self.affected == 0 else float(low)
        high = 1.0 if self.affected == self.at_risk else float(high)
        return 100 * low, 100 * high


@dataclass
class CohortCount:
    """One cohort's contribution to one figure: n of N, or why it cannot contribute."""

    study: m.Study
    cohort: m.Cohort
    measure: str
    proportion: Proportion | None
    reason: str = ""

    @property
    def reason_text(self) -> str:
        return str(NOT_POOLABLE_REASONS[self.reason]) if self.reason else ""


def count_cohort(measure: SafetyMeasure, events: list[m.AdverseEvent]) -> tuple[Proportion | None, str]:
    """Participants of one cohort counted by one figure: from the rows stating its total (deaths are
    added up: each participant dies once), else zero when a wider total is zero; else why not."""
    stated = [event for event in events if measure.states(event)]
    if not stated:
        zeros = [event for event in events if measure.implied_zero(event)]
        if zeros:
            return Proportion(affected=0, at_risk=min(event.n_at_risk or 0 for event in zeros)), ""
        return None, "no_statement"
    return count_stated(stated, add_up=measure.key == "death")


def count_stated(stated: list[m.AdverseEvent], *, add_up: bool = False) -> tuple[Proportion | None, str]:
    """One cohort's rows that state the same count: n/N when they agree (or, `add_up`, their sum), else why not."""
    if any(event.n_affected is None for event in stated):
        return None, "affected_unknown"
    if any(event.n_at_risk is None for event in stated):
        return None, "at_risk_unknown"
    denominators = {event.n_at_risk for event in stated}
    if len(denominators) > 1:
        return None, "denominators_differ"
    at_risk: int = denominators.pop()  # type: ignore[assignment]
    affected = [event.n_affected or 0 for event in stated]
    if add_up:
        return Proportion(affected=sum(affected), at_risk=at_risk), ""
    if len(set(affected)) > 1:
        return None, "several_totals"
    return Proportion(affected=affected[0], at_risk=at_risk), ""


@dataclass(frozen=True)
class ProductKey:
    """What a cohort received, as the safety table groups it."""

    cell_type: str
    route: str
    donor: str

    @property
    def is_control(self) -> bool:
        return not self.cell_type


@dataclass
class SafetyCell:
    counts: list[CohortCount] = field(default_factory=list)

    @property
    def poolable(self) -> list[CohortCount]:
        return [count for count in self.counts if count.proportion is not None]

    @property
    def not_poolable(self) -> list[CohortCount]:
        return [count for count in self.counts if count.proportion is None]

    @property
    def pooled(self) -> Proportion | None:
        poolable = self.poolable
        if not poolable:
            return None
        proportions = [count.proportion for count in poolable if count.proportion is not None]
        return Proportion(
            affected=sum(proportion.affected for proportion in proportions),
            at_risk=sum(proportion.at_risk for proportion in proportions),
        )

    @property
    def study_count(self) -> int:
        return len({count.study.pk for count in self.poolable})

    @property
    def accessions(self) -> list[str]:
        return sorted({count.study.accession for count in self.poolable})


@dataclass
class SafetyRow:
    product: ProductKey
    cells: dict[str, SafetyCell]

    @property
    def cohort_count(self) -> int:
        return len({(count.study.pk, count.cohort.pk) for cell in self.cells.values() for count in cell.counts})

    @property
    def accessions(self) -> list[str]:
        return sorted({count.study.accession for cell in self.cells.values() for count in cell.counts})


def product_key(cohort: m.Cohort) -> ProductKey:
    products = [i for i in cohort.interventions.all() if i.kind == c.InterventionKind.CELL_PRODUCT]

    def joined(values) -> str:
        return " + ".join(sorted({value for value in values if value}))

    return ProductKey(
        cell_type=joined(
            Localized.tr(i.cell_type, "name") if i.cell_type else str(_("cell type not reported")) for i in products
        ),
        route=joined(i.get_route_display() if i.route else str(_("route not reported")) for i in products),
        donor=joined(i.get_donor_display() if i.donor else str(_("donor not reported")) for i in products),
    )


def safety_table(studies: QuerySet) -> list[SafetyRow]:
    """Per cell product, each figure of SAFETY_MEASURES pooled over the cohorts that can give it.

    Three queries whatever the number of studies: the cohorts with their products, and the events."""
    cohorts = list(
        m.Cohort.objects.filter(study__in=studies)
        .select_related("study")
        .prefetch_related("interventions__cell_type")
        .order_by("study__accession", "pk")
    )
    events = m.AdverseEvent.objects.filter(study__in=studies)
    by_cohort: dict[int, list[m.AdverseEvent]] = defaultdict(list)
    unattributed: dict[int, list[m.AdverseEvent]] = defaultdict(list)
    for event in events:
        if event.cohort_id is None:
            unattributed[event.study_id].append(event)
        else:
            by_cohort[event.cohort_id].append(event)
    cohorts_per_study: dict[int, int] = defaultdict(int)
    for cohort in cohorts:
        cohorts_per_study[cohort.study_id] += 1

    rows: dict[ProductKey, SafetyRow] = {}
    for cohort in cohorts:
        own = by_cohort.get(cohort.pk, [])
        loose = unattributed.get(cohort.study_id, [])
        if loose and cohorts_per_study[cohort.study_id] == 1:
            # A study of one cohort: its study-level events are that cohort's.
            own, loose = own + loose, []
        key = product_key(cohort)
        row = rows.setdefault(key, SafetyRow(product=key, cells={name: SafetyCell() for name in SAFETY_MEASURE_KEYS}))
        for measure in SAFETY_MEASURES:
            proportion, reason = count_cohort(measure, own)
            if reason == "no_statement" and any(measure.states(event) for event in loose):
                reason = "no_cohort"
            row.cells[measure.key].counts.append(
                CohortCount(study=cohort.study, cohort=cohort, measure=measure.key, proportion=proportion, reason=reason)
            )
    return sorted(rows.values(), key=lambda row: (row.product.is_control, row.product.cell_type, row.product.route))


@dataclass
class TermRow:
    """One reported kind of event (organ class and term), over the cohorts that name it."""

    organ_class: str
    term: str
    cell: SafetyCell

    @property
    def organ_class_label(self) -> str:
        return str(c.OrganClass(self.organ_class).label)


def term_table(studies: QuerySet, organ_class: str | None = None) -> list[TermRow]:
    """Events the studies name, by organ class and term, each pooled over the cohorts that count it."""
    events = (
        m.AdverseEvent.objects.filter(study__in=studies, scope=c.AeScope.EVENT, cohort__isnull=False)
        .select_related("study", "cohort")
        .order_by("organ_class", "term", "study__accession", "cohort__pk")
    )
    if organ_class:
        events = events.filter(organ_class=organ_class)
    grouped: dict[tuple[str, str], dict[int, list[m.AdverseEvent]]] = defaultdict(lambda: defaultdict(list))
    for event in events:
        grouped[(event.organ_class, event.term.strip().lower())][event.cohort_id or 0].append(event)
    rows = []
    for (organ, _term), per_cohort in grouped.items():
        cell = SafetyCell()
        for cohort_events in per_cohort.values():
            proportion, reason = count_stated(cohort_events)
            first = cohort_events[0]
            cell.counts.append(
                CohortCount(study=first.study, cohort=first.cohort, measure="term", proportion=proportion, reason=reason)  # type: ignore[arg-type]
            )
        rows.append(TermRow(organ_class=organ, term=next(iter(per_cohort.values()))[0].term, cell=cell))
    return rows


def cell_data(cell: SafetyCell) -> dict:
    pooled = cell.pooled
    wilson = pooled.wilson if pooled else (None, None)
    exact = pooled.exact if pooled else (None, None)
    return {
        "affected": pooled.affected if pooled else None,
        "at_risk": pooled.at_risk if pooled else None,
        "percent": rounded(pooled.percent, 1) if pooled else None,
        "wilson_low": rounded(wilson[0], 1),
        "wilson_high": rounded(wilson[1], 1),
        "exact_low": rounded(exact[0], 1),
        "exact_high": rounded(exact[1], 1),
        "studies": cell.study_count,
        "accessions": cell.accessions,
        "cohorts": [
            {
                "accession": count.study.accession,
                "cohort": count.cohort.label,
                "affected": count.proportion.affected if count.proportion else None,
                "at_risk": count.proportion.at_risk if count.proportion else None,
                "not_poolable_because": count.reason_text,
            }
            for count in cell.counts
        ],
    }


def safety_data(rows: list[SafetyRow]) -> list[dict]:
    """One item per product and figure, with the studies behind it and the cohorts left out, and why."""
    return [
        {
            "cell_type": row.product.cell_type,
            "route": row.product.route,
            "donor": row.product.donor,
            "measure": key,
            **cell_data(row.cells[key]),
        }
        for row in rows
        for key in SAFETY_MEASURE_KEYS
    ]


def term_data(rows: list[TermRow]) -> list[dict]:
    return [{"organ_class": row.organ_class, "term": row.term, **cell_data(row.cell)} for row in rows]


def safety_csv_rows(items: list[dict]) -> list[dict]:
    """The JSON items as CSV rows: one row per cohort behind each figure, the figure repeated."""
    rows = []
    for item in items:
        figure = {key: value for key, value in item.items() if key not in ("accessions", "cohorts")}
        for cohort in item["cohorts"] or [{}]:
            rows.append({**figure, **{f"cohort_{key}": value for key, value in cohort.items()}})
    return rows
