"""Export the public studies of a PostgreSQL registry into one SQLite file for Datasette.

The shape is what a Datasette publisher would build (sqlite-utils style): one wide `studies` table
with the columns of our API's study summary, the many-valued ones (conditions, cell types, donors,
routes ...) as JSON arrays that `?col__arraycontains=` filters and `_facet_array=` counts, and
the children as their own tables with foreign keys and indexes. `conditions` lists each condition
and its broader ones, so `conditions__arraycontains=stroke` finds ischemic stroke as our filter
does; `study_condition_closure` and `study_cell_types` hold the same as rows, for Datasette's indexed
`_through=` filter. Titles and summaries get an FTS5 index. Run with the main venv: python bench/export_sqlite.py DSN FILE
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections import defaultdict
from pathlib import Path

import psycopg

PUBLIC = "('published', 'retracted')"
STUDY_COLUMNS = [
    "id", "accession", "title", "title_zh", "acronym", "brief_summary", "brief_summary_zh", "study_type", "phase",
    "overall_status", "curation_state", "conditions", "cell_types", "source_tissues", "donors", "routes", "enrollment",
    "enrollment_type", "start_date", "completion_date", "countries", "has_results", "has_serious_ae", "version",
    "updated_at",
]  # fmt: skip
CHILDREN = {
    # table: (SELECT of the rows, the column naming their study, the SQLite table's columns and foreign keys)
    "study_conditions": (
        "SELECT sc.id, sc.study_id, c.slug, sc.detail FROM trials_studycondition sc "
        "JOIN trials_condition c ON c.id = sc.condition_id",
        "sc.study_id",
        "id INTEGER PRIMARY KEY, study_id INTEGER REFERENCES studies(id), condition TEXT, detail TEXT",
    ),
    "registry_ids": (
        "SELECT r.id, r.study_id, r.registry, r.value FROM trials_registryidentifier r",
        "r.study_id",
        "id INTEGER PRIMARY KEY, study_id INTEGER REFERENCES studies(id), registry TEXT, value TEXT",
    ),
    "publications": (
        "SELECT p.id, p.study_id, p.title, p.first_author, p.journal, p.date, p.doi, p.pmid, p.pmcid FROM trials_publication p",
        "p.study_id",
        "id INTEGER PRIMARY KEY, study_id INTEGER REFERENCES studies(id), title TEXT, first_author TEXT, journal TEXT, "
        "date TEXT, doi TEXT, pmid TEXT, pmcid TEXT",
    ),
    "cohorts": (
        "SELECT c.id, c.study_id, c.label, c.role, c.n_enrolled, c.n_analysed, c.age_summary, c.sex_summary, c.stage "
        "FROM trials_cohort c",
        "c.study_id",
        "id INTEGER PRIMARY KEY, study_id INTEGER REFERENCES studies(id), label TEXT, role TEXT, n_enrolled INTEGER, "
        "n_analysed INTEGER, age_summary TEXT, sex_summary TEXT, stage TEXT",
    ),
    "interventions": (
        "SELECT i.id, i.cohort_id, c.study_id, i.kind, i.name, ct.slug, i.source_tissue, i.donor, i.route, i.dose_cells_total, "
        "i.dose_cells_per_kg, i.dose_text, i.n_administrations, i.schedule FROM trials_intervention i "
        "JOIN trials_cohort c ON c.id = i.cohort_id LEFT JOIN trials_celltype ct ON ct.id = i.cell_type_id",
        "c.study_id",
        "id INTEGER PRIMARY KEY, cohort_id INTEGER REFERENCES cohorts(id), study_id INTEGER REFERENCES studies(id), kind TEXT, "
        "name TEXT, cell_type TEXT, source_tissue TEXT, donor TEXT, route TEXT, dose_cells_total REAL, dose_cells_per_kg REAL, "
        "dose_text TEXT, n_administrations INTEGER, schedule TEXT",
    ),
    "outcomes": (
        "SELECT o.id, o.study_id, o.cohort_id, ins.slug, o.outcome_type, o.timepoint::float, o.timepoint_unit, o.statistic, "
        "o.baseline_value, o.value, o.change_value, o.dispersion_type, o.dispersion_value, o.n_analysed, o.p_value::float, "
        "o.p_qualifier, o.finding FROM trials_outcomemeasure o JOIN trials_instrument ins ON ins.id = o.instrument_id",
        "o.study_id",
        "id INTEGER PRIMARY KEY, study_id INTEGER REFERENCES studies(id), cohort_id INTEGER REFERENCES cohorts(id), "
        "instrument TEXT, outcome_type TEXT, timepoint REAL, timepoint_unit TEXT, statistic TEXT, baseline_value REAL, "
        "value REAL, change_value REAL, dispersion_type TEXT, dispersion_value REAL, n_analysed INTEGER, p_value REAL, "
        "p_qualifier TEXT, finding TEXT",
    ),
    "adverse_events": (
        "SELECT a.id, a.study_id, a.cohort_id, a.term, a.organ_class, a.serious, a.grade, a.relatedness, a.attributed_to, "
        "a.n_events, a.n_affected, a.n_at_risk, a.outcome FROM trials_adverseevent a",
        "a.study_id",
        "id INTEGER PRIMARY KEY, study_id INTEGER REFERENCES studies(id), cohort_id INTEGER REFERENCES cohorts(id), term TEXT, "
        "organ_class TEXT, serious TEXT, grade INTEGER, relatedness TEXT, attributed_to TEXT, n_events INTEGER, "
        "n_affected INTEGER, n_at_risk INTEGER, outcome TEXT",
    ),
}
PUBLIC_STUDY_IDS = f"SELECT id FROM trials_study WHERE curation_state IN {PUBLIC}"


def columns_of(table: str) -> list[str]:
    return [spec.split()[0] for spec in CHILDREN[table][2].split(", ")]


def json_rows(table: str, where: str, extra: str = "") -> str:
    """SQLite: the table's matching rows as one JSON array of objects (for the canned study query)."""
    pairs = ", ".join(f"'{column}', {column}" for column in columns_of(table) if column not in ("id", "study_id", "cohort_id"))
    return f"json((SELECT json_group_array(json_object({pairs}{extra})) FROM {table} WHERE {where}))"


