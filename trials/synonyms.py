"""Free text in the field's own words: a search for 渐冻症, "motor neuron disease" or ALS finds the studies
about amyotrophic lateral sclerosis, in English and Chinese alike.

Conditions, cell types and instruments carry synonyms and lay terms (their `synonyms` field); routes and
cell categories, which are coded lists, carry theirs in `CodeSynonyms`. All are edited in the admin.
`expand()` finds every known term in the query (the longest first, on word boundaries for Latin script,
anywhere in Chinese, which has no spaces), turns each into its concept (a condition with its narrower
conditions), and segments what is left of the query into words (Chinese with jieba). The search
(trials.filters) then asks, per concept, for studies coded with it or mentioning any of its terms, ranks
the coded ones first, and the page says which concepts it searched for.

Matching is plain SQL every backend runs alike (EXISTS on the coding, and a case-insensitive regular
expression over the text), so SQLite and PostgreSQL return the same studies.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from django.db.models import CharField, Exists, F, IntegerField, OuterRef, Q, QuerySet, TextField, Value
from django.utils import translation
from django.utils.translation import gettext as _

from . import choices as c
from . import models as m

# Words that say nothing in a registry of stem-cell studies: left out of what must match.
_STOPWORDS = """
    a an and or the of for in on with to by at from vs versus patient patients people study studies trial trials
    clinical treatment treatments treating therapy therapies stem cell cells transplantation transplant
    的 和 与 及 或 在 对 用 于 中 治疗 疗法 研究 临床 试验 患者 病人 干细胞 细胞 移植 应用 效果 疗效
"""
STOPWORDS = frozenset(_STOPWORDS.split())
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[0-9a-z][0-9a-z\-\.+®]*")
# The fields whose text a concept's terms are looked for in.
TEXT_FIELDS = ("title", "title_zh", "brief_summary", "brief_summary_zh", "acronym")
# A Latin term must stand alone: "ALS" matches "ALS patients", not "trials". Written for both
# PostgreSQL's regular expressions and Python's (SQLite's REGEXP), which agree on this subset.
EDGE_BEFORE, EDGE_AFTER = "(^|[^0-9a-z])", "($|[^0-9a-z])"


def normalize(text: str) -> str:
    """Full-width forms folded (ＡＬＳ, （）), case folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def split_terms(text: str) -> list[str]:
    return [normalize(line) for line in (text or "").replace(";", "\n").splitlines() if line.strip()]


@dataclass(frozen=True)
class Concept:
    """A vocabulary entry or a coded value, with every term it is known by."""

    kind: str  # condition, cell_type, instrument, route, cell_category
    key: str  # the slug or the code
    pk: int | None
    name: str
    name_zh: str
    terms: frozenset[str]
    parent: int | None = None

    def label(self) -> str:
        language = translation.get_language() or ""
        return self.name_zh if language.startswith("zh") and self.name_zh else self.name


@dataclass
class Group:
    """The concepts one phrase of the query stands for (a term may name several, e.g. "MSC")."""

    phrase: str
    concepts: list[Concept]
    # Every term to look for in the text: the concepts' own and, for conditions, their narrower ones'.
    terms: set[str] = field(default_factory=set)
    condition_ids: set[int] = field(default_factory=set)

    def label(self) -> str:
        return _(" or ").join(concept.label() for concept in self.concepts)


@dataclass
class Expansion:
    text: str
    groups: list[Group]
    rest: list[str]  # the other words of the query, stop words left out

    def label(self) -> str:
        """“amyotrophic lateral sclerosis and umbilical cord MSC”, for the page's “showing studies about …”."""
        return _(" and ").join(group.label() for group in self.groups)


# --- the lexicon: every term of every vocabulary, in one query ---------------------------------------


