"""The TypeScript MCP SDK and the MCP Inspector CLI for interoperability tests (heavy suite).

The SDK is installed with npm into a cache directory outside the repository (``AGENT_AUTH_TEST_CACHE`` or
``~/.cache/agent-auth-tests``) the first time a test needs it. Tests skip — saying why — only when node/npm
are missing or npm reports that the registry cannot be reached; any other failure fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

TS_SDK_PACKAGE = "@modelcontextprotocol/sdk@1"
INSPECTOR_PACKAGE = "@modelcontextprotocol/inspector@2"
NPM_TIMEOUT_SECONDS = 300
CLIENT_TIMEOUT_SECONDS = 180
# npm's own words for "the registry cannot be reached": the only failures that skip.
OFFLINE_MARKERS = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "ENETUNREACH")
CLIENT_SCRIPT = Path(__file__).resolve().parents[1] / "interop" / "ts_sdk_client.cjs"


def _cache_dir() -> Path:
    root = os.environ.get("AGENT_AUTH_TEST_CACHE") or str(Path.home() / ".cache" / "agent-auth-tests")
    return Path(root) / "ts-sdk"


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is not installed, so the TypeScript MCP clients cannot run")
    return found


def _skip_if_offline(stderr: str) -> None:
    if any(marker in stderr for marker in OFFLINE_MARKERS):
        pytest.skip(f"the npm registry is unreachable: {stderr.strip().splitlines()[-1]}")


def typescript_sdk() -> Path:
    """The directory holding ``node_modules/@modelcontextprotocol/sdk`` (installed on first use)."""
    _require("node")
    npm = _require("npm")
    target = _cache_dir()
    if (target / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(target), "--no-audit", "--no-fund", TS_SDK_PACKAGE],
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        _skip_if_offline(done.stderr)
        raise AssertionError(f"npm install {TS_SDK_PACKAGE} failed: {done.stderr[-2000:]}")
    return target


def run_ts_client(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the TypeScript SDK client on ``job`` (see ts_sdk_client.cjs); its JSON lines."""
    node = _require("node")
    done = subprocess.run(
        [node, str(CLIENT_SCRIPT)],
        input=json.dumps({"sdkDir": str(typescript_sdk()), **job}),
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def run_inspector(url: str, token: str, *method_args: str) -> dict[str, Any]:
    """One MCP Inspector CLI invocation over streamable HTTP; its JSON output."""
    npx = _require("npx")
    _require("node")
    done = subprocess.run(
        [
            npx,
            "-y",
            INSPECTOR_PACKAGE,
            "--cli",
            url,
            "--transport",
            "http",
            "--header",
            f"Authorization: Bearer {token}",
            *method_args,
        ],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        _skip_if_offline(done.stderr)
    assert done.returncode == 0, (method_args, done.stdout[-2000:], done.stderr[-2000:])
    return dict(json.loads(done.stdout))
