"""Evidence across studies: intervals and pooled estimates against values computed here independently,
the rules that decide what can be added up, the reasons rows are left out, and that drafts never count."""

from __future__ import annotations

import csv
import io
import math

import pytest
from django.urls import reverse

from trials import choices as c
from trials import evidence
from trials.models import Study

from .factories import AdverseEventFactory, CohortFactory, InstrumentFactory, InterventionFactory, OutcomeFactory, StudyFactory

pytestmark = pytest.mark.django_db
Z = 1.959963984540054


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval, from its formula."""
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return 100 * (centre - half), 100 * (centre + half)


def test_wilson_interval_matches_its_formula():
    for k, n in [(1, 29), (0, 67), (2, 5), (9, 9)]:
        low, high = evidence.Proportion(k, n).wilson
        expected = wilson(k, n)
        assert low == pytest.approx(expected[0], abs=1e-6)
        assert high == pytest.approx(expected[1], abs=1e-6)


def test_exact_interval_at_zero_and_all_has_closed_forms():
    # Clopper–Pearson: 0/n has upper bound 1 - (α/2)^(1/n); n/n has lower bound (α/2)^(1/n).
    low, high = evidence.Proportion(0, 67).exact
    assert low == 0
    assert high == pytest.approx(100 * (1 - 0.025 ** (1 / 67)), abs=1e-6)
    low, high = evidence.Proportion(9, 9).exact
    assert high == 100
    assert low == pytest.approx(100 * 0.025 ** (1 / 9), abs=1e-6)


def test_exact_interval_for_one_of_29_is_the_published_value():
    # 1/29: 0.087 % to 17.8 % (Clopper–Pearson, as tabulated by standard calculators).
    low, high = evidence.Proportion(1, 29).exact
    assert low == pytest.approx(0.0873, abs=1e-3)
    assert high == pytest.approx(17.76, abs=1e-2)


def dersimonian_laird(effects: list[float], ses: list[float]) -> tuple[float, float, float, float]:
    """Random effects by hand: returns estimate, its SE, tau², I²."""
    w = [1 / se**2 for se in ses]
    fixed = sum(wi * yi for wi, yi in zip(w, effects, strict=True)) / sum(w)
    q = sum(wi * (yi - fixed) ** 2 for wi, yi in zip(w, effects, strict=True))
    df = len(effects) - 1
    tau2 = max(0.0, (q - df) / (sum(w) - sum(wi * wi for wi in w) / sum(w)))
    w_star = [1 / (se**2 + tau2) for se in ses]
    estimate = sum(wi * yi for wi, yi in zip(w_star, effects, strict=True)) / sum(w_star)
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return estimate, math.sqrt(1 / sum(w_star)), tau2, i2


def als_study(change: float, sd: float, n: int, *, timepoint=6, state=c.CurationState.PUBLISHED, **outcome):
    study = StudyFactory(curation_state=state)
    cohort = CohortFactory(study=study, n_enrolled=n)
    return OutcomeFactory(
        study=study,
        cohort=cohort,
        statistic=c.Statistic.MEAN_CHANGE,
        timepoint=timepoint,
        value=None,
        baseline_value=None,
        change_value=change,
        dispersion_type=c.Dispersion.SD,
        dispersion_value=sd,
        n_analysed=n,
        **outcome,
    )


def test_pooled_estimate_equals_dersimonian_laird_by_hand():
    rows = [(-2.0, 4.0, 20), (-6.0, 5.0, 30), (1.0, 3.0, 12), (-3.5, 6.0, 25)]
    for change, sd, n in rows:
        als_study(change, sd, n)
    instrument = InstrumentFactory(slug="alsfrs-r")
    entries = evidence.outcome_entries(Study.objects.public(), instrument, (3, 9))
    pooled = evidence.pool(entries)
    ses = [sd / math.sqrt(n) for _c, sd, n in rows]
    estimate, se, tau2, i2 = dersimonian_laird([change for change, _sd, _n in rows], ses)
    assert pooled is not None and pooled.studies == 4
    assert pooled.estimate == pytest.approx(estimate, abs=1e-9)
    assert pooled.low == pytest.approx(estimate - Z * se, abs=1e-6)
    assert pooled.high == pytest.approx(estimate + Z * se, abs=1e-6)
    assert pooled.tau_squared == pytest.approx(tau2, abs=1e-9)
    assert pooled.i_squared == pytest.approx(i2, abs=1e-9)
    assert tau2 > 0  # the table is heterogeneous: random effects differ from fixed


def test_lower_is_better_changes_are_pooled_as_improvements():
    instrument = InstrumentFactory(slug="nihss", name="NIHSS", direction=c.Direction.LOWER_IS_BETTER)
    for change in (-3.0, -2.0, -4.0):
        als_study(change, 2.0, 16, instrument=instrument)
    pooled = evidence.pool(evidence.outcome_entries(Study.objects.public(), instrument, (0, 12)))
    assert pooled is not None
    assert pooled.estimate == pytest.approx(3.0, abs=1e-9)  # equal weights, no heterogeneity beyond chance
    assert pooled.low > 0


def test_fewer_than_three_studies_give_no_pooled_estimate():
    als_study(-2.0, 4.0, 20)
    als_study(-3.0, 4.0, 20)
    instrument = InstrumentFactory(slug="alsfrs-r")
    entries = evidence.outcome_entries(Study.objects.public(), instrument, (0, 12))
    assert [entry.included for entry in entries] == [True, True]
    assert evidence.pool(entries) is None


def test_each_exclusion_reason():
    instrument = InstrumentFactory(slug="alsfrs-r")
    kept = als_study(-2.0, 4.0, 20)
    outside = als_study(-2.0, 4.0, 20, timepoint=24)
    lead_in = als_study(-3.77, 1.0, 20, timepoint=-3, timepoint_to=0)
    no_change = als_study(-2.0, 4.0, 20)
    no_change.change_value = None
    no_change.value = 30
    no_change.statistic = c.Statistic.MEAN
    no_change.save()
    no_spread = als_study(-2.0, 4.0, 20)
    no_spread.dispersion_type, no_spread.dispersion_value = "", None
    no_spread.save()
    plus_minus = als_study(
        -2.0,
        4.0,
        20,
    )
    plus_minus.dispersion_type = c.Dispersion.PM
    plus_minus.save()
    no_n = als_study(-2.0, 4.0, 20)
    no_n.n_analysed = None
    no_n.save()
    median = als_study(-2.0, 4.0, 20)
    median.statistic = c.Statistic.MEDIAN
    median.save()
    control = als_study(-2.0, 4.0, 20)
    control.cohort.role = c.CohortRole.PLACEBO
    control.cohort.save()
    draft = als_study(-2.0, 4.0, 20, state=c.CurationState.DRAFT)

    reasons = {entry.outcome.pk: entry.reason for entry in evidence.outcome_entries(Study.objects.public(), instrument, (3, 9))}
    assert reasons == {
        kept.pk: "",
        outside.pk: "outside_window",
        lead_in.pk: "before_treatment",
        no_change.pk: "no_change",
        no_spread.pk: "no_dispersion",
        plus_minus.pk: "dispersion_kind",
        no_n.pk: "no_n",
        median.pk: "not_on_scale",
        control.pk: "control",
    }
    assert draft.pk not in reasons


def event(cohort, **fields):
    defaults = {"study": cohort.study, "cohort": cohort, "term": "Serious adverse events", "organ_class": c.OrganClass.MULTIPLE}
    return AdverseEventFactory(**{**defaults, **fields})


def treated_cohort(n=10, **study):
    cohort = CohortFactory(study=StudyFactory(**study), n_enrolled=n)
    InterventionFactory(cohort=cohort)
    return cohort


def cell(rows, key):
    (row,) = [row for row in rows if not row.product.is_control]
    return row.cells[key]


def test_a_named_event_is_not_a_count_of_participants_with_any_event():
    cohort = treated_cohort()
    event(cohort, term="Headache", organ_class=c.OrganClass.NERVOUS, n_affected=2, n_at_risk=10)
    rows = evidence.safety_table(Study.objects.public())
    assert cell(rows, "any").pooled is None
    assert cell(rows, "any").counts[0].reason == "no_statement"


def test_totals_pool_over_cohorts_and_a_zero_total_implies_zero_below_it():
    first, second = treated_cohort(), treated_cohort()
    event(first, scope=c.AeScope.ALL_SERIOUS, serious=c.Seriousness.SERIOUS, n_affected=1, n_at_risk=10)
    event(second, scope=c.AeScope.ALL_SERIOUS, serious=c.Seriousness.SERIOUS, n_affected=0, n_at_risk=20)
    rows = evidence.safety_table(Study.objects.public())
    serious = cell(rows, "serious").pooled
    assert (serious.affected, serious.at_risk) == (1, 30)
    assert cell(rows, "serious").study_count == 2
    # No serious event at all in the second cohort: none related to the cells either; the first says nothing.
    related = cell(rows, "serious_cell_related")
    assert (related.pooled.affected, related.pooled.at_risk) == (0, 20)
    assert [count.reason for count in related.not_poolable] == ["no_statement"]


def test_deaths_add_up_and_totals_stated_twice_differently_are_refused():
    cohort = treated_cohort()
    event(
        cohort,
        term="Death (stroke)",
        serious=c.Seriousness.SERIOUS,
        grade=5,
        outcome=c.AeOutcome.FATAL,
        n_affected=1,
        n_at_risk=10,
    )
    event(
        cohort,
        term="Death (sepsis)",
        serious=c.Seriousness.SERIOUS,
        grade=5,
        outcome=c.AeOutcome.FATAL,
        n_affected=1,
        n_at_risk=10,
    )
    event(cohort, scope=c.AeScope.ALL, term="Adverse events", n_affected=4, n_at_risk=10)
    event(cohort, scope=c.AeScope.ALL, term="Adverse events (any)", n_affected=5, n_at_risk=10)
    rows = evidence.safety_table(Study.objects.public())
    assert (cell(rows, "death").pooled.affected, cell(rows, "death").pooled.at_risk) == (2, 10)
    assert cell(rows, "any").pooled is None
    assert cell(rows, "any").counts[0].reason == "several_totals"


def test_missing_denominators_are_listed_with_the_reason():
    cohort = treated_cohort()
    event(cohort, scope=c.AeScope.ALL_SERIOUS, serious=c.Seriousness.SERIOUS, n_affected=0, n_at_risk=None)
    rows = evidence.safety_table(Study.objects.public())
    count = cell(rows, "serious").counts[0]
    assert count.proportion is None and count.reason == "at_risk_unknown"
    assert "at risk" in count.reason_text


def test_drafts_never_contribute_to_safety():
    published, draft = treated_cohort(), treated_cohort(curation_state=c.CurationState.DRAFT)
    for cohort in (published, draft):
        event(cohort, scope=c.AeScope.ALL_SERIOUS, serious=c.Seriousness.SERIOUS, n_affected=1, n_at_risk=10)
    rows = evidence.safety_table(Study.objects.public())
    assert cell(rows, "serious").accessions == [published.study.accession]
    assert cell(rows, "serious").pooled.at_risk == 10


def test_scope_rules_are_constraints(db):
    from django.db import IntegrityError, transaction

    cohort = treated_cohort()
    with pytest.raises(IntegrityError), transaction.atomic():
        event(cohort, scope=c.AeScope.ALL_SERIOUS, serious=c.Seriousness.NON_SERIOUS)
    with pytest.raises(IntegrityError), transaction.atomic():
        event(cohort, scope=c.AeScope.ALL_RELATED, relatedness=c.Relatedness.UNKNOWN)


def test_api_json_and_csv_carry_the_same_numbers(client):
    cohort = treated_cohort()
    event(cohort, scope=c.AeScope.ALL_SERIOUS, serious=c.Seriousness.SERIOUS, n_affected=1, n_at_risk=29)
    url = reverse("api:evidence-safety")
    items = client.get(url).json()["results"]
    serious = next(item for item in items if item["measure"] == "serious" and item["cell_type"])
    assert (serious["affected"], serious["at_risk"], serious["percent"]) == (1, 29, 3.4)
    assert serious["wilson_low"] == round(wilson(1, 29)[0], 1)
    response = client.get(url, {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    row = next(row for row in rows if row["measure"] == "serious" and row["cell_type"])
    assert (row["affected"], row["at_risk"], row["percent"], row["wilson_low"]) == ("1", "29", "3.4", str(serious["wilson_low"]))


def test_api_refuses_bad_parameters_by_name(client):
    response = client.get(reverse("api:evidence-outcomes"), {"instrument": "alsfrs-r", "window_from": -1})
    assert response.status_code == 400
    assert "window_from" in response.json()["error"]["fields"]
    response = client.get(reverse("api:evidence-outcomes"))
    assert response.status_code == 400 and "instrument" in str(response.json())


def test_safety_page_links_each_figure_to_its_studies(client):
    cohort = treated_cohort()
    event(cohort, scope=c.AeScope.ALL_SERIOUS, serious=c.Seriousness.SERIOUS, n_affected=1, n_at_risk=29)
    page = client.get(reverse("trials:evidence-safety")).content.decode()
    assert "1/29" in page
    assert f'href="/studies/{cohort.study.accession}/"' in page
    chinese = client.get("/zh-hans" + reverse("trials:evidence-safety")).content.decode()
    assert "1/29" in chinese


@pytest.mark.parametrize("studies", [2, 20])
def test_evidence_pages_and_api_run_a_fixed_number_of_queries(client, django_assert_num_queries, studies):
    instrument = InstrumentFactory(slug="alsfrs-r")
    for _index in range(studies):
        cohort = treated_cohort()
        event(cohort, scope=c.AeScope.ALL_SERIOUS, serious=c.Seriousness.SERIOUS, n_affected=0, n_at_risk=10)
        event(cohort, term="Headache", organ_class=c.OrganClass.NERVOUS, n_affected=1, n_at_risk=10)
        OutcomeFactory(
            study=cohort.study,
            cohort=cohort,
            instrument=instrument,
            statistic=c.Statistic.MEAN_CHANGE,
            change_value=-1.0,
            dispersion_type=c.Dispersion.SD,
            dispersion_value=2.0,
            n_analysed=10,
        )
    client.get(reverse("trials:evidence-safety"))  # vocabularies and sessions warmed, as for any reader
    with django_assert_num_queries(QUERIES["safety"]):
        assert client.get(reverse("api:evidence-safety")).status_code == 200
    with django_assert_num_queries(QUERIES["outcomes"]):
        assert client.get(reverse("api:evidence-outcomes"), {"instrument": "alsfrs-r"}).status_code == 200
    with django_assert_num_queries(QUERIES["safety_page"]):
        assert client.get(reverse("trials:evidence-safety")).status_code == 200
    with django_assert_num_queries(QUERIES["outcomes_page"]):
        assert client.get(reverse("trials:evidence-outcomes"), {"instrument": "alsfrs-r"}).status_code == 200


QUERIES = {"safety": 5, "outcomes": 3, "safety_page": 7, "outcomes_page": 5}


def test_homogeneous_results_truncate_tau_squared_at_zero():
    rows = [(-2.0, 8.0, 10), (-2.2, 9.0, 12), (-1.9, 7.0, 11)]
    for change, sd, n in rows:
        als_study(change, sd, n)
    pooled = evidence.pool(evidence.outcome_entries(Study.objects.public(), InstrumentFactory(slug="alsfrs-r"), (0, 12)))
    estimate, se, tau2, i2 = dersimonian_laird([r[0] for r in rows], [sd / math.sqrt(n) for _c, sd, n in rows])
    assert tau2 == 0 and pooled.tau_squared == 0 and pooled.i_squared == 0
    assert pooled.estimate == pytest.approx(estimate, abs=1e-9)
    assert pooled.high - pooled.low == pytest.approx(2 * Z * se, abs=1e-6)
