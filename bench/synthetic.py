"""Synthetic studies for the benchmark's own database: realistic, deterministic, ordinary records.

`synthetic_generate(studies=N, seed=S)` appends N published studies, synthetic study k under the
accession NCR-(1000 + k) (the curated studies stay below), each with conditions, countries, cohorts and
what they received, outcomes at several timepoints and adverse events. Study k has the same content
for the same seed however the numbers were split across runs. Rows are written a chunk of studies per
transaction with COPY on PostgreSQL (executemany elsewhere); no simple-history rows or published-version
snapshots are made, they would only double the load for data nobody curates. Nothing marks them as
synthetic in the schema: the benchmark builds its own database (bench/run.py) and drops it to start over.

    python -m bench.generate --studies 100000 --seed 0     (with the project's DATABASE_URL)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import multiprocessing
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import IntegrityError, connection, models, transaction
from django.db.models.functions import Length

from trials import choices as c
from trials import models as m
from trials.services.accessions import accession_counter_raise, accession_number

SOURCE_KEY_PREFIX = "synthetic-"
CHUNK = 5000
CURATED_DATASET = Path(__file__).resolve().parents[1] / "trials" / "data" / "curated_studies.json"
# Synthetic study k is NCR-(ACCESSION_OFFSET + k): after any curated study, and the same in every run.
ACCESSION_OFFSET = 1000
EPOCH = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)

# Tables in the order their foreign keys need; children of cohorts last.
TABLES: list[type[models.Model]] = [
    m.Study, m.StudyCondition, m.StudyCountry, m.RegulatoryMilestone, m.RegistryIdentifier, m.Publication,
    m.Source, m.Cohort, m.Intervention, m.OutcomeMeasure, m.AdverseEvent,
]  # fmt: skip


def synthetic_accession(number: int) -> str:
    return f"NCR-{ACCESSION_OFFSET + number:06d}"


# --- What a realistic registry looks like ---------------------------------------------------------------

CONDITIONS = {  # slug: (weight, disease group)
    "ischemic-stroke": (14, "stroke"), "stroke": (8, "stroke"), "spinal-cord-injury": (8, "sci"),
    "cervical-spinal-cord-injury": (7, "sci"), "thoracic-spinal-cord-injury": (5, "sci"),
    "amyotrophic-lateral-sclerosis": (12, "als"), "multiple-sclerosis": (5, "ms"),
    "progressive-multiple-sclerosis": (4, "ms"), "relapsing-remitting-multiple-sclerosis": (3, "ms"),
    "secondary-progressive-multiple-sclerosis": (3, "ms"), "parkinson-disease": (9, "pd"),
    "cerebral-palsy": (8, "cp"), "traumatic-brain-injury": (6, "tbi"),
}  # fmt: skip
GROUP_CELLS = {
    "sci": {"umbilical-cord-msc": 25, "bone-marrow-msc": 20, "bone-marrow-mononuclear-cells": 12, "neural-stem-cells": 10,
            "schwann-cells": 8, "olfactory-ensheathing-cells": 8, "adipose-msc": 7, "msc-unspecified": 5,
            "stem-cells-unspecified": 5},
    "als": {"bone-marrow-msc": 30, "neural-stem-cells": 20, "adipose-msc": 15, "umbilical-cord-msc": 15,
            "bone-marrow-mononuclear-cells": 8, "ipsc-neural-progenitors": 4, "msc-unspecified": 8},
    "stroke": {"bone-marrow-mononuclear-cells": 22, "bone-marrow-msc": 22, "umbilical-cord-msc": 15, "neural-stem-cells": 10,
               "ipsc-neural-progenitors": 6, "adipose-msc": 6, "pbmc": 6, "placenta-msc": 5, "msc-unspecified": 8},
    "ms": {"bone-marrow-msc": 35, "umbilical-cord-msc": 20, "adipose-msc": 12, "placenta-msc": 8, "pbmc": 8,
           "neural-stem-cells": 7, "msc-unspecified": 10},
    "pd": {"ipsc-neural-progenitors": 30, "neural-stem-cells": 25, "umbilical-cord-msc": 15, "bone-marrow-msc": 15,
           "adipose-msc": 5, "stem-cells-unspecified": 10},
    "cp": {"umbilical-cord-msc": 30, "bone-marrow-mononuclear-cells": 25, "pbmc": 10, "bone-marrow-msc": 15,
           "neural-stem-cells": 10, "stem-cells-unspecified": 10},
    "tbi": {"bone-marrow-mononuclear-cells": 25, "bone-marrow-msc": 25, "umbilical-cord-msc": 20, "neural-stem-cells": 15,
            "msc-unspecified": 15},
}  # fmt: skip
CELL_ORIGIN = {  # slug: (source tissue, {donor: weight})
    "umbilical-cord-msc": ("umbilical_cord", {"allogeneic": 1}),
    "bone-marrow-msc": ("bone_marrow", {"autologous": 7, "allogeneic": 3}),
    "adipose-msc": ("adipose", {"autologous": 7, "allogeneic": 3}),
    "placenta-msc": ("placenta", {"allogeneic": 1}),
    "msc-unspecified": ("unknown", {"unknown": 1, "allogeneic": 1}),
    "neural-stem-cells": ("fetal_neural", {"allogeneic": 1}),
    "ipsc-neural-progenitors": ("ipsc", {"allogeneic": 7, "autologous": 3}),
    "schwann-cells": ("peripheral_nerve", {"autologous": 1}),
    "olfactory-ensheathing-cells": ("olfactory_mucosa", {"autologous": 1}),
    "pbmc": ("peripheral_blood", {"autologous": 1}),
    "bone-marrow-mononuclear-cells": ("bone_marrow", {"autologous": 1}),
    "stem-cells-unspecified": ("unknown", {"unknown": 1}),
}
GROUP_ROUTES = {
    "sci": {"intrathecal": 40, "intraspinal": 25, "intravenous": 20, "unknown": 5},
    "als": {"intrathecal": 50, "intramuscular": 20, "intraspinal": 15, "intravenous": 15},
    "stroke": {"intravenous": 40, "intra_arterial": 25, "intracerebral": 25, "intranasal": 3, "unknown": 5},
    "ms": {"intravenous": 55, "intrathecal": 40, "unknown": 5},
    "pd": {"intracerebral": 70, "intravenous": 20, "intranasal": 10},
    "cp": {"intrathecal": 50, "intravenous": 45, "unknown": 5},
    "tbi": {"intravenous": 50, "intrathecal": 30, "intracerebral": 20},
}
GROUP_STAGES = {
    "sci": ["acute", "subacute", "chronic", "chronic complete", "incomplete"], "als": ["early-stage", "sporadic", "definite"],
    "stroke": ["acute", "subacute", "chronic"], "ms": ["active", "treatment-resistant", "long-standing"],
    "pd": ["early", "moderate", "advanced"], "cp": ["paediatric", "spastic"], "tbi": ["chronic", "severe", "moderate to severe"],
}  # fmt: skip
GROUP_INSTRUMENTS = {
    "sci": ["isncsci-motor", "isncsci-sensory", "ais-grade", "scim", "neurological-level", "pain-score", "emg", "mri-findings"],
    "als": ["alsfrs-r", "fvc", "survival", "mrc", "aals", "mortality"],
    "stroke": ["nihss", "mrs", "barthel-index", "fugl-meyer", "motricity-index", "ess", "mortality", "mri-findings"],
    "ms": ["edss", "relapses", "fss", "mri-findings", "macfims", "visual-function", "disease-activity"],
    "pd": ["updrs", "clinical-observation", "mri-findings", "scl-90"],
    "cp": ["barthel-index", "clinical-observation", "serum-cytokines", "mri-findings"],
    "tbi": ["mrs", "barthel-index", "clinical-observation", "mri-findings", "mortality"],
}
QUALITATIVE = {"emg", "mri-findings", "clinical-observation", "disease-activity", "serum-cytokines", "lymphocyte-subsets"}
COUNTED = {"ais-grade", "mortality", "relapses"}
STUDY_TYPES = {"interventional": 72, "observational": 10, "case_report": 13, "systematic_review": 5}
PHASES = {"early_phase1": 5, "phase1": 30, "phase1_phase2": 25, "phase2": 22, "phase2_phase3": 5, "phase3": 6, "phase4": 1, "": 6}
STATUSES = {"COMPLETED": 38, "RECRUITING": 14, "UNKNOWN": 16, "ACTIVE_NOT_RECRUITING": 7, "NOT_YET_RECRUITING": 6,
            "TERMINATED": 6, "WITHDRAWN": 3, "SUSPENDED": 2, "ENROLLING_BY_INVITATION": 8}  # fmt: skip
COUNTRIES = {"CN": 38, "US": 18, "JP": 5, "KR": 5, "IR": 5, "IN": 5, "ES": 3, "DE": 3, "GB": 3, "IT": 2, "BR": 2,
             "RU": 2, "TR": 2, "AU": 2, "CA": 2, "PL": 2, "FR": 1, "IL": 1, "SE": 1}  # fmt: skip
CITIES = {
    "CN": ["Beijing", "Shanghai", "Guangzhou", "Wuhan", "Chengdu", "Hangzhou", "Nanjing", "Xi'an", "Tianjin", "Jinan", "Kunming"],
    "US": ["Boston", "Houston", "Miami", "San Diego", "Seattle", "Cleveland", "Atlanta", "Chicago"],
    "JP": ["Osaka", "Kyoto", "Sapporo", "Tokyo"], "KR": ["Seoul", "Busan"], "IR": ["Tehran", "Shiraz"],
    "IN": ["New Delhi", "Mumbai", "Chennai"],
}  # fmt: skip
INSTITUTION_KINDS = ["{city} University Hospital", "First Affiliated Hospital of {city} Medical University",
                     "{city} Institute of Regenerative Medicine", "{city} Neurological Centre", "{city} People's Hospital",
                     "Stem Cell Research Centre, {city}"]  # fmt: skip
JOURNALS = ["Stem Cell Research & Therapy", "Cytotherapy", "Journal of Neurotrauma", "Neurology", "Stroke",
            "Cell Transplantation", "Frontiers in Neurology", "Stem Cells Translational Medicine", "Annals of Neurology",
            "Multiple Sclerosis Journal", "Muscle & Nerve", "Movement Disorders", "Spinal Cord",
            "Chinese Journal of Neurology"]  # fmt: skip
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Smith", "Garcia", "Kim", "Park", "Tanaka", "Sato", "Rossi", "Müller",
            "Ahmadi", "Sharma", "Kumar", "Nowak", "Silva", "Cohen", "Petrov", "Yilmaz", "Johnson", "Brown"]  # fmt: skip
AE_TERMS = [  # term, Chinese term, organ class, weight, serious
    ("Fever", "发热", "general", 18, False), ("Headache", "头痛", "nervous", 14, False),
    ("Back pain", "背痛", "musculoskeletal", 8, False), ("Post-lumbar puncture headache", "腰椎穿刺后头痛", "nervous", 8, False),
    ("Injection site pain", "注射部位疼痛", "general", 6, False), ("Nausea", "恶心", "gastrointestinal", 6, False),
    ("Urinary tract infection", "尿路感染", "infections", 7, False), ("Dizziness", "头晕", "nervous", 4, False),
    ("Rash", "皮疹", "skin", 3, False), ("Transient neuropathic pain", "一过性神经病理性疼痛", "nervous", 4, False),
    ("Pneumonia", "肺炎", "infections", 3, True), ("Seizure", "癫痫发作", "nervous", 2, True),
    ("Deep vein thrombosis", "深静脉血栓", "vascular", 2, True), ("Meningitis", "脑膜炎", "infections", 0.5, True),
    ("Death", "死亡", "general", 1.5, True), ("Serious adverse events", "严重不良事件", "multiple", 6, True),
]  # fmt: skip
ROUTE_WORDS = {"intrathecal": ("intrathecal", "鞘内注射"), "intravenous": ("intravenous", "静脉输注"),
               "intra_arterial": ("intra-arterial", "动脉内注射"), "intracerebral": ("intracerebral", "脑内移植"),
               "intraspinal": ("intralesional", "脊髓内移植"), "intramuscular": ("intramuscular", "肌肉注射"),
               "intranasal": ("intranasal", "鼻腔给药"), "unknown": ("", "")}  # fmt: skip
PHASE_WORDS = {"early_phase1": ("Early phase 1", "早期I期"), "phase1": ("Phase 1", "I期"),
               "phase1_phase2": ("Phase 1/2", "I/II期"), "phase2": ("Phase 2", "II期"),
               "phase2_phase3": ("Phase 2/3", "II/III期"), "phase3": ("Phase 3", "III期"), "phase4": ("Phase 4", "IV期"),
               "": ("", ""), "not_applicable": ("", "")}  # fmt: skip
EXTRAS = [
    "Immunosuppression with tacrolimus was given for {weeks} weeks after transplantation.",
    "Cells were expanded in serum-free medium and released after sterility and karyotype testing.",
    "MRI and diffusion tensor imaging were performed at baseline and at each follow-up visit.",
    "Neurofilament light chain was measured in cerebrospinal fluid as an exploratory biomarker.",
    "All participants continued standard rehabilitation throughout the study.",
    "Cells were delivered by lumbar puncture under local anaesthesia.",
    "Participants were stratified by age and baseline severity.",
    "An independent data safety monitoring board reviewed safety every six months.",
]


def pick(rng: random.Random, weights: dict):
    """A key drawn with its weight (the dicts are small: a scan beats `choices()` building lists)."""
    left = rng.random() * sum(weights.values())
    for key, weight in weights.items():
        left -= weight
        if left < 0:
            return key
    return key


def lower_first(name: str) -> str:
    return name if name.startswith("Parkinson") or name[:2].isupper() else name[0].lower() + name[1:]


@dataclass
class Vocabulary:
    """The vocabulary rows synthetic studies point to, looked up once per run."""

    conditions: dict[str, m.Condition]
    cell_types: dict[str, m.CellType]
    instruments: dict[str, m.Instrument]
    documents: dict[str, int]  # language -> synthetic source document id
    condition_weights: dict[str, float]

    @classmethod
    def load(cls) -> Vocabulary:
        ensure_vocabularies()
        documents = {}
        for language, label in (("zh", "Chinese"), ("en", "English"), ("ja", "Japanese")):
            document, _ = m.SourceDocument.objects.get_or_create(
                key=f"{SOURCE_KEY_PREFIX}{language}",
                defaults={"title": f"Synthetic benchmark records ({label})", "language": language,
                          "notes": "Generated by `manage.py generate_synthetic`; not real studies."},
            )  # fmt: skip
            documents[language] = document.pk
        conditions = {o.slug: o for o in m.Condition.objects.all()}
        return cls(
            conditions=conditions,
            cell_types={o.slug: o for o in m.CellType.objects.all()},
            instruments={o.slug: o for o in m.Instrument.objects.all()},
            documents=documents,
            condition_weights={slug: weight for slug, (weight, _group) in CONDITIONS.items() if slug in conditions},
        )


def ensure_vocabularies() -> None:
    """Create the curated vocabulary entries that are missing; never change existing ones."""
    from trials.documents import vocabulary_upsert

    vocabularies = json.loads(CURATED_DATASET.read_text(encoding="utf-8"))["vocabularies"]
    for kind, model in (("conditions", m.Condition), ("cell_types", m.CellType), ("instruments", m.Instrument)):
        existing = set(model.objects.values_list("slug", flat=True))
        missing = [item for item in vocabularies[kind] if item["slug"] not in existing]
        if missing:
            vocabulary_upsert(name=kind, items=missing)


# --- One study ---------------------------------------------------------------------------------------------


def build_study(number: int, seed: int, vocab: Vocabulary) -> dict:
    """Study number `number` as row dicts per table (no ids yet); the same for the same seed and number."""
    rng = random.Random(f"ncr-synthetic:{seed}:{number}")
    large = rng.random() < 0.02  # a few large multi-arm studies with long follow-up
    slug = pick(rng, vocab.condition_weights)
    group = CONDITIONS[slug][1]
    condition = vocab.conditions[slug]
    condition_slugs = [slug]
    if rng.random() < 0.08:  # some studies enrol for two conditions
        other = pick(rng, {s: w for s, w in vocab.condition_weights.items() if s != slug})
        condition_slugs.append(other)
    cell_slug = pick(rng, GROUP_CELLS[group])
    cell = vocab.cell_types[cell_slug]
    tissue, donors = CELL_ORIGIN[cell_slug]
    donor = pick(rng, donors)
    route = pick(rng, GROUP_ROUTES[group])
    stage = rng.choice(GROUP_STAGES[group])

    study_type = pick(rng, STUDY_TYPES)
    interventional = study_type == "interventional"
    phase = pick(rng, PHASES) if interventional else rng.choice(["", "not_applicable"])
    randomized = interventional and phase not in ("early_phase1", "phase1") and rng.random() < 0.45
    status = pick(rng, STATUSES) if study_type in ("interventional", "observational") else "COMPLETED"
    country_codes = [pick(rng, COUNTRIES)]
    if rng.random() < 0.08 or large:
        country_codes += rng.sample([code for code in COUNTRIES if code != country_codes[0]], rng.randint(1, 5))
    language = "zh" if country_codes[0] == "CN" and rng.random() < 0.75 else "ja" if country_codes[0] == "JP" else "en"

    # Enrollment: most studies small, a few large.
    if study_type == "case_report":
        enrollment = rng.randint(1, 3)
    elif study_type == "systematic_review":
        enrollment = rng.randint(150, 3000)
    else:
        enrollment = max(1, min(5000, int(math.exp(rng.gauss(3.1 if interventional else 4.0, 0.9)))))
    if large:
        enrollment = rng.randint(300, 2000)
    n_arms = 1
    if randomized or study_type == "systematic_review":
        n_arms = 2 if rng.random() < 0.85 else rng.randint(3, 4)
    if large:
        n_arms = rng.randint(3, 6)
    if n_arms > enrollment:
        n_arms = 1

    # Dates: recent years more often; partial precision as sources give it.
    year = 2002 + int(23 * rng.random() ** 0.6)
    start = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
    start_precision = pick(rng, {"day": 45, "month": 40, "year": 15})
    completed = status in ("COMPLETED", "TERMINATED")
    duration = rng.randint(6, 72)
    completion = start + dt.timedelta(days=30 * duration) if completed or status == "ACTIVE_NOT_RECRUITING" else None
    completion_precision = pick(rng, {"day": 50, "month": 40, "year": 10}) if completion else ""
    follow_up = rng.choice([3, 6, 12, 12, 24, 36, 60]) if completed else None
    if large and completed:
        follow_up = rng.choice([36, 60, 120])

    cell_name, cell_zh = lower_first(cell.name), cell.name_zh
    cond_name, cond_zh = lower_first(condition.name), condition.name_zh
    route_word, route_zh = ROUTE_WORDS[route]
    phase_word, phase_zh = PHASE_WORDS[phase]
    design = ""
    masking, control = "", ""
    if interventional:
        masking = rng.choice(["double", "triple", "quadruple", "single", "none"]) if randomized else "none"
        control = (
            rng.choice(["placebo", "sham", "active", "standard_care"])
            if randomized
            else pick(rng, {"none": 8, "historical": 1, "self": 1})
        )
        design = (
            f"randomized, {'open-label' if masking == 'none' else masking + '-blind'}, {control.replace('_', ' ')}-controlled"
            if randomized
            else "open-label, single-arm"
        )
    acronym = ""
    if interventional and rng.random() < 0.15:
        acronym = "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVW") for _ in range(rng.randint(3, 5))) + rng.choice(
            ["", "-1", "-2", "-II"]
        )
    donor_word = "" if donor == "unknown" else donor + " "
    route_phrase = f"{route_word} " if route_word else ""
    title = _title(rng, study_type, phase_word, design, donor_word, cell_name, route_phrase, stage, cond_name, acronym)
    title_zh = ""
    if language == "zh":
        kind_zh = {
            "interventional": f"{phase_zh}临床试验",
            "observational": "队列研究",
            "case_report": "病例报告",
            "systematic_review": "系统评价与Meta分析",
        }[study_type]
        title_zh = f"{cell_zh}{route_zh}治疗{stage_zh(stage)}{cond_zh}的{kind_zh}"

    instruments = [s for s in GROUP_INSTRUMENTS[group] if s in vocab.instruments]
    chosen = rng.sample(instruments, min(len(instruments), rng.randint(3, 6) if large else rng.randint(1, 3)))
    interim = status in ("ACTIVE_NOT_RECRUITING", "UNKNOWN", "TERMINATED") and rng.random() < 0.4
    has_results = study_type != "systematic_review" and (completed and rng.random() < 0.85 or interim)
    timepoints = sorted(rng.sample([1, 3, 6, 12, 24, 36, 60], rng.randint(5, 7) if large else rng.randint(2, 5)))
    if follow_up:
        timepoints = [t for t in timepoints if t <= follow_up] or [follow_up]

    # Arms and what they received.
    cohorts, remaining = [], enrollment
    n_experimental = 1 if n_arms <= 2 else n_arms - 1
    for arm in range(n_arms):
        n = remaining if arm == n_arms - 1 else max(1, enrollment // n_arms)
        remaining -= n
        experimental = arm < n_experimental
        label = "Control" if not experimental else "Cell therapy" if n_experimental == 1 else f"Cells, dose level {arm + 1}"
        role = (
            "experimental"
            if experimental
            else {"placebo": "placebo", "sham": "sham", "active": "active_comparator"}.get(control, "no_intervention")
        )
        dose_per_kg = rng.choice([0.5, 1, 1, 2, 5, 10]) * 1e6 * (arm + 1 if n_arms > 2 and experimental else 1)
        interventions = []
        if experimental:
            interventions.append(
                {
                    "kind": "cell_product",
                    "name": f"{donor.capitalize() + ' ' + cell_name if donor != 'unknown' else cell.name}",
                    "cell_type_id": cell.pk,
                    "source_tissue": tissue,
                    "donor": donor,
                    "route": route,
                    "route_detail": {
                        "intrathecal": "lumbar puncture",
                        "intraspinal": "into the lesion under microscopy",
                        "intracerebral": "stereotactic injection",
                    }.get(route, ""),
                    "dose_cells_per_kg": dose_per_kg if rng.random() < 0.7 else None,
                    "dose_cells_total": None if rng.random() < 0.6 else round(dose_per_kg * 60, -5),
                    "dose_text": f"{dose_per_kg / 1e6:g} × 10^6 cells/kg",
                    "n_administrations": rng.choice([1, 1, 2, 3, 4, 6]),
                    "schedule": rng.choice(["single dose", "every 4 weeks", "weekly for 4 weeks", "at weeks 0 and 12", ""]),
                }
            )
            if rng.random() < 0.35:
                interventions.append(_co_therapy(rng, route))
        elif role in ("placebo", "sham"):
            interventions.append(
                {"kind": "placebo", "name": "Saline placebo" if role == "placebo" else f"Sham {route_word or 'procedure'}"}
            )
        elif role == "active_comparator":
            interventions.append(
                {"kind": "drug", "name": rng.choice(["Riluzole", "Edaravone", "Methylprednisolone", "Interferon beta"])}
            )
        analysed = n - (rng.randint(0, max(0, n // 10)) if completed else 0)
        cohorts.append(
            {
                "row": {
                    "label": label,
                    "label_zh": ("细胞治疗组" if experimental else "对照组") if language == "zh" else "",
                    "role": role,
                    "n_enrolled": n,
                    "n_analysed": analysed if completed else None,
                    "stage": stage,
                    "age_summary": f"mean {rng.randint(8, 70) if group != 'cp' else rng.randint(2, 12)} years",
                    "sex_summary": f"{rng.randint(20, 80)}% male",
                    "time_since_onset": rng.choice(["", "< 1 month", "6-12 months", "> 1 year"]),
                    "ais_grade": rng.choice(["A", "B", "C", ""]) if group == "sci" else "",
                    "injury_level": rng.choice(["C4", "C5", "C6", "T4", "T8", "T10", ""]) if group == "sci" else "",
                },
                "interventions": interventions,
            }
        )

    outcomes = []
    if has_results:
        for slug_ in chosen:
            instrument = vocab.instruments[slug_]
            for index, cohort in enumerate(cohorts):
                outcomes += _outcome_rows(rng, instrument, index, cohort["row"], timepoints, randomized and index > 0)
    adverse_events = []
    if completed or status in ("ACTIVE_NOT_RECRUITING", "UNKNOWN"):
        n_terms = rng.randint(12, 40) if large else min(rng.choice([0, 1, 2, 2, 3, 3, 4, 5, 6]), 8)
        terms = [t for t in AE_TERMS if route == "intrathecal" or t[0] != "Post-lumbar puncture headache"]
        chosen_terms = rng.sample(terms, min(len(terms), n_terms))
        for term, term_zh, organ, _weight, serious in chosen_terms:
            index = rng.randrange(len(cohorts))
            at_risk = cohorts[index]["row"]["n_enrolled"]
            affected = 0 if term == "Serious adverse events" and rng.random() < 0.6 else rng.randint(0, max(1, at_risk // 3))
            affected = min(affected, at_risk)
            grade = 5 if term == "Death" else (rng.choice([3, 4]) if serious else rng.choice([1, 1, 2, None]))
            adverse_events.append(
                {
                    "cohort": index,
                    "term": term,
                    "term_zh": term_zh if language == "zh" else "",
                    "organ_class": organ,
                    # The stated total of serious events, as sources word it ("no serious adverse event").
                    "scope": "all_serious" if term == "Serious adverse events" else "event",
                    "serious": "yes" if serious else "no",
                    "grade": grade,
                    "relatedness": pick(
                        rng, {"unrelated": 20, "unlikely": 15, "possible": 25, "probable": 10, "definite": 5, "unknown": 25}
                    ),
                    "attributed_to": "procedure"
                    if "puncture" in term or "Injection" in term
                    else pick(rng, {"cell_product": 3, "procedure": 2, "disease": 2, "unknown": 4}),
                    "n_events": affected + rng.randint(0, 2) if affected else 0,
                    "n_affected": affected,
                    "n_at_risk": at_risk,
                    "outcome": "fatal"
                    if term == "Death"
                    else pick(rng, {"resolved": 70, "resolving": 10, "ongoing": 5, "unknown": 15}),
                }
            )

        if adverse_events and rng.random() < 0.5:
            # About half of the reports also state how many participants had any adverse event.
            at_risk = cohorts[0]["row"]["n_enrolled"]
            affected = rng.randint(0, at_risk)
            adverse_events.append(
                {
                    "cohort": 0,
                    "term": "Adverse events (all)",
                    "term_zh": "不良事件（合计）" if language == "zh" else "",
                    "organ_class": "multiple",
                    "scope": "all",
                    "serious": "unknown",
                    "grade": None,
                    "relatedness": "unknown",
                    "attributed_to": "unknown",
                    "n_events": None,
                    "n_affected": affected,
                    "n_at_risk": at_risk,
                    "outcome": "unknown",
                }
            )

    primary = vocab.instruments[chosen[0]] if chosen else None
    summary = _summary(
        rng,
        study_type,
        phase_word,
        design,
        enrollment,
        stage,
        cond_name,
        route_phrase,
        donor_word,
        cell_name,
        dose_per_kg_text=cohorts[0]["interventions"][0]["dose_text"] if cohorts[0]["interventions"] else "",
        primary=primary,
        follow_up=follow_up,
        has_results=has_results,
        adverse_events=adverse_events,
        control=control,
    )
    summary_zh = ""
    if language == "zh":
        summary_zh = f"{enrollment}例{cond_zh}患者接受{cell_zh}{route_zh}治疗" + (
            f",随访{follow_up}个月。" if follow_up else "。"
        )
        if primary:
            summary_zh += f"主要终点为{primary.name_zh}。"
        summary_zh += (
            "未见与细胞相关的严重不良事件。" if not any(a["serious"] == "yes" and a["n_affected"] for a in adverse_events) else ""
        )

    created = EPOCH + dt.timedelta(minutes=int(rng.random() * 3 * 365 * 24 * 60))
    updated = created + dt.timedelta(minutes=int(rng.random() * 3 * 365 * 24 * 60))
    city = rng.choice(CITIES.get(country_codes[0], ["Capital City"]))
    study = {
        "accession": synthetic_accession(number),
        "title": title,
        "title_zh": title_zh,
        "acronym": acronym,
        "brief_summary": summary,
        "brief_summary_zh": summary_zh,
        "study_type": study_type,
        "phase": phase,
        "phase_reported": phase_word,
        "allocation": ("randomized" if randomized else "not_applicable" if n_arms == 1 else "non_randomized")
        if interventional
        else "",
        "masking": masking,
        "control_type": control,
        "overall_status": status,
        "start_date": m.period_start(start, start_precision),
        "start_date_precision": start_precision,
        "completion_date": m.period_end(completion, completion_precision),
        "completion_date_precision": completion_precision,
        "enrollment": enrollment,
        "enrollment_type": "actual" if completed or status in ("ACTIVE_NOT_RECRUITING", "UNKNOWN") else "anticipated",
        "follow_up_months": Decimal(follow_up).quantize(Decimal("0.1")) if follow_up else None,
        "sponsor": rng.choice(INSTITUTION_KINDS).format(city=city),
        "institutions": "\n".join(
            rng.choice(INSTITUTION_KINDS).format(city=rng.choice(CITIES.get(code, ["Capital City"])))
            for code in country_codes[:3]
        ),
        "curation_state": c.CurationState.PUBLISHED,
        "edit_count": 1,
        "created_at": created,
        "updated_at": updated,
        "published_at": created + (updated - created) / 4,
    }
    registry_ids = []
    if interventional and rng.random() < 0.75 or study_type == "observational" and rng.random() < 0.4:
        if country_codes[0] == "CN" and rng.random() < 0.6:
            registry_ids.append({"registry": "ChiCTR", "value": f"ChiCTR9{number:09d}"})
        else:
            registry_ids.append({"registry": "NCT", "value": f"NCT9{number:07d}"})
    publications = []
    if completed and rng.random() < 0.65:
        for j in range(2 if rng.random() < 0.08 else 1):
            published = (completion or start) + dt.timedelta(days=rng.randint(60, 700))
            publications.append(
                {
                    "title": title if j == 0 else f"Long-term follow-up: {title}",
                    "first_author": f"{rng.choice(SURNAMES)} {rng.choice('ABCDHJKLMSTWXY')}",
                    "journal": rng.choice(JOURNALS),
                    "date": published.replace(day=1),
                    "date_precision": "month",
                    "doi": f"10.5555/ncr-synthetic.{number}.{j}",
                    "pmid": str(900000000 + number * 2 + j),
                    "pmcid": f"PMC9{number * 2 + j:08d}" if rng.random() < 0.4 else "",
                }
            )
    milestones = []
    if interventional and rng.random() < 0.25:
        milestones.append({"kind": "ethics_approved", "agency": "IRB", "date": start.replace(day=1), "date_precision": "month"})
        if country_codes[0] == "CN" and rng.random() < 0.4:
            milestones.append(
                {
                    "kind": "ind_cleared",
                    "agency": "NMPA",
                    "date": start.replace(month=1, day=1),
                    "date_precision": "year",
                    "reference": f"CXSL{year % 100:02d}{number % 100000:05d}",
                }
            )
    return {
        "study": study,
        "conditions": [
            {"condition_id": vocab.conditions[s].pk, "detail": stage if i == 0 else ""} for i, s in enumerate(condition_slugs)
        ],
        "countries": [{"country": code} for code in country_codes],
        "milestones": milestones,
        "registry_ids": registry_ids,
        "publications": publications,
        "sources": [{"document_id": vocab.documents[language], "locator": f"record {number}"}],
        "cohorts": cohorts,
        "outcomes": outcomes,
        "adverse_events": adverse_events,
    }


def stage_zh(stage: str) -> str:
    return {
        "acute": "急性期",
        "subacute": "亚急性期",
        "chronic": "慢性",
        "chronic complete": "慢性完全性",
        "incomplete": "不完全性",
        "early": "早期",
        "advanced": "晚期",
        "moderate to severe": "中重度",
        "severe": "重度",
    }.get(stage, "")


def _title(rng, study_type, phase, design, donor, cell, route, stage, condition, acronym) -> str:
    stage_cond = f"{stage} {condition}"
    if study_type == "observational":
        return rng.choice(
            [
                f"Long-term outcomes after {route}{cell} transplantation in {stage_cond}: a cohort study",
                f"Registry of patients with {condition} treated with {donor}{cell}",
                f"Safety of {cell} in routine care of {stage_cond}: a prospective observational study",
            ]
        )
    if study_type == "case_report":
        return rng.choice(
            [
                f"{route.capitalize()}{cell} transplantation in a patient with {stage_cond}: a case report",
                f"Repeated {route}{donor}{cell} in {condition}: report of {rng.randint(2, 3)} cases",
            ]
        )
    if study_type == "systematic_review":
        return f"{cell.capitalize()} for {condition}: a systematic review and meta-analysis of {rng.randint(5, 40)} trials"
    options = [
        f"{phase or 'Pilot'} {design} trial of {route}{donor}{cell} in {stage_cond}",
        f"Safety and efficacy of {route}{donor}{cell} for {stage_cond}",
        f"{(route or 'Systemic ').capitalize()}transplantation of {cell} in patients with {stage_cond}",
        f"Dose-escalation study of {donor}{cell} in {condition}",
    ]
    title = rng.choice(options)
    return f"{acronym}: {title}" if acronym else title


def _summary(
    rng,
    study_type,
    phase,
    design,
    enrollment,
    stage,
    condition,
    route,
    donor,
    cell,
    *,
    dose_per_kg_text,
    primary,
    follow_up,
    has_results,
    adverse_events,
    control,
) -> str:
    kind = {
        "interventional": f"{phase + ' ' if phase else ''}{design} trial".strip(),
        "observational": "prospective cohort study",
        "case_report": "case report",
        "systematic_review": "systematic review and meta-analysis",
    }[study_type]
    sentences = [
        f"This {kind} enrolled {enrollment} participant{'s' if enrollment != 1 else ''} with {stage} {condition}, "
        f"who received {route}{donor}{cell}{f' ({dose_per_kg_text})' if dose_per_kg_text else ''}."
    ]
    if control in CONTROL_WORDS:
        sentences.append(f"The control group received {CONTROL_WORDS[control]}.")
    if primary:
        sentences.append(
            f"The primary outcome was the {lower_first(primary.name)}" + (f" at {follow_up} months." if follow_up else ".")
        )
    if has_results and primary:
        sentences.append(
            rng.choice(
                [
                    f"The {primary.abbreviation or primary.name} improved compared with baseline.",
                    f"No significant difference in {primary.abbreviation or primary.name} was found between groups.",
                    f"Improvement in {primary.abbreviation or primary.name} was sustained to the last follow-up.",
                ]
            )
        )
    serious = [a for a in adverse_events if a["serious"] == "yes" and a["n_affected"]]
    if adverse_events:
        sentences.append(
            f"{len(serious)} serious adverse event term(s) were reported."
            if serious
            else "No serious adverse events related to the cells were reported; fever and headache were transient."
        )
    if rng.random() < 0.5:
        sentences.append(rng.choice(EXTRAS).format(weeks=rng.choice([4, 8, 12])))
    return " ".join(sentences)


CONTROL_WORDS = {
    "placebo": "a saline placebo",
    "sham": "a sham procedure",
    "active": "an active comparator",
    "standard_care": "standard care",
}


def _co_therapy(rng, route) -> dict:
    kind, name = rng.choice(
        [
            ("rehabilitation", "Standard rehabilitation"),
            ("drug", "Tacrolimus immunosuppression"),
            ("procedure", "Lumbar puncture" if route == "intrathecal" else "Stereotactic neurosurgery"),
            ("drug", "Granulocyte colony-stimulating factor"),
        ]
    )
    return {"kind": kind, "name": name, "schedule": rng.choice(["daily for 4 weeks", "5 days a week for 3 months", ""])}


def _outcome_rows(rng, instrument, cohort_index, cohort, timepoints, compared) -> list[dict]:
    """One instrument's results in one cohort at each timepoint: a number with its dispersion, or a finding."""
    rows = []
    n = cohort["n_analysed"] or cohort["n_enrolled"]
    if instrument.slug in QUALITATIVE:
        t = timepoints[-1]
        return [
            {
                "cohort": cohort_index,
                "instrument_id": instrument.pk,
                "outcome_type": "secondary",
                "timepoint": Decimal(t),
                "timepoint_unit": "month",
                "is_last_follow_up": True,
                "statistic": "other",
                "finding": rng.choice(
                    [
                        "No new lesions.",
                        "Improved signal in the lesion area.",
                        "Unchanged from baseline.",
                        "Transient changes, resolved at follow-up.",
                    ]
                ),
                "n_analysed": n,
            }
        ]
    low = float(instrument.range_min) if instrument.range_min is not None else 0.0
    high = float(instrument.range_max) if instrument.range_max is not None else 100.0
    better = -1 if instrument.direction == c.Direction.LOWER_IS_BETTER else 1
    baseline = round(low + (high - low) * rng.uniform(0.25, 0.65), 1)
    effect = (high - low) * rng.uniform(-0.03, 0.12 if not compared else 0.05)
    for i, t in enumerate(timepoints):
        last = i == len(timepoints) - 1
        if instrument.slug in COUNTED:
            value = float(rng.randint(0, max(0, n // 3)))
            row = {"statistic": "count", "value": value}
        else:
            value = min(high, max(low, round(baseline + better * effect * (i + 1) / len(timepoints) + rng.gauss(0, 1), 1)))
            sd = round(abs(rng.gauss((high - low) * 0.1, (high - low) * 0.02)), 2)
            row = {
                "statistic": "mean" if rng.random() < 0.75 else "median",
                "baseline_value": baseline,
                "value": value,
                "dispersion_type": "sd",
                "dispersion_value": sd,
            }
        if last and compared and rng.random() < 0.7:
            p = rng.choice([0.001, 0.01, 0.03, 0.05, 0.2, 0.45])
            row.update(p_value=Decimal(str(p)), p_qualifier="<" if p <= 0.001 else "=")
        rows.append(
            {
                "cohort": cohort_index,
                "instrument_id": instrument.pk,
                "outcome_type": "primary" if i == len(timepoints) - 1 else "secondary",
                "timepoint": Decimal(t),
                "timepoint_unit": "month",
                "is_last_follow_up": last,
                "n_analysed": n,
                **row,
            }
        )
    return rows


# --- Writing -----------------------------------------------------------------------------------------------


class _Table:
    """A model's columns in order, with each field's default for the keys a row dict leaves out."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.name = model._meta.db_table
        self.fields = model._meta.concrete_fields
        self.attnames = [field.attname for field in self.fields]
        self.columns = [field.column for field in self.fields]
        self.defaults = {field.attname: field.get_default() for field in self.fields}

    def tuples(self, rows: list[dict]) -> Iterator[tuple]:
        defaults, attnames = self.defaults, self.attnames
        for row in rows:
            yield tuple(row[a] if a in row else defaults[a] for a in attnames)


class _Writer:
    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.tables = {model: _Table(model) for model in TABLES}

    def lock(self) -> None:
        if self.postgres:  # concurrent inserts wait; readers do not
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {', '.join(t.name for t in self.tables.values())} IN SHARE ROW EXCLUSIVE MODE")

    def first_id(self, model) -> int:
        table = self.tables[model].name
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            top = cursor.fetchone()[0]
            if self.postgres:
                cursor.execute(f"SELECT last_value, is_called FROM {self._sequence(table)}")
                last, called = cursor.fetchone()
                top = max(top, last if called else 0)
        return top + 1

    def _sequence(self, table: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            return cursor.fetchone()[0]

    def write(self, model, rows: list[dict]) -> None:
        if not rows:
            return
        table = self.tables[model]
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.copy(f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN") as copy:
                    for values in table.tuples(rows):
                        copy.write_row(values)
            else:
                fields = table.fields
                placeholders = ", ".join(["%s"] * len(fields))
                cursor.executemany(
                    f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({placeholders})",
                    [
                        [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)]
                        for values in table.tuples(rows)
                    ],
                )

    @contextlib.contextmanager
    def bulk_mode(self, rows: dict[type[models.Model], list[dict]]) -> Iterator[None]:
        """Skip PostgreSQL's row-by-row foreign-key triggers (half the load time) when allowed, and
        check the same keys set-based over the new rows instead; anything else writes as usual."""
        replica = False
        if self.postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                replica = bool(cursor.fetchone()[0])
                if replica:
                    cursor.execute("SET LOCAL session_replication_role = replica")
        yield
        if replica:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
                for model, new_rows in rows.items():
                    if new_rows:
                        self._check_foreign_keys(cursor, self.tables[model].name, new_rows[0]["id"], new_rows[-1]["id"])

    def _check_foreign_keys(self, cursor, table: str, low: int, high: int) -> None:
        """Every foreign key the database declares on `table` (composite ones too), for ids low..high."""
        cursor.execute(
            """
            SELECT con.conname, con.confrelid::regclass::text,
                   array(SELECT attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute ON attrelid = con.conrelid AND attnum = k.n ORDER BY k.i),
                   array(SELECT attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute ON attrelid = con.confrelid AND attnum = k.n ORDER BY k.i)
            FROM pg_constraint con WHERE con.contype = 'f' AND con.conrelid = %s::regclass
            """,
            [table],
        )
        for name, parent, columns, parent_columns in cursor.fetchall():
            present = " AND ".join(f"c.{col} IS NOT NULL" for col in columns)
            match = " AND ".join(f"p.{pcol} = c.{col}" for col, pcol in zip(columns, parent_columns, strict=True))
            cursor.execute(
                f"SELECT count(*) FROM {table} c WHERE c.id BETWEEN %s AND %s AND {present} "
                f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match})",
                [low, high],
            )
            if cursor.fetchone()[0]:
                raise IntegrityError(f"Synthetic rows break foreign key {name} on {table}.")

    def finish(self) -> None:
        if not self.postgres:
            return
        with connection.cursor() as cursor:
            for table in self.tables.values():
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), GREATEST(COALESCE(MAX(id), 0), 1)) "
                    f"FROM {table.name}"
                )


def _flatten(drafts: list[dict], writer: _Writer) -> dict[type[models.Model], list[dict]]:
    """Give every row its id and its parents' ids, per table."""
    rows: dict[type[models.Model], list[dict]] = {model: [] for model in TABLES}
    next_id = {model: writer.first_id(model) for model in TABLES}
    children = [
        (m.StudyCondition, "conditions"),
        (m.StudyCountry, "countries"),
        (m.RegulatoryMilestone, "milestones"),
        (m.RegistryIdentifier, "registry_ids"),
        (m.Publication, "publications"),
        (m.Source, "sources"),
    ]

    def take(model) -> int:
        value = next_id[model]
        next_id[model] = value + 1
        return value

    def keyed(model, row: dict, index: int) -> dict:
        # Row keys are unique within a study (or a cohort): the row's place in its list will do here.
        return {**row, "key": f"r{index}"} if KEYED[model] else row

    for draft in drafts:
        study_id = take(m.Study)
        rows[m.Study].append({**draft["study"], "id": study_id})
        for model, key in children:
            for index, row in enumerate(draft[key]):
                rows[model].append({**keyed(model, row, index), "id": take(model), "study_id": study_id})
        cohort_ids = []
        for cohort_index, cohort in enumerate(draft["cohorts"]):
            cohort_id = take(m.Cohort)
            cohort_ids.append(cohort_id)
            rows[m.Cohort].append({**cohort["row"], "key": f"r{cohort_index}", "id": cohort_id, "study_id": study_id})
            for index, intervention in enumerate(cohort["interventions"]):
                rows[m.Intervention].append(
                    {**intervention, "key": f"r{index}", "id": take(m.Intervention), "cohort_id": cohort_id}
                )
        for model, key in ((m.OutcomeMeasure, "outcomes"), (m.AdverseEvent, "adverse_events")):
            for index, row in enumerate(draft[key]):
                row = dict(row)
                cohort = row.pop("cohort")
                rows[model].append(
                    {**row, "key": f"r{index}", "id": take(model), "study_id": study_id, "cohort_id": cohort_ids[cohort]}
                )
    return rows


KEYED = {model: any(field.name == "key" for field in model._meta.concrete_fields) for model in TABLES}


def highest_synthetic_number() -> int:
    top = m.Study.objects.records().order_by(Length("accession").desc(), "-accession").values_list("accession", flat=True).first()
    return max(0, accession_number(top) - ACCESSION_OFFSET) if top else 0


def _drafts(numbers: range, seed: int, vocab: Vocabulary) -> list[dict]:
    return [build_study(number, seed, vocab) for number in numbers]


def synthetic_generate(*, studies: int, seed: int = 0, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Append `studies` synthetic published studies; returns the number of rows written per table.

    Building rows in Python and writing them cost about the same, so with more than one chunk a
    forked worker builds chunk k+1 while this process writes chunk k.
    """
    vocab = Vocabulary.load()
    writer = _Writer()
    first = highest_synthetic_number() + 1
    written = {model._meta.db_table: 0 for model in TABLES}
    started = time.monotonic()
    chunks = [range(start, min(start + CHUNK, first + studies)) for start in range(first, first + studies, CHUNK)]
    build = functools.partial(_drafts, seed=seed, vocab=vocab)
    pool = multiprocessing.get_context("fork").Pool(1) if len(chunks) > 1 and connection.vendor == "postgresql" else None
    try:
        for numbers, drafts in zip(chunks, pool.imap(build, chunks) if pool else map(build, chunks), strict=True):
            with transaction.atomic():
                writer.lock()
                rows = _flatten(drafts, writer)
                with writer.bulk_mode(rows):
                    for model in TABLES:
                        writer.write(model, rows[model])
                        written[model._meta.db_table] += len(rows[model])
                writer.finish()
                accession_counter_raise(ACCESSION_OFFSET + numbers[-1])
            if progress:
                progress(f"{numbers[-1] - first + 1}/{studies} studies ({time.monotonic() - started:.0f} s)")
    finally:
        if pool:
            pool.terminate()
    if connection.vendor == "postgresql":
        # Fresh statistics, or the planner guesses on the new rows; outside a transaction also VACUUM,
        # so that index-only scans need not visit the new rows' pages (autovacuum may be off or late).
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for model in TABLES:
                cursor.execute(f"{command} {model._meta.db_table}")
    return written


def main(argv: list[str] | None = None) -> None:
    """The command line (bench/generate.py sets Django up first)."""
    import argparse

    parser = argparse.ArgumentParser(description="Add N synthetic published studies to the database DATABASE_URL names.")
    parser.add_argument("--studies", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.monotonic()
    counts = synthetic_generate(studies=args.studies, seed=args.seed, progress=print)
    rows = ", ".join(f"{table.removeprefix('trials_')}: {n}" for table, n in counts.items())
    print(f"Added {args.studies} synthetic studies in {time.monotonic() - started:.1f} s ({rows}).")
