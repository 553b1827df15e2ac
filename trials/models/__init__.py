"""The registry's data model, by concern: vocabularies, the study, its arms, its results and harms, and
the review workflow's records.

Every invariant a curator could break is a database constraint first; `clean()` repeats it with a
message keyed by the field, so the admin, `import_studies` and the API report it where it belongs.
"""

from .arms import Cohort, Intervention
from .base import (
    Localized,
    constraint_name,
    format_partial_date,
    new_key,
    partial_date_check,
    period_end,
    period_start,
    require_precision,
)
from .clinic import BaselineMeasure, Site, StudyOrganisation, Withdrawal
from .imports import CtgovImport
from .references import Publication, RegistryIdentifier, RegulatoryMilestone, Source
from .results import (
    ON_SCALE_STATISTICS,
    AdverseEvent,
    CohortInStudyMixin,
    OutcomeMeasure,
    RowExists,
    expected_change_sign,
    has_results_exists,
    has_serious_ae_exists,
)
from .study import (
    AccessionCounter,
    Study,
    StudyCondition,
    StudyCountry,
    StudyQuerySet,
)
from .vocabularies import CellType, CodeSynonyms, Condition, Instrument, Organisation, SourceDocument
from .workflow import ReviewComment, StudyTransition, StudyVersion

__all__ = [
    "CtgovImport",
    "ON_SCALE_STATISTICS",
    "AccessionCounter",
    "AdverseEvent",
    "BaselineMeasure",
    "CellType",
    "CodeSynonyms",
    "Cohort",
    "CohortInStudyMixin",
    "Condition",
    "Instrument",
    "Intervention",
    "Localized",
    "Organisation",
    "OutcomeMeasure",
    "Publication",
    "RegistryIdentifier",
    "RegulatoryMilestone",
    "ReviewComment",
    "RowExists",
    "Site",
    "Source",
    "SourceDocument",
    "Study",
    "StudyCondition",
    "StudyCountry",
    "StudyOrganisation",
    "StudyQuerySet",
    "StudyTransition",
    "StudyVersion",
    "Withdrawal",
    "constraint_name",
    "expected_change_sign",
    "format_partial_date",
    "has_results_exists",
    "has_serious_ae_exists",
    "new_key",
    "partial_date_check",
    "period_end",
    "period_start",
    "require_precision",
]
