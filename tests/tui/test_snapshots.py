"""SVG snapshots of every screen with canned data and a frozen clock (update with --snapshot-update)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fixture_backend import ISSUED, NOW, URL, FixtureBackend
from textual.pilot import Pilot
from tui_support import ManualClock, settle

from tui import AgentAuthApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.show_tokens import ShowTokensScreen

SIZE = (120, 36)
Compare = Callable[..., bool]


def frozen_app(*, running: bool = True) -> AgentAuthApp:
    return AgentAuthApp(
        FixtureBackend(running=running), clock=lambda: NOW, monotonic=ManualClock(), reconnect_interval_seconds=3600
    )


async def settled(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, AgentAuthApp)
    while app.hub.connected is None or (app.hub.connected and not app.hub.families):
        await pilot.pause(0.01)
    await pilot.pause()


def test_the_approvals_screen_lists_pending_requests_with_countdowns_and_history(snap_compare: Compare) -> None:
    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=settled)


def test_the_duration_choice_for_a_timed_grant(snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        assert isinstance(pilot.app, AgentAuthApp)
        settle(pilot.app)
        await pilot.press("t")

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_the_tokens_screen_colours_scopes_by_tier(snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("2")
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_the_create_family_form(snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("2", "n")
        await pilot.pause()
        await pilot.press("tab", "down", "a")

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_new_tokens_are_shown_once_with_setup_snippets(snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("2")
        await pilot.app.push_screen(ShowTokensScreen(ISSUED, URL))

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_the_revoke_confirmation(snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("2", "r")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmScreen)

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_the_audit_screen_with_chain_status(snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("3")
        await pilot.pause(0.05)
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_the_help_screen(snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("question_mark")

    assert snap_compare(frozen_app(), terminal_size=SIZE, run_before=run_before)


def test_the_daemon_down_message(snap_compare: Compare) -> None:
    assert snap_compare(frozen_app(running=False), terminal_size=SIZE, run_before=settled)
