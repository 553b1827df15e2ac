"""The benchmark in miniature, so that it cannot rot: a few hundred synthetic studies, generated
deterministically as ordinary records, and every query the harness measures run once against them.

The real benchmark (`make bench`, bench/README.md) adds PostgreSQL at scale, Datasette and wrk.
"""

import hashlib
import json
import sqlite3

import pytest
from django.db import connection

from bench import queries as bench_queries
from bench.report import render_section
from bench.synthetic import synthetic_accession, synthetic_generate
from tests import factories as f
from trials import models as m
from trials.documents import document_queryset, study_document

STUDIES = 300
SYNTHETIC_TABLES = [
    m.StudyCondition, m.StudyCountry, m.RegulatoryMilestone, m.RegistryIdentifier, m.Publication, m.Source, m.Cohort,
    m.OutcomeMeasure, m.AdverseEvent, m.StudyOrganisation, m.Site,
]  # fmt: skip


def synthetic_studies():
    return m.Study.objects.filter(accession__gt=synthetic_accession(0))


def digest() -> str:
    """The synthetic studies' whole documents (ids left out), hashed."""
    documents = [study_document(s) for s in document_queryset(synthetic_studies().order_by("accession"))]
    text = json.dumps(documents, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.django_db
def test_generate_is_deterministic_and_writes_ordinary_valid_records():
    curated = f.full_study(accession="NCR-000001")
    synthetic_generate(studies=STUDIES, seed=7)
    generated = synthetic_studies()
    assert generated.count() == STUDIES
    assert generated.published().count() == STUDIES
    assert set(generated.values_list("accession", flat=True)) == {synthetic_accession(n) for n in range(1, STUDIES + 1)}
    # Realistic: rows in every table, several timepoints, most studies small and a few large.
    for model in SYNTHETIC_TABLES:
        assert model.objects.filter(study__in=generated).exists(), model
    assert m.Intervention.objects.filter(cohort__study__in=generated, kind="cell_product").exists()
    assert m.OutcomeMeasure.objects.filter(study__in=generated).values("timepoint").distinct().count() > 3
    enrollments = sorted(generated.values_list("enrollment", flat=True))
    assert enrollments[len(enrollments) // 2] < 100 < enrollments[-1]
    assert {"zh", "en"} <= set(m.Source.objects.filter(study__in=generated).values_list("document__language", flat=True))
    assert not m.Study.history.filter(accession__gt=synthetic_accession(0)).exists()  # no history for data nobody curates
    # Eligibility, sponsors, sites, flow and baseline in ClinicalTrials.gov-like proportions.
    stated = generated.filter(min_age__isnull=False).count()
    assert STUDIES * 0.5 < stated < STUDIES
    assert generated.filter(eligible_sex="all").count() > 0.8 * stated
    assert m.StudyOrganisation.objects.filter(study__in=generated, role="lead_sponsor").count() == STUDIES
    industry = m.StudyOrganisation.objects.filter(study__in=generated, role="lead_sponsor", organisation__kind="industry")
    assert 0.1 * STUDIES < industry.count() < 0.3 * STUDIES
    assert m.Site.objects.filter(study__in=generated, geo_latitude__isnull=False).count() > STUDIES * 0.5
    assert m.Withdrawal.objects.filter(cohort__study__in=generated).exists()
    assert m.BaselineMeasure.objects.filter(cohort__study__in=generated, kind="sex").exists()
    for model in (m.Site, m.Withdrawal, m.BaselineMeasure):
        for row in model.objects.all()[:50]:
            row.full_clean(exclude=["study", "cohort"])
    # Ordinary records: every one passes the model's own rules, and new accessions come after them.
    for study in generated[:25]:
        study.full_clean(exclude=["accession"])
    assert int(m.AccessionCounter.objects.get().last_number) == 1000 + STUDIES
    assert m.Study.objects.filter(pk=curated.pk).exists()

    first = digest()
    generated.delete()
    synthetic_generate(studies=STUDIES, seed=7)
    assert digest() == first, "the same seed must give the same studies"
    synthetic_studies().delete()
    synthetic_generate(studies=STUDIES // 3, seed=8)
    assert digest() != first


@pytest.mark.django_db
def test_harness_queries_run_and_their_counts_do_not_grow(client):
    synthetic_generate(studies=STUDIES // 2, seed=3)
    small = bench_queries.run_once(client)
    for key, result in small.items():
        assert result["status"] == 200, (key, result["url"])
        assert result["bytes"] > 0
    synthetic_generate(studies=STUDIES // 2, seed=3)
    large = bench_queries.run_once(client)
    counts = {key: len(result["sql"]) for key, result in small.items()}
    assert counts == {key: len(result["sql"]) for key, result in large.items()}, "query counts must not grow with N"
    # Every CSV row is a study: all of them, and those of the filtered set.
    assert large["f:all"]["bytes"] > small["f:all"]["bytes"]


@pytest.mark.django_db(transaction=True)
def test_sqlite_export_serves_the_datasette_queries(tmp_path):
    """The Datasette side without Datasette: the export, its FTS index and the canned study query."""
    if connection.vendor != "postgresql":
        pytest.skip("the export reads PostgreSQL")
    import sys

    sys.path.insert(0, "bench")
    import export_sqlite

    synthetic_generate(studies=50, seed=1)
    params = connection.get_connection_params()
    dsn = f"postgresql://{params.get('user', '')}@{params.get('host', '')}:{params.get('port', 5432)}/{params['dbname']}"
    path = tmp_path / "bench.db"
    counts = export_sqlite.export(dsn, path)
    assert counts["studies"] == m.Study.objects.public().count()
    db = sqlite3.connect(path)
    sql = export_sqlite.datasette_metadata("bench")["databases"]["bench"]["queries"]["study"]["sql"]
    row = db.execute(sql, {"accession": synthetic_accession(1)}).fetchone()
    assert row is not None and json.loads(row[-1]) is not None
    assert db.execute("SELECT count(*) FROM studies_fts WHERE studies_fts MATCH 'trial'").fetchone()[0] > 0


def test_report_renders_a_section():
    measure = {"median": 10.0, "min": 9.0, "max": 11.0}
    summary = {"rps": measure, "p50": measure, "p95": measure, "p99": measure, "errors": 0}
    result = {
        "studies": 300, "date": "today", "accession": "NCR-001001",
        "machine": {"cpu": "cpu", "memory_gb": 1, "kernel": "k", "commit": "abc",
                    "versions": {"postgresql": "pg", "datasette": "d", "wrk": "w", "python": "p"}},
        "postgres": {"load_seconds": 1.0}, "servers": {"ours": "g", "datasette": "u"},
        "queries": {"a": {"title": "A", "note": ""}}, "captured": {"a:html": {"queries": 5}},
        "runs": {"a:html:ours": [{}]}, "summary": {f"a:{k}:{w}": summary for k in ("html", "json")
                                                  for w in ("ours", "datasette", "floor")},
    }  # fmt: skip
    text = render_section(result)
    assert "| (a) A | HTML | 10.0 (9.0–11.0) |" in text
    assert "1.0×" in text
