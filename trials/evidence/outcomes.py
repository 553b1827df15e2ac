"""One instrument's outcomes across studies: every row as improvement from baseline, judged for pooling
(or left out, with the reason), and a random-effects estimate where at least three studies qualify."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

import numpy
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from statsmodels.stats.meta_analysis import combine_effects

from trials import choices as c
from trials import models as m

from .figures import rounded

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
