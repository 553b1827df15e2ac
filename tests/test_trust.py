"""Trust signals (trials/trust.py): each flag's rule, its filter (a hit and a miss), its facet count, its
badge and evidence on the pages, its value in the API, and the curated fields' constraints."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests import factories as f
from trials import choices as c
from trials import models as m
from trials import trust
from trials.filters import StudyFilterSet

Flag = c.TrustFlag


def flags(study: m.Study) -> dict[str, str]:
    row = m.Study.objects.with_trust().get(pk=study.pk)
    return {flag: getattr(row, f"trust_{flag}") for flag in Flag.values}


def filtered(*values: str) -> set[str]:
    filterset = StudyFilterSet({"trust": list(values)}, queryset=m.Study.objects.public())
    assert filterset.is_valid(), filterset.errors
    return set(filterset.qs.values_list("accession", flat=True))


def milestone(study, kind, date=None, precision="", agency=c.Agency.OTHER):
    return m.RegulatoryMilestone.objects.create(study=study, kind=kind, agency=agency, date=date, date_precision=precision)


def started(on: dt.date, precision=c.DatePrecision.DAY, **fields) -> m.Study:
    return f.StudyFactory(start_date=on, start_date_precision=precision, overall_status=c.OverallStatus.RECRUITING, **fields)


# --- each rule ----------------------------------------------------------------------------------------------


def test_a_bare_study_is_unknown_where_nothing_is_recorded(db):
    study = f.StudyFactory(overall_status=c.OverallStatus.UNKNOWN, completion_date=None, completion_date_precision="")
    assert flags(study) == {
        "registered": "no",
        "prospective": "unknown",
        "authorised": "unknown",
        "patient_pays": "unknown",
        "peer_reviewed": "unknown",
        "results_posted": "no",
        "stale": "unknown",
    }


def test_registered_and_peer_reviewed_and_results_from_the_rows(db):
    study = f.full_study()
    values = flags(study)
    assert (values["registered"], values["peer_reviewed"], values["results_posted"]) == ("yes", "yes", "yes")


@pytest.mark.parametrize(
    ("registered", "precision", "start", "start_precision", "expected"),
    [
        (dt.date(2021, 7, 25), "day", dt.date(2021, 8, 1), "day", "yes"),
        (dt.date(2021, 8, 1), "day", dt.date(2021, 8, 1), "day", "yes"),  # registered the day enrolment began
        (dt.date(2021, 8, 2), "day", dt.date(2021, 8, 1), "day", "no"),
        (dt.date(2021, 7, 1), "month", dt.date(2021, 8, 10), "day", "yes"),  # July ends before 10 August
        (dt.date(2021, 8, 1), "month", dt.date(2021, 8, 10), "day", "unknown"),  # August: either may come first
        (dt.date(2021, 8, 20), "day", dt.date(2021, 8, 1), "month", "unknown"),
        (dt.date(2021, 9, 1), "day", dt.date(2021, 8, 1), "month", "no"),
        (dt.date(2022, 1, 1), "year", dt.date(2021, 1, 1), "year", "no"),
        (dt.date(2021, 1, 1), "year", dt.date(2021, 1, 1), "year", "unknown"),
        (dt.date(2020, 1, 1), "year", dt.date(2021, 3, 1), "month", "yes"),
    ],
)
def test_prospective_registration_compares_the_dates_whole_periods(db, registered, precision, start, start_precision, expected):
    study = started(start, start_precision)
    milestone(study, c.MilestoneKind.REGISTERED, registered, precision)
    assert flags(study)["prospective"] == expected


def test_an_undated_registration_leaves_retrospective_unproven(db):
    study = started(dt.date(2021, 1, 1))
    milestone(study, c.MilestoneKind.REGISTERED, dt.date(2022, 1, 1), "day")
    milestone(study, c.MilestoneKind.REGISTERED)  # undated: it may have been the first
    assert flags(study)["prospective"] == "unknown"


def test_curated_prospective_registration_applies_only_where_dates_do_not_settle_it(db):
    curated = {"prospective_registration": "yes", "prospective_registration_evidence": "Registry record: registered 2019-01-02."}
    undated = f.StudyFactory(**curated)
    assert flags(undated)["prospective"] == "yes"
    dated = started(dt.date(2021, 1, 1), **curated)
    milestone(dated, c.MilestoneKind.REGISTERED, dt.date(2022, 1, 1), "day")
    assert flags(dated)["prospective"] == "no"  # the dates win over the curated answer


def test_authorisation_is_an_ind_or_marketing_authorisation_by_a_regulator(db):
    ind = f.StudyFactory()
    milestone(ind, c.MilestoneKind.IND_CLEARED, agency=c.Agency.NMPA)
    ethics = f.StudyFactory()
    milestone(ethics, c.MilestoneKind.ETHICS_APPROVED, agency=c.Agency.IRB)
    submitted = f.StudyFactory()
    milestone(submitted, c.MilestoneKind.IND_SUBMITTED, agency=c.Agency.FDA)
    assert [flags(s)["authorised"] for s in (ind, ethics, submitted)] == ["yes", "unknown", "unknown"]


def test_patient_pays_and_peer_review_are_curated_with_evidence(db):
    pays = f.StudyFactory(patient_pays="yes", patient_pays_evidence="“每疗程费用 5 万元” (the clinic's page)")
    thesis = f.StudyFactory(peer_reviewed="no", peer_reviewed_evidence="Only a master's thesis reports it.")
    assert flags(pays)["patient_pays"] == "yes"
    assert flags(thesis)["peer_reviewed"] == "no"
    f.PublicationFactory(study=thesis)  # a PMID settles it
    assert flags(thesis)["peer_reviewed"] == "yes"


def test_stale_when_an_ongoing_status_was_verified_over_two_years_ago(db):
    today = dt.date.today()
    old = started(dt.date(2020, 1, 1), status_verified_on=today - dt.timedelta(days=800))
    fresh = started(dt.date(2020, 1, 1), status_verified_on=today - dt.timedelta(days=30))
    ended = f.StudyFactory(status_verified_on=today - dt.timedelta(days=2000))  # completed (the factory's default)
    assert [flags(s)["stale"] for s in (old, fresh, ended)] == ["yes", "no", "no"]


# --- filter and facet ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", Flag.values)
def test_each_trust_filter_has_a_hit_and_a_miss(db, flag):
    today = dt.date.today()
    hit = {
        "registered": lambda: f.RegistryIdentifierFactory().study,
        "prospective": lambda: f.StudyFactory(prospective_registration="yes", prospective_registration_evidence="Registry."),
        "authorised": lambda: milestone(f.StudyFactory(), c.MilestoneKind.IND_CLEARED, agency=c.Agency.FDA).study,
        "patient_pays": lambda: f.StudyFactory(patient_pays="yes", patient_pays_evidence="Fee list."),
        "peer_reviewed": lambda: f.PublicationFactory().study,
        "results_posted": lambda: f.full_study(),
        "stale": lambda: started(dt.date(2019, 1, 1), status_verified_on=today - dt.timedelta(days=900)),
    }[flag]()
    miss = f.StudyFactory()
    assert filtered(flag) == {hit.accession}
    assert miss.accession not in filtered(flag)


def test_several_trust_filters_ask_for_all_of_them(db):
    both = f.full_study()
    milestone(both, c.MilestoneKind.IND_CLEARED, agency=c.Agency.NMPA)
    f.full_study()  # registered, not authorised
    assert filtered("registered", "authorised") == {both.accession}


def test_the_trust_facet_counts_each_yes(db):
    f.full_study()
    f.full_study()
    f.StudyFactory()
    counts = StudyFilterSet({}, queryset=m.Study.objects.public()).facet_counts()["trust"]
    assert counts == {"registered": 2, "peer_reviewed": 2, "results_posted": 2}


def test_an_unknown_trust_value_is_a_form_error(db):
    filterset = StudyFilterSet({"trust": ["certified"]}, queryset=m.Study.objects.public())
    assert not filterset.is_valid()
    assert "trust" in filterset.errors


# --- curated fields: database and form -----------------------------------------------------------------------------


@pytest.mark.parametrize("flag", m.study.CURATED_TRUST_FLAGS)
def test_a_curated_answer_needs_its_evidence_in_the_database(db, flag):
    study = f.StudyFactory()
    setattr(study, flag, "yes")
    with pytest.raises(IntegrityError), transaction.atomic():
        study.save()


@pytest.mark.parametrize("flag", m.study.CURATED_TRUST_FLAGS)
def test_a_curated_answer_needs_its_evidence_in_the_form(db, flag):
    study = f.StudyFactory()
    setattr(study, flag, "no")
    with pytest.raises(ValidationError) as error:
        study.full_clean()
    assert f"{flag}_evidence" in error.value.message_dict


# --- pages and API ---------------------------------------------------------------------------------------------------


def test_the_card_shows_badges_and_the_page_the_evidence(client, db):
    study = f.full_study(patient_pays="yes", patient_pays_evidence="The clinic lists a fee of 50,000 yuan.")
    milestone(study, c.MilestoneKind.IND_CLEARED, agency=c.Agency.NMPA)
    html = client.get("/studies/").content.decode()
    assert "Registered in a public registry" in html and "Authorised by a regulator" in html
    assert 'class="trust-badge trust-badge--warn"' in html  # patients pay: a warning
    page = client.get(study.get_absolute_url()).content.decode()
    assert "The clinic lists a fee of 50,000 yuan." in page
    assert "IND cleared: NMPA (China)" in page
    assert study.registry_ids.get().value in page
    zh = client.get("/zh-hans" + study.get_absolute_url()).content.decode()
    assert "信任信号" in zh


def test_the_api_lists_every_flag(client, db):
    study = f.full_study()
    item = client.get("/api/v1/studies/").json()["results"][0]
    assert item["accession"] == study.accession
    assert item["trust"] == {
        "registered": "yes",
        "prospective": "unknown",
        "authorised": "unknown",
        "patient_pays": "unknown",
        "peer_reviewed": "yes",
        "results_posted": "yes",
        "stale": "no",  # completed
    }
    assert client.get("/api/v1/studies/", {"trust": "authorised"}).json()["count"] == 0


def test_signals_agree_with_the_filter_on_the_curated_dataset(curated_dataset):
    """The badge (annotation), the filter and the evidence all come from one rule."""
    from trials.documents import document_queryset

    studies = list(document_queryset(m.Study.objects.public().with_trust()))
    assert len(studies) == 20
    for flag in Flag.values:
        yes = {s.accession for s in studies if getattr(s, f"trust_{flag}") == "yes"}
        assert filtered(flag) == yes, flag
    for study in studies:
        for signal in trust.signals(study):
            assert signal.evidence, (study.accession, signal.flag)
