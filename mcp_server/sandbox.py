"""A bubblewrap profile for agents on the host: everything of agent-auth's hidden, ``/mcp`` still reachable.

Approvals hold against a process that cannot reach the admin socket, the key file, the token store, the
audit log or the notifier secret. An agent running unsandboxed as the person can reach all of them, so
``agent-auth sandbox -- COMMAND`` runs COMMAND with:

- agent-auth's key directory, data (token store), state (audit log) and runtime (admin socket, notifier
  secret) directories replaced by empty tmpfs, the whole ``$XDG_RUNTIME_DIR`` too (the D-Bus session bus
  reaches the OS keyring), and ``config.toml`` bound read-only. The agent's own ``credentials.json`` stays
  usable (``agent-auth login`` / ``token header`` keep working; it holds only the agent's own tokens);
- its own PID namespace and ``/proc`` (it cannot see, signal or ptrace the daemon), a new session (no
  ``TIOCSTI`` into the person's terminal), and death with its parent;
- the network namespace shared, so ``http://127.0.0.1:<port>/mcp`` stays reachable.

Everything else of the filesystem stays as it is (the agent works on your projects).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from auth.fsutil import ensure_private_dir
from mcp_server.errors import AgentAuthError
from mcp_server.settings import Settings

__all__ = ["SandboxUnavailableError", "bwrap_argv", "hidden_paths"]


class SandboxUnavailableError(AgentAuthError):
    code = "sandbox_unavailable"


def hidden_paths(settings: Settings, env: Mapping[str, str]) -> list[Path]:
    """Directories the sandboxed command must not see (existing ones only; bwrap needs a mount point)."""
    candidates = [settings.key_file_path.parent, settings.data_dir, settings.state_dir, settings.runtime_dir]
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        candidates.append(Path(runtime))
    if settings.gpg_home is not None:
        candidates.append(settings.gpg_home)
    seen: list[Path] = []
    for path in candidates:
        resolved = path.resolve()
        if resolved.is_dir() and resolved not in seen:
            seen.append(resolved)
    # Parents first, so a child's tmpfs is not shadowed by its parent's mounted later.
    return sorted(seen, key=lambda p: len(p.parts))


def bwrap_argv(
    settings: Settings, command: Sequence[str], *, env: Mapping[str, str], bwrap: str | None = None
) -> list[str]:
    """The bubblewrap command line that runs ``command`` under the profile."""
    binary = bwrap or shutil.which("bwrap")
    if binary is None:
        raise SandboxUnavailableError(
            "bubblewrap (bwrap) is not installed; install it (Debian/Ubuntu: apt install bubblewrap)"
        )
    if not command:
        raise SandboxUnavailableError("give the command to run after --")
    for own in (settings.key_file_path.parent, settings.data_dir, settings.state_dir, settings.runtime_dir):
        ensure_private_dir(own)  # exist now, so they are hidden even if the daemon creates them later
    argv = [binary, "--dev-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "--new-session", "--die-with-parent"]
    for path in hidden_paths(settings, env):
        argv += ["--tmpfs", str(path)]
    config = (settings.config_file or settings.config_dir / "config.toml").resolve()
    if config.is_file():
        argv += ["--ro-bind", str(config), str(config)]  # the daemon's settings are not the agent's to change
    argv += ["--chdir", os.getcwd(), "--", *command]
    return argv
