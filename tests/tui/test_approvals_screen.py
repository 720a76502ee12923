"""The Approvals screen against a real daemon: approve once, timed grant, deny, timeout, badge, dozens."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest
from tui_daemon import DaemonFactory, RunningDaemon
from tui_support import agent_validate, create_family, rows, settle, table, tui_for, validate_row, wait_until

from auth.admin_client import call_once
from tui.screens.duration import DurationScreen
from tui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.anyio


class AgentCall:
    """An agent's validate call running in the background until the TUI decides it."""

    def __init__(self) -> None:
        self.response: httpx2.Response | None = None

    async def run(self, daemon: RunningDaemon, token: str, scope: str, description: str) -> None:
        self.response = await agent_validate(daemon, token, scope, description)

    def body(self) -> dict[str, Any]:
        assert self.response is not None
        body: dict[str, Any] = self.response.json()
        return body


async def test_a_prompt_request_appears_and_approving_once_lets_the_call_through(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"things:write": "prompt"}, "laptop")
    app = tui_for(daemon)
    call = AgentCall()
    async with app.run_test(size=(120, 40)) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        tg.start_soon(call.run, daemon, family["access_token"], "things:write", "Add to-do '[urgent] Buy milk'")
        await wait_until(pilot, lambda: table(app, "pending").row_count == 1, "the request is listed")
        assert rows(app, "pending")[0][1:] == [
            "laptop",
            "validate",
            "things:write",
            validate_row("things:write", "Add to-do '[urgent] Buy milk'"),
        ]
        settle(app)
        await pilot.press("a")
        await wait_until(pilot, lambda: call.response is not None, "the agent's call returns")
        assert call.body() == {"valid": True, "tier": "prompt"}
        await wait_until(pilot, lambda: table(app, "history").row_count == 1, "the decision is in the history")
        assert table(app, "pending").row_count == 0
        assert rows(app, "history")[0][4] == "approved once"


async def test_a_timed_grant_approves_this_call_and_the_next_without_asking(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"gpg:sign": "prompt"}, "ci")
    app = tui_for(daemon)
    call = AgentCall()
    async with app.run_test(size=(120, 40)) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        tg.start_soon(call.run, daemon, family["access_token"], "gpg:sign", "sign commit 'Fix typo'")
        await wait_until(pilot, lambda: table(app, "pending").row_count == 1, "the request is listed")
        settle(app)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, DurationScreen), "the durations are offered")
        await pilot.press("2")  # 1 hour
        await wait_until(pilot, lambda: call.response is not None, "the agent's call returns")
        assert call.body()["valid"] is True
        listing = await call_once(daemon.socket_path, "approvals.list")
        assert [(g["family_id"], g["scope"]) for g in listing["grants"]] == [(family["family_id"], "gpg:sign")]
        assert 3590 <= listing["grants"][0]["expires_at"] - listing["history"][0]["decided_at"] <= 3600
        second = await agent_validate(daemon, family["access_token"], "gpg:sign", "sign commit 'Another'")
        assert second.json()["valid"] is True
        await wait_until(pilot, lambda: table(app, "history").row_count == 1, "the decision is in the history")
        assert rows(app, "history")[0][4] == "approved 60 min"
        assert table(app, "pending").row_count == 0


async def test_denying_a_request_fails_the_call_with_scope_denied(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"things:write": "prompt"}, "laptop")
    app = tui_for(daemon)
    call = AgentCall()
    async with app.run_test(size=(120, 40)) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        tg.start_soon(call.run, daemon, family["access_token"], "things:write", "Delete everything")
        await wait_until(pilot, lambda: table(app, "pending").row_count == 1, "the request is listed")
        await pilot.press("d")
        await wait_until(pilot, lambda: call.response is not None, "the agent's call returns")
        assert call.response is not None and call.response.status_code == 403
        assert call.body()["error"] == "scope_denied"
        await wait_until(pilot, lambda: table(app, "history").row_count == 1, "the decision is in the history")
        assert rows(app, "history")[0][4] == "denied"
        assert rows(app, "history")[0][5].startswith("admin-socket uid=")  # set by the daemon, not the TUI


async def test_an_undecided_request_times_out_and_moves_to_the_history(daemons: DaemonFactory) -> None:
    daemon = daemons.start(AGENT_AUTH_APPROVAL_TIMEOUT_SECONDS="1")
    family = await create_family(daemon, {"things:write": "prompt"}, "laptop")
    app = tui_for(daemon)
    call = AgentCall()
    async with app.run_test(size=(120, 40)) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        tg.start_soon(call.run, daemon, family["access_token"], "things:write", "Nobody answers")
        await wait_until(pilot, lambda: table(app, "pending").row_count == 1, "the request is listed")
        await wait_until(pilot, lambda: table(app, "history").row_count == 1, "the request expired")
        assert table(app, "pending").row_count == 0
        assert rows(app, "history")[0][4] == "timeout"
        await wait_until(pilot, lambda: call.response is not None, "the agent's call returns")
        assert call.body()["error"] == "scope_denied"


