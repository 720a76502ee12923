#!/usr/bin/env bash
# Set up (if needed) and run the demo: the daemon on an isolated demo home with a demo token family.
AGENT_AUTH_EXTRAS=none source "$(dirname "$0")/_env.sh"
exec agent-auth demo "$@"
