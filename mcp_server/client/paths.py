"""Where client state lives: ``$AGENT_AUTH_HOME/config``, else ``$XDG_CONFIG_HOME/agent-auth``.

Standard library ``os.path`` only: ``agent-auth token header`` reads it on every MCP reconnect.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `from typing import`: typing costs milliseconds on this hot path

if TYPE_CHECKING:
    from collections.abc import Mapping


def client_config_dir(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    home = env.get("AGENT_AUTH_HOME")
    if home and os.path.isabs(home):
        return os.path.join(home, "config")
    base = env.get("XDG_CONFIG_HOME")
    if not (base and os.path.isabs(base)):
        base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".config")
    return os.path.join(base, "agent-auth")