def lexicon() -> list[Concept]:
    """Every concept with its terms: one query over the three vocabularies and the coded lists' synonyms."""
    none_int = Value(None, output_field=IntegerField())
    empty = Value("", output_field=CharField())

    def columns(queryset: QuerySet, kind: str, **overrides) -> QuerySet:
        fields = {
            "k": Value(kind, output_field=CharField()),
            "ident": overrides.pop("ident", empty),
            "n": overrides.pop("n", empty),
            "nz": overrides.pop("nz", empty),
            "ab": overrides.pop("ab", empty),
            "syn": overrides.pop("syn", Value("", output_field=TextField())),
            "up": overrides.pop("up", none_int),
        }
        return queryset.annotate(**fields).values_list("k", "pk", "ident", "n", "nz", "ab", "syn", "up").order_by()

    vocab = {"ident": F("slug"), "n": F("name"), "nz": F("name_zh"), "syn": F("synonyms")}
    rows = (
        columns(m.Condition.objects.all(), "condition", up=F("parent_id"), **vocab)
        .union(
            columns(m.CellType.objects.all(), "cell_type", **vocab),
            columns(m.Instrument.objects.all(), "instrument", ab=F("abbreviation"), **vocab),
            columns(m.CodeSynonyms.objects.all(), "", ident=F("code"), n=F("vocabulary"), syn=F("synonyms")),
            all=True,
        )
        .order_by()
    )
    concepts: list[Concept] = []
    coded_synonyms: dict[tuple[str, str], str] = {}
    for kind, pk, ident, name, name_zh, abbreviation, synonyms, parent in rows:
        if kind == "":  # a CodeSynonyms row: `n` holds its list
            coded_synonyms[(name, ident)] = synonyms
            continue
        terms = {normalize(name), normalize(name_zh), normalize(abbreviation), *split_terms(synonyms)} - {""}
        concepts.append(Concept(kind, ident, pk, name, name_zh, frozenset(terms), parent))
    for vocabulary, choices in ((c.SynonymVocabulary.ROUTE, c.Route), (c.SynonymVocabulary.CELL_CATEGORY, c.CellCategory)):
        for code, label in choices.choices:
            if code in (c.Route.OTHER, c.Route.UNKNOWN, c.CellCategory.OTHER):
                continue  # "other" and "not reported" are no concept anyone searches for
            with translation.override("en"):
                name = str(label)
            with translation.override("zh-hans"):
                name_zh = str(label)
            terms = {normalize(name), normalize(name_zh), *split_terms(coded_synonyms.get((vocabulary, code), ""))} - {""}
            concepts.append(Concept(str(vocabulary), code, None, name, name_zh, frozenset(terms)))
    return concepts


# --- segmentation -------------------------------------------------------------------------------------


@cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def segment(text: str) -> list[str]:
    """Words of (normalised) text: Latin words as they stand, Chinese runs cut by jieba."""
    words: list[str] = []
    for chunk in re.split(r"[\s,，;；、。.!?！？:：()（）\[\]“”\"'/]+", text):
        if not chunk:
            continue
        if CJK.search(chunk):
            words.extend(word.strip() for word in _jieba().lcut(chunk) if word.strip())
        else:
            words.extend(LATIN_WORD.findall(chunk))
    return words


# --- expansion ------------------------------------------------------------------------------------------


def _occurrences(term: str, text: str) -> Iterable[tuple[int, int]]:
    if CJK.search(term):
        start = text.find(term)
        while start >= 0:
            yield start, start + len(term)
            start = text.find(term, start + 1)
    else:
        for match in re.finditer(r"(?<![0-9a-z])" + re.escape(term) + r"(?![0-9a-z])", text):
            yield match.start(), match.end()


def expand(text: str, concepts: list[Concept] | None = None) -> Expansion:
    """The concepts the query names (longest terms first, never overlapping) and its other words."""
    normalized = normalize(text)
    concepts = lexicon() if concepts is None else concepts
    by_term: dict[str, list[Concept]] = {}
    for concept in concepts:
        for term in concept.terms:
            by_term.setdefault(term, []).append(concept)
    taken = [False] * len(normalized)
    found: list[tuple[int, str]] = []
    for term in sorted(by_term, key=lambda t: (-len(t), t)):
        for start, end in _occurrences(term, normalized):
            if not any(taken[start:end]):
                taken[start:end] = [True] * (end - start)
                found.append((start, term))
    groups: dict[frozenset, Group] = {}
    for _start, term in sorted(found):
        key = frozenset((concept.kind, concept.key) for concept in by_term[term])
        if key not in groups:
            groups[key] = Group(term, list(by_term[term]))
    _add_terms(list(groups.values()), concepts)
    rest_text = "".join(" " if taken[i] else char for i, char in enumerate(normalized))
    rest = [word for word in segment(rest_text) if word not in STOPWORDS and not _is_particle(word)]
    return Expansion(text, list(groups.values()), rest)


