"""Every invariant is enforced by the database (tried here by writing past `clean()`), and `clean()`
reports the same rule against the field a curator has to fix."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests import factories as f
from trials import choices as c
from trials import models as m


def breaks_database(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


@pytest.fixture
def study(db):
    return f.StudyFactory()


@pytest.fixture
def cohort(study):
    return f.CohortFactory(study=study)


# (description, function(study, cohort) that writes a row breaking one rule)
VIOLATIONS = [
    (
        "condition is its own parent",
        lambda s, k: m.Condition.objects.filter(slug="loop").update(parent_id=f.ConditionFactory(slug="loop").pk),
    ),
    ("instrument range inverted", lambda s, k: f.InstrumentFactory(range_min=10, range_max=1)),
    ("study date without precision", lambda s, k: f.StudyFactory(start_date=dt.date(2020, 1, 1))),
    ("study precision without date", lambda s, k: f.StudyFactory(overall_status="UNKNOWN", completion_date_precision="year")),
    (
        "completion before start",
        lambda s, k: f.StudyFactory(
            start_date=dt.date(2020, 5, 1),
            start_date_precision="day",
            completion_date=dt.date(2019, 1, 1),
            completion_date_precision="day",
        ),
    ),
    ("enrollment without type", lambda s, k: f.StudyFactory(enrollment=10)),
    ("enrollment type without number", lambda s, k: f.StudyFactory(enrollment_type="actual")),
    ("phase on a case report", lambda s, k: f.StudyFactory(study_type=c.StudyType.CASE_REPORT, phase=c.Phase.PHASE2)),
    ("negative follow-up", lambda s, k: f.StudyFactory(follow_up_months=-1)),
    ("malformed accession", lambda s, k: f.StudyFactory(accession="NCR-12")),
    ("duplicate accession", lambda s, k: f.StudyFactory(accession=s.accession)),
    ("negative enrollment", lambda s, k: m.Study.objects.filter(pk=s.pk).update(enrollment=-5, enrollment_type="actual")),
    (
        "condition listed twice",
        lambda s, k: [m.StudyCondition.objects.create(study=s, condition=f.ConditionFactory(slug="x")) for _ in range(2)],
    ),
    ("country listed twice", lambda s, k: [m.StudyCountry.objects.create(study=s, country="CN") for _ in range(2)]),
    (
        "milestone date without precision",
        lambda s, k: m.RegulatoryMilestone.objects.create(study=s, kind="ind_cleared", agency="FDA", date=dt.date(2018, 1, 1)),
    ),
    (
        "registry id used by two studies",
        lambda s, k: [f.RegistryIdentifierFactory(study=f.StudyFactory(), value="NCT01234567") for _ in range(2)],
    ),
    ("empty registry id", lambda s, k: f.RegistryIdentifierFactory(study=s, registry="other", value="")),
    ("malformed NCT id", lambda s, k: f.RegistryIdentifierFactory(study=s, value="NCT123")),
    ("publication date without precision", lambda s, k: f.PublicationFactory(study=s, date=dt.date(2020, 1, 1))),
    ("malformed DOI", lambda s, k: f.PublicationFactory(study=s, doi="doi.org/10.1/x")),
    ("malformed PMCID", lambda s, k: f.PublicationFactory(study=s, pmcid="9360180")),
    ("same DOI twice in a study", lambda s, k: [f.PublicationFactory(study=s, doi="10.1000/same") for _ in range(2)]),
    (
        "source document twice",
        lambda s, k: [m.Source.objects.create(study=s, document=f.SourceDocumentFactory(key="d")) for _ in range(2)],
    ),
    ("cohort label twice", lambda s, k: f.CohortFactory(study=s, label=k.label)),
    ("more analysed than enrolled", lambda s, k: f.CohortFactory(study=s, n_enrolled=5, n_analysed=6)),
    ("cell product without cell type", lambda s, k: f.InterventionFactory(cohort=k, cell_type=None)),
    ("cell product without donor", lambda s, k: f.InterventionFactory(cohort=k, donor="")),
    ("drug with a cell type", lambda s, k: f.InterventionFactory(cohort=k, kind=c.InterventionKind.DRUG)),
    ("zero total dose", lambda s, k: f.InterventionFactory(cohort=k, dose_cells_total=0)),
    ("negative dose per kg", lambda s, k: f.InterventionFactory(cohort=k, dose_cells_per_kg=-1)),
    ("p-value above 1", lambda s, k: f.OutcomeFactory(study=s, p_value=2, p_qualifier="=")),
    ("p-value without qualifier", lambda s, k: f.OutcomeFactory(study=s, p_value="0.01")),
    ("window ends before it starts", lambda s, k: f.OutcomeFactory(study=s, timepoint=6, timepoint_to=3)),
    ("timepoint without unit", lambda s, k: f.OutcomeFactory(study=s, timepoint=6, timepoint_unit="")),
    ("interval upper below lower", lambda s, k: f.OutcomeFactory(study=s, dispersion_lower=5, dispersion_upper=1)),
    ("negative SD", lambda s, k: f.OutcomeFactory(study=s, dispersion_value=-1)),
    ("outcome in another study's cohort", lambda s, k: f.OutcomeFactory(study=f.StudyFactory(), cohort=k)),
    ("affected above at risk", lambda s, k: f.AdverseEventFactory(study=s, n_affected=11, n_at_risk=10)),
    ("fewer events than affected", lambda s, k: f.AdverseEventFactory(study=s, n_affected=3, n_events=2)),
    ("grade 6", lambda s, k: f.AdverseEventFactory(study=s, grade=6)),
    ("fatal grade not serious", lambda s, k: f.AdverseEventFactory(study=s, grade=5)),
    ("negative count", lambda s, k: m.AdverseEvent.objects.filter(pk=f.AdverseEventFactory(study=s).pk).update(n_at_risk=-1)),
    ("adverse event in another study's cohort", lambda s, k: f.AdverseEventFactory(study=f.StudyFactory(), cohort=k)),
    (
        "moving a cohort's outcome to another study",
        lambda s, k: m.OutcomeMeasure.objects.filter(pk=f.OutcomeFactory(study=s, cohort=k).pk).update(study=f.StudyFactory()),
    ),
]


@pytest.mark.parametrize("make", [v[1] for v in VIOLATIONS], ids=[v[0] for v in VIOLATIONS])
def test_database_refuses(study, cohort, make):
    breaks_database(lambda: make(study, cohort))
    # The failed write left nothing behind that a later query would trip over.
    assert m.Study.objects.filter(pk=study.pk).exists()


def clean_errors(instance) -> dict:
    with pytest.raises(ValidationError) as error:
        instance.full_clean()
    return error.value.message_dict


def test_clean_names_the_completion_date(db):
    study = f.StudyFactory.build(
        start_date=dt.date(2020, 5, 3),
        start_date_precision="day",
        completion_date=dt.date(2019, 1, 1),
        completion_date_precision="year",
    )
    assert "completion_date" in clean_errors(study)


def test_year_precision_completion_in_the_start_year_is_valid(db):
    """“Started 2018-05-03, completed 2018” is consistent: the completion stands for the whole year."""
    study = f.StudyFactory.build(
        start_date=dt.date(2018, 5, 3),
        start_date_precision="day",
        completion_date=dt.date(2018, 1, 1),
        completion_date_precision="year",
    )
    study.full_clean()
    study.save()
    assert study.completion_date == dt.date(2018, 12, 31)
    assert study.completion_display == "2018"
    assert study.start_display == "2018-05-03"


def test_clean_names_the_affected_count(db):
    event = f.AdverseEventFactory.build(study=f.StudyFactory(), n_affected=11, n_at_risk=10)
    errors = clean_errors(event)
    assert "n_affected" in errors
    assert "11" in errors["n_affected"][0]


def test_clean_names_the_cohort_from_another_study(cohort):
    outcome = f.OutcomeFactory.build(study=f.StudyFactory(), cohort=cohort, instrument=f.InstrumentFactory())
    assert "cohort" in clean_errors(outcome)


def test_clean_names_the_registry_value_with_an_example(study):
    errors = clean_errors(f.RegistryIdentifierFactory.build(study=study, registry="NCT", value="NCT-0235"))
    assert "NCT02354625" in errors["value"][0]


@pytest.mark.parametrize(
    ("registry", "value"),
    [
        ("NCT", "NCT06360861"),
        ("IRCT", "IRCT20210614051576N1"),
        ("ChiCTR", "ChiCTR2000029953"),
        ("ChiCTR", "ChiCTR-IOR-17013557"),
        ("jRCT", "jRCTa031190228"),
        ("UMIN", "UMIN000012345"),
        ("EudraCT", "2012-001234-56"),
        ("CTRI", "CTRI/2020/05/025271"),
        ("ANZCTR", "ACTRN12619000123456"),
    ],
)
def test_real_registry_formats_are_accepted(study, registry, value):
    f.RegistryIdentifierFactory.build(study=study, registry=registry, value=value).full_clean()


def test_cell_product_clean_names_cell_type_and_donor(cohort):
    errors = clean_errors(f.InterventionFactory.build(cohort=cohort, cell_type=None, donor=""))
    assert {"cell_type", "donor"} <= set(errors)


def test_serious_reported_ignores_zero_count_rows(study):
    f.AdverseEventFactory(study=study, serious=c.Seriousness.SERIOUS, n_affected=0, term="Serious adverse events")
    assert not m.Study.objects.with_flags().get(pk=study.pk).has_serious_ae
    f.AdverseEventFactory(study=study, serious=c.Seriousness.SERIOUS, n_affected=1, term="Death")
    assert m.Study.objects.with_flags().get(pk=study.pk).has_serious_ae


def test_public_hides_drafts_and_reviews_but_keeps_retracted(db):
    visible = {f.StudyFactory(curation_state=state).curation_state for state in c.CurationState.values}
    assert visible == set(c.CurationState.values)
    assert set(m.Study.objects.public().values_list("curation_state", flat=True)) == {"published", "retracted"}


def test_narrower_conditions_are_descendants(db):
    stroke = f.ConditionFactory(slug="stroke")
    ischemic = f.ConditionFactory(slug="ischemic-stroke", parent=stroke)
    acute = f.ConditionFactory(slug="acute-ischemic-stroke", parent=ischemic)
    assert stroke.descendant_ids() == {stroke.pk, ischemic.pk, acute.pk}
    assert ischemic.descendant_ids() == {ischemic.pk, acute.pk}


def test_a_retraction_without_a_reason_is_refused_on_its_field(db):
    study = f.StudyFactory.build(curation_state=c.CurationState.RETRACTED, retraction_reason="  ")
    with pytest.raises(ValidationError) as raised:
        study.clean()
    message = "A retracted study needs the public reason for its retraction."
    assert raised.value.message_dict == {"retraction_reason": [message]}
    study.retraction_reason = "Duplicate of NCR-000002."
    study.clean()
