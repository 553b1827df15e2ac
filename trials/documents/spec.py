"""The study document, defined once: which keys each part has, in which order, and what they mean.

A study document is one study with all its rows, as the API serves and takes it, as `export_studies`
writes and `import_studies` reads, as a published version freezes it and as the compare page diffs it.
Everything that reads, writes or compares documents walks these definitions; nothing else spells a
document's field list.

A key is one of:
- a model field of the same name, converted to and from JSON by its type (`trials.documents.values`);
- a partial date (`dates`): the field and its `<field>_precision`, spelled "2018", "2018-06" or "2018-06-03";
- a vocabulary entry (`vocabularies`), spelled by its slug;
- `cohort`: one of the study's cohorts, spelled by its label (unique within the study);
- `key`: the row's stable identity, kept across edits, revisions, export/import and restore.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import models
from django.utils.translation import gettext_lazy as _

from trials import models as m

# The format's name, written into exports and answered by /api/v1/version/. Format 2 added row keys and
# gave `version` its public meaning (the published version's number); format 1 files still import.
DOCUMENT_FORMAT = "neurocell-registry/2"
READABLE_FORMATS = ("neurocell-registry/1", DOCUMENT_FORMAT)

# Keys the registry owns: sent back unchanged they are ignored, they are never taken from a client.
SERVER_OWNED = ("accession", "version", "updated_at")
# Keys only the review workflow changes (trials.services.workflow); a document may repeat them, not change them.
WORKFLOW_OWNED = ("curation_state", "retraction_reason")


@dataclass(frozen=True)
class Part:
    """One list of rows in the document (`outcomes`, or `interventions` within a cohort)."""

    name: str
    model: Any  # a model class; Any, so that its manager and fields can be reached without casts
    keys: tuple[str, ...]
    label: Any  # the section's heading on the compare page (lazy translation)
    related_name: str = ""  # the parent's manager holding these rows; defaults to `name`
    parent_field: str = "study"
    dates: frozenset[str] = frozenset()
    vocabularies: Mapping[str, tuple[Any, str]] = field(default_factory=dict)
    # Rows of a part without `key` are told apart by these (a condition by its slug, a source by its document).
    natural: tuple[str, ...] = ()
    # Keys computed for readers and ignored on input (a registry id's link).
    computed: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    children: tuple[Part, ...] = ()

    @property
    def keyed(self) -> bool:
        return "key" in self.keys

    @property
    def manager(self) -> str:
        return self.related_name or self.name

    @property
    def field_keys(self) -> tuple[str, ...]:
        """Keys stored on the row itself (not computed, not nested lists)."""
        nested = {child.name for child in self.children}
        return tuple(key for key in self.keys if key not in self.computed and key not in nested)

    def field(self, key: str) -> models.Field:
        return model_field(self.model, key)


def model_field(model: type[models.Model], name: str) -> models.Field:
    """A concrete field of a model (the document's keys never name a relation's reverse side)."""
    return cast(models.Field, model._meta.get_field(name))


CONDITIONS = Part(
    "conditions",
    m.StudyCondition,
    ("condition", "detail"),
    label=_("Conditions"),
    related_name="study_conditions",
    vocabularies={"condition": (m.Condition, "slug")},
    natural=("condition",),
)
MILESTONES = Part(
    "milestones",
    m.RegulatoryMilestone,
    ("key", "kind", "agency", "date", "reference", "note"),
    label=_("Regulatory milestones"),
    dates=frozenset({"date"}),
    natural=("kind", "agency", "date"),
)
REGISTRY_IDS = Part(
    "registry_ids",
    m.RegistryIdentifier,
    ("key", "registry", "value", "note", "url"),
    label=_("Registry identifiers"),
    natural=("registry", "value"),
    computed={"url": lambda row: row.url},
)
PUBLICATIONS = Part(
    "publications",
    m.Publication,
    (
        "key", "title", "title_zh", "title_translated", "first_author", "journal", "date", "doi", "pmid", "pmcid",
        "citation", "url",
    ),
    label=_("Publications"),
    dates=frozenset({"date"}),
    natural=("title",),
)  # fmt: skip
SOURCES = Part(
    "sources",
    m.Source,
    ("document", "locator", "curator_note", "curator_note_zh"),
    label=_("Sources and curator notes"),
    vocabularies={"document": (m.SourceDocument, "key")},
    natural=("document",),
)
INTERVENTIONS = Part(
    "interventions",
    m.Intervention,
    (
        "key", "kind", "name", "name_zh", "cell_type", "source_tissue", "donor", "product_name", "manufacturing_notes",
        "route", "route_detail", "dose_cells_total", "dose_cells_per_kg", "dose_text", "dose_text_zh",
        "n_administrations", "schedule", "schedule_zh",
    ),
    label=_("Interventions"),
    parent_field="cohort",
    vocabularies={"cell_type": (m.CellType, "slug")},
    natural=("kind", "name"),
)  # fmt: skip
COHORTS = Part(
    "cohorts",
    m.Cohort,
    (
        "key", "label", "label_zh", "role", "n_enrolled", "n_analysed", "age_summary", "sex_summary", "stage",
        "stage_zh", "injury_level", "ais_grade", "time_since_onset", "description", "description_zh", "interventions",
    ),
    label=_("Cohorts"),
    natural=("label",),
    children=(INTERVENTIONS,),
)  # fmt: skip
OUTCOMES = Part(
    "outcomes",
    m.OutcomeMeasure,
    (
        "key", "cohort", "instrument", "measure_detail", "measure_detail_zh", "outcome_type", "timepoint",
        "timepoint_to", "timepoint_unit", "is_last_follow_up", "timepoint_not_reported", "statistic",
        "baseline_value", "baseline_dispersion", "value", "change_value", "change_reported", "change_reported_as",
        "dispersion_type", "dispersion_value", "dispersion_lower", "dispersion_upper", "n_analysed", "p_value",
        "p_qualifier", "p_text", "finding", "finding_zh",
    ),
    label=_("Outcomes"),
    vocabularies={"instrument": (m.Instrument, "slug")},
    natural=(
        "cohort", "instrument", "measure_detail", "timepoint", "timepoint_to", "timepoint_unit", "is_last_follow_up",
        "statistic",
    ),
)  # fmt: skip
ADVERSE_EVENTS = Part(
    "adverse_events",
    m.AdverseEvent,
    (
        "key", "cohort", "term", "term_zh", "organ_class", "scope", "serious", "grade", "relatedness",
        "attributed_to", "n_events", "n_affected", "n_at_risk", "onset", "outcome", "description", "description_zh",
    ),
    label=_("Adverse events"),
    natural=("cohort", "term", "serious", "grade", "relatedness", "attributed_to"),
)  # fmt: skip

# The study's own keys, in document order; `countries` (ISO codes) and the parts follow as placed here.
STUDY_KEYS = (
    "accession", "title", "title_zh", "title_translated", "acronym", "brief_summary", "brief_summary_zh",
    "study_type", "phase", "phase_reported", "allocation", "masking", "control_type", "overall_status",
    "start_date", "completion_date", "enrollment", "enrollment_type", "follow_up_months", "lead_in_months",
    "sponsor", "institutions", "countries", "patient_pays", "patient_pays_evidence", "peer_reviewed",
    "peer_reviewed_evidence", "prospective_registration", "prospective_registration_evidence", "status_verified_on",
    "curation_state", "retraction_reason",
)  # fmt: skip
STUDY_DATES = frozenset({"start_date", "completion_date"})
PARTS = (CONDITIONS, MILESTONES, REGISTRY_IDS, PUBLICATIONS, SOURCES, COHORTS, OUTCOMES, ADVERSE_EVENTS)
PARTS_BY_NAME = {part.name: part for part in (*PARTS, INTERVENTIONS)}
# Every key a document has, in order: the study's, its parts', then what the registry adds.
DOCUMENT_KEYS = (*STUDY_KEYS, *(part.name for part in PARTS), "version", "updated_at")
# The study fields a document sets (its own keys less the registry's and the workflow's).
STUDY_FIELD_KEYS = tuple(
    key for key in STUDY_KEYS if key not in SERVER_OWNED and key not in WORKFLOW_OWNED and key != "countries"
)
# Parts whose rows carry a cohort label.
COHORT_CHILDREN = ("outcomes", "adverse_events")


def cohort_key(part: Part) -> bool:
    return part.name in COHORT_CHILDREN


# --- vocabularies and source documents, as export_studies writes them and import_studies reads them ---


@dataclass(frozen=True)
class Vocabulary:
    name: str
    model: Any
    identity: str
    keys: tuple[str, ...]


VOCABULARIES = (
    Vocabulary("conditions", m.Condition, "slug", ("name", "name_zh", "mesh_id", "parent", "synonyms")),
    Vocabulary("cell_types", m.CellType, "slug", ("name", "name_zh", "category", "cell_ontology_id", "description", "synonyms")),
    Vocabulary(
        "instruments",
        m.Instrument,
        "slug",
        ("name", "name_zh", "abbreviation", "direction", "range_min", "range_max", "unit", "description", "synonyms"),
    ),
    Vocabulary(
        "source_documents",
        m.SourceDocument,
        "key",
        ("title", "language", "publisher", "url", "file_name", "published_on", "notes"),
    ),
)
VOCABULARIES_BY_NAME = {vocabulary.name: vocabulary for vocabulary in VOCABULARIES}
