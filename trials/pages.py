"""What the public pages show, built in a fixed number of queries whatever the number of studies.

Views stay thin: they call these, and these declare every query they make (no per-row query: whatever
a row needs is fetched for all rows at once and joined in Python).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlencode

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.http import QueryDict
from django.utils.translation import gettext as _
from django_countries import countries

from . import choices as c
from . import models as m
from .filters import StudyFilterSet, condition_closure

PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20
# Parameters a search URL may carry besides the filters; anything else is dropped from the canonical URL.
PAGING_PARAMETERS = ("page", "page_size")
OPEN_FACETS = {"condition", "cell_category", "cell_type", "source_tissue", "donor"}


# --- Search page -----------------------------------------------------------------------------------

# A result card needs these columns only (summaries and notes can be long).
RESULT_FIELDS = (
    "pk",
    "accession",
    "title",
    "title_zh",
    "acronym",
    "study_type",
    "phase",
    "overall_status",
    "start_date",
    "start_date_precision",
    "enrollment",
    "enrollment_type",
    "curation_state",
    "updated_at",
)


def search_results_queryset(filterset: StudyFilterSet) -> QuerySet:
    """The filtered, ordered studies with everything a result card shows: 1 query + 3 prefetches."""
    cell_products = m.Intervention.objects.filter(kind=c.InterventionKind.CELL_PRODUCT).select_related("cell_type").order_by("pk")
    return (
        cast(m.StudyQuerySet, filterset.qs)
        .with_flags()
        .with_trust()
        .only(*RESULT_FIELDS)
        .prefetch_related(
            Prefetch(
                "study_conditions",
                queryset=m.StudyCondition.objects.select_related("condition").order_by("pk"),
                to_attr="condition_links",
            ),
            Prefetch(
                "cohorts",
                queryset=m.Cohort.objects.order_by("pk").prefetch_related(
                    Prefetch("interventions", queryset=cell_products, to_attr="cell_products")
                ),
                to_attr="cohort_list",
            ),
        )
    )


@dataclass(frozen=True)
class CellProductSummary:
    cell_type: m.CellType
    donor_label: str
    source_tissue_label: str


def summarize_products(study: m.Study) -> tuple[list[CellProductSummary], list[str]]:
    """Distinct (cell type, donor, tissue) and distinct routes of a result's cell products (prefetched)."""
    products: dict[tuple, CellProductSummary] = {}
    routes: dict[str, str] = {}
    for cohort in study.cohort_list:  # type: ignore[attr-defined]  # prefetched (to_attr)
        for product in cohort.cell_products:
            key = (product.cell_type_id, product.donor, product.source_tissue)
            if key not in products:
                # "Not reported" says nothing in a one-line summary; the study page spells it out.
                donor = product.get_donor_display() if product.donor != c.Donor.UNKNOWN else ""
                tissue = product.get_source_tissue_display() if product.source_tissue != c.SourceTissue.UNKNOWN else ""
                products[key] = CellProductSummary(product.cell_type, donor, tissue)
            if product.route:
                routes.setdefault(product.route, product.get_route_display())
    return list(products.values()), list(routes.values())


def canonical_pairs(query: QueryDict) -> list[tuple[str, str]]:
    """The search's parameters without empty values, defaults (page 1, the default sort and page
    size) or unknown keys, in the FilterSet's order.

    This is the URL the page pushes and redirects to, so one search has one address.
    """
    known = list(StudyFilterSet.base_filters) + list(PAGING_PARAMETERS)
    defaults = {"page": "1", "page_size": str(DEFAULT_PAGE_SIZE), "ordering": default_ordering(query.get("q", ""))}
    pairs = []
    for key in known:
        for value in query.getlist(key):
            value = value.strip()
            if value and value != defaults.get(key):
                pairs.append((key, value))
    return pairs


def default_ordering(q: str) -> str:
    """The FilterSet's own default (relevance when searching), which the form's sort menu always sends."""
    filterset = StudyFilterSet({"q": q})
    filterset.is_valid()
    return filterset.default_ordering()


