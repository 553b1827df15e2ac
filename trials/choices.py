"""Controlled lists. Values are stable API/CSV codes; labels are translated for the pages."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CurationState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    RETRACTED = "retracted", _("Retracted")


class WorkflowAction(models.TextChoices):
    """The review workflow's steps, as a study's log records them. Which state each leaves from, where
    it leads and who may take it is the one table `trials.services.workflow.TRANSITIONS`."""

    SUBMIT = "submitted", _("submitted for review")
    REQUEST_CHANGES = "changes_requested", _("changes requested")
    PUBLISH = "published", _("published")
    RETRACT = "retracted", _("retracted")
    START_REVISION = "revision_started", _("revision started")
    PUBLISH_REVISION = "revision_published", _("revision published")
    # Only in older logs: states that API writes used to set directly.
    RETURN_TO_DRAFT = "returned_to_draft", _("returned to draft")


class StudyType(models.TextChoices):
    INTERVENTIONAL = "interventional", _("Interventional trial")
    OBSERVATIONAL = "observational", _("Observational study")
    CASE_REPORT = "case_report", _("Case report / case series")
    SYSTEMATIC_REVIEW = "systematic_review", _("Systematic review / meta-analysis")


class Phase(models.TextChoices):
    EARLY_PHASE1 = "early_phase1", _("Early phase 1")
    PHASE1 = "phase1", _("Phase 1")
    PHASE1_PHASE2 = "phase1_phase2", _("Phase 1/2")
    PHASE2 = "phase2", _("Phase 2")
    PHASE2_PHASE3 = "phase2_phase3", _("Phase 2/3")
    PHASE3 = "phase3", _("Phase 3")
    PHASE4 = "phase4", _("Phase 4")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


# Sort key for "order by phase": a real ordering, not the alphabetical order of the codes.
PHASE_RANK = {value: rank for rank, value in enumerate(Phase.values)}


class Allocation(models.TextChoices):
    RANDOMIZED = "randomized", _("Randomized")
    NON_RANDOMIZED = "non_randomized", _("Non-randomized")
    NOT_APPLICABLE = "not_applicable", _("Not applicable (single group)")


class Masking(models.TextChoices):
    NONE = "none", _("None (open label)")
    SINGLE = "single", _("Single")
    DOUBLE = "double", _("Double")
    TRIPLE = "triple", _("Triple")
    QUADRUPLE = "quadruple", _("Quadruple")


class ControlType(models.TextChoices):
    NONE = "none", _("Uncontrolled")
    PLACEBO = "placebo", _("Placebo")
    SHAM = "sham", _("Sham procedure")
    ACTIVE = "active", _("Active comparator")
    STANDARD_CARE = "standard_care", _("Standard care / no intervention")
    HISTORICAL = "historical", _("Historical or external control")
    SELF = "self", _("Self-controlled (before / after)")


class OverallStatus(models.TextChoices):
    """ClinicalTrials.gov's overall recruitment status values."""

    NOT_YET_RECRUITING = "NOT_YET_RECRUITING", _("Not yet recruiting")
    RECRUITING = "RECRUITING", _("Recruiting")
    ENROLLING_BY_INVITATION = "ENROLLING_BY_INVITATION", _("Enrolling by invitation")
    ACTIVE_NOT_RECRUITING = "ACTIVE_NOT_RECRUITING", _("Active, not recruiting")
    SUSPENDED = "SUSPENDED", _("Suspended")
    TERMINATED = "TERMINATED", _("Terminated")
    COMPLETED = "COMPLETED", _("Completed")
    WITHDRAWN = "WITHDRAWN", _("Withdrawn")
    UNKNOWN = "UNKNOWN", _("Unknown status")


class DatePrecision(models.TextChoices):
    YEAR = "year", _("Year")
    MONTH = "month", _("Month")
    DAY = "day", _("Day")


class EnrollmentType(models.TextChoices):
    ACTUAL = "actual", _("Actual")
    ANTICIPATED = "anticipated", _("Anticipated")


