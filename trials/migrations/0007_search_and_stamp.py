"""Fast search and cached counts at registry scale (bench/RESULTS.md).

- `Study.search_vector`: the weighted title + summary vector the `q` filter used to compute for every
  row, stored by a trigger on insert and update (COPY and bulk loads included) and GIN-indexed.
- Trigram and expression indexes for the rest of `q` (Chinese fields, acronym, registry ids, DOI,
  PMID, PMCID), so that each way a search matches is an index lookup, not a scan of every study.
- A partial index in the public search's default order (newest first), PostgreSQL only.
- `trials_datastamp`: one row whose token the database replaces on any write to the tables that
  filters, facets and totals read; trials.cache keys cached counts by it.

PostgreSQL gets all of it; SQLite (development, tests) only the stamp and its triggers: it searches
by substring, and cannot index NULLS LAST.
"""

import django.contrib.postgres.search
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

SEARCH_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(NEW.title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(NEW.brief_summary, '')), 'B')"
)
STAMPED_TABLES = [
    "trials_study", "trials_studycondition", "trials_studycountry", "trials_cohort", "trials_intervention",
    "trials_outcomemeasure", "trials_adverseevent", "trials_registryidentifier", "trials_publication",
    "trials_condition", "trials_celltype", "trials_instrument",
]
POSTGRES_INDEXES = [
    # The public search's default order (newest first), read in order so that a page stops after its
    # rows. PostgreSQL only: SQLite cannot index NULLS LAST, and it is the order the search asks for.
    "CREATE INDEX trials_study_public_newest ON trials_study (updated_at DESC NULLS LAST, accession) "
    "WHERE curation_state IN ('published', 'retracted')",
    "CREATE INDEX trials_study_search ON trials_study USING gin (search_vector)",
    "CREATE INDEX trials_study_title_zh_trgm ON trials_study USING gin (UPPER(title_zh) gin_trgm_ops)",
    "CREATE INDEX trials_study_summary_zh_trgm ON trials_study USING gin (UPPER(brief_summary_zh) gin_trgm_ops)",
    "CREATE INDEX trials_study_acronym_upper ON trials_study (UPPER(acronym))",
    "CREATE INDEX trials_registryid_value_trgm ON trials_registryidentifier USING gin (UPPER(value) gin_trgm_ops)",
    "CREATE INDEX trials_publication_doi_upper ON trials_publication (UPPER(doi))",
    "CREATE INDEX trials_publication_pmid ON trials_publication (pmid)",
    "CREATE INDEX trials_publication_pmcid_upper ON trials_publication (UPPER(pmcid))",
]


def forwards(apps, schema_editor):
    execute = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        execute(
            "CREATE FUNCTION trials_study_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN NEW.search_vector := {SEARCH_VECTOR}; RETURN NEW; END $$"
        )
        execute(
            "CREATE TRIGGER trials_study_search_vector BEFORE INSERT OR UPDATE ON trials_study "
            "FOR EACH ROW EXECUTE FUNCTION trials_study_search_vector()"
        )
        # ALWAYS: also while generate_synthetic loads with session_replication_role = replica.
        execute("ALTER TABLE trials_study ENABLE ALWAYS TRIGGER trials_study_search_vector")
        execute("UPDATE trials_study SET search_vector = NULL")  # the trigger fills it in
        for sql in POSTGRES_INDEXES:
            execute(sql)
        execute("CREATE TABLE trials_datastamp (id integer PRIMARY KEY, token bigint NOT NULL)")
        execute("INSERT INTO trials_datastamp VALUES (1, 0)")
        execute(
            "CREATE FUNCTION trials_data_changed() RETURNS void LANGUAGE sql AS $$ "
            "UPDATE trials_datastamp SET token = floor(random() * 9e18)::bigint WHERE id = 1 $$"
        )
        execute(
            "CREATE FUNCTION trials_datastamp_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM trials_data_changed(); RETURN NULL; END $$"
        )
        for table in STAMPED_TABLES:
            execute(
                f"CREATE TRIGGER {table}_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION trials_datastamp_bump()"
            )
            execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_stamp")
    elif schema_editor.connection.vendor == "sqlite":
        execute("CREATE TABLE trials_datastamp (id integer PRIMARY KEY, token integer NOT NULL)")
        execute("INSERT INTO trials_datastamp VALUES (1, 0)")
        for table in STAMPED_TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                execute(
                    f"CREATE TRIGGER {table}_stamp_{event.lower()} AFTER {event} ON {table} "
                    "BEGIN UPDATE trials_datastamp SET token = random() WHERE id = 1; END"
                )


def backwards(apps, schema_editor):
    execute = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        for table in STAMPED_TABLES:
            execute(f"DROP TRIGGER IF EXISTS {table}_stamp ON {table}")
        execute("DROP FUNCTION IF EXISTS trials_datastamp_bump()")
        execute("DROP FUNCTION IF EXISTS trials_data_changed()")
        execute("DROP TRIGGER IF EXISTS trials_study_search_vector ON trials_study")
        execute("DROP FUNCTION IF EXISTS trials_study_search_vector()")
        for sql in POSTGRES_INDEXES:
            execute(f"DROP INDEX IF EXISTS {sql.split()[2]}")
    elif schema_editor.connection.vendor == "sqlite":
        for table in STAMPED_TABLES:
            for event in ("insert", "update", "delete"):
                execute(f"DROP TRIGGER IF EXISTS {table}_stamp_{event}")
    execute("DROP TABLE IF EXISTS trials_datastamp")


class Migration(migrations.Migration):
    dependencies = [("trials", "0006_synthetic_accession")]

    operations = [
        TrigramExtension(),
        migrations.AddField(
            model_name="study",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
