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


def test_a_change_from_baseline_is_a_bar_from_baseline_to_its_timepoint(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=6, baseline_value=None, value=None, change_value=-2.5, statistic=c.Statistic.MEAN_CHANGE)

    [chart] = sections_of(study)[0].charts

    assert chart.kind == "change"
    assert chart.series[0].points == []
    [bar] = chart.series[0].bars
    assert (bar.start, bar.end, bar.change) == (0.0, 6.0, -2.5)
    assert bar.label == "−2.5 points/6 months"
    assert bar.verdict == "worsening"
    assert chart.title == "ALSFRS-R: change over each period"
    assert chart.plottable  # one bar is a finding worth drawing


def test_timepoints_in_different_units_share_a_month_axis(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=26, timepoint_unit=c.TimeUnit.WEEK, value=28.0)
    outcome(study, alsfrs, timepoint=1, timepoint_unit=c.TimeUnit.YEAR, value=27.0)
    outcome(study, alsfrs, timepoint=3, timepoint_to=9, timepoint_unit=c.TimeUnit.MONTH, value=29.0)

    [chart] = sections_of(study)[0].charts
    spans = [(round(p.x, 2), p.x_to) for p in chart.series[0].points]

    # A window is drawn across 3–9 months, never as a point at its middle; 26 weeks is just under 6 months.
    assert spans == [(3.0, 9.0), (5.98, None), (12.0, None)]
    assert chart.x_label == "Time from baseline (months)"
    root = ElementTree.fromstring(str(chart.svg))
    [window] = [p for p in root.iter(f"{SVG}path") if p.get("class") == "chart-window"]
    assert (window.get("data-start"), window.get("data-end")) == ("3", "9")


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


def test_error_bars_only_where_a_spread_is_given_and_labelled_with_its_kind(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=3, value=28.0, dispersion_type=c.Dispersion.SD, dispersion_value=2.0)
    outcome(
        study, alsfrs, timepoint=6, value=26.0, dispersion_type=c.Dispersion.CI95, dispersion_lower=24.5, dispersion_upper=27.0
    )
    outcome(study, alsfrs, timepoint=9, value=25.0, dispersion_type=c.Dispersion.IQR, dispersion_value=4.0)
    outcome(study, alsfrs, timepoint=12, value=24.0, dispersion_type=c.Dispersion.PM, dispersion_value=1.0)
    outcome(study, alsfrs, timepoint=15, value=23.0)

    [chart] = sections_of(study)[0].charts

    assert [(p.low, p.high) for p in chart.series[0].points] == [
        (26.0, 30.0),
        (24.5, 27.0),
        (None, None),  # an IQR given as one number has no centre to draw from
        (23.0, 25.0),  # "±" of unstated kind is drawn, and named as such
        (None, None),
    ]
    assert chart.error_kinds == ["Standard deviation", "95% confidence interval", "± (kind not stated)"]
    assert charts.spread_label(chart.rows[1]) == "95% confidence interval 24.5–27"


def test_no_error_bar_and_no_caption_for_one_where_no_spread_is_given(alsfrs, client):
    study = f.StudyFactory(curation_state=c.CurationState.PUBLISHED)
    outcome(study, alsfrs, timepoint=3, value=28.0, baseline_value=30.0)
    outcome(study, alsfrs, timepoint=6, value=27.0)

    [chart] = sections_of(study)[0].charts
    page = client.get(f"/studies/{study.accession}/").content.decode()

    assert chart.error_kinds == []
    assert "Error bars" not in page
    assert "Each line is a cohort" in page


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


# --- Honest by construction: each curated case the sources state, and the rule behind it -------------


