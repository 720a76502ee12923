"""A countdown to an approval's timeout, redrawn every second from the injected clock."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.format import remaining
from tui.hub import Clock

BAR_WIDTH = 20


class Countdown(Static):
    expires_at: reactive[float | None] = reactive(None)

    def __init__(self, clock: Clock, *, total_seconds: float = 60.0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.total_seconds = total_seconds

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh_countdown)

    def watch_expires_at(self) -> None:
        self.refresh_countdown()

    def start(self, expires_at: float | None, total_seconds: float) -> None:
        self.total_seconds = max(1.0, total_seconds)
        self.expires_at = expires_at

    def refresh_countdown(self) -> None:
        if self.expires_at is None:
            self.update("")
            return
        left = max(0.0, self.expires_at - self.clock())
        filled = round(BAR_WIDTH * min(1.0, left / self.total_seconds))
        style = "red" if left < 10 else "yellow" if left < 30 else "green"
        text = Text("⏱ ")
        text.append(remaining(self.expires_at, self.clock()), style=f"bold {style}")
        text.append(" left  ")
        text.append("█" * filled, style=style)
        text.append("░" * (BAR_WIDTH - filled), style="dim")
        self.update(text)
