"""Public version history: the current record, every published version frozen, and their difference."""

import pytest
from django.contrib.auth.models import Group, User

from tests import factories as f
from trials import choices as c
from trials import services as s
from trials.api.serializers import document_queryset, study_document


@pytest.fixture
def reviewer(db):
    user = User.objects.create_user("reviewer")
    user.groups.add(Group.objects.get(name="reviewer"))
    return user


@pytest.fixture
def corrected_study(reviewer):
    """Published as version 1, then corrected through a reviewed revision as version 2."""
    study = f.full_study(title="Original title", curation_state=c.CurationState.IN_REVIEW)
    s.study_publish(study=study, by=reviewer, note="First release")
    revision = s.study_start_revision(study=study, by=reviewer)
    document = study_document(document_queryset().get(pk=revision.pk))
    document["title"] = "Corrected title"
    s.study_save_document(document=document, study=revision, by=reviewer)
    s.study_submit(study=revision, by=reviewer)
    s.study_publish(study=revision, by=reviewer, note="Corrected the title")
    return study


def test_versions_page_lists_every_published_version(client, corrected_study):
    page = client.get(f"/studies/{corrected_study.accession}/versions/").content.decode()
    assert "Version 2" in page and "Version 1" in page
    assert "Corrected the title" in page and "First release" in page


def test_a_past_version_shows_what_was_published_then(client, corrected_study):
    page = client.get(f"/studies/{corrected_study.accession}/versions/1/").content.decode()
    assert "Original title" in page
    assert "Corrected title" not in page
    assert "version 1 of this record" in page
    assert "The latest version is 2." in page


def test_compare_shows_the_changed_fields(client, corrected_study):
    page = client.get(f"/studies/{corrected_study.accession}/versions/compare/?from=1&to=2").content.decode()
    assert "<code>title</code>" in page
    assert "<del>Original title</del>" in page
    assert "<ins>Corrected title</ins>" in page


def test_version_pages_are_in_chinese_too(client, corrected_study):
    response = client.get(f"/zh-hans/studies/{corrected_study.accession}/versions/")
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode().lower()


@pytest.mark.parametrize("state", [c.CurationState.DRAFT, c.CurationState.IN_REVIEW])
def test_private_studies_have_no_public_versions(client, db, state):
    study = f.full_study(curation_state=state)
    for url in ["versions/", "versions/1/", "versions/compare/?from=1&to=1"]:
        assert client.get(f"/studies/{study.accession}/{url}").status_code == 404


def test_unknown_versions_are_not_found(client, corrected_study):
    assert client.get(f"/studies/{corrected_study.accession}/versions/9/").status_code == 404
    assert client.get(f"/studies/{corrected_study.accession}/versions/compare/?from=1&to=9").status_code == 404
    assert client.get(f"/studies/{corrected_study.accession}/versions/compare/?from=x").status_code == 404