async def test_a_request_arriving_on_another_screen_raises_a_badge_and_rings_the_bell(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"things:write": "prompt"}, "laptop")
    app = tui_for(daemon)
    async with app.run_test(size=(120, 40)) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        await pilot.press("2")
        assert app.current_mode == "tokens"
        tg.start_soon(agent_validate, daemon, family["access_token"], "things:write", "Add a to-do")
        await wait_until(pilot, lambda: app.hub.unseen_approvals == 1, "the request is counted as unseen")
        assert app.bells == 1
        await wait_until(
            pilot, lambda: "1 new approval" in str(app.screen.query_one(StatusBar).render_status()), "badge shows"
        )
        await pilot.press("1")
        assert app.hub.unseen_approvals == 0
        assert table(app, "pending").row_count == 1
        tg.cancel_scope.cancel()


async def test_dozens_of_pending_requests_are_listed_newest_first(daemons: DaemonFactory) -> None:
    daemon = daemons.start(AGENT_AUTH_MAX_PENDING_APPROVALS_PER_FAMILY="50")
    family = await create_family(daemon, {"things:write": "prompt"}, "busy")
    app = tui_for(daemon)
    count = 30
    async with app.run_test(size=(120, 40)) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        for index in range(count):
            tg.start_soon(agent_validate, daemon, family["access_token"], "things:write", f"to-do {index}")
        await wait_until(pilot, lambda: table(app, "pending").row_count == count, f"{count} requests are listed")
        shown = [
            app.hub.book.get(str(table(app, "pending").coordinate_to_cell_key((i, 0)).row_key.value))
            for i in range(count)
        ]
        requested = [float(a["requested_at"]) for a in shown if a is not None]
        assert len(requested) == count
        assert requested == sorted(requested, reverse=True)
        tg.cancel_scope.cancel()


async def test_the_cursor_stays_on_the_request_being_read_when_a_newer_one_arrives(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"things:write": "prompt"}, "laptop")
    app = tui_for(daemon)
    first = AgentCall()
    async with app.run_test(size=(120, 40)) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        tg.start_soon(first.run, daemon, family["access_token"], "things:write", "the first request")
        await wait_until(pilot, lambda: table(app, "pending").row_count == 1, "the first request is listed")
        tg.start_soon(agent_validate, daemon, family["access_token"], "things:write", "a newer request")
        await wait_until(pilot, lambda: table(app, "pending").row_count == 2, "the newer request is listed")
        assert rows(app, "pending")[0][4] == validate_row("things:write", "a newer request")
        settle(app)
        await pilot.press("a")
        await wait_until(pilot, lambda: first.response is not None, "the first call returns")
        assert first.body()["valid"] is True
        assert rows(app, "pending")[0][4] == validate_row("things:write", "a newer request")
        tg.cancel_scope.cancel()


async def test_a_second_press_does_not_approve_the_request_that_just_moved_under_the_cursor(
    daemon: RunningDaemon,
) -> None:
    """The double press: the second `a`, 120-250 ms after the first, lands on the request below."""
    family = await create_family(daemon, {"things:write": "prompt"}, "laptop")
    app = tui_for(daemon)
    wanted, unseen = AgentCall(), AgentCall()
    async with app.run_test(size=(120, 40)) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        tg.start_soon(unseen.run, daemon, family["access_token"], "things:write", "Cancel to-do 'Pay rent'")
        await wait_until(pilot, lambda: table(app, "pending").row_count == 1, "the older request is listed")
        tg.start_soon(wanted.run, daemon, family["access_token"], "things:write", "Add to-do 'Buy milk'")
        await wait_until(pilot, lambda: table(app, "pending").row_count == 2, "the newer request is listed")
        await pilot.press("up")  # the person moves to the newest request on top and reads it
        assert rows(app, "pending")[0][4] == validate_row("things:write", "Add to-do 'Buy milk'")
        settle(app)
        await pilot.press("a")
        await wait_until(pilot, lambda: wanted.response is not None, "the approved call returns")
        await wait_until(pilot, lambda: table(app, "pending").row_count == 1, "the older request moved up")
        assert rows(app, "pending")[0][4] == validate_row("things:write", "Cancel to-do 'Pay rent'")
        app.hub.monotonic.advance(0.18)  # type: ignore[attr-defined]  # the second press of a double press
        await pilot.press("a")
        await pilot.pause()
        listing = await call_once(daemon.socket_path, "approvals.list")
        assert [p["claim"] for p in listing["pending"]] == ["Cancel to-do 'Pay rent'"]
        assert unseen.response is None
        settle(app)  # once the person has had it in view, the same key approves it
        await pilot.press("a")
        await wait_until(pilot, lambda: unseen.response is not None, "the second call returns")
        assert unseen.body()["valid"] is True
