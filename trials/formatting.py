"""Human-readable spellings shared by pages, CSV and the admin."""

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from trials import choices as c

# The units curated instruments are scored in, translated here once: the unit is vocabulary data, but a
# Chinese page must not say "points" (分). A unit not listed is shown as curated.
SCALE_UNITS = {
    "points": gettext_lazy("points"),
    "% predicted": gettext_lazy("% predicted"),
    "levels": gettext_lazy("levels"),
    "relapses": gettext_lazy("relapses"),
}


def number(value: Decimal | float | None) -> str:
    """12.0 -> "12", 2.5 -> "2.5": numbers as a curator would write them."""
    if value is None:
        return ""
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def signed(value: float) -> str:
    """-3.77 -> "−3.77", 9.26 -> "+9.26": a change, with a true minus sign."""
    text = number(abs(value))
    return f"−{text}" if value < 0 else f"+{text}" if value > 0 else text


def scale_unit(unit: str) -> str:
    return str(SCALE_UNITS.get(unit, unit))


def duration(amount: Decimal | float | str, unit: str, *, count: Decimal | float | None = None) -> str:
    """ "1 month", "2 months", "0–9 months", "1.5 months": `amount` spelled, its plural chosen by `count`
    (by default the amount itself; a fraction takes the plural, as in English)."""
    text = amount if isinstance(amount, str) else number(amount)
    value = count if count is not None else (None if isinstance(amount, str) else amount)
    # ngettext counts whole numbers; 0.5 months and 1.5 months take the plural, as in English.
    n = 1 if value is not None and abs(Decimal(str(value))) == 1 else 2
    forms = {
        c.TimeUnit.HOUR: ngettext("%(n)s hour", "%(n)s hours", n),
        c.TimeUnit.DAY: ngettext("%(n)s day", "%(n)s days", n),
        c.TimeUnit.WEEK: ngettext("%(n)s week", "%(n)s weeks", n),
        c.TimeUnit.MONTH: ngettext("%(n)s month", "%(n)s months", n),
        c.TimeUnit.YEAR: ngettext("%(n)s year", "%(n)s years", n),
    }
    return forms[c.TimeUnit(unit)] % {"n": text}


def timepoint_label(outcome) -> str:
    if outcome.is_last_follow_up and outcome.timepoint is None:
        return _("last follow-up")
    if outcome.timepoint is None:
        return ""
    if outcome.timepoint_to is not None:
        # A true minus: "−3–0 months" must not read as a range starting at 3.
        span = f"{number(outcome.timepoint)}–{number(outcome.timepoint_to)}".replace("-", "−")
        label = duration(span, outcome.timepoint_unit, count=outcome.timepoint_to)
    else:
        label = duration(number(outcome.timepoint).replace("-", "−"), outcome.timepoint_unit, count=outcome.timepoint)
    if outcome.is_last_follow_up:
        label = _("%(label)s (last follow-up)") % {"label": label}
    return label


def cells(value: float | None) -> str:
    """2000000.0 -> "2.0 × 10⁶"."""
    if value is None:
        return ""
    exponent = len(str(int(value))) - 1 if value >= 1 else 0
    if exponent < 4:
        return number(value)
    mantissa = value / 10**exponent
    superscript = str(exponent).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa:g} × 10{superscript}"
