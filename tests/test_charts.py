"""The outcome charts: which rows make which series and points, and the SVG they draw."""

from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.utils import translation

from tests import factories as f
from trials import charts
from trials import choices as c

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def english():
    """Labels are compared in English, whatever language an earlier test left active in this thread."""
    with translation.override("en"):
        yield


@pytest.fixture
def alsfrs():
    return f.InstrumentFactory(
        slug="alsfrs-r",
        name="ALS Functional Rating Scale – Revised",
        name_zh="肌萎缩侧索硬化功能评分量表修订版",
        abbreviation="ALSFRS-R",
        direction=c.Direction.HIGHER_IS_BETTER,
        range_min=0,
        range_max=48,
        unit="points",
    )


def outcome(study, instrument, cohort=None, **fields):
    fields.setdefault("timepoint_unit", c.TimeUnit.MONTH if fields.get("timepoint") is not None else "")
    fields.setdefault("baseline_value", None)
    fields.setdefault("value", None)
    return f.OutcomeFactory(study=study, instrument=instrument, cohort=cohort, **fields)


def sections_of(study):
    return charts.outcome_sections(
        list(study.outcomes.select_related("instrument", "cohort")), follow_up_months=study.follow_up_months
    )


def test_each_cohort_is_a_series_starting_at_its_baseline(alsfrs):
    study = f.StudyFactory()
    treated, control = f.CohortFactory(study=study, label="UC-MSC"), f.CohortFactory(study=study, label="Placebo")
    for cohort, values in ((treated, (30, 29, 28)), (control, (31, 27, 24))):
        for month, value in zip((3, 6), values[1:], strict=True):
            outcome(study, alsfrs, cohort, timepoint=month, baseline_value=values[0], value=value, n_analysed=10)

    [section] = sections_of(study)
    [chart] = section.charts

    assert chart.kind == "value"
    assert [s.label for s in chart.series] == ["UC-MSC", "Placebo"]
    assert [(p.x, p.y) for p in chart.series[0].points] == [(0.0, 30.0), (3.0, 29.0), (6.0, 28.0)]
    assert [(p.x, p.y) for p in chart.series[1].points] == [(0.0, 31.0), (3.0, 27.0), (6.0, 24.0)]
    assert section.direction_label == "↑ Higher is better"
    assert chart.x_label == "Time from baseline (months)"
    assert chart.y_label == "Mean (points)"
    assert len(chart.rows) == 4


def test_changes_from_baseline_get_their_own_chart_from_zero(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=6, baseline_value=None, value=None, change_value=-2.5, statistic=c.Statistic.MEAN_CHANGE)

    [chart] = sections_of(study)[0].charts

    assert chart.kind == "change"
    assert [(p.x, p.y) for p in chart.series[0].points] == [(0.0, 0.0), (6.0, -2.5)]
    assert chart.title == "ALSFRS-R: change from baseline over time"


def test_timepoints_in_different_units_share_a_month_axis(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=26, timepoint_unit=c.TimeUnit.WEEK, value=28.0)
    outcome(study, alsfrs, timepoint=1, timepoint_unit=c.TimeUnit.YEAR, value=27.0)
    outcome(study, alsfrs, timepoint=3, timepoint_to=9, timepoint_unit=c.TimeUnit.MONTH, value=29.0)

    [chart] = sections_of(study)[0].charts
    xs = [round(p.x, 2) for p in chart.series[0].points]

    # A window sits at its middle (6 months); 26 weeks is just under 6 months; a year is 12.
    assert xs == [5.98, 6.0, 12.0]
    assert chart.x_label == "Time from baseline (months)"


def test_last_follow_up_without_a_timepoint_sits_at_the_studys_follow_up(alsfrs):
    study = f.StudyFactory(follow_up_months=Decimal("24"))
    outcome(study, alsfrs, timepoint=6, value=28.0)
    outcome(study, alsfrs, timepoint=None, is_last_follow_up=True, value=25.0)

    [chart] = sections_of(study)[0].charts

    assert [(p.x, p.y) for p in chart.series[0].points] == [(6.0, 28.0), (24.0, 25.0)]
    assert chart.unplotted == []


def test_a_row_with_no_place_on_the_time_axis_stays_in_the_table(alsfrs):
    study = f.StudyFactory(follow_up_months=None)
    outcome(study, alsfrs, timepoint=6, value=28.0)
    outcome(study, alsfrs, timepoint=12, value=27.0)
    undated = outcome(study, alsfrs, timepoint=None, is_last_follow_up=True, value=25.0)

    [chart] = sections_of(study)[0].charts

    assert chart.unplotted == [undated]
    assert undated in chart.rows
    assert [p.y for p in chart.series[0].points] == [28.0, 27.0]


