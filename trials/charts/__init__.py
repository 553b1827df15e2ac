"""Outcome charts: each instrument's values over time per cohort, drawn as SVG on the server.

No JavaScript: the page stays readable without it, prints, and every chart is paired with a table of
the same numbers (`Chart.rows`) for screen readers and for anyone who wants the figures.

Honest by construction: a value measured at a timepoint is a point there; a change reported over a
window (from baseline to month 12, or over a lead-in before treatment) is a bar spanning that window,
never a point at its middle; time before treatment is negative and shaded; and each change is named
an improvement or a worsening from its sign and the instrument's direction, so a fall on a
lower-is-better scale reads as the improvement it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trials import choices as c
from trials.formatting import duration, number, scale_unit, signed
from trials.models import Instrument, Localized, OutcomeMeasure

# Months per unit, to put timepoints given in different units on one axis.
MONTHS_PER_UNIT = {
    c.TimeUnit.HOUR: 1 / (24 * 30.4375),
    c.TimeUnit.DAY: 1 / 30.4375,
    c.TimeUnit.WEEK: 7 / 30.4375,
    c.TimeUnit.MONTH: 1.0,
    c.TimeUnit.YEAR: 12.0,
}

# Okabe–Ito hues darkened to 3:1 or better against white (WCAG 1.4.11); markers differ too, so no
# series is told apart by colour alone.
PALETTE = ["#0063a6", "#c24e00", "#007a5a", "#a1437f", "#7a5b00", "#4a4a4a"]
MARKERS = ["circle", "square", "triangle", "diamond", "triangle-down", "cross"]

OUTCOME_TYPE_RANK = {value: rank for rank, value in enumerate(c.OutcomeType.values)}

# Statistics measured on the instrument's own scale: only these are drawn against its range and unit
# (a count of improved participants is not on the 0–100 motor scale).
ON_SCALE = {c.Statistic.MEAN, c.Statistic.MEDIAN, c.Statistic.INDIVIDUAL, c.Statistic.MEAN_CHANGE}
# Statistics whose axis starts at zero: 2 participants against 3 must not look like 0 against 100.
FROM_ZERO = {c.Statistic.COUNT, c.Statistic.PROPORTION, c.Statistic.RATE}
# Effect measures compare groups: the instrument's "lower is better" says nothing about which way they
# favour treatment, so their label comes from the measure's own kind.
EFFECT_LABELS: dict[str, Any] = {
    c.Statistic.RISK_REDUCTION: gettext_lazy("Relative risk reduction: above 0 means fewer events"),
    c.Statistic.ODDS_RATIO: gettext_lazy("Odds ratio: 1 means no difference in odds"),
    c.Statistic.HAZARD_RATIO: gettext_lazy("Hazard ratio: 1 means no difference in hazard"),
    c.Statistic.SMD: gettext_lazy("Standardised mean difference: 0 means no difference"),
}


@dataclass
class Point:
    """A value measured at one time (or, for a count over a window, held across `x`–`x_to`)."""

    x: float
    y: float
    low: float | None
    high: float | None
    label: str
    x_to: float | None = None
    spread: str = ""


@dataclass
class Bar:
    """A change reported over a window: from `start` to `end` on the time axis, of `change` units."""

    start: float
    end: float
    change: float
    low: float | None
    high: float | None
    label: str  # "−3.77 points/3 months"
    verdict: str  # "improvement", "worsening", "no change", or "increase"/"decrease" where no direction
    timepoint: str
    spread: str = ""

    @property
    def before_treatment(self) -> bool:
        return self.end <= 0 and self.start < 0


@dataclass
class Series:
    label: str
    colour: str
    marker: str
    points: list[Point] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)

    @property
    def swatch(self) -> SafeString:
        return legend_swatch(self)


@dataclass
class Chart:
    """One figure: an instrument's values (points) or changes over windows (bars) per cohort."""

    key: str
    kind: str  # "value" or "change"
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    rows: list[OutcomeMeasure]
    unplotted: list[OutcomeMeasure]
    on_scale: bool = True
    from_zero: bool = False
    direction: str = c.Direction.NEITHER
    svg: SafeString = mark_safe("")

    @property
    def plottable(self) -> bool:
        """A line needs two points; a single change over a window is a bar and stands alone."""
        if self.kind == "change":
            return any(series.bars for series in self.series)
        return any(len(series.points) > 1 for series in self.series)

    @property
    def error_kinds(self) -> list[str]:
        """The kinds of spread drawn as error bars, for the caption; empty when none is drawn."""
        drawn: list[Point | Bar] = [point for s in self.series for point in s.points]
        drawn += [bar for s in self.series for bar in s.bars]
        kinds = [item.spread for item in drawn if item.spread and item.low is not None]
        return list(dict.fromkeys(kinds))

    @property
    def has_lead_in(self) -> bool:
        return any(x < 0 for s in self.series for x in [*(p.x for p in s.points), *(b.start for b in s.bars)])


