"""Trust signals for stem-cell studies: is it a regulated trial, or a paid "treatment" dressed as one?

Each flag is "yes", "no" or "unknown", defined once here as two SQL conditions (yes, no) over the study
and its rows, so that the search filter, the facet counts, the result cards and the API all read the same
rule. Flags are computed where the data allow (registry ids, regulatory milestones, publications,
results, dates) and read from curated fields where only a source's words can settle them (whether
patients pay; peer review without a PMID; prospective registration without dates). The study page adds
each flag's evidence, taken from the rows already loaded for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Case, CharField, DateField, Exists, ExpressionWrapper, OuterRef, Q, Value, When
from django.db.models.functions import TruncMonth, TruncYear
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import choices as c
from . import models as m

YES, NO, UNKNOWN = c.TriState.YES.value, c.TriState.NO.value, c.TriState.UNKNOWN.value
Flag = c.TrustFlag
# A status confirmed longer ago than this is stale (ClinicalTrials.gov's rule for "unknown status").
STALE_AFTER_DAYS = 2 * 365
FINAL_STATUSES = (c.OverallStatus.COMPLETED, c.OverallStatus.TERMINATED, c.OverallStatus.WITHDRAWN)
# A regulator's go-ahead for the trial or the product; an ethics committee's approval is not one.
AUTHORISATIONS = (c.MilestoneKind.IND_CLEARED, c.MilestoneKind.MARKETING_AUTHORIZATION)
# What a badge means when it is "yes" (and, for the two warnings, why it matters).
EXPLANATIONS = {
    Flag.REGISTERED: gettext_lazy(
        "The study has an identifier in a public trial registry, where its plan can be read and checked."
    ),
    Flag.PROSPECTIVE: gettext_lazy(
        "The study was registered before its first participant enrolled, so its plan and outcomes were public before any results."
    ),
    Flag.AUTHORISED: gettext_lazy(
        "A medicines regulator (e.g. an IND cleared by the FDA or the NMPA) allowed the trial or its cell product."
    ),
    Flag.PATIENT_PAYS: gettext_lazy(
        "Participants are charged for the cells or the procedure. Regulated trials rarely charge: paying to take "
        "part is a warning sign of an unproven commercial treatment."
    ),
    Flag.PEER_REVIEWED: gettext_lazy("Results were published in a peer-reviewed journal."),
    Flag.RESULTS_POSTED: gettext_lazy("This record carries numeric results for at least one outcome."),
    Flag.STALE: gettext_lazy("Nobody has confirmed the study's status for over two years: it may no longer be recruiting."),
}
# Flags that warn rather than reassure when they are "yes".
WARNINGS = (Flag.PATIENT_PAYS, Flag.STALE)


# --- the rules, as SQL -----------------------------------------------------------------------------


def _registrations(*conditions: Q, **lookups) -> Exists:
    registrations = m.RegulatoryMilestone.objects.filter(study=OuterRef("pk"), kind=c.MilestoneKind.REGISTERED)
    return Exists(registrations.filter(*conditions, **lookups))


def _outer_start() -> ExpressionWrapper:
    return ExpressionWrapper(OuterRef("start_date"), output_field=DateField())


def _registered_before_start() -> Q:
    """A dated registration whose whole period (day, month or year) ends on or before the start's period begins.

    Partial dates are stored as their period's first day; so a registration in "2021-07" is before a
    start on 2021-08-10 (July < August), but not before a start in "2021-07" (either may come first).
    """
    start = _outer_start()
    return Q(start_date__isnull=False) & (
        Q(_registrations(date_precision=c.DatePrecision.DAY, date__lte=OuterRef("start_date")))
        | Q(_registrations(date_precision=c.DatePrecision.MONTH, date__lt=TruncMonth(start)))
        | Q(_registrations(date_precision=c.DatePrecision.YEAR, date__lt=TruncYear(start)))
    )


def _authorised() -> Exists:
    return Exists(
        m.RegulatoryMilestone.objects.filter(study=OuterRef("pk"), kind__in=AUTHORISATIONS).exclude(agency=c.Agency.IRB)
    )


def _indexed_publication() -> Exists:
    return Exists(m.Publication.objects.filter(study=OuterRef("pk")).exclude(pmid=""))


def _stale_before() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=STALE_AFTER_DAYS)


def _curated(field: str, value: str) -> Q:
    return Q(**{field: value})


def flag_conditions() -> dict[str, tuple[Q, Q]]:
    """Each flag's (yes, no) conditions on a study; neither holding means unknown."""
    registered = Exists(m.RegistryIdentifier.objects.filter(study=OuterRef("pk")))
    prospective_yes = _registered_before_start()
    prospective_no = _registered_after_start()
    prospective_known = prospective_yes | prospective_no
    results = m.has_results_exists()
    stale_before = _stale_before()
    return {
        Flag.REGISTERED: (Q(registered), ~Q(registered)),
        Flag.PROSPECTIVE: (
            prospective_yes | (~prospective_known & _curated("prospective_registration", YES)),
            prospective_no | (~prospective_known & _curated("prospective_registration", NO)),
        ),
        Flag.AUTHORISED: (Q(_authorised()), Q(pk__in=[])),
        Flag.PATIENT_PAYS: (_curated("patient_pays", YES), _curated("patient_pays", NO)),
        Flag.PEER_REVIEWED: (
            Q(_indexed_publication()) | _curated("peer_reviewed", YES),
            ~Q(_indexed_publication()) & _curated("peer_reviewed", NO),
        ),
        Flag.RESULTS_POSTED: (Q(results), ~Q(results)),
        Flag.STALE: (
            Q(status_verified_on__lt=stale_before) & ~Q(overall_status__in=FINAL_STATUSES),
            Q(overall_status__in=FINAL_STATUSES) | Q(status_verified_on__gte=stale_before),
        ),
    }


