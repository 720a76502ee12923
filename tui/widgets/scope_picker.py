"""A table of scopes with a tier each: space includes/excludes a scope, a/p/d set its tier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui.format import TIER_STYLES


@dataclass
class ScopeChoice:
    scope: str
    tier: str
    included: bool
    note: str = ""


class ScopePicker(DataTable[str | Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_scope", "Include/exclude"),
        Binding("a", "tier('allow')", "Allow"),
        Binding("p", "tier('prompt')", "Prompt"),
        Binding("d", "tier('deny')", "Deny"),
    ]

    def __init__(self, choices: list[ScopeChoice], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.choices = {c.scope: c for c in choices}

    def on_mount(self) -> None:
        self.add_column("use", key="use")
        self.add_column("scope", key="scope")
        self.add_column("tier", key="tier")
        self.add_column("what needs it", key="note")
        for choice in self.choices.values():
            self.add_row(*self._cells(choice), key=choice.scope)

    def _cells(self, choice: ScopeChoice) -> tuple[str | Text, ...]:
        return (
            Text("[x]" if choice.included else "[ ]"),
            Text(choice.scope, style="" if choice.included else "dim"),
            Text(choice.tier, style=TIER_STYLES.get(choice.tier, "")),
            Text(choice.note, style="dim"),
        )

    def add_choice(self, choice: ScopeChoice) -> None:
        if choice.scope in self.choices:
            self.choices[choice.scope].included = True
            self.choices[choice.scope].tier = choice.tier
            self._redraw(choice.scope)
            return
        self.choices[choice.scope] = choice
        self.add_row(*self._cells(choice), key=choice.scope)

    def _current(self) -> ScopeChoice | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return self.choices.get(str(row_key.value))

    def _redraw(self, scope: str) -> None:
        for column, value in zip(("use", "scope", "tier", "note"), self._cells(self.choices[scope]), strict=True):
            self.update_cell(scope, column, value)

    def action_toggle_scope(self) -> None:
        choice = self._current()
        if choice is not None:
            choice.included = not choice.included
            self._redraw(choice.scope)

    def action_tier(self, tier: str) -> None:
        choice = self._current()
        if choice is not None:
            choice.tier = tier
            choice.included = True
            self._redraw(choice.scope)

    def selected(self) -> dict[str, str]:
        return {c.scope: c.tier for c in self.choices.values() if c.included}
