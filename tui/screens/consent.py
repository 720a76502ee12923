"""The consent card: an MCP client asks to sign in with OAuth; the person matches the code and chooses tiers.

The card shows the matching code (the same one the browser page shows), the client's name and the host it
returns to. Scopes the client asked for start included at their suggested tier (reads allow, writes and
signing prompt); scopes it did not ask for are listed but left out unless the person adds them. The family
gets the name typed here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from auth.untrusted import neutralise
from tui.widgets.scope_picker import ScopeChoice, ScopePicker


def _text(value: object) -> str:
    """A registering client chooses its own name: shown neutralised, like all agent text."""
    return "" if value is None else neutralise(str(value))


def consent_choices(consent: dict[str, Any]) -> list[ScopeChoice]:
    choices = []
    for choice in consent.get("scope_choices") or []:
        tools = ", ".join(choice.get("tools") or [])
        if not choice.get("known"):
            note = "not served by this daemon"
        elif choice.get("requested"):
            note = tools
        else:
            note = f"not asked for · {tools}"
        included = bool(choice.get("requested")) and bool(choice.get("known"))
        tier = str(choice.get("suggested_tier") or "prompt")
        choices.append(ScopeChoice(str(choice["scope"]), tier if tier != "deny" else "prompt", included, note))
    return choices


class ConsentScreen(ModalScreen[dict[str, Any] | None]):
    """Dismisses with ``{"decision": "approve", "scopes": …, "label": …}``, ``{"decision": "deny"}`` or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "approve", "Approve"),
        Binding("ctrl+d", "deny", "Deny"),
        Binding("escape", "cancel", "Later"),
    ]

    def __init__(self, consent: dict[str, Any]) -> None:
        super().__init__()
        self.consent = consent

    def compose(self) -> ComposeResult:
        c = self.consent
        remote = "" if c.get("redirect_is_loopback") else "  [b red](a remote host, not this computer)[/b red]"
        with Vertical(id="dialog", classes="dialog consent"):
            yield Static(f"[b]{escape(_text(c.get('client_name')))}[/b] asks to connect to agent-auth")
            yield Static(f"Matching code  [b reverse] {escape(str(c['matching_code']))} [/b reverse]", id="matching")
            yield Static("[dim]Approve only if the browser page shows the same code.[/dim]")
            yield Static(f"Returns to  {escape(_text(c.get('redirect_host')))}{remote}")
            yield ScopePicker(consent_choices(c), id="consent-picker")
            yield Static("[dim]a allow · p prompt · d deny · space include/leave out[/dim]")
            yield Label("Family name")
            yield Input(value=_text(c.get("client_name"))[:100], id="consent-label")
            with Horizontal(classes="buttons"):
                yield Button("Deny (ctrl+d)", id="deny", variant="error")
                yield Button("Approve (ctrl+s)", id="approve", variant="success")

    def on_mount(self) -> None:
        self.query_one(ScopePicker).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "approve":
            self.action_approve()
        elif event.button.id == "deny":
            self.action_deny()

    def on_data_table_row_selected(self, event: ScopePicker.RowSelected) -> None:
        event.stop()  # enter in the picker must not approve by accident

    def action_approve(self) -> None:
        scopes = self.query_one(ScopePicker).selected()
        if not scopes:
            self.notify("include at least one scope, or deny", severity="warning")
            return
        label = self.query_one("#consent-label", Input).value.strip() or None
        self.dismiss({"decision": "approve", "scopes": scopes, "label": label})

    def action_deny(self) -> None:
        self.dismiss({"decision": "deny"})

    def action_cancel(self) -> None:
        self.dismiss(None)
