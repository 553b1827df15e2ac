"""Outcome charts: each instrument's values over time per cohort, drawn as SVG on the server.

No JavaScript: the page stays readable without it, prints, and every chart is paired with a table of
the same numbers (`Chart.rows`) for screen readers and for anyone who wants the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from . import choices as c
from .formatting import number
from .models import Instrument, Localized, OutcomeMeasure

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

WIDTH, HEIGHT = 600, 330
LEFT, RIGHT, TOP, BOTTOM = 70, 24, 40, 56

OUTCOME_TYPE_RANK = {value: rank for rank, value in enumerate(c.OutcomeType.values)}

# Statistics measured on the instrument's own scale: only these are drawn against its range and unit
# (a count of improved participants is not on the 0–100 motor scale).
ON_SCALE = {c.Statistic.MEAN, c.Statistic.MEDIAN, c.Statistic.INDIVIDUAL, c.Statistic.MEAN_CHANGE}
# Statistics whose axis starts at zero: 2 participants against 3 must not look like 0 against 100.
FROM_ZERO = {c.Statistic.COUNT, c.Statistic.PROPORTION, c.Statistic.RATE}


@dataclass
class Point:
    x: float
    y: float
    low: float | None
    high: float | None
    label: str


@dataclass
class Series:
    label: str
    colour: str
    marker: str
    points: list[Point] = field(default_factory=list)

    @property
    def swatch(self) -> SafeString:
        return legend_swatch(self)


@dataclass
class Chart:
    """One figure: an instrument's values (or changes from baseline) per cohort over time."""

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
    svg: SafeString = mark_safe("")

    @property
    def plottable(self) -> bool:
        """A line needs two points: a single measurement reads better as the table alone."""
        return any(len(series.points) > 1 for series in self.series)


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


def cohort_label(outcome: OutcomeMeasure) -> str:
    return Localized.tr(outcome.cohort, "label") if outcome.cohort is not None else _("All participants")  # type: ignore[arg-type]


def has_numbers(outcome: OutcomeMeasure) -> bool:
    return outcome.value is not None or outcome.change_value is not None or outcome.baseline_value is not None


def spread_label(outcome: OutcomeMeasure, *, baseline: bool = False) -> str:
    """ "SD 3.1", "95% CI 1.2–4.0", "range 2–9": the dispersion as the table shows it."""
    if baseline:
        return (
            f"{outcome.get_dispersion_type_display()} {number(outcome.baseline_dispersion)}"
            if outcome.baseline_dispersion is not None
            else ""
        )
    kind = outcome.get_dispersion_type_display() if outcome.dispersion_type else ""
    if outcome.dispersion_lower is not None and outcome.dispersion_upper is not None:
        return f"{kind} {number(outcome.dispersion_lower)}–{number(outcome.dispersion_upper)}".strip()
    if outcome.dispersion_value is not None:
        return f"{kind} {number(outcome.dispersion_value)}".strip()
    return ""


def outcome_sections(outcomes: list[OutcomeMeasure], *, follow_up_months: Decimal | None = None) -> list[InstrumentSection]:
    """The study's outcomes by instrument, primary outcomes first; no query (instrument and cohort are joined)."""
    by_instrument: dict[int, list[OutcomeMeasure]] = {}
    for outcome in outcomes:
        by_instrument.setdefault(outcome.instrument_id, []).append(outcome)
    sections = []
    for rows in by_instrument.values():
        instrument = rows[0].instrument
        numeric = [row for row in rows if has_numbers(row)]
        charts = []
        for kind, selected in (
            ("value", [row for row in numeric if row.value is not None or row.change_value is None]),
            ("change", [row for row in numeric if row.value is None and row.change_value is not None]),
        ):
            if selected:
                charts.append(build_chart(instrument, kind, selected, follow_up_months=follow_up_months))
        types = sorted({row.outcome_type for row in rows}, key=lambda value: OUTCOME_TYPE_RANK.get(value, 0))
        sections.append(
            InstrumentSection(
                instrument=instrument,
                direction_label=direction_label(instrument),
                outcome_types=[str(c.OutcomeType(value).label) for value in types],
                charts=charts,
                findings=[
                    row for row in rows if not has_numbers(row) and (row.tr("finding") or row.p_value is not None or row.p_text)
                ],
            )
        )
    sections.sort(
        key=lambda s: (min(OUTCOME_TYPE_RANK[r.outcome_type] for r in by_instrument[s.instrument.pk]), s.instrument.tr("name"))
    )
    for index, section in enumerate(sections, start=1):
        for chart in section.charts:
            chart.key = f"chart-{index}-{chart.kind}"
            if chart.plottable:
                chart.svg = render_svg(chart, section.instrument)
    return sections


def axis_unit(rows: list[OutcomeMeasure]) -> str:
    units = {row.timepoint_unit for row in rows if row.timepoint is not None}
    return units.pop() if len(units) == 1 else c.TimeUnit.MONTH


