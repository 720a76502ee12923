"""Without a daemon the TUI says how to start one, and it reconnects when the daemon comes (back)."""

from __future__ import annotations

import pytest
from tui_daemon import DaemonFactory
from tui_support import create_family, rows, table, wait_until

from tui import AgentAuthApp, SocketBackend
from tui.screens.tokens import short_id
from tui.widgets.daemon_banner import DaemonBanner

pytestmark = pytest.mark.anyio


async def test_the_tui_says_how_to_start_a_missing_daemon_and_reconnects_when_it_starts(
    daemons: DaemonFactory,
) -> None:
    settings = daemons.settings()
    app = AgentAuthApp(SocketBackend(settings.admin_socket_path), reconnect_interval_seconds=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        banner = app.screen.query_one(DaemonBanner)
        await wait_until(pilot, lambda: app.hub.connected is False, "the TUI knows the daemon is down")
        assert banner.display
        message = str(banner.render())
        assert "agent-auth serve" in message and "agent-auth demo" in message
        assert str(settings.admin_socket_path) in message

        daemon = daemons.start()
        family = await create_family(daemon, {"things:read": "allow"}, "laptop")
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI reconnects")
        assert not banner.display
        await pilot.press("2")
        await wait_until(pilot, lambda: table(app, "families").row_count == 1, "the family is listed")
        assert rows(app, "families")[0][1] == short_id(family["family_id"])

        daemon.stop()
        await wait_until(pilot, lambda: app.hub.connected is False, "the TUI notices the daemon stopped")
        assert app.screen.query_one(DaemonBanner).display

        daemons.start()
        await wait_until(pilot, lambda: app.hub.connected is True, "the TUI reconnects to the restarted daemon")
