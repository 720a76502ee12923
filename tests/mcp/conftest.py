"""Fixtures for the MCP tests: an authority on tmp_path, and real daemons serving ``/mcp``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auth.families import IssuedTokens
from auth.scopes import Tier
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.serve import open_context
from mcp_server.settings import load_settings
from tests.mcp.mcp_test_support import FAMILY_SCOPES, ToolRuns, start_mcp_daemon
from tests.support.daemon import RunningDaemon, isolated_env

StartDaemon = Callable[..., RunningDaemon]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def mcp_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with isolated_env(tmp_path) as env:
        yield env


@pytest.fixture
def runs() -> ToolRuns:
    return ToolRuns()


@pytest.fixture
def context(mcp_env: dict[str, str]) -> Iterator[DaemonContext]:
    """A real authority (SQLite store, file keys, audit log) with its gate and broker, without a server."""
    ctx = open_context(load_settings(env=mcp_env))
    yield ctx
    ctx.gate.close()
    ctx.authority.audit.close()
    ctx.authority.db.dispose()


@pytest.fixture
def family(context: DaemonContext) -> IssuedTokens:
    return context.authority.create_family(
        {name: Tier(tier) for name, tier in FAMILY_SCOPES.items()}, label="notes-agent"
    )


@pytest.fixture
def start_daemon(mcp_env: dict[str, str], runs: ToolRuns) -> Iterator[StartDaemon]:
    """Start a daemon serving ``/mcp`` with the test tools (``start(approval_timeout_seconds=1)``)."""
    started: list[RunningDaemon] = []

    def _start(**overrides: Any) -> RunningDaemon:
        running = start_mcp_daemon(mcp_env, runs, overrides=overrides)
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture
def daemon(start_daemon: StartDaemon) -> RunningDaemon:
    return start_daemon()
