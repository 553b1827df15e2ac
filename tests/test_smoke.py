from trials.models import Study


def test_full_study_factory_builds_a_public_study(study):
    assert Study.objects.public().get() == study
    assert study.cohorts.get().interventions.get().cell_type.slug == "umbilical-cord-msc"
