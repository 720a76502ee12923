"""``agent-auth mcp-config``: a Claude Code entry that works wherever it is pasted, and ``--write`` to put it there.

The entry names the installed executables by absolute path (a client's ``PATH`` rarely holds this
environment), carries ``AGENT_AUTH_HOME`` when one is set, and everything printed for a shell is quoted with
:func:`shlex.quote`. ``--write project`` merges it into ``<dir>/.mcp.json``, ``--write user`` into the user's
Claude Code config (``~/.claude.json``, top-level ``mcpServers``); both show a unified diff first and keep
every other key of the file.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp_server.cli.app import UserError

# Claude Code's per-server request timeout (ms) for the HTTP entry: long enough for an approval wait.
HTTP_TIMEOUT_MS = 600_000
FORWARDED_ENV = ("AGENT_AUTH_HOME",)


def installed_executable(name: str) -> str:
    """The absolute path of one of our console scripts: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside.absolute())
    found = shutil.which(name)
    if found is not None:
        return str(Path(found).absolute())
    raise UserError(
        f"cannot find the installed '{name}' executable",
        code="executable_not_found",
        hint="install agent-auth (uv tool install . / pipx install .) and run mcp-config from that install",
    )


def forwarded_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    source = os.environ if environ is None else environ
    return {key: source[key] for key in FORWARDED_ENV if source.get(key)}


def build_entry(transport: str, url: str, *, environ: dict[str, str] | None = None) -> dict[str, Any]:
    program = installed_executable("agent-auth")
    env = forwarded_env(environ)
    if transport == "http":
        # headersHelper is a shell command line: quote every word.
        prefix = "".join(f"{key}={shlex.quote(value)} " for key, value in env.items())
        helper = prefix + shlex.join([program, "token", "header"])
        return {"type": "http", "url": f"{url}/mcp", "headersHelper": helper, "timeout": HTTP_TIMEOUT_MS}
    return {"type": "stdio", "command": program, "args": ["mcp"], "env": {"AGENT_AUTH_URL": url, **env}}


def claude_command(name: str, entry: dict[str, Any]) -> str:
    return shlex.join(["claude", "mcp", "add-json", name, json.dumps(entry)])


def config_path(target: str, project_dir: Path | None) -> Path:
    if target == "project":
        return (project_dir or Path.cwd()).absolute() / ".mcp.json"
    return Path(os.environ.get("HOME") or Path.home()) / ".claude.json"


def merged(path: Path, name: str, entry: dict[str, Any]) -> tuple[str, str]:
    """(the file's current text, the text with ``mcpServers[name] = entry``); other keys are kept."""
    try:
        before = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        before = ""
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}", code="config_unreadable") from None
    try:
        document = json.loads(before) if before.strip() else {}
    except ValueError:
        raise UserError(
            f"{path} is not valid JSON; fix it first (nothing was written)", code="config_invalid"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("mcpServers", {}), dict):
        raise UserError(f"{path} does not hold a JSON object with an mcpServers object", code="config_invalid")
    servers = dict(document.get("mcpServers", {}))
    servers[name] = entry
    document["mcpServers"] = servers
    return before, json.dumps(document, indent=2) + "\n"


def unified_diff(path: Path, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"{path} (now)", f"{path} (new)"
    )
    return "".join(lines)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one rename; an existing file keeps its mode, a new one is 0600 (it may hold env)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".agent-auth-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def confirm(question: str) -> bool:
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")
