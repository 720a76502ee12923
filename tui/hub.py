"""Shared state of the running TUI and the signals screens subscribe to.

The App owns one ``Hub``; screens and widgets get it in their constructor, read from it, and subscribe to
its signals to redraw. Loading methods are coroutines meant to run in workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.dom import DOMNode
from textual.signal import Signal

from auth.admin_errors import AdminError
from tui.approvals_book import ApprovalBook
from tui.backend import AdminBackend

Clock = Callable[[], float]


class Hub:
    def __init__(self, owner: DOMNode, backend: AdminBackend, clock: Clock, monotonic: Clock = time.monotonic) -> None:
        self.backend = backend
        self.clock = clock
        self.monotonic = monotonic  # for "how long has this been on screen" (the approve guard)
        self.book = ApprovalBook()
        self.families: list[dict[str, Any]] = []
        self.known_scopes: list[dict[str, Any]] = []
        self.status: dict[str, Any] | None = None
        self.connected: bool | None = None  # None until the first attempt finishes
        self.unseen_approvals = 0
        self.consents: list[dict[str, Any]] = []  # OAuth sign-ins waiting for the person (consent.list)
        self.approvals_changed: Signal[None] = Signal(owner, "approvals_changed")
        self.families_changed: Signal[None] = Signal(owner, "families_changed")
        self.status_changed: Signal[None] = Signal(owner, "status_changed")
        self.audit_entry: Signal[dict[str, Any]] = Signal(owner, "audit_entry")
        self.connection_changed: Signal[bool] = Signal(owner, "connection_changed")
        self.consents_changed: Signal[None] = Signal(owner, "consents_changed")

    # --- derived ------------------------------------------------------------------------------

    @property
    def daemon_url(self) -> str | None:
        return None if self.status is None else self.status.get("url")

    def family_label(self, family_id: str | None) -> str:
        for family in self.families:
            if family.get("family_id") == family_id:
                return str(family.get("label") or family_id)
        return str(family_id or "")

    def resolve_families(self, text: str) -> list[str]:
        """Every family id a person means by ``text``: all families with that label (case-insensitive) —
        rotation gives the replacement the same label — or the families whose id starts with it."""
        wanted = text.strip().lower()
        labelled = [str(f["family_id"]) for f in self.families if str(f.get("label") or "").lower() == wanted]
        if labelled:
            return labelled
        return [str(f["family_id"]) for f in self.families if str(f["family_id"]).startswith(wanted)] or [wanted]

    def resolve_family(self, text: str) -> str:
        """A family id from what a person typed: a label (case-insensitive) or an id."""
        wanted = text.strip()
        for family in self.families:
            if str(family.get("label") or "").lower() == wanted.lower():
                return str(family["family_id"])
        return wanted

    # --- state changes ------------------------------------------------------------------------

    def set_connected(self, connected: bool) -> None:
        if self.connected == connected:
            return
        self.connected = connected
        if not connected:
            self.status = None
        self.connection_changed.publish(connected)
        self.status_changed.publish(None)

    def mark_seen(self) -> None:
        if self.unseen_approvals:
            self.unseen_approvals = 0
            self.status_changed.publish(None)

    def approval_decided(self, approval: dict[str, Any]) -> None:
        self.book.decided(approval)
        self.approvals_changed.publish(None)
        self.status_changed.publish(None)

    # --- loading (run in workers) -------------------------------------------------------------

    async def reload_families(self) -> None:
        self.families = list(await self.backend.call("families.list"))
        self.families_changed.publish(None)
        self.status_changed.publish(None)

    async def reload_status(self) -> None:
        self.status = dict(await self.backend.call("status"))
        self.status_changed.publish(None)

    async def reload_known_scopes(self) -> None:
        self.known_scopes = list(await self.backend.call("scopes.known"))

    async def reload_consents(self) -> None:
        try:
            listing = await self.backend.call("consent.list")
        except AdminError as exc:
            if exc.code != "unknown_method":  # a daemon without the authorization server has none
                raise
            listing = {"pending": []}
        self.consents = list(listing.get("pending") or [])
        self.consents_changed.publish(None)

    async def load_after_connect(self, pending: list[dict[str, Any]]) -> None:
        listing = await self.backend.call("approvals.list")
        self.book.reset(pending, list(listing.get("history") or []))
        await self.reload_status()
        await self.reload_known_scopes()
        await self.reload_consents()
        await self.reload_families()
        self.approvals_changed.publish(None)
