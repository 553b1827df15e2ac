"""The schema hook reads the vocabularies; the schema is also built where the database may not be
ready: by drf-spectacular's system check under `check --deploy`, and by `manage.py spectacular`."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

from trials import models as m
from trials.api.schema import vocabulary_slugs

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_runs_against_an_unmigrated_database(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-looking-key-for-this-check-only-7f3c9a1e5b2d8f6a0c4e",
        "ALLOWED_HOSTS": "registry.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert "drf_spectacular" not in output, output
    assert "no such table" not in output, output


def test_a_missing_vocabulary_table_gives_no_slugs_and_leaves_the_transaction_usable(db):
    m.CellType.objects.create(slug="schwann-cells", name="Schwann cells", category="glial")
    with connection.cursor() as cursor:  # undone with the test's transaction (DDL is transactional here)
        cursor.execute("ALTER TABLE trials_condition RENAME TO trials_condition_away")
    assert vocabulary_slugs() == {"conditions": [], "cell-types": [], "instruments": [], "organisations": []}
    assert m.CellType.objects.count() == 1  # PostgreSQL would refuse this after an error without the savepoint
