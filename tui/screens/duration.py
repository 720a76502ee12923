"""Choose how long a timed grant lasts."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

GRANT_MINUTES = (15, 60, 240, 480)


def minutes_label(minutes: int) -> str:
    return f"{minutes} minutes" if minutes < 60 else f"{minutes // 60} hour{'s' if minutes >= 120 else ''}"


class DurationScreen(ModalScreen[int | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(i), f"choose({minutes})", show=False) for i, minutes in enumerate(GRANT_MINUTES, 1)),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(f"Approve [b]{self.what}[/b] without asking again for:", id="question")
            yield OptionList(
                *(
                    Option(f"{i}  {minutes_label(minutes)}", id=str(minutes))
                    for i, minutes in enumerate(GRANT_MINUTES, 1)
                ),
                id="durations",
            )
            yield Static("[dim]1-4 or enter to choose · escape to cancel[/dim]")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(str(event.option.id)))

    def action_choose(self, minutes: int) -> None:
        self.dismiss(minutes)

    def action_cancel(self) -> None:
        self.dismiss(None)