class MilestoneKind(models.TextChoices):
    IND_CLEARED = "ind_cleared", _("IND cleared")
    IND_SUBMITTED = "ind_submitted", _("IND submitted")
    ETHICS_APPROVED = "ethics_approved", _("Ethics approval")
    REGISTERED = "registered", _("Registered")
    MARKETING_AUTHORIZATION = "marketing_authorization", _("Marketing authorization")
    OTHER = "other", _("Other")


class Agency(models.TextChoices):
    NMPA = "NMPA", _("NMPA (China)")
    FDA = "FDA", _("FDA (United States)")
    EMA = "EMA", _("EMA (European Union)")
    PMDA = "PMDA", _("PMDA / MHLW (Japan)")
    MFDS = "MFDS", _("MFDS (South Korea)")
    IRB = "IRB", _("Ethics committee / IRB")
    OTHER = "other", _("Other")


class Registry(models.TextChoices):
    NCT = "NCT", "ClinicalTrials.gov"
    CHICTR = "ChiCTR", "ChiCTR"
    ISRCTN = "ISRCTN", "ISRCTN"
    EUDRACT = "EudraCT", "EudraCT"
    EUCT = "EUCT", "EU CT (CTIS)"
    JRCT = "jRCT", "jRCT"
    UMIN = "UMIN", "UMIN-CTR"
    IRCT = "IRCT", "IRCT"
    CTRI = "CTRI", "CTRI"
    ANZCTR = "ANZCTR", "ANZCTR"
    DRKS = "DRKS", "DRKS"
    KCT = "KCT", "CRIS (KCT)"
    OTHER = "other", _("Other")


class Language(models.TextChoices):
    ZH = "zh", _("Chinese")
    EN = "en", _("English")
    JA = "ja", _("Japanese")
    OTHER = "other", _("Other")


class CellCategory(models.TextChoices):
    MSC = "msc", _("Mesenchymal stromal/stem cells")
    NEURAL = "neural", _("Neural stem / progenitor cells")
    PLURIPOTENT_DERIVED = "pluripotent_derived", _("Pluripotent-stem-cell derived")
    GLIAL = "glial", _("Glial cells (Schwann, olfactory ensheathing)")
    HEMATOPOIETIC = "hematopoietic", _("Hematopoietic / mononuclear cells")
    IMMUNE = "immune", _("Immune cells")
    OTHER = "other", _("Other")


class SourceTissue(models.TextChoices):
    UMBILICAL_CORD = "umbilical_cord", _("Umbilical cord")
    BONE_MARROW = "bone_marrow", _("Bone marrow")
    ADIPOSE = "adipose", _("Adipose tissue")
    PLACENTA = "placenta", _("Placenta")
    PERIPHERAL_BLOOD = "peripheral_blood", _("Peripheral blood")
    CORD_BLOOD = "cord_blood", _("Umbilical cord blood")
    FETAL_NEURAL = "fetal_neural", _("Fetal neural tissue")
    PERIPHERAL_NERVE = "peripheral_nerve", _("Peripheral nerve")
    OLFACTORY_MUCOSA = "olfactory_mucosa", _("Olfactory mucosa / bulb")
    IPSC = "ipsc", _("Induced pluripotent stem cells")
    EMBRYONIC = "embryonic", _("Embryonic stem cells")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Not reported")


class Donor(models.TextChoices):
    AUTOLOGOUS = "autologous", _("Autologous")
    ALLOGENEIC = "allogeneic", _("Allogeneic")
    UNKNOWN = "unknown", _("Not reported")


class InterventionKind(models.TextChoices):
    CELL_PRODUCT = "cell_product", _("Cell product")
    DRUG = "drug", _("Drug")
    PROCEDURE = "procedure", _("Procedure")
    REHABILITATION = "rehabilitation", _("Rehabilitation")
    PLACEBO = "placebo", _("Placebo / sham")
    OTHER = "other", _("Other")