def test_rows_with_only_a_sentence_are_findings_not_chart_points(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=6, value=28.0, baseline_value=30.0)
    sentence = outcome(study, alsfrs, timepoint=12, finding="Decline slowed after the second injection.", p_text="p < 0.05")

    [section] = sections_of(study)

    assert section.findings == [sentence]
    assert sentence not in section.charts[0].rows


def test_an_instrument_with_only_findings_has_no_chart(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=6, finding="No change.")

    [section] = sections_of(study)

    assert section.charts == []
    assert len(section.findings) == 1


def test_a_single_measurement_is_a_table_not_a_line(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=60, value=2.0, statistic=c.Statistic.COUNT)

    [chart] = sections_of(study)[0].charts

    assert not chart.plottable
    assert chart.svg == ""
    assert len(chart.rows) == 1


def test_error_bars_from_sd_or_interval(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=3, value=28.0, dispersion_type=c.Dispersion.SD, dispersion_value=2.0)
    outcome(
        study, alsfrs, timepoint=6, value=26.0, dispersion_type=c.Dispersion.CI95, dispersion_lower=24.5, dispersion_upper=27.0
    )
    outcome(study, alsfrs, timepoint=9, value=25.0, dispersion_type=c.Dispersion.IQR, dispersion_value=4.0)

    [chart] = sections_of(study)[0].charts

    assert [(p.low, p.high) for p in chart.series[0].points] == [(26.0, 30.0), (24.5, 27.0), (None, None)]
    assert charts.spread_label(chart.rows[1]) == "95% confidence interval 24.5–27"


def test_the_y_axis_spans_the_instruments_scale_for_scores_only(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=3, value=28.0, baseline_value=30.0)
    [scores] = sections_of(study)[0].charts
    assert charts.y_domain(scores, alsfrs) == (0, 48, [0, 10, 20, 30, 40, 48])

    other = f.StudyFactory()
    outcome(other, alsfrs, timepoint=3, value=2.0, statistic=c.Statistic.COUNT)
    outcome(other, alsfrs, timepoint=6, value=3.0, statistic=c.Statistic.COUNT)
    [counts] = sections_of(other)[0].charts
    # Two improved participants are not drawn on the 0–48 scale.
    assert charts.y_domain(counts, alsfrs) == (0, 3, [0, 1, 2, 3])
    assert counts.y_label == "Count of participants"


def test_primary_outcomes_come_first(alsfrs):
    study = f.StudyFactory()
    scim = f.InstrumentFactory(slug="scim", name="Spinal Cord Independence Measure", abbreviation="SCIM")
    outcome(study, alsfrs, timepoint=6, value=28.0, outcome_type=c.OutcomeType.SECONDARY)
    outcome(study, scim, timepoint=6, value=50.0, outcome_type=c.OutcomeType.PRIMARY)

    assert [s.instrument.slug for s in sections_of(study)] == ["scim", "alsfrs-r"]


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [(0, 48, [0, 10, 20, 30, 40, 50]), (-2.5, 0, [-2.5, -2, -1.5, -1, -0.5, 0]), (24, 31, [24, 25, 26, 27, 28, 29, 30, 31])],
)
def test_nice_ticks_are_round_and_cover_the_range(low, high, ticks):
    assert charts.nice_ticks(low, high, count=5 if high - low != 7 else 8) == ticks


def test_the_svg_is_an_accessible_image_with_a_title_and_description(alsfrs):
    study = f.StudyFactory()
    cohort = f.CohortFactory(study=study, label="<script>alert(1)</script>")
    outcome(study, alsfrs, cohort, timepoint=3, value=28.0, baseline_value=30.0)

    [chart] = sections_of(study)[0].charts
    root = ElementTree.fromstring(str(chart.svg))

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{chart.key}-title {chart.key}-desc"
    assert root.find(f"{SVG}title").text == "ALSFRS-R over time"
    assert "table" in root.find(f"{SVG}desc").text
    assert "↑ Higher is better" in [t.text for t in root.iter(f"{SVG}text")]
    # Curated text is escaped: the parse above would fail on a raw tag, and no script element exists.
    assert not list(root.iter(f"{SVG}script"))
    assert "&lt;script&gt;" in str(chart.svg)
    # One line, two markers (baseline and 3 months), each with a tooltip.
    assert len([g for g in root.iter(f"{SVG}g") if g.find(f"{SVG}title") is not None]) == 2


def test_chinese_pages_use_the_curated_chinese_labels(alsfrs):
    study = f.StudyFactory()
    cohort = f.CohortFactory(study=study, label="Treated", label_zh="治疗组")
    outcome(study, alsfrs, cohort, timepoint=3, value=28.0, baseline_value=30.0, finding="Better.", finding_zh="改善。")

    with translation.override("zh-hans"):
        [section] = sections_of(study)
        [chart] = section.charts
        assert chart.series[0].label == "治疗组"
        assert section.direction_label == "↑ 越高越好"
        assert chart.x_label == "距基线时间（个月）"
        assert chart.rows[0].tr("finding") == "改善。"
