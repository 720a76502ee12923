"""Helpers for driving the TUI against a real daemon: waiting on conditions, making agent calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx2
from textual.pilot import Pilot
from textual.widgets import DataTable
from tui_daemon import RunningDaemon

from auth.admin_client import call_once
from tui import AgentAuthApp, SocketBackend
from tui.screens.approvals import SETTLE_SECONDS

WAIT_SECONDS = 10.0


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until ``condition()`` holds; fail after a bounded time."""
    try:
        with anyio.fail_after(WAIT_SECONDS):
            while not condition():
                await pilot.pause(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None


class ManualClock:
    """A monotonic clock the test moves by hand (the approve guard reads it; nothing sleeps)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


VALIDATE_HEADLINE = "A caller asks to use scope {scope} (a /validate check: agent-auth runs nothing itself)"


def validate_row(scope: str, description: str) -> str:
    """How the approvals list shows a /validate prompt: the server's headline, then the caller's words."""
    return f"{VALIDATE_HEADLINE.format(scope=scope)} — caller says: {description}"


def tui_for(daemon: RunningDaemon) -> AgentAuthApp:
    return AgentAuthApp(SocketBackend(daemon.socket_path), monotonic=ManualClock(), reconnect_interval_seconds=0.05)


def settle(app: AgentAuthApp) -> None:
    """Let the person look: move the app's monotonic clock past the approve guard's settling time."""
    clock = app.hub.monotonic
    assert isinstance(clock, ManualClock)
    clock.advance(SETTLE_SECONDS + 0.1)


def table(app: AgentAuthApp, table_id: str) -> DataTable[Any]:
    return app.screen.query_one(f"#{table_id}", DataTable)


def rows(app: AgentAuthApp, table_id: str) -> list[list[str]]:
    data = table(app, table_id)
    return [[str(cell) for cell in data.get_row_at(index)] for index in range(data.row_count)]


async def create_family(daemon: RunningDaemon, scopes: dict[str, str], label: str) -> dict[str, Any]:
    result: dict[str, Any] = await call_once(daemon.socket_path, "families.create", scopes=scopes, label=label)
    return result


async def agent_validate(daemon: RunningDaemon, token: str, scope: str, description: str) -> httpx2.Response:
    """What an agent's call does: ask the daemon whether ``token`` may use ``scope`` (waits on prompts)."""
    async with httpx2.AsyncClient(base_url=daemon.url, timeout=30) as client:
        return await client.post(
            "/agent-auth/v1/validate", json={"token": token, "required_scope": scope, "description": description}
        )
