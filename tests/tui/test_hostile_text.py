"""No byte an agent chose reaches the terminal raw: every screen rendered with hostile data in every field.

The screen text is what Textual's compositor hands to the terminal driver, line by line; it must hold no
control, escape, bidi or zero-width character, and the hostile text must still be visible (``␛[2J``), not
dropped. Markup in data must show as text.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from fixture_backend import AUDIT, FAMILIES, HISTORY, PENDING, FixtureBackend
from tui_daemon import RunningDaemon
from tui_support import agent_validate, create_family, table, tui_for, wait_until

from tests.support.hostile_text import HOSTILE, raw_controls
from tui import AgentAuthApp

pytestmark = pytest.mark.anyio


def screen_text(app: AgentAuthApp) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def hostile_backend() -> FixtureBackend:
    """The canned backend with agent-reachable fields replaced by hostile text, as raw as a stored line could be."""
    backend = FixtureBackend()
    pending = [{**a, "summary": HOSTILE, "operation": HOSTILE[:40], "label": HOSTILE[:30]} for a in PENDING]
    history = [{**a, "summary": HOSTILE, "operation": HOSTILE[:40]} for a in HISTORY]
    audit = [{**e, "summary": HOSTILE, "operation": HOSTILE[:60], "reason": HOSTILE[10:70]} for e in AUDIT]
    families = [{**f, "label": HOSTILE[:30], "revoke_reason": HOSTILE} for f in FAMILIES]
    backend.answers.update(
        {
            "approvals.list": {"pending": pending, "history": history, "grants": [], "timeout_seconds": 60},
            "audit.tail": audit,
            "families.list": families,
            "consent.list": {
                "pending": [
                    {
                        "consent_id": "c1",
                        "matching_code": "ABCD-1234",
                        "client_name": HOSTILE[:60],  # a registering OAuth client names itself
                        "redirect_host": HOSTILE[:20],
                        "redirect_is_loopback": True,
                        "scopes": ["things:read"],
                        "scope_choices": [],
                        "expires_at": 4_000_000_000.0,
                    }
                ]
            },
        }
    )
    return backend


async def test_every_screen_shows_hostile_fields_visibly_and_without_raw_controls() -> None:
    app = AgentAuthApp(hostile_backend(), reconnect_interval_seconds=3600)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.hub.connected is True and bool(app.hub.families), "connected")
        for key, table_id in (("1", "pending"), ("2", "families"), ("3", "audit")):
            await pilot.press(key)
            await wait_until(pilot, lambda t=table_id: table(app, t).row_count > 0, f"{table_id} has rows")
            await pilot.pause()
            shown = screen_text(app)
            assert raw_controls(shown) == [], (table_id, raw_controls(shown)[:5])
            assert "␛" in shown, table_id  # shown, not dropped
        await pilot.press("2")
        await pilot.pause()
        assert "[bold red]markup" in screen_text(app) or "␛[2J" in screen_text(app)


async def test_an_agents_hostile_description_reaches_the_approvals_and_audit_screens_as_data(
    daemon: RunningDaemon,
) -> None:
    family = await create_family(daemon, {"things:write": "prompt"}, "laptop")
    app = tui_for(daemon)
    result: dict[str, Any] = {}

    async def agent() -> None:
        result["response"] = await agent_validate(daemon, family["access_token"], "things:write", HOSTILE)

    async with app.run_test(size=(200, 50)) as pilot, anyio.create_task_group() as tg:
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI is connected")
        tg.start_soon(agent)
        await wait_until(pilot, lambda: table(app, "pending").row_count == 1, "the request is listed")
        await pilot.pause()
        shown = screen_text(app)
        assert raw_controls(shown) == []
        assert "␛[2J" in shown and "[bold red]markup" in shown
        await pilot.press("d")
        await wait_until(pilot, lambda: "response" in result, "the agent's call returns")
        await pilot.press("3")
        await wait_until(pilot, lambda: table(app, "audit").row_count >= 2, "the audit lists the call")
        await pilot.pause()
        shown = screen_text(app)
        assert raw_controls(shown) == []
        assert "␛]0;pwned␇" in shown
