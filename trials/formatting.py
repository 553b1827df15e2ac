"""Human-readable spellings shared by pages, CSV and the admin."""

from decimal import Decimal

from django.utils.translation import gettext as _


def number(value: Decimal | float | None) -> str:
    """12.0 -> "12", 2.5 -> "2.5": numbers as a curator would write them."""
    if value is None:
        return ""
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def timepoint_label(outcome) -> str:
    if outcome.is_last_follow_up and outcome.timepoint is None:
        return _("last follow-up")
    if outcome.timepoint is None:
        return ""
    unit = outcome.get_timepoint_unit_display()
    if outcome.timepoint_to is not None:
        label = f"{number(outcome.timepoint)}–{number(outcome.timepoint_to)} {unit}"
    else:
        label = f"{number(outcome.timepoint)} {unit}"
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
