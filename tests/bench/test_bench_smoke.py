"""The benchmark in miniature, so that it cannot rot: a few hundred synthetic studies, generated
deterministically, removed completely, and every query the harness measures run once against them.

The real benchmark (`make bench`, bench/README.md) adds PostgreSQL at scale, Datasette and wrk.
"""

import hashlib
import json
import sqlite3

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.utils.encoders import JSONEncoder

from bench import queries as bench_queries
from bench.report import render_section
from tests import factories as f
from trials import models as m
from trials import synthetic
from trials.api.serializers import document_queryset, study_document

STUDIES = 300
SYNTHETIC_TABLES = [
    m.StudyCondition, m.StudyCountry, m.RegulatoryMilestone, m.RegistryIdentifier, m.Publication, m.Source, m.Cohort,
    m.OutcomeMeasure, m.AdverseEvent,
]  # fmt: skip


def digest() -> str:
    """The synthetic studies' whole documents (ids left out), hashed."""
    documents = [study_document(s) for s in document_queryset(m.Study.objects.filter(is_synthetic=True).order_by("accession"))]
    text = json.dumps(documents, cls=JSONEncoder, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.django_db
def test_generate_is_deterministic_marked_and_removable(capsys):
    curated = f.full_study()
    call_command("generate_synthetic", studies=STUDIES, seed=7)
    assert "Added 300 synthetic studies" in capsys.readouterr().out
    synthetic_studies = m.Study.objects.filter(is_synthetic=True)
    assert synthetic_studies.count() == STUDIES
    assert synthetic_studies.published().count() == STUDIES
    assert set(synthetic_studies.values_list("accession", flat=True)) == {f"NCR-S{n:07d}" for n in range(1, STUDIES + 1)}
    # Realistic: children in every table, several timepoints, most studies small and a few large.
    for model in SYNTHETIC_TABLES:
        assert model.objects.filter(study__is_synthetic=True).exists(), model
    assert m.Intervention.objects.filter(cohort__study__is_synthetic=True, kind="cell_product").exists()
    assert m.OutcomeMeasure.objects.filter(study__is_synthetic=True).values("timepoint").distinct().count() > 3
    enrollments = sorted(synthetic_studies.values_list("enrollment", flat=True))
    assert enrollments[len(enrollments) // 2] < 100 < enrollments[-1]
    assert {"zh", "en"} <= set(m.Source.objects.filter(study__is_synthetic=True).values_list("document__language", flat=True))
    # No history rows for synthetic data; never in the default export.
    assert not m.Study.history.filter(is_synthetic=True).exists()
    call_command("export_studies", "-")
    exported = json.loads(capsys.readouterr().out)
    assert [s["accession"] for s in exported["studies"]] == [curated.accession]

    first = digest()
    call_command("generate_synthetic", remove=True)
    assert "Removed 300 synthetic studies" in capsys.readouterr().out
    assert not m.Study.objects.filter(is_synthetic=True).exists()
    assert not m.Cohort.objects.filter(study__is_synthetic=True).exists()
    assert not m.SourceDocument.objects.filter(key__startswith=synthetic.SOURCE_KEY_PREFIX).exists()
    assert m.Study.objects.filter(pk=curated.pk).exists() and m.Cohort.objects.filter(study=curated).exists()

    call_command("generate_synthetic", studies=STUDIES, seed=7)
    assert digest() == first, "the same seed must give the same studies"
    call_command("generate_synthetic", remove=True)
    call_command("generate_synthetic", studies=STUDIES // 3, seed=8)
    assert digest() != first


@pytest.mark.django_db
def test_harness_queries_run_and_their_counts_do_not_grow(client):
    call_command("generate_synthetic", studies=STUDIES // 2, seed=3)
    small = bench_queries.run_once(client)
    for key, result in small.items():
        assert result["status"] == 200, (key, result["url"])
        assert result["bytes"] > 0
    call_command("generate_synthetic", studies=STUDIES // 2, seed=3)
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

    call_command("generate_synthetic", studies=50, seed=1)
    params = connection.get_connection_params()
    dsn = f"postgresql://{params.get('user', '')}@{params.get('host', '')}:{params.get('port', 5432)}/{params['dbname']}"
    path = tmp_path / "bench.db"
    counts = export_sqlite.export(dsn, path)
    assert counts["studies"] == m.Study.objects.public().count()
    db = sqlite3.connect(path)
    sql = export_sqlite.datasette_metadata("bench")["databases"]["bench"]["queries"]["study"]["sql"]
    row = db.execute(sql, {"accession": "NCR-S0000001"}).fetchone()
    assert row is not None and json.loads(row[-1]) is not None
    assert db.execute("SELECT count(*) FROM studies_fts WHERE studies_fts MATCH 'trial'").fetchone()[0] > 0


def test_report_renders_a_section():
    measure = {"median": 10.0, "min": 9.0, "max": 11.0}
    summary = {"rps": measure, "p50": measure, "p95": measure, "p99": measure, "errors": 0}
    result = {
        "studies": 300, "date": "today", "accession": "NCR-S0000001",
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
