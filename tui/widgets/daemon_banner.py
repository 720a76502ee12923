"""Shown while the daemon is unreachable: what is wrong and how to start it. Hidden otherwise."""

from __future__ import annotations

from textual.widgets import Static

from tui.hub import Hub


def daemon_down_message(address: str) -> str:
    return (
        "[b]The agent-auth daemon is not running[/b] "
        f"(no answer on its admin socket {address}).\n"
        "Start it in another terminal with [b]agent-auth serve[/b] "
        "(or [b]agent-auth demo[/b] to try it with a sample family).\n"
        "Reconnecting automatically…"
    )


class DaemonBanner(Static):
    def __init__(self, hub: Hub) -> None:
        super().__init__(daemon_down_message(hub.backend.address), id="daemon-banner")
        self.hub = hub

    def on_mount(self) -> None:
        self.hub.connection_changed.subscribe(self, lambda _: self.sync())
        self.sync()

    def sync(self) -> None:
        self.display = self.hub.connected is False
