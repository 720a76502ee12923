"""Fixtures for the reliability and security suite: a real daemon with every surface, isolated per test.

``full_daemon`` composes the token service, the Things and GPG integrations and ``/mcp`` exactly as
``agent-auth serve`` does (``composition.integrations()``), in a thread of this process, so a test can reach
the broker and the store while it drives the daemon over real HTTP and the real admin socket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from mcp_server.composition import integrations
from mcp_server.daemon.context import DaemonContext
from tests.support.daemon import RunningDaemon, isolated_env, start_daemon


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def daemon_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with isolated_env(tmp_path / "home") as env:
        yield env


def start_full_daemon(
    env: Mapping[str, str],
    *,
    overrides: Mapping[str, Any] | None = None,
    prepare: Callable[[DaemonContext], None] | None = None,
) -> RunningDaemon:
    """A daemon in a thread with every default surface (token service, Things, GPG, MCP)."""
    return start_daemon(env, overrides=overrides, prepare=prepare, integrations=integrations())


StartFull = Callable[..., RunningDaemon]


@pytest.fixture
def start_full(daemon_env: dict[str, str]) -> Iterator[StartFull]:
    """Start full daemons with setting overrides; every one is stopped (and its errors raised) at teardown."""
    started: list[RunningDaemon] = []

    def _start(prepare: Callable[[DaemonContext], None] | None = None, **overrides: Any) -> RunningDaemon:
        running = start_full_daemon(daemon_env, overrides=overrides, prepare=prepare)
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture
def full_daemon(start_full: StartFull) -> RunningDaemon:
    return start_full()
