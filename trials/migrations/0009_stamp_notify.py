"""PostgreSQL announces every new data stamp (NOTIFY trials_data_changed), so that web workers can keep
the stamp in memory instead of reading it for every cached page (trials.cache.StampWatcher).

The notification is sent when the writing transaction commits, and not at all if it rolls back.
"""

from django.db import migrations

NOTIFYING = (
    "CREATE OR REPLACE FUNCTION trials_data_changed() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE trials_datastamp SET token = floor(random() * 9e18)::bigint WHERE id = 1; "
    "PERFORM pg_notify('trials_data_changed', ''); END $$"
)
SILENT = (
    "CREATE OR REPLACE FUNCTION trials_data_changed() RETURNS void LANGUAGE sql AS $$ "
    "UPDATE trials_datastamp SET token = floor(random() * 9e18)::bigint WHERE id = 1 $$"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NOTIFYING)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SILENT)


class Migration(migrations.Migration):
    dependencies = [("trials", "0008_study_state_id")]

    operations = [migrations.RunPython(forwards, backwards)]