def drawn_bars(chart) -> list[dict]:
    """Each bar as drawn: its window and change (from the data), its box, and the words beside it."""
    root = ElementTree.fromstring(str(chart.svg))
    [zero] = [line for line in root.iter(f"{SVG}line") if line.get("class") == "chart-zero"]
    starts = [line for line in root.iter(f"{SVG}line") if line.get("class") == "chart-start"]
    bars = []
    for group in root.iter(f"{SVG}g"):
        rect = group.find(f"{SVG}rect[@class='chart-bar']")
        if rect is None:
            continue
        bars.append(
            {
                "start": float(rect.get("data-start")),
                "end": float(rect.get("data-end")),
                "change": float(rect.get("data-change")),
                "left": float(rect.get("x")),
                "right": float(rect.get("x")) + float(rect.get("width")),
                "top": float(rect.get("y")),
                "bottom": float(rect.get("y")) + float(rect.get("height")),
                "words": [t.text for t in group.iter(f"{SVG}text")],
            }
        )
    return [
        {**bar, "zero_y": float(zero.get("y1")), "treatment_x": float(starts[0].get("x1")) if starts else None} for bar in bars
    ]


def assert_drawn_as_stated(chart) -> None:
    """The check every change chart must pass: a fall is drawn below zero and a rise above it, and the
    words beside each bar say what the source's sign and the instrument's direction make of it."""
    for bar in drawn_bars(chart):
        if bar["change"] < 0:
            assert bar["top"] == pytest.approx(bar["zero_y"], abs=0.2) and bar["bottom"] > bar["zero_y"], bar
        else:
            assert bar["bottom"] == pytest.approx(bar["zero_y"], abs=0.2) and bar["top"] < bar["zero_y"], bar
        assert bar["words"][1] == charts.verdict(bar["change"], chart.direction), bar


def curated_sections(accession):
    from trials import models as m

    study = m.Study.objects.get(accession=accession)
    return {s.instrument.slug: s for s in sections_of(study)}


def test_ncr_000006_lead_in_decline_then_slower_decline_on_alsfrs_r(curated_dataset):
    """ALSFRS-R −3.77 points/3 months before treatment, −0.39 points/9 months after: the decline slowed.
    Both are falls on a higher-is-better scale; neither may be drawn as a rise or as a point."""
    [chart] = curated_sections("NCR-000006")["alsfrs-r"].charts
    assert chart.kind == "change" and chart.has_lead_in
    lead_in, treated = sorted(drawn_bars(chart), key=lambda bar: bar["start"])

    assert (lead_in["start"], lead_in["end"], lead_in["change"]) == (-3, 0, -3.77)
    assert (treated["start"], treated["end"], treated["change"]) == (0, 9, -0.39)
    # The lead-in lies before treatment starts; the treatment period after it.
    assert lead_in["right"] <= lead_in["treatment_x"] <= treated["left"]
    # Both fall below zero, the lead-in's about ten times as far.
    assert lead_in["top"] == pytest.approx(lead_in["zero_y"], abs=0.2) and treated["top"] == pytest.approx(
        treated["zero_y"], abs=0.2
    )
    depth = (lead_in["bottom"] - lead_in["zero_y"]) / (treated["bottom"] - treated["zero_y"])
    assert depth == pytest.approx(3.77 / 0.39, rel=0.1)
    assert lead_in["words"] == ["−3.77 points/3 months", "worsening"]
    assert treated["words"] == ["−0.39 points/9 months", "worsening"]
    assert_drawn_as_stated(chart)


def test_ncr_000006_aals_worsened_before_treatment_and_improved_after(curated_dataset):
    """AALS (lower is better): +9.26 points/3 months in the lead-in is a worsening, −17.97/9 months an improvement."""
    [chart] = curated_sections("NCR-000006")["aals"].charts
    lead_in, treated = sorted(drawn_bars(chart), key=lambda bar: bar["start"])

    assert lead_in["bottom"] == pytest.approx(lead_in["zero_y"], abs=0.2)  # drawn upward: a rise
    assert lead_in["words"] == ["+9.26 points/3 months", "worsening"]
    assert treated["top"] == pytest.approx(treated["zero_y"], abs=0.2)  # drawn downward: a fall
    assert treated["words"] == ["−17.97 points/9 months", "improvement"]
    assert lead_in["right"] <= lead_in["treatment_x"]
    assert_drawn_as_stated(chart)


