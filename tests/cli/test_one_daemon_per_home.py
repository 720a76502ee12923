"""A home is served by one daemon: a second ``demo`` or ``serve`` refuses before touching anything."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx2
from cli_test_support import CLI_TIMEOUT_SECONDS, REPO_ROOT
from test_demo import _start_demo

EXIT_CONFLICT = 6


def _demo_env(home: Path) -> dict[str, str]:
    import os

    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home.parent),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO_ROOT),
    }


def _stop(process: subprocess.Popen[str], home: Path) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    if (home / "gnupg").exists():
        subprocess.run(
            ["gpgconf", "--homedir", str(home / "gnupg"), "--kill", "gpg-agent"], check=False, capture_output=True
        )


def test_a_second_demo_on_a_served_home_refuses_and_leaves_the_first_demos_tokens_working() -> None:
    home = Path(tempfile.mkdtemp(prefix="aad", dir="/tmp")) / "demo"
    process, url, _ = _start_demo(home)
    try:
        tokens = json.loads((home / "demo-tokens.json").read_text())

        second = subprocess.run(
            [sys.executable, "-m", "mcp_server.cli.main", "demo", "--home", str(home), "--port", "0"],
            env=_demo_env(home),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )

        assert second.returncode == EXIT_CONFLICT, second.stderr
        assert "Traceback" not in second.stderr
        assert str(process.pid) in second.stderr
        assert url in second.stderr
        assert json.loads((home / "demo-tokens.json").read_text()) == tokens
        with httpx2.Client(base_url=url, timeout=15) as http:
            allowed = http.post(
                "/agent-auth/v1/validate", json={"token": tokens["access_token"], "required_scope": "things:read"}
            )
        assert allowed.status_code == 200, allowed.text
        assert (home / "run" / "daemon.json").exists()
    finally:
        _stop(process, home)


def test_serve_on_a_home_a_demo_already_serves_refuses_with_the_conflict_code() -> None:
    home = Path(tempfile.mkdtemp(prefix="aad", dir="/tmp")) / "demo"
    process, url, _ = _start_demo(home)
    try:
        env = {**_demo_env(home), "AGENT_AUTH_HOME": str(home), "AGENT_AUTH_KEY_STORE": "file"}
        second = subprocess.run(
            [sys.executable, "-m", "mcp_server.cli.main", "serve", "--port", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )
        assert second.returncode == EXIT_CONFLICT, second.stderr
        assert "Traceback" not in second.stderr
        assert url in second.stderr
    finally:
        _stop(process, home)


def test_serve_on_a_busy_port_exits_with_the_conflict_code_not_the_store_code(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        env = {**_demo_env(tmp_path / "x"), "AGENT_AUTH_HOME": str(tmp_path / "home"), "AGENT_AUTH_KEY_STORE": "file"}
        done = subprocess.run(
            [sys.executable, "-m", "mcp_server.cli.main", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )
    assert done.returncode == EXIT_CONFLICT, done.stderr
    assert "Traceback" not in done.stderr
    assert f"127.0.0.1:{port}" in done.stderr


def test_the_demo_home_describes_itself_gpg_keys_there_lists_the_demo_key_and_the_git_example_sets_an_identity() -> (
    None
):
    home = Path(tempfile.mkdtemp(prefix="aad", dir="/tmp")) / "demo"
    process, _, lines = _start_demo(home)
    try:
        env = {**_demo_env(home), "AGENT_AUTH_HOME": str(home)}
        keys = subprocess.run(
            [sys.executable, "-m", "mcp_server.cli.main", "--json", "gpg", "keys"],
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )
        assert keys.returncode == 0, keys.stderr
        listed = json.loads(keys.stdout)
        assert listed["gnupghome"] == str(home / "gnupg")
        assert [k["in_gnupghome"] for k in listed["keys"]] == [True]
        assert not (home.parent / ".gnupg").exists()
        text = "".join(lines)
        assert "git config user.email" in text and "git config user.name" in text
    finally:
        _stop(process, home)
