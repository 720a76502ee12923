#!/usr/bin/env bash
# Create or refresh the development virtual environment in .venv.
source "$(dirname "$0")/_env.sh"
echo "ready: $(python --version), agent-auth $(python -c 'import importlib.metadata as m; print(m.version("agent-auth"))')"
echo "activate with: source .venv/bin/activate"
