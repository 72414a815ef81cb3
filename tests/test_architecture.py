"""The design's rules, checked: imports go down only, each mail library lives in one adapter,
and the migrations describe exactly the tables the models declare."""

from __future__ import annotations

import shutil
import subprocess

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from mailbot import db

from conftest import REPO, database_url


def test_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(REPO / ".venv" / "bin")) or shutil.which(
        "lint-imports"
    )
    assert lint, "import-linter is a dev dependency"
    result = subprocess.run([lint], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_migrations_match_the_models(tmp_path):
    engine = db.make_engine(database_url(tmp_path))
    db.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert db.current_revision(engine) == db.head_revision(engine)


def test_upgrade_is_idempotent(tmp_path):
    engine = db.make_engine(database_url(tmp_path))
    first = db.upgrade(engine)
    assert db.upgrade(engine) == first
