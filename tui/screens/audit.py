"""Audit: a live tail of decisions and token operations, filters, and the HMAC chain's status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Select, Static

from auth.admin_client import AdminError
from tui.format import audit_time, plain
from tui.hub import Hub
from tui.widgets.daemon_banner import DaemonBanner
from tui.widgets.status_bar import StatusBar

TAIL_LIMIT = 500
OUTCOME_STYLES = {"allow": "green", "deny": "red"}


def entry_outcome(entry: Mapping[str, Any]) -> str:
    if entry.get("outcome"):
        return str(entry["outcome"])
    if entry.get("event") == "approval.decided":
        return "allow" if entry.get("approved") else "deny"
    return ""


def entry_detail(entry: Mapping[str, Any]) -> str:
    parts = [str(entry[k]) for k in ("code", "reason", "approval", "summary", "claim", "result") if entry.get(k)]
    if entry.get("new_family_id"):
        parts.append(f"→ {entry['new_family_id']}")
    return " · ".join(parts)


def matches(entry: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """The same test the daemon applies to ``audit.tail`` filters (exact values; a list matches any)."""
    return all(
        entry.get("family_id") in value if key == "family_ids" else entry.get(key) == value
        for key, value in filters.items()
    )


class AuditScreen(Screen[None]):
    AUTO_FOCUS = "#audit"  # keys 1/2/3, v, / work at once; typing goes to a filter only after /
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "verify", "Verify chain"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "clear_filters", "Clear filters"),
    ]

    def __init__(self, hub: Hub) -> None:
        super().__init__(name="audit")
        self.hub = hub
        self.entries: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield StatusBar(self.hub, "audit")
        yield DaemonBanner(self.hub)
        with Horizontal(id="audit-filters"):
            yield Input(placeholder="family (label or id)", id="filter-family")
            yield Select(
                [("allowed", "allow"), ("denied", "deny")], prompt="any outcome", id="filter-outcome", allow_blank=True
            )
            yield Input(placeholder="tool / operation", id="filter-operation")
        yield Static("chain: not checked yet", id="chain-status")
        yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#audit", DataTable)
        table.add_column("time (UTC)", key="time")
        for key in ("event", "outcome", "family", "scope", "operation", "detail"):
            table.add_column(key, key=key)
        self.hub.audit_entry.subscribe(self, self.live_entry)
        self.hub.connection_changed.subscribe(self, self.connection_changed)
        if self.hub.connected:
            self.reload()
            self.verify()

    def connection_changed(self, connected: bool) -> None:
        if connected:
            self.reload()
            self.verify()

    # --- filters ------------------------------------------------------------------------------

    def filters(self) -> dict[str, Any]:
        filters: dict[str, Any] = {}
        family = self.query_one("#filter-family", Input).value.strip()
        if family:
            filters["family_ids"] = self.hub.resolve_families(family)
        outcome = self.query_one("#filter-outcome", Select).value
        if isinstance(outcome, str):
            filters["outcome"] = outcome
        operation = self.query_one("#filter-operation", Input).value.strip()
        if operation:
            filters["target"] = operation
        return filters

    @on(Input.Changed)
    @on(Select.Changed)
    def filters_changed(self) -> None:
        self.reload()

    def action_focus_filter(self) -> None:
        self.query_one("#filter-family", Input).focus()

    def action_clear_filters(self) -> None:
        self.query_one("#filter-family", Input).value = ""
        self.query_one("#filter-operation", Input).value = ""
        self.query_one("#filter-outcome", Select).clear()
        self.query_one("#audit", DataTable).focus()

    # --- entries ------------------------------------------------------------------------------

    def row(self, entry: Mapping[str, Any]) -> tuple[str | Text, ...]:
        outcome = entry_outcome(entry)
        family_id = entry.get("family_id")
        return (
            audit_time(entry),
            plain(entry.get("event")),
            Text(outcome, style=OUTCOME_STYLES.get(outcome, "")),
            plain(self.hub.family_label(str(family_id)) if family_id else ""),
            plain(entry.get("scope")),
            plain(entry.get("target") or entry.get("operation")),
            plain(entry_detail(entry)),
        )

    def redraw(self) -> None:
        table = self.query_one("#audit", DataTable)
        table.clear()
        for entry in self.entries:
            table.add_row(*self.row(entry), key=str(entry.get("seq")))

    def live_entry(self, entry: dict[str, Any]) -> None:
        if not matches(entry, self.filters()):
            return
        self.entries.insert(0, entry)
        del self.entries[TAIL_LIMIT:]
        # Newest on top; DataTable only appends, so redraw (cheap at TAIL_LIMIT rows).
        self.redraw()

    @work(group="audit-tail", exclusive=True)
    async def reload(self) -> None:
        filters = self.filters()
        try:
            entries = await self.hub.backend.call("audit.tail", limit=TAIL_LIMIT, **filters)
        except AdminError as exc:
            self.notify(exc.message, title=exc.code, severity="error")
            return
        self.entries = list(entries)
        self.redraw()

    def action_verify(self) -> None:
        self.verify()

    @work(group="audit-verify", exclusive=True)
    async def verify(self) -> None:
        chain = self.query_one("#chain-status", Static)
        chain.update("chain: checking…")
        try:
            report = await self.hub.backend.call("audit.verify")
        except AdminError as exc:
            chain.update(f"[red]chain: cannot check ({exc.code})[/red]")
            return
        chain.update(chain_text(report))


def chain_text(report: Mapping[str, Any]) -> Text:
    text = Text("chain: ")
    if report.get("ok"):
        text.append(f"✓ intact, {report.get('entries')} entries verified", style="bold green")
    else:
        text.append(
            f"✗ broken at line {report.get('first_bad_line')}: {report.get('reason')}",
            style="bold red",
        )
    for note in report.get("notes") or []:
        text.append(f"  ({note})", style="dim")
    return text
