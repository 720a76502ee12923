#!/usr/bin/env bash
# Everything CI would object to: format, lint, types, layering, tests.
source "$(dirname "$0")/_env.sh"
echo "==> format";   ruff format --check .
echo "==> lint";     ruff check .
echo "==> types";    mypy
echo "==> layering"; lint-imports
echo "==> tests";    python -m pytest -m "not heavy" -q "$@"
