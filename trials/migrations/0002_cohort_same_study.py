"""A child's cohort must belong to the child's own study, enforced by the database itself.

PostgreSQL gets a composite foreign key (study_id, cohort_id) -> cohort (study_id, id); SQLite cannot
add constraints to an existing table, so it gets the equivalent BEFORE INSERT/UPDATE triggers.
"""

from django.db import migrations

CHILD_TABLES = ["trials_outcomemeasure", "trials_adverseevent"]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in CHILD_TABLES:
        if vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {table}_cohort_same_study "
                f"FOREIGN KEY (cohort_id, study_id) REFERENCES trials_cohort (id, study_id) "
                f"ON DELETE CASCADE"
            )
        elif vendor == "sqlite":
            for event in ("INSERT", "UPDATE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_cohort_same_study_{event.lower()} BEFORE {event} ON {table} "
                    f"WHEN NEW.cohort_id IS NOT NULL AND NOT EXISTS ("
                    f"SELECT 1 FROM trials_cohort WHERE id = NEW.cohort_id AND study_id = NEW.study_id) "
                    f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {table}_cohort_same_study'); END"
                )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in CHILD_TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_cohort_same_study")
        elif vendor == "sqlite":
            for event in ("insert", "update"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_cohort_same_study_{event}")


class Migration(migrations.Migration):
    dependencies = [("trials", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
