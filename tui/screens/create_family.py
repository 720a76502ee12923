"""Create a token family: scopes (known ones and free entry) with a tier each, a label, lifetimes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from auth.admin_errors import AdminError
from tui.format import TIERS
from tui.widgets.scope_picker import ScopeChoice, ScopePicker

DEFAULT_ACCESS_MINUTES = 15
DEFAULT_REFRESH_HOURS = 8


class FormError(ValueError):
    code = "invalid_form"


def parse_extra_scopes(text: str) -> dict[str, str]:
    """``things:read=allow, gpg:sign`` → ``{"things:read": "allow", "gpg:sign": "prompt"}``."""
    scopes: dict[str, str] = {}
    for item in text.replace(",", " ").split():
        scope, sep, tier = item.partition("=")
        tier = tier.strip().lower() if sep else "prompt"
        if not scope or tier not in TIERS:
            raise FormError(f"{item!r}: write scope or scope=tier (tier is allow, prompt or deny)")
        scopes[scope.strip()] = tier
    return scopes


def known_choices(known_scopes: list[dict[str, Any]]) -> list[ScopeChoice]:
    """Known scopes, unticked, defaulting to ``prompt``; system scopes are left out (CLI only)."""
    choices = []
    for known in known_scopes:
        if known.get("system"):
            continue
        tools = ", ".join(known.get("tools") or [])
        choices.append(ScopeChoice(str(known["scope"]), "prompt", False, tools or str(known.get("description") or "")))
    return choices


Submit = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class CreateFamilyScreen(ModalScreen[dict[str, Any] | None]):
    """Dismissed with what ``submit`` returned (the issued tokens); a failure keeps the form as typed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "create", "Create"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, known_scopes: list[dict[str, Any]], submit: Submit) -> None:
        super().__init__()
        self.known_scopes = known_scopes
        self.submit = submit

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog create"):
            yield Static("[b]New token family[/b]")
            yield Label("Label (shown in approval requests)")
            yield Input(placeholder="e.g. claude-code on laptop", id="label")
            yield Label("Scopes — space to tick, a/p/d for allow/prompt/deny")
            yield ScopePicker(known_choices(self.known_scopes), id="scope-picker")
            yield Label("More scopes (scope or scope=tier, comma separated; tier defaults to prompt)")
            yield Input(placeholder="things:read=allow, gpg:sign=prompt", id="extra-scopes")
            with Horizontal(classes="ttls"):
                yield Label("Access token minutes")
                yield Input(str(DEFAULT_ACCESS_MINUTES), id="access-minutes", type="integer")
                yield Label("Refresh token hours")
                yield Input(str(DEFAULT_REFRESH_HOURS), id="refresh-hours", type="integer")
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Create (ctrl+s)", variant="primary", id="create")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#label", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_create()
        else:
            self.action_cancel()

    def form(self) -> dict[str, Any]:
        """The ``families.create`` parameters, or :class:`FormError` saying what to fix."""
        scopes = dict(self.query_one(ScopePicker).selected())
        scopes.update(parse_extra_scopes(self.query_one("#extra-scopes", Input).value))
        if not scopes:
            raise FormError("choose at least one scope")
        try:
            access_minutes = int(self.query_one("#access-minutes", Input).value)
            refresh_hours = int(self.query_one("#refresh-hours", Input).value)
        except ValueError:
            raise FormError("lifetimes must be whole numbers") from None
        if access_minutes < 1 or refresh_hours < 1:
            raise FormError("lifetimes must be at least 1")
        label = self.query_one("#label", Input).value.strip()
        return {
            "scopes": scopes,
            "label": label or None,
            "access_ttl_seconds": access_minutes * 60,
            "refresh_ttl_seconds": refresh_hours * 3600,
        }

    def action_create(self) -> None:
        try:
            params = self.form()
        except FormError as exc:
            self.query_one("#form-error", Static).update(f"[red]{exc}[/red]")
            return
        self.query_one("#form-error", Static).update("[dim]creating…[/dim]")
        self.send(params)

    @work(group="create-family", exclusive=True)
    async def send(self, params: dict[str, Any]) -> None:
        try:
            issued = await self.submit(params)
        except AdminError as exc:
            reason = "the daemon is not reachable" if exc.code == "daemon_unavailable" else exc.message
            error = self.query_one("#form-error", Static)
            error.update(Text.assemble((f"{reason} — nothing was created; the form is kept, try again", "red")))
            return
        self.dismiss(issued)

    def action_cancel(self) -> None:
        self.dismiss(None)