def datasette_metadata(database: str) -> dict:
    """Datasette metadata: the canned query `study` returns one study with all its children, as nested
    JSON columns (the equivalent of our study page and document), in one SQL statement."""
    interventions = json_rows("interventions", "interventions.cohort_id = cohorts.id")
    cohorts = json_rows("cohorts", "cohorts.study_id = s.id", extra=f", 'interventions', {interventions}")
    children = ",\n  ".join(
        f"{json_rows(table, f'{table}.study_id = s.id')} AS {table}"
        for table in ("study_conditions", "registry_ids", "publications", "outcomes", "adverse_events")
    )
    sql = f"SELECT s.*,\n  {cohorts} AS cohorts,\n  {children}\nFROM studies s WHERE s.accession = :accession"
    return {"databases": {database: {"queries": {"study": {"sql": sql, "title": "One study with all its children"}}}}}


def partial_date(value, precision: str) -> str | None:
    if value is None:
        return None
    return {"year": f"{value.year:04d}", "month": f"{value.year:04d}-{value.month:02d}"}.get(precision, value.isoformat())


def grouped(pg, sql: str) -> dict[int, list]:
    """study_id -> values, from (study_id, value) rows."""
    result: dict[int, list] = defaultdict(list)
    with pg.cursor() as cursor:
        for study_id, value in cursor.execute(sql):
            result[study_id].append(value)
    return result


