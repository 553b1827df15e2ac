import pytest

from tests import factories


@pytest.fixture
def study(db):
    return factories.full_study()


@pytest.fixture
def curated_dataset(db):
    """The real curated dataset, imported as `make run` does."""
    from django.core.management import call_command

    call_command("import_studies", verbosity=0)
