"""Fixtures for the OAuth tests: a real daemon serving /mcp with the authorization server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mcp.mcp_test_support import ToolRuns, start_mcp_daemon
from tests.support.daemon import RunningDaemon, isolated_env


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def runs() -> ToolRuns:
    return ToolRuns()


@pytest.fixture
def daemon(tmp_path: Path, runs: ToolRuns) -> Iterator[RunningDaemon]:
    with isolated_env(tmp_path) as env:
        running = start_mcp_daemon(env, runs)
        try:
            yield running
        finally:
            running.stop()
