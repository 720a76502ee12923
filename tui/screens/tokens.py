"""Tokens: the families table, and create / change tiers / revoke / rotate."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from auth.admin_client import AdminError
from tui.format import ago, markup_safe, plain, scopes_text, status_text
from tui.hub import Hub
from tui.screens.confirm import ConfirmScreen
from tui.screens.create_family import CreateFamilyScreen
from tui.screens.edit_tiers import EditTiersScreen
from tui.screens.show_tokens import ShowTokensScreen
from tui.widgets.daemon_banner import DaemonBanner
from tui.widgets.status_bar import StatusBar

STATUS_ORDER = {"active": 0, "expired": 1, "revoked": 2}
SHORT_ID_CHARS = 12


def short_id(family_id: str) -> str:
    """Enough of the id to tell families apart; the full id is in the detail box below the table."""
    return family_id if len(family_id) <= SHORT_ID_CHARS else family_id[:SHORT_ID_CHARS] + "…"


class TokensScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "create", "New family"),
        Binding("e", "edit_tiers", "Tiers"),
        Binding("r", "revoke", "Revoke"),
        Binding("o", "rotate", "Rotate"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, hub: Hub) -> None:
        super().__init__(name="tokens")
        self.hub = hub

    def compose(self) -> ComposeResult:
        yield StatusBar(self.hub, "tokens")
        yield DaemonBanner(self.hub)
        yield Static("Token families", id="families-title", classes="section-title")
        yield DataTable(id="families", cursor_type="row", zebra_stripes=True)
        yield Static("", id="family-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#families", DataTable)
        for key in ("label", "family", "scopes", "created", "last used", "status"):
            table.add_column(key, key=key)
        self.hub.families_changed.subscribe(self, lambda _: self.redraw())
        self.redraw()

    def families(self) -> list[dict[str, Any]]:
        return sorted(
            self.hub.families,
            key=lambda f: (STATUS_ORDER.get(str(f.get("status")), 3), -float(f.get("created_at") or 0)),
        )

    def redraw(self) -> None:
        table = self.query_one("#families", DataTable)
        keep = self.selected_id()
        now = self.hub.clock()
        families = self.families()
        table.clear()
        for family in families:
            dim = "dim" if family.get("status") != "active" else ""
            table.add_row(
                plain(family.get("label") or "—", f"bold {dim}"),
                plain(short_id(str(family["family_id"])), "dim"),
                scopes_text(family.get("scopes") or {}),
                ago(family.get("created_at"), now),
                ago(family.get("last_used_at"), now),
                status_text(str(family.get("status"))),
                key=str(family["family_id"]),
            )
        if keep is not None and keep in {str(f["family_id"]) for f in families}:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        active = sum(1 for f in families if f.get("status") == "active")
        self.query_one("#families-title", Static).update(f"Token families ({active} active, {len(families)} in all)")
        self.show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        family = self.selected()
        detail = self.query_one("#family-detail", Static)
        if family is None:
            detail.update("[dim]No families yet: press n to create one.[/dim]")
            return
        lines = [
            f"[b]{markup_safe(family.get('label') or family['family_id'])}[/b]  {markup_safe(family['family_id'])}",
            f"access {int(family.get('access_ttl_seconds') or 0) // 60} min · "
            f"refresh {int(family.get('refresh_ttl_seconds') or 0) // 3600} h",
        ]
        if family.get("rotated_to"):
            lines.append(f"rotated to {markup_safe(str(family['rotated_to']))}")
        if family.get("revoke_reason"):
            lines.append(f"revoked: {markup_safe(str(family['revoke_reason']))}")
        detail.update("\n".join(lines))

    def selected_id(self) -> str | None:
        table = self.query_one("#families", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def selected(self) -> dict[str, Any] | None:
        family_id = self.selected_id()
        return next((f for f in self.hub.families if f.get("family_id") == family_id), None)

    def _selected_active(self) -> dict[str, Any] | None:
        family = self.selected()
        if family is None:
            self.notify("no family selected", severity="warning")
            return None
        if family.get("status") == "revoked":
            self.notify("this family is revoked", severity="warning")
            return None
        return family

    # --- actions ------------------------------------------------------------------------------

    def action_create(self) -> None:
        async def submit(params: dict[str, Any]) -> dict[str, Any]:
            issued: dict[str, Any] = await self.hub.backend.call("families.create", **params)
            return issued

        def created(issued: dict[str, Any] | None) -> None:
            if issued is not None:
                # Show the tokens before anything else can fail: they exist only in this response.
                self.app.push_screen(ShowTokensScreen(issued, self.hub.daemon_url))
                self.reload()

        self.app.push_screen(CreateFamilyScreen(self.hub.known_scopes, submit), created)

    def action_edit_tiers(self) -> None:
        family = self._selected_active()
        if family is None:
            return
        family_id = str(family["family_id"])

        def edited(params: dict[str, Any] | None) -> None:
            if params is not None:
                self.change("families.modify", {"family_id": family_id, **params}, "tiers updated")

        self.app.push_screen(EditTiersScreen(family), edited)

    def action_revoke(self) -> None:
        family = self._selected_active()
        if family is None:
            return
        family_id = str(family["family_id"])
        name = markup_safe(str(family.get("label") or family_id))

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change("families.revoke", {"family_id": family_id}, f"revoked {name}")

        question = f"Revoke [b]{name}[/b]? Its access and refresh tokens stop working at once."
        self.app.push_screen(ConfirmScreen(question, confirm_label="Revoke"), confirmed)

    def action_rotate(self) -> None:
        family = self._selected_active()
        if family is None:
            return
        family_id = str(family["family_id"])
        name = markup_safe(str(family.get("label") or family_id))

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.issue("families.rotate", {"family_id": family_id})

        question = f"Rotate [b]{name}[/b]? The old tokens stop working; new ones with the same scopes are shown once."
        self.app.push_screen(ConfirmScreen(question, confirm_label="Rotate"), confirmed)

    def action_reload(self) -> None:
        self.reload()

    # --- workers ------------------------------------------------------------------------------

    @work(group="families", exclusive=True)
    async def reload(self) -> None:
        try:
            await self.hub.reload_families()
        except AdminError as exc:
            self.notify(exc.message, title=exc.code, severity="error")

    @work(group="family-change")
    async def issue(self, method: str, params: dict[str, Any]) -> None:
        """Create or rotate, then show the new tokens once."""
        try:
            issued = await self.hub.backend.call(method, **params)
        except AdminError as exc:
            self.notify(exc.message, title=exc.code, severity="error")
            return
        # Show the tokens before anything else can fail: they exist only in this response.
        self.app.push_screen(ShowTokensScreen(issued, self.hub.daemon_url))
        self.reload()

    @work(group="family-change")
    async def change(self, method: str, params: dict[str, Any], done: str) -> None:
        try:
            await self.hub.backend.call(method, **params)
            await self.hub.reload_families()
        except AdminError as exc:
            self.notify(exc.message, title=exc.code, severity="error")
            return
        self.notify(done)
