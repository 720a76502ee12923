"""TUI defects found by a new user, each against a real daemon under pilot, laid out at 80x24."""

from __future__ import annotations

import time

import anyio
import pytest
from textual.widgets import Input, Static
from tui_daemon import DaemonFactory, RunningDaemon
from tui_support import agent_validate, create_family, rows, table, wait_until

from tui import AgentAuthApp, SocketBackend
from tui.screens.create_family import CreateFamilyScreen
from tui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.anyio
SMALL = (80, 24)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def app_for(daemon: RunningDaemon, clock: Clock | None = None) -> AgentAuthApp:
    return AgentAuthApp(SocketBackend(daemon.socket_path), clock=clock or time.time, reconnect_interval_seconds=0.05)


def bar_text(app: AgentAuthApp) -> str:
    return app.screen.query_one(StatusBar).render_status().plain


async def test_the_pending_count_fits_in_80_columns(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"things:write": "prompt"}, "a-rather-long-label-for-a-laptop")
    app = app_for(daemon)
    async with app.run_test(size=SMALL) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True and app.hub.status is not None, "connected")
        tg.start_soon(agent_validate, daemon, family["access_token"], "things:write", "Add a to-do")
        await wait_until(pilot, lambda: len(app.hub.book) == 1, "one request is pending")
        await pilot.pause()
        for mode in ("approvals", "tokens", "audit"):
            await pilot.press({"approvals": "1", "tokens": "2", "audit": "3"}[mode])
            await wait_until(
                pilot, lambda: "1 pending" in bar_text(app)[:80], f"'1 pending' within 80 columns ({mode})"
            )
        tg.cancel_scope.cancel()


async def test_the_new_approval_badge_goes_away_when_nothing_is_pending_any_more(daemons: DaemonFactory) -> None:
    daemon = daemons.start(AGENT_AUTH_APPROVAL_TIMEOUT_SECONDS="1")
    family = await create_family(daemon, {"things:write": "prompt"}, "laptop")
    app = app_for(daemon)
    async with app.run_test(size=SMALL) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "connected")
        await pilot.press("2")
        tg.start_soon(agent_validate, daemon, family["access_token"], "things:write", "Add a to-do")
        await wait_until(pilot, lambda: "1 new approval" in bar_text(app), "the badge shows")
        await wait_until(pilot, lambda: len(app.hub.book) == 0, "the request timed out")
        await wait_until(pilot, lambda: "new approval" not in bar_text(app), "the badge is gone")
        tg.cancel_scope.cancel()


async def test_recent_decision_times_keep_moving_without_new_events(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"things:write": "prompt"}, "laptop")
    clock = Clock()
    app = app_for(daemon, clock)
    async with app.run_test(size=(120, 40)) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "connected")
        tg.start_soon(agent_validate, daemon, family["access_token"], "things:write", "Add a to-do")
        await wait_until(pilot, lambda: table(app, "pending").row_count == 1, "the request is listed")
        await pilot.press("d")
        await wait_until(pilot, lambda: table(app, "history").row_count == 1, "the decision is in the history")
        before = rows(app, "history")[0][0]
        assert before.endswith("s ago"), before
        clock.now += 3600 * 5
        await wait_until(pilot, lambda: rows(app, "history")[0][0].endswith("h ago"), "the time moves on")
        tg.cancel_scope.cancel()


async def test_creating_a_family_while_the_daemon_is_down_keeps_the_form(daemon: RunningDaemon) -> None:
    app = app_for(daemon)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: app.hub.connected is True, "connected")
        await pilot.press("2")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, CreateFamilyScreen), "the form is open")
        app.screen.query_one("#label", Input).value = "keep me"
        app.screen.query_one("#extra-scopes", Input).value = "things:read=allow"
        daemon.stop()
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: "daemon" in str(app.screen.query_one("#form-error", Static).render()).lower(),
            "the form says the daemon is not reachable",
        )
        assert isinstance(app.screen, CreateFamilyScreen)
        assert app.screen.query_one("#label", Input).value == "keep me"
        assert app.screen.query_one("#extra-scopes", Input).value == "things:read=allow"


async def test_the_audit_filter_by_label_finds_a_familys_entries_from_before_and_after_a_rotation(
    daemon: RunningDaemon,
) -> None:
    from auth.admin_client import call_once

    before = await create_family(daemon, {"things:read": "allow"}, "laptop")
    await agent_validate(daemon, before["access_token"], "things:read", "before the rotation")
    after = await call_once(daemon.socket_path, "families.rotate", family_id=before["family_id"])
    await agent_validate(daemon, after["access_token"], "things:read", "after the rotation")
    other = await create_family(daemon, {"things:read": "allow"}, "desktop")
    await agent_validate(daemon, other["access_token"], "things:read", "someone else")
    app = app_for(daemon)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: app.hub.connected is True, "connected")
        await pilot.press("3")
        await wait_until(pilot, lambda: table(app, "audit").row_count >= 5, "the entries are listed")
        await pilot.press("slash", *"laptop")
        decisions = lambda: [row for row in rows(app, "audit") if row[1] == "decision"]  # noqa: E731
        await wait_until(pilot, lambda: len(decisions()) == 2, "both decisions of the laptop family are listed")
        assert all("desktop" not in row for row in rows(app, "audit"))
