"""SQLModel tables of the token store.

Secrets never sit in plaintext here: scopes are AES-256-GCM blobs bound to their row, and token strings
are not stored at all (only their ids; the signature is recomputed from the signing key).
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class FamilyRow(SQLModel, table=True):
    __tablename__ = "families"

    id: str = Field(primary_key=True, max_length=32)
    label: str | None = None
    scopes_blob: bytes
    created_at: float
    last_used_at: float | None = None
    revoked_at: float | None = None
    revoke_reason: str | None = None
    access_ttl_seconds: int
    refresh_ttl_seconds: int
    rotated_to: str | None = None


class TokenRow(SQLModel, table=True):
    __tablename__ = "tokens"

    id: str = Field(primary_key=True, max_length=32)
    family_id: str = Field(index=True, foreign_key="families.id")
    kind: str  # "access" | "refresh"
    created_at: float
    expires_at: float
    revoked_at: float | None = None
    consumed_at: float | None = None


class ChangeRow(SQLModel, table=True):
    """One row per write that touched a family, so caches in other processes can evict precisely."""

    __tablename__ = "changes"

    seq: int | None = Field(default=None, primary_key=True)
    family_id: str


class MetaRow(SQLModel, table=True):
    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str