@pytest.mark.parametrize(
    ("slug", "change", "words"), [("mrs", -0.8, "−0.8 points/2 months"), ("nihss", -3.1, "−3.1 points/12 months")]
)
def test_ncr_000014_improvements_on_lower_is_better_scales_are_drawn_as_improvements(curated_dataset, slug, change, words):
    """“较基线提高了 0.8 分 / 3.1 分” (improved from baseline) on the mRS and the NIHSS, where lower is better."""
    section = curated_sections("NCR-000014")[slug]
    [chart] = [chart for chart in section.charts if chart.kind == "change"]
    [bar] = drawn_bars(chart)
    root = ElementTree.fromstring(str(chart.svg))

    assert bar["change"] == change and bar["start"] == 0
    assert bar["top"] == pytest.approx(bar["zero_y"], abs=0.2) and bar["bottom"] > bar["zero_y"]
    assert bar["words"] == [words, "improvement"]
    assert "↓ Lower is better: a fall is an improvement" in [t.text for t in root.iter(f"{SVG}text")]
    assert_drawn_as_stated(chart)


def test_the_check_catches_an_inverted_chart(alsfrs):
    """The guard above can fail: a chart whose bar is flipped, or whose words contradict the sign, is caught."""
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=6, change_value=-2.0, statistic=c.Statistic.MEAN_CHANGE)
    [chart] = sections_of(study)[0].charts
    assert_drawn_as_stated(chart)

    flipped = chart.svg.replace(">worsening<", ">improvement<")
    chart.svg = flipped
    with pytest.raises(AssertionError):
        assert_drawn_as_stated(chart)


def test_every_curated_change_is_drawn_as_stated(curated_dataset):
    from trials import models as m

    drawn = 0
    for study in m.Study.objects.all():
        for section in sections_of(study):
            for chart in section.charts:
                if chart.kind == "change" and chart.plottable:
                    assert_drawn_as_stated(chart)
                    drawn += len(drawn_bars(chart))
    assert drawn >= 7  # NCR-000006's four, NCR-000014's three


def test_an_effect_measure_is_not_labelled_with_the_instruments_direction():
    death = f.InstrumentFactory(slug="death", name="Death", direction=c.Direction.LOWER_IS_BETTER)
    study = f.StudyFactory()
    outcome(study, death, timepoint=12, value=0.3, statistic=c.Statistic.RISK_REDUCTION)

    [section] = sections_of(study)

    assert "Lower is better" not in section.direction_label
    assert section.direction_label == "Relative risk reduction: above 0 means fewer events"


def test_outcomes_come_in_the_same_order_in_both_languages():
    study = f.StudyFactory()
    for slug, name, name_zh in (("a", "Alpha scale", "乙量表"), ("b", "Beta scale", "甲量表")):
        instrument = f.InstrumentFactory(slug=slug, name=name, name_zh=name_zh, abbreviation="")
        outcome(study, instrument, timepoint=3, value=1.0)

    english = [s.instrument.slug for s in sections_of(study)]
    with translation.override("zh-hans"):
        chinese = [s.instrument.slug for s in sections_of(study)]

    assert english == chinese == ["a", "b"]


def test_units_and_time_are_translated_and_pluralised(alsfrs):
    study = f.StudyFactory()
    outcome(study, alsfrs, timepoint=1, change_value=2.0, statistic=c.Statistic.MEAN_CHANGE)

    [bar] = sections_of(study)[0].charts[0].series[0].bars
    assert bar.label == "+2 points/1 month"
    with translation.override("zh-hans"):
        [bar] = sections_of(study)[0].charts[0].series[0].bars
        assert bar.label == "+2 分/1 个月"
        assert bar.verdict == "改善"
