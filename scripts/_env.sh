# Sourced by every script: makes .venv exist and match pyproject.toml, then puts it on PATH.
# Uses uv when present, else python3 -m venv + pip. Reinstalls when pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
STAMP="$VENV/.pyproject.sha256"
PYTHON="${PYTHON:-python3}"

want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ ! -x "$VENV/bin/python" ] || [ "$want" != "$have" ]; then
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "agent-auth needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)." >&2
    exit 2
  fi
  echo "==> preparing .venv (pyproject.toml changed or no venv yet)" >&2
  if command -v uv >/dev/null 2>&1; then
    [ -x "$VENV/bin/python" ] || uv venv --quiet --python "$PYTHON" "$VENV"
    uv pip install --quiet --python "$VENV/bin/python" -e '.[dev]'
  else
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  fi
  echo "$want" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
