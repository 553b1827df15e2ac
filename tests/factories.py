"""Factories for tests: `StudyFactory()` is a published interventional study with nothing else;
`full_study()` adds a cohort, a cell product, an outcome and an adverse event."""

import datetime as dt

import factory

from trials import choices as c
from trials import models as m


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Condition
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"condition-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").capitalize())
    name_zh = ""


class CellTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CellType
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"cell-type-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").capitalize())
    category = c.CellCategory.MSC


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Instrument
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"instrument-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.upper())
    abbreviation = factory.LazyAttribute(lambda o: o.slug.upper())
    direction = c.Direction.HIGHER_IS_BETTER


class SourceDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.SourceDocument
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"doc-{n}")
    title = factory.Sequence(lambda n: f"Source document {n}")
    language = c.Language.ZH


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Study

    accession = factory.Sequence(lambda n: f"NCR-{900000 + n:06d}")
    title = factory.Sequence(lambda n: f"Cell therapy study {n}")
    start_date = None
    study_type = c.StudyType.INTERVENTIONAL
    phase = c.Phase.PHASE1
    overall_status = c.OverallStatus.COMPLETED
    # A completed study has ended: its completion date is part of the status (trials_study_completed_has_end).
    completion_date = factory.LazyAttribute(
        lambda o: (
            dt.date(max(2020, o.start_date.year if o.start_date else 0), 12, 31)
            if o.overall_status == c.OverallStatus.COMPLETED
            else None
        )
    )
    completion_date_precision = factory.LazyAttribute(lambda o: c.DatePrecision.YEAR if o.completion_date else "")
    curation_state = c.CurationState.PUBLISHED
    retraction_reason = factory.LazyAttribute(
        lambda o: "Retracted in a test." if o.curation_state == c.CurationState.RETRACTED else ""
    )


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Cohort

    study = factory.SubFactory(StudyFactory)
    label = factory.Sequence(lambda n: f"Arm {n}")
    role = c.CohortRole.EXPERIMENTAL
    n_enrolled = 10


class InterventionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Intervention

    cohort = factory.SubFactory(CohortFactory)
    kind = c.InterventionKind.CELL_PRODUCT
    name = "Umbilical cord MSC"
    cell_type = factory.SubFactory(CellTypeFactory, slug="umbilical-cord-msc", name="Umbilical cord MSC")
    source_tissue = c.SourceTissue.UMBILICAL_CORD
    donor = c.Donor.ALLOGENEIC
    route = c.Route.INTRATHECAL
    dose_cells_per_kg = 1e6


class OutcomeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.OutcomeMeasure

    study = factory.SubFactory(StudyFactory)
    cohort = None
    instrument = factory.SubFactory(InstrumentFactory, slug="alsfrs-r", name="ALSFRS-R", direction=c.Direction.HIGHER_IS_BETTER)
    statistic = c.Statistic.MEAN
    timepoint = 6
    timepoint_unit = c.TimeUnit.MONTH
    baseline_value = 30.0
    value = 28.0


class AdverseEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.AdverseEvent

    study = factory.SubFactory(StudyFactory)
    cohort = None
    term = "Headache"
    organ_class = c.OrganClass.NERVOUS
    serious = c.Seriousness.NON_SERIOUS
    n_affected = 1
    n_at_risk = 10


class RegistryIdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.RegistryIdentifier

    study = factory.SubFactory(StudyFactory)
    registry = c.Registry.NCT
    value = factory.Sequence(lambda n: f"NCT{10000000 + n:08d}")


class PublicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Publication

    study = factory.SubFactory(StudyFactory)
    title = factory.Sequence(lambda n: f"Results of study {n}")
    doi = factory.Sequence(lambda n: f"10.1000/test.{n}")
    pmid = factory.Sequence(lambda n: str(30000000 + n))


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Organisation
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"organisation-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    kind = c.OrganisationKind.ACADEMIC
    country = "CN"


class StudyOrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.StudyOrganisation

    study = factory.SubFactory(StudyFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = c.OrganisationRole.LEAD_SPONSOR


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Site

    study = factory.SubFactory(StudyFactory)
    facility = factory.Sequence(lambda n: f"Hospital {n}")
    city = "Nanjing"
    country = "CN"
    status = c.OverallStatus.RECRUITING


class WithdrawalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Withdrawal

    cohort = factory.SubFactory(CohortFactory)
    reason = c.WithdrawalReason.LOST_TO_FOLLOW_UP
    n = 1


class BaselineMeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.BaselineMeasure

    cohort = factory.SubFactory(CohortFactory)
    kind = c.BaselineKind.AGE
    statistic = c.BaselineStatistic.MEAN
    value = 52.0
    unit = "years"
    dispersion_type = c.BaselineDispersion.SD
    dispersion_value = 9.5


def full_study(**study_fields) -> m.Study:
    """A published study with one condition, a cohort with a cell product, one numeric outcome,
    one serious adverse event, a registry id and a publication."""
    study = StudyFactory(**study_fields)
    condition = ConditionFactory(slug="amyotrophic-lateral-sclerosis", name="Amyotrophic lateral sclerosis")
    m.StudyCondition.objects.create(study=study, condition=condition)
    m.StudyCountry.objects.create(study=study, country="CN")
    cohort = CohortFactory(study=study)
    InterventionFactory(cohort=cohort)
    OutcomeFactory(study=study, cohort=cohort)
    AdverseEventFactory(study=study, cohort=cohort, term="Death", serious=c.Seriousness.SERIOUS, n_affected=1)
    RegistryIdentifierFactory(study=study)
    PublicationFactory(study=study)
    return study


def a_document(**overrides) -> dict:
    """A published study's whole document (needs the `vocab` fixture's vocabularies)."""
    document = {
        "title": "UC-MSC in ALS",
        "title_zh": "脐带间充质干细胞治疗肌萎缩侧索硬化",
        "study_type": "interventional",
        "phase": "phase1",
        "overall_status": "COMPLETED",
        "start_date": "2016",
        "completion_date": "2016-09",
        "enrollment": 29,
        "enrollment_type": "actual",
        "countries": ["CN"],
        "curation_state": "published",
        "conditions": [{"condition": "amyotrophic-lateral-sclerosis", "detail": "sporadic"}],
        "registry_ids": [{"registry": "NCT", "value": "NCT02354625"}],
        "publications": [{"title": "Short-term efficacy", "journal": "山东医药", "date": "2016-09-30", "doi": "10.1000/x.1"}],
        "cohorts": [
            {
                "label": "UC-MSC",
                "role": "experimental",
                "n_enrolled": 29,
                "interventions": [
                    {
                        "kind": "cell_product",
                        "name": "UC-MSC",
                        "cell_type": "umbilical-cord-msc",
                        "donor": "allogeneic",
                        "route": "intrathecal",
                    }
                ],
            }
        ],
        "outcomes": [
            {
                "cohort": "UC-MSC",
                "instrument": "alsfrs-r",
                "statistic": "mean",
                "timepoint": 28,
                "timepoint_unit": "day",
                "value": 40,
            }
        ],
        "adverse_events": [
            {"cohort": "UC-MSC", "term": "Pyrexia", "organ_class": "general", "serious": "no", "n_affected": 2, "n_at_risk": 29}
        ],
    }
    document.update(overrides)
    return document
