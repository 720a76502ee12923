#!/usr/bin/env bash
# Apply ruff's formatter and safe lint fixes.
source "$(dirname "$0")/_env.sh"
ruff format .
ruff check --fix .