def _registered_after_start() -> Q:
    """Every registration is dated and begins after the start's whole period (day, month or year) ends."""
    start = _outer_start()
    not_after = (
        (Q(start_date_precision=c.DatePrecision.DAY) & _registrations(Q(date__isnull=True) | Q(date__lte=OuterRef("start_date"))))
        | (
            Q(start_date_precision=c.DatePrecision.MONTH)
            & Exists(
                m.RegulatoryMilestone.objects.filter(study=OuterRef("pk"), kind=c.MilestoneKind.REGISTERED)
                .annotate(month=TruncMonth("date"))
                .filter(Q(date__isnull=True) | Q(month__lte=start))
            )
        )
        | (
            Q(start_date_precision=c.DatePrecision.YEAR)
            & Exists(
                m.RegulatoryMilestone.objects.filter(study=OuterRef("pk"), kind=c.MilestoneKind.REGISTERED)
                .annotate(year=TruncYear("date"))
                .filter(Q(date__isnull=True) | Q(year__lte=start))
            )
        )
    )
    return Q(start_date__isnull=False) & _registrations() & ~not_after


def trust_annotations() -> dict[str, Case]:
    """`trust_<flag>` = "yes" / "no" / "unknown" for every flag, for StudyQuerySet.with_trust()."""
    return {
        f"trust_{flag}": Case(
            When(yes, then=Value(YES)), When(no, then=Value(NO)), default=Value(UNKNOWN), output_field=CharField()
        )
        for flag, (yes, no) in flag_conditions().items()
    }


def flag_filter(flags: list[str]) -> Q:
    """Studies for which every given flag is "yes"."""
    conditions = flag_conditions()
    combined = Q()
    for flag in flags:
        combined &= conditions[flag][0]
    return combined


def yes_counts() -> dict[str, Q]:
    """The "yes" condition of each flag, to count in one aggregate (trials.facets)."""
    return {flag: yes for flag, (yes, _no) in flag_conditions().items()}


# --- what a reader sees ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    flag: str
    value: str  # yes / no / unknown
    label: str
    explanation: str
    evidence: str = ""
    computed: bool = True

    @property
    def warning(self) -> bool:
        return self.flag in WARNINGS and self.value == YES

    @property
    def value_label(self) -> str:
        return str(c.TriState(self.value).label)


