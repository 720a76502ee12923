"""The tokens of a new family, shown once, with copy keys and ready setup snippets."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.format import markup_safe
from tui.snippets import login_command, mcp_json


class ShowTokensScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy('access')", "Copy access token"),
        Binding("r", "copy('refresh')", "Copy refresh token"),
        Binding("l", "copy('login')", "Copy login command"),
        Binding("m", "copy('mcp')", "Copy .mcp.json"),
        Binding("escape,enter", "dismiss", "Done"),
    ]

    def __init__(self, issued: dict[str, Any], daemon_url: str | None) -> None:
        super().__init__()
        self.issued = issued
        self.texts = {
            "access": str(issued["access_token"]),
            "refresh": str(issued["refresh_token"]),
            "login": login_command(daemon_url),
            "mcp": mcp_json(daemon_url),
        }

    def compose(self) -> ComposeResult:
        issued = self.issued
        label = markup_safe(str(issued.get("label") or issued["family_id"]))
        with VerticalScroll(id="dialog", classes="dialog tokens"):
            yield Static(f"[b]New tokens for {label}[/b]  ({markup_safe(str(issued['family_id']))})")
            yield Static("[b red]Shown only now[/b red]: copy them before closing this window.", id="once-warning")
            yield Static(f"[b]access[/b]   {markup_safe(self.texts['access'])}", id="access-token", classes="secret")
            yield Static(f"[b]refresh[/b]  {markup_safe(self.texts['refresh'])}", id="refresh-token", classes="secret")
            yield Static("[b]On the agent's side[/b] (it asks for the two tokens: paste them at its prompts)")
            yield Static(markup_safe(self.texts["login"], multiline=True), id="login-snippet", classes="snippet")
            yield Static("[b].mcp.json[/b]")
            yield Static(markup_safe(self.texts["mcp"], multiline=True), id="mcp-snippet", classes="snippet")
            yield Static(
                "[dim]c copy access · r copy refresh · l copy login command · m copy .mcp.json · enter done[/dim]"
            )

    def action_copy(self, what: str) -> None:
        self.app.copy_to_clipboard(self.texts[what])
        self.notify(f"copied the {what} {'token' if what in ('access', 'refresh') else 'snippet'} to the clipboard")
