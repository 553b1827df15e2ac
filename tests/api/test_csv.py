"""`format=csv`: the JSON keys as columns, the same values, every page, streamed."""

import csv
import datetime as dt
import io

import pytest
from rest_framework.request import Request

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.api import csv as api_csv
from trials.api.serializers import StudySummarySerializer, summary_queryset, summary_rows

LISTS = [
    "/api/v1/studies/",
    "/api/v1/outcomes/",
    "/api/v1/adverse-events/",
    "/api/v1/conditions/",
    "/api/v1/cell-types/",
    "/api/v1/instruments/",
]


def read_csv(response) -> tuple[list[str], list[dict]]:
    assert response.status_code == 200, response.content
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))
    return reader.fieldnames, list(reader)


def as_cells(item: dict) -> dict:
    """A JSON item spelled as the documented CSV cells."""
    cells = {}
    for key, value in item.items():
        if isinstance(value, dict):  # an object becomes its dotted columns
            cells.update({f"{key}.{inner}": cell for inner, cell in as_cells(value).items()})
        elif value is None:
            cells[key] = ""
        elif isinstance(value, bool):
            cells[key] = "true" if value else "false"
        elif isinstance(value, list):
            cells[key] = "|".join(value)
        else:
            cells[key] = str(value)
    return cells


@pytest.fixture
def several(db):
    studies = [f.full_study(enrollment=n, enrollment_type=c.EnrollmentType.ACTUAL) for n in (30, 10, 20)]
    m.StudyCountry.objects.create(study=studies[0], country="US")  # a list of two: "CN|US"
    f.ConditionFactory(slug="stroke", name="Stroke", parent=m.Condition.objects.get(slug="amyotrophic-lateral-sclerosis"))
    f.InstrumentFactory(slug="nihss", name="NIHSS", range_min=0, range_max=42)
    return studies


@pytest.mark.parametrize("path", LISTS)
def test_csv_has_the_json_keys_and_values_of_every_page(anon, several, path):
    items = anon.get(f"{path}?page_size=1000").json()["results"]
    columns, rows = read_csv(anon.get(f"{path}?format=csv&page_size=1&page=2"))
    assert columns == list(as_cells(items[0]))
    assert rows == [as_cells(item) for item in items]


def test_study_csv_spells_lists_flags_numbers_and_nulls_as_documented(anon, several):
    _columns, rows = read_csv(anon.get("/api/v1/studies/?format=csv&ordering=-enrollment"))
    first = rows[0]
    assert (first["countries"], first["has_results"], first["enrollment"], first["start_date"]) == ("CN|US", "true", "30", "")


def test_number_cells_are_written_as_json_writes_them(anon, several):
    _columns, rows = read_csv(anon.get("/api/v1/instruments/?format=csv&fields=slug,range_max"))
    assert {"slug": "nihss", "range_max": "42.0"} in rows
    assert api_csv.cell(1e-7) == "1e-07"


def test_the_search_pages_download_link_works_with_its_parameters(anon, several):
    """The page links "Download CSV" to its own query string plus format=csv, `page` included."""
    query = "condition=amyotrophic-lateral-sclerosis&phase=phase1&has_serious_ae=true&q=study&ordering=-enrollment&page=2"
    _columns, rows = read_csv(anon.get(f"/api/v1/studies/?{query}&format=csv"))
    assert [row["enrollment"] for row in rows] == ["30", "20", "10"]


def test_csv_with_fields(anon, several):
    columns, rows = read_csv(anon.get("/api/v1/adverse-events/?format=csv&fields=study,term,n_affected"))
    assert columns == ["study", "term", "n_affected"]
    assert rows[0] == {"study": several[0].accession, "term": "Death", "n_affected": "1"}


def test_accept_header_asks_for_csv_too(anon, several):
    columns, _rows = read_csv(anon.get("/api/v1/conditions/", HTTP_ACCEPT="text/csv"))
    assert columns[0] == "slug"


def test_csv_is_a_download_named_after_the_list(anon, several):
    assert anon.get("/api/v1/adverse-events/?format=csv")["Content-Disposition"] == 'attachment; filename="adverse-events.csv"'


def test_rows_are_prefetched_chunk_by_chunk(anon, several, monkeypatch):
    monkeypatch.setattr(api_csv, "CHUNK_SIZE", 2)
    items = anon.get("/api/v1/outcomes/?page_size=1000").json()["results"]
    _columns, rows = read_csv(anon.get("/api/v1/outcomes/?format=csv"))
    assert len(rows) > 2 and rows == [as_cells(item) for item in items]


def test_the_study_csvs_fast_rows_are_the_serializers_items(rf, several):
    """The whole-registry CSV builds rows from tuples; they must be exactly the API's JSON items."""
    first, second, third = several
    second.start_date, second.start_date_precision = dt.date(2019, 6, 1), c.DatePrecision.MONTH
    second.completion_date, second.completion_date_precision = dt.date(2021, 1, 1), c.DatePrecision.YEAR
    second.acronym, second.phase = "", ""
    second.save()
    cohort = f.CohortFactory(study=third, label="Second arm")
    f.InterventionFactory(cohort=cohort, cell_type=f.CellTypeFactory(slug="bone-marrow-msc"), donor=c.Donor.ALLOGENEIC)
    f.InterventionFactory(cohort=cohort, kind=c.InterventionKind.DRUG, cell_type=None, donor="", source_tissue="", route="")
    m.StudyCondition.objects.create(study=third, condition=m.Condition.objects.get(slug="stroke"))
    request = Request(rf.get("/api/v1/studies/"))
    queryset = summary_queryset(m.Study.objects.public()).order_by("accession")

    expected = StudySummarySerializer(queryset, many=True, context={"request": request}).data
    fast = list(summary_rows(queryset, context={"request": request}, chunk_size=2))

    assert fast == [dict(item) for item in expected]
    assert fast[2]["cell_types"] == ["umbilical-cord-msc", "bone-marrow-msc"] and fast[1]["start_date"] == "2019-06"


def test_expanded_documents_are_json_only(anon, several):
    response = anon.get("/api/v1/studies/?format=csv&expand=children")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "expand" in response.json()["error"]["fields"]


def test_errors_of_a_csv_request_are_json(anon, several):
    response = anon.get("/api/v1/outcomes/?format=csv&phase=phase9")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["fields"] == {"phase": ["Select a valid choice. phase9 is not one of the available choices."]}


def test_csv_is_only_offered_on_lists(anon, several):
    response = anon.get(f"/api/v1/studies/{several[0].accession}/?format=csv")
    assert response.status_code == 406
    assert response.json()["error"]["code"] == "not_acceptable"


def test_csv_etag_changes_with_the_data_and_not_with_the_page(anon, several):
    etag = anon.get("/api/v1/studies/?format=csv")["ETag"]
    assert anon.get("/api/v1/studies/?format=csv&page=2")["ETag"] == etag
    assert anon.get("/api/v1/studies/?format=csv", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert anon.get("/api/v1/studies/?format=csv&phase=phase1")["ETag"] != etag
    f.StudyFactory()
    assert anon.get("/api/v1/studies/?format=csv")["ETag"] != etag
