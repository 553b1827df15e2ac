"""Evidence across studies: harms counted per cell product, and one instrument's changes side by side.

Everything here reads what the curated rows state and no more. A cohort contributes to a safety figure
only when its rows give both the number of participants with such an event and the number at risk,
without double counting; otherwise it is listed as not poolable, with the reason. An outcome row
contributes to a pooled estimate only when it carries a mean change, its SD or SE, and n.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy
from django import forms
from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.proportion import proportion_confint

from trials import choices as c
from trials import models as m
from trials.models.base import Localized

CONTROL_ROLES = {
    c.CohortRole.PLACEBO,
    c.CohortRole.SHAM,
    c.CohortRole.NO_INTERVENTION,
    c.CohortRole.HISTORICAL_CONTROL,
    c.CohortRole.ACTIVE_COMPARATOR,
}
MONTHS_PER_UNIT: dict[str, Decimal] = {
    c.TimeUnit.HOUR: Decimal(1) / Decimal("730.5"),
    c.TimeUnit.DAY: Decimal(1) / Decimal("30.4375"),
    c.TimeUnit.WEEK: Decimal(7) / Decimal("30.4375"),
    c.TimeUnit.MONTH: Decimal(1),
    c.TimeUnit.YEAR: Decimal(12),
}
MIN_STUDIES_TO_POOL = 3


# --- safety ------------------------------------------------------------------------------------------


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


RELATED_SCOPES = {c.AeScope.ALL_RELATED, c.AeScope.ALL_SERIOUS_RELATED}
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
    if any(event.n_affected is None for event in stated):
        return None, "affected_unknown"
    if any(event.n_at_risk is None for event in stated):
        return None, "at_risk_unknown"
    denominators = {event.n_at_risk for event in stated}
    if len(denominators) > 1:
        return None, "denominators_differ"
    at_risk = denominators.pop()
    if measure.key == "death":
        return Proportion(affected=sum(event.n_affected for event in stated), at_risk=at_risk), ""  # type: ignore[misc, arg-type]
    if len({event.n_affected for event in stated}) > 1:
        return None, "several_totals"
    return Proportion(affected=stated[0].n_affected, at_risk=at_risk), ""  # type: ignore[arg-type]


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
        cell_type=joined(i.cell_type.name if i.cell_type else str(_("cell type not reported")) for i in products),
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
            proportion, reason = count_term(cohort_events)
            first = cohort_events[0]
            cell.counts.append(
                CohortCount(study=first.study, cohort=first.cohort, measure="term", proportion=proportion, reason=reason)  # type: ignore[arg-type]
            )
        rows.append(TermRow(organ_class=organ, term=next(iter(per_cohort.values()))[0].term, cell=cell))
    return rows


def count_term(events: list[m.AdverseEvent]) -> tuple[Proportion | None, str]:
    if any(event.n_affected is None for event in events):
        return None, "affected_unknown"
    if any(event.n_at_risk is None for event in events):
        return None, "at_risk_unknown"
    if len({event.n_at_risk for event in events}) > 1:
        return None, "denominators_differ"
    if len({event.n_affected for event in events}) > 1:
        return None, "several_totals"
    return Proportion(affected=events[0].n_affected, at_risk=events[0].n_at_risk), ""  # type: ignore[arg-type]


# --- outcomes ----------------------------------------------------------------------------------------

EXCLUSION_REASONS = {
    "no_time": _("the source gives no time for this result"),
    "outside_window": _("measured outside the chosen window"),
    "before_treatment": _("a period before treatment (lead-in)"),
    "control": _("a control cohort, not a treated one"),
    "not_on_scale": _("not a mean on the instrument's scale (%(statistic)s)"),
    "no_change": _("no change from baseline is reported"),
    "no_dispersion": _("no SD or SE is reported for the change"),
    "dispersion_kind": _("the spread is a %(kind)s, not an SD or SE"),
    "no_n": _("the number analysed is not reported"),
}


def months(value: Decimal | None, unit: str) -> float | None:
    if value is None or unit not in MONTHS_PER_UNIT:
        return None
    return float(value * MONTHS_PER_UNIT[unit])


@dataclass
class OutcomeEntry:
    outcome: m.OutcomeMeasure
    start_months: float | None
    end_months: float | None
    reason: str = ""
    reason_detail: dict = field(default_factory=dict)
    # In the instrument's direction: positive is improvement on either kind of scale.
    improvement: float | None = None
    standard_error: float | None = None

    @property
    def included(self) -> bool:
        return not self.reason

    @property
    def reason_text(self) -> str:
        return str(EXCLUSION_REASONS[self.reason]) % self.reason_detail if self.reason else ""

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.improvement is None or self.standard_error is None:
            return None
        z = 1.959963984540054
        return self.improvement - z * self.standard_error, self.improvement + z * self.standard_error


@dataclass(frozen=True)
class PooledEstimate:
    estimate: float
    low: float
    high: float
    i_squared: float
    tau_squared: float
    q: float
    studies: int

    @property
    def i_squared_percent(self) -> float:
        return 100 * self.i_squared


def direction_sign(instrument: m.Instrument) -> int | None:
    return {c.Direction.HIGHER_IS_BETTER.value: 1, c.Direction.LOWER_IS_BETTER.value: -1}.get(instrument.direction)


def judge(outcome: m.OutcomeMeasure, window: tuple[float, float]) -> OutcomeEntry:
    """An outcome row and whether it can enter the pooled estimate; the first reason it cannot."""
    start = months(outcome.timepoint, outcome.timepoint_unit)
    end = months(outcome.timepoint_to, outcome.timepoint_unit) if outcome.timepoint_to is not None else start
    entry = OutcomeEntry(outcome=outcome, start_months=start, end_months=end)

    def exclude(reason: str, **detail) -> OutcomeEntry:
        entry.reason, entry.reason_detail = reason, detail
        return entry

    if end is None:
        return exclude("no_time")
    if end <= 0:
        return exclude("before_treatment")
    if not window[0] <= end <= window[1]:
        return exclude("outside_window")
    if outcome.cohort is not None and outcome.cohort.role in CONTROL_ROLES:
        return exclude("control")
    if outcome.statistic not in (c.Statistic.MEAN, c.Statistic.MEAN_CHANGE):
        return exclude("not_on_scale", statistic=outcome.get_statistic_display().lower())
    if outcome.change_value is None:
        return exclude("no_change")
    if outcome.dispersion_value is None or not outcome.dispersion_type:
        return exclude("no_dispersion")
    if outcome.dispersion_type not in (c.Dispersion.SD, c.Dispersion.SE):
        return exclude("dispersion_kind", kind=outcome.get_dispersion_type_display().lower())
    if not outcome.n_analysed:
        return exclude("no_n")
    sign = direction_sign(outcome.instrument) or 1
    entry.improvement = sign * outcome.change_value
    entry.standard_error = (
        outcome.dispersion_value / math.sqrt(outcome.n_analysed)
        if outcome.dispersion_type == c.Dispersion.SD
        else outcome.dispersion_value
    )
    return entry


def pooled_rows(entries: list[OutcomeEntry]) -> list[OutcomeEntry]:
    """The included rows a pooled estimate uses: one per study, its latest time in the window (a study
    must not count twice); none when fewer than MIN_STUDIES_TO_POOL studies have one."""
    per_study: dict[int, OutcomeEntry] = {}
    for entry in entries:
        if entry.included:
            kept = per_study.get(entry.outcome.study_id)
            if kept is None or (entry.end_months or 0) > (kept.end_months or 0):
                per_study[entry.outcome.study_id] = entry
    return list(per_study.values()) if len(per_study) >= MIN_STUDIES_TO_POOL else []


def pool(entries: list[OutcomeEntry]) -> PooledEstimate | None:
    """DerSimonian–Laird random effects over `pooled_rows`, with I² and τ²."""
    chosen = pooled_rows(entries)
    if not chosen:
        return None
    effects = numpy.array([float(entry.improvement or 0) for entry in chosen])
    variances = numpy.array([float(entry.standard_error or 0) ** 2 for entry in chosen])
    result = combine_effects(effects, variances, method_re="dl", use_t=False)
    # DerSimonian–Laird truncates τ² at 0; statsmodels leaves it negative when Q < df. At τ² = 0 the
    # random-effects estimate is the fixed-effect one, which statsmodels computes too.
    tau_squared = max(0.0, float(result.tau2))
    row = result.summary_frame(alpha=0.05).loc["random effect" if tau_squared > 0 else "fixed effect"]
    q = float(result.q)
    return PooledEstimate(
        estimate=float(row["eff"]),
        low=float(row["ci_low"]),
        high=float(row["ci_upp"]),
        # I² = (Q − df) / Q, truncated at 0 as Higgins and Thompson define it.
        i_squared=max(0.0, (q - (len(chosen) - 1)) / q) if q > 0 else 0.0,
        tau_squared=tau_squared,
        q=q,
        studies=len(chosen),
    )


def outcome_entries(studies: QuerySet, instrument: m.Instrument, window: tuple[float, float]) -> list[OutcomeEntry]:
    """Every public row of one instrument in the filtered studies, judged (one query)."""
    outcomes = (
        m.OutcomeMeasure.objects.filter(study__in=studies, instrument=instrument)
        .select_related("study", "cohort", "instrument")
        .order_by("study__accession", "cohort__pk", "timepoint", "pk")
    )
    return [judge(outcome, window) for outcome in outcomes]


# --- what the pages, the JSON and the CSV show: the same numbers ----------------------------------


def rounded(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


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


def outcome_data(instrument: m.Instrument, window: tuple[float, float], entries: list[OutcomeEntry]) -> dict:
    pooled = pool(entries)
    used = {entry.outcome.pk for entry in pooled_rows(entries)}
    return {
        "instrument": instrument.slug,
        "direction": instrument.direction,
        "window_months": list(window),
        "pooled": None
        if pooled is None
        else {
            "method": "DerSimonian-Laird random effects",
            "improvement": rounded(pooled.estimate, 3),
            "ci_low": rounded(pooled.low, 3),
            "ci_high": rounded(pooled.high, 3),
            "i_squared_percent": rounded(pooled.i_squared_percent, 1),
            "tau_squared": rounded(pooled.tau_squared, 4),
            "q": rounded(pooled.q, 3),
            "studies": pooled.studies,
        },
        "rows": [outcome_row(entry, entry.outcome.pk in used) for entry in entries],
    }


def outcome_row(entry: OutcomeEntry, in_pooled: bool) -> dict:
    outcome = entry.outcome
    interval = entry.interval
    return {
        "accession": outcome.study.accession,
        "cohort": outcome.cohort.label if outcome.cohort else "",
        "statistic": outcome.statistic,
        "from_months": rounded(entry.start_months),
        "to_months": rounded(entry.end_months),
        "change": outcome.change_value,
        "improvement": rounded(entry.improvement, 3),
        "dispersion_type": outcome.dispersion_type,
        "dispersion_value": outcome.dispersion_value,
        "n_analysed": outcome.n_analysed,
        "standard_error": rounded(entry.standard_error, 4),
        "ci_low": rounded(interval[0], 3) if interval else None,
        "ci_high": rounded(interval[1], 3) if interval else None,
        "included": entry.included,
        "in_pooled_estimate": in_pooled,
        "excluded_because": entry.reason_text,
    }


@dataclass(frozen=True)
class ForestLine:
    label: str
    estimate: float
    low: float
    high: float
    x: float
    x_low: float
    x_high: float
    href: str = ""
    summary: bool = False

    @property
    def mark_x(self) -> float:
        return round(self.x - 0.8, 2)


@dataclass(frozen=True)
class ForestPlot:
    """Positions on a 0–100 scale for a forest plot; the scale always includes zero."""

    lines: list[ForestLine]
    low: float
    high: float
    zero: float


def forest(lines: list[tuple[str, float, float, float, str, bool]]) -> ForestPlot | None:
    if not lines:
        return None
    low = min(0.0, *(line[2] for line in lines))
    high = max(0.0, *(line[3] for line in lines))
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return round(100 * (value - low) / span, 2)

    placed = [
        ForestLine(label, estimate, lo, hi, x(estimate), x(lo), x(hi), href, summary)
        for label, estimate, lo, hi, href, summary in lines
    ]
    return ForestPlot(lines=placed, low=low, high=high, zero=x(0.0))


# --- the views' own parameters (the study filters are the search's FilterSet) ------------------------


class EvidenceForm(forms.Form):
    """Parameters of the evidence views beyond the search's filters; shared by the pages and the API."""

    organ_class = forms.ChoiceField(label=_("Organ class"), choices=[("", _("All")), *c.OrganClass.choices], required=False)
    measure = forms.ChoiceField(
        label=_("Figure charted"),
        choices=[(measure.key, measure.heading) for measure in SAFETY_MEASURES],
        required=False,
    )
    instrument = forms.SlugField(label=_("Instrument"), required=False)
    window_from = forms.FloatField(label=_("From month"), required=False, min_value=0, max_value=600)
    window_to = forms.FloatField(label=_("To month"), required=False, min_value=0, max_value=600)

    @property
    def window(self) -> tuple[float, float]:
        data = self.cleaned_data
        start = data.get("window_from")
        end = data.get("window_to")
        return (0.0 if start is None else start, 600.0 if end is None else end)


