"""The Tokens screen against a real daemon: create (tokens shown once), change tiers, revoke, rotate."""

from __future__ import annotations

import pytest
from textual.widgets import Input
from tui_daemon import RunningDaemon
from tui_support import agent_validate, create_family, rows, table, tui_for, wait_until

from auth.admin_client import call_once
from tui.screens.confirm import ConfirmScreen
from tui.screens.create_family import CreateFamilyScreen
from tui.screens.show_tokens import ShowTokensScreen
from tui.screens.tokens import TokensScreen, short_id

pytestmark = pytest.mark.anyio


async def test_creating_a_family_shows_its_tokens_once_and_they_work(daemon: RunningDaemon) -> None:
    app = tui_for(daemon)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        await pilot.press("2", "n")
        await wait_until(pilot, lambda: isinstance(app.screen, CreateFamilyScreen), "the form is open")
        await pilot.press(*"laptop")
        app.screen.query_one("#extra-scopes", Input).focus()
        await pilot.press(*"things:read=allow, things:write")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ShowTokensScreen), "the tokens are shown")
        shown = app.screen
        assert isinstance(shown, ShowTokensScreen)
        issued = shown.issued
        assert issued["access_token"].startswith("aa_") and issued["refresh_token"].startswith("rt_")
        await pilot.press("c")
        assert app.clipboard == issued["access_token"]
        await pilot.press("l")
        assert app.clipboard == f"agent-auth login --url {daemon.url}"
        await pilot.press("enter")
        assert isinstance(app.screen, TokensScreen)
        await wait_until(pilot, lambda: table(app, "families").row_count == 1, "the family is listed")
        label, family_id, scopes, *_rest, status = rows(app, "families")[0]
        assert (label, family_id, status) == ("laptop", short_id(issued["family_id"]), "active")
        assert scopes == "things:read=allow  things:write=prompt"
    response = await agent_validate(daemon, issued["access_token"], "things:read", "list today")
    assert response.json() == {"valid": True, "tier": "allow"}


async def test_the_create_form_refuses_a_family_without_scopes(daemon: RunningDaemon) -> None:
    app = tui_for(daemon)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        await pilot.press("2", "n")
        await wait_until(pilot, lambda: isinstance(app.screen, CreateFamilyScreen), "the form is open")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, CreateFamilyScreen)
        assert "at least one scope" in str(app.screen.query_one("#form-error").render())
    assert await call_once(daemon.socket_path, "families.list") == []


async def test_changing_a_tier_in_the_tui_applies_to_the_next_call(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"things:read": "allow"}, "laptop")
    assert (await agent_validate(daemon, family["access_token"], "things:read", "x")).json()["valid"] is True
    app = tui_for(daemon)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        await pilot.press("2")
        await wait_until(pilot, lambda: table(app, "families").row_count == 1, "the family is listed")
        await pilot.press("e", "d", "enter")
        await wait_until(pilot, lambda: "things:read=deny" in rows(app, "families")[0][2], "the tier changed")
    response = await agent_validate(daemon, family["access_token"], "things:read", "x")
    assert response.status_code == 403 and response.json()["error"] == "scope_denied"


async def test_revoking_a_family_asks_first_and_then_its_token_stops_working(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"things:read": "allow"}, "laptop")
    app = tui_for(daemon)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        await pilot.press("2")
        await wait_until(pilot, lambda: table(app, "families").row_count == 1, "the family is listed")
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation is asked")
        await pilot.press("n")
        assert isinstance(app.screen, TokensScreen)
        assert (await agent_validate(daemon, family["access_token"], "things:read", "x")).json()["valid"] is True
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation is asked")
        await pilot.press("y")
        await wait_until(pilot, lambda: rows(app, "families")[0][5] == "revoked", "the family shows as revoked")
    response = await agent_validate(daemon, family["access_token"], "things:read", "x")
    assert response.status_code == 401 and response.json()["error"] in ("token_revoked", "family_revoked")


async def test_rotating_a_family_shows_new_tokens_and_retires_the_old_ones(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"things:read": "allow"}, "laptop")
    app = tui_for(daemon)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        await pilot.press("2")
        await wait_until(pilot, lambda: table(app, "families").row_count == 1, "the family is listed")
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation is asked")
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, ShowTokensScreen), "the new tokens are shown")
        assert isinstance(app.screen, ShowTokensScreen)
        rotated = app.screen.issued
        await pilot.press("enter")
        await wait_until(pilot, lambda: table(app, "families").row_count == 2, "both families are listed")
        statuses = {row[1]: row[5] for row in rows(app, "families")}
        assert statuses == {short_id(rotated["family_id"]): "active", short_id(family["family_id"]): "revoked"}
    assert rotated["family_id"] != family["family_id"]
    old = await agent_validate(daemon, family["access_token"], "things:read", "x")
    assert old.status_code == 401
    new = await agent_validate(daemon, rotated["access_token"], "things:read", "x")
    assert new.json()["valid"] is True
