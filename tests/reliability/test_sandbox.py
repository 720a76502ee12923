"""``agent-auth sandbox``: a process under bubblewrap cannot read the key file or the token store, nor reach
the admin socket, yet calls ``/mcp`` with its token. The same probe unsandboxed reaches all of them (so the
test can fail)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_server.settings import load_settings
from tests.reliability.test_crash_recovery import admin_call, serve_process
from tests.support.daemon import isolated_env

AGENT_AUTH = str(Path(sys.executable).parent / "agent-auth")

PROBE = r"""
import json, socket, sys, urllib.request
key_file, store, admin, url, token = sys.argv[1:6]
seen = {}
for name, path in (("key_file", key_file), ("store", store)):
    try:
        with open(path, "rb") as f:
            f.read(1)
        seen[name] = "read"
    except OSError as exc:
        seen[name] = type(exc).__name__
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(admin)
    seen["admin_socket"] = "connected"
except OSError as exc:
    seen["admin_socket"] = type(exc).__name__
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}}}).encode()
request = urllib.request.Request(url + "/mcp", data=body, headers={
    "Authorization": "Bearer " + token, "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream"})
try:
    with urllib.request.urlopen(request, timeout=20) as response:
        seen["mcp"] = response.status
except Exception as exc:
    seen["mcp"] = repr(exc)
print(json.dumps(seen))
"""

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap is not installed (.ci/run installs it)"
)


def _probe(env: dict[str, str], url: str, token: str, *, sandboxed: bool) -> dict[str, object]:
    settings = load_settings(env=env)
    args = [
        sys.executable,
        "-c",
        PROBE,
        str(settings.key_file_path),
        str(settings.database_path),
        str(settings.admin_socket_path),
        url,
        token,
    ]
    command = [AGENT_AUTH, "sandbox", "--", *args] if sandboxed else args
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


def test_a_sandboxed_agent_reaches_mcp_but_not_the_keys_the_store_or_the_admin_socket(tmp_path: Path) -> None:
    with isolated_env(tmp_path / "home") as env:
        settings = load_settings(env=env)
        with serve_process(env, settings) as (_process, url):
            created = admin_call(settings.admin_socket_path, "families.create", scopes={"things:read": "allow"})
            token = str(created["access_token"])
            outside = _probe(env, url, token, sandboxed=False)
            inside = _probe(env, url, token, sandboxed=True)
    assert outside == {"key_file": "read", "store": "read", "admin_socket": "connected", "mcp": 200}
    assert inside["mcp"] == 200
    assert inside["key_file"] == "FileNotFoundError"
    assert inside["store"] == "FileNotFoundError"
    assert inside["admin_socket"] in ("FileNotFoundError", "ConnectionRefusedError")
