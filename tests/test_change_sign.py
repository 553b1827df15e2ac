"""A change's sign and the source's words for it agree, or the change is refused: by clean() with the
instrument's direction, and by the database for words that fix the sign on any scale."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests import factories as f
from trials import choices as c

pytestmark = pytest.mark.django_db


@pytest.fixture
def nihss():
    return f.InstrumentFactory(
        slug="nihss", name="NIH Stroke Scale", direction=c.Direction.LOWER_IS_BETTER, range_min=0, range_max=42
    )


def change(instrument, value, words):
    return f.OutcomeFactory.build(
        study=f.StudyFactory(), instrument=instrument, cohort=None, timepoint=12, timepoint_unit=c.TimeUnit.MONTH,
        statistic=c.Statistic.MEAN_CHANGE, baseline_value=None, value=None, change_value=value, change_reported_as=words,
    )  # fmt: skip


def test_an_improvement_on_a_lower_is_better_scale_is_a_fall(nihss):
    change(nihss, -3.1, c.ChangeReportedAs.IMPROVEMENT).full_clean()
    with pytest.raises(ValidationError) as error:
        change(nihss, 3.1, c.ChangeReportedAs.IMPROVEMENT).full_clean()
    assert "change_reported_as" in error.value.message_dict


@pytest.mark.parametrize(
    ("value", "words"),
    [(-1.0, c.ChangeReportedAs.INCREASE), (2.0, c.ChangeReportedAs.DECREASE), (0.5, c.ChangeReportedAs.NO_CHANGE)],
)
def test_the_database_refuses_a_change_contradicting_its_words(nihss, value, words):
    row = change(nihss, value, words)
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


def test_the_database_keeps_changes_that_match_their_words(nihss):
    for value, words in (
        (1.0, c.ChangeReportedAs.INCREASE),
        (-2.0, c.ChangeReportedAs.DECREASE),
        (0.0, c.ChangeReportedAs.NO_CHANGE),
    ):
        change(nihss, value, words).save()
