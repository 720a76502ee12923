"""The bar at the top of every screen: screen tabs, daemon address, health, counts, new-approval badge."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.format import duration
from tui.hub import Hub

TABS = (("approvals", "1 Approvals"), ("tokens", "2 Tokens"), ("audit", "3 Audit"))


class StatusBar(Static):
    def __init__(self, hub: Hub, active: str) -> None:
        super().__init__(id="status-bar")
        self.hub = hub
        self.active = active

    def on_mount(self) -> None:
        self.hub.status_changed.subscribe(self, lambda _: self.redraw())
        self.redraw()

    def redraw(self) -> None:
        self.update(self.render_status())

    def render_status(self) -> Text:
        hub = self.hub
        text = Text()
        for mode, label in TABS:
            style = "bold reverse" if mode == self.active else "dim"
            text.append(f" {label} ", style=style)
            text.append(" ")
        # Unseen requests that are still pending: one withdrawn or timed out is no longer news.
        badge = min(hub.unseen_approvals, len(hub.book))
        if badge and self.active != "approvals":
            text.append(f" ⚑ {badge} new approval{'s' if badge != 1 else ''} ", style="bold white on red")
            text.append(" ")
        text.append("│ ", style="dim")
        if hub.connected is None:
            text.append("connecting…", style="yellow")
        elif not hub.connected:
            text.append("✗ daemon not running", style="bold red")
        else:
            # Most important first: the bar is cut at the terminal's width (80 columns is common).
            pending = len(hub.book)
            text.append(f"{pending} pending", style="bold yellow" if pending else "")
            status = hub.status or {}
            text.append(" │ ", style="dim")
            text.append("● up", style="bold green")
            if status.get("uptime_seconds") is not None:
                text.append(f" {duration(float(status['uptime_seconds']))}", style="green")
            text.append(f" {status.get('url') or '?'}")
            active = sum(1 for f in hub.families if f.get("status") == "active")
            text.append(f" │ {active} active families", style="")
        return text
