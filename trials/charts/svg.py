"""Drawing a `Chart` as inline SVG.

The drawing is 420 units wide and shown at most 420 CSS px wide, with 17-unit text: on a 390 px phone
(about 320 px for the figure) the smallest text is still 12 CSS px or more.
"""

from __future__ import annotations

import math
import unicodedata

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from trials import choices as c
from trials.models import Instrument

from . import Bar, Chart, Point, Series, direction_label

WIDTH, HEIGHT = 420, 320
RIGHT, BOTTOM = 16, 56
# Room for the rotated y-axis label, left of the tick labels.
Y_LABEL = 30
FONT = 17
# Label rows above the plot: the direction, and (with a lead-in) "before treatment | treatment".
ROW = 22


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
    numbers around the data (from zero for changes and counts), with room for the bars' labels."""
    values = [v for s in chart.series for p in s.points for v in (p.y, p.low, p.high) if v is not None]
    values += [v for s in chart.series for b in s.bars for v in (b.change, b.low, b.high) if v is not None]
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
    if chart.kind == "change":
        # Two lines of label beyond each bar's end.
        room = (high - low) * 0.45
        low, high = (low - room if low < 0 else low), (high + room if high > 0 else high)
    ticks = nice_ticks(low, high)
    return ticks[0], ticks[-1], ticks


def fmt(value: float) -> str:
    return f"{value:.6g}".replace("-", "−")


def text_width(text: str) -> float:
    """About how wide `text` is at 16 units: CJK characters are square, Latin ones about half that."""
    return sum(FONT if unicodedata.east_asian_width(ch) in "WF" else FONT * 0.56 for ch in text)


def placed_text(
    text: str, centre: float, y: float, css: str, *, within: tuple[float, float] = (0, WIDTH), **attributes: str
) -> str:
    """Text centred on `centre` but kept inside `within` (the drawing, or the plot clear of the axis)."""
    half = text_width(text) / 2
    x = min(max(centre, within[0] + half + 2), within[1] - half - 2)
    extra = "".join(f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attributes.items())
    return format_html(
        '<text class="{}" x="{}" y="{}" text-anchor="middle" font-size="{}"{}>{}</text>',
        css,
        f"{x:.1f}",
        f"{y:.1f}",
        FONT,
        mark_safe(extra),
        text,
    )


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


def chart_direction(chart: Chart, instrument: Instrument) -> str:
    if chart.kind != "change" or chart.direction == c.Direction.NEITHER:
        return direction_label(instrument)
    if chart.direction == c.Direction.LOWER_IS_BETTER:
        return _("↓ Lower is better: a fall is an improvement")
    return _("↑ Higher is better: a rise is an improvement")


