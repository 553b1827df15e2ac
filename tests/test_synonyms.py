"""Free text in the field's words (trials.synonyms): every curated study of a condition is found by each of
its common names, in English and in Chinese, on SQLite and PostgreSQL alike."""

import pytest

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials import synonyms
from trials.filters import StudyFilterSet


def search(q: str, **filters) -> list[str]:
    filterset = StudyFilterSet({"q": q, **filters}, queryset=m.Study.objects.public())
    assert filterset.is_valid(), filterset.errors
    return list(filterset.qs.values_list("accession", flat=True))


def coded(slug: str) -> set[str]:
    ids = m.Condition.objects.get(slug=slug).descendant_ids()
    return set(m.Study.objects.public().filter(study_conditions__condition_id__in=ids).values_list("accession", flat=True))


ALS_NAMES_EN = [
    "ALS",
    "amyotrophic lateral sclerosis",
    "motor neuron disease",
    "motor neurone disease",
    "MND",
    "Lou Gehrig's disease",
]
ALS_NAMES_ZH = ["渐冻症", "肌萎缩侧索硬化", "肌萎缩侧索硬化症", "运动神经元病", "渐冻人"]
STROKE_NAMES_EN = ["stroke", "CVA", "cerebrovascular accident", "Stroke", "STROKE"]
STROKE_NAMES_ZH = ["中风", "脑卒中", "卒中", "脑中风"]


def test_every_curated_als_and_stroke_study_is_found_by_each_english_name(curated_dataset):
    als, stroke = coded("amyotrophic-lateral-sclerosis"), coded("stroke")
    assert (len(als), len(stroke)) == (6, 5)  # stroke includes its narrower ischemic stroke
    for name in ALS_NAMES_EN:
        assert set(search(name)) == als, name
    for name in STROKE_NAMES_EN:
        assert set(search(name)) == stroke, name
    # Phrases: the concept is found inside the words around it.
    for phrase in ("stem cell therapy for ALS", "umbilical cord MSC for ALS"):
        found = set(search(phrase))
        assert found and found <= als, phrase


def test_every_curated_als_and_stroke_study_is_found_by_each_chinese_name(curated_dataset):
    als, stroke = coded("amyotrophic-lateral-sclerosis"), coded("stroke")
    for name in ALS_NAMES_ZH:
        assert set(search(name)) == als, name
    for name in STROKE_NAMES_ZH:
        assert set(search(name)) == stroke, name
    # Chinese has no spaces: the concept is found inside the sentence, the rest segmented.
    for phrase in ("干细胞治疗渐冻症", "渐冻症的干细胞治疗", "脐带间充质干细胞治疗渐冻症"):
        found = set(search(phrase))
        assert found and found <= als, phrase
    # A narrower condition does not bring its broader one.
    assert set(search("脑梗死")) == coded("ischemic-stroke") < stroke
    # Two concepts must both match.
    assert set(search("脐带间充质干细胞 渐冻症")) == {"NCR-000005", "NCR-000007"}  # umbilical-cord MSC studies of ALS


def test_routes_and_cell_categories_are_found_by_their_common_words(curated_dataset):
    public = m.Study.objects.public()
    intrathecal = set(
        public.filter(
            cohorts__interventions__route=c.Route.INTRATHECAL, cohorts__interventions__kind=c.InterventionKind.CELL_PRODUCT
        ).values_list("accession", flat=True)
    )
    assert intrathecal
    assert intrathecal <= set(search("鞘内注射")) and intrathecal <= set(search("intrathecal"))
    msc = set(public.filter(cohorts__interventions__cell_type__category="msc").values_list("accession", flat=True))
    for name in ("MSC", "间充质干细胞", "mesenchymal stromal cells"):
        assert msc <= set(search(name)), name
    # Text naming no concept is searched as it stands.
    assert search("Keio") == ["NCR-000001"]
    assert search("NCT02354625") == ["NCR-000004"]


