"""Every list and detail answers in a fixed number of queries, whatever the number of rows or the page size.

Anonymous requests: no session or token lookup. Each test lists the queries it expects.
"""

import pytest

from tests import factories as f
from tests.query_counts import other_facets
from trials import models as m

SUMMARY_LIST = 8
# 1 COUNT of the matching studies (pagination)
# 2 the page of studies, has_results / has_serious_ae as EXISTS subqueries
# 3 their conditions (JOIN condition for the slug)
# 4 their countries
# 5 their cohorts
# 6 the cohorts' cell products (JOIN cell type)
# 7 their sponsors and collaborators (JOIN organisation for the slug)
# 8 their sites (city only)

DOCUMENT_PREFETCHES = 14
# study_conditions (+condition), study_organisations (+organisation), sites, countries, milestones,
# registry_ids, publications, sources (+document), cohorts, interventions (+cell type), withdrawals,
# baseline_measures (+instrument), outcomes (+instrument, cohort), adverse_events (+cohort)

ROW_LIST = 2
# 1 COUNT of the rows of the matching public studies
# 2 the page of rows, JOIN study, cohort (and instrument for outcomes)


@pytest.fixture(params=[2, 20], ids=["2-studies", "20-studies"])
def studies(request, db):
    return [f.full_study() for _ in range(request.param)]


@pytest.mark.parametrize("page_size", [10, 1000])
def test_study_list(anon, studies, django_assert_num_queries, page_size):
    with django_assert_num_queries(SUMMARY_LIST):
        response = anon.get(f"/api/v1/studies/?page_size={page_size}")
    assert len(response.json()["results"]) == min(len(studies), page_size)


@pytest.mark.parametrize("page_size", [10, 1000])
def test_study_list_with_filters(anon, studies, django_assert_num_queries, page_size):
    # + the condition filter's vocabulary (validating the slugs), the condition closure and the slugs' ids,
    # and the search's concept expansion of `q` (trials.synonyms)
    with django_assert_num_queries(SUMMARY_LIST + 4):
        response = anon.get(
            f"/api/v1/studies/?page_size={page_size}&condition=amyotrophic-lateral-sclerosis&phase=phase1&q=study"
        )
    assert response.json()["count"] == len(studies)


@pytest.mark.parametrize("page_size", [10, 1000])
def test_expanded_study_list(anon, studies, django_assert_num_queries, page_size):
    # COUNT, the page of studies, then the document's prefetches once for the whole page
    with django_assert_num_queries(2 + DOCUMENT_PREFETCHES):
        response = anon.get(f"/api/v1/studies/?expand=children&page_size={page_size}")
    assert len(response.json()["results"]) == min(len(studies), page_size)


def test_study_detail(anon, studies, django_assert_num_queries):
    # the study, then the document's prefetches
    with django_assert_num_queries(1 + DOCUMENT_PREFETCHES):
        anon.get(f"/api/v1/studies/{studies[0].accession}/")


def test_study_detail_not_modified(anon, studies, django_assert_num_queries):
    etag = anon.get(f"/api/v1/studies/{studies[0].accession}/")["ETag"]
    with django_assert_num_queries(1 + DOCUMENT_PREFETCHES):
        assert anon.get(f"/api/v1/studies/{studies[0].accession}/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_facets(anon, studies, django_assert_num_queries):
    # The COUNT of matching studies: the condition filter validates its slugs against the vocabulary,
    # reads the condition closure and the slugs' ids (3), then counts (1).
    # Each facet is counted under the *other* filters: the 14 facets other than condition share one set,
    # whose condition filter reads the closure and the slug ids again (2), and are counted over it
    # (tests/query_counts.py); the condition facet: closure, slugs, one aggregate (3).
    with django_assert_num_queries(4 + 2 + other_facets() + 3):
        response = anon.get("/api/v1/studies/facets/?condition=amyotrophic-lateral-sclerosis")
    assert response.json()["count"] == len(studies)


def test_facets_without_filters(anon, studies, django_assert_num_queries):
    # COUNT, the other facets, the condition facet's three
    with django_assert_num_queries(1 + other_facets() + 3):
        anon.get("/api/v1/studies/facets/")


@pytest.mark.parametrize("page_size", [10, 1000])
@pytest.mark.parametrize("path", ["/api/v1/outcomes/", "/api/v1/adverse-events/"])
def test_result_and_harm_rows(anon, studies, django_assert_num_queries, path, page_size):
    with django_assert_num_queries(ROW_LIST):
        response = anon.get(f"{path}?page_size={page_size}&phase=phase1")
    assert response.json()["count"] == len(studies)


@pytest.mark.parametrize("path", ["/api/v1/conditions/", "/api/v1/cell-types/", "/api/v1/instruments/"])
def test_vocabularies(anon, studies, django_assert_num_queries, path):
    # COUNT, then the page (conditions JOIN their parent)
    with django_assert_num_queries(2):
        anon.get(path)


def test_study_versions(anon, studies, django_assert_num_queries):
    for number in (1, 2):
        m.StudyVersion.objects.create(study=studies[0], number=number, document={})
    # the study (visibility), COUNT, the page of versions JOIN study
    with django_assert_num_queries(3):
        anon.get(f"/api/v1/studies/{studies[0].accession}/versions/")


def test_api_version(anon, studies, django_assert_num_queries):
    with django_assert_num_queries(1):
        anon.get("/api/v1/version/")


def test_study_csv(anon, studies, django_assert_num_queries):
    # the ETag's fingerprint (COUNT, MAX(updated_at)), the studies' columns, then per chunk of 2,000
    # studies their conditions, countries, sponsors and collaborators, site cities and cell products
    with django_assert_num_queries(2 + 5):
        body = b"".join(anon.get("/api/v1/studies/?format=csv").streaming_content)
    assert body.count(b"\n") == len(studies) + 1


@pytest.mark.parametrize("path", ["/api/v1/outcomes/", "/api/v1/adverse-events/"])
def test_row_csv(anon, studies, django_assert_num_queries, path):
    # the ETag's fingerprint, then the rows
    with django_assert_num_queries(2):
        body = b"".join(anon.get(f"{path}?format=csv").streaming_content)
    assert body.count(b"\n") == len(studies) + 1
