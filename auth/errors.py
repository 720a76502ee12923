"""The auth package's exception hierarchy.

Every error carries a stable snake_case ``code`` (what machines and the wire see) and a message that says
how to fix the problem (what people see). Security failures keep the wire message vague; the precise
reason goes to the log via ``detail``.
"""

from __future__ import annotations

from typing import ClassVar


class AuthError(Exception):
    """Base of every error raised by :mod:`auth`."""

    code: ClassVar[str] = "auth_error"

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


# --- input ---------------------------------------------------------------------------------------


class InvalidScopeError(AuthError, ValueError):
    code = "invalid_scope"


class ReservedScopeError(InvalidScopeError):
    code = "reserved_scope"


class InvalidArgumentError(AuthError, ValueError):
    code = "invalid_argument"


# --- tokens --------------------------------------------------------------------------------------


class TokenError(AuthError):
    """A presented token cannot be used. Subclasses name why."""

    code = "invalid_token"


class InvalidTokenError(TokenError):
    code = "invalid_token"


class TokenExpiredError(TokenError):
    code = "token_expired"


class TokenRevokedError(TokenError):
    code = "token_revoked"


class FamilyRevokedError(TokenError):
    code = "family_revoked"


class RefreshTokenExpiredError(TokenError):
    code = "refresh_token_expired"


class RefreshTokenReuseError(TokenError):
    code = "refresh_token_reuse_detected"


class RefreshTokenStillValidError(TokenError):
    code = "refresh_token_still_valid"


# --- families ------------------------------------------------------------------------------------


class FamilyNotFoundError(AuthError, LookupError):
    code = "family_not_found"


class FamilyAlreadyRevokedError(AuthError):
    code = "family_revoked"


# --- keys and storage ----------------------------------------------------------------------------


class KeyStoreError(AuthError):
    code = "key_store_error"


class KeyringUnavailableError(KeyStoreError):
    code = "keyring_unavailable"


class KeysMissingError(KeyStoreError):
    code = "keys_missing"


class KeyMismatchError(KeyStoreError):
    code = "key_mismatch"


class StoreError(AuthError):
    code = "store_error"


class DecryptionError(StoreError):
    code = "decryption_failed"


class SchemaTooNewError(StoreError):
    code = "schema_too_new"


class AuditError(AuthError):
    code = "audit_error"
