# Sourced by every script: makes .venv exist and match uv.lock, then puts it on PATH.
#
# The environment comes from the committed uv.lock (`uv sync --frozen`). When uv is not on PATH it is
# bootstrapped from the package index into a small per-user folder (no root needed, nothing else touched).
# A script sets AGENT_AUTH_EXTRAS before sourcing: "dev" (default: tests, linters) or "none" (what the
# daemon and the demo need, a much smaller install). Every step says what it is doing on stderr.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
STAMP="$VENV/.agent-auth-env"
PYTHON="${PYTHON:-python3}"
EXTRAS="${AGENT_AUTH_EXTRAS:-dev}"
UV_BOOTSTRAP_VERSION="0.13.9"

_say() { echo "==> $*" >&2; }

_sha256() {
  # Stock macOS has shasum but no sha256sum; Linux usually has both or only sha256sum.
  if command -v sha256sum >/dev/null 2>&1; then
    cat "$@" | sha256sum | cut -d' ' -f1
  else
    cat "$@" | shasum -a 256 | cut -d' ' -f1
  fi
}

_find_uv() {
  if [ -n "${UV:-}" ] && [ -x "$UV" ]; then echo "$UV"; return; fi
  if command -v uv >/dev/null 2>&1; then command -v uv; return; fi
  local boot="${XDG_CACHE_HOME:-$HOME/.cache}/agent-auth/uv-$UV_BOOTSTRAP_VERSION"
  if [ -x "$boot/bin/uv" ]; then echo "$boot/bin/uv"; return; fi
  _say "uv not found: installing uv $UV_BOOTSTRAP_VERSION from the package index into $boot (one time, a few seconds)"
  if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    echo "agent-auth setup needs either uv (https://docs.astral.sh/uv/) or pip for '$PYTHON'" \
      "(Debian/Ubuntu: apt-get install python3-pip)." >&2
    return 1
  fi
  rm -rf "$boot.partial"
  if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$boot.partial" "uv==$UV_BOOTSTRAP_VERSION" >&2; then
    echo "could not install uv with pip; install uv yourself (https://docs.astral.sh/uv/) and run this again." >&2
    return 1
  fi
  rm -rf "$boot" && mv "$boot.partial" "$boot"
  echo "$boot/bin/uv"
}

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "agent-auth needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)." >&2
  exit 2
fi

want="$(_sha256 pyproject.toml uv.lock) $EXTRAS"
have="$(cat "$STAMP" 2>/dev/null || true)"
# A dev environment is a superset of the runtime one: a runtime script may use it as it is.
if [ "$EXTRAS" = "none" ] && [ "$have" = "$(_sha256 pyproject.toml uv.lock) dev" ]; then want="$have"; fi
if [ ! -x "$VENV/bin/python" ] || [ "$want" != "$have" ]; then
  started=$SECONDS
  uv_bin="$(_find_uv)"
  extra_args=()
  if [ "$EXTRAS" = "dev" ]; then
    _say "installing agent-auth with its test tools into .venv from uv.lock"
    extra_args=(--extra dev)
  else
    _say "installing agent-auth into .venv from uv.lock (runtime only; scripts/test.sh adds the test tools)"
  fi
  if ! UV_PROJECT_ENVIRONMENT="$VENV" UV_PYTHON_DOWNLOADS=never \
    "$uv_bin" sync --locked --python "$PYTHON" "${extra_args[@]}" >&2; then
    echo "setup failed. If pyproject.toml's dependencies changed, refresh the lock with: $uv_bin lock" >&2
    exit 1
  fi
  echo "$want" >"$STAMP"
  _say "environment ready in $((SECONDS - started)) s"
fi
export PATH="$VENV/bin:$PATH"
