"""Studies as FHIR R5 resources: a `ResearchStudy` per public study, an `AdverseEvent` per harms row.

Built from the study document, so a FHIR client reads what the API serves. Harms are aggregate counts
per cohort, not events of identified people: following the AdverseEvent Clinical Research IG's use of
R5, each AdverseEvent's subject is the cohort as a contained `Group` (no ResearchSubject, no Patient),
and the counts (participants affected, events, participants at risk) and the grade are extensions
defined by this registry (README, "FHIR"). Codes come from HL7's code systems where one fits; where
none does the concept is given as text, never as an invented code.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import translation
from django_countries import countries

from trials import choices as c

from .common import Vocabularies, registry_system

FHIR_VERSION = "5.0.0"
CONTENT_TYPE = "application/fhir+json"

PHASE_SYSTEM = "http://terminology.hl7.org/CodeSystem/research-study-phase"
PHASES = {
    c.Phase.EARLY_PHASE1: "early-phase-1",
    c.Phase.PHASE1: "phase-1",
    c.Phase.PHASE1_PHASE2: "phase-1-phase-2",
    c.Phase.PHASE2: "phase-2",
    c.Phase.PHASE2_PHASE3: "phase-2-phase-3",
    c.Phase.PHASE3: "phase-3",
    c.Phase.PHASE4: "phase-4",
    c.Phase.NOT_APPLICABLE: "n-a",
}
STATUS_SYSTEM = "http://hl7.org/fhir/research-study-status"
# ClinicalTrials.gov's overall status (ours) as R5's research-study-status; UNKNOWN has no code.
PROGRESS = {
    c.OverallStatus.NOT_YET_RECRUITING: "not-yet-recruiting",
    c.OverallStatus.RECRUITING: "recruiting",
    c.OverallStatus.ENROLLING_BY_INVITATION: "enrolling-by-invitation",
    c.OverallStatus.ACTIVE_NOT_RECRUITING: "active-but-not-recruiting",
    c.OverallStatus.SUSPENDED: "temporarily-closed-to-accrual",
    c.OverallStatus.TERMINATED: "terminated",
    c.OverallStatus.COMPLETED: "completed",
    c.OverallStatus.WITHDRAWN: "withdrawn",
}
# ResearchStudy.status is the record's publication status: a retracted study is retired, not deleted.
PUBLICATION_STATUS = {c.CurationState.PUBLISHED: "active", c.CurationState.RETRACTED: "retired"}
ARM_TYPE_SYSTEM = "http://hl7.org/fhir/research-study-arm-type"
ARM_TYPES = {
    c.CohortRole.EXPERIMENTAL: "experimental",
    c.CohortRole.ACTIVE_COMPARATOR: "active-comparator",
    c.CohortRole.PLACEBO: "placebo-comparator",
    c.CohortRole.SHAM: "sham-comparator",
    c.CohortRole.NO_INTERVENTION: "no-intervention",
    c.CohortRole.HISTORICAL_CONTROL: "other-arm",
    c.CohortRole.SINGLE_PARTICIPANT: "experimental",
}
OBJECTIVE_SYSTEM = "http://terminology.hl7.org/CodeSystem/research-study-objective-type"
OUTCOME_TYPES = {c.OutcomeType.PRIMARY: "primary", c.OutcomeType.SECONDARY: "secondary", c.OutcomeType.OTHER: "exploratory"}
PARTY_ROLE_SYSTEM = "http://hl7.org/fhir/research-study-party-role"
PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/research-study-prim-purp-type"
MESH_SYSTEM = "http://terminology.hl7.org/CodeSystem/MSH"
COUNTRY_SYSTEM = "urn:iso:std:iso:3166"
SERIOUSNESS_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
SERIOUSNESS = {c.Seriousness.SERIOUS: "serious", c.Seriousness.NON_SERIOUS: "non-serious"}
# The registry's own extensions (absolute under the serving site): aggregate counts and the grade.
EXTENSIONS = ("ae-participants-affected", "ae-events", "ae-participants-at-risk", "ae-grade")
FHIR_ID = re.compile(r"[^A-Za-z0-9\-.]")


def label(choices: Any, value: str) -> str:
    """A vocabulary value's English label (FHIR text is not localised per request)."""
    if not value:
        return ""
    with translation.override("en"):
        return str(choices(value).label) if value in choices.values else value


