"""Template helpers for the public pages: localized fields, number spellings, language links."""

from django import template
from django.urls import reverse, translate_url
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

from trials import charts, formatting
from trials.models import Localized

register = template.Library()


@register.filter
def tr(obj, field: str) -> str:
    """`{{ cohort|tr:"label" }}`: the curated Chinese field on Chinese pages, else English.

    Works on any object with `<field>` and `<field>_zh` (Cohort and Publication are not `Localized`).
    """
    return Localized.tr(obj, field)


@register.filter
def cells(value) -> str:
    return formatting.cells(value)


@register.filter
def number(value) -> str:
    return formatting.number(value)


@register.filter
def cohort_label(outcome) -> str:
    return charts.cohort_label(outcome)


@register.filter
def spread(outcome, which: str = "") -> str:
    return charts.spread_label(outcome, baseline=which == "baseline")


@register.filter
def bcp47(language_code: str) -> str:
    """Django's "zh-hans" spelled as HTML's `lang` wants it: "zh-Hans"."""
    language, _sep, script = (language_code or "").partition("-")
    return f"{language}-{script.title()}" if len(script) == 4 else language_code


@register.filter
def p_value(outcome) -> str:
    """ "p < 0.001" from the structured qualifier and value, else the p-value as reported."""
    if outcome.p_value is not None:
        return f"p {outcome.p_qualifier} {formatting.number(outcome.p_value)}"
    return outcome.p_text


@register.filter
def affected(event) -> str:
    """ "1 / 10 (10%)" affected / at risk, or "54 events" when only events were counted."""
    if event.n_affected is not None:
        text = f"{event.n_affected} / {event.n_at_risk}" if event.n_at_risk is not None else str(event.n_affected)
        if event.percent_affected is not None:
            text += f" ({formatting.number(event.percent_affected)}%)"
        return text
    if event.n_events is not None:
        text = _("%(count)s events") % {"count": event.n_events}
        if event.n_at_risk is not None:
            text += " / " + _("%(count)s at risk") % {"count": event.n_at_risk}
        return text
    return "—"


@register.simple_tag(takes_context=True)
def url_in_language(context, language_code: str) -> str:
    """The page being shown, in another language (same path and query).

    Error pages may render without a request (the 500 page does); they then link to the home page.
    """
    request = context.get("request")
    if request is None:
        with translation.override(language_code):
            return reverse("trials:home")
    return translate_url(request.get_full_path(), language_code)


@register.filter
def tr_marked(obj, field: str) -> str:
    """`tr`, and on a Chinese page where only the English text was curated, that English marked as such
    (and tagged `lang="en"` for screen readers) rather than passed off as a translation."""
    value = getattr(obj, field, "") or ""
    language = translation.get_language() or ""
    if not language.startswith("zh") or not value or not hasattr(obj, f"{field}_zh"):
        return Localized.tr(obj, field)
    if getattr(obj, f"{field}_zh"):
        return getattr(obj, f"{field}_zh")
    return format_html('<span lang="en">{}</span> <span class="lang-fallback">{}</span>', value, _("(English only)"))


@register.filter
def signed(value) -> str:
    return "" if value is None else formatting.signed(value)


@register.filter
def change_verdict(outcome) -> str:
    """ "improvement" / "worsening" for a signed change on an instrument with a better direction."""
    if outcome.change_value is None:
        return ""
    return charts.verdict(outcome.change_value, outcome.instrument.direction)


@register.filter
def months(value) -> str:
    """12 -> "12 months", 1 -> "1 month"."""
    return "" if value is None else formatting.duration(value, "month")


@register.filter
def scale_unit(unit: str) -> str:
    return formatting.scale_unit(unit)


@register.filter
def text_lang(text: str) -> str:
    """The `lang` of a verbatim quotation: Chinese when it holds a CJK ideograph, else English."""
    return "zh-Hans" if any("\u4e00" <= ch <= "\u9fff" for ch in text or "") else "en"


@register.filter
def english_marked(value: str) -> str:
    """A curated field that exists in English only (a route's detail, a source locator): on a Chinese
    page it is tagged `lang="en"` and visibly marked, never passed off as a translation."""
    language = translation.get_language() or ""
    if not value or not language.startswith("zh"):
        return value
    return format_html('<span lang="en">{}</span> <span class="lang-fallback">{}</span>', value, _("(English only)"))


@register.filter
def at(items, index: int):
    """`{{ columns|at:forloop.counter0 }}`: a cell's column heading, for phones' stacked rows."""
    try:
        return items[index]
    except (IndexError, TypeError):
        return ""
