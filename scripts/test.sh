#!/usr/bin/env bash
# Set up (if needed) and run the fast test suite. Extra arguments go to pytest.
source "$(dirname "$0")/_env.sh"
exec python -m pytest -m "not heavy" -q "$@"