def position(row: OutcomeMeasure, unit: str, follow_up_months: Decimal | None) -> float | None:
    """Where a row sits on the time axis: a window's middle; "last follow-up" at the study's follow-up."""
    if row.timepoint is not None:
        start = float(row.timepoint)
        middle = (start + float(row.timepoint_to)) / 2 if row.timepoint_to is not None else start
        return middle * MONTHS_PER_UNIT[c.TimeUnit(row.timepoint_unit)] / MONTHS_PER_UNIT[c.TimeUnit(unit)]
    if row.is_last_follow_up and follow_up_months is not None:
        return float(follow_up_months) / MONTHS_PER_UNIT[c.TimeUnit(unit)]
    return None


def error_bar(row: OutcomeMeasure, centre: float) -> tuple[float | None, float | None]:
    if row.dispersion_lower is not None and row.dispersion_upper is not None:
        return row.dispersion_lower, row.dispersion_upper
    if row.dispersion_value is not None and row.dispersion_type in (c.Dispersion.SD, c.Dispersion.SE):
        return centre - row.dispersion_value, centre + row.dispersion_value
    return None, None


def build_chart(instrument: Instrument, kind: str, rows: list[OutcomeMeasure], *, follow_up_months: Decimal | None) -> Chart:
    unit = axis_unit(rows)
    statistics = {row.statistic for row in rows}
    grouped: dict[tuple, list[OutcomeMeasure]] = {}
    for row in rows:
        grouped.setdefault((row.cohort_id or 0, row.measure_detail, row.statistic), []).append(row)
    series_list: list[Series] = []
    ordered_rows: list[OutcomeMeasure] = []
    unplotted: list[OutcomeMeasure] = []
    # Pooled rows (no cohort) first, then cohorts in the order they were curated.
    for index, key in enumerate(sorted(grouped)):
        members = grouped[key]
        members.sort(
            key=lambda row: (position(row, unit, follow_up_months) is None, position(row, unit, follow_up_months) or 0, row.pk)
        )
        ordered_rows.extend(members)
        parts = [cohort_label(members[0])]
        if members[0].measure_detail:
            parts.append(members[0].measure_detail)
        label = " · ".join(parts)
        if len(statistics) > 1:
            label += f" ({members[0].get_statistic_display()})"
        series = Series(label, PALETTE[index % len(PALETTE)], MARKERS[index % len(MARKERS)])
        positions = [(position(row, unit, follow_up_months), row) for row in members]
        if all(x != 0 for x, _row in positions):
            # The series starts at baseline: the reported baseline for values, zero for changes.
            first = next((row for row in members if row.baseline_value is not None), None)
            if kind == "change":
                series.points.append(Point(0.0, 0.0, None, None, _("Baseline")))
            elif first is not None and first.baseline_value is not None:
                low = high = None
                if first.baseline_dispersion is not None and first.dispersion_type in (c.Dispersion.SD, c.Dispersion.SE):
                    low, high = first.baseline_value - first.baseline_dispersion, first.baseline_value + first.baseline_dispersion
                series.points.append(Point(0.0, first.baseline_value, low, high, _("Baseline")))
        for x, row in positions:
            y = row.change_value if kind == "change" else row.value
            if y is None:
                continue  # a baseline-only row: drawn as the baseline point above
            if x is None:
                unplotted.append(row)
                continue
            low, high = error_bar(row, y)
            series.points.append(Point(x, y, low, high, row.timepoint_display))
        series_list.append(series)

    # A curated abbreviation (NIHSS, ALSFRS-R) reads the same in both languages; a "short name" that is
    # just the English name ("Death") gives way to the localized name.
    abbreviation = instrument.abbreviation if instrument.abbreviation.casefold() != instrument.name.casefold() else ""
    name = abbreviation or instrument.tr("name")
    on_scale = statistics <= ON_SCALE
    unit_suffix = f" ({instrument.unit})" if instrument.unit and on_scale else ""
    if kind == "change":
        title = _("%(instrument)s: change from baseline over time") % {"instrument": name}
        y_label = _("Change from baseline") + unit_suffix
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
    )


# --- Drawing -----------------------------------------------------------------------------------------


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 × 10ⁿ apart) covering [low, high]."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if (high - low) / (m * magnitude) <= count)
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    return [round(start + i * step, 10) for i in range(int(round((end - start) / step)) + 1)]


def y_domain(chart: Chart, instrument: Instrument) -> tuple[float, float, list[float]]:
    """The y axis's bottom, top and ticks: the instrument's whole scale for scores on it, else round
    numbers around the data (from zero for changes and counts)."""
    values = [v for s in chart.series for p in s.points for v in (p.y, p.low, p.high) if v is not None]
    if not values:
        values = [0.0]
    low, high = min(values), max(values)
    if chart.from_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    elif chart.on_scale and instrument.range_min is not None and instrument.range_max is not None:
        scale = float(instrument.range_min), float(instrument.range_max)
        # The whole scale, so a 2-point change on a 48-point scale looks like one.
        if scale[0] <= low and high <= scale[1]:
            ticks = [tick for tick in nice_ticks(*scale) if scale[0] <= tick <= scale[1]]
            step = ticks[1] - ticks[0] if len(ticks) > 1 else scale[1] - scale[0]
            if scale[1] - ticks[-1] > step / 3:
                ticks.append(scale[1])
            return scale[0], scale[1], ticks
    if high == low:
        low, high = low - 1, high + 1
    ticks = nice_ticks(low, high)
    return ticks[0], ticks[-1], ticks


