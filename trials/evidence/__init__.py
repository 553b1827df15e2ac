"""Evidence across studies: harms counted per cell product, one instrument's changes pooled, and studies
side by side.

Everything here reads what the curated rows state and no more. A cohort contributes to a safety figure
only when its rows give both the number of participants with such an event and the number at risk,
without double counting; otherwise it is listed as not poolable, with the reason. An outcome row
contributes to a pooled estimate only when it carries a mean change, its SD or SE, and n.
"""

from .compare import MAX_COMPARED, side_by_side
from .figures import forest
from .forms import EvidenceForm
from .outcomes import outcome_data, outcome_entries, pool, pooled_rows
from .safety import SAFETY_MEASURES, Proportion, safety_csv_rows, safety_data, safety_table, term_data, term_table

__all__ = [
    "MAX_COMPARED",
    "SAFETY_MEASURES",
    "EvidenceForm",
    "Proportion",
    "forest",
    "outcome_data",
    "outcome_entries",
    "pool",
    "pooled_rows",
    "safety_csv_rows",
    "safety_data",
    "safety_table",
    "side_by_side",
    "term_data",
    "term_table",
]