def page_size(query: QueryDict) -> int:
    try:
        size = int(query.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


@dataclass
class PageLink:
    number: int | None  # None: an ellipsis
    url: str = ""
    current: bool = False


def page_url(base_pairs: list[tuple[str, str]], number: int) -> str:
    return "?" + urlencode(base_pairs + ([("page", str(number))] if number > 1 else []))


def page_links(page, base_pairs: list[tuple[str, str]]) -> list[PageLink]:
    """First, last and two pages either side of the current one, with ellipses between."""
    total, current = page.paginator.num_pages, page.number
    shown = sorted({1, total, *range(max(1, current - 2), min(total, current + 2) + 1)})
    links: list[PageLink] = []
    previous = 0
    for number in shown:
        if number - previous > 1:
            links.append(PageLink(None))
        links.append(PageLink(number, page_url(base_pairs, number), number == current))
        previous = number
    return links


@dataclass
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool
    depth: int = 0


@dataclass
class Facet:
    name: str
    label: str
    help_text: str
    options: list[FacetOption]
    multiple: bool = True
    errors: list[str] = field(default_factory=list)

    @property
    def selected_count(self) -> int:
        return sum(1 for option in self.options if option.selected and option.value)

    @property
    def long(self) -> bool:
        return len(self.options) > 14

    @property
    def open(self) -> bool:
        """Shown unfolded: the facets clinicians start with, and any with a choice or an error."""
        return bool(self.selected_count or self.errors) or self.name in OPEN_FACETS


def facets(filterset: StudyFilterSet) -> list[Facet]:
    """Every facet with every option and its count given the other active filters (`filterset` is
    bound to the request's QueryDict).

    Queries: the FilterSet's facet counts (one per facet, plus the condition hierarchy), and one each
    for the condition, cell type and instrument vocabularies and the countries public studies name.
    """
    counts = filterset.facet_counts()
    data = filterset.data
    errors = filterset.form.errors

    def build(name: str, options: list[tuple[str, str, int]]) -> Facet:
        chosen = set(data.getlist(name))
        facet_counts = counts.get(name, {})
        filter_ = filterset.filters[name]
        return Facet(
            name=name,
            label=str(filter_.label),
            help_text=str(filter_.extra.get("help_text", "")),
            options=[
                FacetOption(value, label, facet_counts.get(value, 0), value in chosen, depth) for value, label, depth in options
            ],
            errors=list(errors.get(name, [])),
        )

    def from_choices(name: str) -> Facet:
        return build(name, [(str(value), str(label), 0) for value, label in filterset.filters[name].extra["choices"]])

    def flag(name: str) -> Facet:
        value = filterset.form.cleaned_data.get(name) if name not in errors else None
        chosen = "" if value is None else ("true" if value else "false")
        yes_no = counts.get(name, {})
        options = [
            FacetOption("", _("Any"), sum(yes_no.values()), chosen == ""),
            FacetOption("true", _("Yes"), yes_no.get("true", 0), chosen == "true"),
            FacetOption("false", _("No"), yes_no.get("false", 0), chosen == "false"),
        ]
        filter_ = filterset.filters[name]
        return Facet(name, str(filter_.label), "", options, multiple=False, errors=list(errors.get(name, [])))

    conditions = condition_tree(list(m.Condition.objects.only("pk", "slug", "name", "name_zh", "parent_id")))
    cell_types = m.CellType.objects.only("slug", "name", "name_zh")
    instruments = m.Instrument.objects.only("slug", "name", "name_zh", "abbreviation")
    organisations = m.Organisation.objects.only("slug", "name", "name_zh")
    public_countries = set(
        m.StudyCountry.objects.filter(study__in=m.Study.objects.public()).values_list("country", flat=True).distinct()
    ) | set(data.getlist("country"))
    country_options = sorted(
        ((code, countries.name(code), 0) for code in public_countries if countries.name(code)), key=lambda o: o[1].casefold()
    )

    return [
        build("condition", [(cond.slug, cond.tr("name"), depth) for cond, depth in conditions]),
        from_choices("cell_category"),
        build("cell_type", [(cell_type.slug, cell_type.tr("name"), 0) for cell_type in cell_types]),
        from_choices("source_tissue"),
        from_choices("donor"),
        from_choices("route"),
        from_choices("phase"),
        from_choices("status"),
        from_choices("study_type"),
        build("country", country_options),
        build("instrument", [(i.slug, instrument_label(i), 0) for i in instruments]),
        flag("has_results"),
        flag("has_serious_ae"),
        build("organisation", [(org.slug, org.tr("name"), 0) for org in organisations]),
        from_choices("sponsor_kind"),
        from_choices("trust"),
    ]


def instrument_label(instrument: m.Instrument) -> str:
    name = instrument.tr("name")
    if instrument.abbreviation and instrument.abbreviation.casefold() not in name.casefold():
        return f"{name} ({instrument.abbreviation})"
    return name


def condition_tree(conditions: list[m.Condition]) -> list[tuple[m.Condition, int]]:
    """Conditions in reading order: each broader condition followed by its narrower ones, indented.

    Siblings keep the vocabulary's order (English name) in both languages, so a map or a list looks
    the same to readers comparing pages across languages.
    """
    children: dict[int | None, list[m.Condition]] = defaultdict(list)
    ids = {condition.pk for condition in conditions}
    for condition in conditions:
        children[condition.parent_id if condition.parent_id in ids else None].append(condition)
    ordered: list[tuple[m.Condition, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for condition in children[parent]:
            ordered.append((condition, depth))
            walk(condition.pk, depth + 1)

    walk(None, 0)
    return ordered


# --- Home page -------------------------------------------------------------------------------------


@dataclass
class MapCell:
    cell_type: m.CellType
    studies: int
    patients: int
    level: int  # 0 (none) .. 4 (most studies), for shading
    unsized: int = 0  # treated cohorts that do not report their size: `patients` is then a lower bound


@dataclass
class MapRow:
    condition: m.Condition
    depth: int
    cells: list[MapCell]


@dataclass
class EvidenceMap:
    cell_types: list[m.CellType]
    rows: list[MapRow]
    studies: int
    patients: int
    conditions: int
    cell_type_count: int


def evidence_map() -> EvidenceMap:
    """Conditions x cell types: public studies and patients treated in each pair.

    A condition's row includes its narrower conditions, as the search it links to does. "Patients
    treated" is the sum of `n_enrolled` of the cohorts that received the cell type (each cohort once;
    control arms add nothing; cohorts of unreported size are counted in `unsized`, so the page can say
    the sum is a lower bound).

    Queries (6): headline aggregate, study-condition pairs, treated cohorts, condition hierarchy,
    conditions, cell types.
    """
    public = m.Study.objects.public()
    totals = public.aggregate(studies=Count("pk"), patients=Sum("enrollment"))
    conditions_of: dict[int, set[int]] = defaultdict(set)
    for study_id, condition_id in m.StudyCondition.objects.filter(study__in=public).values_list("study_id", "condition_id"):
        conditions_of[study_id].add(condition_id)
    treated = (
        m.Intervention.objects.filter(kind=c.InterventionKind.CELL_PRODUCT, cohort__study__in=public)
        .values_list("cell_type_id", "cohort_id", "cohort__study_id", "cohort__n_enrolled")
        .distinct()
    )
    cohorts_by_type: dict[int, dict[int, tuple[int, int | None]]] = defaultdict(dict)
    for cell_type_id, cohort_id, study_id, n_enrolled in treated:
        cohorts_by_type[cell_type_id][cohort_id] = (study_id, n_enrolled)
    closure = condition_closure()
    studies_with: dict[int, set[int]] = defaultdict(set)
    for study_id, condition_ids in conditions_of.items():
        for condition_id in condition_ids:
            studies_with[condition_id].add(study_id)

    cell_types = list(m.CellType.objects.all())
    rows = []
    for condition, depth in condition_tree(list(m.Condition.objects.all())):
        in_condition = set().union(*(studies_with[pk] for pk in closure.get(condition.pk, {condition.pk})))
        cells = []
        for cell_type in cell_types:
            cohorts = [(study, n) for study, n in cohorts_by_type[cell_type.pk].values() if study in in_condition]
            cells.append(
                MapCell(
                    cell_type,
                    studies=len({study for study, _n in cohorts}),
                    patients=sum(n for _study, n in cohorts if n is not None),
                    level=0,
                    unsized=sum(1 for _study, n in cohorts if n is None),
                )
            )
        rows.append(MapRow(condition, depth, cells))
    most = max((cell.studies for row in rows for cell in row.cells), default=0)
    for row in rows:
        for cell in row.cells:
            # Shade by quartile of the busiest pair, so the map reads at a glance whatever the scale.
            cell.level = 0 if not cell.studies else min(4, 1 + (4 * (cell.studies - 1)) // max(most, 1))
    return EvidenceMap(
        cell_types=cell_types,
        rows=rows,
        studies=totals["studies"],
        patients=totals["patients"] or 0,
        conditions=len(set().union(*conditions_of.values())) if conditions_of else 0,
        cell_type_count=sum(1 for cohorts in cohorts_by_type.values() if cohorts),
    )


def recently_updated(limit: int = 8) -> QuerySet:
    """The newest public studies with their conditions: 1 query + 1 prefetch."""
    return (
        m.Study.objects.public()
        .only(*RESULT_FIELDS)
        .order_by("-updated_at", "accession")
        .prefetch_related(
            Prefetch(
                "study_conditions",
                queryset=m.StudyCondition.objects.select_related("condition").order_by("pk"),
                to_attr="condition_links",
            )
        )[:limit]
    )


# --- Study page ------------------------------------------------------------------------------------


@dataclass
class AeRow:
    event: m.AdverseEvent  # the group's first row: term, grade, relatedness, description
    key: tuple
    by_cohort: dict[int | None, m.AdverseEvent] = field(default_factory=dict)
    cells: list[tuple[str, m.AdverseEvent | None]] = field(default_factory=list)  # (column heading, event)


@dataclass
class AeGroup:
    organ_class: str
    label: str
    rows: list[AeRow]


@dataclass
class AeTable:
    seriousness: str
    label: str
    columns: list[tuple[int | None, str]]  # (cohort id or None for "all participants", heading)
    groups: list[AeGroup]

    @property
    def width(self) -> int:
        return 3 + len(self.columns)


def seriousness_heading(seriousness: str) -> str:
    headings = {
        c.Seriousness.SERIOUS.value: _("Serious adverse events"),
        c.Seriousness.NON_SERIOUS.value: _("Non-serious adverse events"),
    }
    return headings.get(seriousness, _("Adverse events of unreported seriousness"))


def adverse_event_tables(study: m.Study) -> list[AeTable]:
    """Serious, non-serious and unclassified events, each grouped by organ class, one column per cohort.

    Rows describing the same event (same term, grade, relatedness, attribution, outcome and wording)
    in several cohorts share a line. Uses the study's prefetched `adverse_events` and `cohorts`: no query.
    """
    cohort_order = {cohort.pk: index for index, cohort in enumerate(study.cohorts.all())}
    tables = []
    for seriousness in c.Seriousness.values:
        events = [event for event in study.adverse_events.all() if event.serious == seriousness]
        if not events:
            continue
        cohort_ids = sorted({event.cohort_id for event in events}, key=lambda pk: (pk is not None, cohort_order.get(pk, 0)))
        by_id = {event.cohort_id: event.cohort for event in events}
        columns = [(pk, m.Localized.tr(by_id[pk], "label") if pk is not None else _("All participants")) for pk in cohort_ids]
        groups: dict[str, AeGroup] = {}
        organ_labels = dict(c.OrganClass.choices)
        # By the English term: both languages list the events in the same order.
        for event in sorted(events, key=lambda e: (c.OrganClass.values.index(e.organ_class), e.term.casefold(), e.pk)):
            group = groups.setdefault(event.organ_class, AeGroup(event.organ_class, str(organ_labels[event.organ_class]), []))
            key = (event.term, event.grade, event.relatedness, event.attributed_to, event.outcome, event.onset, event.description)
            row = next((r for r in group.rows if r.key == key and event.cohort_id not in r.by_cohort), None)
            if row is None:
                row = AeRow(event, key)
                group.rows.append(row)
            row.by_cohort[event.cohort_id] = event
        for group in groups.values():
            for row in group.rows:
                row.cells = [(heading, row.by_cohort.get(pk)) for pk, heading in columns]
        tables.append(AeTable(seriousness, seriousness_heading(seriousness), columns, list(groups.values())))
    return tables
