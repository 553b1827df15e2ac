"""REST API v1: thin views over the shared FilterSet, the document serializers and the services.

Reads are public (published and retracted studies only) and throttled per address; writes need a
token or a session and the curator roles' permissions. Every list pages with a total count, selects
keys with `fields=` and streams every page as CSV with `format=csv`.
"""

from .base import ACCESSION_REGEX
from .evidence import OutcomeEvidenceView, SafetyEvidenceView
from .lists import (
    AdverseEventViewSet,
    ApiRootView,
    ApiVersionView,
    CellTypeViewSet,
    ConditionViewSet,
    InstrumentViewSet,
    OutcomeViewSet,
)
from .studies import StudyVersionViewSet, StudyViewSet
from .workflow import StudyWorkflowViewSet

__all__ = [
    "ACCESSION_REGEX",
    "AdverseEventViewSet",
    "ApiRootView",
    "ApiVersionView",
    "CellTypeViewSet",
    "ConditionViewSet",
    "InstrumentViewSet",
    "OutcomeEvidenceView",
    "OutcomeViewSet",
    "SafetyEvidenceView",
    "StudyVersionViewSet",
    "StudyViewSet",
    "StudyWorkflowViewSet",
]
