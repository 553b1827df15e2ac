"""Atom and RSS feeds of newly published and updated studies for any search (trials/views/feeds.py)."""

import feedparser
import pytest
from django.contrib.auth.models import Group, User

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.documents import load_document
from trials.services import studies, workflow


@pytest.fixture
def people(db):
    curator, reviewer = User.objects.create_user("curator"), User.objects.create_user("reviewer")
    curator.groups.add(Group.objects.get(name="curator"))
    reviewer.groups.add(Group.objects.get(name="reviewer"))
    return curator, reviewer


def publish(reviewer, **fields):
    study = f.full_study(curation_state=c.CurationState.IN_REVIEW, **fields)
    workflow.study_publish(study=study, by=reviewer, note="First release")
    return study


def revise(study, change, *, curator, reviewer):
    revision = workflow.study_start_revision(study=study, by=curator)
    document = load_document(revision)
    change(document)
    studies.study_update(study=revision, document=document, by=curator)
    workflow.study_submit(study=revision, by=curator)
    workflow.study_publish(study=revision, by=reviewer, note="Corrected")


@pytest.fixture
def updated(people):
    curator, reviewer = people
    study = publish(reviewer, title="Umbilical cord MSC in ALS", enrollment=20, enrollment_type="actual")
    revise(study, lambda d: d.update(enrollment=24), curator=curator, reviewer=reviewer)
    return study


def test_the_atom_feed_lists_new_and_updated_versions_with_what_changed(client, updated):
    response = client.get("/studies/feed/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    titles = [entry.title for entry in feed.entries]
    assert titles == [
        f"{updated.accession} · Umbilical cord MSC in ALS (version 2)",
        f"{updated.accession} · Umbilical cord MSC in ALS (version 1)",
    ]
    newest, first = feed.entries
    assert "enrollment: 20 → 24" in newest.summary
    assert "First published in the registry." in first.summary
    assert newest.link.endswith(f"/studies/{updated.accession}/versions/2/")


def test_the_feed_follows_the_searchs_own_parameters(client, people):
    _curator, reviewer = people
    als = publish(reviewer, title="Cord cells in motor neuron disease")
    other = publish(reviewer, title="Another study")
    other.study_conditions.update(condition=f.ConditionFactory(slug="stroke", name="Stroke"))
    m.Condition.objects.filter(slug="amyotrophic-lateral-sclerosis").update(synonyms="ALS\n渐冻症\nmotor neuron disease")
    feed = feedparser.parse(client.get("/studies/feed/", {"q": "渐冻症"}).content)
    assert [entry.title.split(" · ")[0] for entry in feed.entries] == [als.accession]
    assert "Amyotrophic lateral sclerosis" in feed.feed.title
    hit = feedparser.parse(client.get("/studies/feed/", {"condition": "stroke"}).content)
    assert [entry.title.split(" · ")[0] for entry in hit.entries] == [other.accession]


def test_rss_too_and_in_chinese(client, updated):
    rss = feedparser.parse(client.get("/studies/feed/rss/").content)
    assert rss.version == "rss20" and len(rss.entries) == 2
    zh = feedparser.parse(client.get("/zh-hans/studies/feed/").content)
    assert not zh.bozo
    assert zh.feed.title == "NeuroCell 注册库:新增和更新的研究"
    assert "第2版" in zh.entries[0].title
    assert "相对第1版的改动" in zh.entries[0].summary


def test_unpublished_studies_are_not_in_the_feed(client, db):
    f.full_study(curation_state=c.CurationState.DRAFT)
    assert feedparser.parse(client.get("/studies/feed/").content).entries == []


def test_a_bad_parameter_is_a_400_naming_the_field(client, db):
    response = client.get("/studies/feed/", {"start_year_min": "soon"})
    assert response.status_code == 400
    assert "start_year_min" in response.content.decode()


def test_the_search_page_links_its_feed(client, updated):
    html = client.get("/studies/", {"q": "ALS"}).content.decode()
    assert '<link rel="alternate" type="application/atom+xml"' in html
    assert 'href="/studies/feed/?q=ALS"' in html
    assert 'href="/studies/feed/rss/?q=ALS"' in html


@pytest.mark.parametrize("count", [2, 20])
def test_the_feed_runs_a_fixed_number_of_queries(client, people, django_assert_num_queries, count):
    curator, reviewer = people
    published = [publish(reviewer) for _ in range(count)]
    revise(published[0], lambda d: d.update(enrollment=99, enrollment_type="actual"), curator=curator, reviewer=reviewer)
    # 1 the matching versions (the studies' filter as a subquery), 2 the versions before them, 3-4 the
    # vocabularies the changes are named with (conditions, instruments: once for the whole feed)
    with django_assert_num_queries(4):
        feed = feedparser.parse(client.get("/studies/feed/").content)
    assert len(feed.entries) == count + 1
