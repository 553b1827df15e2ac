"""The study page's clinical blocks as view-models: eligibility, sponsor and sites, participant flow and the
baseline table. Built from the rows `document_queryset` prefetched: no query of their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import npgettext

from trials import choices as c
from trials import models as m
from trials.formatting import number

# An age, not a duration: Chinese says 岁 for years of age, 年 for years of follow-up.
AGE_UNIT_WORDS = {
    c.AgeUnit.YEAR: lambda n: npgettext("age", "%(n)s year", "%(n)s years", n),
    c.AgeUnit.MONTH: lambda n: npgettext("age", "%(n)s month", "%(n)s months", n),
    c.AgeUnit.WEEK: lambda n: npgettext("age", "%(n)s week", "%(n)s weeks", n),
    c.AgeUnit.DAY: lambda n: npgettext("age", "%(n)s day", "%(n)s days", n),
}


def age_text(value: int | None, unit: str) -> str:
    if value is None or unit not in AGE_UNIT_WORDS:
        return ""
    return AGE_UNIT_WORDS[c.AgeUnit(unit)](value) % {"n": value}


def age_range(study: m.Study) -> str:
    """ "18 years to 70 years", "18 years and over", "up to 12 years", or "" when neither bound is stated."""
    low, high = age_text(study.min_age, study.min_age_unit), age_text(study.max_age, study.max_age_unit)
    if low and high:
        return _("%(min)s to %(max)s") % {"min": low, "max": high}
    if low:
        return _("%(min)s and over") % {"min": low}
    if high:
        return _("up to %(max)s") % {"max": high}
    return ""


@dataclass
class FlowBox:
    label: str
    n: int | None
    details: list[str] = field(default_factory=list)


@dataclass
class CohortFlow:
    cohort: Any
    boxes: list[FlowBox]
    withdrawn: int
    withdrawals: list[str]


def participant_flow(cohorts: list[m.Cohort]) -> list[CohortFlow]:
    """Per cohort with a flow: enrolled → started → completed, and who left and why."""
    flows = []
    for cohort in cohorts:
        withdrawals = list(cohort.withdrawals.all())
        if cohort.n_started is None and cohort.n_completed is None and not withdrawals:
            continue
        reasons = [
            f"{w.get_reason_display()}{' (' + w.tr('reason_detail') + ')' if w.reason_detail else ''}: {w.n}" for w in withdrawals
        ]
        boxes = []
        if cohort.n_enrolled is not None:
            boxes.append(FlowBox(_("Enrolled"), cohort.n_enrolled))
        boxes.append(FlowBox(_("Started"), cohort.n_started))
        boxes.append(FlowBox(_("Completed"), cohort.n_completed))
        flows.append(CohortFlow(cohort, boxes, sum(w.n for w in withdrawals), reasons))
    return flows


@dataclass
class BaselineRow:
    label: str
    unit: str
    cells: list[str]


def _measure_label(row: m.BaselineMeasure) -> str:
    if row.kind == c.BaselineKind.SEX:
        return _("Sex: %(category)s") % {"category": c.Sex(row.category).label if row.category in c.Sex.values else row.category}
    if row.kind == c.BaselineKind.AGE:
        return _("Age")
    name = row.instrument.abbreviation or row.instrument.tr("name") if row.instrument else row.tr("label")
    if row.kind == c.BaselineKind.INSTRUMENT and row.label:
        name = f"{name} ({row.tr('label')})"
    if row.category:
        return f"{name}: {row.category}"
    return name


def baseline_cell(row: m.BaselineMeasure, participants: int | None) -> str:
    """ "51.2 ± 9.8 (SD)", "median 45 (range 30–60)", "11 (38 %)"."""
    value = number(row.value)
    if row.statistic == c.BaselineStatistic.COUNT:
        base = row.n if row.n is not None else participants
        return f"{value} ({round(100 * row.value / base)} %)" if base else value
    text = value if row.statistic == c.BaselineStatistic.MEAN else _("median %(value)s") % {"value": value}
    if row.dispersion_type in (c.BaselineDispersion.SD, c.BaselineDispersion.SE):
        text += f" ± {number(row.dispersion_value)} ({row.get_dispersion_type_display()})"
    elif row.dispersion_type:
        text += f" ({row.get_dispersion_type_display()} {number(row.dispersion_lower)}–{number(row.dispersion_upper)})"
    if row.n is not None:
        text += " " + _("n = %(n)s") % {"n": row.n}
    return text


def baseline_table(cohorts: list[m.Cohort]) -> tuple[list[m.Cohort], list[BaselineRow]]:
    """Cohorts with a baseline as columns, one row per measure (and category), in curation order."""
    columns = [cohort for cohort in cohorts if cohort.baseline_measures.all()]
    rows: dict[tuple, BaselineRow] = {}
    for index, cohort in enumerate(columns):
        participants = cohort.n_started if cohort.n_started is not None else cohort.n_enrolled
        for measure in cohort.baseline_measures.all():
            identity = (measure.kind, measure.instrument_id, measure.label, measure.category, measure.statistic)
            if identity not in rows:
                rows[identity] = BaselineRow(_measure_label(measure), measure.unit, ["—"] * len(columns))
            rows[identity].cells[index] = baseline_cell(measure, participants)
    return columns, list(rows.values())


@dataclass
class NearestSite:
    site: m.Site
    km: float
    place: str


def sites_by_distance(sites: list[m.Site], near: str) -> tuple[list[m.Site], NearestSite | None]:
    """With a "near" place (the search's), sites nearest first, each with `distance_km`; else as curated."""
    from trials.geo import distance_km, parse_place

    place = parse_place(near) if near else None
    if place is None:
        return sites, None
    for site in sites:
        site.distance_km = (  # type: ignore[attr-defined]
            distance_km(place.latitude, place.longitude, site.geo_latitude, site.geo_longitude)
            if site.geo_latitude is not None and site.geo_longitude is not None
            else None
        )
    placed = sorted((s for s in sites if s.distance_km is not None), key=lambda s: s.distance_km)  # type: ignore[attr-defined]
    unplaced = [s for s in sites if s.distance_km is None]  # type: ignore[attr-defined]
    nearest = NearestSite(placed[0], round(placed[0].distance_km), place.name) if placed else None  # type: ignore[attr-defined]
    return placed + unplaced, nearest


def clinic_context(study: m.Study, near: str = "") -> dict[str, Any]:
    """Everything the page's clinical blocks show. Contacts of people only on a published study: a
    retracted record keeps its sites but not whom to call."""
    cohorts = list(study.cohorts.all())
    columns, rows = baseline_table(cohorts)
    links = list(study.study_organisations.all())
    sites, nearest = sites_by_distance(list(study.sites.all()), near)
    return {
        "age_range": age_range(study),
        "sponsors": [link for link in links if link.role == c.OrganisationRole.LEAD_SPONSOR],
        "collaborators": [link for link in links if link.role == c.OrganisationRole.COLLABORATOR],
        "sites": sites,
        "nearest": nearest,
        "show_contacts": study.curation_state == c.CurationState.PUBLISHED,
        "flows": participant_flow(cohorts),
        "baseline_columns": columns,
        "baseline_rows": rows,
    }
