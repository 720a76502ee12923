#!/usr/bin/env bash
# Set up (if needed) and run the daemon with your real settings (see README: configuration).
AGENT_AUTH_EXTRAS=none source "$(dirname "$0")/_env.sh"
exec agent-auth serve "$@"
