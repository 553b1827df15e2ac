"""Datasette as an ASGI application, so that uvicorn can run it with as many worker processes as ours.

Configured from the environment by bench/run.py: BENCH_SQLITE (the exported file, served immutable
as `datasette publish` does), BENCH_DATASETTE_METADATA (JSON file) and BENCH_DATASETTE_SETTINGS (JSON).
Runs in the bench venv (bench/.venv), where Datasette is installed; the project never imports it.
"""

import json
import os
from pathlib import Path

from datasette.app import Datasette


def app():
    datasette = Datasette(
        immutables=[os.environ["BENCH_SQLITE"]],
        metadata=json.loads(Path(os.environ["BENCH_DATASETTE_METADATA"]).read_text()),
        settings=json.loads(os.environ["BENCH_DATASETTE_SETTINGS"]),
    )
    return datasette.app()
