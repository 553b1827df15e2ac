"""Eligibility, sites, organisations, participant flow and baseline: every invariant is refused by the
database (written past `clean()`), by `clean()` on the field to fix, and, across rows, by the document."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials.documents import DocumentError, load_document, parse_document, without_private_contacts
from trials.services import studies as services


def breaks_database(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


@pytest.fixture
def study(db):
    return f.StudyFactory()


@pytest.fixture
def cohort(study):
    return f.CohortFactory(study=study, n_enrolled=10)


def update_study(study, **fields):
    return lambda: m.Study.objects.filter(pk=study.pk).update(**fields)


BROKEN = [
    ("min age without unit", lambda s, co: update_study(s, min_age=18)()),
    ("max age unit without age", lambda s, co: update_study(s, max_age_unit=c.AgeUnit.YEAR)()),
    (
        "min above max in the same unit",
        lambda s, co: update_study(s, min_age=65, min_age_unit="year", max_age=18, max_age_unit="year")(),
    ),
    # 2 years is 730 days, 20 months about 609: ordered in days, not in the numbers as written.
    (
        "min above max across units",
        lambda s, co: update_study(s, min_age=2, min_age_unit="year", max_age=20, max_age_unit="month")(),
    ),
    ("completed above started", lambda s, co: m.Cohort.objects.filter(pk=co.pk).update(n_started=5, n_completed=6)),
    ("completed without started", lambda s, co: m.Cohort.objects.filter(pk=co.pk).update(n_completed=3)),
    ("withdrawal of nobody", lambda s, co: m.Withdrawal.objects.create(cohort=co, reason="death", n=0)),
    ("other reason unexplained", lambda s, co: m.Withdrawal.objects.create(cohort=co, reason="other", n=1)),
    (
        "two lead sponsors",
        lambda s, co: [f.StudyOrganisationFactory(study=s, role="lead_sponsor") for _ in range(2)],
    ),
    (
        "an organisation twice",
        lambda s, co: [
            m.StudyOrganisation.objects.create(study=s, organisation=o, role="collaborator")
            for o in [f.OrganisationFactory(slug="twice")] * 2
        ],
    ),
    ("site without facility", lambda s, co: m.Site.objects.create(study=s, facility="", country="CN")),
    (
        "latitude beyond the pole",
        lambda s, co: m.Site.objects.create(study=s, facility="H", country="CN", latitude=91, longitude=0),
    ),
    ("latitude without longitude", lambda s, co: m.Site.objects.create(study=s, facility="H", country="CN", latitude=30)),
    (
        "public contact with no detail",
        lambda s, co: m.Site.objects.create(study=s, facility="H", country="CN", contact_public=True),
    ),
    ("disease baseline without instrument", lambda s, co: f.BaselineMeasureFactory(cohort=co, kind="instrument", unit="")),
    (
        "age baseline naming an instrument",
        lambda s, co: f.BaselineMeasureFactory(cohort=co, instrument=f.InstrumentFactory(slug="edss")),
    ),
    ("other baseline unlabelled", lambda s, co: f.BaselineMeasureFactory(cohort=co, kind="other")),
    (
        "sex as a mean",
        lambda s, co: f.BaselineMeasureFactory(
            cohort=co, kind="sex", category="female", dispersion_type="", dispersion_value=None
        ),
    ),
    (
        "sex of an unknown category",
        lambda s, co: m.BaselineMeasure.objects.create(cohort=co, kind="sex", statistic="count", category="x", value=3),
    ),
    ("age without unit", lambda s, co: f.BaselineMeasureFactory(cohort=co, unit="")),
    (
        "fractional count",
        lambda s, co: m.BaselineMeasure.objects.create(cohort=co, kind="sex", statistic="count", category="female", value=2.5),
    ),
    (
        "negative count",
        lambda s, co: m.BaselineMeasure.objects.create(cohort=co, kind="sex", statistic="count", category="male", value=-1),
    ),
    (
        "count above measured",
        lambda s, co: m.BaselineMeasure.objects.create(cohort=co, kind="sex", statistic="count", category="male", value=4, n=3),
    ),
    ("SD without value", lambda s, co: f.BaselineMeasureFactory(cohort=co, dispersion_value=None)),
    ("negative SD", lambda s, co: f.BaselineMeasureFactory(cohort=co, dispersion_value=-1)),
    (
        "range upside down",
        lambda s, co: f.BaselineMeasureFactory(
            cohort=co,
            statistic="median",
            dispersion_type="range",
            dispersion_value=None,
            dispersion_lower=70,
            dispersion_upper=30,
        ),
    ),
    (
        "median outside its range",
        lambda s, co: f.BaselineMeasureFactory(
            cohort=co,
            statistic="median",
            dispersion_type="range",
            dispersion_value=None,
            dispersion_lower=30,
            dispersion_upper=50,
        ),
    ),
    ("dispersion numbers without a kind", lambda s, co: f.BaselineMeasureFactory(cohort=co, dispersion_type="")),
]


@pytest.mark.parametrize("make", [make for _, make in BROKEN], ids=[name for name, _ in BROKEN])
def test_database_refuses(study, cohort, make):
    breaks_database(lambda: make(study, cohort))


def test_valid_rows_are_accepted(study, cohort):
    """The rules above refuse only what they should: the valid neighbours of each are stored."""
    update_study(study, min_age=18, min_age_unit="year", max_age=216, max_age_unit="month")()  # 18 years both
    m.Cohort.objects.filter(pk=cohort.pk).update(n_started=10, n_completed=10)
    m.Withdrawal.objects.create(cohort=cohort, reason="other", reason_detail="moved abroad", n=1)
    f.StudyOrganisationFactory(study=study, role="lead_sponsor")
    f.StudyOrganisationFactory(study=study, role="collaborator")
    f.SiteFactory(study=study, contact_public=True, contact_email="trials@example.org")
    m.BaselineMeasure.objects.create(cohort=cohort, kind="sex", statistic="count", category="female", value=4, n=10)
    f.BaselineMeasureFactory(
        cohort=cohort,
        statistic="median",
        dispersion_type="range",
        dispersion_value=None,
        dispersion_lower=30,
        dispersion_upper=70,
    )
    assert study.sites.count() == 1 and cohort.baseline_measures.count() == 2


CLEAN = [
    (m.Study, {"min_age": 18}, "min_age_unit"),
    (m.Study, {"min_age": 2, "min_age_unit": "year", "max_age": 20, "max_age_unit": "month"}, "max_age"),
    (m.Cohort, {"n_started": 5, "n_completed": 6}, "n_completed"),
    (m.Cohort, {"n_completed": 6}, "n_started"),
    (m.Withdrawal, {"reason": "other", "n": 1}, "reason_detail"),
    (m.Withdrawal, {"reason": "death", "n": 0}, "n"),
    (m.Site, {"facility": "H", "country": "CN", "latitude": 30.0}, "longitude"),
    (m.Site, {"facility": "H", "country": "CN", "contact_public": True}, "contact_public"),
    (m.BaselineMeasure, {"kind": "sex", "statistic": "mean", "category": "female", "value": 3}, "statistic"),
    (m.BaselineMeasure, {"kind": "age", "statistic": "mean", "value": 50}, "unit"),
    (m.BaselineMeasure, {"kind": "other", "statistic": "count", "category": "x", "value": 2.5}, "value"),
    (
        m.BaselineMeasure,
        {"kind": "age", "statistic": "mean", "value": 50, "unit": "years", "dispersion_type": "sd"},
        "dispersion_value",
    ),
    (
        m.BaselineMeasure,
        {"kind": "age", "statistic": "median", "value": 80, "unit": "years", "dispersion_type": "range", "dispersion_lower": 30,
         "dispersion_upper": 70},
        "value",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("model", "values", "field"), CLEAN, ids=[f"{m_.__name__}-{fl}" for m_, _v, fl in CLEAN])
def test_clean_names_the_field_to_fix(db, model, values, field):
    instance = model(**values)
    with pytest.raises(ValidationError) as error:
        instance.clean()
    assert field in error.value.message_dict


# --- the document: the new keys round-trip, and the rules across rows -----------------------------------

CLINIC_DOCUMENT = {
    "eligibility_inclusion": "Probable or definite ALS (El Escorial); FVC ≥ 60 %.",
    "eligibility_inclusion_zh": "临床确诊或拟诊ALS",
    "eligibility_exclusion": "Tracheostomy.",
    "min_age": 18,
    "min_age_unit": "year",
    "max_age": 70,
    "max_age_unit": "year",
    "eligible_sex": "all",
    "healthy_volunteers": False,
    "organisations": [{"organisation": "sysu", "role": "lead_sponsor"}],
    "sites": [
        {
            "facility": "Drum Tower Hospital",
            "city": "Nanjing",
            "country": "CN",
            "status": "RECRUITING",
            "contact_name": "Dr Li",
            "contact_role": "Study coordinator",
            "contact_phone": "+86 25 0000 0000",
            "contact_email": "li@example.org",
            "contact_public": False,
        }
    ],
}


def clinic_cohort(**overrides) -> dict:
    cohort = {
        "label": "UC-MSC",
        "role": "experimental",
        "n_enrolled": 29,
        "n_started": 29,
        "n_completed": 26,
        "withdrawals": [{"reason": "lost_to_follow_up", "n": 2}, {"reason": "death", "n": 1}],
        "baseline_measures": [
            {
                "kind": "age",
                "statistic": "mean",
                "value": 51.2,
                "unit": "years",
                "dispersion_type": "sd",
                "dispersion_value": 9.8,
            },
            {"kind": "sex", "statistic": "count", "category": "female", "value": 11},
            {"kind": "sex", "statistic": "count", "category": "male", "value": 18},
            {"kind": "instrument", "instrument": "alsfrs-r", "statistic": "mean", "value": 38.5, "unit": "points"},
        ],
        "interventions": [],
    }
    cohort.update(overrides)
    return cohort


@pytest.fixture
def clinic_vocab(vocab):
    f.OrganisationFactory(slug="sysu", name="Sun Yat-sen University", name_zh="中山大学")


def test_the_document_carries_every_new_field_and_round_trips(clinic_vocab, django_user_model):
    user = django_user_model.objects.create_superuser("curator", password="x")
    document = f.a_document(**CLINIC_DOCUMENT, cohorts=[clinic_cohort()], outcomes=[], adverse_events=[], curation_state=None)
    document.pop("curation_state")
    study = services.study_create(document=document, by=user)

    stored = load_document(study)

    for key, value in CLINIC_DOCUMENT.items():
        if key == "sites":
            assert {k: v for k, v in stored["sites"][0].items() if k != "key"} == {
                **value[0], "facility_zh": "", "latitude": None, "longitude": None,
            }  # fmt: skip
        else:
            assert stored[key] == value, key
    cohort = stored["cohorts"][0]
    assert (cohort["n_started"], cohort["n_completed"]) == (29, 26)
    assert [w["n"] for w in cohort["withdrawals"]] == [2, 1]
    assert [b["kind"] for b in cohort["baseline_measures"]] == ["age", "sex", "sex", "instrument"]
    # The site was placed from the offline gazetteer.
    site = study.sites.get()
    assert round(site.geo_latitude, 1) == 32.1 and round(site.geo_longitude, 1) == 118.8
    # Storing the stored document again changes nothing.
    services.study_update(study=study, document=stored, by=user)
    assert load_document(study) == stored


CROSS_ROW = [
    ({"cohorts": [clinic_cohort(n_completed=27)]}, "cohorts[0].n_started"),
    ({"cohorts": [clinic_cohort(n_started=None, n_completed=None)]}, "cohorts[0].n_started"),
    (
        {
            "cohorts": [
                clinic_cohort(baseline_measures=[{"kind": "sex", "statistic": "count", "category": "female", "value": 30}])
            ]
        },
        "cohorts[0].baseline_measures[0].value",
    ),
    (
        {"sites": [{**CLINIC_DOCUMENT["sites"][0], "country": "JP"}]},
        "sites[0].country",
    ),
    (
        {"organisations": [{"organisation": "sysu", "role": "lead_sponsor"}, {"organisation": "other", "role": "lead_sponsor"}]},
        "organisations[1].role",
    ),
    ({"min_age": 70, "max_age": 18}, "max_age"),
    ({"sites": [{**CLINIC_DOCUMENT["sites"][0], "contact_email": "not an email"}]}, "sites[0].contact_email"),
]


@pytest.mark.parametrize(("overrides", "path"), CROSS_ROW, ids=[path for _, path in CROSS_ROW])
def test_the_document_refuses_what_does_not_add_up(clinic_vocab, overrides, path):
    f.OrganisationFactory(slug="other", name="Other Org")
    document = f.a_document(**{**CLINIC_DOCUMENT, **overrides})
    if "cohorts" in overrides:
        document.update(outcomes=[], adverse_events=[])
    with pytest.raises(DocumentError) as error:
        parse_document(document, restore=True)
    assert path in error.value.errors, error.value.errors


def test_bulk_exports_keep_only_public_registry_contacts():
    private = {**CLINIC_DOCUMENT["sites"][0], "contact_public": False}
    public = {**CLINIC_DOCUMENT["sites"][0], "contact_public": True}

    exported = without_private_contacts({"sites": [private, public]})

    assert exported["sites"][0]["contact_name"] == "" and exported["sites"][0]["contact_email"] == ""
    assert exported["sites"][0]["facility"] == "Drum Tower Hospital"
    assert exported["sites"][1]["contact_email"] == "li@example.org"


def test_the_compare_page_reads_changes_to_sites_sponsors_flow_and_baseline_as_changes(clinic_vocab):
    from trials.documents import document_changes

    old = f.a_document(**CLINIC_DOCUMENT, cohorts=[clinic_cohort()])
    cohort = clinic_cohort(n_completed=25)
    cohort["withdrawals"] = [{"reason": "lost_to_follow_up", "n": 3}, {"reason": "death", "n": 1}]
    new = f.a_document(**{**CLINIC_DOCUMENT, "max_age": 75}, cohorts=[cohort])
    new["sites"] = [{**CLINIC_DOCUMENT["sites"][0], "status": "COMPLETED"}]
    new["organisations"] = []

    changes = {(change.section, change.change, change.label): change for change in document_changes(old, new)}

    assert [f.key for f in changes[("study", "changed", "")].fields] == ["max_age"]
    assert changes[("sites", "changed", "Drum Tower Hospital, Nanjing")].fields[0].new_text == "Completed"
    assert ("organisations", "removed", "Sun Yat-sen University") in changes
    assert changes[("withdrawals", "changed", "Lost to follow-up · UC-MSC")].fields[0].new == 3
    assert ("cohorts", "changed", "UC-MSC") in changes
