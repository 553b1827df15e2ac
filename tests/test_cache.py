"""Facet counts and search totals are cached until the data changes, and the faster search matches
exactly what the per-row search matched (trials/cache.py, migration 0007)."""

import pytest
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.http import QueryDict

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.cache import data_changed, data_stamp
from trials.filters import StudyFilterSet

ALS = "amyotrophic-lateral-sclerosis"


@pytest.fixture
def cache_on(db, settings):
    settings.REGISTRY_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def search(query: str = "") -> StudyFilterSet:
    return StudyFilterSet(QueryDict(query), queryset=m.Study.objects.public())


def test_facet_counts_are_served_from_the_cache_until_a_study_is_published(cache_on, django_assert_max_num_queries):
    f.full_study()
    first = search(f"condition={ALS}").facet_counts()
    assert first["phase"] == {"phase1": 1}
    # A hit: validating the filters and reading the data stamp, no counting.
    with django_assert_max_num_queries(4):
        assert search(f"condition={ALS}").facet_counts() == first
    f.full_study(phase=c.Phase.PHASE2)
    assert search(f"condition={ALS}").facet_counts()["phase"] == {"phase1": 1, "phase2": 1}


def test_a_retraction_changes_the_cached_counts(cache_on):
    study = f.full_study()
    assert search().facet_counts()["status"] == {"COMPLETED": 1}
    m.Study.objects.filter(pk=study.pk).update(curation_state=c.CurationState.DRAFT)
    assert search().facet_counts()["status"] == {}


def test_totals_are_cached_until_the_data_changes(cache_on, django_assert_num_queries):
    f.full_study()
    assert search(f"condition={ALS}").qs.count() == 1
    with django_assert_num_queries(4):  # the condition filter's 3 vocabulary queries, the stamp; no COUNT
        assert search(f"condition={ALS}").qs.count() == 1
    f.full_study()
    assert search(f"condition={ALS}").qs.count() == 2


def test_without_the_setting_nothing_is_cached(db, django_assert_num_queries):
    f.full_study()
    search().qs.count()
    with django_assert_num_queries(1):
        search().qs.count()


@pytest.mark.parametrize(
    "make",
    [
        lambda s: s.save(),
        lambda s: m.StudyCondition.objects.filter(study=s).delete(),
        lambda s: m.StudyCountry.objects.create(study=s, country="JP"),
        lambda s: m.Cohort.objects.filter(study=s).update(label="Renamed"),
        lambda s: m.Intervention.objects.filter(cohort__study=s).update(route=c.Route.INTRAVENOUS),
        lambda s: m.OutcomeMeasure.objects.filter(study=s).update(value=1),
        lambda s: m.AdverseEvent.objects.filter(study=s).delete(),
        lambda s: m.RegistryIdentifier.objects.filter(study=s).update(note="x"),
        lambda s: m.Publication.objects.filter(study=s).update(pmid="1"),
        lambda s: m.Condition.objects.update(name_zh="x"),
        lambda s: m.CellType.objects.update(category=c.CellCategory.OTHER),
        lambda s: m.Instrument.objects.update(unit="x"),
        lambda s: data_changed(),
    ],
    ids=["study", "condition", "country", "cohort", "intervention", "outcome", "adverse-event", "registry-id",
         "publication", "condition-vocabulary", "cell-type", "instrument", "by-hand"],
)  # fmt: skip
def test_every_write_a_count_depends_on_changes_the_stamp(db, make):
    study = f.full_study()
    before = data_stamp()
    make(study)
    assert data_stamp() != before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite searches by substring, unchanged")
@pytest.mark.parametrize(
    "query",
    ["spinal cord", "cord -spinal", '"bone marrow"', "marrow or stroke", "the", "NCT10000000", "10.1000/TEST.0", "PMC123456",
     "脊髓", "STEM", "o'neil", "back\\slash", "stem cells: phase 1 & 2 | (trial)"],
)  # fmt: skip
def test_the_indexed_search_finds_and_ranks_what_the_per_row_search_did(db, query):
    spinal = f.StudyFactory(title="Spinal cord injury trial", brief_summary="Bone marrow cells for chronic spinal cord injury.")
    f.StudyFactory(title="Cord blood in stroke", brief_summary="Only the cord, not the marrow.")
    f.StudyFactory(title="Unrelated", title_zh="脊髓损伤的干细胞治疗", acronym="STEM")
    f.StudyFactory(title="O'Neil's back\\slash study", brief_summary="Phase 1 & 2 trial of stem cells.")
    f.RegistryIdentifierFactory(study=f.StudyFactory(title="Registered only"))
    f.PublicationFactory(study=f.StudyFactory(title="Published only"), pmcid="PMC123456")
    f.StudyFactory(title="A spinal cord draft", curation_state=c.CurationState.DRAFT)
    assert spinal.pk

    vector = SearchVector("title", weight="A", config="english") + SearchVector("brief_summary", weight="B", config="english")
    search_query = SearchQuery(query, config="english", search_type="websearch")
    rank = SearchRank(vector, search_query)
    identifiers = Exists(m.RegistryIdentifier.objects.filter(study=OuterRef("pk"), value__icontains=query)) | Exists(
        m.Publication.objects.filter(Q(doi__iexact=query) | Q(pmid=query) | Q(pmcid__iexact=query), study=OuterRef("pk"))
    )
    substring = Q(title_zh__icontains=query) | Q(brief_summary_zh__icontains=query) | Q(acronym__iexact=query)
    before = (
        m.Study.objects.public()
        .annotate(search_rank=rank, document=vector)
        .filter(Q(document=search_query) | substring | Q(identifiers))
    )  # the per-row search (ts_rank is 1e-20, not 0, for a non-match: the match is the @@ test)
    now = StudyFilterSet({"q": query}, queryset=m.Study.objects.public()).qs
    assert sorted(now.values_list("pk", "search_rank")) == sorted(before.values_list("pk", "search_rank"))
