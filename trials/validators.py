"""Format rules for identifiers curators type in: registry ids, DOI, PMID, PMCID."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

# One pattern per registry, anchored; the examples are what each registry's own pages show.
REGISTRY_PATTERNS: dict[str, tuple[str, str]] = {
    "NCT": (r"^NCT\d{8}$", "NCT02354625"),
    "ChiCTR": (r"^ChiCTR(-[A-Z]{2,5}-)?\d{8,10}$", "ChiCTR2000029953 or ChiCTR-IOR-17013557"),
    "ISRCTN": (r"^ISRCTN\d{8}$", "ISRCTN12345678"),
    "EudraCT": (r"^\d{4}-\d{6}-\d{2}$", "2012-001234-56"),
    "EUCT": (r"^\d{4}-\d{6}-\d{2}-\d{2}$", "2023-501234-12-00"),
    "jRCT": (r"^jRCT[a-z0-9]\d{9}$", "jRCTa031190228 or jRCT2033200195"),
    "UMIN": (r"^UMIN\d{9}$", "UMIN000012345"),
    "IRCT": (r"^IRCT\d{10,16}N\d{1,3}$", "IRCT20210614051576N1"),
    "CTRI": (r"^CTRI/\d{4}/\d{2,3}/\d{6}$", "CTRI/2020/05/025271"),
    "ANZCTR": (r"^ACTRN\d{14}p?$", "ACTRN12619000123456"),
    "DRKS": (r"^DRKS\d{8}$", "DRKS00012345"),
    "KCT": (r"^KCT\d{7}$", "KCT0001234"),
    "other": (r"^\S(.*\S)?$", "any identifier"),
}

REGISTRY_URLS: dict[str, str] = {
    "NCT": "https://clinicaltrials.gov/study/{value}",
    "ChiCTR": "https://www.chictr.org.cn/searchprojEN.html?regno={value}",
    "ISRCTN": "https://www.isrctn.com/{value}",
    "EudraCT": "https://www.clinicaltrialsregister.eu/ctr-search/search?query={value}",
    "EUCT": "https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT={value}",
    "jRCT": "https://jrct.niph.go.jp/en-latest-detail/{value}",
    "UMIN": "https://center6.umin.ac.jp/cgi-open-bin/ctr_e/ctr_view.cgi?recptno={value}",
    "IRCT": "https://irct.behdasht.gov.ir/search/result?query={value}",
    "CTRI": "https://ctri.nic.in/Clinicaltrials/advsearch.php?query={value}",
    "ANZCTR": "https://www.anzctr.org.au/TrialSearch.aspx?searchTxt={value}",
    "DRKS": "https://drks.de/search/en/trial/{value}",
    "KCT": "https://cris.nih.go.kr/cris/search/listDetail.do?searchWord={value}",
}


def validate_registry_value(registry: str, value: str) -> None:
    pattern, example = REGISTRY_PATTERNS.get(registry, REGISTRY_PATTERNS["other"])
    if not re.fullmatch(pattern, value or ""):
        raise ValidationError(
            _("“%(value)s” is not a valid %(registry)s identifier (expected e.g. %(example)s)."),
            code="invalid_registry_id",
            params={"value": value, "registry": registry, "example": example},
        )


validate_doi = RegexValidator(
    r"^10\.\d{4,9}/\S+$", _("Enter a DOI such as 10.1089/neu.2020.7590 (no https://doi.org/ prefix)."), "invalid_doi"
)
validate_pmid = RegexValidator(r"^[1-9]\d{0,8}$", _("A PMID is a number such as 33757304."), "invalid_pmid")
validate_pmcid = RegexValidator(r"^PMC\d{4,9}$", _("A PMCID looks like PMC9360180."), "invalid_pmcid")
validate_accession = RegexValidator(r"^NCR-\d{6,8}$", _("An accession looks like NCR-000123."), "invalid_accession")
validate_mesh_id = RegexValidator(r"^D\d{6,9}$", _("A MeSH descriptor id looks like D013119."), "invalid_mesh_id")
validate_cell_ontology_id = RegexValidator(r"^CL:\d{7}$", _("A Cell Ontology id looks like CL:0000134."), "invalid_cl_id")
