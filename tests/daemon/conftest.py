"""Fixtures for the daemon tests: a real daemon on 127.0.0.1:0 per test, an HTTP client, token families."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_server.daemon.context import DaemonContext
from tests.support.daemon import RunningDaemon, isolated_env, start_daemon

StartDaemon = Callable[..., RunningDaemon]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def daemon_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with isolated_env(tmp_path) as env:
        yield env


@pytest.fixture
def start(daemon_env: dict[str, str]) -> Iterator[StartDaemon]:
    """Start a daemon with setting overrides (``start(approval_timeout_seconds=0.5)``); all stop at teardown."""
    started: list[RunningDaemon] = []

    def _start(prepare: Callable[[DaemonContext], None] | None = None, **overrides: Any) -> RunningDaemon:
        running = start_daemon(daemon_env, overrides=overrides, prepare=prepare)
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture
def daemon(start: StartDaemon) -> RunningDaemon:
    return start()


@pytest.fixture(scope="module")
def shared_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    """One daemon for a whole module of tests that only send bad input (nothing they do changes state)."""
    with isolated_env(tmp_path_factory.mktemp("shared")) as env:
        running = start_daemon(env)
        yield running
        running.stop()
