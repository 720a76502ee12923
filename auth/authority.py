"""Token families: create, list, show, modify, revoke, rotate, refresh, reissue, authenticate, prune.

Every operation is one ``BEGIN IMMEDIATE`` transaction; its audit entry is appended (and the audit
checkpoint recorded) inside that transaction, so an operation that cannot be audited does not happen.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from auth import tokens
from auth.audit import AuditHead, AuditLog
from auth.crypto import FieldCipher
from auth.db import Database
from auth.errors import (
    FamilyAlreadyRevokedError,
    FamilyNotFoundError,
    FamilyRevokedError,
    InvalidArgumentError,
    InvalidScopeError,
    InvalidTokenError,
    RefreshTokenExpiredError,
    RefreshTokenReuseError,
    RefreshTokenStillValidError,
    TokenExpiredError,
    TokenRevokedError,
)
from auth.families import (
    DEFAULT_ACCESS_TTL_SECONDS,
    DEFAULT_REFRESH_TTL_SECONDS,
    MAX_LABEL_LENGTH,
    MAX_TTL_SECONDS,
    FamilyInfo,
    IssuedTokens,
    TokenState,
)
from auth.keys import KeyMaterial
from auth.models import ChangeRow, FamilyRow, MetaRow, TokenRow
from auth.scopes import Tier, validate_scope, validate_scope_map
from auth.tokens import TokenKind

AUDIT_HEAD_KEY = "audit_head"
KEY_CHECK_KEY = "key_check"
_FAMILY_ID_CHARS = frozenset("0123456789abcdef")


def validate_family_id(family_id: object) -> str:
    if not isinstance(family_id, str) or len(family_id) != 32 or not set(family_id) <= _FAMILY_ID_CHARS:
        raise InvalidArgumentError("a family id is 32 lowercase hex characters (see 'agent-auth token list')")
    return family_id


def validate_label(label: object) -> str | None:
    if label is None:
        return None
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_LENGTH:
        raise InvalidArgumentError(f"a label is 1-{MAX_LABEL_LENGTH} printable characters")
    if not label.isprintable():
        raise InvalidArgumentError("a label may not contain control characters")
    return label.strip()


def validate_ttl(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TTL_SECONDS:
        raise InvalidArgumentError(f"{name} must be a whole number of seconds between 1 and {MAX_TTL_SECONDS}")
    return value


class Authority:
    """The token store's operations. Thread-safe: each call uses its own session."""

    def __init__(
        self,
        db: Database,
        keys: KeyMaterial,
        audit: AuditLog,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.keys = keys
        self.audit = audit
        self.clock = clock
        self.cipher = FieldCipher(keys.encryption, keys.current_encryption_key_id)
        self.change_counter = 0

    def __repr__(self) -> str:
        return f"Authority(db={str(self.db.path)!r})"

    # --- encoding ------------------------------------------------------------------------------

    def _seal_scopes(self, family_id: str, scopes: Mapping[str, Tier]) -> bytes:
        plain = json.dumps({k: v.value for k, v in sorted(scopes.items())}).encode()
        return self.cipher.encrypt(plain, table="families", column="scopes", row_id=family_id)

    def open_scopes(self, family_id: str, blob: bytes) -> dict[str, Tier]:
        plain = self.cipher.decrypt(blob, table="families", column="scopes", row_id=family_id)
        return validate_scope_map(json.loads(plain), allow_reserved=True)

    def _info(self, session: Session, row: FamilyRow, *, with_expiry: bool = True) -> FamilyInfo:
        """The family as the program sees it; ``with_expiry`` adds the current pair's expiry (one more query)."""
        latest: dict[str, float] = {}
        if with_expiry:
            for kind, expires_at in session.exec(
                select(TokenRow.kind, TokenRow.expires_at)
                .where(TokenRow.family_id == row.id, col(TokenRow.revoked_at).is_(None))
                .where(col(TokenRow.consumed_at).is_(None))
            ):
                latest[kind] = max(latest.get(kind, 0.0), expires_at)
        return FamilyInfo(
            id=row.id,
            label=row.label,
            scopes=self.open_scopes(row.id, row.scopes_blob),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            revoke_reason=row.revoke_reason,
            access_ttl_seconds=row.access_ttl_seconds,
            refresh_ttl_seconds=row.refresh_ttl_seconds,
            access_expires_at=latest.get("access"),
            refresh_expires_at=latest.get("refresh"),
            rotated_to=row.rotated_to,
        )

    # --- plumbing ------------------------------------------------------------------------------

    def _now(self, now: float | None) -> float:
        return self.clock() if now is None else now

    def _changed(self, session: Session, *family_ids: str) -> None:
        for family_id in family_ids:
            session.add(ChangeRow(family_id=family_id))
        if not event.contains(session, "after_commit", self._committed):
            event.listen(session, "after_commit", self._committed)

    def _committed(self, session: Session) -> None:
        # Read by the gate's cache: a change made in this process is seen by the very next check.
        self.change_counter += 1

    def audit_in(self, session: Session, event: str, **fields: Any) -> None:
        """Audit an operation of another store module inside its own transaction (no audit, no change)."""
        self._audit(session, event, **fields)

    def _audit(self, session: Session, event: str, **fields: Any) -> None:
        """Append to the audit log and checkpoint its head inside the current transaction."""
        self.audit.append(event, **fields)
        self._write_checkpoint(session, self.audit.head)

    def _write_checkpoint(self, session: Session, head: AuditHead) -> None:
        meta = session.get(MetaRow, AUDIT_HEAD_KEY)
        if meta is None:
            session.add(MetaRow(key=AUDIT_HEAD_KEY, value=head.to_text()))
        elif AuditHead.from_text(meta.value).seq < head.seq:
            meta.value = head.to_text()
            session.add(meta)

    def checkpoint_audit(self) -> None:
        """Record the audit log's current head (called periodically by the daemon and at shutdown)."""
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            self._write_checkpoint(session, self.audit.head)

    def audit_checkpoint(self) -> AuditHead | None:
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            meta = session.get(MetaRow, AUDIT_HEAD_KEY)
            return AuditHead.from_text(meta.value) if meta else None

    def _mint_pair(self, session: Session, family: FamilyRow, now: float) -> tuple[str, str, float, float]:
        access, access_id = tokens.mint(TokenKind.ACCESS, self.keys.signing)
        refresh, refresh_id = tokens.mint(TokenKind.REFRESH, self.keys.signing)
        access_exp = now + family.access_ttl_seconds
        refresh_exp = now + family.refresh_ttl_seconds
        session.add(TokenRow(id=access_id, family_id=family.id, kind="access", created_at=now, expires_at=access_exp))
        session.add(
            TokenRow(id=refresh_id, family_id=family.id, kind="refresh", created_at=now, expires_at=refresh_exp)
        )
        return access, refresh, access_exp, refresh_exp

    def _family(self, session: Session, family_id: str) -> FamilyRow:
        row = session.get(FamilyRow, validate_family_id(family_id))
        if row is None:
            raise FamilyNotFoundError(f"no token family {family_id}; 'agent-auth token list' shows them")
        return row

    # --- families ------------------------------------------------------------------------------

    def create_family(
        self,
        scopes: Mapping[str, Tier],
        *,
        label: str | None = None,
        access_ttl_seconds: int = DEFAULT_ACCESS_TTL_SECONDS,
        refresh_ttl_seconds: int = DEFAULT_REFRESH_TTL_SECONDS,
        allow_reserved: bool = False,
        now: float | None = None,
        actor: str = "cli",
        within: Callable[[Session, str], None] | None = None,
    ) -> IssuedTokens:
        """Create a family and its first pair. ``within(session, family_id)`` runs inside the same transaction
        (before the audit entry); if it raises, nothing is created."""
        checked = validate_scope_map(scopes, allow_reserved=allow_reserved)
        if not checked:
            raise InvalidScopeError("a token family needs at least one scope, e.g. --scope things:read")
        label = validate_label(label)
        access_ttl_seconds = validate_ttl("access_ttl_seconds", access_ttl_seconds)
        refresh_ttl_seconds = validate_ttl("refresh_ttl_seconds", refresh_ttl_seconds)
        now = self._now(now)
        family_id = tokens.new_token_id()
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            family = FamilyRow(
                id=family_id,
                label=label,
                scopes_blob=self._seal_scopes(family_id, checked),
                created_at=now,
                access_ttl_seconds=access_ttl_seconds,
                refresh_ttl_seconds=refresh_ttl_seconds,
            )
            session.add(family)
            session.flush()
            access, refresh, access_exp, refresh_exp = self._mint_pair(session, family, now)
            if within is not None:
                within(session, family_id)
            self._changed(session, family_id)
            self._audit(
                session,
                "token.create",
                actor=actor,
                family_id=family_id,
                label=label,
                scopes={k: v.value for k, v in sorted(checked.items())},
            )
        return IssuedTokens(family_id, access, refresh, access_exp, refresh_exp, checked, label)

    def list_families(self, *, include_revoked: bool = True) -> list[FamilyInfo]:
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            query = select(FamilyRow).order_by(col(FamilyRow.created_at))
            if not include_revoked:
                query = query.where(col(FamilyRow.revoked_at).is_(None))
            return [self._info(session, row) for row in session.exec(query)]

    def get_family(self, family_id: str) -> FamilyInfo:
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            return self._info(session, self._family(session, family_id))

    def modify_family(
        self,
        family_id: str,
        *,
        add: Mapping[str, Tier] | None = None,
        remove: Iterable[str] = (),
        set_tiers: Mapping[str, Tier] | None = None,
        allow_reserved: bool = False,
        actor: str = "cli",
    ) -> FamilyInfo:
        add_checked = validate_scope_map(add or {}, allow_reserved=allow_reserved)
        set_checked = validate_scope_map(set_tiers or {}, allow_reserved=True)
        remove_checked = [validate_scope(s) for s in remove]
        if not (add_checked or set_checked or remove_checked):
            raise InvalidArgumentError("nothing to change: give --add-scope, --remove-scope or --set-tier")
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            row = self._family(session, family_id)
            if row.revoked_at is not None:
                raise FamilyAlreadyRevokedError(f"family {family_id} is revoked; create a new one instead")
            scopes = self.open_scopes(row.id, row.scopes_blob)
            for scope in remove_checked:
                if scope not in scopes:
                    raise InvalidScopeError(f"family {family_id} has no scope {scope!r} to remove")
                del scopes[scope]
            for scope, tier in set_checked.items():
                if scope not in scopes:
                    raise InvalidScopeError(
                        f"family {family_id} has no scope {scope!r}; use --add-scope {scope}={tier.value}"
                    )
                scopes[scope] = tier
            scopes.update(add_checked)
            row.scopes_blob = self._seal_scopes(row.id, scopes)
            session.add(row)
            self._changed(session, row.id)
            self._audit(
                session,
                "token.modify",
                actor=actor,
                family_id=row.id,
                added={k: v.value for k, v in add_checked.items()},
                removed=remove_checked,
                tiers={k: v.value for k, v in set_checked.items()},
                scopes={k: v.value for k, v in sorted(scopes.items())},
            )
            session.flush()
            return self._info(session, row)

    def revoke_family(
        self, family_id: str, *, reason: str = "revoked", actor: str = "cli", now: float | None = None
    ) -> FamilyInfo:
        """Revoke a family and all its tokens. Revoking a revoked family changes nothing (idempotent)."""
        now = self._now(now)
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            row = self._family(session, family_id)
            if row.revoked_at is None:
                self._revoke(session, row, reason, now)
                self._audit(session, "token.revoke", actor=actor, family_id=row.id, reason=reason)
            session.flush()
            return self._info(session, row)

    def _revoke(self, session: Session, row: FamilyRow, reason: str, now: float) -> None:
        row.revoked_at = now
        row.revoke_reason = reason
        session.add(row)
        session.exec(
            update(TokenRow)
            .where(col(TokenRow.family_id) == row.id, col(TokenRow.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        self._changed(session, row.id)

    def rotate_family(self, family_id: str, *, actor: str = "cli", now: float | None = None) -> IssuedTokens:
        """A new family with the same scopes, label and TTLs; the old one revoked — atomically."""
        now = self._now(now)
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            old = self._family(session, family_id)
            if old.revoked_at is not None:
                raise FamilyAlreadyRevokedError(f"family {family_id} is revoked and cannot be rotated")
            scopes = self.open_scopes(old.id, old.scopes_blob)
            new_id = tokens.new_token_id()
            new = FamilyRow(
                id=new_id,
                label=old.label,
                scopes_blob=self._seal_scopes(new_id, scopes),
                created_at=now,
                access_ttl_seconds=old.access_ttl_seconds,
                refresh_ttl_seconds=old.refresh_ttl_seconds,
            )
            session.add(new)
            session.flush()
            access, refresh, access_exp, refresh_exp = self._mint_pair(session, new, now)
            old.rotated_to = new_id
            self._revoke(session, old, "rotated", now)
            self._changed(session, new_id)
            self._audit(session, "token.rotate", actor=actor, family_id=old.id, new_family_id=new_id)
        return IssuedTokens(new_id, access, refresh, access_exp, refresh_exp, scopes, old.label)

    # --- tokens --------------------------------------------------------------------------------

    def _token_row(self, session: Session, token: str, kind: TokenKind) -> tuple[tokens.ParsedToken, TokenRow]:
        parsed = tokens.verify(token, self.keys.signing, kind)
        row = session.get(TokenRow, parsed.token_id)
        if row is None:
            raise InvalidTokenError("invalid token", detail="unknown token id (never issued or pruned)")
        return parsed, row

    def refresh(self, refresh_token: str, *, now: float | None = None) -> IssuedTokens:
        """Trade a refresh token for a new pair. A second use of a refresh token revokes the family."""
        now = self._now(now)
        reuse: RefreshTokenReuseError | None = None
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            parsed, row = self._token_row(session, refresh_token, TokenKind.REFRESH)
            family = self._family(session, row.family_id)
            if family.revoked_at is not None:
                raise FamilyRevokedError("this token family has been revoked", detail=family.revoke_reason)
            if row.consumed_at is not None:
                self._revoke(session, family, "refresh_token_reuse_detected", now)
                self._audit(session, "token.reuse_detected", family_id=family.id, token_id=parsed.token_id)
                reuse = RefreshTokenReuseError(
                    "this refresh token was already used; the family has been revoked as a precaution"
                )
            elif row.expires_at <= now:
                raise RefreshTokenExpiredError("the refresh token has expired; use reissue to ask for a new pair")
            else:
                row.consumed_at = now
                session.add(row)
                session.exec(
                    update(TokenRow)
                    .where(col(TokenRow.family_id) == family.id, col(TokenRow.kind) == "access")
                    .where(col(TokenRow.revoked_at).is_(None))
                    .values(revoked_at=now)
                )
                access, refresh, access_exp, refresh_exp = self._mint_pair(session, family, now)
                self._changed(session, family.id)
                self._audit(session, "token.refresh", family_id=family.id)
                scopes = self.open_scopes(family.id, family.scopes_blob)
        if reuse is not None:
            raise reuse
        return IssuedTokens(family.id, access, refresh, access_exp, refresh_exp, scopes, family.label)

    def check_reissue(self, expired_refresh_token: str, *, now: float | None = None) -> FamilyInfo:
        """Check that a reissue may be asked for: the family's latest refresh token, expired, presented."""
        now = self._now(now)
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            _, row = self._token_row(session, expired_refresh_token, TokenKind.REFRESH)
            family = self._family(session, row.family_id)
            if family.revoked_at is not None:
                raise FamilyRevokedError("this token family has been revoked", detail=family.revoke_reason)
            if row.consumed_at is not None or row.revoked_at is not None:
                raise InvalidTokenError("invalid token", detail="reissue needs the family's latest refresh token")
            if row.expires_at > now:
                raise RefreshTokenStillValidError("the refresh token is still valid; refresh instead of reissue")
            return self._info(session, family)

    def reissue(self, expired_refresh_token: str, *, approved_by: str, now: float | None = None) -> IssuedTokens:
        """Issue a new pair after a person approved (the caller obtains the approval; see check_reissue)."""
        now = self._now(now)
        self.check_reissue(expired_refresh_token, now=now)
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            _, row = self._token_row(session, expired_refresh_token, TokenKind.REFRESH)
            family = self._family(session, row.family_id)
            if family.revoked_at is not None or row.consumed_at is not None:
                raise InvalidTokenError("invalid token", detail="family changed while the reissue was approved")
            row.consumed_at = now
            session.add(row)
            access, refresh, access_exp, refresh_exp = self._mint_pair(session, family, now)
            self._changed(session, family.id)
            self._audit(session, "token.reissue", family_id=family.id, approved_by=approved_by)
            scopes = self.open_scopes(family.id, family.scopes_blob)
        return IssuedTokens(family.id, access, refresh, access_exp, refresh_exp, scopes, family.label)

    def latest_refresh_token(self, family_id: str) -> str | None:
        """Rebuild the token string of the family's newest unconsumed refresh token (compatibility reissue)."""
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            row = session.exec(
                select(TokenRow)
                .where(TokenRow.family_id == family_id, TokenRow.kind == "refresh")
                .where(col(TokenRow.consumed_at).is_(None), col(TokenRow.revoked_at).is_(None))
                .order_by(col(TokenRow.expires_at).desc())
            ).first()
        return tokens.mint(TokenKind.REFRESH, self.keys.signing, token_id=row.id)[0] if row else None

    def lookup_token(self, token_id: str) -> TokenState | None:
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            row = session.get(TokenRow, token_id)
            if row is None:
                return None
            return TokenState(
                row.id,
                row.family_id,
                row.kind,
                row.created_at,
                row.expires_at,
                row.revoked_at,
                row.consumed_at,
            )

    def lookup_family_row(self, family_id: str) -> FamilyInfo | None:
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            row = session.get(FamilyRow, family_id)
            return None if row is None else self._info(session, row, with_expiry=False)

    def _resolve(self, parsed: tokens.ParsedToken) -> tuple[TokenState, FamilyInfo]:
        state = self.lookup_token(parsed.token_id)
        if state is None:
            raise InvalidTokenError("invalid token", detail="unknown token id")
        family = self.lookup_family_row(state.family_id)
        if family is None:
            raise InvalidTokenError("invalid token", detail="family missing")
        return state, family

    def authenticate(self, access_token: str, *, now: float | None = None) -> tuple[TokenState, FamilyInfo]:
        """Uncached check of an access token: signature, known, not revoked, not expired, family live."""
        now = self._now(now)
        state, family = self._resolve(tokens.verify(access_token, self.keys.signing, TokenKind.ACCESS))
        return check_access(state, family, now), family

    def token_status(self, token: str, *, now: float | None = None) -> dict[str, Any]:
        now = self._now(now)
        state, family = self._resolve(tokens.verify(token, self.keys.signing, tokens.parse(token).kind))
        return {
            "token_id": state.token_id,
            "family_id": state.family_id,
            "type": state.kind,
            "scopes": {k: v.value for k, v in sorted(family.scopes.items())},
            "revoked": family.revoked or state.revoked_at is not None,
            "expires_at": state.expires_at,
            "expires_in": max(0, int(state.expires_at - now)),
        }

    def touch(self, last_used: Mapping[str, float]) -> None:
        """Record last-use times (batched by the daemon so validate stays off the write path)."""
        if not last_used:
            return
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            for family_id, when in last_used.items():
                session.exec(
                    update(FamilyRow)
                    .where(col(FamilyRow.id) == family_id)
                    .where((col(FamilyRow.last_used_at).is_(None)) | (col(FamilyRow.last_used_at) < when))
                    .values(last_used_at=when)
                )

    def prune(self, *, now: float | None = None, grace_seconds: float = 3600) -> int:
        """Delete token rows nobody can use any more; keep each live family's latest refresh token."""
        now = self._now(now)
        cutoff = now - grace_seconds
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            conn: Connection = session.connection()
            deleted = conn.exec_driver_sql(
                """DELETE FROM tokens WHERE expires_at < ? AND (
                       kind = 'access' OR consumed_at IS NOT NULL OR revoked_at IS NOT NULL
                   )""",
                (cutoff,),
            ).rowcount
            conn.exec_driver_sql("DELETE FROM changes WHERE seq < (SELECT MAX(seq) - 10000 FROM changes)")
            if deleted:
                self._audit(session, "token.prune", deleted=deleted)
        return int(deleted or 0)

    def changes_since(self, seq: int) -> tuple[int, set[str]]:
        """Families changed after ``seq`` (for cache eviction) and the newest seq."""
        with self.db.read_engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT seq, family_id FROM changes WHERE seq > ? ORDER BY seq", (seq,)).all()
            conn.rollback()
        if not rows:
            return seq, set()
        return int(rows[-1][0]), {str(r[1]) for r in rows}

    def family_count(self) -> int:
        with self.db.read_engine.connect() as conn:
            row = conn.exec_driver_sql("SELECT COUNT(*) FROM families").first()
            conn.rollback()
            return int(row[0]) if row else 0


def check_access(state: TokenState, family: FamilyInfo, now: float) -> TokenState:
    """The checks every access-token use makes, in the order the seed reports them."""
    if state.kind != "access":
        raise InvalidTokenError("invalid token", detail="not an access token")
    if family.revoked or state.revoked_at is not None:
        raise TokenRevokedError("the token has been revoked")
    if state.expires_at <= now:
        raise TokenExpiredError("the access token has expired; refresh it")
    return state