def fmt(value: float) -> str:
    return f"{value:.6g}"


def marker(shape: str, x: float, y: float, colour: str) -> str:
    r = 5.0
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>'
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" fill="{colour}"/>'
    if shape == "cross":
        return (
            f'<path d="M{x - r:.1f} {y - r:.1f}L{x + r:.1f} {y + r:.1f}M{x - r:.1f} {y + r:.1f}L{x + r:.1f} {y - r:.1f}" '
            f'stroke="{colour}" stroke-width="3"/>'
        )
    if shape == "diamond":
        points = [(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)]
    elif shape == "triangle-down":
        points = [(x - r - 1, y - r), (x + r + 1, y - r), (x, y + r + 1)]
    else:
        points = [(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)]
    return '<polygon points="{}" fill="{}"/>'.format(" ".join(f"{px:.1f},{py:.1f}" for px, py in points), colour)


def render_svg(chart: Chart, instrument: Instrument) -> SafeString:
    """The chart as inline SVG: gridlines, axes, a line per series with error bars and markers."""
    xs = [p.x for s in chart.series for p in s.points] or [0.0]
    x_ticks = nice_ticks(min(0.0, min(xs)), max(xs) if max(xs) > min(0.0, min(xs)) else 1.0, count=6)
    y0, y1, y_ticks = y_domain(chart, instrument)
    x0, x1 = x_ticks[0], x_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - (y - y0) / (y1 - y0) * plot_h

    parts: list[str] = [
        format_html('<title id="{}-title">{}</title>', chart.key, chart.title),
        format_html(
            '<desc id="{}-desc">{}</desc>',
            chart.key,
            _("Line chart, %(count)s series; the same numbers are in the table that follows.") % {"count": len(chart.series)},
        ),
        format_html('<text class="chart-direction" x="{}" y="18">{}</text>', LEFT, direction_label(instrument)),
    ]
    for tick in y_ticks:
        y = sy(tick)
        css = "chart-zero" if tick == 0 and chart.kind == "change" else "chart-grid"
        parts.append(f'<line class="{css}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="chart-tick" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{fmt(tick)}</text>')
    for tick in x_ticks:
        x = sx(tick)
        parts.append(f'<line class="chart-axis" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 5}"/>')
        parts.append(f'<text class="chart-tick" x="{x:.1f}" y="{TOP + plot_h + 20}" text-anchor="middle">{fmt(tick)}</text>')
    parts.append(f'<line class="chart-axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    parts.append(f'<line class="chart-axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>')
    parts.append(
        format_html(
            '<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text>',
            LEFT + plot_w / 2,
            HEIGHT - 10,
            chart.x_label,
        )
    )
    parts.append(
        format_html(
            '<text class="chart-label" transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>',
            f"{TOP + plot_h / 2:.1f}",
            chart.y_label,
        )
    )
    for series in chart.series:
        group = [f'<g class="chart-series" stroke="{series.colour}">']
        if len(series.points) > 1:
            path = " ".join(f"{'M' if i == 0 else 'L'}{sx(p.x):.1f} {sy(p.y):.1f}" for i, p in enumerate(series.points))
            group.append(f'<path d="{path}" fill="none" stroke-width="2.5"/>')
        for point in series.points:
            x, y = sx(point.x), sy(point.y)
            if point.low is not None and point.high is not None:
                top, bottom = sy(point.high), sy(point.low)
                group.append(
                    f'<path d="M{x:.1f} {top:.1f}V{bottom:.1f}M{x - 4:.1f} {top:.1f}h8M{x - 4:.1f} {bottom:.1f}h8" '
                    'stroke-width="1.5" fill="none"/>'
                )
            tooltip = f"{series.label}, {point.label}: {fmt(point.y)}"
            group.append(f'<g stroke="none"><title>{escape(tooltip)}</title>{marker(series.marker, x, y, series.colour)}</g>')
        group.append("</g>")
        parts.append("".join(group))
    return format_html(
        '<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="{}-title {}-desc" focusable="false">{}</svg>',
        WIDTH,
        HEIGHT,
        chart.key,
        chart.key,
        mark_safe("".join(str(part) for part in parts)),
    )


def legend_swatch(series: Series) -> SafeString:
    """The series' marker and line, small, for the HTML legend beside the chart."""
    return mark_safe(
        f'<svg class="legend-swatch" viewBox="0 0 28 14" width="28" height="14" aria-hidden="true" focusable="false">'
        f'<line x1="0" x2="28" y1="7" y2="7" stroke="{series.colour}" stroke-width="2.5"/>'
        f"{marker(series.marker, 14, 7, series.colour)}</svg>"
    )
