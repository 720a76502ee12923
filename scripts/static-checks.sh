#!/usr/bin/env bash
# The static checks CI gates on, run with the tools already on PATH (scripts/check.sh prepares .venv first).
# Cheap checks first, so a lint or layering error is reported before mypy's longer run.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> format";   ruff format --check .
echo "==> lint";     ruff check .
echo "==> layering"; lint-imports
echo "==> types";    mypy
