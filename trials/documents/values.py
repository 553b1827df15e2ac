"""One value of a document, to JSON and back, by the type of the model field it is stored in.

Reading gives what integrators get from the API: numbers as JSON numbers (decimals included), dates as
ISO strings, date-times in UTC with a "Z". Parsing is strict, because a lenient parser stores what the
sender did not mean: `1.5` is not a count, `["x"]` is not a title, `"12"` is not a number, `true` is not 1.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from trials import choices as c
from trials.models import format_partial_date, period_end, period_start

__all__ = ["format_partial_date", "from_json", "parse_partial_date", "period_end", "period_start", "to_json"]


class ValueError_(Exception):
    """A value of the wrong kind; the message names what was expected."""


PARTIAL_DATE = re.compile(r"^(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2}))?)?$")
INTEGER_FIELDS = (models.IntegerField, models.BigIntegerField, models.SmallIntegerField)


def to_json(model_field: models.Field, value: Any) -> Any:
    """A stored value as the document spells it."""
    if value is None:
        return None
    if isinstance(model_field, models.DecimalField):
        return float(value)
    if isinstance(model_field, models.DateTimeField):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(model_field, models.DateField):
        return value.isoformat()
    if isinstance(model_field, CountryField):
        return value.code if hasattr(value, "code") else str(value)
    return value


def _storable_text(value: str) -> None:
    if "\x00" in value:
        raise ValueError_(_("Null characters are not allowed."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON \u escape: no database can store it
        raise ValueError_(_("Unpaired surrogates are not allowed.")) from None


def from_json(model_field: models.Field, value: Any) -> Any:
    """A document value as the model field stores it, or ValueError_. None means "not given"."""
    if value is None:
        if model_field.null:
            return None
        return model_field.get_default()
    if isinstance(model_field, models.BooleanField):
        if not isinstance(value, bool):
            raise ValueError_(_("Expected true or false."))
        return value
    if isinstance(model_field, (models.CharField, models.TextField, CountryField)):
        if not isinstance(value, str):
            raise ValueError_(_("Expected text."))
        _storable_text(value)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(model_field, (models.FloatField, models.DecimalField, *INTEGER_FIELDS)):
            raise ValueError_(_("Expected a number."))
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError_(_("Expected a finite number."))
    if isinstance(model_field, INTEGER_FIELDS):
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError_(_("Expected a whole number."))
            value = int(value)
        return value
    if isinstance(model_field, models.DecimalField):
        # The number as written (0.0186), not its binary expansion, which would fail the digit limits.
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(model_field, models.FloatField):
        return float(value)
    return value


# --- partial dates ------------------------------------------------------------------------------------


def parse_partial_date(value: Any) -> tuple[dt.date | None, str]:
    """ "2018" -> (2018-01-01, "year"); "2018-06-03" -> (that day, "day"); None/"" -> (None, "")."""
    if value in (None, ""):
        return None, ""
    if not isinstance(value, str):
        raise ValueError_(_("Enter a date as text: YYYY, YYYY-MM or YYYY-MM-DD."))
    match = PARTIAL_DATE.match(value)
    if not match:
        raise ValueError_(_("Enter a date as YYYY, YYYY-MM or YYYY-MM-DD."))
    year, month, day = match["year"], match["month"], match["day"]
    try:
        date = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError_(_("This date does not exist.")) from None
    precision = c.DatePrecision.DAY if day else c.DatePrecision.MONTH if month else c.DatePrecision.YEAR
    return date, precision