def test_studies_coded_with_the_concept_rank_first(db):
    condition = f.ConditionFactory(
        slug="amyotrophic-lateral-sclerosis", name="Amyotrophic lateral sclerosis", synonyms="ALS\n渐冻症"
    )
    other = f.ConditionFactory(slug="stroke", name="Stroke")
    mentions = f.StudyFactory(title="A review mentioning ALS among many diseases")
    m.StudyCondition.objects.create(study=mentions, condition=other)
    coded_study = f.StudyFactory(title="Cord blood cells")
    m.StudyCondition.objects.create(study=coded_study, condition=condition)
    assert search("ALS") == [coded_study.accession, mentions.accession]
    assert search("渐冻症") == [coded_study.accession, mentions.accession]  # the concept, by any of its names


def test_latin_terms_match_whole_words_only(db):
    f.ConditionFactory(slug="amyotrophic-lateral-sclerosis", name="Amyotrophic lateral sclerosis", synonyms="ALS")
    f.StudyFactory(title="Clinical trials of cells")  # "trials" and "clinicals" contain "als"
    hit = f.StudyFactory(title="Cells in ALS (a pilot)")
    assert search("ALS") == [hit.accession]


def test_synonyms_edited_in_the_vocabulary_are_searched_at_once(db):
    condition = f.ConditionFactory(slug="parkinson-disease", name="Parkinson's disease")
    study = f.StudyFactory(title="Dopaminergic neurons")
    m.StudyCondition.objects.create(study=study, condition=condition)
    assert search("震颤麻痹") == []
    condition.synonyms = "震颤麻痹"
    condition.save()
    assert search("震颤麻痹") == [study.accession]


def test_the_expansion_names_its_concepts_in_the_readers_language(curated_dataset):
    from django.utils import translation

    expansion = synonyms.expand("渐冻症")
    assert expansion.label() == "Amyotrophic lateral sclerosis"
    with translation.override("zh-hans"):
        assert expansion.label() == "肌萎缩侧索硬化(渐冻症)"
    assert expansion.rest == []


def test_segmentation_splits_chinese_into_words_and_keeps_latin_words():
    assert synonyms.segment(synonyms.normalize("自体骨髓移植 ALSFRS-R score")) == ["自体", "骨髓移植", "alsfrs-r", "score"]


def test_the_pattern_matches_alike_in_python():
    import re

    pattern = synonyms.text_pattern({"als", "motor neuron disease", "渐冻症", "c++"})
    assert re.search("(?i)" + pattern, "Patients with ALS.")
    assert re.search("(?i)" + pattern, "渐冻症患者")
    assert not re.search("(?i)" + pattern, "clinical trials")
    assert re.search("(?i)" + pattern, "uses c++ here")


@pytest.mark.parametrize("count", [2, 20])
def test_a_concept_search_page_runs_a_fixed_number_of_queries(client, db, django_assert_num_queries, count):
    from tests.test_views import SEARCH_PAGE

    for _ in range(count):
        f.full_study()
    # The search page's queries, and one more: the lexicon (every vocabulary's terms, one UNION query),
    # read once per request however often the facets re-apply the filter.
    with django_assert_num_queries(SEARCH_PAGE + 1):
        html = client.get("/studies/", {"q": "amyotrophic lateral sclerosis"}).content.decode()
    assert html.count('class="result"') == count
    assert "Showing studies about <strong>Amyotrophic lateral sclerosis</strong>" in html


def test_code_synonyms_name_a_code_of_their_list(db):
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    assert m.CodeSynonyms.objects.filter(vocabulary="route", code="intrathecal").exists()  # seeded by the migration
    wrong = m.CodeSynonyms(vocabulary="route", code="msc", synonyms="MSC")
    with pytest.raises(ValidationError) as error:
        wrong.full_clean()
    assert "code" in error.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        wrong.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        m.CodeSynonyms.objects.create(vocabulary="route", code="intrathecal", synonyms="again")


def test_curators_edit_synonyms_in_the_admin(admin_client, db):
    condition = f.ConditionFactory(slug="stroke", name="Stroke")
    page = admin_client.get(f"/admin/trials/condition/{condition.pk}/change/").content.decode()
    assert 'name="synonyms"' in page
    assert admin_client.get("/admin/trials/codesynonyms/").status_code == 200