def _is_particle(word: str) -> bool:
    return len(word) == 1 and bool(CJK.match(word)) and word in STOPWORDS


def _add_terms(groups: list[Group], concepts: list[Concept]) -> None:
    """Each group's terms and condition ids: a condition brings its narrower conditions along."""
    conditions = {concept.pk: concept for concept in concepts if concept.kind == "condition"}
    children: dict[int | None, list[int]] = {}
    for concept in conditions.values():
        children.setdefault(concept.parent, []).append(concept.pk)  # type: ignore[arg-type]
    for group in groups:
        for concept in group.concepts:
            group.terms |= concept.terms
            if concept.kind != "condition" or concept.pk is None:
                continue
            frontier = [concept.pk]
            while frontier:
                group.condition_ids.update(frontier)
                for pk in frontier:
                    group.terms |= conditions[pk].terms
                frontier = [child for pk in frontier for child in children.get(pk, []) if child not in group.condition_ids]


# --- the SQL a group becomes ---------------------------------------------------------------------------------


def text_pattern(terms: Iterable[str]) -> str:
    """One case-insensitive regular expression matching any of the terms (Latin ones as whole words)."""
    latin = sorted((t for t in terms if not CJK.search(t)), key=len, reverse=True)
    chinese = sorted((t for t in terms if CJK.search(t)), key=len, reverse=True)
    parts = []
    if latin:
        parts.append(EDGE_BEFORE + "(" + "|".join(_escape(t) for t in latin) + ")" + EDGE_AFTER)
    if chinese:
        parts.append("(" + "|".join(_escape(t) for t in chinese) + ")")
    return "|".join(parts)


# Characters special to either regular-expression dialect, written so that both read them literally.
_ESCAPES = {char: f"[{char}]" for char in ".*+?(){}|$-"} | {"[": r"\[", "]": r"\]", "\\": r"\\", "^": r"\^"}


def _escape(term: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in term)


def coded_q(group: Group) -> Q:
    """Studies coded with any of the group's concepts (conditions with their narrower ones)."""

    def interventions(**lookups) -> Q:
        return Q(Exists(m.Intervention.objects.filter(cohort__study=OuterRef("pk"), **lookups)))

    by_kind: dict[str, list[Concept]] = {}
    for concept in group.concepts:
        by_kind.setdefault(concept.kind, []).append(concept)
    q = Q(pk__in=[])
    if group.condition_ids:
        q |= Q(Exists(m.StudyCondition.objects.filter(study=OuterRef("pk"), condition_id__in=group.condition_ids)))
    if "cell_type" in by_kind:
        q |= interventions(cell_type_id__in=[concept.pk for concept in by_kind["cell_type"]])
    if "cell_category" in by_kind:
        q |= interventions(cell_type__category__in=[concept.key for concept in by_kind["cell_category"]])
    if "route" in by_kind:
        q |= interventions(kind=c.InterventionKind.CELL_PRODUCT, route__in=[concept.key for concept in by_kind["route"]])
    if "instrument" in by_kind:
        q |= Q(
            Exists(
                m.OutcomeMeasure.objects.filter(
                    study=OuterRef("pk"), instrument_id__in=[concept.pk for concept in by_kind["instrument"]]
                )
            )
        )
    return q


def mentions_q(group: Group) -> Q:
    """Studies whose titles, summaries or acronym mention any of the group's terms."""
    pattern = text_pattern(group.terms)
    q = Q(pk__in=[])
    for name in TEXT_FIELDS:
        q |= Q(**{f"{name}__iregex": pattern})
    return q
