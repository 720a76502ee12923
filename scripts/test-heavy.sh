#!/usr/bin/env bash
# The heavy reliability/security runs (timing statistics, long loads, crash recovery).
source "$(dirname "$0")/_env.sh"
exec python -m pytest -m heavy -q "$@"
