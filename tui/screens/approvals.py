"""Approvals: pending prompt-tier requests (newest on top) with countdowns, decisions, recent history.

The cursor follows the request it is on, not the row number, so a new request arriving on top never
turns "approve" into approving something else. A decision binds to what the person saw: the approve keys
act on the id of the request under the cursor, and only once it has stayed there, at the same row, for
``SETTLE_SECONDS`` — a request that just appeared or moved under the cursor (the one below a request just
decided, say) cannot be approved by a key press already on its way. While a decision is being sent, further
presses are dropped, so queued key repeats never carry over to the next request.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from auth.admin_client import AdminError
from auth.untrusted import neutralise
from tui.format import ago, markup_safe, outcome_text, plain, remaining
from tui.hub import Hub
from tui.screens.consent import ConsentScreen
from tui.screens.duration import DurationScreen, minutes_label
from tui.widgets.consent_panel import ConsentPanel
from tui.widgets.countdown import Countdown
from tui.widgets.daemon_banner import DaemonBanner
from tui.widgets.status_bar import StatusBar

DECIDED_BY = "tui"  # the TUI's own word for itself: the daemon records it as a claim only
SETTLE_SECONDS = 0.5


def what_will_happen(approval: dict[str, Any]) -> str:
    """The server's headline, and the caller's own words apart and marked as theirs."""
    headline = str(approval.get("summary") or "")
    claim = approval.get("claim")
    return f"{headline} — caller says: {claim}" if claim else headline


class ApprovalsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve_once", "Approve once"),
        Binding("t", "approve_timed", "Approve for…"),
        Binding("d", "deny", "Deny"),
        Binding("r", "revoke_grant", "End grant"),
        Binding("c", "consent", "Sign-in…", show=False),  # the sign-in panel names the key when it shows
    ]

    def __init__(self, hub: Hub) -> None:
        super().__init__(name="approvals")
        self.hub = hub
        self._shown: tuple[str | None, int | None] = (None, None)  # the request under the cursor, and its row
        self._shown_since = float("-inf")
        self.grants: list[dict[str, Any]] = []
        self._deciding = False

    def compose(self) -> ComposeResult:
        yield StatusBar(self.hub, "approvals")
        yield DaemonBanner(self.hub)
        yield ConsentPanel(self.hub)
        with Vertical(id="pending-box"):
            yield Static("Pending approvals", id="pending-title", classes="section-title")
            yield DataTable(id="pending", cursor_type="row", zebra_stripes=True)
        with Vertical(id="detail-box"):
            yield Static("", id="detail")
            yield Countdown(self.hub.clock, id="countdown")
        with Vertical(id="grants-box"):
            yield Static("Live grants (r ends the selected one)", id="grants-title", classes="section-title")
            yield DataTable(id="grants", cursor_type="row", zebra_stripes=True)
        with Vertical(id="history-box"):
            yield Static("Recent decisions", classes="section-title")
            yield DataTable(id="history", cursor_type="none", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        pending = self.query_one("#pending", DataTable)
        for key, label in (
            ("left", "left"),
            ("family", "family"),
            ("operation", "operation"),
            ("scope", "scope"),
            ("summary", "what will happen"),
        ):
            pending.add_column(label, key=key)
        history = self.query_one("#history", DataTable)
        for key in ("when", "family", "operation", "scope", "outcome", "by"):
            history.add_column(key, key=key)
        grants = self.query_one("#grants", DataTable)
        for key in ("family", "scope", "covers", "left"):
            grants.add_column(key, key=key)
        self.hub.approvals_changed.subscribe(self, lambda _: self.redraw())
        self.set_interval(1.0, self.tick)
        self.redraw()

    def on_screen_resume(self) -> None:
        self.hub.mark_seen()

    # --- drawing ------------------------------------------------------------------------------

    def selected_id(self) -> str | None:
        table = self.query_one("#pending", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def redraw(self) -> None:
        table = self.query_one("#pending", DataTable)
        keep = self.selected_id()
        now = self.hub.clock()
        pending = self.hub.book.pending()
        table.clear()
        for approval in pending:
            table.add_row(
                remaining(float(approval["expires_at"]), now),
                plain(approval.get("label") or approval["family_id"], "bold"),
                plain(approval.get("operation")),
                plain(approval.get("scope"), "yellow"),
                plain(what_will_happen(approval)),
                key=str(approval["id"]),
            )
        if keep is not None and keep in {str(a["id"]) for a in pending}:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        count = len(pending)
        title = f"Pending approvals ({count})" if count else "Pending approvals — nothing is waiting"
        self.query_one("#pending-title", Static).update(title)
        self.redraw_history(now)
        self.show_detail()
        self.note_cursor()

    def note_cursor(self) -> None:
        """Remember when the request under the cursor (or its row) last changed: the approve guard's clock."""
        table = self.query_one("#pending", DataTable)
        approval_id = self.selected_id()
        shown = (approval_id, table.cursor_row if approval_id is not None else None)
        if shown != self._shown:
            self._shown = shown
            self._shown_since = self.hub.monotonic()

    def redraw_history(self, now: float) -> None:
        history = self.query_one("#history", DataTable)
        history.clear()
        for approval in self.hub.book.history:
            decision = approval.get("decision") or {}
            history.add_row(
                ago(approval.get("decided_at") or approval.get("expires_at"), now),
                plain(approval.get("label") or approval.get("family_id")),
                plain(approval.get("operation")),
                plain(approval.get("scope")),
                outcome_text(approval),
                plain(decision.get("decided_by")),
            )

    def show_detail(self) -> None:
        approval = self.current()
        detail = self.query_one("#detail", Static)
        countdown = self.query_one(Countdown)
        if approval is None:
            detail.update("[dim]Requests that need your decision appear here within a second.[/dim]")
            countdown.start(None, 60)
            return
        text = Text()
        text.append(neutralise(str(approval.get("label") or approval["family_id"])), style="bold")
        text.append(f" ({neutralise(str(approval['family_id']))}) wants ")
        text.append(neutralise(str(approval.get("operation") or "?")), style="bold")
        text.append(" with scope ")
        text.append(neutralise(str(approval.get("scope") or "?")), style="bold yellow")
        text.append("\n")
        text.append(neutralise(str(approval.get("summary") or "")), style="bold")
        waiters = int(approval.get("waiters") or 0)
        if waiters > 1:
            text.append(
                f"\n{waiters} identical calls (x{waiters}) wait on this decision; approving runs all {waiters}",
                style="bold red",
            )
        for row in approval.get("details") or []:
            # Labelled rows: a quote or a newline in the data cannot fake the structure around it.
            text.append("\n")
            text.append(f"{neutralise(str(row.get('label')))}: ", style="bold cyan")
            text.append(neutralise(str(row.get("value")), multiline=True))
            if row.get("truncated"):
                text.append(f" … [{int(row['truncated'])} more characters not shown]", style="bold red")
        claim = approval.get("claim")
        if claim:
            text.append("\nThe caller says (its own words, not checked by agent-auth): ", style="italic yellow")
            text.append(neutralise(str(claim)), style="italic")
        detail.update(text)
        total = float(approval["expires_at"]) - float(approval.get("requested_at") or approval["expires_at"])
        countdown.start(float(approval["expires_at"]), total)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "pending":
            self.show_detail()
            self.note_cursor()

    def tick(self) -> None:
        table = self.query_one("#pending", DataTable)
        now = self.hub.clock()
        for approval in self.hub.book.pending():
            key = str(approval["id"])
            if key in table.rows:
                table.update_cell(key, "left", remaining(float(approval["expires_at"]), now))
        # "5s ago" must keep moving while nothing new happens.
        history = self.query_one("#history", DataTable)
        for row, approval in enumerate(list(self.hub.book.history)[: history.row_count]):
            when = ago(approval.get("decided_at") or approval.get("expires_at"), now)
            history.update_cell_at(Coordinate(row, 0), when)
        self.load_grants()

    @work(group="grants", exclusive=True)
    async def load_grants(self) -> None:
        if not self.hub.connected:
            return
        try:
            result = await self.hub.backend.call("grants.list")
        except AdminError:
            return
        self.grants = list(result.get("grants") or []) if isinstance(result, dict) else []
        self.redraw_grants()

    def redraw_grants(self) -> None:
        table = self.query_one("#grants", DataTable)
        keep = self.selected_grant()
        table.clear()
        for grant in self.grants:
            left = int(grant.get("seconds_left") or 0)
            table.add_row(
                plain(grant.get("label") or grant.get("family_id")),
                plain(grant.get("scope"), "yellow"),
                plain(f"{grant.get('surface')} {grant.get('target')}"),
                plain(f"{left // 60} min {left % 60} s"),
                key=str(grant["id"]),
            )
        if keep is not None and keep in {str(g["id"]) for g in self.grants}:
            table.move_cursor(row=table.get_row_index(keep), animate=False)

    def selected_grant(self) -> str | None:
        table = self.query_one("#grants", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def action_revoke_grant(self) -> None:
        grant_id = self.selected_grant()
        if grant_id is None:
            self.notify("no grant is live", severity="warning")
            return
        self.revoke(grant_id)

    @work(group="decide")
    async def revoke(self, grant_id: str) -> None:
        try:
            await self.hub.backend.call("grants.revoke", grant_id=grant_id)
        except AdminError as exc:
            self.notify(exc.message, title=exc.code, severity="error")
            return
        self.grants = [g for g in self.grants if str(g["id"]) != grant_id]
        self.redraw_grants()
        self.notify("grant ended")

    def current(self) -> dict[str, Any] | None:
        approval_id = self.selected_id()
        return None if approval_id is None else self.hub.book.get(approval_id)

    # --- decisions ----------------------------------------------------------------------------

    def approvable(self) -> dict[str, Any] | None:
        """The request an approve key press may act on, or None (and say why) if the press must be dropped."""
        approval = self.current()
        if approval is None:
            self.notify("nothing is pending", severity="warning")
            return None
        if self._deciding:
            return None  # a press queued behind a decision in flight: never carried over to the next request
        self.note_cursor()
        if self.hub.monotonic() - self._shown_since < SETTLE_SECONDS:
            self.notify("this request just came under the cursor; read it, then press again", severity="warning")
            return None
        return approval

    def action_approve_once(self) -> None:
        approval = self.approvable()
        if approval is not None:
            self.decide(str(approval["id"]), "approve", "once", None, int(approval.get("waiters") or 0))

    def action_deny(self) -> None:
        approval = self.current()
        if approval is None:
            self.notify("nothing is pending", severity="warning")
            return
        self.decide(str(approval["id"]), "deny", "once", None)

    def action_approve_timed(self) -> None:
        approval = self.approvable()
        if approval is None:
            return
        approval_id = str(approval["id"])
        seen_waiters = int(approval.get("waiters") or 0)
        what = markup_safe(f"{approval.get('scope')} for {approval.get('label') or approval['family_id']}")

        def chosen(minutes: int | None) -> None:
            if minutes is not None:
                self.decide(approval_id, "approve", "timed", minutes, seen_waiters)

        self.app.push_screen(DurationScreen(what), chosen)

    def decide(
        self, approval_id: str, decision: str, grant: str, minutes: int | None, seen_waiters: int | None = None
    ) -> None:
        """Send the decision on ``approval_id`` (the request the person saw, with the count of identical calls
        it showed); presses meanwhile are dropped."""
        self._deciding = True
        self.send_decision(approval_id, decision, grant, minutes, seen_waiters)

    @work(group="decide")
    async def send_decision(
        self, approval_id: str, decision: str, grant: str, minutes: int | None, seen_waiters: int | None
    ) -> None:
        params: dict[str, Any] = {"approval_id": approval_id, "decision": decision, "decided_by": DECIDED_BY}
        if seen_waiters is not None and decision == "approve":
            params["seen_waiters"] = seen_waiters
        if decision == "approve":
            params["grant"] = grant
            if minutes is not None:
                params["duration_minutes"] = minutes
        try:
            result = await self.hub.backend.call("approvals.decide", **params)
        except AdminError as exc:
            self.notify(exc.message, title=exc.code, severity="error")
            return
        finally:
            self._deciding = False
        self.hub.approval_decided(result)
        self.note_cursor()
        if decision == "deny":
            self.notify("denied")
        else:
            self.notify("approved once" if minutes is None else f"approved for {minutes_label(minutes)}")

    # --- OAuth sign-ins -----------------------------------------------------------------------

    def action_consent(self) -> None:
        consent = self.query_one(ConsentPanel).current()
        if consent is None:
            self.notify("no sign-in request is waiting", severity="warning")
            return

        def chosen(answer: dict[str, Any] | None) -> None:
            if answer is not None:
                self.decide_consent(consent, answer)

        self.app.push_screen(ConsentScreen(consent), chosen)

    @work(group="decide")
    async def decide_consent(self, consent: dict[str, Any], answer: dict[str, Any]) -> None:
        params = {"consent_id": consent["consent_id"], "decided_by": DECIDED_BY, **answer}
        if answer["decision"] == "approve":
            params["matching_code"] = consent["matching_code"]  # the card showed it; the person matched it
        try:
            await self.hub.backend.call("consent.decide", **params)
        except AdminError as exc:
            self.notify(exc.message, title=exc.code, severity="error")
        else:
            self.notify(f"sign-in {'approved' if answer['decision'] == 'approve' else 'denied'}")
        await self.hub.reload_consents()
