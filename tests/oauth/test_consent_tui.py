"""The consent card in the TUI, against a real daemon: the sign-in appears beside approvals with its matching
code; the person sets tiers, names nothing (the client's name is the default) and approves; the client gets a
family with exactly those tiers."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.mcp.mcp_test_support import ABSENT_SCOPE, ADMIN_SCOPE, READ_SCOPE, WRITE_SCOPE
from tests.oauth.oauth_support import Browser, RawClient, admin, query
from tests.support.daemon import RunningDaemon
from tui import AgentAuthApp, SocketBackend
from tui.screens.consent import ConsentScreen
from tui.widgets.scope_picker import ScopePicker

pytestmark = pytest.mark.anyio


async def wait_until(pilot: Pilot[Any], condition: Any, what: str) -> None:
    try:
        with anyio.fail_after(10):
            while not condition():
                await pilot.pause(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None


def consent_rows(app: AgentAuthApp) -> list[list[str]]:
    table = app.screen.query_one("#consents", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_the_person_approves_a_sign_in_in_the_tui_with_chosen_tiers(daemon: RunningDaemon) -> None:
    async with httpx2.AsyncClient() as http:
        client = RawClient(daemon, http)
        assert (await client.register(name="Claude Code")).status_code == 201
        browser = Browser(http)
        page = await browser.open(client.authorize_url(scope=f"{READ_SCOPE} {WRITE_SCOPE} {ADMIN_SCOPE}"))

        app = AgentAuthApp(SocketBackend(daemon.admin_socket), reconnect_interval_seconds=0.05)
        async with app.run_test(size=(130, 45)) as pilot:
            await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
            await wait_until(pilot, lambda: len(consent_rows(app)) == 1, "the sign-in is listed")
            row = consent_rows(app)[0]
            assert row[1] == page.matching_code and row[2] == "Claude Code" and row[3] == "127.0.0.1:53682"
            await pilot.press("c")
            await wait_until(pilot, lambda: isinstance(app.screen, ConsentScreen), "the consent card opens")
            assert page.matching_code in str(app.screen.query_one("#matching", Static).render())
            picker = app.screen.query_one(ScopePicker)
            assert {s: (c.tier, c.included) for s, c in picker.choices.items()} == {
                READ_SCOPE: ("allow", True),
                WRITE_SCOPE: ("prompt", True),
                ADMIN_SCOPE: ("prompt", True),
                ABSENT_SCOPE: ("prompt", False),  # not asked for: listed, left out
            }
            picker.move_cursor(row=picker.get_row_index(ADMIN_SCOPE))
            await pilot.press("d")  # the person keeps the destructive scope at deny
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: not isinstance(app.screen, ConsentScreen), "the card closes")
            await wait_until(pilot, lambda: app.hub.consents == [], "the sign-in is answered")

        back = await browser.come_back(page)
        assert back.status_code == 302
        tokens = await client.token(query(back.headers["location"])["code"])
        assert tokens.status_code == 200
        families = await admin(daemon, "families.list")
        assert [(f["label"], f["scopes"]) for f in families] == [
            ("Claude Code", {READ_SCOPE: "allow", WRITE_SCOPE: "prompt", ADMIN_SCOPE: "deny"})
        ]


async def test_denying_in_the_tui_sends_access_denied(daemon: RunningDaemon) -> None:
    async with httpx2.AsyncClient() as http:
        client = RawClient(daemon, http)
        assert (await client.register()).status_code == 201
        browser = Browser(http)
        page = await browser.open(client.authorize_url())
        app = AgentAuthApp(SocketBackend(daemon.admin_socket), reconnect_interval_seconds=0.05)
        async with app.run_test(size=(130, 45)) as pilot:
            await wait_until(pilot, lambda: len(consent_rows(app)) == 1, "the sign-in is listed")
            await pilot.press("c")
            await wait_until(pilot, lambda: isinstance(app.screen, ConsentScreen), "the consent card opens")
            await pilot.press("ctrl+d")
            await wait_until(pilot, lambda: app.hub.consents == [], "the sign-in is answered")
        back = await browser.come_back(page)
        assert query(back.headers["location"])["error"] == "access_denied"
