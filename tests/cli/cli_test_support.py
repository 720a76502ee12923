"""Run the real ``agent-auth`` command in a subprocess with all state isolated under a temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def error_code(self) -> str:
        """The ``code`` of a ``--json`` error report on stderr."""
        return str(json.loads(self.stderr.strip().splitlines()[-1])["error"]["code"])


def isolated_env(home: Path) -> dict[str, str]:
    """An environment that points every piece of state at ``home`` and uses the 0600 key file."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home / "home"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO_ROOT),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "AGENT_AUTH_KEY_STORE": "file",
    }
    (home / "home").mkdir(parents=True, exist_ok=True)
    return env


def _command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "mcp_server.cli.main", *args]


def run_cli(env: dict[str, str], *args: str) -> Result:
    done = subprocess.run(
        _command(args), env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, check=False
    )
    return Result(done.returncode, done.stdout, done.stderr)


def run_cli_many(env: dict[str, str], commands: Sequence[Sequence[str]]) -> list[Result]:
    """Run independent commands side by side (they must not depend on each other's effects)."""
    processes = [
        subprocess.Popen(_command(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for args in commands
    ]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=CLI_TIMEOUT_SECONDS)
        results.append(Result(process.returncode, stdout, stderr))
    return results