@dataclass
class InstrumentSection:
    instrument: Instrument
    direction_label: str
    outcome_types: list[str]
    charts: list[Chart]
    findings: list[OutcomeMeasure]


def direction_label(instrument: Instrument) -> str:
    if instrument.direction == c.Direction.HIGHER_IS_BETTER:
        return _("↑ Higher is better")
    if instrument.direction == c.Direction.LOWER_IS_BETTER:
        return _("↓ Lower is better")
    return _("No better direction")


def measure_label(instrument: Instrument, statistics: set[str]) -> str:
    """What "better" means for the numbers shown: the instrument's direction for its own values and
    counts; for effect measures (a risk reduction, an odds ratio) the measure's own reading."""
    effects = [str(EFFECT_LABELS[s]) for s in c.Statistic.values if s in statistics and s in EFFECT_LABELS]
    if statistics and statistics <= set(EFFECT_LABELS):
        return "; ".join(effects)
    return "; ".join([direction_label(instrument), *effects])


def cohort_label(outcome: OutcomeMeasure) -> str:
    return Localized.tr(outcome.cohort, "label") if outcome.cohort is not None else _("All participants")  # type: ignore[arg-type]


def has_numbers(outcome: OutcomeMeasure) -> bool:
    return outcome.value is not None or outcome.change_value is not None or outcome.baseline_value is not None


def spread_kind(outcome: OutcomeMeasure) -> str:
    return str(outcome.get_dispersion_type_display()) if outcome.dispersion_type else ""


def spread_label(outcome: OutcomeMeasure, *, baseline: bool = False) -> str:
    """ "SD 3.1", "95% CI 1.2–4.0", "range 2–9": the dispersion as the table shows it."""
    if baseline:
        return f"{spread_kind(outcome)} {number(outcome.baseline_dispersion)}" if outcome.baseline_dispersion is not None else ""
    kind = spread_kind(outcome)
    if outcome.dispersion_lower is not None and outcome.dispersion_upper is not None:
        return f"{kind} {number(outcome.dispersion_lower)}–{number(outcome.dispersion_upper)}".strip()
    if outcome.dispersion_value is not None:
        return f"{kind} {number(outcome.dispersion_value)}".strip()
    return ""


def verdict(change: float, direction: str) -> str:
    """A change in words from its sign and the instrument's direction (never from its size)."""
    if change == 0:
        return _("no change")
    better = {c.Direction.HIGHER_IS_BETTER.value: 1, c.Direction.LOWER_IS_BETTER.value: -1}.get(direction)
    if better is None:
        return _("increase") if change > 0 else _("decrease")
    return _("improvement") if (change > 0) == (better > 0) else _("worsening")


def section_order(instrument: Instrument, rows: list[OutcomeMeasure]) -> tuple:
    # The English name, not the localized one: both languages list the outcomes in the same order.
    return (min(OUTCOME_TYPE_RANK[r.outcome_type] for r in rows), instrument.name)


def outcome_sections(outcomes: list[OutcomeMeasure], *, follow_up_months: Decimal | None = None) -> list[InstrumentSection]:
    """The study's outcomes by instrument, primary outcomes first; no query (instrument and cohort are joined)."""
    by_instrument: dict[int, list[OutcomeMeasure]] = {}
    for outcome in outcomes:
        by_instrument.setdefault(outcome.instrument_id, []).append(outcome)
    ordered = sorted(by_instrument.values(), key=lambda rows: section_order(rows[0].instrument, rows))
    sections = []
    for index, rows in enumerate(ordered, start=1):
        instrument = rows[0].instrument
        numeric = [row for row in rows if has_numbers(row)]
        charts = []
        for kind, selected in (
            ("value", [row for row in numeric if row.value is not None or row.change_value is None]),
            ("change", [row for row in numeric if row.value is None and row.change_value is not None]),
        ):
            if selected:
                chart = build_chart(instrument, kind, selected, follow_up_months=follow_up_months)
                chart.key = f"chart-{index}-{kind}"
                if chart.plottable:
                    chart.svg = render_svg(chart, instrument)
                charts.append(chart)
        types = sorted({row.outcome_type for row in rows}, key=lambda value: OUTCOME_TYPE_RANK.get(value, 0))
        sections.append(
            InstrumentSection(
                instrument=instrument,
                direction_label=measure_label(instrument, {row.statistic for row in rows}),
                outcome_types=[str(c.OutcomeType(value).label) for value in types],
                charts=charts,
                findings=[
                    row for row in rows if not has_numbers(row) and (row.tr("finding") or row.p_value is not None or row.p_text)
                ],
            )
        )
    return sections


