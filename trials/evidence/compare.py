"""Two to four studies side by side: design and product facts, outcomes by instrument and harms by organ
class, aligned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from trials import choices as c
from trials import models as m
from trials.models.base import Localized

MAX_COMPARED = 4


def unknown_as_mark(number: int | None) -> str:
    return "?" if number is None else str(number)


def tr(obj: Any, field: str) -> str:
    """The Chinese field on Chinese pages when curated, else English (any model with `_zh` fields)."""
    return Localized.tr(obj, field)


@dataclass
class AlignedRow:
    """One line of the side-by-side table: a heading and each study's entries (a list per study)."""

    heading: str
    cells: list[list[str]]


def side_by_side(studies: list[m.Study]) -> dict[str, list[AlignedRow]]:
    """Design, population and product facts, outcomes by instrument and harms by organ class, aligned
    across the studies (loaded with `document_queryset`, so this reads no more rows)."""
    from trials.formatting import timepoint_label

    def per_study(getter) -> list[list[str]]:
        return [[value for value in getter(study) if value] for study in studies]

    def products(study: m.Study):
        return [
            i for cohort in study.cohorts.all() for i in cohort.interventions.all() if i.kind == c.InterventionKind.CELL_PRODUCT
        ]

    def co_therapies(study: m.Study):
        return [
            i for cohort in study.cohorts.all() for i in cohort.interventions.all() if i.kind != c.InterventionKind.CELL_PRODUCT
        ]

    def dose(i: m.Intervention) -> str:
        text = tr(i, "dose_text")
        return f"{tr(i, 'name')}: {text}" if text else ""

    facts = [
        AlignedRow(str(_("Conditions")), per_study(lambda s: [tr(link.condition, "name") for link in s.study_conditions.all()])),
        AlignedRow(
            str(_("Design")),
            per_study(
                lambda s: [s.get_study_type_display(), s.get_phase_display(), s.get_allocation_display(), s.get_masking_display()]
            ),
        ),
        AlignedRow(str(_("Status")), per_study(lambda s: [s.get_overall_status_display()])),
        AlignedRow(str(_("Enrolment")), per_study(lambda s: [str(s.enrollment) if s.enrollment is not None else ""])),
        AlignedRow(
            str(_("Cohorts")),
            per_study(
                lambda s: [
                    f"{tr(cohort, 'label')} ({cohort.get_role_display()}, n = {unknown_as_mark(cohort.n_enrolled)})"
                    for cohort in s.cohorts.all()
                ]
            ),
        ),
        AlignedRow(
            str(_("Cell product")),
            per_study(
                lambda s: [
                    " · ".join(
                        filter(
                            None,
                            [
                                str(i.cell_type or i.name),
                                i.get_source_tissue_display() if i.source_tissue else "",
                                i.get_donor_display() if i.donor else "",
                            ],
                        )
                    )
                    for i in products(s)
                ]
            ),
        ),
        AlignedRow(str(_("Dose")), per_study(lambda s: [dose(i) for i in products(s)])),
        AlignedRow(
            str(_("Route")),
            per_study(
                lambda s: [
                    i.get_route_display() + (f" ({i.route_detail})" if i.route_detail else "") for i in products(s) if i.route
                ]
            ),
        ),
        AlignedRow(str(_("Schedule")), per_study(lambda s: [i.schedule for i in products(s)])),
        AlignedRow(
            str(_("Co-therapies")),
            per_study(lambda s: [f"{i.name}{': ' + i.dose_text if i.dose_text else ''}" for i in co_therapies(s)]),
        ),
        AlignedRow(
            str(_("Follow-up")), per_study(lambda s: [f"{s.follow_up_months:g} {_('months')}" if s.follow_up_months else ""])
        ),
    ]

    instruments: dict[str, str] = {}
    for study in studies:
        for outcome in study.outcomes.all():
            instruments.setdefault(outcome.instrument.slug, tr(outcome.instrument, "name"))

    def outcome_text(outcome: m.OutcomeMeasure) -> str:
        parts = [timepoint_label(outcome) or str(_("time not reported"))]
        if outcome.cohort is not None:
            parts.append(tr(outcome.cohort, "label"))
        if outcome.value is not None:
            parts.append(f"{outcome.get_statistic_display()} {outcome.value:g}")
        if outcome.change_value is not None:
            parts.append(f"{_('change')} {outcome.change_value:+g}")
        if outcome.p_text:
            parts.append(outcome.p_text)
        return " · ".join(parts)

    outcomes = [
        AlignedRow(name, [[outcome_text(o) for o in study.outcomes.all() if o.instrument.slug == slug] for study in studies])
        for slug, name in sorted(instruments.items(), key=lambda item: item[1].lower())
    ]

    organ_classes = sorted({event.organ_class for study in studies for event in study.adverse_events.all()})

    def harm_text(event: m.AdverseEvent) -> str:
        count = f"{unknown_as_mark(event.n_affected)}/{unknown_as_mark(event.n_at_risk)}"
        return f"{tr(event, 'term')}: {count}" + (
            f" ({event.get_serious_display().lower()})" if event.serious == c.Seriousness.SERIOUS else ""
        )

    harms = [
        AlignedRow(
            str(c.OrganClass(organ).label),
            [[harm_text(e) for e in study.adverse_events.all() if e.organ_class == organ] for study in studies],
        )
        for organ in organ_classes
    ]
    return {"facts": facts, "outcomes": outcomes, "harms": harms}
