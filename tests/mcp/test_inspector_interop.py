"""Interoperability: the MCP Inspector CLI (an MCP client this project did not write) against a real daemon."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.mcp.mcp_test_support import FAMILY_SCOPES
from tests.support.daemon import RunningDaemon

INSPECTOR = "@modelcontextprotocol/inspector@2"
INSPECTOR_TIMEOUT_SECONDS = 120
# npm's own words for "the registry cannot be reached": the only failures this test forgives.
OFFLINE_MARKERS = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "ENETUNREACH")


# Downloads the Inspector from the npm registry: network, not the default suite.
@pytest.mark.heavy
def test_the_mcp_inspector_lists_the_tools_a_token_allows(daemon: RunningDaemon) -> None:
    npx = shutil.which("npx")
    if npx is None or shutil.which("node") is None:
        pytest.skip("node/npx are not installed, so the MCP Inspector CLI cannot run")
    family = daemon.create_family(FAMILY_SCOPES)

    done = subprocess.run(
        [
            npx,
            "-y",
            INSPECTOR,
            "--cli",
            f"{daemon.url}/mcp",
            "--transport",
            "http",
            "--header",
            f"Authorization: Bearer {family.access_token}",
            "--method",
            "tools/list",
        ],
        capture_output=True,
        text=True,
        timeout=INSPECTOR_TIMEOUT_SECONDS,
        check=False,
    )

    if done.returncode != 0 and any(marker in done.stderr for marker in OFFLINE_MARKERS):
        pytest.skip(f"the npm registry is unreachable: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr[-2000:]
    listed = json.loads(done.stdout)
    assert {tool["name"] for tool in listed["tools"]} == {"whoami", "read_note", "write_note"}
