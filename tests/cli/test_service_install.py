"""``agent-auth service``: the systemd unit passes ``systemd-analyze verify``; the launchd plist is well formed."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_test_support import CLI_TIMEOUT_SECONDS, REPO_ROOT

from mcp_server.service_units import LAUNCHD_LABEL, launchd_plist, systemd_unit

AGENT_AUTH = Path(sys.executable).with_name("agent-auth")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO_ROOT),
        **extra,
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_server.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


def _verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    runtime = tmp_path / "rt"
    runtime.mkdir(mode=0o700, exist_ok=True)
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package 'systemd'); .ci/run installs it")
    return subprocess.run(
        [analyze, "verify", "--user", str(unit)],
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the systemd unit is written on Linux only")
def test_service_install_writes_a_user_unit_that_systemd_analyze_verify_accepts(tmp_path: Path) -> None:
    env = _env(tmp_path, AGENT_AUTH_HOME=str(tmp_path / "a home with spaces and 100%"))

    done = _cli(env, "service", "install", "--no-start")

    assert done.returncode == 0, done.stderr
    unit = tmp_path / "config" / "systemd" / "user" / "agent-auth.service"
    text = unit.read_text()
    assert "Restart=on-failure" in text
    assert "RestartPreventExitStatus=2 4 6" in text
    verified = _verify(unit, tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == ""


def test_a_unit_with_a_relative_executable_is_rejected_by_systemd_analyze(tmp_path: Path) -> None:
    """The verification can fail: systemd-analyze rejects a unit whose command is not executable."""
    unit = tmp_path / "agent-auth.service"
    unit.write_text(systemd_unit(Path("agent-auth-does-not-exist"), {}, "/usr/bin:/bin"))
    assert _verify(unit, tmp_path).returncode != 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the systemd unit is written on Linux only")
def test_service_uninstall_removes_the_unit_and_status_then_fails(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _cli(env, "service", "install", "--no-start").returncode == 0
    unit = tmp_path / "config" / "systemd" / "user" / "agent-auth.service"
    assert unit.exists()

    removed = _cli(env, "service", "uninstall")
    status = _cli(env, "--json", "service", "status")

    assert removed.returncode == 0, removed.stderr
    assert not unit.exists()
    assert status.returncode == 1
    assert '"installed": false' in status.stdout


def test_the_launchd_agent_restarts_on_failure_finds_homebrew_and_gpg_suite_and_logs_to_library_logs(
    tmp_path: Path,
) -> None:
    log_dir = tmp_path / "Library" / "Logs" / "agent-auth"
    raw = launchd_plist(Path("/Users/me/.local/bin/agent-auth"), {"AGENT_AUTH_HOME": "/Users/me/aa"}, log_dir)

    agent = plistlib.loads(raw)

    assert plistlib.loads(plistlib.dumps(agent)) == agent
    assert agent["Label"] == LAUNCHD_LABEL
    assert agent["ProgramArguments"] == ["/Users/me/.local/bin/agent-auth", "serve"]
    assert agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["RunAtLoad"] is True
    path = agent["EnvironmentVariables"]["PATH"].split(":")
    assert {"/opt/homebrew/bin", "/usr/local/bin", "/usr/local/MacGPG2/bin"} <= set(path)
    assert agent["EnvironmentVariables"]["AGENT_AUTH_HOME"] == "/Users/me/aa"
    assert agent["StandardErrorPath"] == str(log_dir / "daemon.log")
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')
