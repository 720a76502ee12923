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


class OAuthClientRow(SQLModel, table=True):
    """A client registered with the authorization server (RFC 7591); its metadata and secret are sealed."""

    __tablename__ = "oauth_clients"

    id: str = Field(primary_key=True, max_length=64)
    info_blob: bytes
    created_at: float
    last_used_at: float | None = None


class OAuthAuthorizationRow(SQLModel, table=True):
    """One authorization request: pending consent, the person's decision, then a single-use code.

    The request (redirect URI, PKCE challenge, state, scopes, resource) and the decision (tiers, label) are
    sealed; the authorization code is kept only as its SHA-256.
    """

    __tablename__ = "oauth_authorizations"

    id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(index=True, max_length=64)
    status: str  # "pending" | "approved" | "denied" | "delivered" | "exchanged"
    request_blob: bytes
    decision_blob: bytes | None = None
    created_at: float
    expires_at: float
    decided_at: float | None = None
    decided_by: str | None = None
    code_hash: str | None = Field(default=None, index=True, max_length=64)
    code_expires_at: float | None = None
    consumed_at: float | None = None
    family_id: str | None = None


class OAuthFamilyRow(SQLModel, table=True):
    """Which registered client a token family was issued to (one family per authorization)."""

    __tablename__ = "oauth_families"

    family_id: str = Field(primary_key=True, max_length=32, foreign_key="families.id")
    client_id: str = Field(index=True, max_length=64)
    authorization_id: str = Field(max_length=64)
    created_at: float
