"""Token administration as JSON-shaped operations.

The same object serves the CLI when no daemon is running and the daemon's admin socket when one is, so
both paths give the same results and write the same audit entries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from auth.scopes import Tier, validate_scope_map

if TYPE_CHECKING:
    from auth.authority import Authority


class TokenAdmin(Protocol):
    def create_family(
        self,
        scopes: Mapping[str, Tier],
        label: str | None,
        access_ttl: int,
        refresh_ttl: int,
        *,
        allow_reserved: bool = False,
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
        self,
        scopes: Mapping[str, Tier],
        label: str | None,
        access_ttl: int,
        refresh_ttl: int,
        *,
        allow_reserved: bool = False,
    ) -> dict[str, Any]:
        issued = self.authority.create_family(
            validate_scope_map(scopes, allow_reserved=allow_reserved),
            allow_reserved=allow_reserved,
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


class SocketAdmin:
    """TokenAdmin over the running daemon's admin socket (same results, audited by the daemon)."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path

    def _call(self, method: str, **params: Any) -> Any:
        import anyio

        from auth.admin_client import call_once

        async def go() -> Any:
            return await call_once(self.socket_path, method, **params)

        return anyio.run(go)

    def create_family(
        self,
        scopes: Mapping[str, Tier],
        label: str | None,
        access_ttl: int,
        refresh_ttl: int,
        *,
        allow_reserved: bool = False,
    ) -> dict[str, Any]:
        return dict(
            self._call(
                "families.create",
                allow_system_scopes=allow_reserved,
                scopes={k: v.value for k, v in scopes.items()},
                label=label,
                access_ttl_seconds=access_ttl,
                refresh_ttl_seconds=refresh_ttl,
            )
        )

    def list_families(self) -> list[dict[str, Any]]:
        return list(self._call("families.list"))

    def show_family(self, family_id: str) -> dict[str, Any]:
        return dict(self._call("families.show", family_id=family_id))

    def modify_family(
        self, family_id: str, add: Mapping[str, Tier], remove: Sequence[str], set_tiers: Mapping[str, Tier]
    ) -> dict[str, Any]:
        return dict(
            self._call(
                "families.modify",
                family_id=family_id,
                add={k: v.value for k, v in add.items()},
                remove=list(remove),
                set_tiers={k: v.value for k, v in set_tiers.items()},
            )
        )

    def revoke_family(self, family_id: str) -> dict[str, Any]:
        return dict(self._call("families.revoke", family_id=family_id))

    def rotate_family(self, family_id: str) -> dict[str, Any]:
        return dict(self._call("families.rotate", family_id=family_id))
