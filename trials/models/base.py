"""What every model shares: constraint names, partial dates, and localized reading of `_zh` fields."""

from __future__ import annotations

import calendar
import datetime as dt
import secrets

from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from trials import choices as c


def constraint_name(rule: str) -> str:
    return "%(app_label)s_%(class)s_" + rule


def new_key() -> str:
    """A new row key: random, so that a row keeps it through revisions, exports and restores."""
    return secrets.token_hex(4)


def row_key_field() -> models.CharField:
    """The stable identity of a study's row (a cohort, an outcome ...): the study document matches rows by
    it, so an edit updates the row in place and a version comparison pairs rows by it, not by position."""
    return models.CharField(_("key"), max_length=32, default=new_key, editable=False)


def period_start(value: dt.date | None, precision: str) -> dt.date | None:
    """First day of the year or month a partial date stands for."""
    if value is None:
        return None
    if precision == c.DatePrecision.YEAR:
        return value.replace(month=1, day=1)
    if precision == c.DatePrecision.MONTH:
        return value.replace(day=1)
    return value


def period_end(value: dt.date | None, precision: str) -> dt.date | None:
    """Last day of the year or month a partial date stands for.

    Completion dates are stored this way so that "completed 2018" after "started 2018-05-03" holds
    in a plain `completion_date >= start_date` constraint.
    """
    if value is None:
        return None
    if precision == c.DatePrecision.YEAR:
        return value.replace(month=12, day=31)
    if precision == c.DatePrecision.MONTH:
        return value.replace(day=calendar.monthrange(value.year, value.month)[1])
    return value


def format_partial_date(value: dt.date | None, precision: str) -> str:
    """ISO partial date: "2018", "2018-06" or "2018-06-03" (the document format's spelling)."""
    if value is None:
        return ""
    if precision == c.DatePrecision.YEAR:
        return f"{value.year:04d}"
    if precision == c.DatePrecision.MONTH:
        return f"{value.year:04d}-{value.month:02d}"
    return value.isoformat()


def partial_date_check(field: str) -> Q:
    """A date is given with its precision, or neither is."""
    return Q(**{f"{field}__isnull": True, f"{field}_precision": ""}) | (
        Q(**{f"{field}__isnull": False}) & ~Q(**{f"{field}_precision": ""})
    )


def require_precision(instance: models.Model, field: str, errors: dict) -> None:
    if getattr(instance, field) is not None and not getattr(instance, f"{field}_precision"):
        errors[f"{field}_precision"] = _("Say whether the date is known to the year, month or day.")
    if getattr(instance, field) is None and getattr(instance, f"{field}_precision"):
        errors[field] = _("A precision is set but the date is missing.")


class Localized:
    """`obj.tr("title")` gives the Chinese field on Chinese pages when it is curated, else English."""

    def tr(self, field: str) -> str:
        if translation.get_language() and translation.get_language().startswith("zh"):
            value = getattr(self, f"{field}_zh", "")
            if value:
                return value
        return getattr(self, field)
