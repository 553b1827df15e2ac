"""The documented logical backup: `export_studies`, then `import_studies` into an empty registry,
gives back the same public pages and API answers."""

import contextlib
import json
import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import ProtectedError
from django.utils import translation

from trials.documents import study_document
from trials.models import Study
from trials.services.studies import study_import


@pytest.fixture(autouse=True)
def default_language_afterwards():
    """Pages requested in Chinese leave Chinese active in this thread (LocaleMiddleware never resets
    it): later tests that render without a request must not inherit it."""
    yield
    translation.deactivate()


# What may differ without being data: per-request CSRF tokens (the language switcher's forms), and
# element ids built from database keys (`cohort-<pk>`: a restore assigns new keys; they only tie a
# heading to its section).
VOLATILE = [
    (re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"'), ""),
    (re.compile(r'"cohort-\d+"'), '"cohort-ID"'),
]


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    for pattern, replacement in VOLATILE:
        html = pattern.sub(replacement, html)
    return html


def api(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.json()


def what_readers_see(client, accessions: list[str]) -> dict:
    seen = {
        "api list": api(client, "/api/v1/studies/?page_size=100"),
        "list page": page(client, "/studies/"),
        "list page zh": page(client, "/zh-hans/studies/"),
    }
    for accession in accessions:
        seen[f"api {accession}"] = api(client, f"/api/v1/studies/{accession}/")
        seen[f"api versions {accession}"] = api(client, f"/api/v1/studies/{accession}/versions/")
        seen[f"page {accession}"] = page(client, f"/studies/{accession}/")
        seen[f"page zh {accession}"] = page(client, f"/zh-hans/studies/{accession}/")
    return seen


def empty_the_registry() -> None:
    """Delete every row of every registry table (studies, their children, vocabularies, history):
    what a new, empty database holds. Users and roles stay, as they are not part of the export."""
    models = list(apps.get_app_config("trials").get_models())
    for _round in range(len(models) + 1):
        for model in models:
            try:
                model._base_manager.all().delete()
            except ProtectedError:
                # Still referenced (by a row of a later model, or a broader condition by a narrower
                # one): delete what can go now, the rest in a later round.
                for row in model._base_manager.all():
                    with contextlib.suppress(ProtectedError):
                        row.delete()
        # Deleting a tracked row writes a history row: go round until nothing is left.
        if not any(model._base_manager.exists() for model in models):
            return
    left = [model.__name__ for model in models if model._base_manager.exists()]
    pytest.fail(f"Could not empty the registry tables: {left}")


def test_export_then_import_into_an_empty_registry_gives_the_same_pages_and_api(client, curated_dataset, tmp_path):
    accessions = list(Study.objects.public().order_by("accession").values_list("accession", flat=True))
    assert accessions, "the curated dataset has public studies"
    edited = study_document(Study.objects.get(accession=accessions[0]))
    study_import(document={**edited, "acronym": "EDITED"})  # published version 2, updated later than the rest
    before = what_readers_see(client, accessions)
    backup = tmp_path / "registry-backup.json"
    call_command("export_studies", str(backup))

    empty_the_registry()
    assert api(client, "/api/v1/studies/")["count"] == 0
    call_command("import_studies", str(backup), verbosity=0)

    after = what_readers_see(client, accessions)
    assert after[f"api {accessions[0]}"]["version"] == 2
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] == before[key], key
    # And the restored registry backs up to the same documents. (Not the same change log: that is
    # exported as a readable record, and a restore starts the live history afresh; see trials/backup.py.)
    again = tmp_path / "again.json"
    call_command("export_studies", str(again))
    documents = [{k: v for k, v in json.loads(path.read_text()).items() if k != "records"} for path in (backup, again)]
    assert documents[0] == documents[1]