class Frame:
    """The plot's geometry: data coordinates to drawing coordinates."""

    def __init__(self, chart: Chart, instrument: Instrument) -> None:
        xs = [p.x for s in chart.series for p in s.points] + [p.x_to for s in chart.series for p in s.points if p.x_to]
        xs += [x for s in chart.series for b in s.bars for x in (b.start, b.end)]
        xs = xs or [0.0]
        low = min(0.0, min(xs))
        self.x_ticks = nice_ticks(low, max(xs) if max(xs) > low else 1.0, count=6)
        self.y0, self.y1, self.y_ticks = y_domain(chart, instrument)
        self.x0, self.x1 = self.x_ticks[0], self.x_ticks[-1]
        self.top = ROW * (2 if chart.has_lead_in else 1) + 12
        # The plot starts right of its widest tick label, so no label overlaps the axis title.
        self.left = round(Y_LABEL + max(text_width(fmt(tick)) for tick in self.y_ticks) + 10)
        self.plot_w, self.plot_h = WIDTH - self.left - RIGHT, HEIGHT - self.top - BOTTOM

    def sx(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * self.plot_w

    def sy(self, y: float) -> float:
        return self.top + self.plot_h - (y - self.y0) / (self.y1 - self.y0) * self.plot_h


def render_svg(chart: Chart, instrument: Instrument) -> SafeString:
    """The chart as inline SVG: gridlines, axes, the lead-in shaded, then each series' points or bars."""
    frame = Frame(chart, instrument)
    sx, sy, top, plot_h, left = frame.sx, frame.sy, frame.top, frame.plot_h, frame.left
    summary = (
        _(
            "Bar chart of changes, each bar spanning the period it was measured over; "
            "the same numbers are in the table that follows."
        )
        if chart.kind == "change"
        else _("Line chart, %(count)s series; the same numbers are in the table that follows.") % {"count": len(chart.series)}
    )
    parts: list[str] = [
        format_html('<title id="{}-title">{}</title>', chart.key, chart.title),
        format_html('<desc id="{}-desc">{}</desc>', chart.key, summary),
        format_html(
            '<text class="chart-direction" x="2" y="{}" font-size="{}">{}</text>',
            ROW - 4,
            FONT,
            chart_direction(chart, instrument),
        ),
    ]
    if chart.has_lead_in:
        zero = sx(0.0)
        parts.append(
            f'<rect class="chart-lead-in" x="{left}" y="{top}" width="{zero - left:.1f}" height="{plot_h:.1f}"/>'
            f'<line class="chart-start" x1="{zero:.1f}" x2="{zero:.1f}" y1="{top - 4}" y2="{top + plot_h}"/>'
        )
        before, after = _("← lead-in"), _("treatment →")
        parts.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" text-anchor="end" font-size="{}">{}</text>',
                f"{max(zero - 6, text_width(before) + 2):.1f}",
                2 * ROW - 2,
                FONT,
                before,
            )
        )
        parts.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" font-size="{}">{}</text>', f"{zero + 6:.1f}", 2 * ROW - 2, FONT, after
            )
        )
    for tick in frame.y_ticks:
        y = sy(tick)
        css = "chart-zero" if tick == 0 and chart.kind == "change" else "chart-grid"
        parts.append(f'<line class="{css}" x1="{left}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="chart-tick" x="{left - 6}" y="{y + 5:.1f}" text-anchor="end" font-size="{FONT}">{fmt(tick)}</text>'
        )
    for tick in frame.x_ticks:
        x = sx(tick)
        parts.append(f'<line class="chart-axis" x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 5}"/>')
        parts.append(
            f'<text class="chart-tick" x="{x:.1f}" y="{top + plot_h + 21}" text-anchor="middle" '
            f'font-size="{FONT}">{fmt(tick)}</text>'
        )
    parts.append(f'<line class="chart-axis" x1="{left}" x2="{WIDTH - RIGHT}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    parts.append(f'<line class="chart-axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}"/>')
    parts.append(placed_text(chart.x_label, left + frame.plot_w / 2, HEIGHT - 8, "chart-label"))
    parts.append(
        format_html(
            '<text class="chart-label" transform="translate(20 {}) rotate(-90)" text-anchor="middle" font-size="{}">{}</text>',
            f"{top + plot_h / 2:.1f}",
            FONT,
            chart.y_label,
        )
    )
    for index, series in enumerate(chart.series):
        parts.append(draw_bars(series, frame, index) if chart.kind == "change" else draw_points(series, frame))
    return format_html(
        '<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-labelledby="{}-title {}-desc" focusable="false">{}</svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        chart.key,
        chart.key,
        mark_safe("".join(str(part) for part in parts)),
    )


def error_path(x: float, low: float, high: float, frame: Frame) -> str:
    top, bottom = frame.sy(high), frame.sy(low)
    return (
        f'<path d="M{x:.1f} {top:.1f}V{bottom:.1f}M{x - 4:.1f} {top:.1f}h8M{x - 4:.1f} {bottom:.1f}h8" '
        'stroke-width="1.5" fill="none"/>'
    )


def draw_points(series: Series, frame: Frame) -> str:
    """Values at their timepoints, joined in time; a value held over a window is a segment across it."""
    sx, sy = frame.sx, frame.sy
    group = [f'<g class="chart-series" stroke="{series.colour}">']
    joined = [p for p in series.points if p.x_to is None]
    if len(joined) > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'}{sx(p.x):.1f} {sy(p.y):.1f}" for i, p in enumerate(joined))
        group.append(f'<path d="{path}" fill="none" stroke-width="2.5"/>')
    for point in series.points:
        group.append(draw_point(series, point, frame))
    group.append("</g>")
    return "".join(group)


def draw_point(series: Series, point: Point, frame: Frame) -> str:
    sx, sy = frame.sx, frame.sy
    y = sy(point.y)
    tooltip = escape(f"{series.label}, {point.label}: {fmt(point.y)}")
    if point.x_to is not None:
        start, end = sx(point.x), sx(point.x_to)
        shape = (
            f'<path class="chart-window" d="M{start:.1f} {y - 6:.1f}v12M{start:.1f} {y:.1f}H{end:.1f}M{end:.1f} {y - 6:.1f}v12" '
            f'stroke-width="3" fill="none" data-start="{point.x:g}" data-end="{point.x_to:g}"/>'
        )
        centre = (start + end) / 2
    else:
        shape = f'<g stroke="none">{marker(series.marker, sx(point.x), y, series.colour)}</g>'
        centre = sx(point.x)
    bar = error_path(centre, point.low, point.high, frame) if point.low is not None and point.high is not None else ""
    return f"<g><title>{tooltip}</title>{bar}{shape}</g>"


def draw_bars(series: Series, frame: Frame, index: int) -> str:
    """Each change as a bar spanning its window, from zero to the change, labelled with the change per
    its period and whether that is an improvement."""
    sx, sy = frame.sx, frame.sy
    group = [f'<g class="chart-series" stroke="{series.colour}">']
    zero = sy(0.0)
    for bar in series.bars:
        group.append(draw_bar(series, bar, sx(bar.start), sx(bar.end), zero, sy(bar.change), index, frame))
    group.append("</g>")
    return "".join(group)


def draw_bar(series: Series, bar: Bar, start: float, end: float, zero: float, y: float, index: int, frame: Frame) -> str:
    inset = 2.0 + 3 * index  # overlapping cohorts' bars stay distinguishable
    left, right = start + inset, max(end - inset, start + inset + 2)
    tooltip = escape(f"{series.label}, {bar.timepoint}: {bar.label} ({bar.verdict})")
    parts = [
        f"<g><title>{tooltip}</title>",
        f'<rect class="chart-bar" x="{left:.1f}" y="{min(zero, y):.1f}" width="{right - left:.1f}" '
        f'height="{max(abs(zero - y), 1.5):.1f}" fill="{series.colour}" fill-opacity="0.22" stroke-width="1.5" '
        f'data-start="{bar.start:g}" data-end="{bar.end:g}" data-change="{bar.change:g}"/>',
        # The change's own level, drawn across the whole window.
        f'<path d="M{left:.1f} {y:.1f}H{right:.1f}" stroke-width="3.5"/>',
    ]
    centre = (left + right) / 2
    if bar.low is not None and bar.high is not None:
        parts.append(error_path(centre, bar.low, bar.high, frame))
    below = bar.change < 0
    first = y + FONT + 4 if below else y - FONT - 8
    second = first + FONT + 2
    if below and bar.low is not None:
        first, second = frame.sy(bar.low) + FONT + 4, frame.sy(bar.low) + 2 * FONT + 6
    elif not below and bar.high is not None:
        first, second = frame.sy(bar.high) - FONT - 8, frame.sy(bar.high) - 6
    plot = (float(frame.left), float(WIDTH - RIGHT))
    parts.append(placed_text(bar.label, centre, first, "chart-value", within=plot, stroke="none"))
    parts.append(placed_text(bar.verdict, centre, second, "chart-verdict", within=plot, stroke="none"))
    parts.append("</g>")
    return "".join(parts)


def legend_swatch(series: Series) -> SafeString:
    """The series' marker and line (or bar), small, for the HTML legend beside the chart."""
    if series.bars:
        return mark_safe(
            f'<svg class="legend-swatch" viewBox="0 0 28 14" width="28" height="14" aria-hidden="true" focusable="false">'
            f'<rect x="1" y="2" width="26" height="10" fill="{series.colour}" fill-opacity="0.22" stroke="{series.colour}"/>'
            f'<path d="M1 2H27" stroke="{series.colour}" stroke-width="3"/></svg>'
        )
    return mark_safe(
        f'<svg class="legend-swatch" viewBox="0 0 28 14" width="28" height="14" aria-hidden="true" focusable="false">'
        f'<line x1="0" x2="28" y1="7" y2="7" stroke="{series.colour}" stroke-width="2.5"/>'
        f"{marker(series.marker, 14, 7, series.colour)}</svg>"
    )
