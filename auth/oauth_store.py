"""The OAuth authorization server's state: registered clients, consents, authorization codes.

A client's metadata (and secret, for confidential clients), each consent request and each decision are
AES-256-GCM fields bound to their row, like a family's scopes. An authorization code is kept only as its
SHA-256 and is good once: the exchange is one transaction with the family's creation (through
:meth:`Authority.create_family`, the same path as every other family), and a second use of a code revokes
the family the first use created. A consent is decided only by the admin API (a person on the trusted
channel); the browser page merely shows it and waits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from auth.authority import Authority, validate_label
from auth.errors import AuthError
from auth.families import IssuedTokens
from auth.models import OAuthAuthorizationRow, OAuthClientRow, OAuthFamilyRow
from auth.scopes import Tier, validate_scope_map

CONSENT_TTL_SECONDS = 300
CODE_TTL_SECONDS = 120
MAX_PENDING_CONSENTS = 20
MAX_CLIENTS = 500
UNUSED_CLIENT_TTL_SECONDS = 30 * 86_400
FINISHED_RETENTION_SECONDS = 86_400
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_MATCHING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


class OAuthStoreError(AuthError):
    code = "oauth_error"


class ConsentNotFoundError(OAuthStoreError, LookupError):
    code = "consent_not_found"


class ConsentNotPendingError(OAuthStoreError):
    code = "consent_not_pending"


class MatchingCodeError(OAuthStoreError):
    code = "matching_code_mismatch"


class TooManyConsentsError(OAuthStoreError):
    code = "too_many_pending"


class TooManyClientsError(OAuthStoreError):
    code = "too_many_clients"


class InvalidGrantError(OAuthStoreError):
    code = "invalid_grant"


class InvalidRedirectUriError(OAuthStoreError, ValueError):
    code = "invalid_redirect_uri"


def validate_redirect_uri(uri: str) -> str:
    """Loopback ``http`` or ``https`` only; no fragment, no user info. Matching later is exact."""
    if len(uri) > MAX_URI_LENGTH or not uri.isprintable():
        raise InvalidRedirectUriError("a redirect URI is at most 2000 printable characters")
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    if parts.fragment or "#" in uri:
        raise InvalidRedirectUriError("a redirect URI may not have a fragment")
    if parts.username is not None or parts.password is not None:
        raise InvalidRedirectUriError("a redirect URI may not carry user information")
    if parts.scheme == "https" and host:
        return uri
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return uri
    raise InvalidRedirectUriError("redirect URIs must be https, or http on a loopback address (127.0.0.1, ::1)")


def normalise_matching_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass(frozen=True)
class Consent:
    """An authorization request as the person sees it. PKCE challenge and state stay out of ``repr``."""

    id: str
    client_id: str
    client_name: str
    redirect_uri: str
    scopes: list[str]
    resource: str
    matching_code: str
    status: str  # pending | approved | denied | expired | delivered | exchanged
    created_at: float
    expires_at: float
    explicit_redirect: bool = True
    state: str | None = field(default=None, repr=False)
    code_challenge: str = field(default="", repr=False)
    decision: dict[str, Any] | None = None
    decided_by: str | None = None

    @property
    def redirect_host(self) -> str:
        parts = urlsplit(self.redirect_uri)
        return parts.netloc or self.redirect_uri

    @property
    def redirect_is_loopback(self) -> bool:
        return (urlsplit(self.redirect_uri).hostname or "").lower() in LOOPBACK_HOSTS

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "consent_id": self.id,
            "client_id": self.client_id,
            "client_name": self.client_name,
            "redirect_uri": self.redirect_uri,
            "redirect_host": self.redirect_host,
            "redirect_is_loopback": self.redirect_is_loopback,
            "scopes": list(self.scopes),
            "resource": self.resource,
            "matching_code": self.matching_code,
            "status": self.status,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "expires_in": max(0, int(self.expires_at - now)),
            "decision": self.decision,
            "decided_by": self.decided_by,
        }


@dataclass(frozen=True)
class CodeGrant:
    """What an authorization code stands for (looked up by the code's hash)."""

    authorization_id: str
    client_id: str
    redirect_uri: str
    explicit_redirect: bool
    code_challenge: str = field(repr=False)
    scopes: dict[str, Tier]
    label: str | None
    resource: str
    expires_at: float
    consumed: bool


class OAuthStore:
    """Thread-safe like :class:`Authority`: every call is its own transaction."""

    def __init__(self, authority: Authority, *, clock: Callable[[], float] = time.time) -> None:
        self.authority = authority
        self.db = authority.db
        self.cipher = authority.cipher
        self.clock = clock

    def __repr__(self) -> str:
        return f"OAuthStore(db={str(self.db.path)!r})"

    def _now(self, now: float | None) -> float:
        return self.clock() if now is None else now

    def _seal(self, table: str, column: str, row_id: str, data: Mapping[str, Any]) -> bytes:
        return self.cipher.encrypt(json.dumps(data).encode(), table=table, column=column, row_id=row_id)

    def _open(self, table: str, column: str, row_id: str, blob: bytes) -> dict[str, Any]:
        data = json.loads(self.cipher.decrypt(blob, table=table, column=column, row_id=row_id))
        if not isinstance(data, dict):
            raise OAuthStoreError("a sealed OAuth record is not an object", detail=f"{table}.{column} {row_id}")
        return data

    # --- clients --------------------------------------------------------------------------------

    def register_client(self, client_id: str, info: Mapping[str, Any], *, now: float | None = None) -> None:
        now = self._now(now)
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            count = session.exec(select(func.count()).select_from(OAuthClientRow)).one()
            if count >= MAX_CLIENTS:
                raise TooManyClientsError(f"{MAX_CLIENTS} OAuth clients are registered; prune or revoke some first")
            session.add(
                OAuthClientRow(
                    id=client_id,
                    info_blob=self._seal("oauth_clients", "info", client_id, info),
                    created_at=now,
                )
            )
            self.authority.audit_in(
                session, "oauth.register", client_id=client_id, client_name=str(info.get("client_name") or "")
            )

    def get_client(self, client_id: str) -> dict[str, Any] | None:
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            row = session.get(OAuthClientRow, client_id)
            return None if row is None else self._open("oauth_clients", "info", row.id, row.info_blob)

    # --- consents -------------------------------------------------------------------------------

    def create_consent(
        self,
        client_id: str,
        client_name: str,
        *,
        redirect_uri: str,
        explicit_redirect: bool,
        code_challenge: str,
        state: str | None,
        scopes: list[str],
        resource: str,
        now: float | None = None,
        ttl_seconds: float = CONSENT_TTL_SECONDS,
    ) -> Consent:
        now = self._now(now)
        consent_id = secrets.token_urlsafe(24)
        code = "".join(secrets.choice(_MATCHING_ALPHABET) for _ in range(6))
        matching = f"{code[:3]}-{code[3:]}"
        request = {
            "client_name": client_name,
            "redirect_uri": redirect_uri,
            "explicit_redirect": explicit_redirect,
            "code_challenge": code_challenge,
            "state": state,
            "scopes": scopes,
            "resource": resource,
            "matching_code": matching,
        }
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            pending = session.exec(
                select(func.count())
                .select_from(OAuthAuthorizationRow)
                .where(OAuthAuthorizationRow.status == "pending", col(OAuthAuthorizationRow.expires_at) > now)
            ).one()
            if pending >= MAX_PENDING_CONSENTS:
                raise TooManyConsentsError("too many authorizations are waiting for consent; try again later")
            client = session.get(OAuthClientRow, client_id)
            if client is not None:
                client.last_used_at = now
                session.add(client)
            row = OAuthAuthorizationRow(
                id=consent_id,
                client_id=client_id,
                status="pending",
                request_blob=self._seal("oauth_authorizations", "request", consent_id, request),
                created_at=now,
                expires_at=now + ttl_seconds,
            )
            session.add(row)
            self.authority.audit_in(
                session, "oauth.consent_requested", consent_id=consent_id, client_id=client_id, scopes=scopes
            )
            return self._consent(row, now)

    def _consent(self, row: OAuthAuthorizationRow, now: float) -> Consent:
        request = self._open("oauth_authorizations", "request", row.id, row.request_blob)
        decision = (
            self._open("oauth_authorizations", "decision", row.id, row.decision_blob) if row.decision_blob else None
        )
        status = "expired" if row.status == "pending" and row.expires_at <= now else row.status
        return Consent(
            id=row.id,
            client_id=row.client_id,
            client_name=str(request["client_name"]),
            redirect_uri=str(request["redirect_uri"]),
            scopes=[str(s) for s in request["scopes"]],
            resource=str(request["resource"]),
            matching_code=str(request["matching_code"]),
            status=status,
            created_at=row.created_at,
            expires_at=row.expires_at,
            explicit_redirect=bool(request["explicit_redirect"]),
            state=request["state"],
            code_challenge=str(request["code_challenge"]),
            decision=decision,
            decided_by=row.decided_by,
        )

    def get_consent(self, consent_id: str, *, now: float | None = None) -> Consent | None:
        now = self._now(now)
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            row = session.get(OAuthAuthorizationRow, consent_id)
            return None if row is None else self._consent(row, now)

    def pending_consents(self, *, now: float | None = None) -> list[Consent]:
        now = self._now(now)
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            rows = session.exec(
                select(OAuthAuthorizationRow)
                .where(OAuthAuthorizationRow.status == "pending", col(OAuthAuthorizationRow.expires_at) > now)
                .order_by(col(OAuthAuthorizationRow.created_at))
            ).all()
            return [self._consent(row, now) for row in rows]

    def decide(
        self,
        consent_id: str,
        *,
        approved: bool,
        matching_code: str | None = None,
        scopes: Mapping[str, Tier] | None = None,
        label: str | None = None,
        decided_by: str = "admin-socket",
        decided_by_claim: str | None = None,
        now: float | None = None,
    ) -> Consent:
        """Record the person's decision. Approval needs the matching code shown on the browser page."""
        now = self._now(now)
        checked = validate_scope_map(scopes or {})
        label = validate_label(label)
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            row = session.get(OAuthAuthorizationRow, consent_id)
            if row is None:
                raise ConsentNotFoundError(f"no consent {consent_id}; 'agent-auth consent list' shows them")
            current = self._consent(row, now)
            if current.status != "pending":
                raise ConsentNotPendingError(f"consent {consent_id} is {current.status}, not pending")
            if approved:
                given = normalise_matching_code(matching_code or "")
                expected = normalise_matching_code(current.matching_code)
                if not hmac.compare_digest(given.encode(), expected.encode()):
                    raise MatchingCodeError("the matching code differs from the one on this consent; check the page")
                if not checked:
                    raise OAuthStoreError("an approval needs at least one scope")
                decision = {"scopes": {k: v.value for k, v in sorted(checked.items())}, "label": label}
                row.decision_blob = self._seal("oauth_authorizations", "decision", row.id, decision)
            row.status = "approved" if approved else "denied"
            row.decided_at = now
            row.decided_by = decided_by[:64]
            session.add(row)
            self.authority.audit_in(
                session,
                "oauth.consent_decided",
                consent_id=row.id,
                client_id=row.client_id,
                decision=row.status,
                decided_by=row.decided_by,
                decided_by_claim=decided_by_claim,
                scopes={k: v.value for k, v in sorted(checked.items())} if approved else {},
                label=label,
            )
            return self._consent(row, now)

    def issue_code(self, consent_id: str, *, now: float | None = None) -> str | None:
        """The authorization code for an approved consent — handed out once (the page's redirect)."""
        now = self._now(now)
        code = secrets.token_urlsafe(32)
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            result = session.connection().execute(
                update(OAuthAuthorizationRow)
                .where(col(OAuthAuthorizationRow.id) == consent_id, col(OAuthAuthorizationRow.status) == "approved")
                .values(status="delivered", code_hash=_hash_code(code), code_expires_at=now + CODE_TTL_SECONDS)
            )
            return code if result.rowcount == 1 else None

    # --- codes ----------------------------------------------------------------------------------

    def load_code(self, code: str) -> CodeGrant | None:
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            row = session.exec(
                select(OAuthAuthorizationRow).where(OAuthAuthorizationRow.code_hash == _hash_code(code))
            ).first()
            if row is None or row.decision_blob is None or row.code_expires_at is None:
                return None
            consent = self._consent(row, self.clock())
            decision = self._open("oauth_authorizations", "decision", row.id, row.decision_blob)
            return CodeGrant(
                authorization_id=row.id,
                client_id=row.client_id,
                redirect_uri=consent.redirect_uri,
                explicit_redirect=consent.explicit_redirect,
                code_challenge=consent.code_challenge,
                scopes=validate_scope_map(decision["scopes"]),
                label=decision.get("label"),
                resource=consent.resource,
                expires_at=row.code_expires_at,
                consumed=row.consumed_at is not None,
            )

    def exchange_code(self, code: str, client_id: str, *, now: float | None = None) -> IssuedTokens:
        """Trade a code for a new family, once. A replayed code revokes the family it produced."""
        now = self._now(now)
        grant = self.load_code(code)
        if grant is None or grant.client_id != client_id:
            raise InvalidGrantError("unknown authorization code")
        if grant.consumed:
            self._revoke_replayed(grant.authorization_id)
            raise InvalidGrantError("authorization code already used; the tokens it produced are revoked")
        if grant.expires_at <= now:
            raise InvalidGrantError("authorization code expired")

        def link(session: Session, family_id: str) -> None:
            result = session.connection().execute(
                update(OAuthAuthorizationRow)
                .where(col(OAuthAuthorizationRow.id) == grant.authorization_id)
                .where(col(OAuthAuthorizationRow.consumed_at).is_(None))
                .values(consumed_at=now, family_id=family_id, status="exchanged")
            )
            if result.rowcount != 1:
                raise InvalidGrantError("authorization code already used")
            session.add(
                OAuthFamilyRow(
                    family_id=family_id, client_id=client_id, authorization_id=grant.authorization_id, created_at=now
                )
            )
            self.authority.audit_in(
                session,
                "oauth.token_issued",
                client_id=client_id,
                family_id=family_id,
                consent_id=grant.authorization_id,
            )

        try:
            return self.authority.create_family(
                grant.scopes, label=grant.label, actor=f"oauth:{client_id}", within=link, now=now
            )
        except InvalidGrantError:
            self._revoke_replayed(grant.authorization_id)  # lost a race with another use of the same code
            raise

    def _revoke_replayed(self, authorization_id: str) -> None:
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            row = session.get(OAuthAuthorizationRow, authorization_id)
            family_id = row.family_id if row is not None else None
        if family_id is not None:
            self.authority.revoke_family(family_id, reason="authorization_code_reuse", actor="oauth")

    # --- families -------------------------------------------------------------------------------

    def family_client(self, family_id: str) -> str | None:
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            row = session.get(OAuthFamilyRow, family_id)
            return None if row is None else row.client_id

    def family_clients(self) -> dict[str, str]:
        """family id → client name, for listings."""
        with Session(self.db.read_engine, expire_on_commit=False) as session:
            pairs = session.exec(select(OAuthFamilyRow.family_id, OAuthFamilyRow.client_id)).all()
            names: dict[str, str] = {}
            result: dict[str, str] = {}
            for family_id, client_id in pairs:
                if client_id not in names:
                    client = session.get(OAuthClientRow, client_id)
                    info = self._open("oauth_clients", "info", client.id, client.info_blob) if client else {}
                    names[client_id] = str(info.get("client_name") or client_id)
                result[family_id] = names[client_id]
            return result

    # --- pruning --------------------------------------------------------------------------------

    def prune(self, *, now: float | None = None) -> int:
        """Forget finished or expired authorizations, and clients unused for a month with no live family."""
        now = self._now(now)
        old = now - FINISHED_RETENTION_SECONDS
        with Session(self.db.engine, expire_on_commit=False) as session, session.begin():
            conn = session.connection()
            deleted = conn.exec_driver_sql(
                """DELETE FROM oauth_authorizations WHERE
                       (status IN ('pending', 'approved', 'denied') AND expires_at < ?)
                    OR (status = 'delivered' AND code_expires_at < ?)
                    OR (status = 'exchanged' AND consumed_at < ?)""",
                (now, now, old),
            ).rowcount
            deleted += conn.exec_driver_sql(
                """DELETE FROM oauth_clients WHERE COALESCE(last_used_at, created_at) < ?
                   AND id NOT IN (SELECT client_id FROM oauth_authorizations)
                   AND id NOT IN (SELECT o.client_id FROM oauth_families o JOIN families f ON f.id = o.family_id
                                  WHERE f.revoked_at IS NULL)""",
                (now - UNUSED_CLIENT_TTL_SECONDS,),
            ).rowcount
            if deleted:
                self.authority.audit_in(session, "oauth.prune", deleted=int(deleted))
        return int(deleted or 0)
