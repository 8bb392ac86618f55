"""The conformance run: the database-touching test modules again, on PostgreSQL.

Each home directory those tests create gets a PostgreSQL schema of its own instead of
HOME/lingxi.db (see tests/db_engines.py). The whole suite can run that way too:
``LINGXI_TEST_DB=postgresql LINGXI_TEST_PG_DSN=... pytest``; `make test` runs the
modules below, where the engine is the point, to keep the suite's time in bounds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from db_engines import dsn, on_postgres

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    "tests/test_db.py",
    "tests/serve/test_serve_keys.py",
    "tests/serve/test_serve_page_sessions.py",
    "tests/memory/test_rewrite_sessions.py",
    "tests/evals/test_runs.py",
]
# slow here for reasons that are not the engine's (CORS, body limits); they run on SQLite as usual
SKIP = "not cors and not body"


@pytest.mark.skipif(not dsn(), reason='LINGXI_TEST_PG_DSN is not set: run  export LINGXI_TEST_PG_DSN="$(scripts/pg.sh start)"')
@pytest.mark.skipif(on_postgres(), reason="this run is the PostgreSQL run already")
@pytest.mark.timeout(900)
def test_database_modules_pass_on_postgresql():
    env = {**os.environ, "LINGXI_TEST_DB": "postgresql"}
    cmd = [sys.executable, "-m", "pytest", "-q", "--no-header", "-x", "-p", "no:cacheprovider", "-k", SKIP, *MODULES]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
