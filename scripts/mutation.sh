#!/usr/bin/env bash
# Mutation testing of the security core (auth/) with mutmut, against the fast auth tests (tests/auth).
# Not part of the default suite: it is CPU-heavy. One module at a time, one worker, so a shared machine
# stays usable. Usage: scripts/mutation.sh [module ...]   (default: the modules below; e.g. "tokens gate")
# Prints the score per module; results stay in mutants/ (`.venv/bin/mutmut browse` to inspect survivors).
source "$(dirname "$0")/_env.sh"
if ! python -c "import mutmut" 2>/dev/null; then
  echo "==> installing the 'mutation' extra (mutmut) into .venv" >&2
  UV_PROJECT_ENVIRONMENT="$VENV" UV_PYTHON_DOWNLOADS=never \
    "$(_find_uv)" sync --locked --inexact --python "$PYTHON" --extra dev --extra mutation >&2
fi
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(tokens scopes crypto gate approvals audit families ratelimit)
for module in "${modules[@]}"; do
  [ -f "auth/$module.py" ] || { echo "no such module: auth/$module.py" >&2; exit 2; }
  echo "==> mutating auth/$module.py" >&2
  mkdir -p mutants
  if ! mutmut run --max-children "${MUTATION_WORKERS:-1}" "auth.$module.*" >"mutants/run-$module.log" 2>&1; then
    tr '\r' '\n' <"mutants/run-$module.log" | grep -v '^ *$' | tail -25 >&2
    echo "mutmut failed on auth/$module.py (full output: mutants/run-$module.log)" >&2
    exit 1
  fi
done
exec python scripts/mutation_scores.py "${modules[@]}"
