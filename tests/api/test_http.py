"""HTTP done right: ETags and conditional requests, one JSON error shape, throttling, CORS, the schema."""

import pytest
from django.core.cache import cache
from drf_spectacular.validation import validate_schema

from tests import factories as f
from tests.api.conftest import minimal_document
from trials import choices as c
from trials import models as m

READS = [
    "/api/v1/",
    "/api/v1/version/",
    "/api/v1/studies/",
    "/api/v1/studies/?expand=children",
    "/api/v1/studies/facets/",
    "/api/v1/studies/{accession}/",
    "/api/v1/studies/{accession}/versions/",
    "/api/v1/studies/{accession}/versions/1/",
    "/api/v1/conditions/",
    "/api/v1/cell-types/",
    "/api/v1/instruments/",
    "/api/v1/outcomes/",
    "/api/v1/adverse-events/",
    "/api/v1/studies/?format=csv",
    "/api/v1/outcomes/?format=csv",
]


@pytest.fixture
def versioned(published):
    m.StudyVersion.objects.create(study=published, number=1, document={"title": published.title})
    return published


@pytest.mark.parametrize("path", READS)
def test_every_read_is_tagged_and_answers_304_when_unchanged(anon, versioned, path):
    path = path.format(accession=versioned.accession)
    response = anon.get(path)
    assert response.status_code == 200
    etag = response["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        not_modified = anon.get(path, HTTP_IF_NONE_MATCH=header)
        assert not_modified.status_code == 304, header
        assert not_modified["ETag"] == etag
        assert not_modified.content == b""
    assert anon.get(path, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_study_etag_is_its_accession_and_edit_count(anon, curator, draft):
    path = f"/api/v1/studies/{draft.accession}/"
    assert curator.get(path)["ETag"] == f'"{draft.accession}-e1"'
    assert curator.patch(path, {"title": "New"}, format="json")["ETag"] == f'"{draft.accession}-e2"'
    assert curator.get(path)["ETag"] == f'"{draft.accession}-e2"'


def test_list_etag_changes_when_a_listed_study_changes(anon, published):
    etag = anon.get("/api/v1/studies/")["ETag"]
    m.Study.objects.filter(pk=published.pk).update(title="Renamed")
    response = anon.get("/api/v1/studies/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_list_etag_depends_on_the_query(anon, published):
    assert anon.get("/api/v1/studies/?phase=phase1")["ETag"] != anon.get("/api/v1/studies/?phase=phase2")["ETag"]


# --- If-Match -----------------------------------------------------------------------------------------


def write(client, method: str, study: m.Study, **headers):
    path = f"/api/v1/studies/{study.accession}/"
    if method == "delete":
        return client.delete(path, **headers)
    body = {"title": "Changed"} if method == "patch" else minimal_document(title="Changed")
    return getattr(client, method)(path, body, format="json", **headers)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_stale_if_match_is_412_and_changes_nothing(curator, draft, method):
    m.Study.objects.filter(pk=draft.pk).update(edit_count=2)  # someone saved after we read version 1
    response = write(curator, method, draft, HTTP_IF_MATCH=f'"{draft.accession}-e1"')
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "precondition_failed"
    draft.refresh_from_db()
    assert (draft.title, draft.edit_count) == (m.Study.objects.get(pk=draft.pk).title, 2)
    assert draft.title != "Changed"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("header", ['"{accession}-e1"', '"stale", "{accession}-e1"', "*"])
def test_current_if_match_lets_the_write_through(curator, draft, method, header):
    response = write(curator, method, draft, HTTP_IF_MATCH=header.format(accession=draft.accession))
    assert response.status_code in (200, 204)


@pytest.mark.parametrize("header", ['W/"{accession}-e1"', "{accession}-e1", ""])
def test_weak_or_malformed_if_match_never_matches(curator, draft, header):
    assert write(curator, "patch", draft, HTTP_IF_MATCH=header.format(accession=draft.accession)).status_code == 412


def test_if_none_match_star_refuses_to_overwrite(curator, draft):
    assert write(curator, "put", draft, HTTP_IF_NONE_MATCH="*").status_code == 412


def test_read_modify_write_with_the_etag(curator, draft):
    """The integrator's loop: GET, change, PUT with If-Match; a second PUT with the same tag fails."""
    path = f"/api/v1/studies/{draft.accession}/"
    read = curator.get(path)
    document = {**read.json(), "acronym": "MSC-1"}
    first = curator.put(path, document, format="json", HTTP_IF_MATCH=read["ETag"])
    assert first.status_code == 200
    second = curator.put(path, {**document, "acronym": "MSC-2"}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert second.status_code == 412
    assert curator.get(path).json()["acronym"] == "MSC-1"


# --- one error shape -------------------------------------------------------------------------------


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"status", "code", "message", "fields"}
    assert error["status"] == status
    assert error["message"]
    return error


def test_400(anon, db):
    error = error_of(anon.get("/api/v1/studies/?status=DONE"), 400)
    assert error["code"] == "invalid"
    assert error["fields"] == {"status": ["Select a valid choice. DONE is not one of the available choices."]}


def test_400_for_a_document_names_nested_paths(curator, db):
    document = minimal_document()
    document["cohorts"][0]["interventions"][0]["donor"] = ""
    error = error_of(curator.post("/api/v1/studies/", document, format="json"), 400)
    assert list(error["fields"]) == ["cohorts[0].interventions[0].donor"]


def test_400_malformed_json(curator, db):
    error = error_of(curator.generic("POST", "/api/v1/studies/", "{", content_type="application/json"), 400)
    assert error["code"] == "parse_error"


def test_401(anon, db):
    assert error_of(anon.post("/api/v1/studies/", {}, format="json"), 401)["code"] == "not_authenticated"


def test_401_bad_token(anon, db):
    anon.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert error_of(anon.get("/api/v1/studies/"), 401)["code"] == "authentication_failed"


def test_403(reader, db):
    assert error_of(reader.post("/api/v1/studies/", {}, format="json"), 403)["code"] == "permission_denied"


def test_404(anon, db):
    assert error_of(anon.get("/api/v1/studies/NCR-000404/"), 404)["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v2/studies/", "/api/", "/api/v1/studies/not-an-accession/"])
def test_404_outside_any_view_is_json_too(anon, db, path):
    assert error_of(anon.get(path), 404)["code"] == "not_found"


def test_a_missing_trailing_slash_redirects_reads_and_explains_writes(anon, curator, db):
    redirect = anon.get("/api/v1/studies?phase=phase1")
    assert redirect.status_code == 301
    assert redirect["Location"] == "/api/v1/studies/?phase=phase1"
    error = error_of(curator.post("/api/v1/studies", {}, format="json"), 404)
    assert "/api/v1/studies/" in error["message"]


def test_405(anon, curator, db):
    assert error_of(anon.delete("/api/v1/conditions/"), 405)["code"] == "method_not_allowed"
    assert error_of(curator.put("/api/v1/studies/", {}, format="json"), 405)["code"] == "method_not_allowed"


def test_406(anon, db):
    assert error_of(anon.get("/api/v1/studies/?format=xml"), 406)["code"] == "not_acceptable"


def test_409(reviewer, published):
    assert error_of(reviewer.delete(f"/api/v1/studies/{published.accession}/"), 409)["code"] == "conflict"


def test_412(curator, draft):
    error = error_of(write(curator, "delete", draft, HTTP_IF_MATCH='"NCR-000000-e9"'), 412)
    assert error["code"] == "precondition_failed"


def test_415(curator, db):
    error = error_of(curator.post("/api/v1/studies/", {"title": "x"}), 415)  # multipart, not JSON
    assert error["code"] == "unsupported_media_type"


def test_429_with_retry_after(anon, curator, published, settings):
    settings.API_ANON_RATE = "2/min"
    cache.clear()
    assert [anon.get("/api/v1/studies/").status_code for _ in range(2)] == [200, 200]
    response = anon.get("/api/v1/studies/")
    assert error_of(response, 429)["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert curator.get("/api/v1/studies/").status_code == 200  # signed-in clients are not limited


def test_throttling_can_be_switched_off(anon, db, settings):
    settings.API_ANON_RATE = "off"
    assert {anon.get("/api/v1/version/").status_code for _ in range(5)} == {200}


# --- CORS --------------------------------------------------------------------------------------------


def test_cors_is_open_for_reads_and_exposes_the_etag(anon, published):
    response = anon.get("/api/v1/studies/", HTTP_ORIGIN="https://dashboard.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]


def test_cors_preflight_allows_conditional_gets_only(anon, db):
    response = anon.options(
        "/api/v1/studies/",
        HTTP_ORIGIN="https://dashboard.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match",
    )
    assert response.status_code == 200
    assert "if-none-match" in response["Access-Control-Allow-Headers"]
    assert "POST" not in response["Access-Control-Allow-Methods"]


# --- schema and docs ------------------------------------------------------------------------------


def test_openapi_schema_is_valid_and_documents_errors_and_conditional_requests(anon, curated_dataset):
    response = anon.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    studies = schema["paths"]["/api/v1/studies/"]
    assert {"400", "404", "406", "429", "304"} <= set(studies["get"]["responses"])
    assert studies["get"]["responses"]["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "ETag" in studies["get"]["responses"]["200"]["headers"]
    parameters = {parameter["name"]: parameter for parameter in studies["get"]["parameters"]}
    assert "spinal-cord-injury" in parameters["condition"]["schema"]["items"]["enum"]
    assert {"If-Match"} <= {p["name"] for p in schema["paths"]["/api/v1/studies/{accession}/"]["put"]["parameters"]}
    assert "409" in schema["paths"]["/api/v1/studies/{accession}/"]["delete"]["responses"]


def test_schema_declares_the_search_pages_parameters(anon, db):
    from trials.filters import StudyFilterSet

    parameters = {
        parameter["name"]
        for parameter in anon.get("/api/v1/schema/?format=json").json()["paths"]["/api/v1/studies/"]["get"]["parameters"]
    }
    assert set(StudyFilterSet.base_filters) | {"page", "page_size", "fields", "format", "expand"} <= parameters


def test_swagger_ui_is_served_with_self_hosted_assets(anon, db):
    response = anon.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/api/v1/schema/" in html


def test_retracted_study_is_served_with_its_state(anon, db):
    study = f.StudyFactory(curation_state=c.CurationState.RETRACTED)
    assert anon.get("/api/v1/studies/").json()["results"][0]["curation_state"] == "retracted"
    assert anon.get(f"/api/v1/studies/{study.accession}/")["ETag"] == f'"{study.accession}-e1"'


def test_not_modified_repeats_the_validators_and_vary(curator, draft):
    path = f"/api/v1/studies/{draft.accession}/"
    response = curator.get(path, HTTP_IF_NONE_MATCH=f'"{draft.accession}-e1"')
    assert response.status_code == 304
    assert response["ETag"] == f'"{draft.accession}-e1"'
    assert "Authorization" in response["Vary"]