EVIDENCE_PARAMETERS = set(EvidenceForm.base_fields)


# --- side by side ------------------------------------------------------------------------------------

MAX_COMPARED = 4


def unknown_as_mark(number: int | None) -> str:
    return "?" if number is None else str(number)


def tr(obj: Any, field: str) -> str:
    """The Chinese field on Chinese pages when curated, else English (any model with `_zh` fields)."""
    return Localized.tr(obj, field)


@dataclass
class AlignedRow:
    """One line of the side-by-side table: a heading and each study's entries (a list per study)."""

    heading: str
    cells: list[list[str]]


def side_by_side(studies: list[m.Study]) -> dict[str, list[AlignedRow]]:
    """Design, population and product facts, outcomes by instrument and harms by organ class, aligned
    across the studies (loaded with `document_queryset`, so this reads no more rows)."""
    from trials.formatting import timepoint_label

    def per_study(getter) -> list[list[str]]:
        return [[value for value in getter(study) if value] for study in studies]

    def products(study: m.Study):
        return [
            i for cohort in study.cohorts.all() for i in cohort.interventions.all() if i.kind == c.InterventionKind.CELL_PRODUCT
        ]

    def co_therapies(study: m.Study):
        return [
            i for cohort in study.cohorts.all() for i in cohort.interventions.all() if i.kind != c.InterventionKind.CELL_PRODUCT
        ]

    def dose(i: m.Intervention) -> str:
        text = tr(i, "dose_text")
        return f"{tr(i, 'name')}: {text}" if text else ""

    facts = [
        AlignedRow(str(_("Conditions")), per_study(lambda s: [tr(link.condition, "name") for link in s.study_conditions.all()])),
        AlignedRow(
            str(_("Design")),
            per_study(
                lambda s: [s.get_study_type_display(), s.get_phase_display(), s.get_allocation_display(), s.get_masking_display()]
            ),
        ),
        AlignedRow(str(_("Status")), per_study(lambda s: [s.get_overall_status_display()])),
        AlignedRow(str(_("Enrolment")), per_study(lambda s: [str(s.enrollment) if s.enrollment is not None else ""])),
        AlignedRow(
            str(_("Cohorts")),
            per_study(
                lambda s: [
                    f"{tr(cohort, 'label')} ({cohort.get_role_display()}, n = {unknown_as_mark(cohort.n_enrolled)})"
                    for cohort in s.cohorts.all()
                ]
            ),
        ),
        AlignedRow(
            str(_("Cell product")),
            per_study(
                lambda s: [
                    " · ".join(
                        filter(
                            None,
                            [
                                str(i.cell_type or i.name),
                                i.get_source_tissue_display() if i.source_tissue else "",
                                i.get_donor_display() if i.donor else "",
                            ],
                        )
                    )
                    for i in products(s)
                ]
            ),
        ),
        AlignedRow(str(_("Dose")), per_study(lambda s: [dose(i) for i in products(s)])),
        AlignedRow(
            str(_("Route")),
            per_study(
                lambda s: [
                    i.get_route_display() + (f" ({i.route_detail})" if i.route_detail else "") for i in products(s) if i.route
                ]
            ),
        ),
        AlignedRow(str(_("Schedule")), per_study(lambda s: [i.schedule for i in products(s)])),
        AlignedRow(
            str(_("Co-therapies")),
            per_study(lambda s: [f"{i.name}{': ' + i.dose_text if i.dose_text else ''}" for i in co_therapies(s)]),
        ),
        AlignedRow(
            str(_("Follow-up")), per_study(lambda s: [f"{s.follow_up_months:g} {_('months')}" if s.follow_up_months else ""])
        ),
    ]

    instruments: dict[str, str] = {}
    for study in studies:
        for outcome in study.outcomes.all():
            instruments.setdefault(outcome.instrument.slug, tr(outcome.instrument, "name"))

    def outcome_text(outcome: m.OutcomeMeasure) -> str:
        parts = [timepoint_label(outcome) or str(_("time not reported"))]
        if outcome.cohort is not None:
            parts.append(tr(outcome.cohort, "label"))
        if outcome.value is not None:
            parts.append(f"{outcome.get_statistic_display()} {outcome.value:g}")
        if outcome.change_value is not None:
            parts.append(f"{_('change')} {outcome.change_value:+g}")
        if outcome.p_text:
            parts.append(outcome.p_text)
        return " · ".join(parts)

    outcomes = [
        AlignedRow(name, [[outcome_text(o) for o in study.outcomes.all() if o.instrument.slug == slug] for study in studies])
        for slug, name in sorted(instruments.items(), key=lambda item: item[1].lower())
    ]

    organ_classes = sorted({event.organ_class for study in studies for event in study.adverse_events.all()})

    def harm_text(event: m.AdverseEvent) -> str:
        count = f"{unknown_as_mark(event.n_affected)}/{unknown_as_mark(event.n_at_risk)}"
        return f"{tr(event, 'term')}: {count}" + (
            f" ({event.get_serious_display().lower()})" if event.serious == c.Seriousness.SERIOUS else ""
        )

    harms = [
        AlignedRow(
            str(c.OrganClass(organ).label),
            [[harm_text(e) for e in study.adverse_events.all() if e.organ_class == organ] for study in studies],
        )
        for organ in organ_classes
    ]
    return {"facts": facts, "outcomes": outcomes, "harms": harms}
