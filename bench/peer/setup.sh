#!/bin/sh
# The peer of issue 32: django-helpdesk, pinned (requirements.txt), in a venv of its own at
# bench/peer/.venv, apart from the project's. Needs the package registry (pip); never run by CI
# or the tests. Idempotent: run it once before `uv run python bench/paired.py`.
#   bench/peer/setup.sh            (PYTHON=python3.11 to choose the interpreter)
set -e
DIR=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
if [ ! -x "$DIR/.venv/bin/python" ]; then
  "$PY" -m venv "$DIR/.venv"
fi
"$DIR/.venv/bin/pip" install -q --disable-pip-version-check -r "$DIR/requirements.txt"
"$DIR/.venv/bin/python" -c 'import django, helpdesk; print("peer ready: Django", django.__version__)'
