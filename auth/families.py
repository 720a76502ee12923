"""Value objects for token families, as the rest of the program sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auth.scopes import Tier

DEFAULT_ACCESS_TTL_SECONDS = 900
DEFAULT_REFRESH_TTL_SECONDS = 28_800
MAX_TTL_SECONDS = 366 * 86_400
MAX_LABEL_LENGTH = 100


@dataclass(frozen=True)
class FamilyInfo:
    id: str
    label: str | None
    scopes: dict[str, Tier]
    created_at: float
    last_used_at: float | None
    revoked_at: float | None
    revoke_reason: str | None
    access_ttl_seconds: int
    refresh_ttl_seconds: int
    access_expires_at: float | None = None
    refresh_expires_at: float | None = None
    rotated_to: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def status(self, now: float) -> str:
        if self.revoked:
            return "revoked"
        if self.refresh_expires_at is not None and self.refresh_expires_at <= now:
            return "expired"
        return "active"

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "family_id": self.id,
            "label": self.label,
            "scopes": {name: tier.value for name, tier in sorted(self.scopes.items())},
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "revoked": self.revoked,
            "revoked_at": self.revoked_at,
            "revoke_reason": self.revoke_reason,
            "status": self.status(now),
            "access_ttl_seconds": self.access_ttl_seconds,
            "refresh_ttl_seconds": self.refresh_ttl_seconds,
            "access_expires_at": self.access_expires_at,
            "refresh_expires_at": self.refresh_expires_at,
            "rotated_to": self.rotated_to,
        }


@dataclass(frozen=True)
class IssuedTokens:
    """A freshly minted access/refresh pair. The token strings redact themselves in ``repr``."""

    family_id: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: float
    refresh_expires_at: float
    scopes: dict[str, Tier]
    label: str | None = None

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "family_id": self.family_id,
            "label": self.label,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            # Rounded, not truncated: a freshly minted 900 s token says 900, as the original did.
            "expires_in": max(0, round(self.access_expires_at - now)),
            "access_expires_at": self.access_expires_at,
            "refresh_expires_at": self.refresh_expires_at,
            "scopes": {name: tier.value for name, tier in sorted(self.scopes.items())},
        }


@dataclass(frozen=True)
class TokenState:
    """What the store says about one token id."""

    token_id: str
    family_id: str
    kind: str
    created_at: float
    expires_at: float
    revoked_at: float | None
    consumed_at: float | None
