"""How values look on screen: tiers in colour, relative times, outcomes. Time is passed in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape
from rich.text import Text

from auth.untrusted import neutralise

TIER_STYLES = {"allow": "green", "prompt": "yellow", "deny": "red"}
STATUS_STYLES = {"active": "green", "expired": "yellow", "revoked": "red"}
TIERS = ("allow", "prompt", "deny")


def scopes_text(scopes: Mapping[str, str]) -> Text:
    """``scope`` coloured by its tier, separated by spaces; the tier is also spelled out for no-colour terminals."""
    text = Text()
    for index, (scope, tier) in enumerate(sorted(scopes.items())):
        if index:
            text.append("  ")
        text.append(neutralise(scope), style=TIER_STYLES.get(tier, ""))
        text.append(f"={neutralise(tier)}", style="dim")
    return text


def ago(timestamp: float | None, now: float) -> str:
    if not timestamp:
        return "never"
    return f"{duration(now - float(timestamp))} ago"


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def remaining(expires_at: float, now: float) -> str:
    left = max(0, int(expires_at - now + 0.999))
    return f"{left // 60}:{left % 60:02d}"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def outcome_text(approval: Mapping[str, Any]) -> Text:
    """``approved once``, ``approved 60 min``, ``denied``, ``timeout`` …, coloured."""
    decision = approval.get("decision") or {}
    status = str(approval.get("status") or decision.get("reason") or "?")
    if decision.get("approved"):
        if decision.get("grant") == "timed":
            return Text(f"approved {decision.get('duration_minutes')} min", style="green")
        return Text("approved once", style="green")
    return Text(status, style="red" if status == "denied" else "yellow")


def audit_time(entry: Mapping[str, Any]) -> str:
    """``MM-DD HH:MM:SS`` (UTC) of the entry's ISO 8601 timestamp."""
    ts = str(entry.get("ts") or "")
    return f"{ts[5:10]} {ts[11:19]}" if len(ts) >= 19 else ts


def plain(value: object, style: str = "") -> Text:
    """Data shown as data: neutralised (no control or invisible character reaches the terminal), never markup."""
    return Text("" if value is None else neutralise(str(value)), style=style)


def markup_safe(value: object, *, multiline: bool = False) -> str:
    """Data to put inside a markup string: neutralised, then markup-escaped."""
    return escape(neutralise(str(value), multiline=multiline))
