"""Query counts shared by the tests that pin them."""

from django.db import connection


def other_facets(selected_from_groups: int = 0) -> int:
    """Queries counting the 14 facets besides condition over one set of studies.

    Facets read from the same rows are counted together: the two flags in one aggregate everywhere, and
    on PostgreSQL also the 5 cell-product facets and the 3 study columns, each in one GROUPING SETS
    query (trials/filters.py). So 5 on PostgreSQL (cell products, study columns, flags, country,
    instrument) and 11 on SQLite, plus the sponsor facets (organisation and lead sponsor's kind, one each).
    On PostgreSQL a facet of those groups that has a value selected is counted by itself, under the other
    filters: one more query each.
    """
    return 7 + selected_from_groups if connection.vendor == "postgresql" else 13