class Route(models.TextChoices):
    INTRATHECAL = "intrathecal", _("Intrathecal")
    INTRAVENOUS = "intravenous", _("Intravenous")
    INTRA_ARTERIAL = "intra_arterial", _("Intra-arterial")
    INTRACEREBRAL = "intracerebral", _("Intracerebral")
    INTRASPINAL = "intraspinal", _("Intralesional / intraspinal")
    INTRAMUSCULAR = "intramuscular", _("Intramuscular")
    INTRANASAL = "intranasal", _("Intranasal")
    SUBCUTANEOUS = "subcutaneous", _("Subcutaneous")
    ORAL = "oral", _("Oral")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Not reported")


class CohortRole(models.TextChoices):
    EXPERIMENTAL = "experimental", _("Experimental")
    ACTIVE_COMPARATOR = "active_comparator", _("Active comparator")
    PLACEBO = "placebo", _("Placebo comparator")
    SHAM = "sham", _("Sham comparator")
    NO_INTERVENTION = "no_intervention", _("No intervention")
    HISTORICAL_CONTROL = "historical_control", _("Historical / reference control")
    SINGLE_PARTICIPANT = "single_participant", _("Single participant")


class AisGrade(models.TextChoices):
    A = "A", "AIS A"
    B = "B", "AIS B"
    C = "C", "AIS C"
    D = "D", "AIS D"
    E = "E", "AIS E"


class Direction(models.TextChoices):
    HIGHER_IS_BETTER = "higher_is_better", _("Higher is better")
    LOWER_IS_BETTER = "lower_is_better", _("Lower is better")
    NEITHER = "neither", _("No direction")


class OutcomeType(models.TextChoices):
    PRIMARY = "primary", _("Primary")
    SECONDARY = "secondary", _("Secondary")
    SAFETY = "safety", _("Safety")
    OTHER = "other", _("Other / exploratory")


class TimeUnit(models.TextChoices):
    HOUR = "hour", _("hours")
    DAY = "day", _("days")
    WEEK = "week", _("weeks")
    MONTH = "month", _("months")
    YEAR = "year", _("years")


class Statistic(models.TextChoices):
    MEAN = "mean", _("Mean")
    MEDIAN = "median", _("Median")
    INDIVIDUAL = "individual", _("Individual value")
    COUNT = "count", _("Count of participants")
    PROPORTION = "proportion", _("Proportion")
    MEAN_CHANGE = "mean_change", _("Mean change")
    SMD = "smd", _("Standardised mean difference")
    ODDS_RATIO = "odds_ratio", _("Odds ratio")
    HAZARD_RATIO = "hazard_ratio", _("Hazard ratio")
    RISK_REDUCTION = "risk_reduction", _("Relative risk reduction")
    RATE = "rate", _("Rate per period")
    OTHER = "other", _("Other")


class Dispersion(models.TextChoices):
    SD = "sd", _("Standard deviation")
    SE = "se", _("Standard error")
    IQR = "iqr", _("Interquartile range")
    RANGE = "range", _("Range")
    # xgettext:no-python-format
    CI95 = "ci95", _("95% confidence interval")
    PM = "pm", _("± (kind not stated)")


class ChangeReportedAs(models.TextChoices):
    """How the source words a change, kept beside the signed number so the two can be checked."""

    IMPROVEMENT = "improvement", _("Improvement")
    WORSENING = "worsening", _("Worsening")
    INCREASE = "increase", _("Increase")
    DECREASE = "decrease", _("Decrease")
    NO_CHANGE = "no_change", _("No change")


class PQualifier(models.TextChoices):
    EQ = "=", "="
    LT = "<", "<"
    GT = ">", ">"


class Seriousness(models.TextChoices):
    SERIOUS = "yes", _("Serious")
    NON_SERIOUS = "no", _("Non-serious")
    UNKNOWN = "unknown", _("Seriousness not reported")


class Relatedness(models.TextChoices):
    UNRELATED = "unrelated", _("Unrelated")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    DEFINITE = "definite", _("Definite")
    RELATED = "related", _("Related (degree not stated)")
    UNKNOWN = "unknown", _("Not reported")


