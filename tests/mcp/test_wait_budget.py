"""The default approval wait ends, with the server's own answer, before common MCP clients give up.

Client facts (checked in their sources): the TypeScript SDK (`@modelcontextprotocol/sdk`, which the MCP
Inspector and Claude Code build on) fails a request after ``DEFAULT_REQUEST_TIMEOUT_MSEC = 60000`` and resets
that timer on progress only when the caller passes ``resetTimeoutOnProgress: true`` with ``onprogress``;
Claude Code drops an HTTP request with no first byte within 60 s unless progress arrives (its idle timer).
So the whole wait plus the slowest tool run must fit under 60 s, and progress must come well inside any
idle window.
"""

from __future__ import annotations

import time
from pathlib import Path

from mcp_server.mcp import enforcement
from mcp_server.settings import load_settings
from tools.things import ItemRateLimiter, ThingsWriter

TYPESCRIPT_SDK_DEFAULT_REQUEST_TIMEOUT_SECONDS = 60.0
# Delivery of the answer, audit writes and a slow machine's scheduling: what is left after the wait and the run.
MARGIN_SECONDS = 5.0
SHORTEST_IDLE_WINDOW_SECONDS = 10.0  # the MCP Inspector UI's default request timeout (reset on progress)


class _NoOpener:
    def open(self, url: str) -> None:
        return None


def test_the_default_approval_wait_plus_the_slowest_tool_run_ends_before_a_default_typescript_client(
    tmp_path: Path,
) -> None:
    settings = load_settings({"HOME": str(tmp_path)})
    things_read_back = ThingsWriter(_NoOpener(), ItemRateLimiter(time.monotonic), sleep=lambda _s: None)
    worst = settings.approval_timeout_seconds + things_read_back.confirm_window_seconds + MARGIN_SECONDS
    assert worst <= TYPESCRIPT_SDK_DEFAULT_REQUEST_TIMEOUT_SECONDS


def test_progress_during_a_wait_comes_well_inside_the_shortest_idle_window() -> None:
    assert enforcement.PROGRESS_INTERVAL_SECONDS * 2 <= SHORTEST_IDLE_WINDOW_SECONDS
