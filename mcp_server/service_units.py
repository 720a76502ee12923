"""The text of a per-user service for the daemon: a systemd user unit (Linux) or a launchd agent (macOS).

Pure functions: they take the executable and environment and return file contents, so the unit can be
checked (``systemd-analyze verify``, ``plistlib``) without installing anything.
"""

from __future__ import annotations

import plistlib
from collections.abc import Mapping
from pathlib import Path

SYSTEMD_UNIT_NAME = "agent-auth.service"
LAUNCHD_LABEL = "dev.agent-auth.daemon"
# Exit codes that a restart cannot fix (see `agent-auth --help`): usage/config, keys or store, home or port taken.
NO_RESTART_EXIT_CODES = (2, 4, 6)
# launchd agents start with PATH=/usr/bin:/bin:/usr/sbin:/sbin; gpg lives in Homebrew or GPG Suite.
MACOS_PATH = "/opt/homebrew/bin:/usr/local/bin:/usr/local/MacGPG2/bin:/usr/bin:/bin:/usr/sbin:/sbin"
# Environment the daemon needs to find its home and keys; anything else stays out of the unit.
FORWARDED_ENV = ("AGENT_AUTH_HOME", "AGENT_AUTH_CONFIG", "AGENT_AUTH_KEY_STORE", "GNUPGHOME")


def _systemd_quote(word: str) -> str:
    escaped = word.replace("%", "%%")
    if any(c in escaped for c in " \t\"\\'$;"):
        escaped = '"' + escaped.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$") + '"'
    return escaped


def _systemd_env(name: str, value: str) -> str:
    assignment = f"{name}={value}".replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'Environment="{assignment}"'


def systemd_unit(executable: Path, env: Mapping[str, str], path: str) -> str:
    lines = [
        "[Unit]",
        "Description=agent-auth daemon: scoped, approved access for AI agents",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={_systemd_quote(str(executable))} serve",
        "Restart=on-failure",
        "RestartSec=5",
        "RestartPreventExitStatus=" + " ".join(str(c) for c in NO_RESTART_EXIT_CODES),
        _systemd_env("PATH", path),
    ]
    lines += [_systemd_env(name, env[name]) for name in FORWARDED_ENV if env.get(name)]
    lines += [
        "# Logs: journalctl --user -u agent-auth",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


def launchd_plist(executable: Path, env: Mapping[str, str], log_dir: Path) -> bytes:
    variables = {"PATH": MACOS_PATH}
    variables.update({name: env[name] for name in FORWARDED_ENV if env.get(name)})
    agent = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": [str(executable), "serve"],
        "EnvironmentVariables": variables,
        "RunAtLoad": True,
        # Restart when it exits with a failure; a clean stop (agent-auth service uninstall) stays stopped.
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 10,
        "ProcessType": "Interactive",  # approvals are interactive: no background throttling
        "StandardOutPath": str(log_dir / "daemon.log"),
        "StandardErrorPath": str(log_dir / "daemon.log"),
    }
    return plistlib.dumps(agent, sort_keys=False)
