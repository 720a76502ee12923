#!/usr/bin/env bash
# Everything CI would object to: format, lint, layering, types, then the README's test command.
source "$(dirname "$0")/_env.sh"
scripts/static-checks.sh
echo "==> tests"
exec scripts/test.sh "$@"
