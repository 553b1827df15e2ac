"""A ClinicalTrials.gov API v2 study record (as /api/v2/studies/{nctId} returns it) read into a study document.

`map_record` returns the document a draft is made from and a report of every piece of the record: what
was *mapped* (a value with one meaning in both places), *guessed* (a reading the curator should confirm:
a vocabulary term matched by name, a route read from free text, an arm matched to a results group by its
title) and *left out* (what the document has no place for, or no vocabulary term matches). Whatever is
left out but worth reading (eligibility, collaborators, registered outcomes) is kept as text in the
study's source note for the ClinicalTrials.gov record, so nothing the curator needs is lost.

The document is complete: every key of every row is present (defaults where the record says nothing),
so that it equals the stored document read back, which is what lets a re-import tell the curator's
edits from ClinicalTrials.gov's (trials.services.ctgov).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from django_countries import countries as country_names

from trials import choices as c
from trials import models as m
from trials.documents import PARTS_BY_NAME, blank_document, blank_row

NCT_ID = re.compile(r"^NCT[0-9]{8}$")
SOURCE_PUBLISHER = "ClinicalTrials.gov (U.S. National Library of Medicine)"

MAPPED, GUESSED, LEFT_OUT = "mapped", "guessed", "left_out"

STUDY_TYPES = {"INTERVENTIONAL": c.StudyType.INTERVENTIONAL, "OBSERVATIONAL": c.StudyType.OBSERVATIONAL}
PHASES = {
    ("EARLY_PHASE1",): c.Phase.EARLY_PHASE1,
    ("PHASE1",): c.Phase.PHASE1,
    ("PHASE1", "PHASE2"): c.Phase.PHASE1_PHASE2,
    ("PHASE2",): c.Phase.PHASE2,
    ("PHASE2", "PHASE3"): c.Phase.PHASE2_PHASE3,
    ("PHASE3",): c.Phase.PHASE3,
    ("PHASE4",): c.Phase.PHASE4,
    ("NA",): c.Phase.NOT_APPLICABLE,
}
ALLOCATIONS = {
    "RANDOMIZED": c.Allocation.RANDOMIZED,
    "NON_RANDOMIZED": c.Allocation.NON_RANDOMIZED,
    "NA": c.Allocation.NOT_APPLICABLE,
}
MASKINGS = {value.upper(): value for value in c.Masking.values}
ARM_ROLES = {
    "EXPERIMENTAL": c.CohortRole.EXPERIMENTAL,
    "ACTIVE_COMPARATOR": c.CohortRole.ACTIVE_COMPARATOR,
    "PLACEBO_COMPARATOR": c.CohortRole.PLACEBO,
    "SHAM_COMPARATOR": c.CohortRole.SHAM,
    "NO_INTERVENTION": c.CohortRole.NO_INTERVENTION,
}
# The control a study has, read from its arms' types (the record has no such field): a guess.
CONTROLS = (
    (c.CohortRole.PLACEBO, c.ControlType.PLACEBO),
    (c.CohortRole.SHAM, c.ControlType.SHAM),
    (c.CohortRole.ACTIVE_COMPARATOR, c.ControlType.ACTIVE),
    (c.CohortRole.NO_INTERVENTION, c.ControlType.STANDARD_CARE),
)
INTERVENTION_KINDS = {
    "DRUG": c.InterventionKind.DRUG,
    "PROCEDURE": c.InterventionKind.PROCEDURE,
    "BEHAVIORAL": c.InterventionKind.REHABILITATION,
}
ROUTE_WORDS = (
    (c.Route.INTRATHECAL, ("intrathecal", "lumbar puncture")),
    (c.Route.INTRAVENOUS, ("intravenous", "i.v.", "iv infusion")),
    (c.Route.INTRA_ARTERIAL, ("intra-arterial", "intraarterial", "intracarotid")),
    (c.Route.INTRACEREBRAL, ("intracerebral", "stereotactic", "intraputaminal", "intrastriatal")),
    (c.Route.INTRASPINAL, ("intraspinal", "intramedullary", "intralesional")),
    (c.Route.INTRAMUSCULAR, ("intramuscular",)),
    (c.Route.INTRANASAL, ("intranasal",)),
    (c.Route.SUBCUTANEOUS, ("subcutaneous",)),
    (c.Route.ORAL, ("oral", "by mouth")),
)
STATISTICS = {"MEAN": c.Statistic.MEAN, "MEDIAN": c.Statistic.MEDIAN, "COUNT_OF_PARTICIPANTS": c.Statistic.COUNT}
DISPERSIONS = {
    "STANDARD_DEVIATION": c.Dispersion.SD,
    "STANDARD_ERROR": c.Dispersion.SE,
    "INTER_QUARTILE_RANGE": c.Dispersion.IQR,
    "FULL_RANGE": c.Dispersion.RANGE,
    "CONFIDENCE_INTERVAL_95": c.Dispersion.CI95,
}
TIME_UNITS = {
    "hour": c.TimeUnit.HOUR,
    "day": c.TimeUnit.DAY,
    "week": c.TimeUnit.WEEK,
    "month": c.TimeUnit.MONTH,
    "year": c.TimeUnit.YEAR,
}
# "24 weeks", "Week 24", "Baseline to Month 6": the last time a time frame names is the result's timepoint.
TIME_FRAME = re.compile(
    r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>hour|day|week|month|year)s?|(?P<unit2>hour|day|week|month|year)s?\s*(?P<amount2>\d+(?:\.\d+)?)",
    re.IGNORECASE,
)
# How records name cells, as the cell-type vocabulary's slugs; tried in order, the first whose words all
# appear wins, and only when the vocabulary has that slug. Every match is reported as a guess.
CELL_WORDS = (
    ("ipsc-neural-progenitors", (("induced pluripotent", "ipsc", "ips cell"), ("neural",))),
    ("umbilical-cord-msc", (("umbilical cord",), ("mesenchymal", "msc"))),
    ("bone-marrow-msc", (("bone marrow",), ("mesenchymal", "msc"))),
    ("adipose-msc", (("adipose",), ("mesenchymal", "msc", "stromal"))),
    ("placenta-msc", (("placenta",), ("mesenchymal", "msc"))),
    ("msc-unspecified", (("mesenchymal", "msc"),)),
    ("bone-marrow-mononuclear-cells", (("bone marrow mononuclear",),)),
    ("pbmc", (("peripheral blood mononuclear",),)),
    ("neural-stem-cells", (("neural stem", "neural progenitor"),)),
    ("schwann-cells", (("schwann",),)),
    ("olfactory-ensheathing-cells", (("olfactory ensheathing",),)),
)
# ClinicalTrials.gov's country names that differ from ISO 3166's short names.
COUNTRY_ALIASES = {
    "United States": "US",
    "Korea, Republic of": "KR",
    "Russian Federation": "RU",
    "Iran, Islamic Republic of": "IR",
    "Taiwan": "TW",
    "Turkey": "TR",
    "Vietnam": "VN",
    "Hong Kong": "HK",
}
SECONDARY_REGISTRIES = {"EUDRACT_NUMBER": c.Registry.EUDRACT, "CTIS": c.Registry.EUCT}


class RecordError(Exception):
    """Not a ClinicalTrials.gov v2 study record."""


@dataclass
class ReportEntry:
    status: str  # mapped | guessed | left_out
    field: str  # where in the document ("" when left out)
    source: str  # where in the record
    value: str
    note: str = ""


@dataclass
class MappedRecord:
    nct_id: str
    document: dict[str, Any]
    report: list[ReportEntry]
    source_document: dict[str, Any]
    last_update: str = ""
    kept_as_text: list[str] = field(default_factory=list)

    def report_json(self) -> list[dict[str, str]]:
        return [asdict(entry) for entry in self.report]

    def counts(self) -> dict[str, int]:
        return {status: sum(entry.status == status for entry in self.report) for status in (MAPPED, GUESSED, LEFT_OUT)}


# --- the mapper ------------------------------------------------------------------------------


def _get(data: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return default
        data = data.get(key)
    return default if data is None else data


class _Mapper:
    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.protocol = _get(record, "protocolSection", default={})
        self.results = _get(record, "resultsSection", default={})
        self.report: list[ReportEntry] = []
        self.kept: list[str] = []
        self.document = blank_document()
        self.conditions = list(m.Condition.objects.only("slug", "name", "mesh_id"))
        self.cell_types = list(m.CellType.objects.only("slug", "name"))
        self.instruments = list(m.Instrument.objects.only("slug", "name", "abbreviation"))

    def note(self, status: str, field_: str, source: str, value: Any, note: str = "") -> None:
        self.report.append(ReportEntry(status, field_, source, str(value)[:500], note))

    def set(self, key: str, value: Any, source: str, status: str = MAPPED, note: str = "") -> None:
        self.document[key] = value
        self.note(status, key, source, value, note)

    def keep(self, source: str, heading: str, text: str, why: str) -> None:
        """Left out of the document's fields, kept as text in the source note."""
        if text:
            self.kept.append(f"{heading}: {text}")
            self.note(LEFT_OUT, "sources[0].curator_note", source, text, why)

    def run(self) -> MappedRecord:
        nct_id = _get(self.protocol, "identificationModule", "nctId", default="")
        if not isinstance(nct_id, str) or not NCT_ID.match(nct_id):
            raise RecordError(f"protocolSection.identificationModule.nctId: expected an NCT number, got {nct_id!r}.")
        self.nct_id = nct_id
        self.identification()
        self.status()
        self.sponsors()
        self.description()
        self.design()
        self.conditions_()
        arms = self.arms()
        self.eligibility()
        self.locations()
        self.registered_outcomes()
        groups = self.results_groups(arms)
        self.outcome_results(groups)
        self.adverse_events(groups)
        self.references()
        last_update = _get(self.protocol, "statusModule", "lastUpdatePostDateStruct", "date", default="")
        source_key = f"ctgov-{nct_id.lower()}"
        source_document = {
            "key": source_key,
            "title": f"ClinicalTrials.gov record {nct_id}",
            "language": c.Language.EN,
            "publisher": SOURCE_PUBLISHER,
            "url": f"https://clinicaltrials.gov/study/{nct_id}",
            "file_name": "",
            "published_on": last_update or None,
            "notes": "Imported from the ClinicalTrials.gov API v2.",
        }
        source = blank_row(PARTS_BY_NAME["sources"])
        source.update(
            document=source_key,
            locator=f"API v2 record, last update posted {last_update}" if last_update else "API v2 record",
            curator_note=(
                "Imported from ClinicalTrials.gov; to be checked by a curator. Kept as text:\n\n" + "\n\n".join(self.kept)
                if self.kept
                else "Imported from ClinicalTrials.gov; to be checked by a curator."
            ),
        )
        self.document["sources"] = [source]
        return MappedRecord(nct_id, self.document, self.report, source_document, last_update, self.kept)

    # --- protocol ---

    def identification(self) -> None:
        module = _get(self.protocol, "identificationModule", default={})
        self.set(
            "title", (module.get("briefTitle") or module.get("officialTitle") or "")[:500], "identificationModule.briefTitle"
        )
        if module.get("officialTitle") and module.get("briefTitle"):
            self.keep(
                "identificationModule.officialTitle", "Official title", module["officialTitle"], "one title in the document"
            )
        if module.get("acronym"):
            self.set("acronym", module["acronym"][:60], "identificationModule.acronym")
        row = blank_row(PARTS_BY_NAME["registry_ids"])
        row.update(registry=c.Registry.NCT, value=self.nct_id)
        self.document["registry_ids"].append(row)
        self.note(MAPPED, "registry_ids[0]", "identificationModule.nctId", self.nct_id)
        for index, secondary in enumerate(module.get("secondaryIdInfos") or []):
            registry = SECONDARY_REGISTRIES.get(secondary.get("type", ""))
            source = f"identificationModule.secondaryIdInfos[{index}]"
            if registry:
                row = blank_row(PARTS_BY_NAME["registry_ids"])
                row.update(registry=registry, value=secondary.get("id", ""))
                self.document["registry_ids"].append(row)
                self.note(MAPPED, f"registry_ids[{len(self.document['registry_ids']) - 1}]", source, secondary.get("id"))
            else:
                kind = secondary.get("type") or "other"
                self.keep(source, f"Other identifier ({kind})", secondary.get("id", ""), "not a trial registry's number")
        if _get(module, "orgStudyIdInfo", "id"):
            self.keep("identificationModule.orgStudyIdInfo", "Sponsor's study id", module["orgStudyIdInfo"]["id"], "no field")

    def status(self) -> None:
        module = _get(self.protocol, "statusModule", default={})
        status = module.get("overallStatus", "")
        if status in c.OverallStatus.values:
            self.set("overall_status", status, "statusModule.overallStatus")
        elif status:
            self.set(
                "overall_status", c.OverallStatus.UNKNOWN, "statusModule.overallStatus", LEFT_OUT, f"{status} (expanded access)"
            )
        for key, struct in (("start_date", "startDateStruct"), ("completion_date", "completionDateStruct")):
            date, kind = _get(module, struct, "date"), _get(module, struct, "type", default="")
            if not date:
                continue
            if kind == "ESTIMATED":
                self.keep(
                    f"statusModule.{struct}", f"Anticipated {key.replace('_', ' ')}", date, "the document's dates are actual"
                )
            else:
                self.set(key, date, f"statusModule.{struct}.date")
        if _get(module, "primaryCompletionDateStruct", "date"):
            struct = module["primaryCompletionDateStruct"]
            self.keep(
                "statusModule.primaryCompletionDateStruct",
                "Primary completion",
                f"{struct['date']} ({struct.get('type', '')})",
                "no field",
            )
        submitted = module.get("studyFirstSubmitDate")
        if submitted:
            row = blank_row(PARTS_BY_NAME["milestones"])
            row.update(kind=c.MilestoneKind.REGISTERED, agency=c.Agency.OTHER, date=submitted, reference=self.nct_id)
            row["note"] = "First submitted to ClinicalTrials.gov"
            self.document["milestones"].append(row)
            self.note(MAPPED, "milestones[0]", "statusModule.studyFirstSubmitDate", submitted)

    def sponsors(self) -> None:
        module = _get(self.protocol, "sponsorCollaboratorsModule", default={})
        if _get(module, "leadSponsor", "name"):
            self.set("sponsor", module["leadSponsor"]["name"][:300], "sponsorCollaboratorsModule.leadSponsor.name")
        names = [item.get("name", "") for item in module.get("collaborators") or [] if item.get("name")]
        self.keep("sponsorCollaboratorsModule.collaborators", "Collaborators", "; ".join(names), "the document has one sponsor")

    def description(self) -> None:
        module = _get(self.protocol, "descriptionModule", default={})
        if module.get("briefSummary"):
            self.set("brief_summary", module["briefSummary"].strip(), "descriptionModule.briefSummary")
        self.keep(
            "descriptionModule.detailedDescription",
            "Detailed description",
            (module.get("detailedDescription") or "").strip(),
            "no field",
        )

    def design(self) -> None:
        module = _get(self.protocol, "designModule", default={})
        study_type = module.get("studyType", "")
        if study_type in STUDY_TYPES:
            self.set("study_type", STUDY_TYPES[study_type], "designModule.studyType")
        else:
            self.set("study_type", c.StudyType.INTERVENTIONAL, "designModule.studyType", GUESSED, f"{study_type or 'none given'}")
        phases = tuple(module.get("phases") or [])
        if phases:
            phase = PHASES.get(phases)
            reported = "/".join(phases)
            if phase and (self.document["study_type"] == c.StudyType.INTERVENTIONAL or phase == c.Phase.NOT_APPLICABLE):
                self.set("phase", phase, "designModule.phases")
            else:
                self.note(LEFT_OUT, "", "designModule.phases", reported, "no matching phase")
            if phases != ("NA",):
                self.set("phase_reported", reported, "designModule.phases")
        info = module.get("designInfo") or {}
        if info.get("allocation") in ALLOCATIONS:
            self.set("allocation", ALLOCATIONS[info["allocation"]], "designModule.designInfo.allocation")
        masking = _get(info, "maskingInfo", "masking", default="")
        if masking in MASKINGS:
            self.set("masking", MASKINGS[masking], "designModule.designInfo.maskingInfo.masking")
        enrollment = module.get("enrollmentInfo") or {}
        if isinstance(enrollment.get("count"), int):
            self.set("enrollment", enrollment["count"], "designModule.enrollmentInfo.count")
            kind = c.EnrollmentType.ACTUAL if enrollment.get("type") == "ACTUAL" else c.EnrollmentType.ANTICIPATED
            self.set("enrollment_type", kind, "designModule.enrollmentInfo.type")
        for key in ("interventionModel", "primaryPurpose"):
            if info.get(key):
                self.keep(f"designModule.designInfo.{key}", key, info[key], "no field")

    def conditions_(self) -> None:
        module = _get(self.protocol, "conditionsModule", default={})
        meshes = {
            mesh.get("id"): mesh.get("term")
            for mesh in _get(self.record, "derivedSection", "conditionBrowseModule", "meshes", default=[])
        }
        by_name = {condition.name.lower(): condition for condition in self.conditions}
        by_mesh = {condition.mesh_id: condition for condition in self.conditions if condition.mesh_id}
        chosen: set[str] = set()
        for index, text in enumerate(module.get("conditions") or []):
            source = f"conditionsModule.conditions[{index}]"
            condition, status = by_name.get(text.lower()), MAPPED
            if condition is None:
                mesh = next(
                    (
                        by_mesh[mesh_id]
                        for mesh_id, term in meshes.items()
                        if mesh_id in by_mesh and term and term.lower() in text.lower()
                    ),
                    None,
                )
                close = difflib.get_close_matches(text.lower(), list(by_name), n=1, cutoff=0.8)
                condition, status = (mesh, GUESSED) if mesh else ((by_name[close[0]], GUESSED) if close else (None, LEFT_OUT))
            if condition is None:
                self.keep(source, "Condition", text, "no condition in the vocabulary matches")
                continue
            if condition.slug in chosen:
                continue
            chosen.add(condition.slug)
            row = blank_row(PARTS_BY_NAME["conditions"])
            row.update(condition=condition.slug, detail=text[:300] if text.lower() != condition.name.lower() else "")
            self.document["conditions"].append(row)
            self.note(status, f"conditions[{len(self.document['conditions']) - 1}]", source, text, f"→ {condition.slug}")
        self.keep("conditionsModule.keywords", "Keywords", "; ".join(module.get("keywords") or []), "no field")

    def _cell_type(self, text: str) -> m.CellType | None:
        lowered = text.lower()
        by_slug = {cell.slug: cell for cell in self.cell_types}
        for slug, groups in CELL_WORDS:
            if slug in by_slug and all(any(word in lowered for word in group) for group in groups):
                return by_slug[slug]
        hits = [cell for cell in self.cell_types if cell.name.lower() in lowered]
        return max(hits, key=lambda cell: len(cell.name)) if hits else None

    def arms(self) -> dict[str, dict[str, Any]]:
        module = _get(self.protocol, "armsInterventionsModule", default={})
        cohorts: dict[str, dict[str, Any]] = {}
        for index, arm in enumerate(module.get("armGroups") or []):
            source = f"armsInterventionsModule.armGroups[{index}]"
            cohort = blank_row(PARTS_BY_NAME["cohorts"])
            label = (arm.get("label") or f"Arm {index + 1}")[:120]
            role = ARM_ROLES.get(arm.get("type", ""))
            cohort.update(label=label, role=role or c.CohortRole.EXPERIMENTAL, description=arm.get("description") or "")
            self.note(
                MAPPED if role else GUESSED, f"cohorts[{index}]", source, label, "" if role else f"arm type {arm.get('type')}"
            )
            cohorts[label] = cohort
        for index, item in enumerate(module.get("interventions") or []):
            source = f"armsInterventionsModule.interventions[{index}]"
            text = (
                " ".join(str(item.get(key) or "") for key in ("name", "description"))
                + " "
                + " ".join(item.get("otherNames") or [])
            )
            row = blank_row(PARTS_BY_NAME["interventions"])
            row["name"] = (item.get("name") or "")[:200]
            kind = INTERVENTION_KINDS.get(item.get("type", ""))
            cell = (
                self._cell_type(text) if item.get("type") in ("BIOLOGICAL", "GENETIC", "COMBINATION_PRODUCT", "OTHER") else None
            )
            if cell is not None:
                row.update(kind=c.InterventionKind.CELL_PRODUCT, cell_type=cell.slug)
                lowered = text.lower()
                row["donor"] = (
                    c.Donor.AUTOLOGOUS
                    if "autologous" in lowered
                    else c.Donor.ALLOGENEIC
                    if "allogeneic" in lowered
                    else c.Donor.UNKNOWN
                )
                self.note(
                    GUESSED,
                    f"interventions ({row['name']})",
                    source,
                    row["name"],
                    f"cell product: {cell.slug}, donor {row['donor']}",
                )
            elif "placebo" in text.lower() or "sham" in text.lower():
                row["kind"] = c.InterventionKind.PLACEBO
                self.note(GUESSED, f"interventions ({row['name']})", source, row["name"], "placebo / sham")
            else:
                row["kind"] = kind or c.InterventionKind.OTHER
                self.note(
                    MAPPED if kind else GUESSED, f"interventions ({row['name']})", source, row["name"], f"type {item.get('type')}"
                )
            route = next((route for route, words in ROUTE_WORDS if any(word in text.lower() for word in words)), None)
            if route:
                row["route"] = route
                self.note(
                    GUESSED, f"interventions ({row['name']}).route", source + ".description", route, "read from the description"
                )
            labels = item.get("armGroupLabels") or []
            if not labels:
                self.keep(source, "Intervention without an arm", row["name"], "not given to any arm")
            for label in labels:
                if label[:120] in cohorts:
                    cohorts[label[:120]]["interventions"].append(dict(row))
            if item.get("description"):
                self.keep(
                    source + ".description", f"Intervention {row['name']}", item["description"], "dose and schedule as text"
                )
        self.document["cohorts"] = list(cohorts.values())
        roles = {cohort["role"] for cohort in cohorts.values()}
        control = next((control for role, control in CONTROLS if role in roles), None)
        model = _get(self.protocol, "designModule", "designInfo", "interventionModel", default="")
        if control is None and model == "SINGLE_GROUP":
            control = c.ControlType.NONE
        if control:
            self.set("control_type", control, "armsInterventionsModule.armGroups[].type", GUESSED, "read from the arms' types")
        return cohorts

    def eligibility(self) -> None:
        module = _get(self.protocol, "eligibilityModule", default={})
        parts = []
        if module.get("sex"):
            parts.append(f"Sex: {module['sex']}")
        ages = " to ".join(age for age in (module.get("minimumAge"), module.get("maximumAge")) if age)
        if ages:
            parts.append(f"Age: {ages}")
        if "healthyVolunteers" in module:
            parts.append(f"Healthy volunteers: {'yes' if module['healthyVolunteers'] else 'no'}")
        criteria = (module.get("eligibilityCriteria") or "").strip()
        text = "; ".join(parts) + (f"\n{criteria}" if criteria else "")
        self.keep("eligibilityModule", "Eligibility", text.strip(), "no eligibility field")

    def locations(self) -> None:
        module = _get(self.protocol, "contactsLocationsModule", default={})
        sites, codes = [], []
        for index, location in enumerate(module.get("locations") or []):
            name = ", ".join(part for part in (location.get("facility"), location.get("city")) if part)
            if name and name not in sites:
                sites.append(name)
            country = location.get("country") or ""
            code = COUNTRY_ALIASES.get(country) or (country_names.by_name(country) if country else "")
            if code and code not in codes:
                codes.append(code)
            elif country and not code:
                self.note(LEFT_OUT, "", f"contactsLocationsModule.locations[{index}].country", country, "unknown country name")
        if sites:
            self.set("institutions", "\n".join(sites), "contactsLocationsModule.locations[].facility")
        if codes:
            self.set("countries", codes, "contactsLocationsModule.locations[].country")
        officials = [
            f"{o.get('name', '')} ({o.get('role', '')}, {o.get('affiliation', '')})" for o in module.get("overallOfficials") or []
        ]
        self.keep(
            "contactsLocationsModule.overallOfficials", "Investigators", "; ".join(officials), "no contacts in the document"
        )

    def registered_outcomes(self) -> None:
        module = _get(self.protocol, "outcomesModule", default={})
        for kind in ("primaryOutcomes", "secondaryOutcomes", "otherOutcomes"):
            lines = [f"{o.get('measure', '')} [{o.get('timeFrame', '')}]" for o in module.get(kind) or []]
            self.keep(f"outcomesModule.{kind}", f"Registered {kind[:-8]} outcomes", "; ".join(lines), "outcome rows hold results")

    # --- results ---

    def results_groups(self, cohorts: dict[str, dict[str, Any]]) -> dict[str, str]:
        """Results group ids (OG000, EG000, FG000...) matched to cohorts by their titles: a guess each."""
        groups: dict[str, str] = {}
        modules = (
            ("participantFlowModule", "groups"),
            ("baselineCharacteristicsModule", "groups"),
            ("adverseEventsModule", "eventGroups"),
        )
        titles = {label.lower(): label for label in cohorts}
        for module, key in modules:
            for group in _get(self.results, module, key, default=[]):
                title = (group.get("title") or "").lower()
                match = titles.get(title) or next(
                    (label for lower, label in titles.items() if lower in title or title in lower), None
                )
                if match:
                    groups[group["id"]] = match
        for measure in _get(self.results, "outcomeMeasuresModule", "outcomeMeasures", default=[]):
            for group in measure.get("groups") or []:
                title = (group.get("title") or "").lower()
                match = titles.get(title) or next(
                    (label for lower, label in titles.items() if lower in title or title in lower), None
                )
                if match:
                    groups[group["id"]] = match
        for flow in _get(self.results, "participantFlowModule", "periods", default=[])[:1]:
            for milestone in flow.get("milestones") or []:
                if milestone.get("type") != "STARTED":
                    continue
                for achievement in milestone.get("achievements") or []:
                    label = groups.get(achievement.get("groupId", ""))
                    if label and str(achievement.get("numSubjects", "")).isdigit():
                        cohorts[label]["n_enrolled"] = int(achievement["numSubjects"])
                        self.note(
                            GUESSED,
                            f"cohorts ({label}).n_enrolled",
                            "participantFlowModule.periods[0].STARTED",
                            achievement["numSubjects"],
                            "group matched by title",
                        )
        return groups

    def _instrument(self, title: str) -> m.Instrument | None:
        lowered = title.lower()
        for instrument in self.instruments:
            names = [instrument.name.lower(), *([instrument.abbreviation.lower()] if instrument.abbreviation else [])]
            if any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered) for name in names):
                return instrument
        return None

    def outcome_results(self, groups: dict[str, str]) -> None:
        for index, measure in enumerate(_get(self.results, "outcomeMeasuresModule", "outcomeMeasures", default=[])):
            source = f"resultsSection.outcomeMeasuresModule.outcomeMeasures[{index}]"
            title = measure.get("title") or ""
            instrument = self._instrument(f"{title} {measure.get('description') or ''}")
            statistic = STATISTICS.get(measure.get("paramType", ""))
            if instrument is None or statistic is None:
                why = "no instrument in the vocabulary matches" if instrument is None else f"statistic {measure.get('paramType')}"
                self.keep(source, "Result", f"{title} [{measure.get('timeFrame', '')}]", why)
                continue
            change = "change" in title.lower()
            if change and statistic == c.Statistic.MEAN:
                statistic = c.Statistic.MEAN_CHANGE
            times = [
                (match["amount"] or match["amount2"], match["unit"] or match["unit2"])
                for match in TIME_FRAME.finditer(measure.get("timeFrame") or "")
            ]
            denoms = {
                count["groupId"]: count.get("value")
                for denom in measure.get("denoms") or []
                for count in denom.get("counts") or []
            }
            for klass in measure.get("classes") or []:
                for category in klass.get("categories") or []:
                    for cell in category.get("measurements") or []:
                        self._outcome_row(measure, cell, groups, instrument, statistic, change, times, denoms, source)

    def _outcome_row(self, measure, cell, groups, instrument, statistic, change, times, denoms, source) -> None:
        row = blank_row(PARTS_BY_NAME["outcomes"])
        try:
            value = float(cell.get("value"))
        except (TypeError, ValueError):
            self.keep(source, "Result value", f"{measure.get('title')}: {cell.get('value')}", "not a number")
            return
        row.update(
            cohort=groups.get(cell.get("groupId", "")),
            instrument=instrument.slug,
            measure_detail=(measure.get("title") or "")[:300],
            outcome_type=c.OutcomeType.PRIMARY if measure.get("type") == "PRIMARY" else c.OutcomeType.SECONDARY,
            statistic=statistic,
        )
        row["change_value" if change else "value"] = value
        if times:
            amount, unit = times[-1]
            row.update(timepoint=float(amount), timepoint_unit=TIME_UNITS[unit.lower()])
        else:
            row["timepoint_not_reported"] = True
        dispersion = DISPERSIONS.get((measure.get("dispersionType") or "").upper().replace(" ", "_").replace("%", ""))
        if dispersion:
            row["dispersion_type"] = dispersion
            for key, target in (
                ("spread", "dispersion_value"),
                ("lowerLimit", "dispersion_lower"),
                ("upperLimit", "dispersion_upper"),
            ):
                try:
                    row[target] = float(cell[key]) if cell.get(key) not in (None, "", "NA") else None
                except (TypeError, ValueError):
                    row[target] = None
        count = denoms.get(cell.get("groupId", ""))
        if count is not None and str(count).isdigit():
            row["n_analysed"] = int(count)
        row["finding"] = (measure.get("description") or "")[:2000]
        self.document["outcomes"].append(row)
        cohort = row["cohort"] or "no matching arm"
        self.note(
            GUESSED,
            f"outcomes[{len(self.document['outcomes']) - 1}]",
            source,
            measure.get("title"),
            f"{instrument.slug}, {cohort}, timepoint read from “{measure.get('timeFrame', '')}”",
        )

    def adverse_events(self, groups: dict[str, str]) -> None:
        module = _get(self.results, "adverseEventsModule", default={})
        soc = {str(label).lower(): value for value, label in c.OrganClass.choices}
        for seriousness, key in ((c.Seriousness.SERIOUS, "seriousEvents"), (c.Seriousness.NON_SERIOUS, "otherEvents")):
            for index, event in enumerate(module.get(key) or []):
                source = f"resultsSection.adverseEventsModule.{key}[{index}]"
                organ = soc.get((event.get("organSystem") or "").lower())
                if organ is None:
                    self.note(
                        GUESSED,
                        "adverse_events[].organ_class",
                        source,
                        event.get("organSystem"),
                        "not a MedDRA organ class: multiple",
                    )
                    organ = c.OrganClass.MULTIPLE
                for stat in event.get("stats") or []:
                    row = blank_row(PARTS_BY_NAME["adverse_events"])
                    row.update(
                        cohort=groups.get(stat.get("groupId", "")),
                        term=(event.get("term") or "")[:200],
                        organ_class=organ,
                        serious=seriousness,
                        n_events=stat.get("numEvents"),
                        n_affected=stat.get("numAffected"),
                        n_at_risk=stat.get("numAtRisk"),
                    )
                    self.document["adverse_events"].append(row)
                    self.note(
                        MAPPED if row["cohort"] else GUESSED,
                        f"adverse_events[{len(self.document['adverse_events']) - 1}]",
                        source,
                        event.get("term"),
                        row["cohort"] or "group not matched to an arm",
                    )
        deaths = [
            f"{group.get('title')}: {group.get('deathsNumAffected')}/{group.get('deathsNumAtRisk')}"
            for group in module.get("eventGroups") or []
            if group.get("deathsNumAffected") is not None
        ]
        self.keep("resultsSection.adverseEventsModule.eventGroups", "All-cause mortality", "; ".join(deaths), "summary counts")

    def references(self) -> None:
        for index, reference in enumerate(_get(self.protocol, "referencesModule", "references", default=[])):
            source = f"referencesModule.references[{index}]"
            citation = reference.get("citation") or ""
            if reference.get("type") not in ("RESULT", "DERIVED"):
                self.note(LEFT_OUT, "", source, citation[:200], "background reference, not about this study")
                continue
            sentences = [part.strip() for part in citation.split(". ") if part.strip()]
            row = blank_row(PARTS_BY_NAME["publications"])
            row.update(
                title=(sentences[1] if len(sentences) > 1 else citation)[:500],
                first_author=(sentences[0].split(",")[0] if len(sentences) > 1 else "")[:120],
                citation=citation,
                pmid=str(reference.get("pmid") or ""),
            )
            self.document["publications"].append(row)
            self.note(
                GUESSED,
                f"publications[{len(self.document['publications']) - 1}]",
                source,
                citation[:200],
                "title and first author read from the citation",
            )


def map_record(record: Any) -> MappedRecord:
    """The study document and report for one v2 record (RecordError if it is not one)."""
    if not isinstance(record, dict) or not isinstance(record.get("protocolSection"), dict):
        raise RecordError("Expected a ClinicalTrials.gov API v2 study record: a JSON object with a protocolSection.")
    return _Mapper(record).run()
