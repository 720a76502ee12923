"""OAuth sign-ins waiting for the person, beside the pending approvals: matching code, client, where it returns.

Hidden while nothing waits, so the Approvals screen looks as before. ``c`` on the Approvals screen opens the
consent card of the highlighted sign-in.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui.format import plain, remaining
from tui.hub import Hub


class ConsentPanel(Vertical):
    def __init__(self, hub: Hub) -> None:
        super().__init__(id="consent-box")
        self.hub = hub
        self.display = False  # hidden from the start, so it never takes the focus from the approvals table

    def compose(self) -> ComposeResult:
        yield Static("", id="consent-title", classes="section-title")
        table: DataTable[Any] = DataTable(id="consents", cursor_type="row", zebra_stripes=True)
        table.can_focus = False  # focusable only while shown: the approvals table keeps the first focus
        yield table

    def on_mount(self) -> None:
        table = self.query_one("#consents", DataTable)
        for key, label in (("left", "left"), ("code", "code"), ("client", "client"), ("returns", "returns to"),
                           ("scopes", "scopes asked for")):  # fmt: skip
            table.add_column(label, key=key)
        self.hub.consents_changed.subscribe(self, lambda _: self.redraw())
        self.set_interval(1.0, self.redraw)
        self.redraw()

    def redraw(self) -> None:
        table = self.query_one("#consents", DataTable)
        keep = self.selected_id()
        now = self.hub.clock()
        consents = [c for c in self.hub.consents if float(c["expires_at"]) > now]
        self.display = table.can_focus = bool(consents)
        table.clear()
        for consent in consents:
            host = plain(consent.get("redirect_host"))
            if not consent.get("redirect_is_loopback"):
                host.append(" (remote)", style="bold red")
            table.add_row(
                remaining(float(consent["expires_at"]), now),
                Text(str(consent["matching_code"]), style="bold reverse"),
                plain(consent.get("client_name"), "bold"),
                host,
                plain(" ".join(consent.get("scopes") or [])),
                key=str(consent["consent_id"]),
            )
        if keep is not None and keep in {str(c["consent_id"]) for c in consents}:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        self.query_one("#consent-title", Static).update(
            f"Sign-in requests ({len(consents)}) — c to review; approve only if the code matches the browser page"
        )

    def selected_id(self) -> str | None:
        table = self.query_one("#consents", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def current(self) -> dict[str, Any] | None:
        wanted = self.selected_id()
        for consent in self.hub.consents:
            if str(consent["consent_id"]) == wanted:
                return consent
        return None