class AeScope(models.TextChoices):
    """What a row counts: one kind of event, or every event of a class, as the source states a total."""

    EVENT = "event", _("One kind of event")
    ALL = "all", _("All adverse events")
    ALL_SERIOUS = "all_serious", _("All serious adverse events")
    ALL_RELATED = "all_related", _("All related events")
    ALL_SERIOUS_RELATED = "all_serious_related", _("All serious related events")


class Attribution(models.TextChoices):
    CELL_PRODUCT = "cell_product", _("Cell product")
    PROCEDURE = "procedure", _("Administration procedure")
    CO_THERAPY = "co_therapy", _("Co-therapy")
    REHABILITATION = "rehabilitation", _("Rehabilitation / training")
    DISEASE = "disease", _("Underlying disease")
    UNKNOWN = "unknown", _("Not reported")


class AeOutcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    RESOLVING = "resolving", _("Resolving")
    RESOLVED_WITH_SEQUELAE = "resolved_with_sequelae", _("Resolved with sequelae")
    ONGOING = "ongoing", _("Ongoing")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Not reported")


class OrganClass(models.TextChoices):
    """MedDRA system organ classes (SOC)."""

    BLOOD = "blood", _("Blood and lymphatic system disorders")
    CARDIAC = "cardiac", _("Cardiac disorders")
    CONGENITAL = "congenital", _("Congenital, familial and genetic disorders")
    EAR = "ear", _("Ear and labyrinth disorders")
    ENDOCRINE = "endocrine", _("Endocrine disorders")
    EYE = "eye", _("Eye disorders")
    GASTROINTESTINAL = "gastrointestinal", _("Gastrointestinal disorders")
    GENERAL = "general", _("General disorders and administration site conditions")
    HEPATOBILIARY = "hepatobiliary", _("Hepatobiliary disorders")
    IMMUNE = "immune", _("Immune system disorders")
    INFECTIONS = "infections", _("Infections and infestations")
    INJURY = "injury", _("Injury, poisoning and procedural complications")
    INVESTIGATIONS = "investigations", _("Investigations")
    METABOLISM = "metabolism", _("Metabolism and nutrition disorders")
    MUSCULOSKELETAL = "musculoskeletal", _("Musculoskeletal and connective tissue disorders")
    NEOPLASMS = "neoplasms", _("Neoplasms benign, malignant and unspecified")
    NERVOUS = "nervous", _("Nervous system disorders")
    PREGNANCY = "pregnancy", _("Pregnancy, puerperium and perinatal conditions")
    PRODUCT = "product", _("Product issues")
    PSYCHIATRIC = "psychiatric", _("Psychiatric disorders")
    RENAL = "renal", _("Renal and urinary disorders")
    REPRODUCTIVE = "reproductive", _("Reproductive system and breast disorders")
    RESPIRATORY = "respiratory", _("Respiratory, thoracic and mediastinal disorders")
    SKIN = "skin", _("Skin and subcutaneous tissue disorders")
    SOCIAL = "social", _("Social circumstances")
    SURGICAL = "surgical", _("Surgical and medical procedures")
    VASCULAR = "vascular", _("Vascular disorders")
    MULTIPLE = "multiple", _("Multiple / not classifiable (summary rows)")


class TriState(models.TextChoices):
    """A curated yes/no that may be unknown: what the sources do not say stays unknown."""

    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Unknown")


class TrustFlag(models.TextChoices):
    """The trust signals of a stem-cell study (trials/trust.py computes or reads each)."""

    REGISTERED = "registered", _("Registered in a public registry")
    PROSPECTIVE = "prospective", _("Registered before enrolment")
    AUTHORISED = "authorised", _("Authorised by a regulator")
    PATIENT_PAYS = "patient_pays", _("Patients pay to take part")
    PEER_REVIEWED = "peer_reviewed", _("Peer-reviewed results")
    RESULTS_POSTED = "results_posted", _("Results posted")
    STALE = "stale", _("Status not verified for over 2 years")


class SynonymVocabulary(models.TextChoices):
    """Coded lists (not vocabulary tables) whose codes carry search synonyms (trials.models.CodeSynonyms)."""

    ROUTE = "route", _("Route of administration")
    CELL_CATEGORY = "cell_category", _("Cell category")
