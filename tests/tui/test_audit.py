"""The Audit screen against a real daemon: live tail, filters, chain verification."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select
from tui_daemon import RunningDaemon
from tui_support import agent_validate, create_family, rows, table, tui_for, wait_until

pytestmark = pytest.mark.anyio


async def test_audit_shows_new_decisions_live_and_the_chain_is_verified(daemon: RunningDaemon) -> None:
    family = await create_family(daemon, {"things:read": "allow"}, "laptop")
    app = tui_for(daemon)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        await pilot.press("3")
        await wait_until(pilot, lambda: table(app, "audit").row_count >= 1, "the token.create entry is listed")
        before = table(app, "audit").row_count
        await agent_validate(daemon, family["access_token"], "things:read", "list today")
        await wait_until(pilot, lambda: table(app, "audit").row_count == before + 1, "the decision appears")
        _time, event, outcome, label, scope, operation, _detail = rows(app, "audit")[0]
        assert (event, outcome, label, scope, operation) == ("decision", "allow", "laptop", "things:read", "validate")
        chain = app.screen.query_one("#chain-status")
        await wait_until(pilot, lambda: "intact" in str(chain.render()), "the chain is verified")


async def test_audit_filters_by_outcome_family_and_operation(daemon: RunningDaemon) -> None:
    reader = await create_family(daemon, {"things:read": "allow"}, "reader")
    writer = await create_family(daemon, {"things:write": "allow"}, "writer")
    await agent_validate(daemon, reader["access_token"], "things:read", "ok")
    await agent_validate(daemon, reader["access_token"], "gpg:sign", "not granted")
    await agent_validate(daemon, writer["access_token"], "things:write", "ok")
    app = tui_for(daemon)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        await pilot.press("3")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 5, "all entries are listed")
        app.screen.query_one("#filter-outcome", Select).value = "deny"
        await wait_until(pilot, lambda: table(app, "audit").row_count == 1, "only the denial is listed")
        assert rows(app, "audit")[0][2:5] == ["deny", "reader", "gpg:sign"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 5, "the filters are cleared")
        await pilot.press("slash", *"writer")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 2, "only the writer's entries are listed")
        assert {row[3] for row in rows(app, "audit")} == {"writer"}
        app.screen.query_one("#filter-operation", Input).focus()
        await pilot.press(*"validate")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 1, "only the writer's decision is listed")
        assert rows(app, "audit")[0][1:6] == ["decision", "allow", "writer", "things:write", "validate"]
        await agent_validate(daemon, reader["access_token"], "things:read", "filtered out")
        await agent_validate(daemon, writer["access_token"], "things:write", "shown live")
        await wait_until(pilot, lambda: table(app, "audit").row_count == 2, "the matching live entry is added")
        assert {row[3] for row in rows(app, "audit")} == {"writer"}
