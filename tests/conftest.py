import pytest
from django.conf import settings
from django.utils import translation

from tests import factories
from tests import factories as f


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a test that activates Chinese (a request to /zh-hans/,
    an explicit `activate`) would otherwise leave it active for the tests after it in the same thread."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def study(db):
    return factories.full_study()


@pytest.fixture
def curated_dataset(db):
    """The real curated dataset, imported as `make run` does."""
    from django.core.management import call_command

    call_command("import_studies", verbosity=0)


@pytest.fixture
def vocab(db):
    """The vocabularies `factories.a_document` names."""
    f.ConditionFactory(slug="amyotrophic-lateral-sclerosis", name="ALS")
    f.CellTypeFactory(slug="umbilical-cord-msc", name="UC-MSC")
    f.InstrumentFactory(slug="alsfrs-r", name="ALSFRS-R", range_min=0, range_max=48)
