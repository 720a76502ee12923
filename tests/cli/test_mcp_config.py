"""``agent-auth mcp-config``: absolute executables, shell-quoted output, AGENT_AUTH_HOME, and ``--write``."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.cli.cli_test_support import isolated_env, run_cli

AWKWARD_HOME = "a home with spaces, 'quotes' and $HOME"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = isolated_env(tmp_path)
    environment["PATH"] = "/usr/bin:/bin"  # the client's PATH does not hold this environment
    environment["AGENT_AUTH_HOME"] = str(tmp_path / AWKWARD_HOME)
    return environment


def test_the_stdio_entry_names_the_installed_executable_and_carries_agent_auth_home(env: dict[str, str]) -> None:
    done = run_cli(env, "mcp-config", "--transport", "stdio", "--url", "http://127.0.0.1:9100", "--json")

    assert done.returncode == 0, done.stderr
    entry = done.json()["mcp_json"]["mcpServers"]["agent-auth"]
    assert Path(entry["command"]).is_absolute() and os.access(entry["command"], os.X_OK)
    assert entry["args"] == ["mcp"]
    assert entry["env"] == {"AGENT_AUTH_URL": "http://127.0.0.1:9100", "AGENT_AUTH_HOME": env["AGENT_AUTH_HOME"]}
    words = shlex.split(done.json()["claude_command"])  # one shell word per argument, whatever the home holds
    assert words[:4] == ["claude", "mcp", "add-json", "agent-auth"]
    assert json.loads(words[4]) == entry


def test_the_http_headers_helper_is_a_quoted_command_line_that_runs(env: dict[str, str]) -> None:
    done = run_cli(env, "mcp-config", "--url", "http://127.0.0.1:9100", "--json")

    assert done.returncode == 0, done.stderr
    entry = done.json()["mcp_json"]["mcpServers"]["agent-auth"]
    assert entry["url"] == "http://127.0.0.1:9100/mcp"
    words = shlex.split(entry["headersHelper"])
    assert words[0] == f"AGENT_AUTH_HOME={env['AGENT_AUTH_HOME']}"
    assert Path(words[1]).is_absolute() and words[2:] == ["token", "header"]
    # Claude Code runs it with a shell; with a token in the environment it prints the header object.
    helper = subprocess.run(
        ["/bin/sh", "-c", entry["headersHelper"]],
        env={"PATH": "/usr/bin:/bin", "HOME": env["HOME"], "AGENT_AUTH_TOKEN": "aa_x_y"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert helper.returncode == 0, helper.stderr
    assert json.loads(helper.stdout) == {"Authorization": "Bearer aa_x_y"}


def test_write_project_shows_a_diff_and_keeps_the_other_servers(env: dict[str, str], tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"other": {"type": "stdio", "command": "x"}}}))

    refused = run_cli(env, "mcp-config", "--transport", "stdio", "--write", "project", "--project", str(project))
    unchanged = json.loads((project / ".mcp.json").read_text())
    done = run_cli(env, "mcp-config", "--transport", "stdio", "--write", "project", "--project", str(project), "--yes")

    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert "+" in refused.stderr and '"agent-auth"' in refused.stderr  # the diff came first
    assert set(unchanged["mcpServers"]) == {"other"}
    assert done.returncode == 0, done.stderr
    written = json.loads((project / ".mcp.json").read_text())
    assert set(written["mcpServers"]) == {"other", "agent-auth"}
    assert Path(written["mcpServers"]["agent-auth"]["command"]).is_absolute()


def test_write_user_merges_into_the_claude_code_config_and_keeps_its_mode_and_keys(env: dict[str, str]) -> None:
    config = Path(env["HOME"]) / ".claude.json"
    config.write_text(json.dumps({"numStartups": 3, "projects": {"/p": {}}, "mcpServers": {}}))
    config.chmod(0o600)

    done = run_cli(env, "mcp-config", "--write", "user", "--yes", "--url", "http://127.0.0.1:9100")
    again = run_cli(env, "mcp-config", "--write", "user", "--yes", "--url", "http://127.0.0.1:9100")

    assert done.returncode == 0, done.stderr
    written = json.loads(config.read_text())
    assert written["numStartups"] == 3 and written["projects"] == {"/p": {}}
    assert written["mcpServers"]["agent-auth"]["type"] == "http"
    assert config.stat().st_mode & 0o777 == 0o600
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_write_refuses_a_config_that_is_not_json(env: dict[str, str]) -> None:
    config = Path(env["HOME"]) / ".claude.json"
    config.write_text("{not json")

    done = run_cli(env, "mcp-config", "--write", "user", "--yes")

    assert done.returncode == 2
    assert config.read_text() == "{not json"


def test_the_demo_prints_the_same_quoted_commands_for_a_home_with_quotes(tmp_path: Path) -> None:
    from mcp_server.cli.demo_cmds import _instructions

    home = tmp_path / AWKWARD_HOME
    lines = _instructions("http://127.0.0.1:9100", home, {"access_token": "aa_x_y"}, None)
    commands = [shlex.split(line) for line in lines if line.strip().startswith("claude mcp add-json")]

    assert len(commands) == 2
    for words in commands:
        entry = json.loads(words[4])
        program = entry.get("command") or shlex.split(entry["headersHelper"])[1]
        assert Path(program).is_absolute()
        home_setting = entry.get("env", {}).get("AGENT_AUTH_HOME") or shlex.split(entry["headersHelper"])[0]
        assert str(home) in home_setting
