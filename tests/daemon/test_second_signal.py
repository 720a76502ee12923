"""The daemon's signal policy on a real uvicorn server: a second signal exits at once, without a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette

from mcp_server.daemon.serve import _Server

BOUND_SECONDS = 10.0


def _server(stuck: asyncio.Event) -> _Server:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        stuck.set()
        await asyncio.Event().wait()  # a shutdown step that never finishes (e.g. a client that never lets go)

    config = uvicorn.Config(Starlette(lifespan=lifespan), lifespan="on", log_config=None)
    return _Server(config)


@pytest.mark.anyio
async def test_a_second_signal_during_a_stuck_shutdown_exits_at_once_without_a_cancelled_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stuck = asyncio.Event()
    server = _server(stuck)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(BOUND_SECONDS):
            while not server.started:
                await asyncio.sleep(0.01)
            lifespan_tasks = [t for t in asyncio.all_tasks() if "LifespanOn.main" in repr(t.get_coro())]
            assert lifespan_tasks
            with caplog.at_level(logging.DEBUG):
                server.handle_exit(2, None)  # first Ctrl-C: drain
                await stuck.wait()
                server.handle_exit(2, None)  # second Ctrl-C: out now
                await serving
                # What the end of the event loop does to the abandoned lifespan (starlette then reports it).
                for task in lifespan_tasks:
                    task.cancel()
                await asyncio.gather(*lifespan_tasks, return_exceptions=True)
    finally:
        sock.close()
        serving.cancel()
    assert "Traceback" not in caplog.text
    assert "CancelledError" not in caplog.text


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