def export(dsn: str, path: Path) -> dict[str, int]:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    counts: dict[str, int] = {}
    with psycopg.connect(dsn) as pg:
        # Each condition with its broader ones (the vocabulary is small).
        parents = dict(pg.execute("SELECT id, parent_id FROM trials_condition").fetchall())
        slugs = dict(pg.execute("SELECT id, slug FROM trials_condition").fetchall())

        def lineage(pk: int) -> list[str]:
            found = []
            while pk is not None:
                found.append(slugs[pk])
                pk = parents[pk]
            return found

        conditions = grouped(pg, "SELECT study_id, condition_id FROM trials_studycondition ORDER BY id")
        countries = grouped(pg, "SELECT study_id, country FROM trials_studycountry ORDER BY id")
        products: dict[int, list] = defaultdict(list)
        for row in pg.execute(
            "SELECT c.study_id, ct.slug, i.source_tissue, i.donor, i.route FROM trials_intervention i "
            "JOIN trials_cohort c ON c.id = i.cohort_id JOIN trials_celltype ct ON ct.id = i.cell_type_id "
            "WHERE i.kind = 'cell_product' ORDER BY i.id"
        ):
            products[row[0]].append(row[1:])
        with_results = {
            r[0]
            for r in pg.execute(
                "SELECT DISTINCT study_id FROM trials_outcomemeasure WHERE NOT (value IS NULL AND change_value IS NULL)"
            )
        }
        with_serious = {
            r[0]
            for r in pg.execute(
                "SELECT DISTINCT study_id FROM trials_adverseevent WHERE serious = 'yes' AND COALESCE(n_affected, -1) <> 0 "
                "AND NOT (COALESCE(n_events, -1) = 0 AND n_affected IS NULL)"
            )
        }

        db.execute(
            "CREATE TABLE studies (id INTEGER PRIMARY KEY, accession TEXT UNIQUE, title TEXT, title_zh TEXT, acronym TEXT, "
            "brief_summary TEXT, brief_summary_zh TEXT, study_type TEXT, phase TEXT, overall_status TEXT, curation_state TEXT, "
            "conditions TEXT, cell_types TEXT, source_tissues TEXT, donors TEXT, routes TEXT, enrollment INTEGER, "
            "enrollment_type TEXT, start_date TEXT, completion_date TEXT, countries TEXT, has_results INTEGER, "
            "has_serious_ae INTEGER, version INTEGER, updated_at TEXT)"
        )
        insert = f"INSERT INTO studies VALUES ({', '.join('?' * len(STUDY_COLUMNS))})"
        with pg.cursor(name="studies") as cursor:
            cursor.itersize = 5000
            cursor.execute(
                "SELECT id, accession, title, title_zh, acronym, brief_summary, brief_summary_zh, study_type, phase, "
                "overall_status, curation_state, enrollment, enrollment_type, start_date, start_date_precision, completion_date, "
                "completion_date_precision, "
                "(SELECT max(number) FROM trials_studyversion v WHERE v.study_id = trials_study.id), "
                f"updated_at FROM trials_study WHERE curation_state IN {PUBLIC} ORDER BY id"
            )
            batch = []
            for (pk, accession, title, title_zh, acronym, summary, summary_zh, study_type, phase, status, state, enrollment,
                 enrollment_type, start, start_p, completion, completion_p, version, updated_at) in cursor:  # fmt: skip
                cells = products.get(pk, [])
                batch.append((
                    pk, accession, title, title_zh, acronym, summary, summary_zh, study_type, phase, status, state,
                    json.dumps(list(dict.fromkeys(s for c in conditions.get(pk, []) for s in lineage(c)))),
                    json.dumps(list(dict.fromkeys(p[0] for p in cells))),
                    json.dumps(list(dict.fromkeys(p[1] for p in cells if p[1]))),
                    json.dumps(list(dict.fromkeys(p[2] for p in cells if p[2]))),
                    json.dumps(list(dict.fromkeys(p[3] for p in cells if p[3]))),
                    enrollment, enrollment_type, partial_date(start, start_p), partial_date(completion, completion_p),
                    json.dumps(countries.get(pk, [])), int(pk in with_results), int(pk in with_serious), version,
                    updated_at.isoformat(),
                ))  # fmt: skip
                if len(batch) >= 5000:
                    db.executemany(insert, batch)
                    batch.clear()
            db.executemany(insert, batch)
        counts["studies"] = db.execute("SELECT count(*) FROM studies").fetchone()[0]

        # Many-to-many tables for Datasette's indexed `_through` filter (faster than scanning JSON arrays):
        # each study with every condition it counts under (broader ones too) and each cell type.
        db.execute("CREATE TABLE study_condition_closure (study_id INTEGER REFERENCES studies(id), condition TEXT)")
        db.execute("CREATE TABLE study_cell_types (study_id INTEGER REFERENCES studies(id), cell_type TEXT)")
        db.execute("INSERT INTO study_condition_closure SELECT studies.id, j.value FROM studies, json_each(studies.conditions) j")
        db.execute("INSERT INTO study_cell_types SELECT studies.id, j.value FROM studies, json_each(studies.cell_types) j")

        for table, (select, study_column, columns) in CHILDREN.items():
            db.execute(f"CREATE TABLE {table} ({columns})")
            n_columns = columns.count(",") + 1
            with pg.cursor(name=table) as cursor:
                cursor.itersize = 10000
                cursor.execute(f"{select} WHERE {study_column} IN ({PUBLIC_STUDY_IDS}) ORDER BY 1")
                while rows := cursor.fetchmany(10000):
                    db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * n_columns)})", rows)
            counts[table] = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    for sql in [
        "CREATE INDEX studies_phase ON studies(phase)",
        "CREATE INDEX studies_status ON studies(overall_status)",
        "CREATE INDEX studies_updated ON studies(updated_at)",
        *[f"CREATE INDEX {table}_study ON {table}(study_id)" for table in CHILDREN],
        "CREATE INDEX study_condition_closure_condition ON study_condition_closure(condition, study_id)",
        "CREATE INDEX study_cell_types_cell_type ON study_cell_types(cell_type, study_id)",
        "CREATE INDEX interventions_cohort ON interventions(cohort_id)",
        "CREATE VIRTUAL TABLE studies_fts USING fts5(title, brief_summary, content=[studies], content_rowid='id')",
        "INSERT INTO studies_fts(studies_fts) VALUES ('rebuild')",
        "ANALYZE",
    ]:
        db.execute(sql)
    db.commit()
    db.execute("VACUUM")
    db.close()
    return counts


if __name__ == "__main__":
    started = time.monotonic()
    totals = export(sys.argv[1], Path(sys.argv[2]))
    print(f"SQLite export: {totals} in {time.monotonic() - started:.0f} s", file=sys.stderr)