def concept(text: str, system: str = "", code: str = "", display: str = "") -> dict[str, Any]:
    result: dict[str, Any] = {}
    if system and code:
        result["coding"] = [{"system": system, "code": code, **({"display": display} if display else {})}]
    if text:
        result["text"] = text
    return result


def fhir_id(value: str) -> str:
    return FHIR_ID.sub("-", value)[:64]


class FhirBuilder:
    """Builds resources for one response: `base` is the site's absolute root (https://host), which
    anchors the registry's identifier system, its extensions and links to its pages."""

    def __init__(self, base: str, vocabularies: Vocabularies | None = None) -> None:
        self.base = base.rstrip("/")
        self.vocabularies = vocabularies or Vocabularies()

    @property
    def accession_system(self) -> str:
        return f"{self.base}/studies"

    def extension_url(self, name: str) -> str:
        return f"{self.base}/fhir/StructureDefinition/{name}"

    # --- ResearchStudy ---------------------------------------------------------------------------

    def research_study(self, document: dict[str, Any]) -> dict[str, Any]:
        accession = document["accession"]
        resource: dict[str, Any] = {
            "resourceType": "ResearchStudy",
            "id": accession,
            "meta": {
                **({"versionId": str(document["version"])} if document.get("version") else {}),
                **({"lastUpdated": document["updated_at"]} if document.get("updated_at") else {}),
            },
            "url": f"{self.base}/fhir/ResearchStudy/{accession}",
            "identifier": self.identifiers(document),
            "title": document["title"],
            "status": PUBLICATION_STATUS.get(document["curation_state"], "unknown"),
        }
        if document.get("version"):
            resource["version"] = str(document["version"])
        labels = []
        if document.get("acronym"):
            labels.append({"type": concept("Acronym", "http://hl7.org/fhir/title-type", "acronym"), "value": document["acronym"]})
        if document.get("title_zh"):
            labels.append(
                {"type": concept("Chinese title", "http://hl7.org/fhir/title-type", "language"), "value": document["title_zh"]}
            )
        if labels:
            resource["label"] = labels
        if document["study_type"] == c.StudyType.INTERVENTIONAL:
            resource["primaryPurposeType"] = concept("Treatment", PURPOSE_SYSTEM, "treatment")
        if document.get("phase"):
            resource["phase"] = concept(
                document.get("phase_reported") or label(c.Phase, document["phase"]), PHASE_SYSTEM, PHASES[document["phase"]]
            )
        elif document.get("phase_reported"):
            resource["phase"] = concept(document["phase_reported"])
        design = [
            concept(label(choices, document[key]))
            for key, choices in (
                ("study_type", c.StudyType),
                ("allocation", c.Allocation),
                ("masking", c.Masking),
                ("control_type", c.ControlType),
            )
            if document.get(key)
        ]
        if design:
            resource["studyDesign"] = design
        conditions = []
        for row in document["conditions"]:
            term = self.vocabularies.conditions.get(row["condition"])
            name = term.name if term else row["condition"]
            text = f"{name}: {row['detail']}" if row.get("detail") else name
            conditions.append(concept(text, MESH_SYSTEM, term.code if term else "", name))
        if conditions:
            resource["condition"] = conditions
        if document.get("countries"):
            resource["region"] = [concept(countries.name(code) or code, COUNTRY_SYSTEM, code) for code in document["countries"]]
        if document.get("brief_summary"):
            resource["descriptionSummary"] = document["brief_summary"]
        period = {k: document[d] for k, d in (("start", "start_date"), ("end", "completion_date")) if document.get(d)}
        if period:
            resource["period"] = period
        sites = [line.strip() for line in (document.get("institutions") or "").splitlines() if line.strip()]
        if sites:
            resource["site"] = [{"display": site} for site in sites]
        if document.get("retraction_reason"):
            resource["note"] = [{"text": f"Retracted: {document['retraction_reason']}"}]
        if document.get("sponsor"):
            resource["associatedParty"] = [
                {"name": document["sponsor"], "role": concept("Sponsor", PARTY_ROLE_SYSTEM, "sponsor")},
            ]
        resource["progressStatus"] = self.progress(document)
        recruitment = self.recruitment(document)
        if recruitment:
            resource["recruitment"] = recruitment
        groups = [self.comparison_group(cohort) for cohort in document["cohorts"]]
        if groups:
            resource["comparisonGroup"] = groups
        measures = self.outcome_measures(document)
        if measures:
            resource["outcomeMeasure"] = measures
        resource["relatedArtifact"] = self.related_artifacts(document)
        if not resource["meta"]:
            del resource["meta"]
        return resource

    def identifiers(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        identifiers: list[dict[str, Any]] = [
            {"use": "official", "system": self.accession_system, "value": document["accession"]},
        ]
        for row in document["registry_ids"]:
            identifier: dict[str, Any] = {"use": "secondary", "value": row["value"]}
            system = registry_system(row["registry"])
            if system:
                identifier["system"] = system
            identifier["type"] = concept(label(c.Registry, row["registry"]))
            identifiers.append(identifier)
        return identifiers

    def progress(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        status = document["overall_status"]
        overall: dict[str, Any] = {"state": concept("Overall study", STATUS_SYSTEM, "overall-study")}
        period = {k: document[d] for k, d in (("start", "start_date"), ("end", "completion_date")) if document.get(d)}
        if period:
            overall["period"] = period
        states = [overall]
        current: dict[str, Any] = {"state": concept(label(c.OverallStatus, status), STATUS_SYSTEM, PROGRESS.get(status, ""))}
        if status in PROGRESS:
            current["actual"] = True
        states.append(current)
        return states

    def recruitment(self, document: dict[str, Any]) -> dict[str, Any]:
        enrollment = document.get("enrollment")
        if enrollment is None:
            return {}
        if document.get("enrollment_type") == c.EnrollmentType.ACTUAL:
            return {"actualNumber": enrollment}
        return {"targetNumber": enrollment}

    def comparison_group(self, cohort: dict[str, Any]) -> dict[str, Any]:
        group: dict[str, Any] = {
            "linkId": fhir_id(cohort["key"] or cohort["label"]),
            "name": cohort["label"],
            "type": concept(label(c.CohortRole, cohort["role"]), ARM_TYPE_SYSTEM, ARM_TYPES.get(cohort["role"], "")),
        }
        parts = [cohort["description"]] if cohort.get("description") else []
        for intervention in cohort["interventions"]:
            details = [
                label(c.InterventionKind, intervention["kind"]),
                self.vocabularies.name(self.vocabularies.cell_types, intervention.get("cell_type")),
                label(c.Route, intervention.get("route") or "") if intervention.get("route") != c.Route.UNKNOWN else "",
                intervention.get("dose_text") or "",
                intervention.get("schedule") or "",
            ]
            parts.append(f"{intervention['name']} ({'; '.join(d for d in details if d)})")
        if cohort.get("n_enrolled") is not None:
            parts.append(f"Enrolled: {cohort['n_enrolled']}")
        if parts:
            group["description"] = "\n\n".join(parts)
        return group

    def outcome_measures(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        """The study's measures, once each (the document has a row per cohort, timepoint and statistic)."""
        seen: set[tuple] = set()
        measures = []
        for row in document["outcomes"]:
            name = self.vocabularies.name(self.vocabularies.instruments, row["instrument"])
            identity = (name, row.get("measure_detail") or "", row["outcome_type"])
            if identity in seen:
                continue
            seen.add(identity)
            measure: dict[str, Any] = {"name": name}
            kind = row["outcome_type"]
            measure["type"] = [concept(label(c.OutcomeType, kind), OBJECTIVE_SYSTEM, OUTCOME_TYPES.get(kind, ""))]
            if row.get("measure_detail"):
                measure["description"] = row["measure_detail"]
            measures.append(measure)
        return measures

    def related_artifacts(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        accession = document["accession"]
        artifacts: list[dict[str, Any]] = [
            {
                "type": "documentation",
                "label": "registry-record",
                "display": f"{accession} in the NeuroCell Registry",
                "document": {"url": f"{self.base}/studies/{accession}/", "contentType": "text/html"},
            },
        ]
        if document["outcomes"] or document["adverse_events"]:
            artifacts.append(
                {
                    "type": "documentation",
                    "label": "results",
                    "display": "Results and harms as reported (study document)",
                    "document": {"url": f"{self.base}/api/v1/studies/{accession}/", "contentType": "application/json"},
                }
            )
        if document["adverse_events"]:
            artifacts.append(
                {
                    "type": "documentation",
                    "label": "adverse-events",
                    "display": "Harms as FHIR AdverseEvent resources",
                    "document": {"url": f"{self.base}/fhir/AdverseEvent?study={accession}", "contentType": CONTENT_TYPE},
                }
            )
        for row in document["registry_ids"]:
            if row.get("url"):
                artifacts.append(
                    {
                        "type": "documentation",
                        "label": "progress",
                        "display": f"{label(c.Registry, row['registry'])} {row['value']}",
                        "document": {"url": row["url"]},
                    }
                )
        for row in document["publications"]:
            artifact: dict[str, Any] = {"type": "citation", "display": row["title"]}
            citation = row.get("citation") or ", ".join(
                part for part in (row.get("first_author"), row["title"], row.get("journal"), row.get("date")) if part
            )
            artifact["citation"] = citation
            if row.get("date"):
                artifact["publicationDate"] = row["date"]
            url = row.get("url") or (f"https://doi.org/{row['doi']}" if row.get("doi") else "")
            if not url and row.get("pmid"):
                url = f"https://pubmed.ncbi.nlm.nih.gov/{row['pmid']}/"
            if url:
                artifact["document"] = {"url": url}
            artifacts.append(artifact)
        return artifacts

    # --- AdverseEvent ----------------------------------------------------------------------------

    def adverse_events(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        cohorts = {cohort["label"]: cohort for cohort in document["cohorts"]}
        return [self.adverse_event(document, row, cohorts.get(row["cohort"] or "")) for row in document["adverse_events"]]

    def adverse_event(self, document: dict[str, Any], row: dict[str, Any], cohort: dict[str, Any] | None) -> dict[str, Any]:
        accession = document["accession"]
        at_risk = row.get("n_at_risk")
        group: dict[str, Any] = {
            "resourceType": "Group",
            "id": "participants",
            "type": "person",
            "membership": "enumerated",
            "name": cohort["label"] if cohort else "All participants",
        }
        size = at_risk
        if size is None:
            size = cohort.get("n_enrolled") if cohort else document.get("enrollment")
        if size is not None:
            group["quantity"] = size
        resource: dict[str, Any] = {
            "resourceType": "AdverseEvent",
            "id": fhir_id(f"{accession}-{row['key']}"),
            "contained": [group],
            "status": "completed",
            "actuality": "actual",
            "category": [concept(label(c.OrganClass, row["organ_class"]))],
            "code": concept(row["term"]),
            "subject": {"reference": "#participants", "display": group["name"]},
            "study": [{"reference": f"ResearchStudy/{accession}", "display": document["title"][:200]}],
        }
        serious = row["serious"]
        resource["seriousness"] = concept(label(c.Seriousness, serious), SERIOUSNESS_SYSTEM, SERIOUSNESS.get(serious, ""))
        if row.get("outcome") and row["outcome"] != c.AeOutcome.UNKNOWN:
            resource["outcome"] = [concept(label(c.AeOutcome, row["outcome"]))]
        attributed, related = row.get("attributed_to") or "", row.get("relatedness") or ""
        if attributed != c.Attribution.UNKNOWN or related != c.Relatedness.UNKNOWN:
            entity: dict[str, Any] = {"instanceCodeableConcept": concept(label(c.Attribution, attributed) or "Not reported")}
            if related and related != c.Relatedness.UNKNOWN:
                entity["causality"] = {"entityRelatedness": concept(label(c.Relatedness, related))}
            resource["suspectEntity"] = [entity]
        extensions = []
        for name, key in zip(EXTENSIONS, ("n_affected", "n_events", "n_at_risk", "grade"), strict=True):
            if row.get(key) is not None:
                extensions.append({"url": self.extension_url(name), "valueInteger": row[key]})
        if extensions:
            resource["extension"] = extensions
        notes = [text for text in (row.get("description"), f"Onset: {row['onset']}" if row.get("onset") else "") if text]
        if notes:
            resource["note"] = [{"text": text} for text in notes]
        return resource

    # --- Bundle ----------------------------------------------------------------------------------

    def bundle(self, resources: list[dict[str, Any]], self_url: str, total: int | None = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources) if total is None else total,
            "link": [{"relation": "self", "url": self_url}],
            "entry": [
                {
                    "fullUrl": f"{self.base}/fhir/{resource['resourceType']}/{resource['id']}",
                    "resource": resource,
                    "search": {"mode": "match"},
                }
                for resource in resources
            ],
        }
        return bundle
