"""``agent-auth tui``: the App. Thin: it owns the Hub, follows the daemon's event stream, switches screens.

Everything the TUI knows comes from the admin backend passed in; the clock is passed in too, so
countdowns and "5m ago" are deterministic under test.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import anyio
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen

from auth.admin_client import AdminError
from auth.untrusted import neutralise
from tui.backend import AdminBackend
from tui.hub import Clock, Hub
from tui.screens.approvals import ApprovalsScreen
from tui.screens.audit import AuditScreen
from tui.screens.help import HelpScreen
from tui.screens.tokens import TokensScreen

RECONNECT_INTERVAL_SECONDS = 1.0
STATUS_INTERVAL_SECONDS = 5.0
FAMILIES_REFRESH_SECONDS = 1.0


class AgentAuthApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "agent-auth"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show('approvals')", "Approvals"),
        Binding("2", "show('tokens')", "Tokens"),
        Binding("3", "show('audit')", "Audit"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        backend: AdminBackend,
        *,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        reconnect_interval_seconds: float = RECONNECT_INTERVAL_SECONDS,
        status_interval_seconds: float = STATUS_INTERVAL_SECONDS,
    ) -> None:
        super().__init__()
        self.hub = Hub(self, backend, clock, monotonic)
        self.reconnect_interval_seconds = reconnect_interval_seconds
        self.status_interval_seconds = status_interval_seconds
        self.bells = 0
        self._families_stale = False

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast is shown as data: messages can quote what an agent sent (names, summaries)."""
        super().notify(neutralise(message), title=neutralise(title), severity=severity, timeout=timeout, markup=False)

    def on_mount(self) -> None:
        self.add_mode("approvals", lambda: ApprovalsScreen(self.hub))
        self.add_mode("tokens", lambda: TokensScreen(self.hub))
        self.add_mode("audit", lambda: AuditScreen(self.hub))
        self.switch_mode("approvals")
        self.run_worker(self.follow_daemon(), name="follow-daemon", group="daemon", exclusive=True)
        self.set_interval(self.status_interval_seconds, self.poll_status)
        self.set_interval(FAMILIES_REFRESH_SECONDS, self.refresh_stale_families)

    # --- navigation ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Finish the dialog first: switching screens under a modal would hide it.
        return not (action in ("show", "help") and isinstance(self.screen, ModalScreen))

    def action_show(self, mode: str) -> None:
        self.switch_mode(mode)
        if mode == "approvals":
            self.hub.mark_seen()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def ring(self) -> None:
        self.bells += 1
        self.bell()

    # --- the daemon ---------------------------------------------------------------------------

    async def follow_daemon(self) -> None:
        """Subscribe to the daemon's events; when it goes away, say so and keep trying to reconnect."""
        hub = self.hub
        while True:
            try:
                async with hub.backend.subscribe(["approvals", "audit"]) as subscription:
                    await hub.load_after_connect(subscription.pending)
                    hub.set_connected(True)
                    async for event in subscription.events():
                        self.handle_event(event)
                raise AdminError("daemon_unavailable", "the event stream ended")
            except (AdminError, OSError):
                hub.set_connected(False)
            await anyio.sleep(self.reconnect_interval_seconds)

    def handle_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        data = event.get("data") or {}
        hub = self.hub
        if kind == "approval.created":
            if hub.book.created(data) and self.current_mode != "approvals":
                hub.unseen_approvals += 1
                self.ring()
            hub.approvals_changed.publish(None)
            hub.status_changed.publish(None)
        elif kind == "approval.updated":
            hub.book.created(data)  # the live count of identical calls waiting on a request
            hub.approvals_changed.publish(None)
        elif kind == "approval.decided":
            hub.approval_decided(data)
        elif kind == "audit":
            hub.audit_entry.publish(data)
            if str(data.get("event", "")).startswith("oauth.consent"):
                self.run_worker(self.reload_consents(data.get("event") == "oauth.consent_requested"), group="consents")
            if str(data.get("event", "")).startswith("token.") or data.get("event") == "decision":
                self._families_stale = True

    async def reload_consents(self, new: bool) -> None:
        try:
            await self.hub.reload_consents()
        except AdminError:
            return
        if new and self.current_mode != "approvals":
            self.hub.unseen_approvals += 1
            self.ring()

    async def poll_status(self) -> None:
        if not self.hub.connected:
            return
        try:
            await self.hub.reload_status()
        except AdminError:
            return  # the event stream notices a dead daemon and reports it

    async def refresh_stale_families(self) -> None:
        if not self._families_stale or not self.hub.connected:
            return
        self._families_stale = False
        try:
            await self.hub.reload_families()
        except AdminError:
            self._families_stale = True
