"""Studies as the WHO Trial Registration Data Set (TRDS 1.3.1), in the XML layout of ICTRP's downloads.

All 24 TRDS items are written for every study, in TRDS order, each element carrying its item number
(`trds="n"`); an item the sources do not give is an empty element, never a guess. The layout is checked
by `schemas/ictrp-trds.xsd`, and README.md ("WHO TRDS / ICTRP") maps each item to the document's keys.
This registry is secondary: item 1 names it and the study's accession, and the primary registries'
numbers are the study's registry identifiers (item 3).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django_countries import countries

from trials import choices as c

from .common import Vocabularies
from .fhir import label

SCHEMA_PATH = Path(__file__).parent / "schemas" / "ictrp-trds.xsd"
CONTENT_TYPE = "application/xml; charset=utf-8"
SOURCE_REGISTER = "NeuroCell Registry"
ROOT = "Trials_downloaded_from_ICTRP"


# The TRDS items in TRDS order: number, element, and the TrdsWriter method that fills it.
ITEMS: tuple[tuple[int, str, str], ...] = (
    (1, "Main", "main"),
    (2, "Date_registration", "date_registration"),
    (3, "Secondary_IDs", "secondary_ids"),
    (4, "Source_support", "source_support"),
    (5, "Primary_sponsor", "primary_sponsor"),
    (6, "Secondary_sponsor", "secondary_sponsor"),
    (7, "Public_contacts", "nothing"),
    (8, "Scientific_contacts", "nothing"),
    (9, "Public_title", "public_title"),
    (10, "Scientific_title", "scientific_title"),
    (11, "Countries", "countries"),
    (12, "Health_conditions", "conditions"),
    (13, "Interventions", "interventions"),
    (14, "Criteria", "criteria"),
    (15, "Study_type", "study_type"),
    (16, "Date_enrollment", "date_enrollment"),
    (17, "Target_size", "target_size"),
    (18, "Recruitment_status", "recruitment_status"),
    (19, "Primary_outcomes", "primary_outcomes"),
    (20, "Secondary_outcomes", "secondary_outcomes"),
    (21, "Ethics_reviews", "ethics_reviews"),
    (22, "Completion_date", "completion_date"),
    (23, "Results", "results"),
    (24, "IPD_sharing", "nothing"),
)
ITEM_ELEMENTS = tuple((number, element) for number, element, _ in ITEMS)


def _text(parent: ET.Element, tag: str, value: Any = "", **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: v for k, v in attributes.items() if v})
    if value not in (None, ""):
        element.text = str(value)
    return element


def _milestones(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [row for row in document["milestones"] if row["kind"] == kind]


class TrdsWriter:
    """One response's XML: `base` is the site's absolute root, for each record's web address."""

    def __init__(self, base: str, vocabularies: Vocabularies | None = None) -> None:
        self.base = base.rstrip("/")
        self.vocabularies = vocabularies or Vocabularies()

    # --- documents to XML ------------------------------------------------------------------------

    def trial(self, document: dict[str, Any]) -> ET.Element:
        trial = ET.Element("Trial")
        for number, tag, method in ITEMS:
            element = ET.SubElement(trial, tag, {"trds": str(number)})
            getattr(self, method)(element, document)
        return trial

    def trials(self, documents: Iterable[dict[str, Any]], export_date: str) -> ET.Element:
        root = ET.Element(ROOT, {"export_date": export_date})
        for document in documents:
            root.append(self.trial(document))
        return root

    @staticmethod
    def serialize(element: ET.Element) -> bytes:
        ET.indent(element)
        return ET.tostring(element, encoding="utf-8", xml_declaration=True)

    # --- the 24 items ----------------------------------------------------------------------------

    def main(self, element: ET.Element, document: dict[str, Any]) -> None:
        _text(element, "TrialID", document["accession"])
        _text(element, "Source_Register", SOURCE_REGISTER)
        _text(element, "web_address", f"{self.base}/studies/{document['accession']}/")
        _text(element, "Last_Refreshed_on", (document.get("updated_at") or "")[:10])
        _text(element, "Record_status", "retracted" if document["curation_state"] == c.CurationState.RETRACTED else "current")

    def date_registration(self, element: ET.Element, document: dict[str, Any]) -> None:
        dates = [row["date"] for row in _milestones(document, c.MilestoneKind.REGISTERED) if row.get("date")]
        if dates:
            element.text = min(dates)

    def secondary_ids(self, element: ET.Element, document: dict[str, Any]) -> None:
        for row in document["registry_ids"]:
            _text(element, "Secondary_ID", row["value"], registry=label(c.Registry, row["registry"]))

    def source_support(self, element: ET.Element, document: dict[str, Any]) -> None:
        """The study document has no funding source apart from its sponsor: left empty rather than assumed."""

    def primary_sponsor(self, element: ET.Element, document: dict[str, Any]) -> None:
        if document.get("sponsor"):
            element.text = document["sponsor"]

    def secondary_sponsor(self, element: ET.Element, document: dict[str, Any]) -> None:
        """Institutions are the study's sites, not its sponsors: not listed here."""

    def nothing(self, element: ET.Element, document: dict[str, Any]) -> None:
        """An item the registry does not record (contacts, IPD sharing)."""

    def public_title(self, element: ET.Element, document: dict[str, Any]) -> None:
        _text(element, "Title", document["title"], lang="en")
        if document.get("title_zh"):
            _text(element, "Title", document["title_zh"], lang="zh")

    def scientific_title(self, element: ET.Element, document: dict[str, Any]) -> None:
        _text(element, "Title", document["title"])
        _text(element, "Acronym", document.get("acronym"))

    def countries(self, element: ET.Element, document: dict[str, Any]) -> None:
        for code in document.get("countries") or []:
            _text(element, "Country", countries.name(code) or code, code=code)

    def conditions(self, element: ET.Element, document: dict[str, Any]) -> None:
        for row in document["conditions"]:
            term = self.vocabularies.conditions.get(row["condition"])
            condition = _text(element, "Condition")
            _text(condition, "Name", term.name if term else row["condition"])
            _text(condition, "Code", term.code if term else "", system="MeSH" if term and term.code else "")
            _text(condition, "Keyword", row.get("detail"))

    def interventions(self, element: ET.Element, document: dict[str, Any]) -> None:
        for cohort in document["cohorts"]:
            for row in cohort["interventions"]:
                intervention = _text(element, "Intervention", kind=row["kind"])
                _text(intervention, "Name", row["name"])
                _text(intervention, "Arm", cohort["label"])
                _text(intervention, "Cell_type", self.vocabularies.name(self.vocabularies.cell_types, row.get("cell_type")))
                route = row.get("route") or ""
                _text(intervention, "Route", label(c.Route, route) if route and route != c.Route.UNKNOWN else "")
                _text(intervention, "Dose", row.get("dose_text"))
                _text(intervention, "Schedule", row.get("schedule"))

    def criteria(self, element: ET.Element, document: dict[str, Any]) -> None:
        """Eligibility criteria are not part of the study document (participants are described per cohort):
        the element stays with empty criteria so that the item is present and visibly unknown."""
        _text(element, "Inclusion_criteria")
        _text(element, "Exclusion_criteria")

    def study_type(self, element: ET.Element, document: dict[str, Any]) -> None:
        _text(element, "Type", label(c.StudyType, document["study_type"]), code=document["study_type"])
        design = [
            label(choices, document[key])
            for key, choices in (("allocation", c.Allocation), ("masking", c.Masking), ("control_type", c.ControlType))
            if document.get(key)
        ]
        _text(element, "Design", "; ".join(design))
        phase = document.get("phase") or ""
        _text(element, "Phase", document.get("phase_reported") or label(c.Phase, phase), code=phase)

    def date_enrollment(self, element: ET.Element, document: dict[str, Any]) -> None:
        if document.get("start_date"):
            element.text = document["start_date"]

    def target_size(self, element: ET.Element, document: dict[str, Any]) -> None:
        if document.get("enrollment") is not None:
            element.text = str(document["enrollment"])
            element.set("type", document.get("enrollment_type") or "")

    def recruitment_status(self, element: ET.Element, document: dict[str, Any]) -> None:
        status = document["overall_status"]
        if status != c.OverallStatus.UNKNOWN:
            element.text = label(c.OverallStatus, status)
            element.set("code", status)

    def _outcomes(self, element: ET.Element, document: dict[str, Any], primary: bool) -> None:
        seen: set[tuple] = set()
        for row in document["outcomes"]:
            if (row["outcome_type"] == c.OutcomeType.PRIMARY) != primary:
                continue
            name = self.vocabularies.name(self.vocabularies.instruments, row["instrument"])
            detail = row.get("measure_detail") or ""
            if (name, detail) in seen:
                continue
            seen.add((name, detail))
            outcome = _text(element, "Outcome", type=row["outcome_type"])
            _text(outcome, "Measure", name)
            _text(outcome, "Detail", detail)

    def primary_outcomes(self, element: ET.Element, document: dict[str, Any]) -> None:
        self._outcomes(element, document, primary=True)

    def secondary_outcomes(self, element: ET.Element, document: dict[str, Any]) -> None:
        self._outcomes(element, document, primary=False)

    def ethics_reviews(self, element: ET.Element, document: dict[str, Any]) -> None:
        for row in _milestones(document, c.MilestoneKind.ETHICS_APPROVED):
            review = _text(element, "Ethics_review")
            _text(review, "Status", "Approved")
            _text(review, "Approval_date", row.get("date"))
            _text(review, "Committee", label(c.Agency, row["agency"]))
            _text(review, "Reference", row.get("reference"))

    def completion_date(self, element: ET.Element, document: dict[str, Any]) -> None:
        if document.get("completion_date"):
            element.text = document["completion_date"]

    def results(self, element: ET.Element, document: dict[str, Any]) -> None:
        dates = sorted(row["date"] for row in document["publications"] if row.get("date"))
        _text(element, "Date_first_publication", dates[0] if dates else "")
        for row in document["publications"]:
            url = row.get("url") or (f"https://doi.org/{row['doi']}" if row.get("doi") else "")
            if url:
                _text(element, "Url_link", url, title=row["title"][:300])
        findings = [row["finding"] for row in document["outcomes"] if row.get("finding")]
        _text(element, "Summary", " ".join(dict.fromkeys(findings)))
        _text(element, "Adverse_events", "; ".join(self._harm(row) for row in document["adverse_events"]))
        if document["outcomes"] or document["adverse_events"]:
            _text(element, "Results_url", f"{self.base}/api/v1/studies/{document['accession']}/")

    @staticmethod
    def _harm(row: dict[str, Any]) -> str:
        affected = "number affected not reported" if row.get("n_affected") is None else str(row["n_affected"])
        if row.get("n_at_risk") is not None:
            affected += f"/{row['n_at_risk']}"
        serious = " (serious)" if row["serious"] == c.Seriousness.SERIOUS else ""
        cohort = f" [{row['cohort']}]" if row.get("cohort") else ""
        return f"{row['term']}{serious}{cohort}: {affected}"
