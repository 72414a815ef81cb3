"""The design's rules, checked: imports go down only, each mail library lives in one adapter,
and the migrations describe exactly the tables the models declare."""

from __future__ import annotations

import shutil
import subprocess

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from mailbot import db

from support.app import REPO, database_url


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


def test_a_database_at_head_is_upgraded_without_loading_alembic(tmp_path):
    """The daemon upgrades at every start and reload; at head it must not keep Alembic in its
    memory (issue 32). A database one migration behind still gets it."""
    url = database_url(tmp_path)
    engine = db.make_engine(url)
    head = db.upgrade(engine)
    probe = (
        "import sys; from mailbot import db; "
        f"print(db.upgrade(db.make_engine({url!r})), 'alembic' in sys.modules)"
    )
    run = [str(REPO / ".venv" / "bin" / "python"), "-c", probe]
    at_head = subprocess.run(run, capture_output=True, text=True, timeout=60, check=True)
    assert at_head.stdout.split() == [head, "False"]
    command.downgrade(db._alembic_config(engine), "-1")
    assert db.current_revision(engine) != head
    behind = subprocess.run(run, capture_output=True, text=True, timeout=60, check=True)
    assert behind.stdout.split() == [head, "True"]


# The shape a newcomer reads at a glance (issue 17). The pipeline names every stage by design,
# so it may import one sibling more.
LONGEST = 300
LONGER_BY_DESIGN: dict[str, int] = {}
MOST_SIBLINGS = 9
# The pipeline orders the stages; operator.py carries out everything an office's message can
# say (commands, approval, handover, a desk's signature, the regulated reply's hold, issue 33):
# each leans on the actions it calls.
MORE_SIBLINGS_BY_DESIGN = {"mailbot/pipeline.py": 10, "mailbot/cases/operator.py": 11}


def _modules():
    for path in sorted((REPO / "mailbot").rglob("*.py")):
        if "migrations" not in path.relative_to(REPO).parts:
            yield path, path.relative_to(REPO).as_posix()


def test_every_module_is_short_and_says_what_it_is_for():
    import ast

    too_long, undocumented = [], []
    for path, name in _modules():
        text = path.read_text()
        if len(text.splitlines()) > LONGER_BY_DESIGN.get(name, LONGEST):
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        if text.strip() and ast.get_docstring(ast.parse(text)) is None:
            undocumented.append(name)
    assert too_long == []
    assert undocumented == []


def test_no_module_leans_on_ten_of_its_siblings():
    import ast

    crowded = []
    for path, name in _modules():
        parts = path.relative_to(REPO).with_suffix("").parts
        package = parts[:-2] if parts[-1] == "__init__" else parts[:-1]
        prefix = ".".join(package) + "."
        siblings = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for imported in names:
                if not imported.startswith(prefix):
                    continue
                child = imported[len(prefix) :].split(".")[0]
                where = REPO.joinpath(*package, child)
                if child != parts[-1] and (where.is_dir() or where.with_suffix(".py").exists()):
                    siblings.add(child)
        if len(siblings) > MORE_SIBLINGS_BY_DESIGN.get(name, MOST_SIBLINGS):
            crowded.append(f"{name}: {sorted(siblings)}")
    assert crowded == []
