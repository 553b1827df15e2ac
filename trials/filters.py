"""The one FilterSet behind the public search page, its CSV, the API list and the facet counts.

Every filter is a subquery on the study (`pk__in` / `Exists`), never a join on the study list, so no
filter can duplicate rows and the page query stays one query whatever is selected.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

import django_filters as df
from django import forms
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Case, Exists, F, FloatField, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from . import choices as c
from . import models as m
from . import synonyms, trust
from .models.study import age_in_days

MAX_PAGE_SIZE = 1000


def condition_closure() -> dict[int, set[int]]:
    """Each condition's id -> itself and every narrower condition's id (one query)."""
    edges = list(m.Condition.objects.values_list("pk", "parent_id"))
    children: dict[int | None, list[int]] = {}
    for pk, parent in edges:
        children.setdefault(parent, []).append(pk)
    closure: dict[int, set[int]] = {}
    for pk, _parent in edges:
        found, frontier = {pk}, [pk]
        while frontier:
            frontier = [child for node in frontier for child in children.get(node, []) if child not in found]
            found.update(frontier)
        closure[pk] = found
    return closure


def intervention_exists(**lookups) -> Exists:
    return Exists(m.Intervention.objects.filter(cohort__study=OuterRef("pk"), **lookups))


def vocabulary_choices(vocabulary: Any) -> list[tuple[str, str]]:
    return [(slug, name) for slug, name in vocabulary.objects.values_list("slug", "name")]


class SlugMultipleFilter(df.MultipleChoiceFilter):
    """Vocabulary filter by slug: `?cell_type=umbilical-cord-msc&cell_type=bone-marrow-msc` (any of)."""

    def __init__(self, *args, vocabulary: type, **kwargs):
        self.vocabulary = vocabulary
        super().__init__(*args, **kwargs)

    def get_choices(self):
        return vocabulary_choices(self.vocabulary)

    @property
    def field(self):
        # Choices come from the vocabulary at request time, not at import time. A partial, not the
        # bound get_choices: forms deep-copy their choices, and a bound method would drag this filter's
        # FilterSet and its request (whose input stream cannot be copied) into the copy.
        self.extra["choices"] = functools.partial(vocabulary_choices, self.vocabulary)
        return super().field


class PlaceField(forms.CharField):
    """A place from the offline gazetteer (trials.geo): a city ("Nanjing", "南京", "Cambridge, US") or "lat,lon"."""

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        from .geo import parse_place

        place = parse_place(text)
        if place is None:
            # As params, never spliced in: django-filter formats the message with them, and a "%" typed in
            # the place would otherwise break that formatting.
            raise forms.ValidationError(
                _("Unknown place “%(place)s”: give a city (e.g. Nanjing, or Cambridge, US) or latitude,longitude."),
                params={"place": text},
            )
        return place


class PlaceFilter(df.CharFilter):
    field_class = PlaceField


DEFAULT_RADIUS_KM = 100


def within_km(latitude: float, longitude: float, radius: float) -> Q:
    """Sites within `radius` km of a point: a bounding box the (geo_latitude, geo_longitude) index can
    use, then the great-circle distance, computed alike on PostgreSQL and SQLite."""
    from django.db.models.functions import ASin, Cos, Least, Power, Radians, Sin, Sqrt

    from .geo import EARTH_RADIUS_KM

    box = Q(geo_latitude__gte=latitude - radius / 111.0, geo_latitude__lte=latitude + radius / 111.0)
    phi, lam = math.radians(latitude), math.radians(longitude)
    haversine = Power(Sin((Radians(F("geo_latitude")) - Value(phi)) / Value(2.0)), 2) + Value(math.cos(phi)) * Cos(
        Radians(F("geo_latitude"))
    ) * Power(Sin((Radians(F("geo_longitude")) - Value(lam)) / Value(2.0)), 2)
    distance = Value(2 * EARTH_RADIUS_KM) * ASin(Least(Sqrt(haversine), Value(1.0)))
    return box & Q(GreaterThanOrEqual(Value(float(radius)), distance))


class StudyFilterSet(df.FilterSet):
    q = df.CharFilter(
        label=_("Search"),
        method="filter_q",
        help_text=_("Titles, summaries, registry ids, DOI, PMID, sponsors and institutions, sites."),
    )
    condition = SlugMultipleFilter(
        vocabulary=m.Condition, label=_("Condition"), method="filter_condition", help_text=_("Includes narrower conditions.")
    )
    cell_type = SlugMultipleFilter(vocabulary=m.CellType, label=_("Cell type"), method="filter_cell_type")
    cell_category = df.MultipleChoiceFilter(
        choices=c.CellCategory.choices, label=_("Cell category"), method="filter_cell_category"
    )
    source_tissue = df.MultipleChoiceFilter(
        choices=c.SourceTissue.choices, label=_("Source tissue"), method="filter_source_tissue"
    )
    donor = df.MultipleChoiceFilter(choices=c.Donor.choices, label=_("Donor"), method="filter_donor")
    route = df.MultipleChoiceFilter(choices=c.Route.choices, label=_("Route"), method="filter_route")
    # Columns of the study itself: no join, so no DISTINCT (which would also make the facet counts
    # aggregate over a subquery).
    phase = df.MultipleChoiceFilter(choices=c.Phase.choices, label=_("Phase"), distinct=False)
    status = df.MultipleChoiceFilter(
        field_name="overall_status", choices=c.OverallStatus.choices, label=_("Status"), distinct=False
    )
    study_type = df.MultipleChoiceFilter(choices=c.StudyType.choices, label=_("Study type"), distinct=False)
    country = df.MultipleChoiceFilter(choices=list(countries), label=_("Country"), method="filter_country")
    instrument = SlugMultipleFilter(vocabulary=m.Instrument, label=_("Outcome instrument"), method="filter_instrument")
    start_year_min = df.NumberFilter(
        label=_("Started from (year)"), method="filter_start_year_min", min_value=1900, max_value=2200
    )
    start_year_max = df.NumberFilter(
        label=_("Started until (year)"), method="filter_start_year_max", min_value=1900, max_value=2200
    )
    enrollment_min = df.NumberFilter(field_name="enrollment", lookup_expr="gte", label=_("Enrollment from"), min_value=0)
    enrollment_max = df.NumberFilter(field_name="enrollment", lookup_expr="lte", label=_("Enrollment up to"), min_value=0)
    # Eligibility, sites and organisations (a patient's age and sex, where they live, who runs the study).
    age = df.NumberFilter(
        label=_("Patient's age (years)"),
        method="filter_age",
        min_value=0,
        max_value=130,
        help_text=_("Studies whose stated age range includes this age."),
    )
    sex = df.ChoiceFilter(
        choices=c.Sex.choices, label=_("Patient's sex"), method="filter_sex", help_text=_("Studies that enrol this sex.")
    )
    healthy_volunteers = df.BooleanFilter(label=_("Accepts healthy volunteers"), widget=forms.NullBooleanSelect, distinct=False)
    city = df.CharFilter(label=_("Site city"), method="filter_city", help_text=_("A city with a site, e.g. Nanjing or 南京."))
    near = PlaceFilter(
        label=_("Near"),
        method="filter_near",
        help_text=_("A city or “latitude,longitude”: studies with a site within the radius."),
    )
    radius_km = df.NumberFilter(
        label=_("Radius (km)"),
        method="filter_radius",
        min_value=1,
        max_value=20000,
        help_text=_("Of “near”; %(km)s km when not given.") % {"km": DEFAULT_RADIUS_KM},
    )
    organisation = SlugMultipleFilter(
        vocabulary=m.Organisation,
        label=_("Sponsor or collaborator"),
        method="filter_organisation",
        help_text=_("Organisation slugs (see /api/v1/organisations/)."),
    )
    sponsor_kind = df.MultipleChoiceFilter(
        choices=c.OrganisationKind.choices, label=_("Lead sponsor kind"), method="filter_sponsor_kind"
    )
    has_results = df.BooleanFilter(label=_("Has results"), method="filter_has_results", widget=forms.NullBooleanSelect)
    has_serious_ae = df.BooleanFilter(
        label=_("Has serious adverse events"), method="filter_has_serious_ae", widget=forms.NullBooleanSelect
    )
    trust = df.MultipleChoiceFilter(
        choices=c.TrustFlag.choices,
        label=_("Trust signals"),
        method="filter_trust",
        help_text=_("Studies with every signal chosen."),
    )
    ordering = df.ChoiceFilter(
        label=_("Sort by"),
        method="filter_ordering",
        empty_label=None,
        choices=[
            ("relevance", _("Relevance")),
            ("-start_date", _("Newest first")),
            ("start_date", _("Oldest first")),
            ("-enrollment", _("Largest enrollment")),
            ("enrollment", _("Smallest enrollment")),
            ("-phase", _("Latest phase")),
            ("phase", _("Earliest phase")),
            ("-updated_at", _("Recently updated")),
            ("accession", _("Accession")),
        ],
    )

    class Meta:
        model = m.Study
        fields: list[str] = []

    # Facets: name -> how to count it. Exposed for the page and the API alike.
    FACETS = [
        "condition", "cell_type", "cell_category", "source_tissue", "donor", "route", "phase", "status", "study_type",
        "country", "instrument", "has_results", "has_serious_ae", "trust", "organisation", "sponsor_kind",
    ]  # fmt: skip

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        if "ordering" not in self.form.cleaned_data or not self.form.cleaned_data.get("ordering"):
            queryset = self.filter_ordering(queryset, "ordering", self.default_ordering())
        queryset.query.cache_count = True  # its total is cached until the data changes (StudyQuerySet.count)
        return queryset

    def default_ordering(self) -> str:
        return "relevance" if self.form.cleaned_data.get("q") else "-updated_at"

    # --- filters ---------------------------------------------------------------------------------

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Free text in the field's words (trials.synonyms): every concept the text names must match, by
        its coding or its terms in the text, and so must the other words; studies coded with the concepts
        rank first. Text naming no concept is searched as it stands."""
        value = value.strip()
        if not value:
            return queryset
        expansion = self.search_expansion(value)
        if not expansion.groups:
            return self.filter_text(queryset, value)
        coded = Q()
        for group in expansion.groups:
            queryset = queryset.filter(synonyms.coded_q(group) | synonyms.mentions_q(group))
            coded &= synonyms.coded_q(group)
        for word in expansion.rest:
            queryset = self.filter_text(queryset, word)
        if not expansion.rest:
            queryset = queryset.annotate(text_rank=Value(0.0, output_field=FloatField()))
        concept_rank = Case(When(coded, then=Value(10.0)), default=Value(0.0), output_field=FloatField())
        return queryset.annotate(search_rank=concept_rank + F("text_rank"))

    def search_expansion(self, value: str) -> synonyms.Expansion:
        """The concepts `value` names, worked out once per search (the facets re-apply the filter)."""
        memo = self.__dict__.setdefault("_expansions", {})
        if value not in memo:
            memo[value] = synonyms.expand(value)
        return memo[value]

    def filter_text(self, queryset: QuerySet, value: str) -> QuerySet:
        """`value` as plain text: identifiers, full text (PostgreSQL) or substrings; annotates `text_rank`."""
        # Sponsors and collaborators by name (either language), sites by facility or city.
        organisations = m.StudyOrganisation.objects.filter(
            Q(organisation__name__icontains=value) | Q(organisation__name_zh__icontains=value)
        )
        sites = m.Site.objects.filter(Q(facility__icontains=value) | Q(facility_zh__icontains=value) | Q(city__iexact=value))
        identifiers = Q(
            Exists(organisations.filter(study=OuterRef("pk")))
            | Exists(sites.filter(study=OuterRef("pk")))
            | Exists(m.RegistryIdentifier.objects.filter(study=OuterRef("pk"), value__icontains=value))
            | Exists(
                m.Publication.objects.filter(Q(doi__iexact=value) | Q(pmid=value) | Q(pmcid__iexact=value), study=OuterRef("pk"))
            )
        )
        # Chinese has no spaces for a full-text parser to split words on, so Chinese fields (and
        # every field on SQLite) are matched as substrings; English text uses PostgreSQL's ranked search.
        substring = Q(title_zh__icontains=value) | Q(brief_summary_zh__icontains=value) | Q(acronym__iexact=value)
        # The sponsor and institutions as the sources word them (curated before organisations were a vocabulary).
        substring |= Q(sponsor__icontains=value) | Q(institutions__icontains=value)
        if connection.vendor == "postgresql":
            # A full-text match (@@, through the GIN index on the stored `search_vector`), or a
            # substring of the Chinese fields, or an identifier. ts_rank is 1e-20, not 0, for a
            # document that does not match, so the rank itself is only used for ordering.
            query = SearchQuery(value, config="english", search_type="websearch")
            rank = SearchRank(F("search_vector"), query)
            papers = m.Publication.objects.filter(Q(doi__iexact=value) | Q(pmid=value) | Q(pmcid__iexact=value))
            ids = (
                m.Study.objects.filter(search_vector=query)
                .values("pk")
                .order_by()
                .union(
                    m.Study.objects.filter(substring).values("pk").order_by(),
                    m.RegistryIdentifier.objects.filter(value__icontains=value).values("study_id").order_by(),
                    papers.values("study_id").order_by(),
                    organisations.values("study_id").order_by(),
                    sites.values("study_id").order_by(),
                )
            )
            return queryset.annotate(text_rank=rank, search_rank=rank).filter(pk__in=ids)
        substring |= Q(title__icontains=value) | Q(brief_summary__icontains=value)
        title_first = Case(
            When(Q(title__icontains=value) | Q(title_zh__icontains=value), then=Value(2.0)),
            default=Value(1.0),
            output_field=FloatField(),
        )
        return queryset.filter(substring | identifiers).annotate(text_rank=title_first, search_rank=title_first)

    def filter_condition(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return queryset
        closure = condition_closure()
        ids = {
            pk for slug_pk in m.Condition.objects.filter(slug__in=value).values_list("pk", flat=True) for pk in closure[slug_pk]
        }
        return queryset.filter(Exists(m.StudyCondition.objects.filter(study=OuterRef("pk"), condition_id__in=ids)))

    def filter_cell_type(self, queryset, name, value):
        return queryset.filter(intervention_exists(cell_type__slug__in=value)) if value else queryset

    def filter_cell_category(self, queryset, name, value):
        return queryset.filter(intervention_exists(cell_type__category__in=value)) if value else queryset

    def filter_source_tissue(self, queryset, name, value):
        return queryset.filter(intervention_exists(source_tissue__in=value)) if value else queryset

    def filter_donor(self, queryset, name, value):
        return queryset.filter(intervention_exists(donor__in=value)) if value else queryset

    def filter_route(self, queryset, name, value):
        return queryset.filter(intervention_exists(kind=c.InterventionKind.CELL_PRODUCT, route__in=value)) if value else queryset

    def filter_country(self, queryset, name, value):
        return (
            queryset.filter(Exists(m.StudyCountry.objects.filter(study=OuterRef("pk"), country__in=value))) if value else queryset
        )

    def filter_instrument(self, queryset, name, value):
        return (
            queryset.filter(Exists(m.OutcomeMeasure.objects.filter(study=OuterRef("pk"), instrument__slug__in=value)))
            if value
            else queryset
        )

    def filter_age(self, queryset, name, value):
        """Studies whose stated range includes the age: a bound not stated does not exclude it, but a
        study that states neither bound is not said to include anyone."""
        days = float(value) * c.DAYS_PER_AGE_UNIT[c.AgeUnit.YEAR]
        above_min = Q(min_age__isnull=True) | Q(LessThanOrEqual(age_in_days("min_age"), Value(days)))
        below_max = Q(max_age__isnull=True) | Q(GreaterThanOrEqual(age_in_days("max_age"), Value(days)))
        stated = Q(min_age__isnull=False) | Q(max_age__isnull=False)
        return queryset.filter(stated & above_min & below_max)

    def filter_sex(self, queryset, name, value):
        return queryset.filter(eligible_sex__in=[c.EligibleSex.ALL, value]) if value else queryset

    def filter_city(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        from .geo import find_city

        # The gazetteer knows a city's other names (南京 is Nanjing): sites are matched under either.
        place = find_city(value)
        names = Q(city__iexact=value) | (Q(city__iexact=place.name, country=place.country) if place else Q())
        return queryset.filter(Exists(m.Site.objects.filter(names, study=OuterRef("pk"))))

    def filter_near(self, queryset, name, value):
        if value is None:
            return queryset
        radius = self.form.cleaned_data.get("radius_km") or DEFAULT_RADIUS_KM
        near = within_km(value.latitude, value.longitude, float(radius))
        return queryset.filter(Exists(m.Site.objects.filter(near, study=OuterRef("pk"))))

    def filter_radius(self, queryset, name, value):
        return queryset  # read by `near`; alone it selects nothing

    def filter_organisation(self, queryset, name, value):
        if not value:
            return queryset
        links = m.StudyOrganisation.objects.filter(study=OuterRef("pk"), organisation__slug__in=value)
        return queryset.filter(Exists(links))

    def filter_sponsor_kind(self, queryset, name, value):
        if not value:
            return queryset
        leads = m.StudyOrganisation.objects.filter(
            study=OuterRef("pk"), role=c.OrganisationRole.LEAD_SPONSOR, organisation__kind__in=value
        )
        return queryset.filter(Exists(leads))

    def filter_start_year_min(self, queryset, name, value):
        return queryset.filter(start_date__gte=dt.date(int(value), 1, 1))

    def filter_start_year_max(self, queryset, name, value):
        return queryset.filter(start_date__lte=dt.date(int(value), 12, 31))

    def filter_has_results(self, queryset, name, value):
        return queryset.filter(m.has_results_exists() if value else ~m.has_results_exists())

    def filter_has_serious_ae(self, queryset, name, value):
        return queryset.filter(m.has_serious_ae_exists() if value else ~m.has_serious_ae_exists())

    def filter_trust(self, queryset, name, value):
        return queryset.filter(trust.flag_filter(value)) if value else queryset

    def filter_ordering(self, queryset, name, value):
        if value == "relevance":
            if "search_rank" in queryset.query.annotations:
                return queryset.order_by("-search_rank", "-updated_at", "accession")
            value = "-updated_at"
        if value.lstrip("-") == "phase":
            rank = Case(
                *[When(phase=code, then=Value(n)) for code, n in c.PHASE_RANK.items()],
                default=Value(-1),
                output_field=IntegerField(),
            )
            queryset = queryset.annotate(phase_rank=rank)
            field = "phase_rank"
        else:
            field = value.lstrip("-")
        ordered = F(field).desc(nulls_last=True) if value.startswith("-") else F(field).asc(nulls_last=True)
        return queryset.order_by(ordered, "accession")

    # --- facets ----------------------------------------------------------------------------------

    def facet_counts(self) -> dict[str, dict[str, int]]:
        """For each facet, the number of matching studies per value, given every *other* active filter
        (trials.facets)."""
        from .facets import facet_counts

        return facet_counts(self)

    def active_filters(self) -> dict:
        """The validated filters that select something (not the sort order)."""
        self.is_valid()
        return {name: value for name, value in self.form.cleaned_data.items() if name != "ordering" and is_active(value)}

    def queryset_without(self, facet: str | None) -> QuerySet:
        """The studies every active filter but `facet`'s selects.

        Applies the already validated filters directly: no second FilterSet, so no second validation
        and no second round of vocabulary queries per facet.
        """
        queryset = self.queryset.all()
        for name, value in self.active_filters().items():
            if name != facet:
                queryset = self.filters[name].filter(queryset, value)
        return queryset.order_by()

    def filter_key(self) -> tuple:
        """The filters as given (values in order: a repeated single-value filter keeps its last)."""
        data = self.data.copy() if hasattr(self.data, "copy") else dict(self.data)
        for key in ("ordering", "page", "page_size", "format", "fields"):
            if hasattr(data, "pop"):
                data.pop(key, None)
        items = data.lists() if hasattr(data, "lists") else ((k, v if isinstance(v, list) else [v]) for k, v in data.items())
        return tuple(sorted((key, tuple(map(str, values))) for key, values in items))


def is_active(value) -> bool:
    return value not in (None, "", [], ())
