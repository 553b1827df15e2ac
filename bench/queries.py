"""The benchmark's query classes, each as our HTML page, our JSON and their Datasette equivalents.

Importable without Datasette or wrk: `tests/bench/test_bench_smoke.py` runs `run_once()` against the
test database, and bench/run.py captures with `capture()` the SQL our code runs for each URL, which
it then replays straight against PostgreSQL as the floor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote, urlencode

# The filtered sets: a broad condition (its narrower ones included) and a common cell type.
CONDITION = "stroke"
CELL_TYPE = "bone-marrow-msc"
SEARCH = "tacrolimus"
DATASETTE_DB = "bench"
FACETS_ARRAY = ["conditions", "cell_types", "donors", "routes"]
FACETS_COLUMN = ["phase", "overall_status"]


@dataclass(frozen=True)
class Query:
    key: str
    title: str
    ours_html: str
    ours_json: str
    datasette_html: str
    datasette_json: str
    note: str = ""

    def urls(self) -> dict[str, str]:
        return {"html": self.ours_html, "json": self.ours_json}


def _through(table: str, column: str, value: str) -> tuple[str, str]:
    return ("_through", json.dumps({"table": table, "column": column, "value": value}, separators=(",", ":")))


def _datasette(path: str, pairs: list[tuple[str, str]]) -> str:
    return f"/{DATASETTE_DB}/{path}?{urlencode(pairs, quote_via=quote)}" if pairs else f"/{DATASETTE_DB}/{path}"


def queries(accession: str) -> list[Query]:
    """The query classes (a)-(e); `accession` is the study (d) shows."""
    both = [_through("study_condition_closure", "condition", CONDITION), _through("study_cell_types", "cell_type", CELL_TYPE)]
    condition = [_through("study_condition_closure", "condition", CONDITION)]
    facets = [("_facet_array", name) for name in FACETS_ARRAY] + [("_facet", name) for name in FACETS_COLUMN]
    newest = [("_sort_desc", "updated_at")]
    objects = [("_shape", "objects")]
    return [
        Query(
            "a",
            "Studies filtered by condition and cell type, a page with the total count",
            ours_html=f"/studies/?condition={CONDITION}&cell_type={CELL_TYPE}",
            ours_json=f"/api/v1/studies/?condition={CONDITION}&cell_type={CELL_TYPE}&page_size=25",
            datasette_html=_datasette("studies", [*both, *newest, ("_size", "20")]),
            datasette_json=_datasette("studies.json", [*both, *newest, ("_size", "25"), *objects]),
            note="HTML 20 a page (the page sizes our search offers are 10/20/50/100), JSON 25; newest first; "
            "our page also counts its 13 facets, Datasette's shows none.",
        ),
        Query(
            "b",
            "Facet counts (condition, cell type, donor, route, phase, status) for a filtered set",
            ours_html=f"/studies/?condition={CONDITION}",
            ours_json=f"/api/v1/studies/facets/?condition={CONDITION}",
            datasette_html=_datasette("studies", [*condition, *facets, *newest, ("_size", "20")]),
            datasette_json=_datasette("studies.json", [*condition, *facets, ("_size", "0")]),
            note="Ours counts all 13 facets, each under the other filters; Datasette the 6 named, under all filters.",
        ),
        Query(
            "c",
            "Free-text search",
            ours_html=f"/studies/?q={SEARCH}",
            ours_json=f"/api/v1/studies/?q={SEARCH}&page_size=25",
            datasette_html=_datasette("studies", [("_search", SEARCH), ("_size", "20")]),
            datasette_json=_datasette("studies.json", [("_search", SEARCH), ("_size", "25"), *objects]),
            note="Ours: ranked English full text on titles and summaries, plus Chinese fields, acronym and "
            "registry/publication ids; Datasette: FTS5 on title and summary.",
        ),
        Query(
            "d",
            "One study with all its children",
            ours_html=f"/studies/{accession}/",
            ours_json=f"/api/v1/studies/{accession}/",
            datasette_html=_datasette("study", [("accession", accession)]),
            datasette_json=_datasette("study.json", [("accession", accession), *objects]),
            note="Datasette: a canned query returning the study row with its children as nested JSON columns.",
        ),
        Query(
            "e",
            "100 studies: ours as JSON with nested children, Datasette 100 rows",
            ours_html="/studies/?page_size=100",
            ours_json="/api/v1/studies/?page_size=100&expand=children",
            datasette_html=_datasette("studies", [*newest, ("_size", "100")]),
            datasette_json=_datasette("studies.json", [*newest, ("_size", "100"), *objects]),
        ),
    ]


def csv_urls() -> dict[str, tuple[str, str]]:
    """(f): name -> (our URL, Datasette's URL), streamed CSV."""
    return {
        "filtered": (
            f"/api/v1/studies/?condition={CONDITION}&format=csv",
            _datasette(
                "studies.csv", [_through("study_condition_closure", "condition", CONDITION), ("_stream", "on"), ("_size", "max")]
            ),
        ),
        "all": ("/api/v1/studies/?format=csv", _datasette("studies.csv", [("_stream", "on"), ("_size", "max")])),
    }


def pick_accession() -> str:
    """A study with more children than most (the 90th percentile of the first thousand synthetic ones),
    else the public study with the most children; the same for the same data."""
    from django.db.models import Count

    from bench.synthetic import synthetic_accession
    from trials import models as m

    public = m.Study.objects.public()
    synthetic = public.filter(accession__gt=synthetic_accession(0)).order_by("accession")[:1000]
    candidates = synthetic or public.order_by("accession")[:1000]
    sized = sorted(
        m.Study.objects.filter(pk__in=[s.pk for s in candidates])
        .annotate(n=Count("outcomes", distinct=True) + Count("adverse_events", distinct=True) + Count("cohorts", distinct=True))
        .values_list("n", "accession")
    )
    return sized[int(len(sized) * 0.9)][1] if sized else ""


def capture(client, url: str) -> dict:
    """GET `url` through Django in-process; the status, size and every SQL statement it ran."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, follow=True)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    final = response.redirect_chain[-1][0] if response.redirect_chain else url
    return {
        "url": final,
        "status": response.status_code,
        "bytes": len(body),
        "sql": [query["sql"] for query in queries.captured_queries],
    }


def run_once(client) -> dict[str, dict]:
    """Every query class of ours once, HTML and JSON, then their SQL replayed once on the same
    database (what the floor measures); returns the captures by "a:html" etc."""
    from django.db import connection

    results = {}
    for query in queries(pick_accession()):
        for kind, url in query.urls().items():
            results[f"{query.key}:{kind}"] = capture(client, url)
    for name, (url, _datasette_url) in csv_urls().items():
        results[f"f:{name}"] = capture(client, url)
    with connection.cursor() as cursor:
        for result in results.values():
            for sql in result["sql"]:
                if sql.lstrip().upper().startswith(("SELECT", "WITH")):
                    cursor.execute(sql)  # no parameters: the captured SQL has them inlined
                    cursor.fetchall()
    return results