def axis_unit(rows: list[OutcomeMeasure]) -> str:
    units = {row.timepoint_unit for row in rows if row.timepoint is not None}
    return units.pop() if len(units) == 1 else c.TimeUnit.MONTH


def to_axis(value: Decimal | float, row_unit: str, unit: str) -> float:
    return float(value) * MONTHS_PER_UNIT[c.TimeUnit(row_unit)] / MONTHS_PER_UNIT[c.TimeUnit(unit)]


def span(row: OutcomeMeasure, unit: str, follow_up_months: Decimal | None) -> tuple[float, float | None] | None:
    """Where a row sits on the time axis: (time, None) for a timepoint, (start, end) for a window,
    the study's follow-up for "last follow-up"; None when the source places it nowhere we can draw."""
    if row.timepoint is not None:
        start = to_axis(row.timepoint, row.timepoint_unit, unit)
        end = to_axis(row.timepoint_to, row.timepoint_unit, unit) if row.timepoint_to is not None else None
        return start, end
    if row.is_last_follow_up and follow_up_months is not None:
        return float(follow_up_months) / MONTHS_PER_UNIT[c.TimeUnit(unit)], None
    return None


def change_window(row: OutcomeMeasure, unit: str, follow_up_months: Decimal | None) -> tuple[float, float] | None:
    """The window a change covers: its stated window, else from baseline (0) to its timepoint."""
    placed = span(row, unit, follow_up_months)
    if placed is None:
        return None
    start, end = placed
    if end is not None:
        return start, end
    return (min(start, 0.0), max(start, 0.0)) if start != 0 else None


def error_bar(row: OutcomeMeasure, centre: float) -> tuple[float | None, float | None]:
    """Only a spread the source gives: an interval as stated, or ± a value (SD, SE, or "±" of unstated
    kind, which is labelled as such). An IQR or range given as one number has no centre to draw from."""
    if row.dispersion_lower is not None and row.dispersion_upper is not None:
        return row.dispersion_lower, row.dispersion_upper
    if row.dispersion_value is not None and row.dispersion_type in (c.Dispersion.SD, c.Dispersion.SE, c.Dispersion.PM):
        return centre - row.dispersion_value, centre + row.dispersion_value
    return None, None


def window_length(row: OutcomeMeasure, follow_up_months: Decimal | None) -> str:
    """ "3 months" for a change over −3–0 months, in the row's own unit (never converted)."""
    if row.timepoint is not None:
        start = Decimal(0) if row.timepoint_to is None else row.timepoint
        end = row.timepoint if row.timepoint_to is None else row.timepoint_to
        return duration(abs(end - start), row.timepoint_unit)
    if follow_up_months is not None:
        return duration(follow_up_months, c.TimeUnit.MONTH)
    return ""


def change_label(row: OutcomeMeasure, instrument: Instrument, follow_up_months: Decimal | None) -> str:
    """ "−3.77 points/3 months": the change per the time it was measured over, as sources write it."""
    assert row.change_value is not None
    unit = scale_unit(instrument.unit) if row.statistic in ON_SCALE and instrument.unit else ""
    amount = f"{signed(row.change_value)} {unit}".strip()
    length = window_length(row, follow_up_months)
    return _("%(change)s/%(time)s") % {"change": amount, "time": length} if length else amount


def series_label(members: list[OutcomeMeasure], several_statistics: bool) -> str:
    parts = [cohort_label(members[0])]
    detail = members[0].tr("measure_detail")
    if detail:
        parts.append(detail)
    label = " · ".join(parts)
    if several_statistics:
        label += f" ({members[0].get_statistic_display()})"
    return label


