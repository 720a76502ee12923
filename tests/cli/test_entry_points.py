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


def test_the_cli_starts_without_importing_the_heavy_libraries() -> None:
    """`agent-auth token header` and `status` run on every MCP connection: the command tree alone must not
    pull in SQLAlchemy, anyio, keyring, Textual or the server stack (one module-level import cost 270 ms)."""
    heavy = ("sqlalchemy", "sqlmodel", "anyio", "keyring", "textual", "uvicorn", "starlette", "mcp", "cryptography")
    code = f"import sys, mcp_server.cli.main; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == ""
