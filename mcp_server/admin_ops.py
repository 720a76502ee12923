"""Token administration as JSON-shaped operations.

The same object serves the CLI when no daemon is running and the daemon's admin socket when one is, so
both paths give the same results and write the same audit entries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from auth.authority import Authority
from auth.scopes import Tier, validate_scope_map


class TokenAdmin(Protocol):
    def create_family(
        self, scopes: Mapping[str, Tier], label: str | None, access_ttl: int, refresh_ttl: int
    ) -> dict[str, Any]: ...

    def list_families(self) -> list[dict[str, Any]]: ...

    def show_family(self, family_id: str) -> dict[str, Any]: ...

    def modify_family(
        self, family_id: str, add: Mapping[str, Tier], remove: Sequence[str], set_tiers: Mapping[str, Tier]
    ) -> dict[str, Any]: ...

    def revoke_family(self, family_id: str) -> dict[str, Any]: ...

    def rotate_family(self, family_id: str) -> dict[str, Any]: ...


class LocalAdmin:
    """TokenAdmin over an :class:`Authority` in this process."""

    def __init__(self, authority: Authority, *, actor: str, clock: Callable[[], float] = time.time) -> None:
        self.authority = authority
        self.actor = actor
        self.clock = clock

    def create_family(
        self, scopes: Mapping[str, Tier], label: str | None, access_ttl: int, refresh_ttl: int
    ) -> dict[str, Any]:
        issued = self.authority.create_family(
            validate_scope_map(scopes),
            label=label,
            access_ttl_seconds=access_ttl,
            refresh_ttl_seconds=refresh_ttl,
            actor=self.actor,
        )
        return issued.to_json(self.clock())

    def list_families(self) -> list[dict[str, Any]]:
        now = self.clock()
        return [f.to_json(now) for f in self.authority.list_families()]

    def show_family(self, family_id: str) -> dict[str, Any]:
        return self.authority.get_family(family_id).to_json(self.clock())

    def modify_family(
        self, family_id: str, add: Mapping[str, Tier], remove: Sequence[str], set_tiers: Mapping[str, Tier]
    ) -> dict[str, Any]:
        info = self.authority.modify_family(family_id, add=add, remove=remove, set_tiers=set_tiers, actor=self.actor)
        return info.to_json(self.clock())

    def revoke_family(self, family_id: str) -> dict[str, Any]:
        return self.authority.revoke_family(family_id, actor=self.actor).to_json(self.clock())

    def rotate_family(self, family_id: str) -> dict[str, Any]:
        return self.authority.rotate_family(family_id, actor=self.actor).to_json(self.clock())
