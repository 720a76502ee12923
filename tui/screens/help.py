"""Every key, on one page."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]agent-auth tui[/b] — approve what agents ask for, manage their tokens, watch the audit log.

[b]Everywhere[/b]
  1 / 2 / 3    Approvals / Tokens / Audit
  ?            this help
  q            quit

[b]Approvals[/b]  (newest request on top; the cursor stays on the request you are reading)
  a            approve once
  t            approve for a while: 15 min, 1 h, 4 h or 8 h (this family and scope)
  d            deny
  ↑ / ↓        move between pending requests
  A request that nobody decides is denied when its countdown reaches zero.

[b]Tokens[/b]
  n            new family: scopes and tiers, label, lifetimes; the tokens are shown once
  e            change the tiers of the selected family (takes effect on the next call)
  r            revoke the selected family (asks first)
  o            rotate: revoke and issue a replacement with the same scopes (asks first)
  ctrl+r       reload
  In the scope picker: space includes/excludes, a / p / d set allow / prompt / deny.

[b]Audit[/b]
  /            filter (family label or id, outcome, tool or operation)
  escape       clear the filters
  v            verify the audit log's HMAC chain again

The TUI talks only to the daemon's admin socket. Start the daemon with [b]agent-auth serve[/b]
(or [b]agent-auth demo[/b]); the TUI reconnects by itself.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="dialog help"):
            yield Static(HELP, id="help-text")
