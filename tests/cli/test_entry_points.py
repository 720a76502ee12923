"""Every console script answers --version, and things-cli keeps its own exit-code table for usage errors."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
VERSION = importlib.metadata.version("agent-auth")


@pytest.mark.parametrize("program", ["agent-auth", "agent-auth-gpg", "things-cli"])
def test_every_entry_point_prints_its_version(program: str) -> None:
    done = subprocess.run([str(BIN / program), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{program} {VERSION}"


@pytest.mark.parametrize("argv", [["--no-such-option"], ["todos", "list", "--status", "sideways"], ["bogus"]])
def test_things_cli_usage_errors_exit_1_as_its_table_says(argv: list[str]) -> None:
    done = subprocess.run([str(BIN / "things-cli"), *argv], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
