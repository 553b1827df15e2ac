"""The bulk dump: gzip JSON Lines with a header, the API's documents line by line, flat memory."""

import gzip
import io
import json
import tracemalloc

from django.core.management import call_command

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.interop import jsonl


def read(body: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(body).decode().splitlines()]


def test_dump_is_the_api_documents_with_a_header(client, curated_dataset):
    f.StudyFactory(curation_state=c.CurationState.DRAFT)  # not public: not dumped
    response = client.get("/api/v1/export/studies.jsonl.gz")
    assert response.status_code == 200
    assert response.streaming
    assert "studies.jsonl.gz" in response["Content-Disposition"]
    header, *documents = read(b"".join(response.streaming_content))
    assert header["format"] == "neurocell-registry/2" and header["jsonl_version"] == 1
    assert header["data_stamp"] and header["studies"] == len(documents) == 20
    for document in documents[:3]:
        assert document == client.get(f"/api/v1/studies/{document['accession']}/").json()
    assert client.get("/api/v1/export/studies.jsonl.gz?format=json").status_code == 400


def test_command_writes_the_same_lines(curated_dataset, tmp_path):
    path = tmp_path / "dump.jsonl.gz"
    call_command("export_studies", str(path), jsonl=True, public=True, stderr=io.StringIO())
    header, *documents = read(path.read_bytes())
    assert header["studies"] == len(documents) == 20
    assert [d["accession"] for d in documents] == sorted(d["accession"] for d in documents)


def peak_bytes(studies: int) -> int:
    tracemalloc.start()
    try:
        total = sum(len(piece) for piece in jsonl.gzipped(jsonl.jsonl_lines(m.Study.objects.public(), chunk=10)))
        assert total > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_registry_grows(db):
    """Four times the studies, about the same peak: memory is that of one chunk, not of the registry."""

    def add(n: int) -> None:
        for _ in range(n):
            cohort = f.CohortFactory(study=f.StudyFactory(brief_summary="x" * 2000))
            f.InterventionFactory(cohort=cohort)

    add(30)
    peak_bytes(30)  # the first run also pays for compiling queries and importing modules
    small = peak_bytes(30)
    add(90)
    large = peak_bytes(120)
    assert large < small * 1.5, (small, large)
