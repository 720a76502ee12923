"""``agent-auth demo``, the README's main-job command, as a newcomer runs it: a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx2
from cli_test_support import REPO_ROOT

READY_TIMEOUT_SECONDS = 60.0


def _start_demo(home: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home.parent),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO_ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_server.cli.main", "demo", "--home", str(home), "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()
    url: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if line.startswith("agent-auth demo running at "):
                url.append(line.split()[4])
            if line.startswith("Ctrl-C stops the demo"):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    assert ready.wait(READY_TIMEOUT_SECONDS), "the demo did not start in time"
    assert url, "".join(lines)
    return process, url[0], lines


def test_the_demo_serves_a_demo_family_that_shows_allow_and_deny_and_stops_on_sigterm() -> None:
    """The printed instructions are real: the demo token is allowed things:read and denied anything absent."""
    home = Path(tempfile.mkdtemp(prefix="aad", dir="/tmp")) / "demo"  # short: the gpg agent socket lives here
    process, url, lines = _start_demo(home)
    try:
        tokens = json.loads((home / "demo-tokens.json").read_text())
        assert (home / "demo-tokens.json").stat().st_mode & 0o777 == 0o600
        with httpx2.Client(base_url=url, timeout=15) as http:
            allowed = http.post(
                "/agent-auth/v1/validate", json={"token": tokens["access_token"], "required_scope": "things:read"}
            )
            denied = http.post(
                "/agent-auth/v1/validate", json={"token": tokens["access_token"], "required_scope": "calendar:read"}
            )
        assert allowed.status_code == 200 and allowed.json() == {"valid": True, "tier": "allow"}
        assert denied.status_code == 403 and denied.json()["error"] == "scope_denied"
        text = "".join(lines)
        assert "agent-auth tui" in text and "claude mcp add-json" in text and f"{url}/mcp" in text
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        if (home / "gnupg").exists():
            subprocess.run(
                ["gpgconf", "--homedir", str(home / "gnupg"), "--kill", "gpg-agent"],
                check=False,
                capture_output=True,
            )
