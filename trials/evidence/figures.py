"""What the pages, the JSON and the CSV show alike: rounded numbers, and forest-plot positions."""

from __future__ import annotations

from dataclasses import dataclass


def rounded(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


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