def build_chart(instrument: Instrument, kind: str, rows: list[OutcomeMeasure], *, follow_up_months: Decimal | None) -> Chart:
    unit = axis_unit(rows)
    statistics = {row.statistic for row in rows}
    grouped: dict[tuple, list[OutcomeMeasure]] = {}
    for row in rows:
        grouped.setdefault((row.cohort_id or 0, row.measure_detail, row.statistic), []).append(row)
    series_list: list[Series] = []
    ordered_rows: list[OutcomeMeasure] = []
    unplotted: list[OutcomeMeasure] = []

    def when(row: OutcomeMeasure) -> tuple:
        placed = span(row, unit, follow_up_months)
        return (placed is None, placed[0] if placed else 0, row.pk)

    # Pooled rows (no cohort) first, then cohorts in the order they were curated, each in time order
    # (a lead-in before the treatment period).
    keys = sorted(grouped, key=lambda key: (key[0], min(when(row)[:2] for row in grouped[key]), key))
    for index, key in enumerate(keys):
        members = sorted(grouped[key], key=when)
        ordered_rows.extend(members)
        series = Series(series_label(members, len(statistics) > 1), PALETTE[index % len(PALETTE)], MARKERS[index % len(MARKERS)])
        if kind == "change":
            add_bars(series, members, instrument, unit, follow_up_months, unplotted)
        else:
            add_points(series, members, unit, follow_up_months, unplotted)
        series_list.append(series)

    # A curated abbreviation (NIHSS, ALSFRS-R) reads the same in both languages; a "short name" that is
    # just the English name ("Death") gives way to the localized name.
    abbreviation = instrument.abbreviation if instrument.abbreviation.casefold() != instrument.name.casefold() else ""
    name = abbreviation or instrument.tr("name")
    on_scale = statistics <= ON_SCALE
    unit_suffix = f" ({scale_unit(instrument.unit)})" if instrument.unit and on_scale else ""
    if kind == "change":
        title = _("%(instrument)s: change over each period") % {"instrument": name}
        y_label = _("Change") + unit_suffix
    else:
        title = _("%(instrument)s over time") % {"instrument": name}
        y_label = (rows[0].get_statistic_display() if len(statistics) == 1 else name) + unit_suffix
    return Chart(
        key="",
        kind=kind,
        title=title,
        x_label=_("Time from baseline (%(unit)s)") % {"unit": c.TimeUnit(unit).label},
        y_label=y_label,
        series=series_list,
        rows=ordered_rows,
        unplotted=unplotted,
        on_scale=on_scale,
        from_zero=kind == "change" or statistics <= FROM_ZERO,
        direction=instrument.direction,
    )


def add_points(series: Series, members: list[OutcomeMeasure], unit: str, follow_up: Decimal | None, unplotted: list) -> None:
    """Values: the reported baseline at time 0, then each value where it was measured."""
    spans = [(span(row, unit, follow_up), row) for row in members]
    first = next((row for row in members if row.baseline_value is not None), None)
    if first is not None and first.baseline_value is not None and all(s is None or s[0] != 0 for s, _r in spans):
        low = high = None
        if first.baseline_dispersion is not None and first.dispersion_type in (c.Dispersion.SD, c.Dispersion.SE, c.Dispersion.PM):
            low, high = first.baseline_value - first.baseline_dispersion, first.baseline_value + first.baseline_dispersion
        series.points.append(Point(0.0, first.baseline_value, low, high, _("Baseline"), spread=spread_kind(first)))
    for placed, row in spans:
        if row.value is None:
            continue  # a baseline-only row: drawn as the baseline point above
        if placed is None:
            unplotted.append(row)
            continue
        low, high = error_bar(row, row.value)
        series.points.append(
            Point(placed[0], row.value, low, high, row.timepoint_display, x_to=placed[1], spread=spread_kind(row))
        )


def add_bars(
    series: Series, members: list[OutcomeMeasure], instrument: Instrument, unit: str, follow_up: Decimal | None, unplotted: list
) -> None:
    """Changes: a bar over the window each was measured across, from zero to the change."""
    for row in members:
        window = change_window(row, unit, follow_up)
        if window is None or row.change_value is None:
            unplotted.append(row)
            continue
        low, high = error_bar(row, row.change_value)
        series.bars.append(
            Bar(
                start=window[0],
                end=window[1],
                change=row.change_value,
                low=low,
                high=high,
                label=change_label(row, instrument, follow_up),
                verdict=verdict(row.change_value, instrument.direction),
                timepoint=row.timepoint_display,
                spread=spread_kind(row),
            )
        )


# The drawing needs the classes above; it is re-exported so callers keep one module to import.
from .svg import legend_swatch, nice_ticks, render_svg, y_domain  # noqa: E402

__all__ = ["Chart", "InstrumentSection", "Series", "legend_swatch", "nice_ticks", "outcome_sections", "render_svg", "y_domain"]
