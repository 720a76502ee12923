"""Time-boxed grants: "approve for N minutes" — narrow, visible and revocable.

A grant covers one family, one scope and one surface and target (a tool, or a route): a grant given on a
``/validate`` prompt covers ``/validate`` checks of that scope only, never a ``gpg_sign`` over MCP. A grant
ends at its wall-clock expiry or once its duration has elapsed on the monotonic clock, whichever comes
first (a clock set back cannot stretch it), or when a person ends it early (TUI, CLI, admin socket).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Grant:
    id: str
    family_id: str
    label: str | None
    scope: str
    surface: str
    target: str
    expires_at: float  # wall clock, what people see
    deadline: float  # monotonic

    def covers(self, family_id: str, scope: str, surface: str | None, target: str | None) -> bool:
        """Exactly this family, scope, surface and target. A call that names no surface or target is never
        covered (fail closed): a grant must not become a wildcard for a caller that forgot to say where."""
        return (
            self.family_id == family_id
            and self.scope == scope
            and surface is not None
            and target is not None
            and self.surface == surface
            and self.target == target
        )

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "family_id": self.family_id,
            "label": self.label,
            "scope": self.scope,
            "surface": self.surface,
            "target": self.target,
            "expires_at": self.expires_at,
            "seconds_left": max(0, round(self.expires_at - now)),
        }


class GrantBook:
    def __init__(self, clock: Callable[[], float], monotonic: Callable[[], float]) -> None:
        self.clock = clock
        self.monotonic = monotonic
        self._grants: dict[str, Grant] = {}

    def add(
        self,
        *,
        family_id: str,
        label: str | None,
        scope: str,
        surface: str,
        target: str,
        seconds: float,
        now: float | None = None,
    ) -> Grant:
        for old in [g for g in self._grants.values() if g.covers(family_id, scope, surface, target)]:
            del self._grants[old.id]
        grant = Grant(
            id=f"gr_{secrets.token_hex(6)}",
            family_id=family_id,
            label=label,
            scope=scope,
            surface=surface,
            target=target,
            expires_at=(self.clock() if now is None else now) + seconds,
            deadline=self.monotonic() + seconds,
        )
        self._grants[grant.id] = grant
        return grant

    def _live(self, grant: Grant, now: float) -> bool:
        if grant.expires_at <= now or grant.deadline <= self.monotonic():
            self._grants.pop(grant.id, None)
            return False
        return True

    def active(
        self, family_id: str, scope: str, now: float, surface: str | None = None, target: str | None = None
    ) -> Grant | None:
        for grant in list(self._grants.values()):
            if grant.covers(family_id, scope, surface, target) and self._live(grant, now):
                return grant
        return None

    def revoke(self, grant_id: str) -> Grant | None:
        return self._grants.pop(grant_id, None)

    def revoke_family(self, family_id: str) -> None:
        for grant in [g for g in self._grants.values() if g.family_id == family_id]:
            del self._grants[grant.id]

    def live(self) -> list[Grant]:
        now = self.clock()
        return sorted((g for g in list(self._grants.values()) if self._live(g, now)), key=lambda g: g.expires_at)
