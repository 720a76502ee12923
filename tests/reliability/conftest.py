"""Fixtures for the reliability and security suite: a real daemon with every surface, isolated per test.

``full_daemon`` composes the token service, the Things and GPG integrations and ``/mcp`` exactly as
``agent-auth serve`` does (``compose.default_surfaces``), in a thread of this process, so a test can reach
the broker and the store while it drives the daemon over real HTTP and the real admin socket.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from mcp_server.daemon.compose import compose_surfaces, default_surfaces
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.serve import open_context, run
from mcp_server.settings import load_settings
from tests.support.daemon import READY_TIMEOUT_SECONDS, RunningDaemon, isolated_env


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
    """``serve.run`` in a thread with every default surface (token service, Things, GPG, MCP)."""
    settings = load_settings(env=env, overrides=overrides)
    ctx = open_context(settings)
    if prepare is not None:
        prepare(ctx)
    ready = threading.Event()
    handles: dict[str, Any] = {}
    errors: list[BaseException] = []

    async def main() -> None:
        handles["token"] = anyio.lowlevel.current_token()
        handles["stop"] = stop = anyio.Event()
        await run(
            settings,
            ctx=ctx,
            on_ready=lambda _ctx: ready.set(),
            customize=lambda c: compose_surfaces(c, default_surfaces()),
            stop=stop,
        )

    def thread_main() -> None:
        try:
            anyio.run(main)
        except BaseException as exc:  # reported by RunningDaemon.stop() and below
            errors.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=thread_main, name="agent-auth-full-daemon", daemon=True)
    thread.start()
    if not ready.wait(READY_TIMEOUT_SECONDS):
        raise AssertionError(f"the daemon did not start within {READY_TIMEOUT_SECONDS} s")
    if errors:
        raise AssertionError(f"the daemon failed to start: {errors[0]!r}") from errors[0]
    assert ctx.url is not None
    return RunningDaemon(settings, ctx, ctx.url, thread, handles["token"], handles["stop"], errors)


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