def badges(study: m.Study) -> list[Signal]:
    """The "yes" flags of a study annotated by with_trust(), for a result card (no evidence, no query)."""
    return [
        Signal(flag, YES, str(label), str(EXPLANATIONS[Flag(flag)]))
        for flag, label in Flag.choices
        if getattr(study, f"trust_{flag}", UNKNOWN) == YES
    ]


def signals(study: m.Study) -> list[Signal]:
    """Every flag of one study (annotated by with_trust(), its rows prefetched) with its evidence."""
    evidence: dict[str, Callable[[m.Study, str], tuple[str, bool]]] = {
        Flag.REGISTERED: _registered_evidence,
        Flag.PROSPECTIVE: _prospective_evidence,
        Flag.AUTHORISED: _authorised_evidence,
        Flag.PATIENT_PAYS: lambda s, v: _curated_evidence(s, "patient_pays"),
        Flag.PEER_REVIEWED: _peer_reviewed_evidence,
        Flag.RESULTS_POSTED: _results_evidence,
        Flag.STALE: _stale_evidence,
    }
    result = []
    for flag, label in Flag.choices:
        value = getattr(study, f"trust_{flag}")
        text, computed = evidence[flag](study, value)
        result.append(Signal(flag, value, str(label), str(EXPLANATIONS[Flag(flag)]), text, computed))
    return result


def _registered_evidence(study: m.Study, value: str) -> tuple[str, bool]:
    ids = [f"{row.value} ({row.get_registry_display()})" for row in study.registry_ids.all()]
    return (", ".join(ids) if ids else _("No registry identifier is recorded.")), True


def _registrations_of(study: m.Study) -> list[m.RegulatoryMilestone]:
    return [row for row in study.milestones.all() if row.kind == c.MilestoneKind.REGISTERED]


def _prospective_evidence(study: m.Study, value: str) -> tuple[str, bool]:
    dates = [row.date_display for row in _registrations_of(study) if row.date]
    registered = ", ".join(dates) if dates else _("not recorded")
    start = study.start_display or _("not recorded")
    computed = _("Registered: %(registered)s; first enrolment (start): %(start)s.") % {"registered": registered, "start": start}
    if value != UNKNOWN and study.prospective_registration == value and not (dates and study.start_date):
        return _curated_evidence(study, "prospective_registration")
    return computed, True


def _authorised_evidence(study: m.Study, value: str) -> tuple[str, bool]:
    rows = [row for row in study.milestones.all() if row.kind in AUTHORISATIONS and row.agency != c.Agency.IRB]
    if not rows:
        return _("No regulatory authorisation is recorded."), True
    parts = []
    for row in rows:
        text = f"{row.get_kind_display()}: {row.get_agency_display()}"
        details = [detail for detail in (row.date_display, row.reference) if detail]
        parts.append(f"{text} ({', '.join(details)})" if details else text)
    return "; ".join(parts), True


def _peer_reviewed_evidence(study: m.Study, value: str) -> tuple[str, bool]:
    indexed = [row for row in study.publications.all() if row.pmid]
    if indexed:
        return "; ".join(f"{row.journal or row.title} (PMID {row.pmid})" for row in indexed), True
    if study.peer_reviewed != UNKNOWN:
        return _curated_evidence(study, "peer_reviewed")
    return _("No publication with a PMID, and no curated statement."), True


def _results_evidence(study: m.Study, value: str) -> tuple[str, bool]:
    if value == YES:
        return _("At least one outcome has a number in this record."), True
    return _("No outcome in this record has a number."), True


def _stale_evidence(study: m.Study, value: str) -> tuple[str, bool]:
    if study.overall_status in FINAL_STATUSES:
        return _("The study has ended (%(status)s).") % {"status": study.get_overall_status_display()}, True
    if study.status_verified_on is None:
        return _("No date on which the status was last verified is recorded."), True
    return _("Status last verified on %(date)s.") % {"date": study.status_verified_on.isoformat()}, True


def _curated_evidence(study: m.Study, field: str) -> tuple[str, bool]:
    text = getattr(study, f"{field}_evidence")
    return (text or _("The sources do not say.")), False
