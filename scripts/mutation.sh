#!/usr/bin/env bash
# Mutation testing of the security core (auth/) with mutmut, against the fast auth tests (tests/auth).
# Not part of the default suite: it is CPU-heavy. One module at a time, one worker, so a shared machine
# stays usable. Usage: scripts/mutation.sh [--survivors] [module ...]   (default: the modules below; e.g. "tokens gate")
# --survivors reruns only the mutants that survived the module's last run (quick while adding tests; a full run
# is what a score should be quoted from). Prints the score per module; results stay in mutants/
# (mutants/survivors.txt lists every survivor with its diff; `.venv/bin/mutmut browse` to inspect them).
source "$(dirname "$0")/_env.sh"
if ! python -c "import mutmut" 2>/dev/null; then
  echo "==> installing the 'mutation' extra (mutmut) into .venv" >&2
  UV_PROJECT_ENVIRONMENT="$VENV" UV_PYTHON_DOWNLOADS=never \
    "$(_find_uv)" sync --locked --inexact --python "$PYTHON" --extra dev --extra mutation >&2
fi
only_survivors=0
if [ "${1:-}" = "--survivors" ]; then only_survivors=1; shift; fi
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(tokens scopes crypto gate approvals audit families ratelimit)
for module in "${modules[@]}"; do
  [ -f "auth/$module.py" ] || { echo "no such module: auth/$module.py" >&2; exit 2; }
  echo "==> mutating auth/$module.py" >&2
  mkdir -p mutants
  targets=("auth.$module.*")
  if [ "$only_survivors" = 1 ]; then
    mapfile -t targets < <(python scripts/mutation_scores.py --survivors "$module")
    [ ${#targets[@]} -gt 0 ] || { echo "    no survivors left (or no earlier run) in auth/$module.py" >&2; continue; }
    echo "    rerunning ${#targets[@]} survivors" >&2
  fi
  # mutmut maps each test to the functions it reaches once and then only adds new tests; an edited test may
  # reach new code, so the map is collected afresh on every run (one run of tests/auth).
  rm -f mutants/mutmut-stats.json
  if ! mutmut run --max-children "${MUTATION_WORKERS:-1}" "${targets[@]}" >"mutants/run-$module.log" 2>&1; then
    tr '\r' '\n' <"mutants/run-$module.log" | grep -v '^ *$' | tail -25 >&2
    echo "mutmut failed on auth/$module.py (full output: mutants/run-$module.log)" >&2
    exit 1
  fi
done
exec python scripts/mutation_scores.py "${modules[@]}"
