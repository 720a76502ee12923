"""Change a family's tiers in place (and drop scopes); applies on the next call, tokens stay valid."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.format import markup_safe
from tui.widgets.scope_picker import ScopeChoice, ScopePicker


def modify_params(before: dict[str, str], after: dict[str, str]) -> dict[str, Any]:
    """The ``families.modify`` parameters that turn ``before`` into ``after`` (no adds here)."""
    set_tiers = {scope: tier for scope, tier in after.items() if before.get(scope) != tier}
    remove = sorted(scope for scope in before if scope not in after)
    return {"set_tiers": set_tiers, "remove": remove}


class EditTiersScreen(ModalScreen[dict[str, Any] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s,enter", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, family: dict[str, Any]) -> None:
        super().__init__()
        self.family = family
        self.before = {str(k): str(v) for k, v in (family.get("scopes") or {}).items()}

    def compose(self) -> ComposeResult:
        label = markup_safe(str(self.family.get("label") or self.family["family_id"]))
        with Vertical(id="dialog", classes="dialog tiers"):
            yield Static(f"[b]Tiers of {label}[/b]")
            yield ScopePicker(
                [ScopeChoice(scope, tier, True) for scope, tier in sorted(self.before.items())], id="tier-picker"
            )
            yield Static("[dim]a allow · p prompt · d deny · space drop/keep · enter save · escape cancel[/dim]")

    def on_mount(self) -> None:
        self.query_one(ScopePicker).focus()

    def on_data_table_row_selected(self, event: ScopePicker.RowSelected) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        after = self.query_one(ScopePicker).selected()
        params = modify_params(self.before, after)
        self.dismiss(params if params["set_tiers"] or params["remove"] else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
