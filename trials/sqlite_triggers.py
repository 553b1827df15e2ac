"""SQLite's stand-ins for two PostgreSQL features, kept alive through migrations.

On PostgreSQL a child's cohort is held to the child's study by a composite foreign key (migration
0002) and the data stamp is replaced by statement triggers (0007). SQLite gets row triggers instead.
But SQLite drops a table's triggers when Django remakes the table to alter it, and refuses to rename a
table another table's trigger names. So a migration that alters these tables starts with
`drop_sqlite_triggers` (a RunPython), and every `migrate` ends by creating the triggers again
(`ensure_sqlite_triggers`, connected to post_migrate): the set below is the one definition of them.
"""

from __future__ import annotations

COHORT_CHILD_TABLES = ["trials_outcomemeasure", "trials_adverseevent"]
STAMPED_TABLES = [
    "trials_study", "trials_studycondition", "trials_studycountry", "trials_cohort", "trials_intervention",
    "trials_outcomemeasure", "trials_adverseevent", "trials_registryidentifier", "trials_publication",
    "trials_condition", "trials_celltype", "trials_instrument", "trials_codesynonyms",
]  # fmt: skip
EVENTS = ("insert", "update", "delete")


def _definitions() -> dict[str, tuple[set[str], str]]:
    """Trigger name -> (tables it needs, CREATE statement)."""
    triggers: dict[str, tuple[set[str], str]] = {}
    for table in COHORT_CHILD_TABLES:
        for event in ("insert", "update"):
            name = f"{table}_cohort_same_study_{event}"
            triggers[name] = (
                {table, "trials_cohort"},
                f"CREATE TRIGGER {name} BEFORE {event.upper()} ON {table} "
                "WHEN NEW.cohort_id IS NOT NULL AND NOT EXISTS ("
                "SELECT 1 FROM trials_cohort WHERE id = NEW.cohort_id AND study_id = NEW.study_id) "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {table}_cohort_same_study'); END",
            )
    for table in STAMPED_TABLES:
        for event in EVENTS:
            name = f"{table}_stamp_{event}"
            triggers[name] = (
                {table, "trials_datastamp"},
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} "
                "BEGIN UPDATE trials_datastamp SET token = random() WHERE id = 1; END",
            )
    return triggers


def drop_sqlite_triggers(apps, schema_editor) -> None:
    """RunPython step: first in any migration that alters one of the tables above."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in _definitions():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def ensure_sqlite_triggers(*, using: str = "default", **kwargs) -> None:
    """post_migrate: create every trigger whose tables exist and that is missing."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        existing = {(kind, name) for kind, name in cursor.fetchall()}
        tables = {name for kind, name in existing if kind == "table"}
        for name, (needs, create) in _definitions().items():
            if ("trigger", name) not in existing and needs <= tables:
                cursor.execute(create)
